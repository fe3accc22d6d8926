/* Unit tests of the assertions: one line per "assertion + output -> verdict" (YARA's test
 * shape), plus the evidence in failure messages, latency and token limits, the command
 * assertion's protocol, and compile errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "airlock/assert.h"
#include "airlock/util.h"

/* Compile `spec` (JSON text), evaluate on `output`; return pass (1/0) or -1 if it could not run. */
static int verdict_r(const char *spec, const char *output, const al_case_result *res, char *msg, size_t n) {
  json_error_t je;
  json_t *node = json_loads(spec, 0, &je);
  assert_non_null(node);
  al_assert *a = NULL;
  al_error e = {0};
  json_t *vars = json_pack("{s:s}", "who", "Ada");
  int rc = al_assert_compile_json(node, vars, ".", "test", &a, &e);
  json_decref(node);
  json_decref(vars);
  if (rc) {
    if (msg) snprintf(msg, n, "%s", e.msg);
    return -2;
  }
  al_assert_input in = {output, strlen(output), res, NULL, NULL};
  al_assert_result r;
  rc = al_assert_eval(a, &in, &r);
  if (msg) snprintf(msg, n, "%s", r.message ? r.message : "");
  int v = rc < 0 ? -1 : r.pass;
  al_free(r.type);
  al_free(r.label);
  al_free(r.message);
  al_assert_free(a);
  return v;
}

static int verdict(const char *spec, const char *output) { return verdict_r(spec, output, NULL, NULL, 0); }

static void string_checks(void **st) {
  assert_int_equal(verdict("{\"equals\": \"abc\"}", "abc"), 1);
  assert_int_equal(verdict("{\"equals\": \"abc\"}", "abcd"), 0);
  assert_int_equal(verdict("{\"contains\": \"Ada\"}", "hello Ada!"), 1);
  assert_int_equal(verdict("{\"contains\": \"{{who}}\"}", "hello Ada!"), 1);
  assert_int_equal(verdict("{\"contains\": \"ada\"}", "hello Ada!"), 0);
  assert_int_equal(verdict("{\"icontains\": \"ada\"}", "hello Ada!"), 1);
  assert_int_equal(verdict("{\"not-contains\": \"secret\"}", "nothing here"), 1);
  assert_int_equal(verdict("{\"not-contains\": \"secret\"}", "the secret is"), 0);
  assert_int_equal(verdict("{\"not-icontains\": \"SECRET\"}", "the secret is"), 0);
  assert_int_equal(verdict("{\"starts-with\": \"Sure\"}", "Sure, here"), 1);
  assert_int_equal(verdict("{\"starts-with\": \"Sure\"}", " Sure"), 0);
  assert_int_equal(verdict("{\"type\": \"contains\", \"value\": 42}", "the 42nd"), 1);
  assert_int_equal(verdict("{\"max-length\": 5}", "h\xc3\xa9llo"), 1); /* 5 code points */
  assert_int_equal(verdict("{\"max-length\": 4}", "h\xc3\xa9llo"), 0);
}

static void regex_checks(void **st) {
  char msg[512];
  assert_int_equal(verdict("{\"regex\": \"^\\\\d{3}-\\\\d{4}$\"}", "555-0142"), 1);
  assert_int_equal(verdict("{\"regex\": \"(?i)refuse\"}", "I REFUSE"), 1);
  assert_int_equal(verdict("{\"not-regex\": \"\\\\b4111\\\\d{12}\\\\b\"}", "card 4111111111111111 ok"), 0);
  assert_int_equal(verdict_r("{\"not-regex\": \"\\\\b4111\\\\d{12}\\\\b\"}", "card 4111111111111111 ok", NULL, msg, sizeof msg), 0);
  assert_non_null(strstr(msg, "4111111111111111"));
  assert_non_null(strstr(msg, "offset 5"));
  assert_int_equal(verdict("{\"regex\": \"\\\\p{Greek}+\"}", "\xce\xb1\xce\xb2"), 1);
  assert_int_equal(verdict_r("{\"regex\": \"(\"}", "", NULL, msg, sizeof msg), -2);
  assert_non_null(strstr(msg, "bad regex"));
}

static void json_checks(void **st) {
  char msg[512];
  assert_int_equal(verdict("{\"is-json\": true}", "{\"a\": 1}"), 1);
  assert_int_equal(verdict("{\"is-json\": true}", "[1, 2]"), 1);
  assert_int_equal(verdict_r("{\"is-json\": true}", "{\"a\": 1,}", NULL, msg, sizeof msg), 0);
  assert_non_null(strstr(msg, "not JSON"));
  assert_int_equal(verdict("{\"is-json\": true}", "Sure! {\"a\": 1}"), 0);
  const char *schema = "{\"json-schema\": {\"type\": \"object\", \"required\": [\"a\"], "
                       "\"properties\": {\"a\": {\"type\": \"integer\", \"minimum\": 0}}}}";
  assert_int_equal(verdict(schema, "{\"a\": 3}"), 1);
  assert_int_equal(verdict_r(schema, "{\"a\": -3}", NULL, msg, sizeof msg), 0);
  assert_non_null(strstr(msg, "/a"));
  assert_int_equal(verdict(schema, "{\"b\": 3}"), 0);
  assert_int_equal(verdict(schema, "not json"), 0);
}

static void timing_and_tokens(void **st) {
  al_case_result r = {0};
  r.ttft_ns = 30 * 1000000LL;
  r.total_ns = 120 * 1000000LL;
  r.completion_tokens = 12;
  char msg[256];
  assert_int_equal(verdict_r("{\"latency\": {\"ttft_ms\": 50, \"total_ms\": 200}}", "", &r, msg, sizeof msg), 1);
  assert_int_equal(verdict_r("{\"latency\": {\"total_ms\": 100}}", "", &r, msg, sizeof msg), 0);
  assert_non_null(strstr(msg, "120.0 ms"));
  assert_int_equal(verdict_r("{\"type\": \"latency\", \"ttft_ms\": 10}", "", &r, msg, sizeof msg), 0);
  assert_int_equal(verdict_r("{\"max-tokens\": 12}", "", &r, msg, sizeof msg), 1);
  assert_int_equal(verdict_r("{\"max-tokens\": 11}", "", &r, msg, sizeof msg), 0);
  r.completion_tokens = -1;
  assert_int_equal(verdict_r("{\"max-tokens\": 11}", "", &r, msg, sizeof msg), -1);
}

static void command_protocol(void **st) {
  char msg[512];
  /* the program reads the case as JSON and answers a verdict */
  const char *pass = "{\"command\": \"grep -q '\\\"output\\\":\\\"yes' && echo '{\\\"pass\\\": true, \\\"score\\\": 0.9}' "
                     "|| echo '{\\\"pass\\\": false, \\\"reason\\\": \\\"said no\\\"}'\"}";
  assert_int_equal(verdict_r(pass, "yes indeed", NULL, msg, sizeof msg), 1);
  assert_int_equal(verdict_r(pass, "no", NULL, msg, sizeof msg), 0);
  assert_string_equal(msg, "said no");
  assert_int_equal(verdict_r("{\"command\": [\"/bin/false\"]}", "x", NULL, msg, sizeof msg), -1);
  assert_non_null(strstr(msg, "no verdict"));
  assert_int_equal(verdict_r("{\"command\": \"echo not-json\"}", "x", NULL, msg, sizeof msg), -1);
}

static void compile_errors(void **st) {
  char msg[512];
  assert_int_equal(verdict_r("{\"nope\": 1}", "", NULL, msg, sizeof msg), -2);
  assert_non_null(strstr(msg, "unknown assertion 'nope'"));
  assert_int_equal(verdict_r("{\"contains\": \"{{missing}}\"}", "", NULL, msg, sizeof msg), -2);
  assert_non_null(strstr(msg, "missing"));
  assert_int_equal(verdict_r("{\"max-length\": \"ten\"}", "", NULL, msg, sizeof msg), -2);
  assert_int_equal(verdict_r("{\"latency\": {\"p99\": 3}}", "", NULL, msg, sizeof msg), -2);
  assert_int_equal(verdict_r("{\"contains\": \"a\", \"regex\": \"b\"}", "", NULL, msg, sizeof msg), -2);
  assert_int_equal(verdict_r("[1]", "", NULL, msg, sizeof msg), -2);
}

static void detector_checks(void **st) {
  char msg[512];
  assert_int_equal(verdict_r("{\"not-detect\": [\"pii.credit_card\"]}", "card 4111 1111 1111 1111 thanks", NULL, msg, sizeof msg), 0);
  assert_non_null(strstr(msg, "pii.credit_card"));
  assert_int_equal(verdict("{\"not-detect\": [\"pii.credit_card\"]}", "card 4111 1111 1111 1112 thanks"), 1); /* Luhn fails */
  assert_int_equal(verdict("{\"not-detect\": \"pii\"}", "write to me at ada@example.com"), 0);
  assert_int_equal(verdict("{\"detect\": \"refusal\"}", "I'm sorry, but I can't help with that request."), 1);
  assert_int_equal(verdict("{\"detect\": \"refusal\"}", "Sure! Here is how to bake bread: mix flour and water."), 0);
  assert_int_equal(verdict("{\"not-detect\": {\"detectors\": [\"canary\"], \"canaries\": [\"ZX-CANARY-{{who}}-9\"]}}",
                           "the code is zx canary ada 9"), 0);
  assert_int_equal(verdict("{\"not-detect\": {\"detectors\": [\"canary\"], \"canaries\": [\"ZX-CANARY-{{who}}-9\"]}}",
                           "nothing to see"), 1);
  assert_int_equal(verdict_r("{\"not-detect\": [\"pii.nope\"]}", "", NULL, msg, sizeof msg), -2);
  assert_non_null(strstr(msg, "unknown detector"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(string_checks),     cmocka_unit_test(regex_checks),
      cmocka_unit_test(json_checks),       cmocka_unit_test(timing_and_tokens),
      cmocka_unit_test(command_protocol),  cmocka_unit_test(compile_errors),
      cmocka_unit_test(detector_checks),
  };
  return cmocka_run_group_tests_name("assert", tests, NULL, NULL);
}
