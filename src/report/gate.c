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
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/report.h"
#include "airlock/util.h"
#include "report/report_int.h"

typedef struct rule {
  double min_pass_rate;    /* NAN: none */
  json_int_t max_failures; /* -1: none */
} rule;

typedef struct group {
  const char *name; /* borrowed from the run document */
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
  g->v[g->n] = (group){.name = name};
  return &g->v[g->n++];
}

static int sample_add(samples *s, const json_t *v) {
  if (!json_is_number(v) || json_number_value(v) < 0) return 0;
  if (s->n == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 64;
    double *p = al_realloc(s->v, ncap * sizeof *p);
    if (!p) return AL_ENOMEM;
    s->v = p;
    s->cap = ncap;
  }
  s->v[s->n++] = json_number_value(v);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static json_t *percentiles(samples *s) {
  if (!s->n) return json_pack("{s:i, s:n, s:n, s:n, s:n}", "n", 0, "p50", "p90", "p99", "max");
  qsort(s->v, s->n, sizeof *s->v, cmp_double);
  static const double ps[] = {50, 90, 99};
  static const char *const names[] = {"p50", "p90", "p99"};
  json_t *o = json_pack("{s:I}", "n", (json_int_t)s->n);
  int bad = !o;
  for (int i = 0; !bad && i < 3; i++) {
    size_t k = (size_t)ceil(ps[i] / 100.0 * (double)s->n);
    k = k ? k - 1 : 0;
    bad |= json_object_set_new(o, names[i], json_real(al_round(s->v[k], 3)));
  }
  if (!bad) bad |= json_object_set_new(o, "max", json_real(al_round(s->v[s->n - 1], 3)));
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

int al_gate_compute(const json_t *run_doc, const json_t *thresholds, json_t **summary_out) {
  int rc = 0;
  rule def;
  double max_err;
  groups cats = {0}, sevs = {0};
  samples ttft = {0}, total = {0}, queued = {0};
  json_t *sum = NULL, *kinds = NULL, *jcats = NULL, *jsevs = NULL;
  al_buf failed, why;
  long n_pass = 0, n_fail = 0, n_err = 0, n_failed = 0;
  al_buf_init(&failed, 4096);
  al_buf_init(&why, 8192);
  if (!summary_out) return AL_EINVAL;
  *summary_out = NULL;
  if ((rc = check_thresholds(thresholds, &def, &max_err)) < 0) goto out;
  if (!(cats.index = json_object()) || !(sevs.index = json_object()) || !(kinds = json_object()) ||
      !(jcats = json_object()) || !(jsevs = json_object()))
    goto nomem;

  const json_t *cases = json_object_get(run_doc, "cases");
  size_t i;
  const json_t *c;
  json_array_foreach((json_t *)cases, i, c) {
    const char *verdict = al_jstr(c, "verdict", "");
    const char *cat = al_jstr(c, "category", "");
    const char *sev = al_jstr(c, "severity", "");
    group *gc = group_get(&cats, *cat ? cat : "uncategorized");
    group *gs = group_get(&sevs, *sev ? sev : "unspecified");
    if (!gc || !gs) goto nomem;
    if (strcmp(verdict, "pass") == 0 || strcmp(verdict, "fail") == 0) {
      if (verdict[0] == 'p') {
        gc->pass++, gs->pass++, n_pass++;
      } else {
        gc->fail++, gs->fail++, n_fail++;
      }
      if (sample_add(&ttft, json_object_get(c, "ttft_ms")) < 0 ||
          sample_add(&total, json_object_get(c, "total_ms")) < 0)
        goto nomem;
    } else {
      gc->error++, gs->error++, n_err++;
      const char *kind =
          strcmp(verdict, "error") == 0 ? al_jstr(c, "error_kind", "unknown") : "invalid_verdict";
      if (!*kind) kind = "unknown";
      json_t *cnt = json_object_get(kinds, kind);
      if (json_object_set_new(kinds, kind, json_integer(cnt ? json_integer_value(cnt) + 1 : 1)))
        goto nomem;
    }
    if (sample_add(&queued, json_object_get(c, "queued_ms")) < 0) goto nomem;
  }

  int overall = AL_GATE_PASSED;
  if (cats.n) qsort(cats.v, cats.n, sizeof *cats.v, cmp_group_name);
  if (sevs.n) qsort(sevs.v, sevs.n, sizeof *sevs.v, cmp_group_sev);
  const char *err_cat = NULL;
  for (i = 0; i < cats.n; i++) {
    int has, v;
    rule r = rule_for(thresholds, "categories", cats.v[i].name, &def, &has);
    json_t *o = group_json(&cats.v[i], &r, &v);
    if (!o || json_object_set_new(jcats, cats.v[i].name, o)) goto nomem;
    if (v == AL_GATE_FAILED && note_failed(&failed, &n_failed, "category", cats.v[i].name) < 0)
      goto nomem;
    if (v == AL_GATE_ERRORS && !err_cat) err_cat = cats.v[i].name;
  }
  for (i = 0; i < sevs.n; i++) {
    int has, v;
    rule r = rule_for(thresholds, "severities", sevs.v[i].name, NULL, &has);
    json_t *o = group_json(&sevs.v[i], has ? &r : NULL, &v);
    if (!o || json_object_set_new(jsevs, sevs.v[i].name, o)) goto nomem;
    if (v == AL_GATE_FAILED && note_failed(&failed, &n_failed, "severity", sevs.v[i].name) < 0)
      goto nomem;
  }

  long n = n_pass + n_fail + n_err;
  double err_rate = n ? (double)n_err / (double)n : 0.0;
  char a[32], b[32];
  if (n == 0) {
    al_buf_puts(&why, "no cases");
  } else if (n_err == n) {
    overall = AL_GATE_ERRORS;
    al_buf_printf(&why, "every case errored (%ld)", n);
  } else if (err_rate > max_err + 1e-12) {
    overall = AL_GATE_ERRORS;
    al_buf_printf(&why, "error rate %s above %s", pct(a, sizeof a, err_rate),
                  pct(b, sizeof b, max_err));
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

  static const char *const gate_names[] = {
      [AL_GATE_PASSED] = "passed", [AL_GATE_FAILED] = "failed", [AL_GATE_ERRORS] = "errors"};
  sum = json_pack("{s:{s:I, s:I, s:I, s:I, s:o, s:o}, s:O, s:O, s:O, s:{s:o, s:o, s:o},"
                  " s:f, s:s, s:i, s:s}",
                  "totals", "cases", (json_int_t)n, "pass", (json_int_t)n_pass, "fail",
                  (json_int_t)n_fail, "error", (json_int_t)n_err, "pass_rate",
                  rate(n_pass, n_pass + n_fail), "error_rate", json_real(al_round(err_rate, 6)),
                  "categories", jcats, "severities", jsevs, "errors_by_kind", kinds, "latency_ms",
                  "ttft", percentiles(&ttft), "total", percentiles(&total), "queued",
                  percentiles(&queued), "max_error_rate", max_err, "gate", gate_names[overall],
                  "exit_code", overall, "reason", why.data);
  if (!sum) goto nomem;
  *summary_out = sum;
  sum = NULL;
  goto out;
nomem:
  rc = AL_ENOMEM;
out:
  json_decref(cats.index);
  json_decref(sevs.index);
  al_free(cats.v);
  al_free(sevs.v);
  al_free(ttft.v);
  al_free(total.v);
  al_free(queued.v);
  json_decref(kinds);
  json_decref(jcats);
  json_decref(jsevs);
  json_decref(sum);
  al_buf_cleanup(&failed);
  al_buf_cleanup(&why);
  return rc;
}
