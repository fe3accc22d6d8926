/* Fuzz target: the locale word-list parser (data/locales/<code>.txt) never crashes or leaks;
 * every outcome is a locale or an error with a line. */
#include <stdint.h>
#include <stdlib.h>

#include "airlock/util.h"
#include "synth/synth_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  synth_locale *l = al_calloc(1, sizeof *l);
  al_error e;
  if (!l) return 0;
  synth_locale_parse(l, (const char *)data, size, "fuzz.txt", &e);
  synth_locale_free(l);
  return 0;
}
