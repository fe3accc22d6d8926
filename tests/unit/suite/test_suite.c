/* Unit tests of src/suite: YAML as located JSON, suite loading and its errors (each names
 * file:line:col and what was expected), tests_from CSV/JSONL, {{var}} substitution, and
 * stable case ids. Error cases are golden files: tests/cases/suites/bad-*.yaml, each with
 * its expected message on the first line as a comment "# expect: TEXT". */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "airlock/assert.h"
#include "airlock/suite.h"
#include "airlock/util.h"
#include "airlock/yaml.h"

static char tmpdir[256];

static void write_file(const char *name, const char *text) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", tmpdir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int load(const char *name, al_suite **s, al_error *e) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", tmpdir, name);
  return al_suite_load(p, s, e);
}

static const char *target = "target: {type: openai, base_url: 'http://127.0.0.1:1/v1'}\n";

static void yaml_locations(void **st) {
  const char *y = "a: 1\nb:\n  - x\n  - {c: true}\nd: \"5\"\n";
  al_ydoc *d = NULL;
  al_error e = {0};
  assert_int_equal(al_ydoc_load_text(y, strlen(y), "t.yaml", &d, &e), 0);
  json_t *root = al_ydoc_root(d);
  assert_true(json_is_integer(json_object_get(root, "a")));
  assert_true(json_is_string(json_object_get(root, "d")));
  int line, col;
  al_ydoc_loc_member(d, root, "b", &line, &col);
  assert_int_equal(line, 2);
  assert_int_equal(col, 1);
  al_ydoc_loc_item(d, json_object_get(root, "b"), 1, &line, &col);
  assert_int_equal(line, 4);
  al_ydoc_free(d);
  const char *bad = "a: [1, 2\n";
  assert_int_not_equal(al_ydoc_load_text(bad, strlen(bad), "bad.yaml", &d, &e), 0);
  assert_string_equal(e.file, "bad.yaml");
  assert_true(e.line >= 1);
}

static void subst(void **st) {
  json_t *vars = json_pack("{s:s, s:i}", "name", "Ada", "n", 3);
  char *out = NULL, missing[64];
  assert_int_equal(al_subst("Hi {{ name }}, {{n}} times", vars, &out, missing, sizeof missing), 0);
  assert_string_equal(out, "Hi Ada, 3 times");
  al_free(out);
  assert_int_equal(al_subst("{{nope}}", vars, &out, missing, sizeof missing), AL_ENOTFOUND);
  assert_string_equal(missing, "nope");
  assert_int_equal(al_subst("no vars {{ unclosed", vars, &out, missing, sizeof missing), 0);
  assert_string_equal(out, "no vars {{ unclosed");
  al_free(out);
  json_decref(vars);
}

static void loads_inline_and_ids_are_stable(void **st) {
  char y[2048];
  snprintf(y, sizeof y,
           "name: s1\n%s"
           "system_prompt: 'You help {{who}}.'\nvars: {who: bankers}\n"
           "tests:\n"
           "  - prompt: 'Hello {{who}}'\n    assert: [{contains: hi}]\n"
           "  - turns:\n      - {role: user, content: a}\n      - {role: assistant, content: b}\n"
           "      - {role: user, content: c}\n    category: safety\n    severity: critical\n",
           target);
  write_file("s1.yaml", y);
  al_suite *s = NULL, *s2 = NULL;
  al_error e = {0};
  assert_int_equal(load("s1.yaml", &s, &e), 0);
  assert_int_equal(al_suite_case_count(s), 2);
  al_case_iter *it = NULL;
  al_case *c = NULL;
  assert_int_equal(al_case_iter_new(s, &it, &e), 0);
  assert_int_equal(al_case_next(it, &c, &e), 0);
  assert_non_null(c);
  assert_int_equal(json_array_size(c->messages), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(c->messages, 0), "content")),
                      "You help bankers.");
  assert_string_equal(json_string_value(json_object_get(json_array_get(c->messages, 1), "content")),
                      "Hello bankers");
  assert_string_equal(c->category, "functional");
  assert_int_equal(c->n_asserts, 1);
  char id1[65];
  memcpy(id1, c->id, 65);
  al_case_free(c);
  assert_int_equal(al_case_next(it, &c, &e), 0);
  assert_int_equal(json_array_size(c->messages), 4);
  assert_string_equal(c->severity, "critical");
  al_case_free(c);
  assert_int_equal(al_case_next(it, &c, &e), 0);
  assert_null(c);
  al_case_iter_free(it);
  /* the same suite gives the same ids */
  assert_int_equal(load("s1.yaml", &s2, &e), 0);
  assert_string_equal(al_suite_digest(s), al_suite_digest(s2));
  assert_int_equal(al_case_iter_new(s2, &it, &e), 0);
  assert_int_equal(al_case_next(it, &c, &e), 0);
  assert_string_equal(c->id, id1);
  al_case_free(c);
  al_case_iter_free(it);
  al_suite_free(s);
  al_suite_free(s2);
}

static void tests_from_csv_and_jsonl(void **st) {
  write_file("rows.csv", "question,expected\n\"What is 2+2?\",4\n\"Say \"\"hi\"\"\",hi\n");
  write_file("rows.jsonl", "{\"q\": \"one\", \"want\": \"1\"}\n\n{\"q\": \"two\", \"want\": \"2\"}\n");
  char y[2048];
  snprintf(y, sizeof y,
           "%stests_from:\n"
           "  - file: rows.csv\n    prompt: '{{question}}'\n    assert: [{contains: '{{expected}}'}]\n"
           "  - file: rows.jsonl\n    map: {prompt: q}\n    assert: [{equals: '{{want}}'}]\n    category: format\n",
           target);
  write_file("s2.yaml", y);
  al_suite *s = NULL;
  al_error e = {0};
  assert_int_equal(load("s2.yaml", &s, &e), 0);
  assert_int_equal(al_suite_case_count(s), 4);
  al_case_iter *it = NULL;
  al_case *c = NULL;
  al_case_iter_new(s, &it, &e);
  al_case_next(it, &c, &e);
  assert_string_equal(json_string_value(json_object_get(json_array_get(c->messages, 0), "content")),
                      "What is 2+2?");
  al_case_free(c);
  al_case_next(it, &c, &e);
  assert_string_equal(json_string_value(json_object_get(json_array_get(c->messages, 0), "content")),
                      "Say \"hi\"");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(c->meta, "location"), "line")), 3);
  al_case_free(c);
  al_case_next(it, &c, &e);
  assert_string_equal(json_string_value(json_object_get(json_array_get(c->messages, 0), "content")), "one");
  assert_string_equal(c->category, "format");
  al_case_free(c);
  al_case_next(it, &c, &e);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(c->meta, "location"), "line")), 3);
  al_case_free(c);
  al_case_iter_free(it);
  al_suite_free(s);
  /* a bad row is reported with the data file's line */
  write_file("bad.jsonl", "{\"q\": \"ok\"}\n{\"q\": broken}\n");
  snprintf(y, sizeof y, "%stests_from:\n  - file: bad.jsonl\n    map: {prompt: q}\n", target);
  write_file("s3.yaml", y);
  assert_int_not_equal(load("s3.yaml", &s, &e), 0);
  assert_non_null(strstr(e.file, "bad.jsonl"));
  assert_int_equal(e.line, 2);
  write_file("short.csv", "a,b\n1,2\n3\n");
  snprintf(y, sizeof y, "%stests_from:\n  - file: short.csv\n    prompt: '{{a}}'\n", target);
  write_file("s4.yaml", y);
  assert_int_not_equal(load("s4.yaml", &s, &e), 0);
  assert_int_equal(e.line, 3);
  assert_non_null(strstr(e.msg, "expected 2"));
}

/* Golden error cases: every tests/cases/suites/bad-*.yaml names its expected error. */
static void golden_errors(void **st) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/tests/cases/suites", getenv("AIRLOCK_SRC"));
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *ent;
  int n = 0;
  while ((ent = readdir(d))) {
    if (strncmp(ent->d_name, "bad-", 4)) continue;
    char path[1400], *text = NULL, want[512];
    snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
    assert_int_equal(al_read_file(path, 1 << 20, &text, NULL, NULL), 0);
    assert_true(sscanf(text, "# expect: %511[^\n]", want) == 1);
    al_free(text);
    al_suite *s = NULL;
    al_error e = {0};
    char got[1200];
    int rc = al_suite_load(path, &s, &e);
    al_error_format(&e, got, sizeof got);
    if (rc == 0 || !strstr(got, want)) {
      print_error("%s: expected an error containing \"%s\", got rc=%d \"%s\"\n", ent->d_name, want, rc, got);
      fail();
    }
    n++;
  }
  closedir(d);
  assert_true(n >= 10);
}

/* Assertions that use no {{vars}} (defaults, tests_from specs) are compiled once and shared
 * by the cases; those with vars are compiled per case; a later row's bad regex (through a
 * var) is still caught at load, naming its line; sharing changes no verdict. */
static void shared_assertions(void **st) {
  write_file("shared.csv", "q,want\none,1\ntwo,2\nthree,3\n");
  char y[2048];
  snprintf(y, sizeof y,
           "%sdefaults: {assert: [{max-length: 100}]}\ntests_from:\n"
           "  - file: shared.csv\n    prompt: '{{q}}'\n"
           "    assert: [{regex: 'o+'}, {contains: '{{want}}'}]\n",
           target);
  write_file("s5.yaml", y);
  al_suite *s = NULL;
  al_error e = {0};
  assert_int_equal(load("s5.yaml", &s, &e), 0);
  assert_int_equal(al_suite_case_count(s), 3);
  al_case_iter *it = NULL;
  al_case *c[3] = {0};
  assert_int_equal(al_case_iter_new(s, &it, &e), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(al_case_next(it, &c[i], &e), 0);
    assert_non_null(c[i]);
    assert_int_equal(c[i]->n_asserts, 3);
  }
  assert_ptr_equal(c[0]->asserts[0], c[2]->asserts[0]);     /* defaults: shared */
  assert_ptr_equal(c[0]->asserts[1], c[1]->asserts[1]);     /* regex: no vars, shared */
  assert_ptr_not_equal(c[0]->asserts[2], c[1]->asserts[2]); /* {{want}}: per case */
  al_case_free(c[1]); /* a shared assertion outlives the cases that drop it */
  al_case_iter_free(it);
  al_assert_result r = {0};
  al_assert_input in = {"two", 3, NULL, NULL, NULL};
  assert_true(al_assert_eval(c[2]->asserts[1], &in, &r) >= 0);
  assert_true(r.pass);
  al_free(r.type);
  al_free(r.label);
  al_free(r.message);
  al_case_free(c[0]);
  al_case_free(c[2]);
  al_suite_free(s);
  json_t *spec = json_pack("{s:{s:[s]}, s:s}", "x", "y", "a{b}", "z", "{{v}}");
  assert_int_equal(al_assert_var_free(json_object_get(spec, "x")), 1);
  assert_int_equal(al_assert_var_free(spec), 0);
  json_decref(spec);
  /* a var that makes the regex invalid on row 3 only: still an error at load, at line 3 */
  write_file("shared2.csv", "pat\nok\n(unclosed\n");
  snprintf(y, sizeof y, "%stests_from:\n  - file: shared2.csv\n    prompt: p\n    assert: [{regex: '{{pat}}'}]\n",
           target);
  write_file("s6.yaml", y);
  assert_int_not_equal(load("s6.yaml", &s, &e), 0);
  assert_int_equal(e.line, 3);
}

/* A case's meta_json (kept by the iterator's template for cases without a meta of their own)
 * is exactly jansson's compact dump of its meta, whatever the file is called; a test with a
 * meta of its own gets it dumped as well. */
static void meta_json_is_jansson_dump(void **st) {
  static const char *const names[] = {"plain.csv", "q\"uote.csv", "back\\slash.csv",
                                      "caf\xc3\xa9.csv", "x\"line\":987654321012345.csv"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    write_file(names[k], "q\none\ntwo\n\nthree\n");
    char y[2048];
    snprintf(y, sizeof y,
             "%stests:\n  - prompt: inline\n  - prompt: own\n    meta: {owasp: LLM01}\n"
             "tests_from:\n  - file: '%s'\n    prompt: '{{q}}'\n",
             target, names[k]);
    write_file("meta.yaml", y);
    al_suite *s = NULL;
    al_error e = {0};
    assert_int_equal(load("meta.yaml", &s, &e), 0);
    al_case_iter *it = NULL;
    al_case *c = NULL;
    assert_int_equal(al_case_iter_new(s, &it, &e), 0);
    int n = 0;
    while (al_case_next(it, &c, &e) == 0 && c) {
      char *want = json_dumps(c->meta, JSON_COMPACT);
      if (n != 1) { /* the test with a meta of its own may go without */
        assert_non_null(c->meta_json);
      }
      if (c->meta_json) assert_string_equal(c->meta_json, want);
      free(want);
      al_case_free(c);
      n++;
    }
    assert_int_equal(n, 5);
    al_case_iter_free(it);
    al_suite_free(s);
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, names[k]);
    unlink(p);
  }
}

/* The load-time pass builds only the first row of a CSV tests_from when the later rows
 * cannot fail where it did not (light_spec): they are still read (a malformed row is an
 * error at its line) and counted, and the run builds each of them. A row that can fail by
 * its values (a severity or an assertion from a variable) is still built at load. */
static void light_validation(void **st) {
  write_file("light.csv", "q,sev\none,high\ntwo,low\nthree,urgent\nfour,info\n");
  char y[2048];
  snprintf(y, sizeof y,
           "%sdefaults: {assert: [{max-length: 100}]}\ntests_from:\n"
           "  - file: light.csv\n    prompt: 'Q: {{q}} ({{sev}})'\n    name: '{{q}}'\n"
           "    assert: [{contains: 'Q'}]\n",
           target);
  write_file("s7.yaml", y);
  al_suite *s = NULL;
  al_error e = {0};
  assert_int_equal(load("s7.yaml", &s, &e), 0);
  assert_int_equal(al_suite_case_count(s), 4);
  al_case_iter *it = NULL;
  al_case *c = NULL;
  assert_int_equal(al_case_iter_new(s, &it, &e), 0);
  static const char *const names[] = {"one", "two", "three", "four"};
  char prev[65] = "";
  for (int i = 0; i < 4; i++) {
    assert_int_equal(al_case_next(it, &c, &e), 0);
    assert_non_null(c);
    assert_string_equal(c->name, names[i]);
    assert_int_equal(c->index, i);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c->meta, "location"), "line")), i + 2);
    assert_string_not_equal(c->id, prev);
    snprintf(prev, sizeof prev, "%s", c->id);
    al_case_free(c);
  }
  assert_int_equal(al_case_next(it, &c, &e), 0);
  assert_null(c);
  al_case_iter_free(it);
  al_suite_free(s);
  /* the severity from a variable: row 4's "urgent" is refused at load, at its line */
  snprintf(y, sizeof y, "%stests_from:\n  - file: light.csv\n    prompt: '{{q}}'\n    severity: '{{sev}}'\n",
           target);
  write_file("s8.yaml", y);
  assert_int_not_equal(load("s8.yaml", &s, &e), 0);
  assert_int_equal(e.line, 4);
  assert_non_null(strstr(e.msg, "urgent"));
  /* a malformed later row is still an error at load */
  write_file("light2.csv", "q\none\ntwo\n\"three\n");
  snprintf(y, sizeof y, "%stests_from:\n  - file: light2.csv\n    prompt: '{{q}}'\n", target);
  write_file("s9.yaml", y);
  assert_int_not_equal(load("s9.yaml", &s, &e), 0);
  assert_non_null(strstr(e.file, "light2.csv"));
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/airlock-test-suite-XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(yaml_locations),
      cmocka_unit_test(subst),
      cmocka_unit_test(loads_inline_and_ids_are_stable),
      cmocka_unit_test(tests_from_csv_and_jsonl),
      cmocka_unit_test(light_validation),
      cmocka_unit_test(meta_json_is_jansson_dump),
      cmocka_unit_test(shared_assertions),
      cmocka_unit_test(golden_errors),
  };
  int rc = cmocka_run_group_tests_name("suite", tests, NULL, NULL);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd)) rc = rc ? rc : 0;
  return rc;
}
