/* A small open-addressing hash map from byte strings to pointers, used by the schema
 * compiler for URIs, anchors and json_t * identities, and at validation time for the
 * `$dynamicAnchor` table of each resource and the set of evaluated property names.
 * Keys are copied; values are borrowed unless the caller passes a free function to
 * sch_map_clear(). Linear probing, load factor at most 1/2. */
#include <string.h>

#include "airlock/util.h"
#include "schema/schema_int.h"

uint64_t sch_hash_bytes(const void *p, size_t n, uint64_t seed) {
  /* FNV-1a, 64-bit, then a final avalanche so the low bits are usable as a slot. */
  const unsigned char *b = p;
  uint64_t h = 1469598103934665603ull ^ seed;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

static sch_map_ent *find(const sch_map *m, const void *key, size_t klen, uint64_t h) {
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    sch_map_ent *e = &m->ents[i];
    if (!e->key) return e;
    if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) return e;
  }
}

void *sch_map_get(const sch_map *m, const void *key, size_t klen) {
  if (!m->cap) return NULL;
  sch_map_ent *e = find(m, key, klen, sch_hash_bytes(key, klen, 0));
  return e->key ? e->val : NULL;
}

static int grow(sch_map *m) {
  size_t ncap = m->cap ? m->cap * 2 : 16;
  sch_map_ent *ne = al_calloc(ncap, sizeof *ne);
  if (!ne) return AL_ENOMEM;
  sch_map old = *m;
  m->ents = ne;
  m->cap = ncap;
  for (size_t i = 0; i < old.cap; i++) {
    if (!old.ents[i].key) continue;
    *find(m, old.ents[i].key, old.ents[i].klen, old.ents[i].hash) = old.ents[i];
  }
  al_free(old.ents);
  return 0;
}

int sch_map_put(sch_map *m, const void *key, size_t klen, void *val) {
  if ((m->len + 1) * 2 > m->cap && grow(m) < 0) return AL_ENOMEM;
  uint64_t h = sch_hash_bytes(key, klen, 0);
  sch_map_ent *e = find(m, key, klen, h);
  if (e->key) {
    e->val = val;
    return 0;
  }
  char *k = al_malloc(klen + 1);
  if (!k) return AL_ENOMEM;
  memcpy(k, key, klen);
  k[klen] = '\0';
  e->key = k;
  e->klen = klen;
  e->hash = h;
  e->val = val;
  m->len++;
  return 0;
}

void sch_map_clear(sch_map *m, void (*free_val)(void *)) {
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->ents[i].key) continue;
    if (free_val) free_val(m->ents[i].val);
    al_free(m->ents[i].key);
  }
  al_free(m->ents);
  memset(m, 0, sizeof *m);
}
