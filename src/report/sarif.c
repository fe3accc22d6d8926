/* SARIF 2.1.0: the failing cases of a run as static-analysis results, so code hosts show
 * them next to the suite file that defines each case.
 *
 * One rule per probe family (meta.family, meta.probe_family or meta.probe) or, for cases
 * without one, per category. One result per failing case: level from severity (critical
 * and high -> error, medium -> warning, else note), the location from meta.location
 * {file, line} (the suite path when absent), and a message holding the evidence: the
 * failing assertions and an excerpt of the output. partialFingerprints carry the case id,
 * which is stable across runs of the same suite content, so a host can track a finding.
 * The document is built with jansson; URIs are percent-encoded here.
 */
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "report/report_int.h"

static const char *rule_of(const json_t *cs) {
  const json_t *meta = json_object_get(cs, "meta");
  static const char *const keys[] = {"family", "probe_family", "probe"};
  for (int i = 0; i < 3; i++) {
    const char *v = al_jstr(meta, keys[i], NULL);
    if (v && *v) return v;
  }
  const char *cat = al_jstr(cs, "category", "");
  return *cat ? cat : "uncategorized";
}

static const char *level_of(const char *sev) {
  if (strcmp(sev, "critical") == 0 || strcmp(sev, "high") == 0) return "error";
  if (strcmp(sev, "medium") == 0) return "warning";
  return "note";
}

/* RFC 3986 percent-encoding of a relative path (unreserved characters and '/' kept). */
static json_t *uri(const char *path) {
  al_buf b;
  al_buf_init(&b, strlen(path) * 3 + 1);
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-._~/", *p))
      al_buf_putc(&b, (char)*p);
    else
      al_buf_printf(&b, "%%%02X", *p);
  }
  json_t *v = json_string(b.data ? b.data : "");
  al_buf_cleanup(&b);
  return v;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Plain text for the message, escaped like terminal text (a SARIF viewer may be one):
 * newlines separate our own lines only. */
static void put_esc(al_buf *b, const char *s, size_t n) { al_esc_term(b, s, n); }
static void put_escs(al_buf *b, const char *s) { put_esc(b, s, strlen(s)); }

static json_t *message(const json_t *cs) {
  al_buf b;
  size_t j, n;
  int more;
  const json_t *a;
  al_buf_init(&b, 1u << 20);
  put_escs(&b, al_jstr(cs, "name", al_jstr(cs, "case_id", "")));
  al_buf_puts(&b, " failed.");
  json_array_foreach(json_object_get(cs, "asserts"), j, a) {
    if (al_jtrue(a, "pass")) continue;
    al_buf_puts(&b, "\n- ");
    put_escs(&b, al_jstr(a, "label", al_jstr(a, "type", "assertion")));
    al_buf_puts(&b, ": ");
    put_escs(&b, al_jstr(a, "message", "failed"));
  }
  const char *out = al_case_excerpt(cs, AL_REPORT_EXCERPT, &n, &more);
  al_buf_puts(&b, "\nOutput: ");
  put_esc(&b, out, n);
  if (more) al_buf_puts(&b, " ...");
  json_t *v = json_pack("{s:o}", "text", al_json_text(b.data ? b.data : "", b.len));
  al_buf_cleanup(&b);
  return v;
}

static json_t *location(const al_rctx *c, const json_t *cs) {
  const char *file;
  long line;
  al_case_location(c->run, cs, &file, &line);
  if (!*file) return json_array();
  json_t *phys = json_pack("{s:{s:o}}", "artifactLocation", "uri", uri(file));
  if (phys && line > 0)
    json_object_set_new(phys, "region", json_pack("{s:I}", "startLine", (json_int_t)line));
  return json_pack("[{s:o}]", "physicalLocation", phys);
}

static json_t *properties(const json_t *cs) {
  json_t *p = json_pack("{s:s, s:s, s:s}", "category", al_jstr(cs, "category", ""), "severity",
                        al_jstr(cs, "severity", ""), "case_id", al_jstr(cs, "case_id", ""));
  const json_t *tags = json_object_get(cs, "tags");
  if (p && json_is_array(tags)) json_object_set(p, "tags", (json_t *)tags);
  return p;
}

int al_report_sarif(al_rctx *c) {
  int rc = 0;
  json_t *rules = json_array(), *results = json_array(), *index = json_object(), *doc = NULL;
  char *text = NULL;
  size_t i;
  if (!rules || !results || !index) goto nomem;
  /* Rules first, sorted by id, so ruleIndex is stable for a given suite. */
  for (const json_t *cs = al_rc_first(c, AL_CASES_FAIL); cs; cs = al_rc_next(c)) {
    if (strcmp(al_jstr(cs, "verdict", ""), "fail") == 0 &&
        json_object_set_new(index, rule_of(cs), json_null()))
      goto nomem;
  }
  const char **ids = al_calloc(json_object_size(index) + 1, sizeof *ids);
  size_t nids = 0;
  const char *k;
  json_t *v;
  if (!ids) goto nomem;
  json_object_foreach(index, k, v) ids[nids++] = k;
  qsort(ids, nids, sizeof *ids, cmp_str);
  for (i = 0; i < nids; i++) {
    json_t *r = json_pack("{s:s, s:s, s:{s:s}}", "id", ids[i], "name", ids[i], "shortDescription",
                          "text", ids[i]);
    if (!r || json_array_append_new(rules, r) ||
        json_object_set_new(index, ids[i], json_integer((json_int_t)i))) {
      al_free(ids);
      goto nomem;
    }
  }
  al_free(ids);
  for (const json_t *cs = al_rc_first(c, AL_CASES_FAIL); cs; cs = al_rc_next(c)) {
    if (strcmp(al_jstr(cs, "verdict", ""), "fail") != 0) continue;
    const char *rule = rule_of(cs);
    json_t *r =
        json_pack("{s:s, s:O, s:s, s:o, s:o, s:{s:s}, s:o}", "ruleId", rule, "ruleIndex",
                  json_object_get(index, rule), "level", level_of(al_jstr(cs, "severity", "")),
                  "message", message(cs), "locations", location(c, cs), "partialFingerprints",
                  "airlockCase/v1", al_jstr(cs, "case_id", ""), "properties", properties(cs));
    if (!r || json_array_append_new(results, r)) goto nomem;
  }
  const json_t *sum = c->summary;
  doc = json_pack(
      "{s:s, s:s, s:[{s:{s:{s:s, s:s, s:O}}, s:{s:s}, s:[{s:b, s:I}], s:O, s:{s:s, s:s, s:O}}]}",
      "$schema", "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs",
      "tool", "driver", "name", "airlock", "version", al_jstr(c->run, "airlock_version", "0"),
      "rules", rules, "automationDetails", "id", al_jstr(c->run, "id", ""), "invocations",
      "executionSuccessful", strcmp(al_jstr(c->run, "status", "completed"), "interrupted") != 0,
      "exitCode", (json_int_t)al_jint(sum, "exit_code", 0), "results", results, "properties",
      "gate", al_jstr(sum, "gate", ""), "suite", al_jstr(c->run, "suite_name", ""), "totals",
      json_object_get(sum, "totals") ? json_object_get(sum, "totals") : json_null());
  if (!doc || !(text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15)))) goto nomem;
  al_out(c, "%s\n", text);
  goto out;
nomem:
  rc = al_error_set(c->err, AL_ENOMEM, "cannot build the SARIF document");
out:
  free(text);
  json_decref(doc);
  json_decref(rules);
  json_decref(results);
  json_decref(index);
  return rc;
}
