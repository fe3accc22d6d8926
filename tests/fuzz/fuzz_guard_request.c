/* Fuzz target: client request bodies (chat and completions) through the parser and the
 * input pipeline, and the same bytes as an upstream answer through the output checks; each
 * once with the JSON fast path (src/guard/jfast.c) and once with jansson alone, which must
 * agree on everything (guard_jfast_diff.c): a difference aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/guard.h"
#include "guard/guard_int.h"
#include "guard_jfast_diff.h"

static al_guard_policy *p;
static al_scanner *in, *out;

static const char policy[] =
    "listen: 127.0.0.1:0\n"
    "upstream: {base_url: 'http://127.0.0.1:9/v1'}\n"
    "input:\n"
    "  - {detectors: [pii.ipv4, pii.credit_card], action: redact, reversible: true}\n"
    "  - {detectors: [secret.aws_access_key], action: block}\n"
    "output:\n"
    "  - {detectors: [pii.ipv4], action: redact}\n"
    "  - {detectors: [canary], action: block}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!p) {
    if (al_guard_policy_load_text(policy, sizeof policy - 1, "fuzz.yaml", &p, NULL)) abort();
    if (al_scanner_new(p->in.db, &in) || al_scanner_new(p->out.db, &out)) abort();
  }
  char why[400];
  if (al_test_jfast_diff(p, in, out, (const char *)data, size, why, sizeof why, NULL) == 1) {
    fprintf(stderr, "%s\n", why);
    abort();
  }
  return 0;
}
