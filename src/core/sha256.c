/* al_sha256: SHA-256 by OpenSSL's low-level SHA256_* functions, deprecated as API in
 * OpenSSL 3 but kept, and the only way to copy a midstate without an allocation (EVP's
 * contexts are heap objects); the same bytes as any SHA-256 (test_sha256: FIPS 180-2
 * vectors and libsodium's digest of the same input). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "core/sha256.h"

#include <openssl/sha.h>

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((al_sha256 *)0)->state), "SHA256_CTX fits al_sha256");
_Static_assert(_Alignof(SHA256_CTX) <= 8, "SHA256_CTX alignment");

void al_sha256_init(al_sha256 *s) { SHA256_Init((SHA256_CTX *)s->state); }

void al_sha256_update(al_sha256 *s, const void *p, size_t n) {
  SHA256_Update((SHA256_CTX *)s->state, p, n);
}

void al_sha256_final(al_sha256 *s, unsigned char out[AL_SHA256_BYTES]) {
  SHA256_Final(out, (SHA256_CTX *)s->state);
}
