/* JSON string escaping and integer formatting for the audit hot path (see jsonout.h).
 * Runs of plain bytes are copied in one append; UTF-8 is validated per sequence
 * (overlongs, surrogates and code points past U+10FFFF are rejected, as jansson does). */
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

int al_json_put_str(al_buf *b, const char *str, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)str;
  int rc = al_buf_putc(b, '"');
  size_t i = 0, run = 0;
  while (!rc && i < n) {
    unsigned c = s[i];
    size_t k = 1;
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0x80) {
      k = utf8_len(s + i, n - i);
      if (k) {
        i += k;
        continue;
      }
    }
    /* flush the plain run before i, then write an escape for s[i] */
    rc = al_buf_append(b, s + run, i - run);
    if (rc) break;
    char esc[8];
    size_t el = 2;
    esc[0] = '\\';
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        if (c < 0x20) {
          memcpy(esc, "\\u00", 4);
          esc[4] = hex[c >> 4];
          esc[5] = hex[c & 15];
          el = 6;
        } else {
          memcpy(esc, "\\ufffd", 6); /* invalid UTF-8 byte */
          el = 6;
        }
    }
    rc = al_buf_append(b, esc, el);
    i++;
    run = i;
  }
  if (!rc) rc = al_buf_append(b, s + run, n - run);
  if (!rc) rc = al_buf_putc(b, '"');
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
