/* Fuzz target: client request bodies (chat and completions) through the parser and the
 * input pipeline, and the same bytes as an upstream answer through the output checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/guard.h"
#include "guard/guard_int.h"

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
  for (int route = G_ROUTE_CHAT; route <= G_ROUTE_COMPLETIONS; route++) {
    greq r;
    char why[256];
    gmap m = {0};
    gfinds all = {0};
    if (al_guard_request_parse(route, (const char *)data, size, &r, why, sizeof why) == 0) {
      const gfind *blocked = NULL;
      const char *where = NULL;
      int changed = 0;
      al_guard_input(&p->in, in, &r, &m, &all, &blocked, &where, &changed);
      char *s = json_dumps(r.root, JSON_COMPACT);
      free(s);
      al_guard_request_cleanup(&r);
    }
    gout_result res;
    char *body = NULL;
    size_t len = 0;
    al_guard_output(&p->out, out, route, (const char *)data, size, &m, &all, &res, &body, &len, NULL);
    free(body);
    al_gmap_cleanup(&m);
    al_gfinds_cleanup(&all);
  }
  return 0;
}
