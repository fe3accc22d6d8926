/* Fuzz target: the jail policy loader (YAML via libfyaml, then the key table). Any input
 * must either load into a policy or fail with a located error -- never crash, leak or
 * read out of bounds. A loaded policy is also checked to be valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/jail.h"
#include "jail/jail_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  al_jail_policy *p = NULL;
  al_error e;
  al_error_clear(&e);
  int rc = al_jail_policy_load_text((const char *)data, size, "fuzz.yaml", &p, &e);
  if (rc == 0) {
    if (!p || al_jail_policy_validate(p, NULL) != 0) abort();
  } else if (p || e.code != rc) {
    abort();
  }
  al_jail_policy_free(p);
  return 0;
}
