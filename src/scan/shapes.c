/* Digit shapes: the matches of the simple digit-anchored patterns, found on a digit window
 * by following the shape of the number instead of running Hyperscan over the window.
 *
 * Most AL_PAT_DIGITS patterns are a chain of digit groups between word boundaries:
 * \b\d{3}-\d{2}-\d{4}\b (SSN), \b\d{4}[ \-]\d{6}[ \-]\d{4,5}\b (Amex), \b(?:\d{1,3}\.){3}
 * \d{1,3}\b (IPv4), \b\d{3}[ \-]?\d{3}[ \-]?\d{4}\b (NHS). Hyperscan runs such patterns at
 * ~90 MB/s over digit windows (they have no literal; every byte steps an NFA), and the
 * windows hold ~40% of the block-mode time on PII-dense text. Walking the chain from each
 * digit run is a handful of comparisons. The regex stays the definition: stream mode still
 * runs it in Hyperscan, and the tests compare the two on random digit-dense text (every
 * (start, end) of every shaped pattern, and the findings of block vs stream mode).
 *
 * Why the walk gives exactly Hyperscan's reports (pattern, leftmost start, end):
 *  - a chain starts with \b and a digit, so a match starts at a digit whose previous byte
 *    is not a word byte: the first digit of a run (the caller tries every run start);
 *  - inside a match a digit run ends only at a separator or at the end, so each run covers
 *    whole groups: one group of lo..hi digits, or, across optional separators, several
 *    fixed-size groups (the only place optional separators are allowed); the walk goes run
 *    by run and reports each end where the last group (or an `end` group) is followed by a
 *    non-word byte (\b after a digit);
 *  - several run starts can reach one end (4111 1111 1111 1111 123 also holds
 *    1111 1111 1111 123): the caller keeps the first, leftmost, start of each end
 *    (al__shape_seen); the functions for the NANP and DNI shapes (pii_phone.c,
 *    pii_national.c) argue their own cases.
 * The window's sentinels ('_' for a word byte, NUL for any other) stand for the bytes
 * around it, as for Hyperscan; neither is a digit or a separator, so no walk leaves the
 * window. */
#include "scan/scan_internal.h"

static inline bool digit(char c) { return al__byte_cls[(unsigned char)c] == 1; }
static inline bool word(char c) { return al__byte_cls[(unsigned char)c] != 0; }

static bool is_sep(const char *set, char c) {
  for (; *set; set++)
    if (*set == c) return true;
  return false;
}

static void hit(al_shape_hits *h, size_t s, size_t e) {
  /* every shape has at most two ends per start (an optional last group) */
  if (h->n < AL_SHAPE_MAX_HITS) {
    h->s[h->n] = s;
    h->e[h->n] = e;
    h->n++;
  }
}

/* The groups a run of L digits covers when it starts group i: the run ends where a group
 * ends (a separator or the end follows it), so it is one group of lo..hi digits or, across
 * optional separators, several whole fixed-size groups. Returns the last group covered, or
 * -1 when the run fits no such way. */
static int cover(const al_digit_shape *d, unsigned i, size_t L) {
  const al_shape_group *g = &d->g[i];
  if (L < g->lo) return -1;
  if (L <= g->hi) return (int)i;
  size_t sum = g->hi;
  while (sum < L) {
    if (!d->g[i].opt || i + 1 >= d->n) return -1;
    i++;
    sum += d->g[i].lo; /* groups joined by optional separators have lo == hi */
  }
  return sum == L ? (int)i : -1;
}

static inline void shape_match(const al_digit_shape *d, const char *w, size_t n, size_t run,
                               size_t rl, al_shape_hits *h) {
  if (d->fn) {
    d->fn(w, n, run, rl, h);
    return;
  }
  /* \b before the first digit */
  if (word(w[(ptrdiff_t)run - 1]) || (d->first_lo && w[run] < d->first_lo)) return;
  size_t q = run, L = rl;
  unsigned i = 0;
  for (;;) {
    int j = cover(d, i, L);
    if (j < 0) return;
    const al_shape_group *g = &d->g[j];
    bool last = (unsigned)j + 1 == d->n;
    size_t e = q + L; /* e <= n: the sentinel w[n] ends every run */
    if ((last || g->end) && !word(w[e])) hit(h, run, e);
    /* the next group starts right after one separator byte (not the sentinel, so
     * e + 1 <= n) */
    if (last || !g->sep || !is_sep(g->sep, w[e]) || !digit(w[e + 1])) return;
    q = e + 1;
    L = 1;
    while (digit(w[q + L]))
      L++;
    i = (unsigned)j + 1;
  }
}

unsigned al__shape_first(const al_digit_shape *d, size_t rl) {
  const unsigned nonword = 1u << AL_SC_SPACE | 1u << AL_SC_DASH | 1u << AL_SC_DOT |
                           1u << AL_SC_OTHER;
  if (d->fn) return rl >= d->g[0].lo && rl <= d->g[0].hi ? 0x1Fu : 0;
  int j = cover(d, 0, rl);
  if (j < 0) return 0;
  const al_shape_group *g = &d->g[j];
  bool last = (unsigned)j + 1 == d->n;
  unsigned m = last || g->end ? nonword : 0;
  if (!last && g->sep)
    for (const char *c = g->sep; *c; c++) m |= 1u << al__shape_class(*c);
  return m;
}

void al__shape_match(const al_digit_shape *d, const char *w, size_t n, size_t run, size_t rl,
                     al_shape_hits *h) {
  shape_match(d, w, n, run, rl, h);
}

int al__shapes_scan(const al_scan_db *db, const al_digitscan *ds, al_digitscan *dg,
                    const char *text, size_t len, al_shape_seen *seen, al_pipeline *pl) {
  const unsigned all_gates = (1u << db->n_gates) - 1;
  for (size_t i = 0; i < db->n_shaped; i++) al__shape_seen_reset(&seen[i], AL_SHAPE_SEEN);
  for (size_t k = 0; k < ds->n_win; k++) {
    const al_dwin *win = &ds->win[k];
    const char *w = ds->cat + win->at; /* w[-1] and w[len] are the sentinels */
    size_t n = win->len;
    unsigned gates = 0; /* the gates (of the gated databases) some run here passed */
    for (size_t p = al__next_digit(w, 0, n); p < n; p = al__next_digit(w, p, n)) {
      size_t rl = al__run_end(w, p, n) - p;
      for (unsigned g = 0; gates != all_gates && g < db->n_gates; g++)
        if (!(gates >> g & 1) && db->gates[g](text, len, (size_t)win->orig + p)) gates |= 1u << g;
      /* the shapes whose first group fits the run; chains also need \b before it */
      uint64_t m = db->shape_first[rl < 32 ? rl : 32][al__shape_class(w[p + rl])];
      char c = w[(ptrdiff_t)p - 1];
      if (al__is_alpha((unsigned char)c) || c == '_') m &= db->shape_fn;
      for (; m; m &= m - 1) {
        size_t i = (size_t)__builtin_ctzll(m);
        if ((db->shape_gated >> i & 1) &&
            !db->pat[db->shaped[i]].gate(text, len, (size_t)win->orig + p))
          continue;
        al_shape_hits h;
        h.n = 0;
        shape_match(db->pat[db->shaped[i]].shape, w, n, p, rl, &h);
        for (unsigned j = 0; j < h.n; j++) {
          /* window offsets are distinct across windows: one ring per pattern and flush */
          if (al__shape_seen(&seen[i], win->orig + h.e[j])) continue;
          int rc = al__pl_add_cand(pl, db->shaped[i], win->orig + h.s[j], win->orig + h.e[j]);
          if (rc < 0) return rc;
        }
      }
      p += rl;
    }
    for (; gates; gates &= gates - 1) {
      int rc = al__ds_add(&dg[__builtin_ctz(gates)], text, len, (size_t)win->orig,
                          (size_t)(win->orig + win->len));
      if (rc < 0) return rc;
    }
  }
  return 0;
}
