/* Fuzz target: the answer parser of the direct HTTP client (src/http/h1cli.c) fed
 * arbitrary upstream bytes without sockets. The first byte chooses the piece sizes the
 * bytes arrive in and a body limit past which the body callback refuses (the
 * max_response_bytes path); after a complete answer the rest starts another one (a
 * keep-alive connection's next answer); the end is a close (a zero-length feed). */
#include <stdint.h>
#include <string.h>

#include "http/h1cli.h"

typedef struct sink {
  size_t total, limit;
} sink;

static int body(void *ud, const char *p, size_t n) {
  sink *s = ud;
  s->total += n;
  return s->limit && s->total > s->limit;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size) return 0;
  size_t step = (size_t)(data[0] & 0x1f) + 1;
  sink s = {0, (data[0] & 0x80) ? 64 : 0};
  al_h1resp r;
  al_h1resp_init(&r, body, &s);
  const char *p = (const char *)data + 1;
  size_t left = size - 1;
  int st = AL_H1_MORE;
  while (left) {
    size_t n = left < step ? left : step, used;
    st = al_h1resp_feed(&r, p, n, &used);
    if (st == AL_H1_DONE) { /* the next answer begins after what this one used */
      if (used > n) __builtin_trap();
      p += used;
      left -= used;
      if (r.status < 100 || r.status > 999 || r.content_type[sizeof r.content_type - 1]) __builtin_trap();
      al_h1resp_init(&r, body, &s);
      if (!used) break;
      continue;
    }
    if (st != AL_H1_MORE) break;
    p += n;
    left -= n;
  }
  if (st == AL_H1_MORE) {
    size_t used;
    st = al_h1resp_feed(&r, "", 0, &used);
    if (st == AL_H1_MORE) __builtin_trap(); /* a close always ends the answer */
  }
  return 0;
}
