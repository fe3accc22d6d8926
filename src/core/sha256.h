/* SHA-256 through OpenSSL's libcrypto, whose x86-64 code uses the CPU's SHA extensions where
 * there are any (about a tenth of the instructions of a portable implementation per 64-byte
 * block): the suite digest and every case id (src/suite) hash with it. The state is a plain
 * value: copying it copies a midstate. */
#ifndef AL_CORE_SHA256_H
#define AL_CORE_SHA256_H

#include <stddef.h>

#define AL_SHA256_BYTES 32

typedef struct al_sha256 {
  _Alignas(8) unsigned char state[112]; /* OpenSSL's SHA256_CTX (checked in sha256.c) */
} al_sha256;

void al_sha256_init(al_sha256 *s);
void al_sha256_update(al_sha256 *s, const void *p, size_t n);
void al_sha256_final(al_sha256 *s, unsigned char out[AL_SHA256_BYTES]);

#endif
