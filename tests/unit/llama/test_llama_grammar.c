/* The grammars from src/llama/schema_gbnf.c, run through llama.cpp's own grammar engine.
 *
 * For each schema: llama_sampler_init_grammar must accept the GBNF, every JSON document
 * that validates must be walkable token by token (each token allowed, then end-of-text
 * allowed), and documents that do not validate must hit a rejected token. The vocabulary
 * is stories260K's (byte fallback, so any text tokenizes). Needs the llama.cpp cache. */
#include <ggml-backend.h>
#include <llama.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "airlock/util.h"
#include "llama/schema_gbnf.h"

static struct llama_model *model;
static const struct llama_vocab *vocab;
static llama_token byte_tok[256]; /* a token whose text is exactly that one byte */

static void quiet(enum ggml_log_level l, const char *t, void *u) { (void)l, (void)t, (void)u; }

static int setup(void **state) {
  const char *shared = getenv("AIRLOCK_SHARED");
  char path[4096];
  if (!shared) return -1;
  snprintf(path, sizeof path, "%s/models/stories260K.gguf", shared);
  llama_log_set(quiet, NULL);
  ggml_backend_load_all_from_path(AL_LLAMA_LIBDIR);
  struct llama_model_params mp = llama_model_default_params();
  mp.vocab_only = true;
  model = llama_model_load_from_file(path, mp);
  if (!model) return -1;
  vocab = llama_model_get_vocab(model);
  /* Documents are fed one byte-token at a time: SentencePiece tokenization would add a
   * leading space, and the point here is the grammar, not the tokenizer. */
  for (int t = llama_vocab_n_tokens(vocab) - 1; t >= 0; t--) {
    char piece[8];
    if (llama_token_to_piece(vocab, t, piece, sizeof piece, 0, false) == 1)
      byte_tok[(unsigned char)piece[0]] = t;
  }
  return 0;
}

static int teardown(void **state) {
  llama_model_free(model);
  return 0;
}

static char *grammar_of(const char *schema) {
  json_t *s = json_loads(schema, JSON_DECODE_ANY, NULL);
  assert_non_null(s);
  char *g = NULL;
  al_error e = {0};
  int rc = al_schema_to_gbnf(s, &g, &e);
  json_decref(s);
  if (rc) fail_msg("schema %s: %s", schema, e.msg);
  return g;
}

/* Walk doc through the grammar: 1 = accepted completely, 0 = some token rejected. */
static int accepts(const char *grammar, const char *doc) {
  struct llama_sampler *g = llama_sampler_init_grammar(vocab, grammar, "root");
  assert_non_null(g);
  int n_vocab = llama_vocab_n_tokens(vocab);
  llama_token toks[4096];
  int n = 0;
  for (const char *p = doc; *p && n < 4095; p++) {
    toks[n] = byte_tok[(unsigned char)*p];
    assert_true(toks[n++] > 0);
  }
  toks[n++] = llama_vocab_eos(vocab);
  llama_token_data *cand = al_malloc(sizeof *cand * (size_t)n_vocab);
  int ok = 1;
  for (int i = 0; i < n && ok; i++) {
    for (int v = 0; v < n_vocab; v++)
      cand[v] = (llama_token_data){v, 0.0f, 0.0f};
    llama_token_data_array arr = {cand, (size_t)n_vocab, -1, false};
    llama_sampler_apply(g, &arr);
    ok = 0;
    for (size_t v = 0; v < arr.size; v++)
      if (arr.data[v].id == toks[i] && arr.data[v].logit > -INFINITY) ok = 1;
    if (ok && i + 1 < n) llama_sampler_accept(g, toks[i]);
  }
  al_free(cand);
  llama_sampler_free(g);
  return ok;
}

static void rejects_broken_gbnf(void **state) {
  /* the check above can fail: llama.cpp refuses a broken grammar */
  assert_null(llama_sampler_init_grammar(vocab, "root ::= (\"a\"", "root"));
}

static const struct {
  const char *schema;
  const char *good[4];
  const char *bad[4];
} cases[] = {
    {"{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":8},"
     "\"age\":{\"type\":\"integer\",\"minimum\":0}},\"required\":[\"name\",\"age\"],"
     "\"additionalProperties\":false}",
     {"{\"name\":\"Lily\",\"age\":3}", "{ \"name\" : \"a\\\"b\" , \"age\" : 0 }",
      "{\n  \"name\": \"\",\n  \"age\": 12\n}"},
     {"{\"age\":3,\"name\":\"Lily\"}" /* members come in schema order */, "{\"name\":\"Lily\"}",
      "{\"name\":\"123456789\",\"age\":1}", "{\"name\":\"x\",\"age\":-1}"}},
    {"{\"properties\":{\"a\":{\"type\":\"boolean\"},\"b\":{\"type\":\"null\"}}}",
     {"{}", "{\"a\":true}", "{\"b\":null}", "{\"a\":false,\"b\":null}"},
     {"{,\"b\":null}", "{\"a\":1}", "{\"b\":null,\"a\":true}", "{\"a\":true,}"}},
    {"{\"type\":\"array\",\"items\":{\"enum\":[\"red\",2,null]},\"minItems\":1,\"maxItems\":3}",
     {"[\"red\"]", "[2, null, \"red\"]", "[null,null]"},
     {"[]", "[\"blue\"]", "[2,2,2,2]", "[\"red\",]"}},
    {"{\"type\":[\"number\",\"null\"]}",
     {"-1.5e3", "0", "null", "12.25"},
     {"01", "1.", "+1", "nul"}},
    {"{\"anyOf\":[{\"const\":{\"k\":[1,2]}},{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}]"
     "}",
     {"{\"k\":[1,2]}", "\"ab\"", "\"abc\""},
     {"\"a\"", "\"abcd\"", "{\"k\":[1]}"}},
    {"{}", {"{\"x\":[1,{\"y\":\"z\"}]}", "true", "[]", "\"s\""}, {"{x:1}", "[1,]", "tru"}},
};

static void schemas_walk(void **state) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *g = grammar_of(cases[i].schema);
    for (int j = 0; j < 4 && cases[i].good[j]; j++)
      if (!accepts(g, cases[i].good[j]))
        fail_msg("schema %zu rejects valid %s\n%s", i, cases[i].good[j], g);
    for (int j = 0; j < 4 && cases[i].bad[j]; j++)
      if (accepts(g, cases[i].bad[j]))
        fail_msg("schema %zu accepts invalid %s\n%s", i, cases[i].bad[j], g);
    al_free(g);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rejects_broken_gbnf),
      cmocka_unit_test(schemas_walk),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
