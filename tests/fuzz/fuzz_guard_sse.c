/* Fuzz target: the SSE re-framing path of the guard (named guard_sse: `sse` is the lead's
 * target for the SSE parser itself). The input is an upstream stream
 * (chat route when the first byte is even, completions when odd), fed in pieces whose
 * size comes from the second byte; the output (what a client would get) must always be
 * well-formed: it is re-parsed here and every event must be JSON or [DONE]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/guard.h"
#include "airlock/sse.h"
#include "guard/guard_int.h"

static al_guard_policy *p;
static al_scanner *s;

static const char policy[] =
    "listen: 127.0.0.1:0\n"
    "upstream: {base_url: 'http://127.0.0.1:9/v1'}\n"
    "output:\n"
    "  - {detectors: [pii.credit_card], action: redact}\n"
    "  - {detectors: [secret.aws_access_key], action: block}\n";

static int check_event(const char *ev, const char *data, size_t len, void *ud) {
  if (len == 6 && !memcmp(data, "[DONE]", 6)) return 0;
  json_t *o = json_loadb(data, len, 0, NULL);
  if (!json_is_object(o)) abort(); /* the guard emitted something that is not JSON */
  json_decref(o);
  return 0;
}

static int emit(const char *b, size_t n, void *ud) { return al_sse_feed(ud, b, n); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!p) {
    if (al_guard_policy_load_text(policy, sizeof policy - 1, "fuzz.yaml", &p, NULL)) abort();
    if (al_scanner_new(p->out.db, &s)) abort();
  }
  if (size < 2) return 0;
  int route = data[0] & 1 ? G_ROUTE_COMPLETIONS : G_ROUTE_CHAT;
  size_t piece = (size_t)data[1] % 64 + 1;
  data += 2;
  size -= 2;
  al_sse out;
  al_sse_init(&out, check_event, NULL, 1u << 22);
  gmap m = {0};
  gfinds all = {0};
  gstream *g = NULL;
  if (al_gstream_new(&p->out, s, route, 8, 1u << 20, &m, &all, emit, NULL, &out, &g) == 0) {
    int rc = 0;
    for (size_t i = 0; i < size && !rc; i += piece)
      rc = al_gstream_feed(g, (const char *)data + i, size - i < piece ? size - i : piece);
    if (!rc) al_gstream_finish(g);
    al_gstream_free(g);
  }
  al_sse_finish(&out);
  al_sse_cleanup(&out);
  al_gmap_cleanup(&m);
  al_gfinds_cleanup(&all);
  return 0;
}
