/* Fuzz target: a suite's `alerts:` mapping never crashes or leaks the parser; every outcome
 * is an alerts object (not started: no worker runs until an alert fires) or an error with a
 * location. */
#include <stdint.h>
#include <stdlib.h>

#include "airlock/alerts.h"
#include "airlock/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  al_ydoc *d = NULL;
  al_alerts *a = NULL;
  al_error e;
  if (al_ydoc_load_text((const char *)data, size, "fuzz.yaml", &d, &e)) return 0;
  const json_t *root = al_ydoc_root(d);
  const json_t *node = json_is_object(root) && json_object_get(root, "alerts")
                           ? json_object_get(root, "alerts")
                           : root;
  if (node && al_alerts_parse(d, node, &a, &e) == 0) al_alerts_free(a);
  al_ydoc_free(d);
  return 0;
}
