/* Small shared helpers: clocks, files, hashing, allocation with failure injection.
 *
 * Allocation goes through al_malloc & co. so a "torture" run (AL_TORTURE=N in the
 * environment) can make the Nth allocation fail, the way curl tests its error paths.
 */
#ifndef AIRLOCK_UTIL_H
#define AIRLOCK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "airlock/error.h"

void *al_malloc(size_t n);
void *al_calloc(size_t n, size_t size);
void *al_realloc(void *p, size_t n);
char *al_strdup(const char *s);
char *al_strndup(const char *s, size_t n);
void al_free(void *p);
/* Set the allocation number that fails (0: never). Used by tests. */
void al_torture_set(unsigned long nth);

int64_t al_now_ns(void);  /* CLOCK_MONOTONIC */
int64_t al_wall_ns(void); /* CLOCK_REALTIME */
/* ISO-8601 UTC with milliseconds, e.g. 2026-11-27T11:25:43.120Z; out >= 32 bytes. */
char *al_iso8601(int64_t wall_ns, char *out, size_t n);

/* Read a whole file (at most max bytes; AL_ELIMIT past it). *out is NUL-terminated. */
int al_read_file(const char *path, size_t max, char **out, size_t *len, al_error *err);
int al_write_file(const char *path, const void *data, size_t len, al_error *err);

/* The folder of Airlock's own data (probe packs, built-in suites, word lists, locales):
 * $AIRLOCK_DATA when set; else the source tree's data/ when this binary's source tree is
 * still there; else the installed copy (meson's datadir/airlock). Never NULL. */
const char *al_data_dir(void);

/* Offset of the first byte that is not well-formed UTF-8 (overlongs and surrogates are
 * ill-formed), or len when all is well. YAML input is checked with it before libfyaml sees it:
 * libfyaml 0.7.12 can loop forever on some invalid UTF-8. */
size_t al_utf8_check(const void *data, size_t len);

/* SHA-256 of data, as 64 lowercase hex chars + NUL. */
void al_sha256_hex(const void *data, size_t len, char out[65]);
void al_hex(const void *data, size_t len, char *out); /* out has 2*len+1 bytes */

/* Deterministic PRNG (splitmix64 seeding xoshiro256**), for seeded sampling. */
typedef struct al_rng {
  uint64_t s[4];
} al_rng;
void al_rng_seed(al_rng *r, uint64_t seed);
uint64_t al_rng_next(al_rng *r);
double al_rng_double(al_rng *r); /* [0,1) */
uint64_t al_rng_below(al_rng *r, uint64_t n);

#endif
