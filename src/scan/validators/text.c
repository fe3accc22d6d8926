/* Text measures used by secret detectors: Shannon entropy, base64 decoding (libsodium's
 * decoder, standard and url-safe alphabets) and the JWT shape check (header decoded and
 * parsed as JSON with jansson). */
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <string.h>

#include "scan/validators/validators.h"

double al_shannon_entropy(const char *s, size_t n) {
  if (!s || n == 0) return 0.0;
  size_t cnt[256] = {0};
  for (size_t i = 0; i < n; i++) cnt[(unsigned char)s[i]]++;
  double h = 0.0;
  for (int c = 0; c < 256; c++) {
    if (!cnt[c]) continue;
    double p = (double)cnt[c] / (double)n;
    h -= p * log2(p);
  }
  return h;
}

long al_base64_decode(const char *s, size_t n, unsigned char *out, size_t max, bool url) {
  if (!s || !out) return -1;
  while (n && s[n - 1] == '=') n--; /* decode as unpadded */
  if (n % 4 == 1) return -1;
  size_t got = 0;
  const char *end = NULL;
  int variant = url ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                    : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  if (sodium_base642bin(out, max, s, n, NULL, &got, &end, variant) != 0) return -1;
  if (end != s + n) return -1;
  return (long)got;
}

bool al_jwt_ok(const char *s, size_t n) {
  if (!s || n < 10) return false;
  const char *d1 = memchr(s, '.', n);
  if (!d1) return false;
  const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - s));
  if (!d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - s))) return false;
  size_t hn = (size_t)(d1 - s), pn = (size_t)(d2 - d1 - 1);
  if (hn < 10 || hn > 2048 || pn == 0) return false;
  unsigned char hdr[1600];
  long got = al_base64_decode(s, hn, hdr, sizeof hdr, true);
  if (got <= 0) return false;
  json_error_t je;
  json_t *j = json_loadb((const char *)hdr, (size_t)got, 0, &je);
  bool ok = json_is_object(j) && json_is_string(json_object_get(j, "alg"));
  json_decref(j);
  if (!ok) return false;
  /* payload (and signature when present) must be base64url too */
  for (const char *p = d1 + 1; p < s + n; p++) {
    int c = (unsigned char)*p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_' || c == '.' || c == '='))
      return false;
  }
  return true;
}
