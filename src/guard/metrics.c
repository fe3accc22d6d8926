/* Guard metrics in the Prometheus text format (GET /metrics).
 *
 *   airlock_guard_requests_total{verdict="allow|redact|block_input|block_output|retry_exhausted|
 *                                 unauthorized|rate_limited|bad_request|upstream_error|..."}
 *   airlock_guard_detector_hits_total{detector="pii.email"}
 *   airlock_guard_upstream_total{outcome="ok|timeout|connect|reset|http_error"}
 *   airlock_guard_request_duration_seconds (histogram: arrival -> last byte queued)
 *   airlock_guard_overhead_seconds (histogram: the part of the above not spent upstream)
 *   airlock_guard_in_flight (gauge)
 * One event loop updates these, so plain counters suffice. */
#include <stdio.h>
#include <string.h>

#include "airlock/util.h"
#include "guard/guard_int.h"

#define NBUCKETS 14
static const double bounds[NBUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025, 0.05, 0.1, 0.25, 1, 5, 30};

typedef struct counter {
  char name[64];
  unsigned long long n;
} counter;

typedef struct hist {
  unsigned long long b[NBUCKETS + 1], count;
  double sum;
} hist;

struct gmetrics {
  counter verdicts[32], detectors[AL_GUARD_MAX_DETECTOR_METRICS], upstream[16];
  hist duration, overhead;
};

gmetrics *al_gmetrics_new(void) { return al_calloc(1, sizeof(gmetrics)); }
void al_gmetrics_free(gmetrics *m) { al_free(m); }

static void bump(counter *c, size_t n, const char *name, unsigned long long by) {
  for (size_t i = 0; i < n; i++) {
    if (!c[i].name[0]) snprintf(c[i].name, sizeof c[i].name, "%s", name);
    if (!strcmp(c[i].name, name)) {
      c[i].n += by;
      return;
    }
  }
  /* table full: counted under the last row */
  c[n - 1].n += by;
}

static void observe(hist *h, double v) {
  size_t i = 0;
  while (i < NBUCKETS && v > bounds[i]) i++;
  h->b[i]++;
  h->count++;
  h->sum += v;
}

void al_gmetrics_request(gmetrics *m, const char *verdict, double seconds, double overhead) {
  bump(m->verdicts, 32, verdict, 1);
  observe(&m->duration, seconds);
  observe(&m->overhead, overhead < 0 ? 0 : overhead);
}

void al_gmetrics_hits(gmetrics *m, const gfinds *f) {
  for (size_t i = 0; i < f->n; i++) bump(m->detectors, AL_GUARD_MAX_DETECTOR_METRICS, f->v[i].detector, 1);
}

void al_gmetrics_upstream(gmetrics *m, const char *outcome) { bump(m->upstream, 16, outcome, 1); }

static int render_hist(al_buf *o, const char *name, const char *help, const hist *h) {
  int rc = al_buf_printf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  unsigned long long cum = 0;
  for (size_t i = 0; !rc && i < NBUCKETS; i++) {
    cum += h->b[i];
    rc = al_buf_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], cum);
  }
  if (!rc) rc = al_buf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", name,
                              h->count, name, h->sum, name, h->count);
  return rc;
}

static int render_counters(al_buf *o, const char *name, const char *help, const char *label,
                           const counter *c, size_t n) {
  int rc = al_buf_printf(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
  for (size_t i = 0; !rc && i < n && c[i].name[0]; i++)
    rc = al_buf_printf(o, "%s{%s=\"%s\"} %llu\n", name, label, c[i].name, c[i].n);
  return rc;
}

int al_gmetrics_render(gmetrics *m, al_buf *o, long in_flight) {
  int rc = render_counters(o, "airlock_guard_requests_total", "Requests by verdict.", "verdict", m->verdicts, 32);
  if (!rc) rc = render_counters(o, "airlock_guard_detector_hits_total", "Findings by detector.", "detector",
                                m->detectors, AL_GUARD_MAX_DETECTOR_METRICS);
  if (!rc) rc = render_counters(o, "airlock_guard_upstream_total", "Upstream transfers by outcome.", "outcome", m->upstream, 16);
  if (!rc) rc = render_hist(o, "airlock_guard_request_duration_seconds", "Time from request arrival to the end of the answer.", &m->duration);
  if (!rc) rc = render_hist(o, "airlock_guard_overhead_seconds", "Time spent in the guard (request duration minus upstream time).", &m->overhead);
  if (!rc) rc = al_buf_printf(o, "# HELP airlock_guard_in_flight Requests in progress.\n# TYPE airlock_guard_in_flight gauge\nairlock_guard_in_flight %ld\n", in_flight);
  return rc;
}
