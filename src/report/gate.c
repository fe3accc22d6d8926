/* The gate: from the cases of a run and its thresholds to a summary and an exit code.
 *
 * Counting: every case has one verdict, "pass", "fail" or "error" (anything else counts as
 * an error of kind "invalid_verdict"). Pass rate = pass / (pass + fail); it is null when a
 * group has no pass and no fail. Errors are counted apart, by kind.
 *
 * Verdict per category: "failed" when its pass rate is below min_pass_rate or its failures
 * exceed max_failures (thresholds of the category over those of "default"; with no
 * thresholds at all min_pass_rate is 1.0), "errors" when every one of its cases errored,
 * else "passed". Severities get a verdict only when "severities" thresholds name them.
 *
 * Overall, in this order: "errors" (exit 3) when the error rate is above max_error_rate
 * (default 0.1), or every case errored, or a category has nothing but errors -- the run
 * cannot be judged; then "failed" (exit 1) when a category or severity failed; else
 * "passed" (exit 0). An empty run passes with the reason "no cases".
 *
 * Latency percentiles (nearest rank) cover the cases that did not error; queued time
 * (inside Airlock) is reported apart and never added to the model's latency.
 *
 * Two feeders, one result: al_gate_compute() walks the cases of a run document;
 * al_gate_compute_store() reads the same counts from SQL aggregates and the percentiles from
 * one sorted pass per latency column, so its memory does not grow with the run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/report.h"
#include "airlock/store.h"
#include "airlock/util.h"
#include "report/report_int.h"

typedef struct rule {
  double min_pass_rate;    /* NAN: none */
  json_int_t max_failures; /* -1: none */
} rule;

typedef struct group {
  const char *name; /* the key stored in groups.index */
  long pass, fail, error;
} group;

typedef struct groups {
  json_t *index; /* name -> position */
  group *v;
  size_t n, cap;
} groups;

typedef struct samples {
  double *v;
  size_t n, cap;
} samples;

/* Percentiles ready to print: n values, then p50, p90, p99 and max (nearest rank). */
typedef struct pcts {
  size_t n;
  double p[4];
} pcts;

static int parse_rule(const json_t *o, rule *r) {
  const char *k;
  json_t *v;
  if (!o) return 0;
  if (!json_is_object(o)) return AL_EINVAL;
  json_object_foreach((json_t *)o, k, v) {
    if (strcmp(k, "min_pass_rate") == 0) {
      if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
        return AL_EINVAL;
      r->min_pass_rate = json_number_value(v);
    } else if (strcmp(k, "max_failures") == 0) {
      if (!json_is_integer(v) || json_integer_value(v) < 0) return AL_EINVAL;
      r->max_failures = json_integer_value(v);
    } else {
      return AL_EINVAL;
    }
  }
  return 0;
}

static int check_thresholds(const json_t *t, rule *def, double *max_err) {
  const char *k;
  json_t *v;
  def->min_pass_rate = 1.0;
  def->max_failures = -1;
  *max_err = 0.1;
  if (!t || json_is_null(t)) return 0;
  if (!json_is_object(t)) return AL_EINVAL;
  json_object_foreach((json_t *)t, k, v) {
    if (strcmp(k, "default") == 0) {
      if (parse_rule(v, def) < 0) return AL_EINVAL;
    } else if (strcmp(k, "categories") == 0 || strcmp(k, "severities") == 0) {
      const char *name;
      json_t *r;
      if (!json_is_object(v)) return AL_EINVAL;
      json_object_foreach(v, name, r) {
        rule tmp = {NAN, -1};
        if (parse_rule(r, &tmp) < 0) return AL_EINVAL;
      }
    } else if (strcmp(k, "max_error_rate") == 0) {
      if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
        return AL_EINVAL;
      *max_err = json_number_value(v);
    } else {
      return AL_EINVAL;
    }
  }
  return 0;
}

static group *group_get(groups *g, const char *name) {
  json_t *pos = json_object_get(g->index, name);
  if (pos) return &g->v[json_integer_value(pos)];
  if (g->n == g->cap) {
    size_t ncap = g->cap ? g->cap * 2 : 16;
    group *p = al_realloc(g->v, ncap * sizeof *p);
    if (!p) return NULL;
    g->v = p;
    g->cap = ncap;
  }
  if (json_object_set_new(g->index, name, json_integer((json_int_t)g->n))) return NULL;
  g->v[g->n] = (group){.name = json_object_iter_key(json_object_iter_at(g->index, name))};
  return &g->v[g->n++];
}

/* A latency in ms; unknown (negative) values are left out. */
static int sample_push(samples *s, double ms) {
  if (ms < 0) return 0;
  if (s->n == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 64;
    double *p = al_realloc(s->v, ncap * sizeof *p);
    if (!p) return AL_ENOMEM;
    s->v = p;
    s->cap = ncap;
  }
  s->v[s->n++] = ms;
  return 0;
}

static int sample_add(samples *s, const json_t *v) {
  return json_is_number(v) ? sample_push(s, json_number_value(v)) : 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static const double pct_ranks[] = {50, 90, 99};

/* 0-based nearest rank of percentile p among n values. */
static size_t pct_rank(double p, size_t n) {
  size_t k = (size_t)ceil(p / 100.0 * (double)n);
  return k ? k - 1 : 0;
}

static void samples_pcts(samples *s, pcts *out) {
  out->n = s->n;
  if (!s->n) return;
  qsort(s->v, s->n, sizeof *s->v, cmp_double);
  for (int i = 0; i < 3; i++) out->p[i] = s->v[pct_rank(pct_ranks[i], s->n)];
  out->p[3] = s->v[s->n - 1];
}

static json_t *percentiles(const pcts *s) {
  if (!s->n) return json_pack("{s:i, s:n, s:n, s:n, s:n}", "n", 0, "p50", "p90", "p99", "max");
  static const char *const names[] = {"p50", "p90", "p99", "max"};
  json_t *o = json_pack("{s:I}", "n", (json_int_t)s->n);
  int bad = !o;
  for (int i = 0; !bad && i < 4; i++)
    bad |= json_object_set_new(o, names[i], json_real(al_round(s->p[i], 3)));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *rate(long num, long den) {
  return den ? json_real(al_round((double)num / (double)den, 6)) : json_null();
}

static const char *pct(char *out, size_t n, double r) {
  snprintf(out, n, "%.1f%%", r * 100.0);
  return out;
}

/* Counts and, when a rule applies, verdict and reason of one group. Sets *verdict to
 * AL_GATE_PASSED / FAILED / ERRORS. */
static json_t *group_json(const group *g, const rule *r, int *verdict) {
  long judged = g->pass + g->fail;
  json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:o}", "cases", (json_int_t)(judged + g->error),
                        "pass", (json_int_t)g->pass, "fail", (json_int_t)g->fail, "error",
                        (json_int_t)g->error, "pass_rate", rate(g->pass, judged));
  *verdict = AL_GATE_PASSED;
  if (!o || !r) return o;
  al_buf why;
  char a[32], b[32];
  int bad = 0;
  al_buf_init(&why, 512);
  if (!isnan(r->min_pass_rate))
    bad |= json_object_set_new(o, "min_pass_rate", json_real(r->min_pass_rate));
  if (r->max_failures >= 0)
    bad |= json_object_set_new(o, "max_failures", json_integer(r->max_failures));
  if (judged == 0 && g->error > 0) {
    *verdict = AL_GATE_ERRORS;
    al_buf_printf(&why, "all %ld cases errored", g->error);
  } else {
    double pr = judged ? (double)g->pass / (double)judged : 1.0;
    if (!isnan(r->min_pass_rate) && judged && pr < r->min_pass_rate - 1e-12) {
      *verdict = AL_GATE_FAILED;
      al_buf_printf(&why, "pass rate %s below %s", pct(a, sizeof a, pr),
                    pct(b, sizeof b, r->min_pass_rate));
    }
    if (r->max_failures >= 0 && g->fail > r->max_failures) {
      *verdict = AL_GATE_FAILED;
      al_buf_printf(&why, "%s%ld failures, at most %lld allowed", why.len ? "; " : "", g->fail,
                    (long long)r->max_failures);
    }
    if (*verdict == AL_GATE_PASSED) {
      if (!judged)
        al_buf_puts(&why, "no cases");
      else if (!isnan(r->min_pass_rate))
        al_buf_printf(&why, "pass rate %s, at least %s needed", pct(a, sizeof a, pr),
                      pct(b, sizeof b, r->min_pass_rate));
      else
        al_buf_printf(&why, "%ld failures, at most %lld allowed", g->fail,
                      (long long)r->max_failures);
    }
  }
  static const char *const names[] = {
      [AL_GATE_PASSED] = "passed", [AL_GATE_FAILED] = "failed", [AL_GATE_ERRORS] = "errors"};
  bad |= !why.len; /* every branch above wrote a reason unless memory ran out */
  bad |= json_object_set_new(o, "gate", json_string(names[*verdict]));
  bad |= json_object_set_new(o, "reason", json_string(why.data ? why.data : ""));
  al_buf_cleanup(&why);
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static const char *sev_order[] = {"critical", "high", "medium", "low", "info"};

static int sev_rank(const char *s) {
  for (int i = 0; i < 5; i++)
    if (strcmp(s, sev_order[i]) == 0) return i;
  return 5;
}

static int cmp_group_name(const void *a, const void *b) {
  return strcmp(((const group *)a)->name, ((const group *)b)->name);
}

static int cmp_group_sev(const void *a, const void *b) {
  const group *x = a, *y = b;
  int rx = sev_rank(x->name), ry = sev_rank(y->name);
  return rx != ry ? rx - ry : strcmp(x->name, y->name);
}

/* Merge the rule for name (from thresholds[section]) over base. has: a rule was named. */
static rule rule_for(const json_t *t, const char *section, const char *name, const rule *base,
                     int *has) {
  rule r = base ? *base : (rule){NAN, -1};
  const json_t *o = json_object_get(json_object_get(t, section), name);
  *has = o != NULL;
  parse_rule(o, &r);
  return r;
}

/* Count a failed group and name it in the reason; names past the buffer's room are left
 * out ("..."), which never changes the verdict. */
static int note_failed(al_buf *b, long *n, const char *kind, const char *name) {
  if ((*n)++ && b->len + 3 < b->max && al_buf_puts(b, ", ") == AL_ENOMEM) return AL_ENOMEM;
  int rc = al_buf_printf(b, "%s %.200s", kind, name);
  if (rc == AL_ELIMIT && b->len + 3 < b->max) rc = al_buf_puts(b, "...");
  return rc == AL_ENOMEM ? AL_ENOMEM : 0;
}

/* What a pass over the cases gathers. */
typedef struct gate_acc {
  groups cats, sevs;
  samples ttft, total, queued;
  pcts lat[3]; /* ttft, total, queued */
  json_t *kinds;
  long n_pass, n_fail, n_err;
} gate_acc;

static int acc_init(gate_acc *a) {
  memset(a, 0, sizeof *a);
  if (!(a->cats.index = json_object()) || !(a->sevs.index = json_object()) ||
      !(a->kinds = json_object()))
    return AL_ENOMEM;
  return 0;
}

static void acc_cleanup(gate_acc *a) {
  json_decref(a->cats.index);
  json_decref(a->sevs.index);
  al_free(a->cats.v);
  al_free(a->sevs.v);
  al_free(a->ttft.v);
  al_free(a->total.v);
  al_free(a->queued.v);
  json_decref(a->kinds);
}

/* n cases with the same category, severity, verdict and error kind (NULL: none). */
static int acc_add(gate_acc *a, const char *cat, const char *sev, const char *verdict,
                   const char *error_kind, long n) {
  if (!cat) cat = "";
  if (!sev) sev = "";
  if (!verdict) verdict = "";
  group *gc = group_get(&a->cats, *cat ? cat : "uncategorized");
  group *gs = group_get(&a->sevs, *sev ? sev : "unspecified");
  if (!gc || !gs) return AL_ENOMEM;
  if (strcmp(verdict, "pass") == 0) {
    gc->pass += n, gs->pass += n, a->n_pass += n;
  } else if (strcmp(verdict, "fail") == 0) {
    gc->fail += n, gs->fail += n, a->n_fail += n;
  } else {
    gc->error += n, gs->error += n, a->n_err += n;
    const char *kind = strcmp(verdict, "error") == 0 ? (error_kind ? error_kind : "unknown")
                                                     : "invalid_verdict";
    if (!*kind) kind = "unknown";
    json_t *cnt = json_object_get(a->kinds, kind);
    if (json_object_set_new(a->kinds, kind, json_integer(cnt ? json_integer_value(cnt) + n : n)))
      return AL_ENOMEM;
  }
  return 0;
}

static int cmp_str(const void *x, const void *y) {
  return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* A copy of object o with its keys in byte order (NULL: out of memory). */
static json_t *sorted_keys(const json_t *o) {
  size_t n = json_object_size(o), i = 0;
  const char **keys = al_calloc(n ? n : 1, sizeof *keys);
  json_t *r = json_object();
  const char *k;
  json_t *v;
  if (!keys || !r) goto fail;
  json_object_foreach((json_t *)o, k, v) keys[i++] = k;
  qsort(keys, n, sizeof *keys, cmp_str);
  for (i = 0; i < n; i++)
    if (json_object_set(r, keys[i], json_object_get(o, keys[i]))) goto fail;
  al_free(keys);
  return r;
fail:
  al_free(keys);
  json_decref(r);
  return NULL;
}

/* From the counts and percentiles gathered to the summary object. */
static int acc_summary(gate_acc *a, const json_t *thresholds, const rule *def, double max_err,
                       json_t **summary_out) {
  int rc = 0;
  json_t *sum = NULL, *jcats = NULL, *jsevs = NULL;
  al_buf failed, why;
  long n_failed = 0;
  size_t i;
  al_buf_init(&failed, 4096);
  al_buf_init(&why, 8192);
  if (!(jcats = json_object()) || !(jsevs = json_object())) goto nomem;
  int overall = AL_GATE_PASSED;
  if (a->cats.n) qsort(a->cats.v, a->cats.n, sizeof *a->cats.v, cmp_group_name);
  if (a->sevs.n) qsort(a->sevs.v, a->sevs.n, sizeof *a->sevs.v, cmp_group_sev);
  const char *err_cat = NULL;
  for (i = 0; i < a->cats.n; i++) {
    int has, v;
    rule r = rule_for(thresholds, "categories", a->cats.v[i].name, def, &has);
    json_t *o = group_json(&a->cats.v[i], &r, &v);
    if (!o || json_object_set_new(jcats, a->cats.v[i].name, o)) goto nomem;
    if (v == AL_GATE_FAILED && note_failed(&failed, &n_failed, "category", a->cats.v[i].name) < 0)
      goto nomem;
    if (v == AL_GATE_ERRORS && !err_cat) err_cat = a->cats.v[i].name;
  }
  for (i = 0; i < a->sevs.n; i++) {
    int has, v;
    rule r = rule_for(thresholds, "severities", a->sevs.v[i].name, NULL, &has);
    json_t *o = group_json(&a->sevs.v[i], has ? &r : NULL, &v);
    if (!o || json_object_set_new(jsevs, a->sevs.v[i].name, o)) goto nomem;
    if (v == AL_GATE_FAILED && note_failed(&failed, &n_failed, "severity", a->sevs.v[i].name) < 0)
      goto nomem;
  }

  long n_pass = a->n_pass, n_fail = a->n_fail, n_err = a->n_err;
  long n = n_pass + n_fail + n_err;
  double err_rate = n ? (double)n_err / (double)n : 0.0;
  char pa[32], pb[32];
  if (n == 0) {
    al_buf_puts(&why, "no cases");
  } else if (n_err == n) {
    overall = AL_GATE_ERRORS;
    al_buf_printf(&why, "every case errored (%ld)", n);
  } else if (err_rate > max_err + 1e-12) {
    overall = AL_GATE_ERRORS;
    al_buf_printf(&why, "error rate %s above %s", pct(pa, sizeof pa, err_rate),
                  pct(pb, sizeof pb, max_err));
  } else if (err_cat) {
    overall = AL_GATE_ERRORS;
    al_buf_printf(&why, "every case of category %.200s errored", err_cat);
  } else if (n_failed) {
    overall = AL_GATE_FAILED;
    al_buf_printf(&why, "failed: %s", failed.data ? failed.data : "");
  } else {
    al_buf_printf(&why, "%ld of %ld judged cases passed", n_pass, n_pass + n_fail);
  }
  if (!why.len) goto nomem; /* every branch above wrote a reason unless memory ran out */

  /* error kinds by name: the same order whether the cases came from a document (first seen)
   * or from the store's aggregate (GROUP BY) */
  json_t *kinds = sorted_keys(a->kinds);
  if (!kinds) goto nomem;
  json_decref(a->kinds);
  a->kinds = kinds;
  static const char *const gate_names[] = {
      [AL_GATE_PASSED] = "passed", [AL_GATE_FAILED] = "failed", [AL_GATE_ERRORS] = "errors"};
  sum = json_pack("{s:{s:I, s:I, s:I, s:I, s:o, s:o}, s:O, s:O, s:O, s:{s:o, s:o, s:o},"
                  " s:f, s:s, s:i, s:s}",
                  "totals", "cases", (json_int_t)n, "pass", (json_int_t)n_pass, "fail",
                  (json_int_t)n_fail, "error", (json_int_t)n_err, "pass_rate",
                  rate(n_pass, n_pass + n_fail), "error_rate", json_real(al_round(err_rate, 6)),
                  "categories", jcats, "severities", jsevs, "errors_by_kind", a->kinds,
                  "latency_ms", "ttft", percentiles(&a->lat[0]), "total", percentiles(&a->lat[1]),
                  "queued", percentiles(&a->lat[2]), "max_error_rate", max_err, "gate",
                  gate_names[overall], "exit_code", overall, "reason", why.data);
  if (!sum) goto nomem;
  *summary_out = sum;
  goto out;
nomem:
  rc = AL_ENOMEM;
out:
  json_decref(jcats);
  json_decref(jsevs);
  al_buf_cleanup(&failed);
  al_buf_cleanup(&why);
  return rc;
}

int al_gate_compute(const json_t *run_doc, const json_t *thresholds, json_t **summary_out) {
  int rc = 0;
  rule def;
  double max_err;
  gate_acc a;
  if (!summary_out) return AL_EINVAL;
  *summary_out = NULL;
  if ((rc = acc_init(&a)) < 0) goto out;
  if ((rc = check_thresholds(thresholds, &def, &max_err)) < 0) goto out;
  const json_t *cases = json_object_get(run_doc, "cases");
  size_t i;
  const json_t *c;
  json_array_foreach((json_t *)cases, i, c) {
    const char *verdict = al_jstr(c, "verdict", "");
    if ((rc = acc_add(&a, al_jstr(c, "category", ""), al_jstr(c, "severity", ""), verdict,
                      al_jstr(c, "error_kind", "unknown"), 1)) < 0)
      goto out;
    if (strcmp(verdict, "pass") == 0 || strcmp(verdict, "fail") == 0) {
      if (sample_add(&a.ttft, json_object_get(c, "ttft_ms")) < 0 ||
          sample_add(&a.total, json_object_get(c, "total_ms")) < 0)
        goto nomem;
    }
    if (sample_add(&a.queued, json_object_get(c, "queued_ms")) < 0) goto nomem;
  }
  samples_pcts(&a.ttft, &a.lat[0]);
  samples_pcts(&a.total, &a.lat[1]);
  samples_pcts(&a.queued, &a.lat[2]);
  rc = acc_summary(&a, thresholds, &def, max_err, summary_out);
  goto out;
nomem:
  rc = AL_ENOMEM;
out:
  acc_cleanup(&a);
  return rc;
}

/* A latency as the run document has it: ms with 3 decimals (al_store__col_ms); unknown
 * (negative) values are left out. */
static int sample_add_ns(samples *s, long long ns) {
  return ns < 0 ? 0 : sample_push(s, round((double)ns / 1e3) / 1e3);
}

/* One judged case of a stored run, as al_gate_compute takes one case of the document. */
static int row_cb(const al_store_gate_row *r, void *ud) {
  gate_acc *a = ud;
  int rc = acc_add(a, r->category, r->severity, r->verdict, r->error_kind, 1);
  if (rc < 0) return rc;
  if (r->verdict && (strcmp(r->verdict, "pass") == 0 || strcmp(r->verdict, "fail") == 0)) {
    if (sample_add_ns(&a->ttft, r->ttft_ns) < 0 || sample_add_ns(&a->total, r->total_ns) < 0)
      return AL_ENOMEM;
  }
  return sample_add_ns(&a->queued, r->queued_ns);
}

int al_gate_compute_store(al_store *st, const char *run_id, const json_t *thresholds,
                          json_t **summary_out, al_error *err) {
  int rc = 0;
  rule def;
  double max_err;
  gate_acc a;
  if (!summary_out) return al_error_set(err, AL_EINVAL, "al_gate_compute_store: bad arguments");
  *summary_out = NULL;
  if ((rc = acc_init(&a)) < 0) {
    rc = al_error_set(err, rc, "out of memory");
    goto out;
  }
  if ((rc = check_thresholds(thresholds, &def, &max_err)) < 0) {
    rc = al_error_set(err, rc, "run thresholds are malformed");
    goto out;
  }
  if ((rc = al_store_run_gate_rows(st, run_id, row_cb, &a, err)) < 0) goto out;
  samples_pcts(&a.ttft, &a.lat[0]);
  samples_pcts(&a.total, &a.lat[1]);
  samples_pcts(&a.queued, &a.lat[2]);
  if ((rc = acc_summary(&a, thresholds, &def, max_err, summary_out)) < 0)
    rc = al_error_set(err, rc, "cannot compute the summary");
out:
  acc_cleanup(&a);
  return rc;
}
