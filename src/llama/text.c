/* UTF-8 streaming and stop-string search (see text.h).
 *
 * The decoder follows the well-formed byte sequences of RFC 3629 (table 3-7 of the Unicode
 * standard): the second byte's range depends on the lead byte, which rules out overlongs,
 * surrogates and code points past U+10FFFF -- exactly what jansson refuses to encode. An
 * ill-formed sequence is replaced by one U+FFFD per maximal ill-formed subpart.
 */
#include "llama/text.h"

#include <string.h>

#include "airlock/error.h"
#include "airlock/util.h"

static const char repl[] = "\xEF\xBF\xBD";

/* Expected length and the allowed range of the second byte for a lead byte; 0 = invalid. */
static int lead_info(unsigned char b, unsigned char *lo, unsigned char *hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b == 0xE0) *lo = 0xA0;
  if (b == 0xED) *hi = 0x9F;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b == 0xF0) *lo = 0x90;
  if (b == 0xF4) *hi = 0x8F;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

/* Decode p[0..n): append good characters and replacements to out. When hold is set, an
 * incomplete (but so far valid) tail is not written; its length is returned in *held. */
static int decode(const unsigned char *p, size_t n, bool hold, al_buf *out, size_t *held) {
  size_t i = 0, run = 0; /* run: start of the pending stretch of valid bytes */
  int rc = 0;
  *held = 0;
  while (i < n && !rc) {
    unsigned char lo, hi;
    int need = lead_info(p[i], &lo, &hi);
    if (need == 1) {
      i++;
      continue;
    }
    size_t k = 1;
    if (need > 1) {
      while (k < (size_t)need && i + k < n) {
        unsigned char c = p[i + k];
        if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
        k++;
      }
      if (k == (size_t)need) {
        i += k;
        continue;
      }
      if (i + k == n && hold) { /* valid so far, cut off by the end */
        rc = al_buf_append(out, p + run, i - run);
        *held = n - i;
        return rc;
      }
    }
    /* ill-formed: flush the good run, replace the maximal subpart (k bytes) */
    rc = al_buf_append(out, p + run, i - run);
    if (!rc) rc = al_buf_append(out, repl, 3);
    i += k;
    run = i;
  }
  if (!rc) rc = al_buf_append(out, p + run, i - run);
  return rc;
}

int al_utf8_stream_push(al_utf8_stream *u, const char *p, size_t n, al_buf *out) {
  unsigned char stackbuf[260], *joined = stackbuf, *heap = NULL;
  const unsigned char *src = (const unsigned char *)p;
  size_t total = n, held = 0;
  int rc;
  if (u->n) { /* the held tail (<= 3 bytes) goes in front of the new bytes */
    total = u->n + n;
    if (total > sizeof stackbuf) {
      heap = al_malloc(total);
      if (!heap) return AL_ENOMEM;
      joined = heap;
    }
    memcpy(joined, u->pend, u->n);
    if (n) memcpy(joined + u->n, p, n);
    src = joined;
  }
  rc = decode(src, total, true, out, &held);
  u->n = 0;
  if (!rc && held) {
    memcpy(u->pend, src + total - held, held);
    u->n = held;
  }
  al_free(heap);
  return rc;
}

int al_utf8_stream_flush(al_utf8_stream *u, al_buf *out) {
  size_t held = 0;
  int rc = u->n ? decode(u->pend, u->n, false, out, &held) : 0;
  u->n = 0;
  return rc;
}

int al_utf8_sanitize(const char *p, size_t n, al_buf *out) {
  size_t held = 0;
  return decode((const unsigned char *)p, n, false, out, &held);
}

long al_stop_find(const char *text, size_t len, size_t from, char *const *stop, size_t n_stop) {
  long best = -1;
  for (size_t i = 0; i < n_stop; i++) {
    size_t sl = strlen(stop[i]);
    if (sl == 0 || sl > len) continue;
    size_t start = from >= sl ? from - sl + 1 : 0;
    if (start > len - sl) continue;
    const char *hit = memmem(text + start, len - start, stop[i], sl);
    if (hit && (best < 0 || hit - text < best)) best = hit - text;
  }
  return best;
}
