/* Fuzz target `validators`: every validator of src/scan/validators on arbitrary bytes
 * (they must never read past n, crash or hang), plus consistency checks that hold for any
 * input: a valid card has a brand, a valid Aadhaar passes Verhoeff. */
#include <stdint.h>
#include <stdlib.h>

#include "scan/validators/validators.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  size_t n = size;
  volatile int acc = 0;
  acc += al_luhn_ok(s, n) + al_verhoeff_ok(s, n) + al_aba_ok(s, n) + al_nhs_ok(s, n);
  acc += al_bsn_ok(s, n) + al_ca_sin_ok(s, n) + al_de_steuer_id_ok(s, n);
  acc += al_tr_tckimlik_ok(s, n) + al_es_dni_ok(s, n) + (al_ssn_invalid(s, n) != NULL);
  acc += al_iban_invalid(s, n) != NULL;
  acc += al_ipv4_ok(s, n) + al_ipv6_ok(s, n) + al_email_ok(s, n) + al_jwt_ok(s, n);
  acc += (int)al_shannon_entropy(s, n);
  unsigned char out[256];
  acc += (int)al_base64_decode(s, n, out, sizeof out, false);
  acc += (int)al_base64_decode(s, n, out, sizeof out, true);
  if (al_aadhaar_ok(s, n) && !al_verhoeff_ok(s, n)) abort();
  if (al_ca_sin_ok(s, n) && !al_luhn_ok(s, n)) abort();
  const char *b = al_card_brand(s, n);
  if (b && (n < 12 || n > 19)) abort();
  (void)acc;
  return 0;
}
