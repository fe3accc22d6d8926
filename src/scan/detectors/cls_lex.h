/* Phrase lexicons: sets of word sequences matched over a token stream in one pass.
 *
 * A lexicon is an automaton whose edges are token hashes (see cls_text.h), so "ignore all
 * previous instructions" is four edges from the root, and matching is a walk over tokens, never over
 * bytes: punctuation, case, spacing and apostrophes are already folded away. Phrases are
 * written as small specs, expanded into the trie at build time:
 *
 *   ignore (all|any)? (of)? (the|your|my)? previous|prior|above instructions|rules
 *   (i am|im) sorry but
 *   pretend * are          -- '*' is any one token, '*?' is zero or one token
 *
 * A slot is a bare word, alternatives "a|b", or a parenthesised group "(a b|c)" whose
 * alternatives may be several words; a trailing '?' makes the slot optional. Each phrase
 * carries a weight, a category and a tag, handed back on a match. In a FUZZY lexicon the
 * terms of loaded word lists are also filed under their skeleton ("fuuuck" finds "fuck"),
 * their '*'-masked forms ("f*ck", "sh**") and plain inflections -- used by the toxicity
 * lists; specs spell out their own variants.
 *
 * Matching keeps up to CLS_MATCH_ACTIVE partial matches (per start token and branch)
 * in a caller-owned cls_matcher, so a scan allocates nothing and costs O(tokens x depth).
 * The lexicon is immutable after building and can be shared by threads.
 */
#ifndef AL_CLS_LEX_H
#define AL_CLS_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "airlock/error.h"
#include "scan/detectors/cls_text.h"

#define CLS_MATCH_ACTIVE 128 /* partial matches kept per matcher */
#define CLS_MATCH_FANOUT 64  /* children followed from one node per token */

enum { CLS_LEX_FUZZY = 1u << 0 };

typedef struct cls_lex_entry {
  float weight;
  int cat;
  const char *tag;  /* static or owned by the lexicon */
  unsigned ntok;    /* tokens matched (longest alternative) */
} cls_lex_entry;

typedef struct cls_lex cls_lex;

/* tok_mode: tokenizer mode used for the specs (and to be used for scanned text). */
int cls_lex_new(unsigned tok_mode, unsigned flags, cls_lex **out);
void cls_lex_free(cls_lex *lx);
/* Add one phrase. tag must outlive the lexicon unless copy_tag is set. Errors: AL_EPARSE
 * with a message naming the spec, AL_ELIMIT past CLS_LEX_MAX_NODES, AL_ENOMEM. */
int cls_lex_add(cls_lex *lx, const char *spec, float weight, int cat, const char *tag,
                int copy_tag, al_error *err);
/* Add a NULL-terminated table of specs with one weight/cat/tag. */
int cls_lex_add_all(cls_lex *lx, const char *const *specs, float weight, int cat,
                    const char *tag, al_error *err);
unsigned cls_lex_mode(const cls_lex *lx);
size_t cls_lex_size(const cls_lex *lx); /* phrases added */

/* Load a word list file: one term per line; '#' starts a comment line; optional fields
 * after a TAB: category name, then weight (0..1, default 1). Categories are looked up in
 * cats[0..ncats) (unknown names are an error with file:line); no field = category 0. */
int cls_lex_load(cls_lex *lx, const char *path, const char *const *cats, int ncats,
                 al_error *err);
/* Same, from memory; name is used in error messages. */
int cls_lex_load_mem(cls_lex *lx, const char *name, const char *data, size_t len,
                     const char *const *cats, int ncats, al_error *err);

typedef struct cls_matcher {
  const cls_lex *lx;
  unsigned n;
  struct {
    uint32_t node;
    unsigned depth;
    size_t start;
  } act[CLS_MATCH_ACTIVE];
} cls_matcher;

/* Called for each phrase ending at the fed token; return non-zero to stop. */
typedef int (*cls_match_cb)(const cls_lex_entry *e, size_t start, size_t end, void *ud);

void cls_matcher_init(cls_matcher *m, const cls_lex *lx);
void cls_matcher_reset(cls_matcher *m);
/* Returns the callback's non-zero value if it stopped, else 0. */
int cls_matcher_feed(cls_matcher *m, const cls_tok *tok, cls_match_cb cb, void *ud);

/* Convenience: tokenize text[0,len) with the lexicon's mode and report every match. */
int cls_lex_scan(const cls_lex *lx, const char *text, size_t len, cls_match_cb cb, void *ud);

#endif
