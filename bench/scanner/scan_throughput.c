/* bench/scanner: single-thread throughput of the scan engine on one file.
 *
 *   scan_throughput [--detectors a,b] [--stream CHUNK] [--repeat N] [--findings OUT] FILE
 *
 * Compiles the database once (time reported separately), scans the file N times on one
 * core in block mode (or stream mode in CHUNK-byte pieces), prints one JSON line:
 * {"bytes","compile_s","wall_s","cpu_s","mb_per_s","findings"}; mb_per_s is bytes per
 * CPU second of the scan passes after the first (per core, immune to neighbours). --findings writes
 * the findings of the first pass as JSON lines {"detector","start","end"} for scoring. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airlock/scan.h"
#include "airlock/util.h"

/* CPU time of this process: on a shared machine wall time measures the neighbours. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct ctx {
  FILE *out;
  size_t n;
} ctx;

static int on_finding(const al_finding *f, void *ud) {
  ctx *c = ud;
  c->n++;
  if (c->out)
    fprintf(c->out, "{\"detector\":\"%s\",\"start\":%llu,\"end\":%llu}\n", f->detector,
            (unsigned long long)f->start, (unsigned long long)f->end);
  return 0;
}

int main(int argc, char **argv) {
  const char *dets[64], *path = NULL, *fout = NULL;
  size_t n_dets = 0, chunk = 0;
  int repeat = 3;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--detectors") && i + 1 < argc) {
      char *l = strdup(argv[++i]);
      for (char *sv = NULL, *t = strtok_r(l, ",", &sv); t && n_dets < 64; t = strtok_r(NULL, ",", &sv))
        dets[n_dets++] = t;
    } else if (!strcmp(argv[i], "--stream") && i + 1 < argc) {
      chunk = strtoul(argv[++i], NULL, 10);
    } else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
      repeat = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--findings") && i + 1 < argc) {
      fout = argv[++i];
    } else {
      path = argv[i];
    }
  }
  if (!path || repeat < 1) {
    fprintf(stderr, "usage: scan_throughput [--detectors a,b] [--stream CHUNK] [--repeat N] "
                    "[--findings OUT] FILE\n");
    return 2;
  }
  char *text = NULL;
  size_t len = 0;
  al_error err = {0};
  if (al_read_file(path, 1u << 30, &text, &len, &err) < 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 2;
  }
  al_scan_config cfg = {.detectors = n_dets ? dets : NULL, .n_detectors = n_dets};
  al_scan_db *db = NULL;
  al_scanner *sc = NULL;
  int64_t t0 = al_now_ns();
  if (al_scan_db_new(&cfg, &db, &err) < 0 || al_scanner_new(db, &sc) < 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 2;
  }
  int64_t t1 = al_now_ns();
  ctx c = {.out = fout ? fopen(fout, "w") : NULL};
  double c0 = 0, cpu = 0;
  size_t first = 0;
  for (int r = 0; r < repeat; r++) {
    c.n = 0;
    if (r == 1 || repeat == 1) c0 = cpu_s(); /* pass 0 writes findings: not timed */
    if (chunk) {
      al_scan_stream *st = NULL;
      al_scan_stream_open(sc, on_finding, &c, &st);
      for (size_t o = 0; o < len; o += chunk)
        al_scan_stream_feed(st, text + o, len - o < chunk ? len - o : chunk);
      al_scan_stream_close(st);
    } else {
      al_scan(sc, text, len, on_finding, &c);
    }
    if (r == repeat - 1) cpu = cpu_s() - c0;
    if (r == 0) {
      first = c.n;
      if (c.out) fclose(c.out);
      c.out = NULL;
    }
  }
  int64_t t2 = al_now_ns();
  double scan_s = (double)(t2 - t1) / 1e9 / repeat;
  int timed = repeat > 1 ? repeat - 1 : 1;
  double cpu_pass = cpu / timed;
  printf("{\"bytes\":%zu,\"compile_s\":%.3f,\"wall_s\":%.4f,\"cpu_s\":%.4f,"
         "\"mb_per_s\":%.1f,\"findings\":%zu}\n",
         len, (double)(t1 - t0) / 1e9, scan_s, cpu_pass, (double)len / 1e6 / cpu_pass, first);
  al_scanner_free(sc);
  al_scan_db_free(db);
  al_free(text);
  return 0;
}
