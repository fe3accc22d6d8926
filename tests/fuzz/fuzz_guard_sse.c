/* Fuzz target: the SSE re-framing path of the guard (named guard_sse: `sse` is the lead's
 * target for the SSE parser itself). The input is an upstream stream
 * (chat route when the first byte is even, completions when odd), fed in pieces whose
 * size comes from the second byte. It is run twice, with the template fast path on and
 * off (stream.c): what the client gets, the findings, the audit text and the return codes
 * must be the same, or the target aborts. The output must also be well-formed: it is
 * re-parsed here and every event must be JSON or [DONE]. */
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

typedef struct run {
  al_buf out, tokens, finds;
  int feed_rc, finish_rc;
} run;

static int emit(const char *b, size_t n, void *ud) { return al_buf_append(&((run *)ud)->out, b, n); }

static void token(const char *t, size_t n, void *ud) {
  run *r = ud;
  al_buf_printf(&r->tokens, "%zu:", n);
  al_buf_append(&r->tokens, t, n);
}

static void stream(int route, size_t piece, const uint8_t *data, size_t size, int tpl, run *r) {
  memset(r, 0, sizeof *r);
  al_buf_init(&r->out, 1u << 23);
  al_buf_init(&r->tokens, 1u << 22);
  al_buf_init(&r->finds, 1u << 22);
  gmap m = {0};
  gfinds all = {0};
  gstream *g = NULL;
  if (al_gstream_new(&p->out, s, route, 8, 1u << 20, &m, &all, emit, token, r, &g) == 0) {
    al_gstream_set_template(g, tpl);
    for (size_t i = 0; i < size && !r->feed_rc; i += piece)
      r->feed_rc = al_gstream_feed(g, (const char *)data + i, size - i < piece ? size - i : piece);
    if (!r->feed_rc) r->finish_rc = al_gstream_finish(g);
    size_t tl = 0;
    const char *t = al_gstream_text(g, &tl);
    al_buf_append(&r->tokens, "|text|", 6);
    al_buf_append(&r->tokens, t, tl);
    al_gstream_free(g);
  }
  for (size_t i = 0; i < all.n; i++)
    al_buf_printf(&r->finds, "%llu %llu %s %d\n", (unsigned long long)all.v[i].start,
                  (unsigned long long)all.v[i].end, all.v[i].detector, (int)all.v[i].action);
  al_gmap_cleanup(&m);
  al_gfinds_cleanup(&all);
}

static int eq(const al_buf *a, const al_buf *b) {
  return a->len == b->len && (!a->len || !memcmp(a->data, b->data, a->len));
}

static void run_free(run *r) {
  al_buf_cleanup(&r->out);
  al_buf_cleanup(&r->tokens);
  al_buf_cleanup(&r->finds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!p) {
    al_jarena_install(); /* as the guard does */
    if (al_guard_policy_load_text(policy, sizeof policy - 1, "fuzz.yaml", &p, NULL)) abort();
    if (al_scanner_new(p->out.db, &s)) abort();
  }
  if (size < 2) return 0;
  int route = data[0] & 1 ? G_ROUTE_COMPLETIONS : G_ROUTE_CHAT;
  size_t piece = (size_t)data[1] % 64 + 1;
  data += 2;
  size -= 2;
  run on, off;
  stream(route, piece, data, size, 1, &on);
  stream(route, piece, data, size, 0, &off);
  if (!eq(&on.out, &off.out) || !eq(&on.tokens, &off.tokens) || !eq(&on.finds, &off.finds) ||
      on.feed_rc != off.feed_rc || on.finish_rc != off.finish_rc)
    abort(); /* the template fast path changed what the guard does */
  al_sse out;
  al_sse_init(&out, check_event, NULL, 1u << 22);
  al_sse_feed(&out, on.out.data ? on.out.data : "", on.out.len);
  al_sse_finish(&out);
  al_sse_cleanup(&out);
  run_free(&on);
  run_free(&off);
  return 0;
}
