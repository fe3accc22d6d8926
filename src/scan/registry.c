/* The detector registry: a const table built from detectors.def (X-macro), the way YARA
 * registers its modules. Adding a detector = one file in detectors/ + one row in the list. */
#include <string.h>

#include "airlock/scan.h"

#define AL_DETECTOR(sym) extern const al_detector sym;
#include "scan/detectors.def"
#undef AL_DETECTOR

static const al_detector *const registry[] = {
#define AL_DETECTOR(sym) &sym,
#include "scan/detectors.def"
#undef AL_DETECTOR
};

size_t al_detector_count(void) { return sizeof registry / sizeof registry[0]; }

const al_detector *al_detector_get(size_t i) {
  return i < al_detector_count() ? registry[i] : NULL;
}

const al_detector *al_detector_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < al_detector_count(); i++)
    if (!strcmp(registry[i]->name, name)) return registry[i];
  return NULL;
}
