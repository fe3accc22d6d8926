/* Fuzz target for src/schema: the input is split in two halves, the first is a schema and
 * the second an instance (both JSON text). The schema is compiled (from text, and from the
 * parsed value with a registry holding the instance as a remote document) and, when it
 * compiles, applied to the instance. Must never crash, leak, or hang past the limits. */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "airlock/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t half = size / 2;
  const char *text = (const char *)data;
  al_schema *s = NULL;
  al_error err;
  json_t *inst = json_loadb(text + half, size - half, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (al_schema_compile_text(text, half, AL_SCHEMA_DRAFT_AUTO, &s, &err) == 0) {
    char why[256];
    if (inst) al_schema_validate(s, inst, why, sizeof why);
    al_schema_free(s);
    s = NULL;
  }
  json_t *sch = json_loadb(text, half, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (sch && inst) {
    al_schema_registry *r = al_schema_registry_new();
    if (r && al_schema_registry_add(r, "http://fuzz.test/remote.json", inst) == 0 &&
        al_schema_compile(sch, AL_SCHEMA_DRAFT7, r, &s, &err) == 0) {
      al_schema_validate(s, inst, NULL, 0);
      al_schema_validate(s, sch, NULL, 0);
    }
    al_schema_free(s);
    al_schema_registry_free(r);
  }
  json_decref(sch);
  json_decref(inst);
  return 0;
}
