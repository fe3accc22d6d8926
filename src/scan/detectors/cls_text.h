/* Word tokenizer with folding, shared by the text-classifying detectors.
 *
 * Text is cut into words (ASCII letters and digits, and any non-ASCII letter) with their
 * byte offsets, folded so that surface variants meet the same lexicon key: ASCII and
 * Latin-1 letters lower-cased, apostrophes inside words dropped ("can't", "can’t" and
 * "cant" are one token), zero-width characters inside a word skipped. Two opt-in modes
 * serve toxicity matching: LEET folds digits and symbols standing for letters ("sh1t",
 * "@ss", "$hit") and keeps '*' masks inside words ("f*ck"); JOIN glues runs of single
 * letters split by one repeated separator ("f.u.c.k", "f u c k") into one token.
 *
 * Each token carries a hash of its folded form and of its "skeleton" (letter runs collapsed
 * to one letter), so "fuuuuck" can be looked up by skeleton while "as" never meets "ass".
 * The tokenizer is a cursor over the caller's text: no allocation, one pass, linear time.
 */
#ifndef AL_CLS_TEXT_H
#define AL_CLS_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "scan/detectors/cls_limits.h"

enum {
  CLS_MODE_LEET = 1u << 0, /* fold 0->o 1->i 3->e 4->a 5->s 7->t, @->a, $->s; keep '*' masks */
  CLS_MODE_JOIN = 1u << 1, /* glue "f.u.c.k" / "f u c k" into one token */
};

enum {
  CLS_TF_ELONG = 1u << 0,  /* a letter repeated 3+ times ("fuuuck") */
  CLS_TF_MASK = 1u << 1,   /* contains '*' standing for letters */
  CLS_TF_JOINED = 1u << 2, /* built from separated single letters */
  CLS_TF_LONG = 1u << 3,   /* longer than CLS_TOK_MAX: folded form truncated, never matches */
  CLS_TF_LEET = 1u << 4,   /* a digit or symbol was folded to a letter */
  CLS_TF_SENT = 1u << 5,   /* a sentence boundary (. ! ? or blank line) precedes this token */
  CLS_TF_NEWLINE = 1u << 6,/* a newline precedes this token */
};

typedef struct cls_tok {
  size_t start, end; /* byte offsets of the token in the text */
  uint64_t h;        /* hash of the folded form */
  uint64_t hskel;    /* hash of the skeleton (runs collapsed) */
  unsigned flags;
  unsigned len; /* folded length */
  char s[CLS_TOK_MAX + 1];
} cls_tok;

typedef struct cls_tokenizer {
  const char *text;
  size_t len, pos;
  unsigned mode;
  unsigned pending; /* boundary flags seen since the last token */
} cls_tokenizer;

void cls_tok_init(cls_tokenizer *t, const char *text, size_t len, unsigned mode);
/* Next token into *out: 1 when a token was produced, 0 at the end. */
int cls_tok_next(cls_tokenizer *t, cls_tok *out);

uint64_t cls_hash(const void *s, size_t n);
/* Decode one UTF-8 code point at text[i]; sets *n to its byte length (1 for invalid bytes,
 * which decode as U+FFFD). */
uint32_t cls_utf8(const char *text, size_t len, size_t i, size_t *n);

#endif
