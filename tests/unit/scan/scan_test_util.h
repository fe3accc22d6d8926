/* Helpers shared by the scan unit tests: collect findings into an array, scan a text in
 * block mode and in stream mode with seeded random chunking. */
#ifndef SCAN_TEST_UTIL_H
#define SCAN_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/scan.h"
#include "airlock/util.h"

typedef struct got {
  char det[48];
  uint64_t start, end;
  double score;
  char note[160];
} got;

typedef struct gotlist {
  got *v;
  size_t n, cap;
  uint64_t last_start;
  bool unordered;
} gotlist;

static int collect(const al_finding *f, void *ud) {
  gotlist *g = ud;
  if (g->n && f->start < g->last_start) g->unordered = true;
  g->last_start = f->start;
  if (g->n == g->cap) {
    g->cap = g->cap ? g->cap * 2 : 16;
    g->v = realloc(g->v, g->cap * sizeof *g->v);
  }
  got *x = &g->v[g->n++];
  memset(x, 0, sizeof *x);
  snprintf(x->det, sizeof x->det, "%s", f->detector);
  x->start = f->start;
  x->end = f->end;
  x->score = f->score;
  memcpy(x->note, f->note, sizeof x->note);
  return 0;
}

static void gotlist_free(gotlist *g) {
  free(g->v);
  memset(g, 0, sizeof *g);
}

static int scan_block(al_scanner *sc, const char *t, size_t n, gotlist *g) {
  return al_scan(sc, t, n, collect, g);
}

/* Stream t in random chunks of 1..maxchunk bytes. */
__attribute__((unused)) static int scan_stream(al_scanner *sc, const char *t, size_t n, uint64_t seed, size_t maxchunk,
                       gotlist *g) {
  al_rng r;
  al_rng_seed(&r, seed);
  al_scan_stream *st = NULL;
  int rc = al_scan_stream_open(sc, collect, g, &st);
  if (rc) return rc;
  for (size_t o = 0; o < n && rc == 0;) {
    size_t k = 1 + (size_t)al_rng_below(&r, maxchunk);
    if (k > n - o) k = n - o;
    rc = al_scan_stream_feed(st, t + o, k);
    o += k;
  }
  int c = al_scan_stream_close(st);
  return rc ? rc : c;
}

__attribute__((unused)) static bool same_findings(const gotlist *a, const gotlist *b) {
  if (a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->v[i].det, b->v[i].det) || a->v[i].start != b->v[i].start ||
        a->v[i].end != b->v[i].end)
      return false;
  return true;
}

#endif
