/* Fuzz target: the SSE parser fed arbitrary bytes three ways: whole, in chunks whose size
 * comes from the input itself (first byte), and one byte at a time, then finished. How the
 * bytes are cut must not matter: the events (name and data) and whether the parser refused
 * the input are compared, and a difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/sse.h"

static int cb(const char *ev, const char *data, size_t len, void *ud) {
  al_buf *b = ud;
  int rc = al_buf_append(b, ev, strlen(ev) + 1);
  if (!rc) rc = al_buf_append(b, data, len);
  if (!rc) rc = al_buf_putc(b, '\0');
  return rc ? 0 : 0; /* the record buffer has room for any event of 4 KiB */
}

static int run(const uint8_t *data, size_t size, size_t step, al_buf *out) {
  al_sse p;
  int rc = 0;
  al_sse_init(&p, cb, out, 4096);
  for (size_t i = 0; i < size && !rc; i += step)
    rc = al_sse_feed(&p, (const char *)data + i, i + step > size ? size - i : step);
  if (!rc) rc = al_sse_finish(&p);
  al_sse_cleanup(&p);
  return rc != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size) return 0;
  size_t step = (data[0] % 17) + 1;
  al_buf a, b, c;
  al_buf_init(&a, 1u << 24);
  al_buf_init(&b, 1u << 24);
  al_buf_init(&c, 1u << 24);
  int ra = run(data + 1, size - 1, size, &a), rb = run(data + 1, size - 1, step, &b),
      rc = run(data + 1, size - 1, 1, &c);
  if (ra != rb || ra != rc || a.len != b.len || a.len != c.len || (a.len && (memcmp(a.data, b.data, a.len) ||
                                                                           memcmp(a.data, c.data, a.len))))
    abort();
  al_buf_cleanup(&a);
  al_buf_cleanup(&b);
  al_buf_cleanup(&c);
  return 0;
}
