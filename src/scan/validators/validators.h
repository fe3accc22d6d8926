/* Validators: the checks that turn "looks like" into "is" (checksums, registries, ranges).
 *
 * Pure functions over bytes, no allocation except where noted, no global state, so they
 * are safe from any thread and easy to fuzz. Digit inputs are ASCII digits only (callers
 * strip separators first with al__digits()); a wrong length or a non-digit is "invalid",
 * never undefined behaviour. Each is tested against the public vectors in
 * ../shared/data/pii-validator-vectors-* (tests/unit/scan/test_validators.c). */
#ifndef AL_SCAN_VALIDATORS_H
#define AL_SCAN_VALIDATORS_H

#include <stdbool.h>
#include <stddef.h>

/* checksum.c */
bool al_luhn_ok(const char *d, size_t n);
bool al_verhoeff_ok(const char *d, size_t n);
bool al_aba_ok(const char *d, size_t n);             /* 9 digits, 3-7-1 weights, prefix */
bool al_nhs_ok(const char *d, size_t n);             /* 10 digits, mod 11 */
bool al_bsn_ok(const char *d, size_t n);             /* 9 digits, 11-proef */
bool al_ca_sin_ok(const char *d, size_t n);          /* 9 digits, Luhn, first not 8 */
bool al_de_steuer_id_ok(const char *d, size_t n);    /* 11 digits, ISO 7064 MOD 11,10 */
bool al_aadhaar_ok(const char *d, size_t n);         /* 12 digits, Verhoeff, first 2-9 */
bool al_tr_tckimlik_ok(const char *d, size_t n);     /* 11 digits, two check digits */
/* "12345678Z", "X1234567L" (case-insensitive letter); separators already removed. */
bool al_es_dni_ok(const char *s, size_t n);
/* US SSN as 9 digits. Returns NULL when valid, else why not ("area 666", ...). */
const char *al_ssn_invalid(const char *d, size_t n);

/* card.c: brand of a card number (digits only) when IIN range and length agree, else
 * NULL. Luhn is checked separately. */
const char *al_card_brand(const char *d, size_t n);

/* iban.c: compact IBAN (letters/digits, no spaces; case-insensitive). Returns NULL when
 * valid, else why not ("unknown country", "length 20, DE needs 22", "mod-97"). */
const char *al_iban_invalid(const char *s, size_t n);
int al_iban_length(const char *cc); /* registry length for a country code, 0 if unknown */

/* net.c */
bool al_ipv4_ok(const char *s, size_t n);  /* dotted quad, no leading zeros (inet_pton) */
bool al_ipv6_ok(const char *s, size_t n);  /* inet_pton(AF_INET6) */
bool al_email_ok(const char *s, size_t n); /* addr-spec with a dotted DNS domain */

/* text.c */
double al_shannon_entropy(const char *s, size_t n); /* bits per byte */
/* Decode base64 (standard or url-safe, padding optional) into out; returns decoded length
 * or -1. */
long al_base64_decode(const char *s, size_t n, unsigned char *out, size_t max, bool url);
/* A JWT: three base64url parts, the header decodes to a JSON object with "alg". */
bool al_jwt_ok(const char *s, size_t n);

#endif
