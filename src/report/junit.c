/* JUnit XML: one <testsuite> per category (sorted by name), one <testcase> per case in
 * suite order. A failing case carries <failure> with its failing assertions and an output
 * excerpt, an errored case <error> with its kind and message. Times are seconds with
 * millisecond precision (total latency of the case). CI systems (GitLab, Jenkins, GitHub
 * actions) read this shape.
 *
 * Every string goes through al_esc_xml (attributes with attr=1), the one place that knows
 * XML escaping.
 */
#include <string.h>

#include "airlock/util.h"
#include "report/report_int.h"

static double seconds(const json_t *cs) {
  double ms = al_jnum(cs, "total_ms", 0);
  return ms > 0 ? ms / 1000.0 : 0.0;
}

static int is_pass(const json_t *cs) { return strcmp(al_jstr(cs, "verdict", ""), "pass") == 0; }
static int is_fail(const json_t *cs) { return strcmp(al_jstr(cs, "verdict", ""), "fail") == 0; }

static void attr(al_rctx *c, const char *name, const char *value) {
  al_out(c, " %s=\"", name);
  al_out_escs(c, AL_ESC_XML_ATTR, value);
  al_out(c, "\"");
}

/* The failing assertions, one "label: message" per line. */
static void failing_asserts(al_rctx *c, const json_t *cs, int kind, int first_only) {
  size_t j;
  const json_t *a;
  int n = 0;
  json_array_foreach(json_object_get(cs, "asserts"), j, a) {
    if (al_jtrue(a, "pass")) continue;
    if (n++) {
      if (first_only) return;
      al_out(c, kind == AL_ESC_XML_ATTR ? "&#10;" : "\n");
    }
    al_out_escs(c, kind, al_jstr(a, "label", al_jstr(a, "type", "assertion")));
    al_out(c, ": ");
    al_out_escs(c, kind, al_jstr(a, "message", "failed"));
  }
  if (!n && first_only) al_out(c, "case failed");
}

static void testcase(al_rctx *c, const json_t *cs, const char *category) {
  const char *file;
  long line;
  al_case_location(c->run, cs, &file, &line);
  al_out(c, "    <testcase");
  attr(c, "name", al_jstr(cs, "name", al_jstr(cs, "case_id", "")));
  al_out(c, " classname=\"airlock.");
  al_out_escs(c, AL_ESC_XML_ATTR, category);
  al_out(c, "\" time=\"%.3f\"", seconds(cs));
  if (*file) attr(c, "file", file);
  if (line) al_out(c, " line=\"%ld\"", line);
  if (is_pass(cs)) {
    al_out(c, "/>\n");
    return;
  }
  al_out(c, ">\n");
  if (is_fail(cs)) {
    size_t n;
    int more;
    const char *out = al_case_excerpt(cs, AL_REPORT_EXCERPT, &n, &more);
    al_out(c, "      <failure message=\"");
    failing_asserts(c, cs, AL_ESC_XML_ATTR, 1);
    al_out(c, "\" type=\"");
    al_out_escs(c, AL_ESC_XML_ATTR, al_jstr(cs, "severity", "unspecified"));
    al_out(c, "\">");
    failing_asserts(c, cs, AL_ESC_XML_TEXT, 0);
    al_out(c, "\noutput: ");
    al_out_esc(c, AL_ESC_XML_TEXT, out, n);
    al_out(c, "%s</failure>\n", more ? " ..." : "");
  } else {
    al_out(c, "      <error message=\"");
    al_out_escs(c, AL_ESC_XML_ATTR, al_jstr(cs, "error_msg", ""));
    al_out(c, "\" type=\"");
    al_out_escs(c, AL_ESC_XML_ATTR, al_jstr(cs, "error_kind", "unknown"));
    al_out(c, "\">");
    al_out_escs(c, AL_ESC_XML_TEXT, al_jstr(cs, "error_kind", "unknown"));
    al_out(c, ": ");
    al_out_escs(c, AL_ESC_XML_TEXT, al_jstr(cs, "error_msg", ""));
    al_out(c, "</error>\n");
  }
  al_out(c, "    </testcase>\n");
}

/* One category's counts, gathered in a first pass over the cases. */
typedef struct jgroup {
  const char *name; /* key in the index object */
  long n, f, e;
  double t;
} jgroup;

static const char *category_of(const json_t *cs) {
  const char *name = al_jstr(cs, "category", "");
  return *name ? name : "uncategorized";
}

static void suite_open(al_rctx *c, const jgroup *g) {
  al_out(c, "  <testsuite");
  attr(c, "name", g->name);
  al_out(c, " tests=\"%zu\" failures=\"%ld\" errors=\"%ld\" skipped=\"0\" time=\"%.3f\"",
         (size_t)g->n, g->f, g->e, g->t);
  const char *ts = al_jstr(c->run, "started", NULL);
  if (ts) attr(c, "timestamp", ts);
  al_out(c, ">\n    <properties>\n      <property name=\"run_id\"");
  attr(c, "value", al_jstr(c->run, "id", ""));
  al_out(c, "/>\n      <property name=\"model\"");
  attr(c, "value", al_jstr(c->run, "model", ""));
  al_out(c, "/>\n    </properties>\n");
}

/* Two passes: totals and per-category counts in case order, then the cases by category
 * (al_rc_first's AL_CASES_BY_CATEGORY), so only the current case is held. */
int al_report_junit(al_rctx *c) {
  int rc = 0;
  long tests = 0, fails = 0, errs = 0;
  double time = 0;
  json_t *index = json_object();
  jgroup *g = NULL;
  size_t ng = 0, cap = 0;
  if (!index) goto nomem;
  for (const json_t *cs = al_rc_first(c, AL_CASES_ALL); cs; cs = al_rc_next(c)) {
    const char *name = category_of(cs);
    json_t *pos = json_object_get(index, name);
    jgroup *e;
    if (pos) {
      e = &g[json_integer_value(pos)];
    } else {
      if (ng == cap) {
        size_t ncap = cap ? cap * 2 : 8;
        jgroup *p = al_realloc(g, ncap * sizeof *p);
        if (!p) goto nomem;
        g = p;
        cap = ncap;
      }
      if (json_object_set_new(index, name, json_integer((json_int_t)ng))) goto nomem;
      e = &g[ng++];
      *e = (jgroup){.name = json_object_iter_key(json_object_iter_at(index, name))};
    }
    double sec = seconds(cs);
    tests++;
    time += sec;
    e->n++;
    e->t += sec;
    if (is_fail(cs))
      fails++, e->f++;
    else if (!is_pass(cs))
      errs++, e->e++;
  }
  al_out(c, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"airlock ");
  al_out_escs(c, AL_ESC_XML_ATTR, al_jstr(c->run, "suite_name", "suite"));
  al_out(c, "\" tests=\"%ld\" failures=\"%ld\" errors=\"%ld\" time=\"%.3f\">\n", tests, fails, errs,
         time);
  const jgroup *open = NULL;
  for (const json_t *cs = al_rc_first(c, AL_CASES_BY_CATEGORY); cs; cs = al_rc_next(c)) {
    const char *name = category_of(cs);
    if (!open || strcmp(open->name, name) != 0) {
      json_t *pos = json_object_get(index, name);
      if (!pos) continue; /* not seen in the first pass: the run changed under us */
      if (open) al_out(c, "  </testsuite>\n");
      open = &g[json_integer_value(pos)];
      suite_open(c, open);
    }
    testcase(c, cs, open->name);
  }
  if (open) al_out(c, "  </testsuite>\n");
  al_out(c, "</testsuites>\n");
  goto out;
nomem:
  rc = al_error_set(c->err, AL_ENOMEM, "out of memory");
out:
  al_free(g);
  json_decref(index);
  return rc;
}
