/* Fuzz target: the guard policy loader never crashes or leaks on any YAML text (every
 * outcome is a policy or an error with a location). */
#include <stdint.h>
#include <stdlib.h>

#include "airlock/guard.h"

/* libfyaml 0.7.12 leaks the diagnostics it collects for a YAML syntax error (inside the
 * library): suppressed for LeakSanitizer so the fuzzer looks for our leaks. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfyaml.so\n"; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  al_guard_policy *p = NULL;
  al_error e;
  if (al_guard_policy_load_text((const char *)data, size, "fuzz.yaml", &p, &e) == 0) al_guard_policy_free(p);
  return 0;
}
