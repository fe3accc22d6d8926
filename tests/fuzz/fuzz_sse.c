/* Fuzz target: the SSE parser fed arbitrary bytes in chunks whose sizes come from the
 * input itself (first byte), then finished. */
#include <stdint.h>
#include <string.h>

#include "airlock/sse.h"

static int cb(const char *ev, const char *data, size_t len, void *ud) {
  size_t *n = ud;
  *n += len + strlen(ev);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size) return 0;
  size_t step = (data[0] % 17) + 1, total = 0;
  al_sse p;
  al_sse_init(&p, cb, &total, 4096);
  for (size_t i = 1; i < size; i += step)
    if (al_sse_feed(&p, (const char *)data + i, i + step > size ? size - i : step)) break;
  al_sse_finish(&p);
  al_sse_cleanup(&p);
  return 0;
}
