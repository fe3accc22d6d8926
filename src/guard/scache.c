/* Texts the input pipeline found clean, remembered so that the same text in a later
 * request is not scanned again.
 *
 * Chat clients send the whole conversation with every request: the system prompt and every
 * earlier turn come back verbatim, so a conversation of n turns has its first turns scanned
 * n times. A text whose scan found nothing (no finding of any action, so nothing to redact,
 * block or count) is kept here; a slot with the same bytes later is known clean without a
 * scan. Equality is exact: the stored copy is compared with memcmp, the hash (SipHash-2-4
 * under a random key, libsodium's crypto_shorthash, so nobody outside can aim texts at one
 * bucket) only picks the bucket. Texts that found anything are never stored, and the cache
 * belongs to one guard and so to one policy's input database.
 *
 * Direct-mapped: a text goes to bucket hash mod entries and replaces what was there; the
 * copies together stay under max_bytes (a text that would pass it is not stored) and a text
 * over max_bytes / 16 is never stored. One event loop uses it: no locks. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "guard/guard_int.h"

typedef struct gsentry {
  uint64_t h;
  size_t len;
  char *text; /* NULL: empty bucket */
} gsentry;

struct gscache {
  gsentry *v;
  size_t n; /* a power of two */
  size_t bytes, max_bytes;
  unsigned char key[crypto_shorthash_KEYBYTES];
  uint64_t hits, misses;
};

gscache *al_gscache_new(size_t entries, size_t max_bytes) {
  gscache *c = al_calloc(1, sizeof *c);
  size_t n = 1;
  if (!c) return NULL;
  while (n < entries && n < ((size_t)1 << 30)) n <<= 1;
  c->v = al_calloc(n, sizeof *c->v);
  if (!c->v) {
    al_free(c);
    return NULL;
  }
  c->n = n;
  c->max_bytes = max_bytes;
  randombytes_buf(c->key, sizeof c->key);
  return c;
}

void al_gscache_free(gscache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) al_free(c->v[i].text);
  al_free(c->v);
  al_free(c);
}

static uint64_t hash(const gscache *c, const char *text, size_t len) {
  unsigned char out[crypto_shorthash_BYTES];
  uint64_t h;
  crypto_shorthash(out, (const unsigned char *)text, len, c->key);
  memcpy(&h, out, sizeof h);
  return h;
}

int al_gscache_clean(gscache *c, const char *text, size_t len, uint64_t *h) {
  *h = hash(c, text, len);
  const gsentry *e = &c->v[*h & (c->n - 1)];
  int hit = e->text && e->h == *h && e->len == len && !memcmp(e->text, text, len);
  if (hit) c->hits++;
  else c->misses++;
  return hit;
}

void al_gscache_put(gscache *c, const char *text, size_t len, uint64_t h) {
  gsentry *e = &c->v[h & (c->n - 1)];
  if (len > c->max_bytes / 16) return;
  size_t freed = e->text ? e->len : 0;
  if (c->bytes - freed + len > c->max_bytes) return;
  char *copy = al_malloc(len ? len : 1);
  if (!copy) return; /* a cache: nothing lost but the next scan */
  memcpy(copy, text, len);
  al_free(e->text);
  c->bytes = c->bytes - freed + len;
  e->text = copy;
  e->len = len;
  e->h = h;
}

void al_gscache_stats(const gscache *c, uint64_t *hits, uint64_t *misses) {
  *hits = c ? c->hits : 0;
  *misses = c ? c->misses : 0;
}
