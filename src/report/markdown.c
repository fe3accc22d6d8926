/* Markdown report (for pull-request comments and job summaries): gate line, run facts,
 * tables by category and severity, failures with evidence, errors by kind, latency.
 *
 * Untrusted text goes through al_esc_md, which also neutralises HTML (GitHub renders some
 * inline HTML) and table pipes; output excerpts are quoted as escaped block quotes, one
 * line, so nothing a model wrote can open a code block, a link or an image.
 */
#include <string.h>

#include "report/report_int.h"

static void md(al_rctx *c, const char *s) { al_out_escs(c, AL_ESC_MD, s); }

static void table(al_rctx *c, const char *title, const char *col, const json_t *groups) {
  const char *k;
  json_t *g;
  char p[32];
  int gate = 0;
  if (!json_is_object(groups) || json_object_size(groups) == 0) return;
  json_object_foreach((json_t *)groups, k, g) gate |= al_jstr(g, "gate", NULL) != NULL;
  al_out(c, "\n## %s\n\n| %s | Cases | Pass | Fail | Error | Pass rate |%s\n", title, col,
         gate ? " Gate |" : "");
  al_out(c, "|---|--:|--:|--:|--:|--:|%s\n", gate ? "---|" : "");
  json_object_foreach((json_t *)groups, k, g) {
    al_out(c, "| ");
    md(c, k);
    al_out(c, " | %lld | %lld | %lld | %lld | %s |", al_jint(g, "cases", 0), al_jint(g, "pass", 0),
           al_jint(g, "fail", 0), al_jint(g, "error", 0),
           al_pct(p, sizeof p, json_object_get(g, "pass_rate")));
    if (gate) {
      const char *v = al_jstr(g, "gate", NULL);
      if (v) {
        al_out(c, " %s", strcmp(v, "passed") == 0 ? "✅ " : "❌ ");
        md(c, v);
        al_out(c, ": ");
        md(c, al_jstr(g, "reason", ""));
      }
      al_out(c, " |");
    }
    al_out(c, "\n");
  }
}

static void case_line(al_rctx *c, const json_t *cs, size_t n) {
  const char *file;
  long line;
  al_case_location(c->run, cs, &file, &line);
  al_out(c, "\n### %zu. ", n);
  md(c, al_jstr(cs, "name", ""));
  al_out(c, "\n\n- Category: ");
  md(c, al_jstr(cs, "category", "uncategorized"));
  al_out(c, ", severity: ");
  md(c, al_jstr(cs, "severity", "unspecified"));
  al_out(c, ", case ");
  md(c, al_jstr(cs, "case_id", "?"));
  if (*file) {
    al_out(c, "\n- Location: ");
    md(c, file);
    if (line) al_out(c, ":%ld", line);
  }
  al_out(c, "\n");
}

static void failures(al_rctx *c, long n_fail) {
  size_t n = 0;
  if (n_fail <= 0) return;
  al_out(c, "\n## Failures (%ld)\n", n_fail);
  for (const json_t *cs = al_rc_first(c, AL_CASES_FAIL); cs; cs = al_rc_next(c)) {
    if (strcmp(al_jstr(cs, "verdict", ""), "fail") != 0) continue;
    if (n == AL_REPORT_MAX_LISTED) {
      al_out(c, "\n%ld more failures: see the json report.\n", n_fail - (long)n);
      break;
    }
    case_line(c, cs, ++n);
    size_t j;
    const json_t *a;
    json_array_foreach(json_object_get(cs, "asserts"), j, a) {
      if (al_jtrue(a, "pass")) continue;
      al_out(c, "- **");
      md(c, al_jstr(a, "label", al_jstr(a, "type", "assertion")));
      al_out(c, "**: ");
      md(c, al_jstr(a, "message", "failed"));
      al_out(c, "\n");
    }
    size_t len;
    int more;
    const char *out = al_case_excerpt(cs, AL_REPORT_EXCERPT, &len, &more);
    al_out(c, "\nOutput:\n\n> ");
    al_out_esc(c, AL_ESC_MD, out, len);
    al_out(c, "%s\n", more ? " …" : "");
  }
}

static void errors(al_rctx *c, long n_err) {
  const char *k;
  json_t *v;
  size_t n = 0;
  if (n_err <= 0) return;
  al_out(c, "\n## Errors (%ld)\n\n| Kind | Cases |\n|---|--:|\n", n_err);
  json_object_foreach(json_object_get(c->summary, "errors_by_kind"), k, v) {
    al_out(c, "| ");
    md(c, k);
    al_out(c, " | %lld |\n", json_is_integer(v) ? (long long)json_integer_value(v) : 0);
  }
  al_out(c, "\n");
  for (const json_t *cs = al_rc_first(c, AL_CASES_NOT_PASS); cs; cs = al_rc_next(c)) {
    const char *verdict = al_jstr(cs, "verdict", "");
    if (strcmp(verdict, "pass") == 0 || strcmp(verdict, "fail") == 0) continue;
    if (n++ == AL_REPORT_MAX_LISTED) {
      al_out(c, "- %ld more errors: see the json report.\n", n_err - AL_REPORT_MAX_LISTED);
      break;
    }
    al_out(c, "- ");
    md(c, al_jstr(cs, "name", ""));
    al_out(c, " (");
    md(c, al_jstr(cs, "category", "uncategorized"));
    al_out(c, "): ");
    md(c, al_jstr(cs, "error_kind", "unknown"));
    al_out(c, ": ");
    md(c, al_jstr(cs, "error_msg", ""));
    al_out(c, "\n");
  }
}

static void latency_row(al_rctx *c, const char *name, const json_t *l) {
  al_out(c, "| %s | %lld |", name, al_jint(l, "n", 0));
  static const char *const cols[] = {"p50", "p90", "p99", "max"};
  for (int i = 0; i < 4; i++) {
    const json_t *v = json_object_get(l, cols[i]);
    if (json_is_number(v))
      al_out(c, " %.1f |", json_number_value(v));
    else
      al_out(c, " - |");
  }
  al_out(c, "\n");
}

int al_report_markdown(al_rctx *c) {
  const json_t *s = c->summary, *tot = json_object_get(s, "totals");
  const char *gate = al_jstr(s, "gate", "unknown");
  char p[32];
  al_out(c, "# Airlock run ");
  md(c, al_jstr(c->run, "id", "?"));
  al_out(c, "\n\n**Gate: ");
  md(c, gate);
  al_out(c, "** (exit %lld): ", al_jint(s, "exit_code", -1));
  md(c, al_jstr(s, "reason", ""));
  al_out(c, "\n\n| Suite | Model | Status | Started | Cases | Pass | Fail | Error | Pass rate |\n"
            "|---|---|---|---|--:|--:|--:|--:|--:|\n| ");
  md(c, al_jstr(c->run, "suite_name", "?"));
  al_out(c, " (");
  md(c, al_jstr(c->run, "suite_path", ""));
  al_out(c, ") | ");
  md(c, al_jstr(c->run, "model", "?"));
  al_out(c, " | ");
  md(c, al_jstr(c->run, "status", "?"));
  al_out(c, " | ");
  md(c, al_jstr(c->run, "started", "?"));
  al_out(c, " | %lld | %lld | %lld | %lld | %s |\n", al_jint(tot, "cases", 0),
         al_jint(tot, "pass", 0), al_jint(tot, "fail", 0), al_jint(tot, "error", 0),
         al_pct(p, sizeof p, json_object_get(tot, "pass_rate")));
  table(c, "By category", "Category", json_object_get(s, "categories"));
  table(c, "By severity", "Severity", json_object_get(s, "severities"));
  failures(c, (long)al_jint(tot, "fail", 0));
  errors(c, (long)al_jint(tot, "error", 0));
  const json_t *lat = json_object_get(s, "latency_ms");
  al_out(c, "\n## Latency (ms)\n\n| | n | p50 | p90 | p99 | max |\n|---|--:|--:|--:|--:|--:|\n");
  latency_row(c, "ttft", json_object_get(lat, "ttft"));
  latency_row(c, "total", json_object_get(lat, "total"));
  latency_row(c, "queued", json_object_get(lat, "queued"));
  al_out(c, "\nQueued is time inside Airlock before sending; it is not part of the model's "
            "latency.\n");
  return 0;
}
