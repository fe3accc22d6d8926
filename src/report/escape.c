/* Escaping of untrusted text for terminals, XML and Markdown (see escape.h).
 *
 * All three share one decoder: the text is walked code point by code point with
 * al_utf8_next(), invalid bytes become U+FFFD, and each medium decides what a code point
 * turns into. Overlong forms, surrogates and code points past U+10FFFF are invalid.
 */
#include <string.h>

#include "report/escape.h"

size_t al_utf8_next(const char *str, size_t n, uint32_t *cp) {
  const unsigned char *s = (const unsigned char *)str;
  uint32_t c = s[0], min;
  size_t len;
  *cp = 0xFFFD;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, c &= 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, c &= 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, c &= 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (s[i] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return len;
}

size_t al_utf8_prefix(const char *s, size_t n, size_t max) {
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    size_t k = al_utf8_next(s + i, n - i, &cp);
    if (!k) k = 1;
    if (i + k > max) break;
    i += k;
  }
  return i;
}

static int put_cp(al_buf *b, uint32_t c) {
  char u[4];
  size_t k;
  if (c < 0x80) {
    u[0] = (char)c, k = 1;
  } else if (c < 0x800) {
    u[0] = (char)(0xC0 | (c >> 6)), u[1] = (char)(0x80 | (c & 0x3F)), k = 2;
  } else if (c < 0x10000) {
    u[0] = (char)(0xE0 | (c >> 12)), u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    u[2] = (char)(0x80 | (c & 0x3F)), k = 3;
  } else {
    u[0] = (char)(0xF0 | (c >> 18)), u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((c >> 6) & 0x3F)), u[3] = (char)(0x80 | (c & 0x3F)), k = 4;
  }
  return al_buf_append(b, u, k);
}

json_t *al_json_text(const char *s, size_t n) {
  json_t *v = json_stringn(s, n);
  if (v) return v;
  al_buf b;
  al_buf_init(&b, n * 3 + 16);
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t k = al_utf8_next(s + i, n - i, &cp);
    if (put_cp(&b, cp) < 0) break;
    i += k ? k : 1;
  }
  v = json_stringn(b.data ? b.data : "", b.len);
  al_buf_cleanup(&b);
  return v;
}

/* C0, DEL and C1 controls. */
static int is_control(uint32_t c) { return c < 0x20 || (c >= 0x7F && c < 0xA0); }

/* Bidirectional formatting characters and invisible separators that can make text read
 * differently from what it is. */
static int is_bidi(uint32_t c) {
  return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x200E ||
         c == 0x200F || c == 0x061C || c == 0x2028 || c == 0x2029 || c == 0xFEFF;
}

/* Shared walk: each code point either gets a medium-specific escape or is copied. */
typedef int (*esc_fn)(al_buf *b, uint32_t cp, int flag);

static int walk(al_buf *b, const char *s, size_t n, esc_fn fn, int flag) {
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t k = al_utf8_next(s + i, n - i, &cp);
    int rc = fn(b, cp, flag);
    if (rc < 0) return rc;
    i += k ? k : 1;
  }
  return 0;
}

static int term_cp(al_buf *b, uint32_t c, int flag) {
  switch (c) {
  case '\n': return al_buf_puts(b, "\\n");
  case '\r': return al_buf_puts(b, "\\r");
  case '\t': return al_buf_puts(b, "\\t");
  case '\\': return flag ? al_buf_puts(b, "\\\\") : al_buf_putc(b, '\\');
  }
  if (is_control(c)) return al_buf_printf(b, "\\x%02x", (unsigned)c);
  if (is_bidi(c)) return al_buf_printf(b, "\\u{%04x}", (unsigned)c);
  return put_cp(b, c);
}

int al_esc_term(al_buf *b, const char *s, size_t n) { return walk(b, s, n, term_cp, 0); }

static int xml_cp(al_buf *b, uint32_t c, int attr) {
  switch (c) {
  case '&': return al_buf_puts(b, "&amp;");
  case '<': return al_buf_puts(b, "&lt;");
  case '>': return al_buf_puts(b, "&gt;");
  case '"': return al_buf_puts(b, "&quot;");
  case '\'': return al_buf_puts(b, "&apos;");
  case '\n': return attr ? al_buf_puts(b, "&#10;") : al_buf_putc(b, '\n');
  case '\t': return attr ? al_buf_puts(b, "&#9;") : al_buf_putc(b, '\t');
  case '\r': return al_buf_puts(b, "&#13;");
  }
  /* XML 1.0 forbids C0 controls even as references; U+FFFE/FFFF are not characters. */
  if (c < 0x20 || c == 0xFFFE || c == 0xFFFF)
    return al_buf_printf(b, "\\x%02x", (unsigned)c & 0xFF);
  /* C1 controls and bidi overrides are legal XML, but a CI page would show them raw. */
  if (is_control(c) || is_bidi(c)) return al_buf_printf(b, "\\u{%04x}", (unsigned)c);
  return put_cp(b, c);
}

int al_esc_xml(al_buf *b, const char *s, size_t n, int attr) { return walk(b, s, n, xml_cp, attr); }

static int md_cp(al_buf *b, uint32_t c, int flag) {
  switch (c) {
  case '&': return al_buf_puts(b, "&amp;");
  case '<': return al_buf_puts(b, "&lt;");
  case '>': return al_buf_puts(b, "&gt;");
  }
  if (c < 0x80 && strchr("\\`*_[]|~", (int)c) && c != 0) return al_buf_printf(b, "\\%c", (char)c);
  return term_cp(b, c, 1);
}

int al_esc_md(al_buf *b, const char *s, size_t n) { return walk(b, s, n, md_cp, 0); }
