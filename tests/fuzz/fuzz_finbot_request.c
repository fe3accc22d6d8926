/* Fuzz target for finbot's request path: bytes -> fb_request_parse -> fb_answer_compute
 * (v1 and v2) -> fb_render (JSON and SSE). Checks, besides not crashing or leaking, that a
 * non-streaming response is always valid JSON and that every SSE event is framed as
 * "data: ...\n\n". Also runs the tokenizer and PAN masking on the raw bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "finbot/finbot.h"

static int check_json(void *ctx, const char *data, size_t len) {
  json_t *j = json_loadb(data, len, 0, NULL);
  if (!j) abort();
  json_decref(j);
  return 0;
}

static int check_sse(void *ctx, const char *data, size_t len) {
  if (len < 8 || memcmp(data, "data: ", 6) || memcmp(data + len - 2, "\n\n", 2)) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = al_malloc(size + 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  copy[size] = '\0';
  size_t n = fb_tokenize(copy, size, NULL, 0);
  if (size && n == 0) abort();
  fb_mask_pans(copy, size);
  al_free(copy);

  fb_request rq;
  al_error err;
  const char *param = NULL;
  if (fb_request_parse(&rq, (const char *)data, size, &err, &param) != 0) return 0;
  for (int v = FB_V1; v <= FB_V2; v++) {
    fb_config cfg = {.version = (fb_version)v, .seed = 1};
    fb_answer a;
    fb_answer_init(&a);
    if (fb_answer_compute(&rq, &cfg, &a) == 0) {
      int stream = rq.stream;
      rq.stream = 0;
      fb_render(&rq, &a, &cfg, 42, check_json, NULL);
      rq.stream = 1;
      fb_render(&rq, &a, &cfg, 42, check_sse, NULL);
      rq.stream = stream;
    }
    fb_answer_cleanup(&a);
  }
  fb_request_cleanup(&rq);
  return 0;
}
