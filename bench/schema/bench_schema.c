/* Benchmark of src/schema: compile time and validation throughput on three shapes that
 * Airlock meets -- a tool-call argument object (mediated tools, guard proxy), a large array
 * of records (model output in bulk) and a schema validated against the 2020-12 meta-schema
 * (suites checking their own schemas). Prints one line per case; see README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "airlock/schema.h"
#include "airlock/util.h"

static const char *tool_schema =
    "{\"type\": \"object\", \"additionalProperties\": false, \"required\": [\"to\", \"amount\"],"
    " \"properties\": {\"to\": {\"type\": \"string\", \"pattern\": "
    "\"^[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}$\"},"
    "  \"amount\": {\"type\": \"number\", \"exclusiveMinimum\": 0, \"maximum\": 10000, "
    "\"multipleOf\": 0.01},"
    "  \"currency\": {\"enum\": [\"EUR\", \"USD\", \"GBP\"]},"
    "  \"memo\": {\"type\": \"string\", \"maxLength\": 140},"
    "  \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"uniqueItems\": true}}}";
static const char *tool_inst =
    "{\"to\": \"DE89370400440532013000\", \"amount\": 125.5, \"currency\": \"EUR\","
    " \"memo\": \"rent for november\", \"tags\": [\"home\", \"monthly\"]}";

static const char *rows_schema =
    "{\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/row\"},"
    " \"$defs\": {\"row\": {\"type\": \"object\", \"properties\": {"
    "  \"id\": {\"type\": \"integer\", \"minimum\": 0}, \"name\": {\"type\": \"string\", "
    "\"minLength\": 1},"
    "  \"score\": {\"type\": \"number\"}, \"ok\": {\"type\": \"boolean\"}},"
    "  \"required\": [\"id\", \"name\"], \"unevaluatedProperties\": false}}}";

static double bench(const al_schema *s, const json_t *inst, int iters) {
  int64_t t0 = al_now_ns();
  for (int i = 0; i < iters; i++)
    if (al_schema_validate(s, inst, NULL, 0) != 1) {
      fprintf(stderr, "unexpected verdict\n");
      exit(1);
    }
  return (double)(al_now_ns() - t0) / iters;
}

static al_schema *compile(const char *text, double *ns) {
  al_schema *s = NULL;
  al_error e;
  int64_t t0 = al_now_ns();
  int n = 0;
  do {
    al_schema_free(s);
    s = NULL;
    if (al_schema_compile_text(text, strlen(text), AL_SCHEMA_DRAFT_AUTO, &s, &e) < 0) {
      fprintf(stderr, "compile: %s\n", e.msg);
      exit(1);
    }
    n++;
  } while (al_now_ns() - t0 < 200000000);
  *ns = (double)(al_now_ns() - t0) / n;
  return s;
}

int main(void) {
  double cns, vns;
  al_schema *s = compile(tool_schema, &cns);
  json_t *inst = json_loads(tool_inst, 0, NULL);
  vns = bench(s, inst, 200000);
  printf("tool-call object: compile %.1f us, validate %.2f us (%.0f validations/s)\n", cns / 1e3,
         vns / 1e3, 1e9 / vns);
  json_decref(inst);
  al_schema_free(s);

  s = compile(rows_schema, &cns);
  json_t *rows = json_array();
  for (int i = 0; i < 10000; i++)
    json_array_append_new(rows, json_pack("{s:i, s:s, s:f, s:b}", "id", i, "name", "row name",
                                          "score", i * 0.5, "ok", i & 1));
  char *text = json_dumps(rows, JSON_COMPACT);
  size_t bytes = strlen(text);
  free(text);
  vns = bench(s, rows, 50);
  printf(
      "10,000 records (%zu bytes): compile %.1f us, validate %.2f ms (%.0f MB/s, %.0f ns/record)\n",
      bytes, cns / 1e3, vns / 1e6, bytes / (vns / 1e9) / 1e6, vns / 10000);
  json_decref(rows);
  al_schema_free(s);

  s = compile("{\"$ref\": \"https://json-schema.org/draft/2020-12/schema\"}", &cns);
  json_t *sch = json_loads(rows_schema, 0, NULL);
  vns = bench(s, sch, 20000);
  printf("meta-schema check of a 9-subschema schema: compile %.1f us, validate %.2f us\n",
         cns / 1e3, vns / 1e3);
  json_decref(sch);
  al_schema_free(s);

  /* a crafted schema whose work doubles per level: the step budget ends it */
  char big[4096];
  size_t o = (size_t)snprintf(big, sizeof big, "{\"$defs\": {");
  for (int i = 0; i < 40; i++)
    o += (size_t)snprintf(big + o, sizeof big - o,
                          "\"d%d\": {\"anyOf\": [{\"$ref\": \"#/$defs/d%d\"}, "
                          "{\"$ref\": \"#/$defs/d%d\"}]}, ",
                          i, i + 1, i + 1);
  snprintf(big + o, sizeof big - o, "\"d40\": {\"type\": \"string\"}}, \"$ref\": \"#/$defs/d0\"}");
  s = compile(big, &cns);
  json_t *one = json_integer(1);
  int64_t t0 = al_now_ns();
  int rc = al_schema_validate(s, one, NULL, 0);
  printf("2^40-path anyOf chain: validate returns %d (AL_ELIMIT is %d) after %.0f ms\n", rc,
         AL_ELIMIT, (al_now_ns() - t0) / 1e6);
  json_decref(one);
  al_schema_free(s);
  return 0;
}
