/* A bump arena for JSON trees parsed and dropped within one call: a target's answer parsed
 * by the runner's adapter (targets/openai.c), and in the guard an upstream answer checked by
 * the output pipeline and each streamed event.
 *
 * jansson allocates every object, key and string of a parsed tree separately; for a
 * 150-byte SSE event that is dozens of malloc/free pairs, a large share of the cost of
 * the event. jansson lets a program replace its allocator (json_set_alloc_funcs); the
 * arena installs one that, only while al_jarena_loadb runs json_loadb on this thread,
 * hands out memory from a per-thread block, and otherwise is malloc. free() of a pointer
 * inside the block does nothing; al_jarena_release drops the tree and rewinds the block
 * to where the parse began. Nesting works in stack order (a mark per parse).
 *
 * Rules for callers: a tree from al_jarena_loadb, and any node of it, must not outlive its
 * al_jarena_release (no json_incref that escapes); nodes added to it later come from
 * malloc and are freed as usual; strings from json_dumps are malloc'd (the arena is armed
 * only inside json_loadb) and are freed with free() as jansson documents.
 *
 * A tree that was only read (nothing added to it) may be dropped with al_jarena_drop
 * instead: when all of it lies in the block, the block is rewound without walking the tree
 * (json_delete visits every node and hash bucket only to free nothing). When the block
 * overflowed during the parse (part of the tree came from malloc, which the mark records)
 * it is released as usual. A thread's block is freed when the thread ends.
 * Under AddressSanitizer the arena is off (plain json_loadb), so that ASan sees every
 * allocation. */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/jarena.h"
#include "core/limits.h"

#if defined(__SANITIZE_ADDRESS__)
#define JARENA_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JARENA_OFF 1
#endif
#endif

#ifndef JARENA_OFF
static _Thread_local struct {
  char *base;
  size_t cap, used;
  int armed;
  int spilled; /* a parse took memory from malloc (the block was full) */
} ar;

/* in a mark: that parse spilled to malloc (marks are offsets, far below this bit) */
#define SPILL ((size_t)1 << (sizeof(size_t) * 8 - 1))

static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void *ja_malloc(size_t n) {
  if (ar.armed) {
    size_t need = (n + 15) & ~(size_t)15;
    if (need >= n && ar.cap - ar.used >= need) {
      void *p = ar.base + ar.used;
      ar.used += need;
      return p;
    }
    ar.spilled = 1;
  }
  return malloc(n);
}

static void ja_free(void *p) {
  if (ar.base && (char *)p >= ar.base && (char *)p < ar.base + ar.cap) return;
  free(p);
}

/* A thread's block is freed when the thread ends (judging threads come and go). */
static pthread_key_t block_key;

static void install(void) {
  pthread_key_create(&block_key, free);
  json_set_alloc_funcs(ja_malloc, ja_free);
}
#endif

void al_jarena_install(void) {
#ifndef JARENA_OFF
  pthread_once(&installed, install);
#endif
}

json_t *al_jarena_loadb(const char *s, size_t n, size_t flags, json_error_t *err, size_t *mark) {
#ifndef JARENA_OFF
  json_malloc_t cur_m;
  json_free_t cur_f;
  json_get_alloc_funcs(&cur_m, &cur_f);
  if (cur_m == ja_malloc && !ar.base && (ar.base = malloc(AL_JSON_ARENA_BYTES))) {
    ar.cap = AL_JSON_ARENA_BYTES;
    pthread_setspecific(block_key, ar.base);
  }
  *mark = ar.used;
  if (cur_m != ja_malloc || !ar.base) return json_loadb(s, n, flags, err);
  int outer = ar.spilled;
  ar.spilled = 0;
  ar.armed = 1;
  json_t *o = json_loadb(s, n, flags, err);
  ar.armed = 0;
  if (ar.spilled) *mark |= SPILL;
  ar.spilled |= outer;
  return o;
#else
  *mark = 0;
  return json_loadb(s, n, flags, err);
#endif
}

void al_jarena_release(json_t *o, size_t mark) {
  json_decref(o);
#ifndef JARENA_OFF
  mark &= ~SPILL;
  if (mark <= ar.used) ar.used = mark;
#else
  (void)mark;
#endif
}

void al_jarena_drop(json_t *o, size_t mark) {
#ifndef JARENA_OFF
  json_malloc_t cur_m;
  json_free_t cur_f;
  json_get_alloc_funcs(&cur_m, &cur_f);
  if (!o || (mark & SPILL) || cur_m != ja_malloc || !ar.base || (char *)o < ar.base ||
      (char *)o >= ar.base + ar.cap) {
    al_jarena_release(o, mark);
    return;
  }
  if (mark <= ar.used) ar.used = mark; /* the whole tree is in the block: nothing to free */
#else
  al_jarena_release(o, mark);
#endif
}
