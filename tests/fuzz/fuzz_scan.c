/* Fuzz target `scan`: the engine over arbitrary bytes, in block mode and in stream mode
 * with chunk sizes taken from the input, with every default detector and a canary. Checks
 * the engine's own contract: findings in start order, inside the text, stream mode never
 * reports before a byte it called safe, and both modes report the same findings when all
 * of them come from streamable detectors (block mode scans digit, anchored and long-run
 * windows, stream mode every byte: this checks the window contracts of
 * docs/design/scan.md). A PEM key block is not streamable: in block mode it extends to its
 * END line and can hide other secrets inside it, so inputs with one are not compared. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/scan.h"

static al_scan_db *db;
static al_scanner *sc;

typedef struct fctx {
  size_t len;
  uint64_t last, safe;
  size_t n; /* findings */
  uint64_t sum;
  int other; /* a finding of a detector that is not streamable */
} fctx;

static int on_f(const al_finding *f, void *ud) {
  fctx *c = ud;
  if (f->start < c->last || f->end <= f->start || f->end > c->len) abort();
  if (f->start < c->safe) abort();
  c->last = f->start;
  const al_detector *d = al_detector_find(f->detector);
  if (!d) abort();
  if (!(d->flags & AL_DET_STREAMABLE)) c->other = 1;
  c->n++;
  c->sum = c->sum * 1000003u + f->start * 31 + f->end + (uint64_t)(uintptr_t)d;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!db) {
    static const char *canaries[] = {"AIRLOCK-CANARY-7731"};
    /* the pattern detectors: scan_full() classifiers report at close, outside the
     * safe-offset contract checked below */
    static const char *dets[] = {"pii", "secret", "canary"};
    al_scan_config cfg = {.detectors = dets, .n_detectors = 3, .canaries = canaries,
                          .n_canaries = 1};
    if (al_scan_db_new(&cfg, &db, NULL) || al_scanner_new(db, &sc)) abort();
  }
  const char *text = (const char *)data;
  fctx b = {.len = size};
  if (al_scan(sc, text, size, on_f, &b)) abort();
  /* stream: chunk sizes from the first byte */
  size_t step = size ? 1 + data[0] % 61 : 1;
  fctx s = {.len = size};
  al_scan_stream *st = NULL;
  if (al_scan_stream_open(sc, on_f, &s, &st)) abort();
  for (size_t o = 0; o < size; o += step) {
    size_t k = size - o < step ? size - o : step;
    if (al_scan_stream_feed(st, text + o, k)) abort();
    s.safe = al_scan_stream_safe_offset(st);
    if (s.safe > o + k) abort();
  }
  if (al_scan_stream_close(st)) abort();
  if (!b.other && !s.other && (s.n != b.n || s.sum != b.sum)) abort();
  return 0;
}
