/* Unit tests of the gate (src/report/gate.c): verdict counting, pass rates that exclude
 * errors, thresholds per category and severity, the error-rate rule and its precedence,
 * empty and all-error runs, latency percentiles, malformed thresholds. Each case builds a
 * small run document inline: a verdict string per case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "airlock/report.h"

/* "cat:verdict[:kind]" items separated by spaces -> {"cases": [...]} */
static json_t *doc_of(const char *spec) {
  json_t *cases = json_array();
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", spec);
  int i = 0;
  for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    char *cat = tok, *verdict = strchr(tok, ':');
    *verdict++ = '\0';
    char *kind = strchr(verdict, ':');
    if (kind) *kind++ = '\0';
    json_t *c =
        json_pack("{s:s, s:s, s:s, s:i, s:f}", "category", cat, "verdict", verdict, "severity",
                  i % 2 ? "high" : "low", "index", i, "total_ms", 10.0 * (i + 1));
    if (kind) json_object_set_new(c, "error_kind", json_string(kind));
    json_array_append_new(cases, c);
    i++;
  }
  return json_pack("{s:o}", "cases", cases);
}

static json_t *gate(const char *spec, const char *thresholds) {
  json_t *doc = doc_of(spec), *t = thresholds ? json_loads(thresholds, 0, NULL) : NULL, *sum = NULL;
  if (thresholds) assert_non_null(t);
  assert_int_equal(al_gate_compute(doc, t, &sum), 0);
  json_decref(doc);
  json_decref(t);
  return sum;
}

static const char *gs(const json_t *o, const char *path1, const char *path2, const char *key) {
  const json_t *x = json_object_get(json_object_get(o, path1), path2);
  return json_string_value(json_object_get(x, key));
}

static void all_errors_exit_3(void **state) {
  json_t *s = gate("a:error:timeout a:error:timeout b:error:connect", NULL);
  assert_string_equal(json_string_value(json_object_get(s, "gate")), "errors");
  assert_int_equal(json_integer_value(json_object_get(s, "exit_code")), 3);
  assert_string_equal(json_string_value(json_object_get(s, "reason")), "every case errored (3)");
  json_t *k = json_object_get(s, "errors_by_kind");
  assert_int_equal(json_integer_value(json_object_get(k, "timeout")), 2);
  assert_int_equal(json_integer_value(json_object_get(k, "connect")), 1);
  assert_true(json_is_null(json_object_get(json_object_get(s, "totals"), "pass_rate")));
  json_decref(s);
}

static void empty_run_passes(void **state) {
  json_t *doc = json_object(), *s = NULL; /* no "cases" at all */
  assert_int_equal(al_gate_compute(doc, NULL, &s), 0);
  assert_string_equal(json_string_value(json_object_get(s, "gate")), "passed");
  assert_int_equal(json_integer_value(json_object_get(s, "exit_code")), 0);
  assert_string_equal(json_string_value(json_object_get(s, "reason")), "no cases");
  assert_int_equal(json_object_size(json_object_get(s, "categories")), 0);
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(json_object_get(s, "latency_ms"), "ttft"), "n")),
                   0);
  json_decref(s);
  json_decref(doc);
}

static void default_needs_every_pass(void **state) {
  json_t *s = gate("a:pass a:pass a:fail", NULL);
  assert_string_equal(json_string_value(json_object_get(s, "gate")), "failed");
  assert_int_equal(json_integer_value(json_object_get(s, "exit_code")), 1);
  assert_string_equal(gs(s, "categories", "a", "reason"), "pass rate 66.7% below 100.0%");
  assert_true(
      json_real_value(json_object_get(json_object_get(json_object_get(s, "categories"), "a"),
                                      "pass_rate")) == 0.666667);
  json_decref(s);
  s = gate("a:pass a:pass", NULL);
  assert_string_equal(json_string_value(json_object_get(s, "gate")), "passed");
  assert_string_equal(json_string_value(json_object_get(s, "reason")),
                      "2 of 2 judged cases passed");
  json_decref(s);
}

static void per_category_thresholds(void **state) {
  const char *t = "{\"default\": {\"min_pass_rate\": 0.5},"
                  " \"categories\": {\"safety\": {\"min_pass_rate\": 1.0, \"max_failures\": 0},"
                  "                  \"style\": {\"max_failures\": 2}}}";
  json_t *s = gate("safety:pass safety:pass fmt:pass fmt:fail style:fail style:fail style:pass", t);
  assert_string_equal(gs(s, "categories", "safety", "gate"), "passed");
  assert_string_equal(gs(s, "categories", "fmt", "gate"), "passed"); /* 0.5 >= default 0.5 */
  /* style: pass rate 1/3 is below the default 0.5 it inherits; 2 failures are allowed. */
  assert_string_equal(gs(s, "categories", "style", "gate"), "failed");
  assert_string_equal(gs(s, "categories", "style", "reason"), "pass rate 33.3% below 50.0%");
  assert_string_equal(json_string_value(json_object_get(s, "reason")), "failed: category style");
  json_decref(s);

  s = gate("safety:pass safety:fail fmt:pass", t);
  assert_string_equal(gs(s, "categories", "safety", "reason"),
                      "pass rate 50.0% below 100.0%; 1 failures, at most 0 allowed");
  assert_int_equal(json_integer_value(json_object_get(s, "exit_code")), 1);
  json_decref(s);
}

static void severity_thresholds(void **state) {
  /* Odd positions are "high". */
  const char *t =
      "{\"default\": {\"min_pass_rate\": 0.0}, \"severities\": {\"high\": {\"max_failures\": 0}}}";
  json_t *s = gate("a:fail a:pass", t); /* the failure is "low" */
  assert_string_equal(json_string_value(json_object_get(s, "gate")), "passed");
  assert_null(json_object_get(json_object_get(json_object_get(s, "severities"), "low"), "gate"));
  json_decref(s);
  s = gate("a:pass a:fail", t); /* the failure is "high" */
  assert_string_equal(json_string_value(json_object_get(s, "gate")), "failed");
  assert_string_equal(json_string_value(json_object_get(s, "reason")), "failed: severity high");
  /* Severities come ordered critical..info; "high" before "low". */
  const char *first = NULL;
  json_t *v;
  json_object_foreach(json_object_get(s, "severities"), first, v) break;
  assert_string_equal(first, "high");
  json_decref(s);
}

static void errors_excluded_from_pass_rate(void **state) {
  json_t *s = gate("a:pass a:error:parse", "{\"max_error_rate\": 0.5}");
  json_t *a = json_object_get(json_object_get(s, "categories"), "a");
  assert_true(json_real_value(json_object_get(a, "pass_rate")) == 1.0);
  assert_int_equal(json_integer_value(json_object_get(a, "error")), 1);
  assert_string_equal(json_string_value(json_object_get(s, "gate")), "passed");
  json_decref(s);
}

static void error_rate_wins_over_failures(void **state) {
  json_t *s = gate("a:pass a:fail a:error:timeout a:pass a:pass", "{\"max_error_rate\": 0.1}");
  assert_string_equal(json_string_value(json_object_get(s, "gate")), "errors");
  assert_int_equal(json_integer_value(json_object_get(s, "exit_code")), 3);
  assert_string_equal(json_string_value(json_object_get(s, "reason")),
                      "error rate 20.0% above 10.0%");
  json_decref(s);
  /* At exactly the limit the run is judged. */
  s = gate("a:pass a:pass a:pass a:pass a:error:x", "{\"max_error_rate\": 0.2}");
  assert_string_equal(json_string_value(json_object_get(s, "gate")), "passed");
  json_decref(s);
}

static void category_of_only_errors(void **state) {
  const char *spec = "a:pass a:pass a:pass a:pass a:pass a:pass a:pass a:pass a:pass a:pass "
                     "a:pass a:pass a:pass a:pass a:pass a:pass a:pass a:pass a:pass b:error:http";
  json_t *s = gate(spec, NULL); /* error rate 5% is fine, but b cannot be judged */
  assert_string_equal(gs(s, "categories", "b", "gate"), "errors");
  assert_string_equal(gs(s, "categories", "b", "reason"), "all 1 cases errored");
  assert_int_equal(json_integer_value(json_object_get(s, "exit_code")), 3);
  json_decref(s);
}

static void invalid_verdict_is_an_error(void **state) {
  json_t *s = gate("a:pass a:maybe", "{\"max_error_rate\": 0.5}");
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(s, "errors_by_kind"), "invalid_verdict")),
      1);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "totals"), "error")), 1);
  json_decref(s);
}

static void percentiles_nearest_rank(void **state) {
  json_t *cases = json_array();
  for (int i = 1; i <= 100; i++)
    json_array_append_new(cases, json_pack("{s:s, s:s, s:f, s:f, s:f}", "category", "a", "verdict",
                                           "pass", "total_ms", (double)i, "ttft_ms", i / 10.0,
                                           "queued_ms", 1000.0));
  json_array_append_new(cases,
                        json_pack("{s:s, s:s, s:s, s:f, s:n}", "category", "a", "verdict", "error",
                                  "error_kind", "timeout", "total_ms", 99999.0, "ttft_ms"));
  json_t *doc = json_pack("{s:o}", "cases", cases), *s = NULL;
  assert_int_equal(al_gate_compute(doc, NULL, &s), 0);
  json_t *lat = json_object_get(s, "latency_ms"), *tot = json_object_get(lat, "total");
  assert_int_equal(json_integer_value(json_object_get(tot, "n")), 100); /* error excluded */
  assert_true(json_real_value(json_object_get(tot, "p50")) == 50.0);
  assert_true(json_real_value(json_object_get(tot, "p90")) == 90.0);
  assert_true(json_real_value(json_object_get(tot, "p99")) == 99.0);
  assert_true(json_real_value(json_object_get(tot, "max")) == 100.0);
  assert_true(json_real_value(json_object_get(json_object_get(lat, "ttft"), "p50")) == 5.0);
  /* Queued time is its own series and never added to the model's latency. */
  json_t *q = json_object_get(lat, "queued");
  assert_int_equal(json_integer_value(json_object_get(q, "n")), 100);
  assert_true(json_real_value(json_object_get(q, "p99")) == 1000.0);
  json_decref(s);
  json_decref(doc);
}

static void malformed_thresholds(void **state) {
  static const char *const bad[] = {
      "{\"default\": {\"min_pass_rate\": 1.5}}",
      "{\"default\": {\"min_pass_rate\": \"high\"}}",
      "{\"categories\": {\"safety\": {\"max_failures\": -1}}}",
      "{\"categories\": {\"safety\": {\"min_passrate\": 1}}}",
      "{\"max_error_rate\": 2}",
      "{\"thresholds\": {}}",
      "[1, 2]",
  };
  json_t *doc = doc_of("a:pass");
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *t = json_loads(bad[i], 0, NULL), *s = NULL;
    assert_non_null(t);
    assert_int_equal(al_gate_compute(doc, t, &s), AL_EINVAL);
    assert_null(s);
    json_decref(t);
  }
  json_decref(doc);
}

/* A failing category whose name does not fit in the reason still fails the gate. */
static void long_names_still_fail(void **state) {
  char name[10001];
  memset(name, 'x', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  json_t *cases = json_array();
  for (int i = 0; i < 30; i++) {
    name[0] = (char)('a' + i % 26);
    name[1] = (char)('a' + i / 26);
    json_array_append_new(cases, json_pack("{s:s, s:s}", "category", name, "verdict", "fail"));
  }
  json_t *doc = json_pack("{s:o}", "cases", cases), *s = NULL;
  assert_int_equal(al_gate_compute(doc, NULL, &s), 0);
  assert_string_equal(json_string_value(json_object_get(s, "gate")), "failed");
  assert_int_equal(json_integer_value(json_object_get(s, "exit_code")), 1);
  assert_true(strlen(json_string_value(json_object_get(s, "reason"))) < 8192);
  json_decref(s);
  json_decref(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(all_errors_exit_3),
      cmocka_unit_test(empty_run_passes),
      cmocka_unit_test(default_needs_every_pass),
      cmocka_unit_test(per_category_thresholds),
      cmocka_unit_test(severity_thresholds),
      cmocka_unit_test(errors_excluded_from_pass_rate),
      cmocka_unit_test(error_rate_wins_over_failures),
      cmocka_unit_test(category_of_only_errors),
      cmocka_unit_test(invalid_verdict_is_an_error),
      cmocka_unit_test(percentiles_nearest_rank),
      cmocka_unit_test(malformed_thresholds),
      cmocka_unit_test(long_names_still_fail),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
