/* Unit tests of src/schema: the messages a user reads, refusal of unsupported keywords,
 * compile errors with their location, the guards (nesting, evaluation depth, $ref loops,
 * regex limits), numbers across int/real, the registry's copy semantics, allocation-failure
 * injection (torture) and concurrent validation of one compiled schema. The conformance run
 * over the JSON-Schema-Test-Suite is test_schema_suite.c. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airlock/schema.h"
#include "airlock/util.h"
#include "core/limits.h"

static al_schema *compile_ok(const char *text, al_schema_draft d) {
  al_schema *s = NULL;
  al_error e;
  int rc = al_schema_compile_text(text, strlen(text), d, &s, &e);
  if (rc != 0) fail_msg("compile failed (%d): %s", rc, e.msg);
  return s;
}

static int check(al_schema *s, const char *inst, char *why, size_t n) {
  json_error_t je;
  json_t *v = json_loads(inst, JSON_DECODE_ANY, &je);
  if (!v) fail_msg("bad instance %s", inst);
  int rc = al_schema_validate(s, v, why, n);
  json_decref(v);
  return rc;
}

static int compile_err(const char *text, al_schema_draft d, al_error *e) {
  al_schema *s = NULL;
  int rc = al_schema_compile_text(text, strlen(text), d, &s, e);
  assert_null(s);
  return rc;
}

static void messages(void **state) {
  char why[256];
  al_schema *s = compile_ok("{\"properties\": {\"x\": {\"items\": {\"type\": \"string\"}}}}",
                            AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "{\"x\": [\"a\", \"b\", 7]}", why, sizeof why), 0);
  assert_string_equal(why, "/x/2: 7 is not of type string (schema /properties/x/items/type)");
  assert_int_equal(check(s, "{\"x\": [\"a\"]}", why, sizeof why), 1);
  assert_string_equal(why, "");
  al_schema_free(s);

  s = compile_ok("{\"type\": \"object\", \"required\": [\"name\"], \"additionalProperties\": false,"
                 " \"properties\": {\"name\": {\"minLength\": 2}}}",
                 AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "[]", why, sizeof why), 0);
  assert_string_equal(why, "(root): [] is not of type object (schema /type)");
  assert_int_equal(check(s, "{}", why, sizeof why), 0);
  assert_string_equal(why, "(root): {} lacks required property \"name\" (schema /required)");
  assert_int_equal(check(s, "{\"name\": \"ab\", \"evil\": 1}", why, sizeof why), 0);
  assert_non_null(strstr(why, "/evil: 1 is not allowed: property \"evil\" is not defined"));
  assert_int_equal(check(s, "{\"name\": \"\xc3\xa9\"}", why, sizeof why), 0); /* 1 code point */
  assert_non_null(strstr(why, "shorter than 2 characters (schema /properties/name/minLength)"));
  /* a small buffer truncates, never overflows */
  char tiny[8];
  assert_int_equal(check(s, "[]", tiny, sizeof tiny), 0);
  assert_int_equal(strlen(tiny), 7);
  assert_int_equal(check(s, "[]", NULL, 0), 0);
  al_schema_free(s);

  /* trials (anyOf branches) are not reported; the combinator is */
  s = compile_ok("{\"anyOf\": [{\"type\": \"string\"}, {\"minimum\": 10}]}", AL_SCHEMA_DRAFT7);
  assert_int_equal(check(s, "3", why, sizeof why), 0);
  assert_string_equal(why, "(root): 3 matches none of the 2 anyOf schemas (schema /anyOf)");
  assert_int_equal(check(s, "12", why, sizeof why), 1);
  al_schema_free(s);
}

static void unsupported_keywords(void **state) {
  al_error e;
  assert_int_equal(compile_err("{\"$recursiveRef\": \"#\"}", AL_SCHEMA_DRAFT_AUTO, &e),
                   AL_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "$recursiveRef"));
  assert_int_equal(compile_err("{\"properties\": {\"a\": {\"$recursiveAnchor\": true}}}",
                               AL_SCHEMA_DRAFT2020, &e),
                   AL_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "/properties/a/$recursiveAnchor"));
  assert_int_equal(
      compile_err("{\"items\": [{}], \"additionalItems\": false}", AL_SCHEMA_DRAFT2020, &e),
      AL_EINVAL); /* items must be a schema */
  assert_int_equal(compile_err("{\"additionalItems\": false}", AL_SCHEMA_DRAFT2020, &e),
                   AL_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "additionalItems"));
  /* draft 7's dependencies is kept in 2020-12 for compatibility (it is decoded, not dropped) */
  al_schema *dep = compile_ok("{\"dependencies\": {\"a\": [\"b\"]}}", AL_SCHEMA_DRAFT2020);
  assert_int_equal(check(dep, "{\"a\": 1}", NULL, 0), 0);
  assert_int_equal(check(dep, "{\"a\": 1, \"b\": 2}", NULL, 0), 1);
  al_schema_free(dep);
  assert_int_equal(compile_err("{\"unevaluatedProperties\": false}", AL_SCHEMA_DRAFT7, &e),
                   AL_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "unevaluatedProperties"));
  /* drafts other than 7 and 2020-12 */
  assert_int_equal(compile_err("{\"$schema\": \"http://json-schema.org/draft-04/schema#\"}",
                               AL_SCHEMA_DRAFT_AUTO, &e),
                   AL_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "$schema"));
  assert_int_equal(compile_err("{\"$schema\": \"https://json-schema.org/draft/2019-09/schema\"}",
                               AL_SCHEMA_DRAFT_AUTO, &e),
                   AL_EUNSUPPORTED);
  /* a meta-schema requiring a vocabulary Airlock lacks (format assertion) */
  al_schema_registry *r = al_schema_registry_new();
  json_t *meta =
      json_loads("{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\","
                 " \"$id\": \"http://x.test/meta\", \"$vocabulary\": {"
                 "  \"https://json-schema.org/draft/2020-12/vocab/core\": true,"
                 "  \"https://json-schema.org/draft/2020-12/vocab/format-assertion\": true}}",
                 0, NULL);
  assert_int_equal(al_schema_registry_add(r, "http://x.test/meta", meta), 0);
  json_t *sch = json_loads("{\"$schema\": \"http://x.test/meta\", \"format\": \"email\"}", 0, NULL);
  al_schema *s = NULL;
  assert_int_equal(al_schema_compile(sch, AL_SCHEMA_DRAFT_AUTO, r, &s, &e), AL_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "format-assertion"));
  /* the same vocabulary marked optional (false) is ignored: format stays an annotation */
  json_object_set_new(json_object_get(meta, "$vocabulary"),
                      "https://json-schema.org/draft/2020-12/vocab/format-assertion", json_false());
  assert_int_equal(al_schema_registry_add(r, "http://x.test/meta", meta), 0);
  assert_int_equal(al_schema_compile(sch, AL_SCHEMA_DRAFT_AUTO, r, &s, &e), 0);
  assert_int_equal(check(s, "\"not an email\"", NULL, 0), 1);
  al_schema_free(s);
  json_decref(sch);
  json_decref(meta);
  al_schema_registry_free(r);
}

static void compile_errors(void **state) {
  al_error e;
  char out[700];
  assert_int_equal(compile_err("{\"type\": \"object\",\n \"x\": }", AL_SCHEMA_DRAFT_AUTO, &e),
                   AL_EPARSE);
  assert_int_equal(e.line, 2);
  assert_true(e.col > 0);
  assert_int_equal(compile_err("{\"properties\": {\"a\": {\"pattern\": \"(unclosed\"}}}",
                               AL_SCHEMA_DRAFT_AUTO, &e),
                   AL_EINVAL);
  assert_non_null(strstr(al_error_format(&e, out, sizeof out),
                         "schema /properties/a/pattern: bad regular expression"));
  assert_int_equal(compile_err("{\"patternProperties\": {\"[\": true}}", AL_SCHEMA_DRAFT7, &e),
                   AL_EINVAL);
  assert_non_null(strstr(e.msg, "/patternProperties/["));
  assert_int_equal(compile_err("{\"type\": \"strin\"}", AL_SCHEMA_DRAFT_AUTO, &e), AL_EINVAL);
  assert_non_null(strstr(e.msg, "unknown type \"strin\""));
  assert_int_equal(compile_err("{\"minLength\": -1}", AL_SCHEMA_DRAFT_AUTO, &e), AL_EINVAL);
  assert_non_null(strstr(e.msg, "/minLength: expected a non-negative integer"));
  assert_int_equal(compile_err("{\"multipleOf\": 0}", AL_SCHEMA_DRAFT_AUTO, &e), AL_EINVAL);
  assert_int_equal(compile_err("{\"allOf\": []}", AL_SCHEMA_DRAFT_AUTO, &e), AL_EINVAL);
  assert_int_equal(compile_err("{\"items\": 3}", AL_SCHEMA_DRAFT_AUTO, &e), AL_EINVAL);
  assert_int_equal(compile_err("42", AL_SCHEMA_DRAFT_AUTO, &e), AL_EINVAL);
  assert_int_equal(compile_err("{\"$ref\": \"#/$defs/missing\"}", AL_SCHEMA_DRAFT_AUTO, &e),
                   AL_ENOTFOUND);
  assert_non_null(strstr(e.msg, "points at nothing"));
  assert_int_equal(
      compile_err("{\"$ref\": \"http://nowhere.test/s.json\"}", AL_SCHEMA_DRAFT_AUTO, &e),
      AL_ENOTFOUND);
  assert_non_null(strstr(e.msg, "never fetches"));
  assert_int_equal(compile_err("{\"$ref\": \"#nope\"}", AL_SCHEMA_DRAFT_AUTO, &e), AL_ENOTFOUND);
  assert_int_equal(compile_err("{\"$id\": \"http://a.test/x#frag\"}", AL_SCHEMA_DRAFT2020, &e),
                   AL_EINVAL);
  assert_int_equal(al_schema_compile(NULL, AL_SCHEMA_DRAFT_AUTO, NULL, NULL, &e), AL_EINVAL);
}

static char *nested(int depth) {
  char *t = malloc((size_t)depth * 20 + 16);
  if (!t) abort();
  char *p = t;
  for (int i = 0; i < depth; i++)
    p += sprintf(p, "{\"not\": ");
  p += sprintf(p, "{}");
  for (int i = 0; i < depth; i++)
    *p++ = '}';
  *p = '\0';
  return t;
}

static void depth_limits(void **state) {
  al_error e;
  /* nesting within the limit compiles; past it is refused */
  char *t = nested(AL_MAX_SCHEMA_DEPTH - 1);
  al_schema *s = compile_ok(t, AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "1", NULL, 0), (AL_MAX_SCHEMA_DEPTH - 1) % 2 ? 0 : 1);
  al_schema_free(s);
  free(t);
  t = nested(AL_MAX_SCHEMA_DEPTH + 5);
  assert_int_equal(compile_err(t, AL_SCHEMA_DRAFT_AUTO, &e), AL_ELIMIT);
  free(t);

  /* a recursive schema on a very deep instance: an error, not a crash or a verdict */
  s = compile_ok("{\"$defs\": {\"n\": {\"type\": \"object\", \"properties\": {\"c\": {\"$ref\": "
                 "\"#/$defs/n\"}}}}, \"$ref\": \"#/$defs/n\"}",
                 AL_SCHEMA_DRAFT_AUTO);
  json_t *root = json_object(), *cur = root;
  for (int i = 0; i < 5000; i++) {
    json_t *c = json_object();
    json_object_set_new(cur, "c", c);
    cur = c;
  }
  char why[256];
  assert_int_equal(al_schema_validate(s, root, why, sizeof why), AL_ELIMIT);
  assert_non_null(strstr(why, "deeper than"));
  json_decref(root);
  assert_int_equal(check(s, "{\"c\": {\"c\": {\"c\": 1}}}", why, sizeof why), 0);
  assert_string_equal(why, "/c/c/c: 1 is not of type object (schema /$defs/n/type)");
  al_schema_free(s);

  /* $ref cycles: pure ones are refused at compile time, ones that do not consume the
   * instance are reported when validation meets them */
  assert_int_equal(compile_err("{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"$ref\": "
                               "\"#/$defs/a\"}}, \"$ref\": \"#/$defs/a\"}",
                               AL_SCHEMA_DRAFT_AUTO, &e),
                   AL_EINVAL);
  assert_non_null(strstr(e.msg, "$ref cycle"));
  s = compile_ok("{\"allOf\": [{\"$ref\": \"#\"}]}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "1", why, sizeof why), AL_ELIMIT);
  assert_non_null(strstr(why, "reference loop"));
  al_schema_free(s);
  s = compile_ok("{\"definitions\": {\"x\": {\"anyOf\": [{\"$ref\": \"#/definitions/x\"}]}},"
                 " \"$ref\": \"#/definitions/x\"}",
                 AL_SCHEMA_DRAFT7);
  assert_int_equal(check(s, "[]", NULL, 0), AL_ELIMIT);
  al_schema_free(s);
}

static void regex_limits(void **state) {
  char why[256];
  al_schema *s = compile_ok("{\"pattern\": \"^(a+)+$\"}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "\"aaaa\"", why, sizeof why), 1);
  int rc = check(s, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"", why, sizeof why);
  assert_int_equal(rc, AL_ELIMIT);
  assert_non_null(strstr(why, "regular expression"));
  al_schema_free(s);
  /* ECMA-262 spellings: unicode property names, '$' only at the very end */
  s = compile_ok("{\"pattern\": \"^\\\\p{Lowercase_Letter}+$\"}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "\"\xc3\xa9t\xc3\xa9\"", NULL, 0), 1);
  assert_int_equal(check(s, "\"abc\\n\"", NULL, 0), 0);
  assert_int_equal(check(s, "\"Abc\"", NULL, 0), 0);
  al_schema_free(s);
  /* \d and \w are ASCII, \s is Unicode white space, \u escapes and [^] as in ECMA-262 */
  s = compile_ok("{\"pattern\": \"^\\\\d\\\\w\\\\s[^]\\\\u00e9$\"}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "\"1a\\u00a0x\u00e9\"", NULL, 0), 1);
  assert_int_equal(check(s, "\"1a\\ufeff\\n\u00e9\"", NULL, 0), 1);
  assert_int_equal(check(s, "\"\\u0661a x\u00e9\"", NULL, 0), 0); /* Arabic-Indic one */
  assert_int_equal(check(s, "\"1\u00e9 x\u00e9\"", NULL, 0), 0);
  al_schema_free(s);
}

static void numbers(void **state) {
  al_schema *s = compile_ok("{\"maximum\": 9007199254740992.0}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "9007199254740992", NULL, 0), 1);
  assert_int_equal(check(s, "9007199254740993", NULL, 0), 0);
  al_schema_free(s);
  s = compile_ok("{\"exclusiveMinimum\": 9223372036854775806}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "9223372036854775807", NULL, 0), 1);
  assert_int_equal(check(s, "9223372036854775806", NULL, 0), 0);
  assert_int_equal(check(s, "9.3e18", NULL, 0), 1);
  al_schema_free(s);
  s = compile_ok("{\"type\": \"integer\", \"multipleOf\": 0.01}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "3.0", NULL, 0), 1);
  assert_int_equal(check(s, "3.5", NULL, 0), 0);
  al_schema_free(s);
  s = compile_ok("{\"multipleOf\": 0.01}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "19.99", NULL, 0), 1);
  assert_int_equal(check(s, "19.995", NULL, 0), 0);
  assert_int_equal(check(s, "1e308", NULL, 0), 0); /* quotient overflows: not a multiple */
  al_schema_free(s);
  s = compile_ok("{\"enum\": [1, [2, {\"a\": 3}]], \"uniqueItems\": true}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "1.0", NULL, 0), 1);
  assert_int_equal(check(s, "[2.0, {\"a\": 3.0}]", NULL, 0), 1);
  assert_int_equal(check(s, "[2, {\"a\": 4}]", NULL, 0), 0);
  al_schema_free(s);
  char why[256];
  s = compile_ok("{\"uniqueItems\": true}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(
      check(s, "[{\"a\": 1, \"b\": [1]}, 2, {\"b\": [1.0], \"a\": 1.0}]", why, sizeof why), 0);
  assert_non_null(strstr(why, "equal items at 0 and 2"));
  al_schema_free(s);
  /* format is an annotation */
  s = compile_ok("{\"format\": \"email\"}", AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "\"nope\"", NULL, 0), 1);
  al_schema_free(s);
}

static void registry(void **state) {
  al_schema_registry *r = al_schema_registry_new();
  json_t *doc =
      json_loads("{\"$defs\": {\"id\": {\"type\": \"string\", \"pattern\": \"^c_\"}}}", 0, NULL);
  assert_int_equal(al_schema_registry_add(r, "https://tools.test/common.json#", doc), 0);
  assert_int_equal(al_schema_registry_add(r, "relative.json", doc), AL_EINVAL);
  json_decref(doc); /* the registry holds its own copy */
  json_t *sch = json_loads("{\"$id\": \"https://tools.test/call.json\", \"properties\": {"
                           "\"id\": {\"$ref\": \"common.json#/$defs/id\"}}}",
                           0, NULL);
  al_schema *s = NULL;
  al_error e;
  assert_int_equal(al_schema_compile(sch, AL_SCHEMA_DRAFT_AUTO, r, &s, &e), 0);
  json_decref(sch);
  al_schema_registry_free(r); /* the compiled schema holds its own copies */
  char why[256];
  assert_int_equal(check(s, "{\"id\": \"c_1\"}", why, sizeof why), 1);
  assert_int_equal(check(s, "{\"id\": \"x\"}", why, sizeof why), 0);
  assert_string_equal(why, "/id: \"x\" does not match /^c_/ (schema "
                           "https://tools.test/common.json#/$defs/id/pattern)");
  al_schema_free(s);
  /* a document is also found by the URI its own $id gives it */
  r = al_schema_registry_new();
  doc = json_loads("{\"$id\": \"https://ids.test/v1/thing\", \"type\": \"integer\"}", 0, NULL);
  assert_int_equal(al_schema_registry_add(r, "file:///srv/schemas/thing.json", doc), 0);
  json_decref(doc);
  sch = json_loads("{\"items\": {\"$ref\": \"https://ids.test/v1/thing\"}}", 0, NULL);
  assert_int_equal(al_schema_compile(sch, AL_SCHEMA_DRAFT_AUTO, r, &s, &e), 0);
  assert_int_equal(check(s, "[1, 2]", NULL, 0), 1);
  assert_int_equal(check(s, "[1, \"2\"]", NULL, 0), 0);
  al_schema_free(s);
  json_decref(sch);
  al_schema_registry_free(r);
  /* the built-in meta-schemas are always there */
  s = compile_ok("{\"$ref\": \"https://json-schema.org/draft/2020-12/schema\"}",
                 AL_SCHEMA_DRAFT_AUTO);
  assert_int_equal(check(s, "{\"type\": \"string\"}", NULL, 0), 1);
  assert_int_equal(check(s, "{\"type\": 12}", NULL, 0), 0);
  assert_int_equal(check(s, "{\"properties\": {\"a\": {\"minLength\": -1}}}", NULL, 0), 0);
  al_schema_free(s);
  assert_int_equal(al_schema_registry_add_dir(NULL, "/", "http://a/"), AL_EINVAL);
  r = al_schema_registry_new();
  assert_int_equal(al_schema_registry_add_dir(r, "/nonexistent-dir-airlock", "http://a/"), AL_EIO);
  al_schema_registry_free(r);
}

/* Every allocation of compile and validate failing in turn: an error code, never a crash,
 * a leak (under ASan) or a wrong verdict. */
static void torture(void **state) {
  const char *text =
      "{\"$id\": \"https://t.test/s\", \"$defs\": {\"n\": {\"$dynamicAnchor\": \"n\", "
      "\"type\": \"object\", \"properties\": {\"k\": {\"$dynamicRef\": \"#n\"}}}},"
      " \"allOf\": [{\"$ref\": \"#/$defs/n\"}], \"patternProperties\": {\"^x\": {\"pattern\": "
      "\"y\"}},"
      " \"unevaluatedProperties\": false, \"anyOf\": [{\"required\": [\"k\"]}, true]}";
  json_t *inst = json_loads("{\"k\": {\"k\": {}}, \"xa\": \"y\"}", 0, NULL);
  unsigned long nth;
  int streak = 0; /* successes in a row: the failure falls past the last allocation */
  for (nth = 1; nth < 5000; nth++) {
    al_schema *s = NULL;
    al_torture_set(nth);
    int rc = al_schema_compile_text(text, strlen(text), AL_SCHEMA_DRAFT_AUTO, &s, NULL);
    int v = rc == 0 ? al_schema_validate(s, inst, NULL, 0) : rc;
    al_torture_set(0);
    if (rc < 0) {
      assert_int_equal(rc, AL_ENOMEM);
      assert_null(s);
    } else {
      assert_true(v == 1 || v == AL_ENOMEM);
      assert_int_equal(al_schema_validate(s, inst, NULL, 0), 1);
    }
    al_schema_free(s);
    streak = v == 1 ? streak + 1 : 0;
    if (streak == 25) break;
  }
  print_message("# torture: allocation failures injected at 1..%lu\n", nth - 25);
  assert_true(nth > 50 && nth < 5000);
  al_torture_set(0);
  json_decref(inst);
}

typedef struct worker {
  const al_schema *s;
  json_t *good, *bad;
  int wrong;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  char why[256];
  for (int i = 0; i < 500; i++) {
    if (al_schema_validate(w->s, w->good, why, sizeof why) != 1) w->wrong++;
    if (al_schema_validate(w->s, w->bad, why, sizeof why) != 0) w->wrong++;
    if (!strstr(why, "/items/1/tag")) w->wrong++;
  }
  return NULL;
}

static void threads(void **state) {
  al_schema *s = compile_ok(
      "{\"type\": \"object\", \"properties\": {\"items\": {\"type\": \"array\", \"items\": "
      "{\"$ref\": \"#/$defs/item\"}}}, \"unevaluatedProperties\": false,"
      " \"$defs\": {\"item\": {\"properties\": {\"tag\": {\"pattern\": \"^[a-z]+$\"}},"
      " \"required\": [\"tag\"]}}}",
      AL_SCHEMA_DRAFT_AUTO);
  worker w[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){s, json_loads("{\"items\": [{\"tag\": \"ab\"}, {\"tag\": \"cd\"}]}", 0, NULL),
                    json_loads("{\"items\": [{\"tag\": \"ab\"}, {\"tag\": \"C\"}]}", 0, NULL), 0};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].wrong, 0);
    json_decref(w[i].good);
    json_decref(w[i].bad);
  }
  al_schema_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(messages),       cmocka_unit_test(unsupported_keywords),
      cmocka_unit_test(compile_errors), cmocka_unit_test(depth_limits),
      cmocka_unit_test(regex_limits),   cmocka_unit_test(numbers),
      cmocka_unit_test(registry),       cmocka_unit_test(torture),
      cmocka_unit_test(threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
