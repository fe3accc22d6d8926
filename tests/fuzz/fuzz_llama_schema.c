/* Fuzz target: JSON Schema -> GBNF (src/llama/schema_gbnf.c) on any JSON value, and the
 * UTF-8 streaming of src/llama/text.c on the raw bytes: split anywhere, the streamed
 * output must equal the one-shot sanitised text and always be valid UTF-8 (jansson is the
 * judge, as it is for the worker's events). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "llama/schema_gbnf.h"
#include "llama/text.h"

static void check_utf8(const uint8_t *data, size_t size) {
  al_buf whole, streamed;
  al_utf8_stream u = {0};
  al_buf_init(&whole, 1u << 24);
  al_buf_init(&streamed, 1u << 24);
  if (al_utf8_sanitize((const char *)data, size, &whole) != 0) abort();
  size_t step = size ? 1 + data[0] % 7 : 1;
  for (size_t i = 0; i < size; i += step) {
    size_t k = size - i < step ? size - i : step;
    if (al_utf8_stream_push(&u, (const char *)data + i, k, &streamed) != 0) abort();
  }
  if (al_utf8_stream_flush(&u, &streamed) != 0) abort();
  if (whole.len != streamed.len || (whole.len && memcmp(whole.data, streamed.data, whole.len) != 0))
    abort();
  json_t *s = json_stringn(whole.data ? whole.data : "", whole.len);
  if (!s) abort();
  json_decref(s);
  al_buf_cleanup(&whole);
  al_buf_cleanup(&streamed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_utf8(data, size);
  json_t *schema = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
  if (!schema) return 0;
  char *g = NULL;
  al_error err = {0};
  int rc = al_schema_to_gbnf(schema, &g, &err);
  if (rc == 0 && (!g || !strstr(g, "root ::= "))) abort();
  if (rc != 0 && (g || err.msg[0] == '\0')) abort();
  al_free(g);
  json_decref(schema);
  return 0;
}
