/* Helpers detectors call from verify(): whole-token context words, digit extraction,
 * boundary checks and notes. All of them stay within AL_SCAN_CTX bytes of the candidate so
 * block and stream mode see the same context. */
#include <stdio.h>
#include <string.h>

#include "scan/scan_internal.h"

/* Lowercase tokens (runs of letters/digits) of text[lo,hi) into toks; returns count. */
#define MAX_TOKS 48
typedef struct tok {
  size_t s, e;
} tok;

/* ASCII letters and digits: one load per byte while tokenizing (every verified candidate
 * of a detector with context words tokenizes up to 2 x AL_SCAN_CTX bytes). GNU range
 * designators, as clang and gcc accept. */
static const unsigned char alnum[256] = {['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1};
static inline bool tok_byte(char c) { return alnum[(unsigned char)c]; }

static size_t tokenize(const char *t, size_t lo, size_t hi, tok *out, size_t max) {
  size_t n = 0, i = lo;
  /* A window that starts inside a token would cut it: skip that partial token. */
  if (lo > 0 && tok_byte(t[lo - 1]))
    while (i < hi && tok_byte(t[i])) i++;
  while (i < hi && n < max) {
    while (i < hi && !tok_byte(t[i])) i++;
    size_t s = i;
    while (i < hi && tok_byte(t[i])) i++;
    if (i > s) out[n++] = (tok){s, i};
  }
  return n;
}

/* Does token k spell the next word of w (lowercase, words separated by single spaces)?
 * On success *wp moves past that word. Token bytes are letters/digits, so they never equal
 * the ' ' or NUL that ends a word. */
static bool tok_is(const char *t, tok k, const char **wp) {
  const char *w = *wp;
  for (size_t i = k.s; i < k.e; i++, w++) {
    char c = t[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (*w != c) return false;
  }
  if (*w != ' ' && *w != '\0') return false;
  *wp = w;
  return true;
}

static bool match_phrase(const char *t, const tok *toks, size_t n, size_t at, const char *w) {
  for (size_t k = at;; k++) {
    if (k >= n || !tok_is(t, toks[k], &w)) return false;
    if (*w == '\0') return true;
    w++; /* the space before the next word */
  }
}

static bool window_has(const char *t, size_t lo, size_t hi, bool cut,
                       const char *const *words) {
  tok toks[MAX_TOKS];
  /* A window cut short on the right may end inside a token; a stream may not have the
   * next byte yet, so a token touching the cut is dropped in both modes alike. */
  size_t n = tokenize(t, lo, hi, toks, MAX_TOKS);
  if (cut && n && toks[n - 1].e == hi) n--;
  /* first letters of the words: most tokens are rejected by one bit test */
  uint64_t first = 0;
  for (size_t w = 0; words[w]; w++) first |= 1ull << ((unsigned char)words[w][0] & 63);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)t[toks[i].s];
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
    if (!(first >> (c & 63) & 1)) continue;
    for (size_t w = 0; words[w]; w++)
      if (match_phrase(t, toks, n, i, words[w])) return true;
  }
  return false;
}

bool al__context_word(const char *text, size_t len, size_t start, size_t end,
                      const char *const *words) {
  size_t lo = start > AL_SCAN_CTX ? start - AL_SCAN_CTX : 0;
  size_t hi = end + AL_SCAN_CTX < len ? end + AL_SCAN_CTX : len;
  return window_has(text, lo, start, false, words) ||
         window_has(text, end, hi, hi == end + AL_SCAN_CTX, words);
}

size_t al__digits(const char *s, size_t n, char *out, size_t max, const char *allowed_seps) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (al__is_digit(c)) {
      if (k >= max) return 0;
      out[k++] = c;
    } else {
      const char *a = allowed_seps; /* a short list: faster inline than strchr */
      while (*a && *a != c) a++;
      if (!c || !*a) return 0;
    }
  }
  if (k < max) out[k] = '\0';
  return k;
}

/* The conversions notes use (%s, %.Ns, %.*s, %d, %u, %zu, %c, %%), written straight into
 * out[0,cap) with vsnprintf's result: at most cap - 1 bytes and a NUL. A note is made for
 * every verified candidate, and vsnprintf's general machinery was ~7% of a block scan of
 * PII-dense text. Returns false, having written nothing useful, for any other conversion
 * (or a NULL string): the caller then uses vsnprintf. */
static bool note_fast(char *out, size_t cap, const char *fmt, va_list ap) {
  size_t n = 0;
#define PUT(ch)                      \
  do {                               \
    char c_ = (ch); /* once, always */ \
    if (n + 1 < cap) out[n] = c_;    \
    n++;                             \
  } while (0)
/* n more bytes from src, as many as fit */
#define PUTS(src, cnt)                                            \
  do {                                                            \
    size_t k_ = (cnt);                                            \
    if (n + 1 < cap) memcpy(out + n, (src), n + k_ < cap ? k_ : cap - 1 - n); \
    n += k_;                                                      \
  } while (0)
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') { /* the literal run up to the next conversion, at once */
      const char *q = strchrnul(p, '%');
      PUTS(p, (size_t)(q - p));
      p = q - 1;
      continue;
    }
    p++;
    long prec = -1;
    if (*p == '.') {
      p++;
      if (*p == '*') {
        int v = va_arg(ap, int);
        prec = v < 0 ? -1 : v; /* a negative precision is taken as omitted */
        p++;
      } else {
        if (!al__is_digit(*p)) return false;
        prec = 0;
        while (al__is_digit(*p) && prec < 100000) prec = prec * 10 + (*p++ - '0');
      }
    }
    unsigned long long u = 0;
    bool neg = false;
    switch (*p) {
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s) return false;
      PUTS(s, prec < 0 ? strlen(s) : strnlen(s, (size_t)prec));
      continue;
    }
    case 'c':
      if (prec >= 0) return false;
      PUT((char)va_arg(ap, int));
      continue;
    case '%':
      if (prec >= 0) return false;
      PUT('%');
      continue;
    case 'd': {
      int v = va_arg(ap, int);
      neg = v < 0;
      u = neg ? 0ull - (unsigned long long)(long long)v : (unsigned long long)v;
      break;
    }
    case 'u':
      u = va_arg(ap, unsigned);
      break;
    case 'z':
      if (p[1] != 'u') return false;
      p++;
      u = va_arg(ap, size_t);
      break;
    default:
      return false;
    }
    if (prec >= 0) return false; /* integer precision: not used by notes */
    char d[24];
    size_t k = 0;
    do {
      d[k++] = (char)('0' + u % 10);
      u /= 10;
    } while (u);
    if (neg) PUT('-');
    while (k) PUT(d[--k]);
  }
#undef PUT
#undef PUTS
  if (cap) out[n < cap ? n : cap - 1] = '\0';
  return true;
}

void al__note(al_finding *f, const char *fmt, ...) {
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  if (!note_fast(f->note, sizeof f->note, fmt, ap))
    vsnprintf(f->note, sizeof f->note, fmt, again);
  va_end(again);
  va_end(ap);
}

bool al__bounded(const char *text, size_t len, size_t s, size_t e) {
  if (s > 0 && al__is_alnum((unsigned char)text[s - 1])) return false;
  if (e < len && al__is_alnum((unsigned char)text[e])) return false;
  return true;
}

bool al__isolated(const char *t, size_t len, size_t s, size_t e) {
  if (s > 0 && al__is_alnum((unsigned char)t[s - 1])) return false;
  if (s > 1 && (t[s - 1] == '-' || t[s - 1] == '.') && al__is_digit((unsigned char)t[s - 2]))
    return false;
  if (e < len && al__is_alnum((unsigned char)t[e])) return false;
  if (e + 1 < len && (t[e] == '-' || t[e] == '.') && al__is_digit((unsigned char)t[e + 1]))
    return false;
  return true;
}
