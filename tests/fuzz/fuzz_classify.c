/* libFuzzer target: the four text-classifying detectors over arbitrary bytes. The input is
 * split at its first NUL byte (if any) into a system prompt and an output, so the leak
 * detector's automaton is built from fuzzed prompts too. Every finding must lie inside the
 * scanned text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "scan/detectors/cls_detectors.h"

static void *st_ref, *st_tox, *st_inj;

static int check(const al_finding *f, void *ud) {
  size_t len = *(const size_t *)ud;
  if (f->start > f->end || f->end > len || f->score < 0 || f->score > 1) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  al_scan_config cfg = {0};
  al_error err;
  if (!st_ref) {
    if (al_det_refusal.init(&cfg, &st_ref, &err) || al_det_toxicity.init(&cfg, &st_tox, &err) ||
        al_det_injection.init(&cfg, &st_inj, &err))
      abort();
  }
  const char *text = (const char *)data;
  size_t len = size;
  al_det_refusal.scan_full(st_ref, text, len, check, &len);
  al_det_toxicity.scan_full(st_tox, text, len, check, &len);
  al_det_injection.scan_full(st_inj, text, len, check, &len);
  double score;
  if (al_refusal_score(text, len, &score) || score < 0 || score > 1) abort();

  const uint8_t *nul = memchr(data, 0, size);
  char *prompt = al_strndup(text, nul ? (size_t)(nul - data) : size / 2);
  if (!prompt) return 0;
  cfg.system_prompt = prompt;
  void *st_leak = NULL;
  if (al_det_leak_system_prompt.init(&cfg, &st_leak, &err) == 0) {
    const char *out = nul ? (const char *)nul + 1 : text;
    size_t olen = nul ? size - (size_t)(nul - data) - 1 : size;
    al_det_leak_system_prompt.scan_full(st_leak, out, olen, check, &olen);
    al_det_leak_system_prompt.fini(st_leak);
  }
  al_free(prompt);
  return 0;
}
