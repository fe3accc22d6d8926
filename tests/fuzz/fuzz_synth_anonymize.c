/* Fuzz target: the anonymising import never crashes, leaks or loops on any input. The
 * first byte picks the format (even: JSON lines, odd: CSV); the rest is the file. The
 * anonymizer (compiled pii detectors) is built once and reused, as a service would. */
#include <stdint.h>
#include <stdlib.h>

#include "airlock/synth.h"
#include "airlock/util.h"

static al_anonymizer *anz;

static void drop(void) { al_anonymizer_free(anz); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *out = NULL;
  al_error e;
  if (!anz) {
    if (al_anonymizer_new(1, &anz, NULL)) return 0;
    atexit(drop);
  }
  if (size < 1) return 0;
  al_anon_format f = (data[0] & 1) ? AL_ANON_CSV : AL_ANON_JSONL;
  if (al_anonymizer_run(anz, (const char *)data + 1, size - 1, f, "fuzz", &out, NULL, NULL, &e) ==
      0)
    al_free(out);
  return 0;
}
