/* Word tokenizer with folding for the text-classifying detectors (see cls_text.h).
 *
 * One cursor walks the caller's bytes. Separators are skipped while noting sentence and
 * line boundaries; a word is read while its characters are word characters, with three
 * kinds of "glue" that do not end it: an apostrophe followed by a letter (dropped), an
 * invisible character followed by more word (skipped; zero-width joiners are a classic way
 * to hide a word from a filter), and -- in LEET mode -- symbols standing for letters.
 * Invalid UTF-8 decodes as U+FFFD, which is a separator, so any input is accepted.
 */
#include "scan/detectors/cls_text.h"

#include <string.h>

/* 8 bytes at a time, multiply-xorshift mixing: tokens are short, so this is a few steps. */
uint64_t cls_hash(const void *s, size_t n) {
  const unsigned char *p = s;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  if (n) {
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
  }
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return h;
}

uint32_t cls_utf8(const char *text, size_t len, size_t i, size_t *n) {
  const unsigned char *s = (const unsigned char *)text + i;
  size_t left = len - i;
  unsigned char c = s[0];
  *n = 1;
  if (c < 0x80) return c;
  size_t need;
  uint32_t cp, min;
  if ((c & 0xe0) == 0xc0) need = 2, cp = c & 0x1f, min = 0x80;
  else if ((c & 0xf0) == 0xe0) need = 3, cp = c & 0x0f, min = 0x800;
  else if ((c & 0xf8) == 0xf0) need = 4, cp = c & 0x07, min = 0x10000;
  else return 0xfffd;
  if (left < need) return 0xfffd;
  for (size_t k = 1; k < need; k++) {
    if ((s[k] & 0xc0) != 0x80) return 0xfffd;
    cp = (cp << 6) | (s[k] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0xfffd;
  *n = need;
  return cp;
}

/* Characters that render as nothing (or only change direction): skipped inside words. */
static int is_invisible(uint32_t cp) {
  return cp == 0x00ad || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff ||
         (cp >= 0xe0000 && cp <= 0xe007f);
}

static int is_apostrophe(uint32_t cp) {
  return cp == '\'' || cp == 0x2019 || cp == 0x2018 || cp == 0x02bc;
}

/* Non-ASCII code points that separate words: punctuation, symbols, spaces, emoji. */
static int is_uni_sep(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0xbf) || cp == 0xd7 || cp == 0xf7 ||
         (cp >= 0x2000 && cp <= 0x2bff) || (cp >= 0x3000 && cp <= 0x303f) ||
         (cp >= 0xfe10 && cp <= 0xfe6f) || (cp >= 0xff00 && cp <= 0xff0f) ||
         (cp >= 0xff1a && cp <= 0xff20) || (cp >= 0xff3b && cp <= 0xff40) ||
         (cp >= 0xff5b && cp <= 0xff65) || cp == 0xfffd || (cp >= 0x1f000 && cp <= 0x1faff) ||
         (cp >= 0xe000 && cp <= 0xf8ff);
}

static int is_alnum(uint32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
}

static int is_word_cp(uint32_t cp) {
  if (cp < 0x80) return is_alnum(cp);
  return !is_uni_sep(cp) && !is_invisible(cp);
}

static char leet_digit(char c) {
  switch (c) {
  case '0': return 'o';
  case '1': return 'i';
  case '3': return 'e';
  case '4': return 'a';
  case '5': return 's';
  case '7': return 't';
  case '8': return 'b';
  case '9': return 'g';
  default: return c;
  }
}

void cls_tok_init(cls_tokenizer *t, const char *text, size_t len, unsigned mode) {
  t->text = text ? text : "";
  t->len = text ? len : 0;
  t->pos = 0;
  t->mode = mode;
  t->pending = CLS_TF_SENT | CLS_TF_NEWLINE; /* the start of text is a boundary */
}

static void put(cls_tok *o, const char *b, size_t n) {
  if (o->len + n > CLS_TOK_MAX) {
    o->flags |= CLS_TF_LONG;
    return;
  }
  memcpy(o->s + o->len, b, n);
  o->len += (unsigned)n;
}

static void put_cp(cls_tok *o, uint32_t cp) {
  char b[4];
  size_t n;
  if (cp >= 'A' && cp <= 'Z') cp += 32;
  else if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7) cp += 32; /* Latin-1 capitals */
  if (cp < 0x80) b[0] = (char)cp, n = 1;
  else if (cp < 0x800) b[0] = (char)(0xc0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
  else if (cp < 0x10000)
    b[0] = (char)(0xe0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
    b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
  else
    b[0] = (char)(0xf0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
  put(o, b, n);
}

/* Finish a token: leet-fold digits (only in words that have letters), skeleton, hashes. */
static void finish(cls_tokenizer *t, cls_tok *o, int has_alpha) {
  /* Leetspeak only in words that are mostly letters ("sh1t", "b1tch"), not in codes such
   * as "A55" or "4x4". */
  unsigned letters = 0, digits = 0;
  for (unsigned i = 0; (t->mode & CLS_MODE_LEET) && i < o->len; i++) {
    char c = o->s[i];
    letters += (c >= 'a' && c <= 'z');
    digits += (c >= '0' && c <= '9');
  }
  if ((t->mode & CLS_MODE_LEET) && has_alpha && digits && letters >= 2 && letters >= digits) {
    for (unsigned i = 0; i < o->len; i++) {
      char c = leet_digit(o->s[i]);
      if (c != o->s[i]) o->s[i] = c, o->flags |= CLS_TF_LEET;
    }
  }
  o->s[o->len] = '\0';
  o->h = cls_hash(o->s, o->len);
  o->hskel = o->h;
  if (!(t->mode & CLS_MODE_LEET)) return; /* skeletons serve the fuzzy (toxicity) lists only */
  char sk[CLS_TOK_MAX + 1];
  unsigned k = 0, run = 0;
  for (unsigned i = 0; i < o->len; i++) {
    if (k && sk[k - 1] == o->s[i]) {
      if (++run >= 3 && ((o->s[i] | 32) >= 'a' && (o->s[i] | 32) <= 'z')) o->flags |= CLS_TF_ELONG;
      continue;
    }
    run = 1;
    sk[k++] = o->s[i];
  }
  o->hskel = cls_hash(sk, k);
}

static int is_unit(const cls_tokenizer *t, size_t p) {
  if (p >= t->len) return 0;
  unsigned char c = (unsigned char)t->text[p];
  if (is_alnum(c)) return 1;
  return (t->mode & CLS_MODE_LEET) && (c == '@' || c == '$');
}

static char fold_unit(char c) {
  if (c >= 'A' && c <= 'Z') return (char)(c + 32);
  if (c == '@') return 'a';
  if (c == '$') return 's';
  return c;
}

/* "f.u.c.k" / "f u c k": at least three single characters split by one repeated separator. */
static int try_join(cls_tokenizer *t, cls_tok *o) {
  size_t p = t->pos;
  if (!is_unit(t, p) || is_unit(t, p + 1) || p + 2 >= t->len) return 0;
  char sep = t->text[p + 1];
  if (sep != '.' && sep != '-' && sep != '_' && sep != ' ') return 0;
  char buf[CLS_TOK_MAX];
  unsigned k = 0;
  size_t end = p;
  int alpha = 0;
  for (;;) {
    if (!is_unit(t, p) || is_unit(t, p + 1)) break;
    char c = fold_unit(t->text[p]);
    alpha |= (c >= 'a' && c <= 'z');
    buf[k++] = c;
    end = p + 1;
    if (k >= CLS_TOK_MAX) break;
    if (p + 2 < t->len && t->text[p + 1] == sep && is_unit(t, p + 2)) p += 2;
    else break;
  }
  if (k < 3) return 0;
  memcpy(o->s, buf, k);
  o->len = k;
  o->start = t->pos;
  o->end = end;
  o->flags |= CLS_TF_JOINED;
  t->pos = end;
  finish(t, o, alpha);
  return 1;
}

int cls_tok_next(cls_tokenizer *t, cls_tok *o) {
  size_t n;
  uint32_t cp, prev = 0;
  const int leet = (t->mode & CLS_MODE_LEET) != 0;
  /* Skip separators, noting boundaries. */
  while (t->pos < t->len) {
    cp = cls_utf8(t->text, t->len, t->pos, &n);
    if (is_word_cp(cp)) break;
    if (leet && (cp == '@' || cp == '$') && is_unit(t, t->pos + 1)) break;
    if (cp == '\n') {
      t->pending |= CLS_TF_NEWLINE;
      if (prev == '\n') t->pending |= CLS_TF_SENT;
    } else if (cp == '.' || cp == '!' || cp == '?' || cp == 0x3002 || cp == 0xff01 || cp == 0xff1f) {
      size_t m;
      uint32_t nx = t->pos + n < t->len ? cls_utf8(t->text, t->len, t->pos + n, &m) : ' ';
      if (!is_word_cp(nx)) t->pending |= CLS_TF_SENT;
    }
    if (cp != ' ' && cp != '\t' && cp != '\r') prev = cp;
    t->pos += n;
  }
  if (t->pos >= t->len) return 0;
  memset(o, 0, offsetof(cls_tok, s));
  o->s[0] = '\0';
  o->flags = t->pending;
  t->pending = 0;
  if ((t->mode & CLS_MODE_JOIN) && try_join(t, o)) return 1;

  int has_alpha = 0;
  size_t p = t->pos;
  o->start = p;
  while (p < t->len) {
    unsigned char b = (unsigned char)t->text[p];
    if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z')) {
      has_alpha |= !(b >= '0' && b <= '9');
      if (o->len < CLS_TOK_MAX) o->s[o->len++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
      else o->flags |= CLS_TF_LONG;
      p++;
      continue;
    }
    cp = cls_utf8(t->text, t->len, p, &n);
    size_t m = 0;
    uint32_t nx = p + n < t->len ? cls_utf8(t->text, t->len, p + n, &m) : 0;
    if (is_word_cp(cp)) {
      has_alpha |= !(cp >= '0' && cp <= '9');
      put_cp(o, cp);
    } else if (is_apostrophe(cp) && o->len && nx && is_word_cp(nx) && !(nx >= '0' && nx <= '9')) {
      /* dropped: "can't" -> "cant" */
    } else if (is_invisible(cp) && o->len) {
      /* skipped inside a word, as long as more word follows the invisible run */
      size_t q = p + n, qn;
      while (q < t->len && is_invisible(cls_utf8(t->text, t->len, q, &qn))) q += qn;
      if (q >= t->len || !is_word_cp(cls_utf8(t->text, t->len, q, &qn))) break;
    } else if (leet && (cp == '@' || cp == '$') && (o->len || is_alnum(nx))) {
      put(o, cp == '@' ? "a" : "s", 1);
      o->flags |= CLS_TF_LEET;
      has_alpha = 1;
    } else if (leet && (cp == '!' || cp == '|') && o->len && is_alnum(nx) && !(nx >= '0' && nx <= '9')) {
      put(o, "i", 1);
      o->flags |= CLS_TF_LEET;
    } else if (leet && cp == '*' && o->len && (is_alnum(nx) || nx == '*')) {
      size_t q = p + 1;
      while (q < t->len && t->text[q] == '*') q++;
      if (q >= t->len || !is_alnum((unsigned char)t->text[q])) break;
      put(o, "*", 1);
      o->flags |= CLS_TF_MASK;
    } else {
      break;
    }
    p += n;
  }
  if (p == t->pos) { /* cannot happen for a word start, but never loop forever */
    t->pos += n ? n : 1;
    return cls_tok_next(t, o);
  }
  o->end = p;
  t->pos = p;
  finish(t, o, has_alpha);
  return 1;
}
