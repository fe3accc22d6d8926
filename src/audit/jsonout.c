/* JSON string escaping and integer formatting for the audit hot path (see jsonout.h).
 * Runs of plain bytes are copied in one append; UTF-8 is validated per sequence
 * (overlongs, surrogates and code points past U+10FFFF are rejected, as jansson does). */
#include <stdint.h>
#include <string.h>

#include "airlock/error.h"
#include "audit/jsonout.h"

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
    if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
      return 0;
    if (c == 0xF0 && s[1] < 0x90) return 0;
    if (c == 0xF4 && s[1] >= 0x90) return 0;
    return 4;
  }
  return 0;
}

/* Escaped output is staged in a small local block and appended a block at a time, so an
 * escape (JSON text logged as a string has one every few bytes) costs no function call;
 * long plain runs go straight from the input. */
#define STAGE 512

static int stage_flush(al_buf *b, char *st, size_t *o) {
  int rc = *o ? al_buf_append(b, st, *o) : 0;
  *o = 0;
  return rc;
}

int al_json_put_str(al_buf *b, const char *str, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)str;
  char st[STAGE];
  size_t o = 0, i = 0;
  int rc = 0;
  st[o++] = '"';
  while (!rc && i < n) {
    size_t start = i;
    for (;;) { /* the plain run from i */
      /* eight plain bytes at a time (no byte >= 0x80, < 0x20, '"' or '\\'; the usual
       * "has a byte less than / equal to" word tricks) */
      while (n - i >= 8) {
        const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
        if ((x & high) | ((x - ones * 0x20) & ~x & high) | ((q - ones) & ~q & high) | ((bs - ones) & ~bs & high))
          break;
        i += 8;
      }
      if (i >= n) break;
      unsigned c = s[i];
      if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
        i++;
        continue;
      }
      size_t k = c >= 0x80 ? utf8_len(s + i, n - i) : 0;
      if (!k) break;
      i += k;
    }
    size_t run = i - start;
    if (run && o + run <= STAGE) {
      memcpy(st + o, s + start, run);
      o += run;
    } else if (run) {
      rc = stage_flush(b, st, &o);
      if (!rc) rc = al_buf_append(b, s + start, run);
    }
    if (rc || i >= n) break;
    /* an escape for s[i]: at most 6 bytes */
    if (o + 6 > STAGE && (rc = stage_flush(b, st, &o))) break;
    unsigned c = s[i++];
    st[o++] = '\\';
    switch (c) {
      case '"': st[o++] = '"'; break;
      case '\\': st[o++] = '\\'; break;
      case '\n': st[o++] = 'n'; break;
      case '\r': st[o++] = 'r'; break;
      case '\t': st[o++] = 't'; break;
      case '\b': st[o++] = 'b'; break;
      case '\f': st[o++] = 'f'; break;
      default:
        if (c < 0x20) {
          memcpy(st + o, "u00", 3);
          st[o + 3] = hex[c >> 4];
          st[o + 4] = hex[c & 15];
        } else {
          memcpy(st + o, "ufffd", 5); /* invalid UTF-8 byte */
        }
        o += 5;
    }
  }
  if (!rc && o + 1 > STAGE) rc = stage_flush(b, st, &o);
  if (!rc) {
    st[o++] = '"';
    rc = stage_flush(b, st, &o);
  }
  return rc;
}

int al_json_put_u64(al_buf *b, uint64_t v) {
  char tmp[24];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return al_buf_append(b, tmp + i, sizeof tmp - i);
}

int al_json_put_i64(al_buf *b, int64_t v) {
  if (v < 0) {
    int rc = al_buf_putc(b, '-');
    if (rc) return rc;
    return al_json_put_u64(b, (uint64_t)0 - (uint64_t)v);
  }
  return al_json_put_u64(b, (uint64_t)v);
}
