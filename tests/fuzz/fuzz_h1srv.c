/* Fuzz target: the guard's HTTP/1.1 server (src/http/h1srv.c) on a connection without a
 * socket. Arbitrary bytes are fed in pieces whose size comes from the input (first byte);
 * each request is answered at once, streamed at once, or held and answered before the next
 * piece (as its URL's length says), so that pipelined bytes wait behind a pending request.
 * A request still held when the connection goes must get its close callback. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1srv.h"

static al_h1req *held;
static size_t seen;

static void on_close(al_h1req *r, void *ud) {
  if (r != held) abort(); /* only the request that waits has a close callback */
  held = NULL;
}

static void handler(al_h1req *r, void *ud) {
  static const al_h1hdr h[] = {{"Content-Type", "application/json"}, {"X-Airlock-Request-Id", "g1"}};
  seen += r->url_len + r->body_len + strlen(r->url);
  if (r->authorization) seen += strlen(r->authorization);
  if (r->content_type) seen += strlen(r->content_type);
  switch (r->url_len % 3) {
  case 0:
    al_h1_reply(r, 200, h, 2, r->body, r->body_len);
    break;
  case 1:
    al_h1_stream_start(r, 200, h, 1);
    al_h1_stream_chunk(r, r->url, r->url_len);
    al_h1_stream_chunk(r, r->body, r->body_len);
    al_h1_stream_end(r, "data: [DONE]\n\n", 14);
    break;
  default:
    held = r;
    al_h1_set_closecb(r, on_close, NULL);
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size) return 0;
  al_h1_opts o = {.max_body = 4096, .max_head = 2048, .max_read_ahead = 8192, .handler = handler};
  al_h1srv *s = al_h1srv_new(NULL, &o);
  al_h1conn *c = s ? al_h1_conn_new(s) : NULL;
  size_t step = (size_t)(data[0] % 31) + 1;
  held = NULL;
  for (size_t i = 1; c && i < size; i += step) {
    if (held) { /* the answer of a held request, then the bytes behind it */
      al_h1req *r = held;
      held = NULL;
      al_h1_reply(r, 502, NULL, 0, "{}", 2);
      if (al_h1_conn_feed(c, NULL, 0)) break;
    }
    if (al_h1_conn_feed(c, (const char *)data + i, i + step > size ? size - i : step)) break;
  }
  if (c) al_h1_conn_free(c);
  if (held) abort(); /* the close callback did not run */
  al_h1srv_free(s);
  return 0;
}
