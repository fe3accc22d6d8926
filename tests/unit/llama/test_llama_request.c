/* Unit tests of src/llama/request.c and schema_gbnf.c: request lines in, checked fields or
 * a located error out; JSON Schemas in, GBNF grammar text or a rejection naming the
 * keyword and its path out. No libllama needed (test_llama_grammar checks that llama.cpp
 * accepts the grammars; test_llama_worker that the model's output validates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "airlock/util.h"
#include "llama/request.h"
#include "llama/schema_gbnf.h"

static int parse(const char *line, al_llama_request *r, al_error *e) {
  memset(e, 0, sizeof *e);
  return al_llama_request_parse(line, strlen(line), 3, r, e);
}

static void request_full(void **state) {
  al_llama_request r;
  al_error e;
  const char *line = "{\"id\":\"c1\",\"model\":\"ignored\",\"messages\":["
                     "{\"role\":\"developer\",\"content\":\"be nice\"},"
                     "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":"
                     "\"text\",\"text\":\"b\"}]},"
                     "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"x\","
                     "\"type\":\"function\"}]},"
                     "{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"42\"}],"
                     "\"max_tokens\":9,\"temperature\":0.5,\"top_p\":0.9,\"top_k\":40,\"seed\":-1,"
                     "\"top_logprobs\":3,"
                     "\"stop\":[\"END\",\"\\n\\n\"],\"tools\":[{\"type\":\"function\",\"function\":"
                     "{\"name\":\"f\"}}]}";
  assert_int_equal(parse(line, &r, &e), 0);
  assert_string_equal(r.id, "c1");
  assert_int_equal(r.n_msgs, 4);
  assert_string_equal(r.msgs[0].role, "system");
  assert_string_equal(r.msgs[1].content, "ab");
  assert_string_equal(r.msgs[2].content,
                      "{\"tool_calls\": [{\"id\":\"x\",\"type\":\"function\"}]}");
  assert_string_equal(r.msgs[3].role, "tool");
  assert_int_equal(r.max_tokens, 9);
  assert_true(r.temperature == 0.5 && r.top_p > 0.89 && r.top_p < 0.91);
  assert_int_equal(r.top_k, 40);
  assert_true(r.has_seed);
  assert_true(r.seed ==
              0xfffffffeu); /* -1 folds to 0xffffffff, which means "random" in llama.cpp */
  assert_int_equal(r.top_logprobs, 3);
  assert_int_equal(r.n_stop, 2);
  assert_string_equal(r.stop[1], "\n\n");
  assert_non_null(strstr(r.tools_json, "\"name\":\"f\""));
  assert_null(r.grammar);
  al_llama_request_cleanup(&r);
}

static void request_defaults(void **state) {
  al_llama_request r;
  al_error e;
  assert_int_equal(
      parse("{\"id\":\"d\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &r, &e), 0);
  assert_int_equal(r.max_tokens, 128);
  assert_true(r.temperature == 1.0 && r.top_p == 1.0);
  assert_int_equal(r.top_k, 0);
  assert_false(r.has_seed);
  assert_int_equal(r.top_logprobs, -1);
  assert_int_equal(r.n_stop, 0);
  al_llama_request_cleanup(&r);
}

static void request_errors(void **state) {
  struct {
    const char *line;
    int code;
    const char *msg_part;
    const char *id; /* kept for the error event */
  } cases[] = {
      {"{\"id\": \"a\", ", -4, "request is not JSON", NULL},
      {"[1,2]", -2, "expected a JSON object", NULL},
      {"{\"messages\":[]}", -2, "field 'id'", NULL},
      {"{\"id\":\"a\"}", -2, "field 'messages'", "a"},
      {"{\"id\":\"a\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", -2,
       "'wizard' is not one of", "a"},
      {"{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", -2, "messages[0].content",
       "a"},
      {"{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
       -6, "only {\"type\": \"text\"", "a"},
      {"{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", -2,
       "'max_tokens'", "a"},
      {"{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":0}", -2,
       "'top_p'", "a"},
      {"{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":"
       "\"hot\"}",
       -2, "'temperature'", "a"},
      {"{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":21}",
       -2, "'top_logprobs'", "a"},
      {"{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"\"]}", -2,
       "'stop'", "a"},
      {"{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":1.5}", -2,
       "'seed'", "a"},
      {"{\"id\":\"a\",\"id\":\"b\",\"messages\":[]}", -4, "duplicate", NULL},
      {"{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
       "\"json_schema\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"string\","
       "\"pattern\":\"^a\"}}}}",
       -6, "field 'json_schema' at #/properties/n: unsupported keyword 'pattern'", "a"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    al_llama_request r;
    al_error e;
    int rc = parse(cases[i].line, &r, &e);
    if (rc != cases[i].code || !strstr(e.msg, cases[i].msg_part))
      fail_msg("case %zu: rc %d msg '%s'", i, rc, e.msg);
    assert_string_equal(e.file, "<stdin>");
    assert_int_equal(e.line, 3);
    if (cases[i].id)
      assert_string_equal(r.id, cases[i].id);
    else
      assert_null(r.id);
    assert_int_equal(r.n_msgs, 0);
    al_llama_request_cleanup(&r);
  }
  /* JSON syntax errors carry the column */
  al_llama_request r;
  al_error e;
  parse("{\"id\": \"a\" \"messages\": []}", &r, &e);
  assert_int_equal(e.col, 21); /* jansson: the column where the unexpected token ends */
  al_llama_request_cleanup(&r);
}

static char *gbnf(const char *schema_json, int *rc, al_error *e) {
  json_t *s = json_loads(schema_json, JSON_DECODE_ANY, NULL);
  assert_non_null(s);
  char *g = NULL;
  memset(e, 0, sizeof *e);
  *rc = al_schema_to_gbnf(s, &g, e);
  json_decref(s);
  return g;
}

static void schema_object_grammar(void **state) {
  int rc;
  al_error e;
  char *g =
      gbnf("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":12},"
           "\"age\":{\"type\":\"integer\",\"minimum\":0},\"tags\":{\"type\":\"array\",\"items\":"
           "{\"enum\":[\"a\",\"b\\\"c\"]},\"maxItems\":3}},\"required\":[\"age\",\"name\"]}",
           &rc, &e);
  assert_int_equal(rc, 0);
  /* required members in property order, the optional one after, with its comma */
  assert_non_null(
      strstr(g, "o1 ::= \"{\" ws o1-k1 ws \",\" ws o1-k2 (ws \",\" ws o1-k3)? ws \"}\""));
  assert_non_null(strstr(g, "o1-k1 ::= \"\\\"name\\\"\" ws \":\" ws str-0-12\n"));
  assert_non_null(strstr(g, "o1-k2 ::= \"\\\"age\\\"\" ws \":\" ws int-nn\n"));
  assert_non_null(
      strstr(g, "(\"\\\"a\\\"\" | \"\\\"b\\\\\\\"c\\\"\")")); /* "a" | "b\"c" as GBNF literals */
  assert_non_null(strstr(g, "{0,2}")); /* maxItems 3 = first item + up to 2 more */
  assert_non_null(strstr(g, "str-0-12 ::= \"\\\"\" char{0,12} \"\\\"\""));
  assert_non_null(strstr(g, "root ::= o1\n"));
  al_free(g);
}

static void schema_optional_only(void **state) {
  int rc;
  al_error e;
  char *g = gbnf("{\"properties\":{\"a\":{\"type\":\"null\"},\"b\":{\"type\":\"boolean\"},\"c\":{"
                 "\"const\":7}}}",
                 &rc, &e);
  assert_int_equal(rc, 0);
  /* any ordered subset without a leading comma */
  assert_non_null(strstr(g, "(o1-k1 o1-t1 | o1-k2 o1-t2 | o1-k3)?"));
  assert_non_null(strstr(g, "o1-t1 ::= (ws \",\" ws o1-k2)? o1-t2\n"));
  assert_non_null(strstr(g, "o1-t2 ::= (ws \",\" ws o1-k3)?\n"));
  assert_non_null(strstr(g, "o1-k3 ::= \"\\\"c\\\"\" ws \":\" ws \"7\"\n"));
  al_free(g);
}

static void schema_misc_types(void **state) {
  int rc;
  al_error e;
  const char *ok[] = {
      "true",
      "{}",
      "{\"type\":[\"string\",\"null\"]}",
      "{\"anyOf\":[{\"type\":\"number\"},{\"type\":\"boolean\"}]}",
      "{\"type\":\"array\"}",
      "{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"exclusiveMinimum\":0},\"minItems\":2}",
      "{\"type\":\"object\",\"additionalProperties\":false}",
      "{\"type\":\"string\",\"format\":\"email\",\"title\":\"t\"}",
      "{\"name\":\"x\",\"schema\":{\"type\":\"string\"}}" /* wrapper handled by request.c, not here
                                                           */
      ,
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char *g = gbnf(ok[i], &rc, &e);
    if (i == 8) {
      assert_int_equal(rc, -6);
      continue;
    }
    if (rc) fail_msg("schema %zu: %s", i, e.msg);
    assert_non_null(strstr(g, "root ::= "));
    al_free(g);
  }
  char *g =
      gbnf("{\"type\":\"array\",\"items\":{\"type\":\"number\"},\"minItems\":2,\"maxItems\":2}",
           &rc, &e);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(g, "\"[\" ws num (ws \",\" ws num){1,1} ws \"]\""));
  al_free(g);
}

static void schema_caps(void **state) {
  json_t *s = json_loads("{\"type\":\"array\",\"items\":{\"type\":\"string\"}}", 0, NULL);
  char *g = NULL;
  al_error e = {0};
  al_schema_caps caps = {.string_cap = 300, .array_cap = 2};
  assert_int_equal(al_schema_to_gbnf_caps(s, &caps, &g, &e), 0);
  assert_non_null(strstr(g, "str-0-300 ::= "));
  assert_non_null(strstr(g, "{0,1}")); /* two items at most */
  al_free(g);
  assert_int_equal(al_schema_to_gbnf(s, &g, &e), 0); /* defaults: 96 characters, 8 items */
  assert_non_null(strstr(g, "str-0-96 ::= "));
  assert_non_null(strstr(g, "{0,7}"));
  al_free(g);
  json_decref(s);
}

static void schema_rejections(void **state) {
  struct {
    const char *schema;
    int code;
    const char *msg;
  } cases[] = {
      {"{\"$ref\":\"#/$defs/a\"}", -6, "at #: unsupported keyword '$ref'"},
      {"{\"allOf\":[{}]}", -6, "unsupported keyword 'allOf'"},
      {"{\"type\":\"object\",\"properties\":{\"a~b/c\":{\"not\":{}}}}", -6,
       "at #/properties/a~0b~1c: unsupported keyword 'not'"},
      {"{\"type\":\"array\",\"items\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"date\"}]}}", -2,
       "at #/items/anyOf/1: unknown type 'date'"},
      {"{\"type\":\"integer\",\"minimum\":5}", -6, "cannot express minimum 5"},
      {"{\"type\":\"integer\",\"maximum\":5}", -6, "unsupported keyword 'maximum'"},
      {"{\"type\":\"string\",\"minLength\":5,\"maxLength\":2}", -2,
       "minLength 5 is larger than maxLength 2"},
      {"{\"type\":\"string\",\"maxLength\":100000}", -7, "'maxLength' 100000 is larger"},
      {"{\"type\":\"array\",\"items\":[{}]}", -6, "tuple 'items'"},
      {"{\"type\":\"array\",\"uniqueItems\":true}", -6, "uniqueItems"},
      {"false", -2, "schema 'false'"},
      {"42", -2, "expected a schema"},
      {"{\"enum\":[]}", -2, "'enum' must be a non-empty array"},
      {"{\"type\":\"string\",\"anyOf\":[{}]}", -6, "combined with other keywords"},
      {"{\"required\":\"a\"}", -2, "'required' must be an array"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc;
    al_error e;
    char *g = gbnf(cases[i].schema, &rc, &e);
    if (rc != cases[i].code || !strstr(e.msg, cases[i].msg))
      fail_msg("case %zu: rc %d msg '%s'", i, rc, e.msg);
    assert_null(g);
    assert_string_equal(e.file, "json_schema");
  }
}

static void schema_depth_limit(void **state) {
  char buf[8192] = "";
  for (int i = 0; i < 40; i++)
    strcat(buf, "{\"type\":\"array\",\"items\":");
  strcat(buf, "{\"type\":\"null\"}");
  for (int i = 0; i < 40; i++)
    strcat(buf, "}");
  int rc;
  al_error e;
  char *g = gbnf(buf, &rc, &e);
  assert_int_equal(rc, -7);
  assert_null(g);
  assert_non_null(strstr(e.msg, "nested deeper"));
}

/* Every allocation of a full parse (with a schema) fails in turn: each failure must come
 * back as an error with a message, never a crash or a half-filled request (curl's
 * "torture" idea; ASan builds also catch leaks on these paths). */
static void torture_parse(void **state) {
  const char *line =
      "{\"id\":\"t\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\","
      "\"content\":null,\"tool_calls\":[{\"id\":\"x\"}]}],\"stop\":[\"a\",\"b\"],\"json_schema\":{"
      "\"type\":"
      "\"object\",\"properties\":{\"n\":{\"type\":\"string\"},\"k\":{\"type\":\"array\",\"items\":{"
      "}}}}}";
  int failures = 0;
  for (unsigned long nth = 1; nth < 400; nth++) {
    al_llama_request r;
    al_error e;
    al_torture_set(nth);
    int rc = parse(line, &r, &e);
    al_torture_set(0);
    if (rc) {
      failures++;
      assert_true(e.msg[0] != '\0');
      assert_int_equal(r.n_msgs, 0);
      assert_null(r.grammar);
    } else {
      assert_non_null(r.grammar);
    }
    al_llama_request_cleanup(&r);
  }
  assert_true(failures > 10); /* the allocations really went through al_malloc */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(request_full),         cmocka_unit_test(request_defaults),
      cmocka_unit_test(request_errors),       cmocka_unit_test(schema_object_grammar),
      cmocka_unit_test(schema_optional_only), cmocka_unit_test(schema_misc_types),
      cmocka_unit_test(schema_rejections),    cmocka_unit_test(schema_depth_limit),
      cmocka_unit_test(torture_parse),        cmocka_unit_test(schema_caps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
