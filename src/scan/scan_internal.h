/* Internals of the scan engine shared by engine.c, pipeline.c and stream.c, plus the
 * small helpers detectors use inside verify() (context words, digit extraction, notes).
 *
 * The pipeline is the same in block and stream mode: Hyperscan reports candidate spans
 * (start via HS_FLAG_SOM_LEFTMOST), candidates are verified once enough context is
 * available, verified findings wait in a pending set until no later candidate can overlap
 * them ("clusters" of overlapping findings are closed), then each closed cluster is
 * resolved (see resolve_cluster) and its survivors are delivered in start order. */
#ifndef AL_SCAN_INTERNAL_H
#define AL_SCAN_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include "scan/hyperscan.h"
#include <pcre2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/scan.h"
#include "scan/limits.h"

/* Digit shapes (shapes.c): the exact matches of a digit-anchored pattern, computed on a
 * digit window without running Hyperscan over it. A shape is a chain of digit groups, each
 * followed by one separator byte from a set (or, where `opt`, by none) -- the same chain
 * the detector writes as its regex, e.g. \b\d{3}-\d{2}-\d{4}\b -- or a function for a
 * shape that is not such a chain (the DNI's check letter). */
#define AL_SHAPE_MAX_HITS 16
typedef struct al_shape_hits {
  unsigned n;
  size_t s[AL_SHAPE_MAX_HITS], e[AL_SHAPE_MAX_HITS];
} al_shape_hits;

typedef struct al_shape_group {
  unsigned char lo, hi; /* digits in the group: \d{lo,hi} */
  bool end;             /* the match may also end after this group (not only the last) */
  bool opt;             /* the separator after the group may be left out */
  const char *sep;      /* separator bytes allowed after the group (NULL after the last) */
} al_shape_group;

typedef struct al_digit_shape {
  unsigned n;    /* groups; the match is \b group sep group ... group \b */
  char first_lo; /* lowest first digit ('0' or 0 for any; '2' for [2-9]) */
  al_shape_group g[6];
  /* instead of groups: every match starting at or just before the digit run at w[run]
   * (rl digits long; g[0].lo <= rl <= g[0].hi) */
  void (*fn)(const char *w, size_t n, size_t run, size_t rl, al_shape_hits *h);
} al_digit_shape;

/* Add to h every (start, end) of the shape's matches in w[0,n) that starts at the digit run
 * w[run, run+rl) (or, for fn shapes, at a prefix right before it); w[-1] and w[n] are
 * readable sentinels ('_' or NUL) standing for the bytes around the window. Called for the
 * run starts from left to right, an end already reached from an earlier start must be
 * dropped (al__shape_seen): Hyperscan reports each end once, with its leftmost start. */
void al__shape_match(const al_digit_shape *d, const char *w, size_t n, size_t run, size_t rl,
                     al_shape_hits *h);
/* Classes of the byte after a digit run, for al__shape_first. */
enum { AL_SC_SPACE, AL_SC_DASH, AL_SC_DOT, AL_SC_OTHER, AL_SC_WORD };
static inline unsigned al__shape_class(char c) {
  if (c == ' ') return AL_SC_SPACE;
  if (c == '-') return AL_SC_DASH;
  if (c == '.') return AL_SC_DOT;
  unsigned char u = (unsigned char)c;
  return ((u | 32) >= 'a' && (u | 32) <= 'z') || u == '_' || (u >= '0' && u <= '9')
             ? AL_SC_WORD
             : AL_SC_OTHER;
}
/* Which classes of the byte after a first digit run of rl digits can start a match of the
 * shape (bit per AL_SC_*; 0: none). */
unsigned al__shape_first(const al_digit_shape *d, size_t rl);
/* The ends one shaped pattern reached lately: Hyperscan reports each end once, with its
 * leftmost start, so an end a later start reaches again is dropped. The ring keeps the
 * last `cap` ends (AL_SHAPE_SEEN for digit shapes, AL_ANCHOR_SEEN for anchored ones,
 * al_anchor_shape); an end above every earlier one skips the search. For digit shapes:
 * two starts reaching one end lie less than the widest shape (23 bytes) apart; between them
 * are at most 12 run starts with at most two ends each, so the last 32 ends hold any
 * earlier one. */
#define AL_SHAPE_SEEN 32
#define AL_ANCHOR_SEEN 256
typedef struct al_shape_seen {
  uint64_t e[AL_ANCHOR_SEEN];
  unsigned k, cap; /* ends added; ring size (at most AL_ANCHOR_SEEN) */
  uint64_t max;    /* the highest end so far (0: none) */
} al_shape_seen;
static inline void al__shape_seen_reset(al_shape_seen *s, unsigned cap) {
  s->k = 0;
  s->cap = cap;
  s->max = 0;
}
/* Was end e reached before? Otherwise remember it. */
static inline bool al__shape_seen(al_shape_seen *s, uint64_t e) {
  if (e <= s->max)
    for (unsigned i = 0, n = s->k < s->cap ? s->k : s->cap; i < n; i++)
      if (s->e[i] == e) return true;
  if (e > s->max) s->max = e;
  s->e[s->k++ % s->cap] = e;
  return false;
}
/* Give the last pattern added to sink a digit shape (it must be AL_PAT_DIGITS; a gated one
 * only a function shape): block mode then finds its matches in the digit windows with
 * al__shape_match() instead of Hyperscan; stream mode still runs the regex. A gated
 * pattern's shape is asked only at the runs its gate accepts, and reports only the matches
 * that start there (or at a '(' right before): those are the only ones verify() can
 * accept, and the function must argue that no earlier start reaches their ends. */
int al__pattern_shape(al_pattern_sink *sink, const al_digit_shape *shape);

/* The shape of an anchored pattern (al_pattern_add_anchored): every match that starts at
 * or before the digit run text[run...] its gate accepted, found by following the pattern
 * on the text itself (reads stay inside text[0,len)). Block mode then leaves the pattern
 * out of Hyperscan; the ends several anchors reach are kept once, with the first anchor's
 * start (al__shape_seen), as Hyperscan reports them. */
typedef void (*al_anchor_shape)(const char *text, size_t len, size_t run, al_shape_hits *h);
/* Give the last pattern added to sink (an anchored one) its shape. */
int al__pattern_anchor_shape(al_pattern_sink *sink, al_anchor_shape shape);
/* A later anchor reaches an earlier one's end only if both lie within the pattern's width
 * (43 bytes for a grouped IBAN); anchors are at least 5 bytes apart (a byte outside the
 * word, two letters, two digits) and report at most AL_SHAPE_MAX_HITS (16) ends, so the
 * last AL_ANCHOR_SEEN (256) ends hold any earlier one for patterns up to
 * AL_ANCHOR_SHAPE_WIDTH bytes wide (wider ones keep running in Hyperscan). */
#define AL_ANCHOR_SHAPE_WIDTH 75

typedef struct al_scan_pat {
  uint32_t det;   /* index into db->det */
  uint32_t local; /* detector-local id */
  uint32_t width; /* Hyperscan max_width */
  bool som;       /* compiled with HS_FLAG_SOM_LEFTMOST */
  bool window;    /* AL_PAT_NO_SOM: verify() finds the start */
  bool fallback;  /* may fall back from SOM to the PCRE2 start finder */
  bool fixed;     /* every match is `width` bytes: start = end - width, no SOM */
  bool digits;    /* AL_PAT_DIGITS: block mode runs it only over digit windows */
  bool b64run;    /* AL_PAT_B64RUN: block mode runs it only over long-run windows */
  al_window_gate gate; /* only over the windows this accepts (al_pattern_add_gated) */
  al_window_gate anchor; /* only around digit runs this accepts (al_pattern_add_anchored) */
  uint32_t before, after;
  const al_digit_shape *shape; /* block mode: matched by al__shape_match, not Hyperscan */
  al_anchor_shape ashape;      /* block mode: an anchored pattern matched by its shape */
} al_scan_pat;

struct al_pattern_sink {
  uint32_t det;
  size_t n, cap;
  char **regex;
  unsigned *flags;
  al_scan_pat *pat;
  int status; /* first error from al_pattern_add */
};

struct al_scan_db {
  size_t n_det;
  const al_detector **det;
  void **state;
  size_t n_pat;
  al_scan_pat *pat;
  hs_database_t *block;  /* block mode: every pattern but the AL_PAT_DIGITS ones */
  hs_database_t *digits; /* block mode: the AL_PAT_DIGITS patterns, run over digit windows */
  /* block mode: the gated AL_PAT_DIGITS patterns, one database per distinct gate
   * (gates[k]), each run over the digit windows its gate accepts */
  hs_database_t *gated[AL_SCAN_MAX_GATES];
  hs_database_t *runs;   /* block mode: AL_PAT_B64RUN patterns, over long-run windows */
  hs_database_t *anchored; /* block mode: anchored patterns without a shape, around
                              * accepted digit runs */
  al_window_gate anchors[AL_SCAN_MAX_GATES]; /* the distinct gates of anchored patterns */
  size_t n_anchors;
  unsigned anchors_windowed; /* bit k: anchors[k] is the gate of a pattern in `anchored` */
  uint32_t ashaped[AL_SCAN_MAX_ASHAPES]; /* anchored patterns with a shape */
  unsigned char ashape_gate[AL_SCAN_MAX_ASHAPES]; /* their gate's index in anchors[] */
  size_t n_ashaped;
  size_t anchor_before, anchor_after; /* widest reach over the anchored patterns */
  size_t run_width;      /* widest AL_PAT_B64RUN pattern */
  hs_database_t *stream; /* stream mode: every pattern */
  al_window_gate gates[AL_SCAN_MAX_GATES]; /* the distinct gates of the gated patterns */
  size_t n_gates;
  pcre2_code **re; /* per pattern: start finder (NULL for SOM/window patterns) */
  hs_scratch_t *proto; /* scratch for all three databases; scanners clone it */
  size_t holdback; /* max pattern width over all patterns */
  bool has_full;   /* some detector has scan_full */
  char **regex;     /* per pattern: its regex (the tests compare shapes with it) */
  unsigned *flags;  /* per pattern: its Hyperscan flags */
  uint32_t *shaped; /* ids of the patterns with a digit shape (at most AL_SHAPE_MAX) */
  size_t n_shaped;
  /* bit i: shaped[i] may start at a digit run of length min(rl, 32) followed by a byte of
   * class c (its first groups and what follows them) */
  uint64_t shape_first[33][5];
  uint64_t shape_fn; /* bit i: shaped[i] is a function (needs no \b before the run) */
  uint64_t shape_gated; /* bit i: shaped[i] is gated: walked only where its gate accepts */
  bool windows;     /* block mode collects digit windows (digits, gated or shaped) */
};

typedef struct al_cand {
  uint32_t pat;
  uint64_t start, end;
} al_cand;

typedef struct al_pend {
  uint32_t det;
  uint64_t start, end;
  double score;
  char note[160];
} al_pend;

/* Where verify() and emission read text: bytes [base, base+len) of the scanned text. */
typedef struct al_textview {
  const char *p;
  uint64_t base;
  size_t len;
} al_textview;

typedef struct al_pipeline {
  al_cand *cand;
  size_t n_cand, cap_cand;
  al_pend *pend;
  size_t n_pend, cap_pend;
  int stopped; /* the callback asked to stop */
  al_finding_cb cb;
  void *ud;
  pcre2_match_data *md; /* for the PCRE2 start finder (per scanner) */
} al_pipeline;

/* Digit windows of a block scan (digits.c): windows [orig, orig+len) of the text copied
 * into one buffer, each between two sentinel bytes, scanned with one hs_scan call. */
typedef struct al_dwin {
  uint64_t orig; /* offset in the scanned text */
  size_t at;     /* offset in cat */
  size_t len;
} al_dwin;

typedef struct al_digitscan {
  size_t pos;          /* the window finder continues here */
  bool have_next;      /* a found window not yet copied (it starts at or after `upto`) */
  size_t next_a, next_b;
  char *cat;
  size_t cat_len, cat_cap;
  al_dwin *win;
  size_t n_win, cap_win;
  size_t cursor; /* window of the last match (matches arrive in end order) */
} al_digitscan;

struct al_scanner {
  const al_scan_db *db;
  hs_scratch_t *scratch;
  al_pipeline pl;
  al_digitscan ds; /* windows for db->digits */
  al_digitscan dg[AL_SCAN_MAX_GATES]; /* the subsets gate k accepts, for db->gated[k] */
  al_digitscan dr; /* long-run windows, for db->runs */
  al_digitscan da; /* anchored windows, for db->anchored */
  al_shape_seen *seen; /* per shaped pattern (db->n_shaped) */
  al_shape_seen *aseen; /* per shaped anchored pattern (db->n_ashaped) */
  int busy; /* a stream is open */
};

/* Start of a candidate: Hyperscan's SOM; end - width for fixed-width patterns (exact) and
 * for AL_PAT_NO_SOM / PCRE2-start patterns (the widest window, narrowed later). */
static inline unsigned long long al__cand_start(const struct al_scan_db *db, unsigned id,
                                                unsigned long long from,
                                                unsigned long long to) {
  if (db->pat[id].som) return from;
  /* PCRE2 or verify() narrows the window down later */
  return to > db->pat[id].width ? to - db->pat[id].width : 0;
}

/* pipeline.c */
void al__pl_reset(al_pipeline *pl, al_finding_cb cb, void *ud);
void al__pl_cleanup(al_pipeline *pl);
int al__pl_add_cand(al_pipeline *pl, uint32_t pat, uint64_t start, uint64_t end);
int al__pl_add_pend(al_pipeline *pl, const al_pend *p);
/* Verify every candidate whose end + AL_SCAN_CTX <= ready (all when final). */
int al__pl_verify(al_pipeline *pl, const al_scan_db *db, const al_textview *tv, uint64_t ready,
                  bool final);
/* Lowest start among unverified candidates (UINT64_MAX if none). */
uint64_t al__pl_min_cand_start(const al_pipeline *pl);
uint64_t al__pl_min_pend_start(const al_pipeline *pl);
/* Resolve and deliver every cluster of pending findings that ends at or before bound
 * (everything when final). */
int al__pl_emit(al_pipeline *pl, const al_scan_db *db, const al_textview *tv, uint64_t bound,
                bool final);
/* Run the scan_full detectors over tv and add their findings to the pending set. */
int al__pl_scan_full(al_pipeline *pl, const al_scan_db *db, const al_textview *tv);

/* digits.c: the next window [*a, *b) of digits at or after *pos (which moves past it);
 * false when there is none. */
bool al__digit_window(const char *t, size_t len, size_t *pos, size_t *a, size_t *b);
/* The next window [*a, *b) around 16-byte-aligned blocks of [A-Za-z0-9+/] at or after
 * *pos, wide enough for a match of `width` bytes covering the block; false when none. */
bool al__run_window(const char *t, size_t len, size_t width, size_t *pos, size_t *a, size_t *b);
/* The next digit run *run at or after *pos that one of db's anchor gates accepts (bit k
 * of *gates: anchors[k] did); false when there is none. */
bool al__next_anchor(const struct al_scan_db *db, const char *t, size_t len, size_t *pos,
                     size_t *run, unsigned *gates);
/* The window around the anchor run for the patterns of db->anchored. */
void al__anchor_span(const struct al_scan_db *db, const char *t, size_t len, size_t run,
                     size_t *a, size_t *b);
/* The first digit at or after i (len if none); the end of the digit run at i. */
size_t al__next_digit(const char *t, size_t i, size_t len);
size_t al__run_end(const char *t, size_t i, size_t len);
/* shapes.c: walk the digit runs of the windows of ds (of text[0,len), which the gates
 * read): add the matches of db's shaped patterns to pl's candidates (seen: one ring per
 * shaped pattern), and each window in which gate k accepts a run to dg[k] (for
 * db->gated[k]). */
int al__shapes_scan(const struct al_scan_db *db, const al_digitscan *ds, al_digitscan *dg,
                    const char *text, size_t len, al_shape_seen *seen, al_pipeline *pl);
/* Append text[a,b) as a window (or extend the last one when they overlap). */
int al__ds_add(al_digitscan *ds, const char *t, size_t len, size_t a, size_t b);
/* Window holding cat offset x (a match end, so x > win.at). */
const al_dwin *al__ds_find(al_digitscan *ds, size_t x);
void al__ds_reset(al_digitscan *ds);
void al__ds_cleanup(al_digitscan *ds);

/* ---- helpers for detectors (detectors/util.c) ---- */
static inline bool al__is_digit(int c) { return c >= '0' && c <= '9'; }
static inline bool al__is_alpha(int c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static inline bool al__is_alnum(int c) { return al__is_digit(c) || al__is_alpha(c); }

/* Is one of words[] (lowercase ASCII, NULL-terminated list) present as a whole token
 * (maximal run of ASCII letters/digits, compared case-insensitively) within AL_SCAN_CTX
 * bytes before start or after end? Multi-word entries ("routing number") match consecutive
 * tokens separated by spaces, '-', '_' or '.'. */
bool al__context_word(const char *text, size_t len, size_t start, size_t end,
                      const char *const *words);
/* Copy the digits of s[0,n) into out (at most max) and return how many there were; the
 * other bytes must be in allowed_seps (else returns 0). */
size_t al__digits(const char *s, size_t n, char *out, size_t max, const char *allowed_seps);
void al__note(al_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The byte before s / after e is not a letter or digit (or does not exist). */
bool al__bounded(const char *text, size_t len, size_t s, size_t e);
/* Not a piece of a longer number or word: no letter/digit right before or after, and no
 * digit behind a '-' or '.' next to the span (12-345, 345.6). */
bool al__isolated(const char *text, size_t len, size_t s, size_t e);

/* digits.c: byte classes, 1 = digit, 2 = other word byte ([A-Za-z_]) */
extern const unsigned char al__byte_cls[256];

#endif
