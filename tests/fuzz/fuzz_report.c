/* Fuzz target "report": arbitrary bytes as a run document (JSON) through the gate and every
 * renderer, as raw text through each escaper, and as a target config through the store's
 * secret redaction. Nothing may crash, leak or read out of
 * bounds; renderers must accept any JSON shape (a store file can be edited by hand). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "airlock/buf.h"
#include "airlock/report.h"
#include "report/escape.h"
#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20)) return 0;
  al_buf b;
  al_buf_init(&b, 8 * size + 64);
  al_esc_term(&b, (const char *)data, size);
  al_buf_reset(&b);
  al_esc_xml(&b, (const char *)data, size, 1);
  al_buf_reset(&b);
  al_esc_md(&b, (const char *)data, size);
  al_buf_cleanup(&b);
  json_decref(al_json_text((const char *)data, size));

  char *text = malloc(size + 1), *clean = NULL;
  if (text) {
    memcpy(text, data, size);
    text[size] = '\0';
    al_store__redact_target(text, &clean, NULL);
    free(clean);
    free(text);
  }

  json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (!doc) return 0;
  json_t *sum = NULL;
  if (al_gate_compute(doc, json_object_get(json_object_get(doc, "run"), "thresholds"), &sum) == 0)
    json_decref(sum);
  for (const char *const *f = al_report_formats; *f; f++) {
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    if (!fp) break;
    al_error err;
    al_report_render(doc, *f, fp, &err);
    fclose(fp);
    free(out);
  }
  json_decref(doc);
  return 0;
}
