/* Helpers for the synth unit tests: temporary folders, reading files, counting scan
 * findings per detector over JSON lines. */
#ifndef SYNTH_TEST_UTIL_H
#define SYNTH_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/scan.h"
#include "airlock/util.h"

static inline char *tmpdir_new(void) {
  char *t = strdup("/tmp/al-synth-test-XXXXXX");
  return mkdtemp(t);
}

static inline void tmpdir_rm(char *d) {
  char cmd[512];
  if (!d) return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  if (system(cmd)) {
  }
  free(d);
}

static inline char *slurp(const char *dir, const char *name, size_t *len) {
  char path[1024];
  char *text = NULL;
  size_t n = 0;
  if (name)
    snprintf(path, sizeof path, "%s/%s", dir, name);
  else
    snprintf(path, sizeof path, "%s", dir);
  if (al_read_file(path, 1u << 28, &text, &n, NULL)) return NULL;
  if (len) *len = n;
  return text;
}

typedef struct det_count {
  char name[48];
  long n;
} det_count;

typedef struct counts {
  det_count c[32];
  int n;
} counts;

static inline int count_cb(const al_finding *f, void *ud) {
  counts *c = ud;
  for (int i = 0; i < c->n; i++)
    if (!strcmp(c->c[i].name, f->detector)) {
      c->c[i].n++;
      return 0;
    }
  if (c->n < 32) {
    snprintf(c->c[c->n].name, sizeof c->c[0].name, "%s", f->detector);
    c->c[c->n++].n = 1;
  }
  return 0;
}

static inline long count_of(const counts *c, const char *det) {
  for (int i = 0; i < c->n; i++)
    if (!strcmp(c->c[i].name, det)) return c->c[i].n;
  return 0;
}

/* Scan each line of text with the pii detectors; add up findings per detector. */
static inline int scan_lines(const char *text, size_t len, counts *out) {
  static const char *const dets[] = {"pii"};
  al_scan_config cfg = {.detectors = dets, .n_detectors = 1};
  al_scan_db *db = NULL;
  al_scanner *sc = NULL;
  int rc = al_scan_db_new(&cfg, &db, NULL);
  if (!rc) rc = al_scanner_new(db, &sc);
  memset(out, 0, sizeof *out);
  for (size_t i = 0; !rc && i < len;) {
    size_t e = i;
    while (e < len && text[e] != '\n')
      e++;
    rc = al_scan(sc, text + i, e - i, count_cb, out);
    i = e + 1;
  }
  al_scanner_free(sc);
  al_scan_db_free(db);
  return rc;
}

#endif
