/* JSON string escaping and integer formatting for the audit hot path (see jsonout.h).
 * Runs of plain bytes are copied in one append; UTF-8 is validated per sequence
 * (overlongs, surrogates and code points past U+10FFFF are rejected, as jansson does). */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* Output length of each byte when it stands alone: 1 plain, 2 a short escape (\" \\ \n \r
 * \t \b \f), 6 \u00XX; 0 for bytes >= 0x80, which take utf8_len (copied) or 6 (\ufffd). */
static const unsigned char out_len[256] = {
    6, 6, 6, 6, 6, 6, 6, 6, 2, 2, 2, 6, 2, 2, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

/* Eight bytes none of which needs a look (no byte >= 0x80, < 0x20, '"' or '\\'; the usual
 * "has a byte less than / equal to" word tricks). */
static int plain8(const unsigned char *s) {
  const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  uint64_t x;
  memcpy(&x, s, 8);
  uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
  return !((x & high) | ((x - ones * 0x20) & ~x & high) | ((q - ones) & ~q & high) | ((bs - ones) & ~bs & high));
}

/* Exact escaped length of s, quotes included. */
static size_t escaped_len(const unsigned char *s, size_t n) {
  size_t need = 2, i = 0;
  while (i < n) {
    if (n - i >= 8 && plain8(s + i)) {
      need += 8;
      i += 8;
      continue;
    }
    unsigned c = s[i];
    size_t k = c < 0x80 ? 0 : utf8_len(s + i, n - i);
    need += c < 0x80 ? out_len[c] : k ? k : 6;
    i += k ? k : 1;
  }
  return need;
}

/* Room first (the worst case, six bytes per input byte, for strings up to 64 KiB; else, or
 * when the worst case passes the buffer's maximum, the exact length), then the bytes
 * written in place: sixteen bytes at a time up to the first that needs a look (SSE2), then
 * that character on its own. */
int al_json_put_str(al_buf *b, const char *str, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)str;
  size_t at = b->len, i = 0;
  int rc = n <= 65536 ? al_buf_reserve(b, n * 6 + 2) : AL_ELIMIT;
  if (rc == AL_ELIMIT) rc = al_buf_reserve(b, escaped_len(s, n));
  if (rc) return rc;
  char *o = b->data + at;
  *o++ = '"';
  while (i < n) {
#ifdef __SSE2__
    if (n - i >= 16) {
      /* sixteen bytes stored as they are (there is room: at least one output byte per
       * input byte is reserved), then kept up to the first that needs a look: < 0x20 or
       * >= 0x80 (a signed compare catches both), '"' or '\\' */
      __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
      __m128i x = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                               _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
      unsigned m = (unsigned)_mm_movemask_epi8(x);
      _mm_storeu_si128((__m128i *)o, v);
      unsigned k = m ? (unsigned)__builtin_ctz(m) : 16;
      o += k;
      i += k;
      if (!m) continue;
    }
#else
    if (n - i >= 8 && plain8(s + i)) {
      memcpy(o, s + i, 8);
      o += 8;
      i += 8;
      continue;
    }
#endif
    unsigned c = s[i];
    if (c >= 0x80) {
      size_t k = utf8_len(s + i, n - i);
      if (k) {
        memcpy(o, s + i, k);
        o += k;
        i += k;
      } else {
        memcpy(o, "\\ufffd", 6); /* invalid UTF-8 byte */
        o += 6;
        i++;
      }
      continue;
    }
    i++;
    switch (out_len[c]) {
      case 1: *o++ = (char)c; break;
      case 2:
        *o++ = '\\';
        *o++ = c == '"' ? '"' : c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
        break;
      default:
        memcpy(o, "\\u00", 4);
        o[4] = hex[c >> 4];
        o[5] = hex[c & 15];
        o += 6;
    }
  }
  *o++ = '"';
  b->len = (size_t)(o - b->data);
  b->data[b->len] = '\0';
  return 0;
}

/* Two decimal digits per division (nanosecond stamps have 19). */
int al_json_put_u64(al_buf *b, uint64_t v) {
  static const char pairs[201] =
      "00010203040506070809101112131415161718192021222324"
      "25262728293031323334353637383940414243444546474849"
      "50515253545556575859606162636465666768697071727374"
      "75767778798081828384858687888990919293949596979899";
  char tmp[24];
  size_t i = sizeof tmp;
  while (v >= 100) {
    i -= 2;
    memcpy(tmp + i, pairs + 2 * (v % 100), 2);
    v /= 100;
  }
  if (v >= 10) {
    i -= 2;
    memcpy(tmp + i, pairs + 2 * v, 2);
  } else {
    tmp[--i] = (char)('0' + v);
  }
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
