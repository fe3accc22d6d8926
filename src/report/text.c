/* The terminal report: header, gate, tables by category and severity, failures with their
 * evidence (failing assertion messages and an excerpt of the output), errors by kind, and
 * latency percentiles.
 *
 * Everything that came from a suite or a model goes through al_esc_term, so a model cannot
 * move the cursor, recolour the terminal or reorder text with bidi controls. Colour is used
 * only when render.c says the FILE is a terminal and NO_COLOR is unset.
 */
#include <string.h>

#include "airlock/util.h"
#include "report/report_int.h"

#define RED "31"
#define GREEN "32"
#define YELLOW "33"
#define BOLD "1"

static void col(al_rctx *c, const char *code) {
  if (c->color) al_out(c, "\033[%sm", code);
}

static void reset(al_rctx *c) {
  if (c->color) al_out(c, "\033[0m");
}

static const char *gate_color(const char *gate) {
  return strcmp(gate, "passed") == 0 ? GREEN : strcmp(gate, "failed") == 0 ? RED : YELLOW;
}

/* A name cell of a table, escaped and padded to w columns (bytes; UTF-8 names run wider). */
static void name_cell(al_rctx *c, const char *name, int w) {
  size_t before = c->out->len;
  size_t n = al_utf8_prefix(name, strlen(name), AL_REPORT_NAME_WIDTH);
  al_out_esc(c, AL_ESC_TERM, name, n);
  int used = (int)(c->out->len - before);
  al_out(c, "%*s", used < w ? w - used : 1, "");
}

static int name_width(const json_t *groups, const char *title) {
  int w = (int)strlen(title);
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)groups, k, v) {
    int n = (int)strlen(k);
    if (n > w) w = n;
  }
  return (w > AL_REPORT_NAME_WIDTH ? AL_REPORT_NAME_WIDTH : w) + 2;
}

static void table(al_rctx *c, const char *title, const char *col_name, const json_t *groups,
                  int with_gate) {
  const char *k;
  json_t *g;
  char p[32];
  if (!json_is_object(groups) || json_object_size(groups) == 0) return;
  int w = name_width(groups, col_name);
  al_out(c, "\n%s\n  %-*s %6s %6s %6s %6s  %9s%s\n", title, w, col_name, "cases", "pass", "fail",
         "error", "pass rate", with_gate ? "  gate" : "");
  json_object_foreach((json_t *)groups, k, g) {
    al_out(c, "  ");
    name_cell(c, k, w);
    al_out(c, " %6lld %6lld %6lld %6lld  %9s", al_jint(g, "cases", 0), al_jint(g, "pass", 0),
           al_jint(g, "fail", 0), al_jint(g, "error", 0),
           al_pct(p, sizeof p, json_object_get(g, "pass_rate")));
    const char *gate = al_jstr(g, "gate", NULL);
    if (gate) {
      al_out(c, "  ");
      col(c, gate_color(gate));
      al_out_escs(c, AL_ESC_TERM, gate);
      reset(c);
      al_out(c, " (");
      al_out_escs(c, AL_ESC_TERM, al_jstr(g, "reason", ""));
      al_out(c, ")");
    }
    al_out(c, "\n");
  }
}

/* Probe results (meta.owasp and meta.family, set by src/probes) grouped by OWASP entry and
 * family, sorted, in the same table shape. Nothing when no case came from a probe. */
static int cmp_key(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void probe_table(al_rctx *c) {
  json_t *groups = json_object(), *sorted = json_object();
  const char **keys = NULL;
  size_t i, n = 0;
  if (!groups || !sorted) goto out;
  for (const json_t *cs = al_rc_first(c, AL_CASES_FAMILY); cs; cs = al_rc_next(c)) {
    const json_t *m = json_object_get(cs, "meta");
    const char *fam = al_jstr(m, "family", NULL), *ow = al_jstr(m, "owasp", "-");
    if (!fam) continue;
    char key[160];
    snprintf(key, sizeof key, "%s %s", ow, fam);
    json_t *g = json_object_get(groups, key);
    if (!g) {
      g = json_pack("{s:I, s:I, s:I, s:I}", "cases", (json_int_t)0, "pass", (json_int_t)0, "fail", (json_int_t)0,
                    "error", (json_int_t)0);
      if (!g || json_object_set_new(groups, key, g)) goto out;
    }
    const char *v = al_jstr(cs, "verdict", "error");
    const char *slot = !strcmp(v, "pass") ? "pass" : !strcmp(v, "fail") ? "fail" : "error";
    json_object_set_new(g, "cases", json_integer(al_jint(g, "cases", 0) + 1));
    json_object_set_new(g, slot, json_integer(al_jint(g, slot, 0) + 1));
  }
  if (!json_object_size(groups)) goto out;
  keys = al_calloc(json_object_size(groups), sizeof *keys);
  if (!keys) goto out;
  const char *k;
  json_t *g;
  json_object_foreach(groups, k, g) {
    long long pf = al_jint(g, "pass", 0) + al_jint(g, "fail", 0);
    if (pf) json_object_set_new(g, "pass_rate", json_real((double)al_jint(g, "pass", 0) / (double)pf));
    keys[n++] = k;
  }
  qsort(keys, n, sizeof *keys, cmp_key);
  for (i = 0; i < n; i++) json_object_set(sorted, keys[i], json_object_get(groups, keys[i]));
  table(c, "By OWASP entry / probe family", "owasp family", sorted, 0);
out:
  al_free(keys);
  json_decref(sorted);
  json_decref(groups);
}

static void case_head(al_rctx *c, const json_t *cs, const char *tag, const char *color) {
  const char *file;
  long line;
  al_case_location(c->run, cs, &file, &line);
  al_out(c, "  ");
  col(c, color);
  al_out(c, "%s", tag);
  reset(c);
  al_out(c, " ");
  al_out_escs(c, AL_ESC_TERM, al_jstr(cs, "category", "uncategorized"));
  al_out(c, "/");
  al_out_escs(c, AL_ESC_TERM, al_jstr(cs, "severity", "unspecified"));
  al_out(c, " \"");
  al_out_escs(c, AL_ESC_TERM, al_jstr(cs, "name", ""));
  const char *id = al_jstr(cs, "case_id", "?");
  al_out(c, "\" [case ");
  al_out_esc(c, AL_ESC_TERM, id, al_utf8_prefix(id, strlen(id), 12));
  al_out(c, "]");
  if (*file) {
    al_out(c, " ");
    al_out_escs(c, AL_ESC_TERM, file);
    if (line) al_out(c, ":%ld", line);
  }
  al_out(c, "\n");
}

static void excerpt(al_rctx *c, const json_t *cs) {
  size_t n;
  int more;
  const char *s = al_case_excerpt(cs, AL_REPORT_EXCERPT, &n, &more);
  al_out(c, "      output: \"");
  al_out_esc(c, AL_ESC_TERM, s, n);
  al_out(c, "\"%s\n", more ? " ..." : "");
}

static void failures(al_rctx *c, long n_fail) {
  size_t listed = 0;
  if (n_fail <= 0) return;
  al_out(c, "\nFailures (%ld)\n", n_fail);
  for (const json_t *cs = al_rc_first(c, AL_CASES_FAIL); cs; cs = al_rc_next(c)) {
    if (strcmp(al_jstr(cs, "verdict", ""), "fail") != 0) continue;
    if (listed++ == AL_REPORT_MAX_LISTED) {
      al_out(c, "  ... %ld more (see the json report)\n", n_fail - AL_REPORT_MAX_LISTED);
      break;
    }
    case_head(c, cs, "FAIL", RED);
    size_t j;
    const json_t *a;
    json_array_foreach(json_object_get(cs, "asserts"), j, a) {
      if (al_jtrue(a, "pass")) continue;
      al_out(c, "    - ");
      al_out_escs(c, AL_ESC_TERM, al_jstr(a, "label", al_jstr(a, "type", "assertion")));
      al_out(c, ": ");
      al_out_escs(c, AL_ESC_TERM, al_jstr(a, "message", "failed"));
      al_out(c, "\n");
    }
    excerpt(c, cs);
  }
}

static void errors(al_rctx *c, long n_err) {
  size_t listed = 0;
  const char *k;
  json_t *v;
  if (n_err <= 0) return;
  al_out(c, "\nErrors (%ld)\n", n_err);
  json_object_foreach(json_object_get(c->summary, "errors_by_kind"), k, v) {
    al_out(c, "  ");
    al_out_escs(c, AL_ESC_TERM, k);
    al_out(c, ": %lld\n", json_is_integer(v) ? (long long)json_integer_value(v) : 0);
  }
  for (const json_t *cs = al_rc_first(c, AL_CASES_NOT_PASS); cs; cs = al_rc_next(c)) {
    const char *verdict = al_jstr(cs, "verdict", "");
    if (strcmp(verdict, "pass") == 0 || strcmp(verdict, "fail") == 0) continue;
    if (listed++ == AL_REPORT_MAX_LISTED) {
      al_out(c, "  ... %ld more (see the json report)\n", n_err - AL_REPORT_MAX_LISTED);
      break;
    }
    case_head(c, cs, "ERROR", YELLOW);
    al_out(c, "    ");
    al_out_escs(c, AL_ESC_TERM, al_jstr(cs, "error_kind", "unknown"));
    al_out(c, ": ");
    al_out_escs(c, AL_ESC_TERM, al_jstr(cs, "error_msg", ""));
    al_out(c, "\n");
  }
}

static void latency_row(al_rctx *c, const char *name, const json_t *l) {
  al_out(c, "  %-8s %7lld", name, al_jint(l, "n", 0));
  static const char *const cols[] = {"p50", "p90", "p99", "max"};
  for (int i = 0; i < 4; i++) {
    const json_t *v = json_object_get(l, cols[i]);
    if (json_is_number(v))
      al_out(c, " %10.1f", json_number_value(v));
    else
      al_out(c, " %10s", "-");
  }
  al_out(c, "\n");
}

int al_report_text(al_rctx *c) {
  const json_t *s = c->summary, *tot = json_object_get(s, "totals");
  const char *gate = al_jstr(s, "gate", "unknown");
  char p[32];
  col(c, BOLD);
  al_out(c, "Airlock run ");
  al_out_escs(c, AL_ESC_TERM, al_jstr(c->run, "id", "?"));
  reset(c);
  al_out(c, "\n  suite: ");
  al_out_escs(c, AL_ESC_TERM, al_jstr(c->run, "suite_name", "?"));
  al_out(c, " (");
  al_out_escs(c, AL_ESC_TERM, al_jstr(c->run, "suite_path", ""));
  al_out(c, ")\n  model: ");
  al_out_escs(c, AL_ESC_TERM, al_jstr(c->run, "model", "?"));
  al_out(c, "\n  status: ");
  al_out_escs(c, AL_ESC_TERM, al_jstr(c->run, "status", "?"));
  al_out(c, ", started ");
  al_out_escs(c, AL_ESC_TERM, al_jstr(c->run, "started", "?"));
  al_out(c, "\n\n");
  col(c, gate_color(gate));
  col(c, BOLD);
  al_out(c, "Gate: ");
  al_out_escs(c, AL_ESC_TERM, gate);
  al_out(c, " (exit %lld)", al_jint(s, "exit_code", -1));
  reset(c);
  al_out(c, ": ");
  al_out_escs(c, AL_ESC_TERM, al_jstr(s, "reason", ""));
  al_out(c, "\n  %lld cases: %lld pass, %lld fail, %lld error; pass rate %s\n",
         al_jint(tot, "cases", 0), al_jint(tot, "pass", 0), al_jint(tot, "fail", 0),
         al_jint(tot, "error", 0), al_pct(p, sizeof p, json_object_get(tot, "pass_rate")));
  table(c, "By category", "category", json_object_get(s, "categories"), 1);
  table(c, "By severity", "severity", json_object_get(s, "severities"), 0);
  probe_table(c); /* probes: OWASP entry and family (owner: probes) */
  failures(c, (long)al_jint(tot, "fail", 0));
  errors(c, (long)al_jint(tot, "error", 0));
  const json_t *lat = json_object_get(s, "latency_ms");
  al_out(c, "\nLatency (ms)\n  %-8s %7s %10s %10s %10s %10s\n", "", "n", "p50", "p90", "p99",
         "max");
  latency_row(c, "ttft", json_object_get(lat, "ttft"));
  latency_row(c, "total", json_object_get(lat, "total"));
  latency_row(c, "queued", json_object_get(lat, "queued"));
  al_out(c, "  (queued: time inside Airlock before sending, not part of the model's latency)\n");
  return 0;
}
