/* The candidate -> finding pipeline shared by block and stream mode.
 *
 * 1. Candidates (pattern id, start, end) arrive from Hyperscan in end order.
 * 2. al__pl_verify() hands each candidate to its detector's verify() once AL_SCAN_CTX bytes
 *    of right context exist (immediately in block mode). verify() may move the span, but
 *    never to start more than AL_SCAN_CTX bytes before the candidate's start.
 * 3. Verified findings wait in a pending set. Overlapping findings form clusters; a
 *    cluster is closed once no later candidate can reach it (its end is at or before the
 *    bound the caller computes from the hold-back window).
 * 4. A closed cluster is resolved with a total order (score, length, start, detector):
 *    the best finding wins; a finding that overlaps a better one of the SAME detector, or
 *    lies inside a better-or-equal one of ANOTHER detector of the same kind, is dropped.
 *    Survivors are delivered in start order.
 * Because resolution only ever looks inside a closed cluster, block and stream mode give
 * the same findings for the streamable detectors. */
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "scan/scan_internal.h"

void al__pl_reset(al_pipeline *pl, al_finding_cb cb, void *ud) {
  pl->n_cand = 0;
  pl->n_pend = 0;
  pl->stopped = 0;
  pl->cb = cb;
  pl->ud = ud;
}

void al__pl_cleanup(al_pipeline *pl) {
  al_free(pl->cand);
  al_free(pl->pend);
  pcre2_match_data *md = pl->md;
  memset(pl, 0, sizeof *pl);
  pl->md = md;
}

/* Leftmost start s in [c->start, c->end) from which re matches exactly up to c->end. */
static bool find_start(const pcre2_code *re, pcre2_match_data *md, const al_textview *tv,
                       al_cand *c) {
  size_t end = (size_t)(c->end - tv->base);
  for (size_t s = (size_t)(c->start - tv->base); s < end; s++) {
    int rc = pcre2_match(re, (PCRE2_SPTR)tv->p, end, s, 0, md, NULL);
    if (rc >= 0) {
      c->start = tv->base + s;
      return true;
    }
  }
  return false;
}

int al__pl_add_cand(al_pipeline *pl, uint32_t pat, uint64_t start, uint64_t end) {
  if (pl->n_cand == pl->cap_cand) {
    size_t cap = pl->cap_cand ? pl->cap_cand * 2 : 256;
    al_cand *c = al_realloc(pl->cand, cap * sizeof *c);
    if (!c) return AL_ENOMEM;
    pl->cand = c;
    pl->cap_cand = cap;
  }
  pl->cand[pl->n_cand++] = (al_cand){.pat = pat, .start = start, .end = end};
  return 0;
}

int al__pl_add_pend(al_pipeline *pl, const al_pend *p) {
  if (pl->n_pend == pl->cap_pend) {
    size_t cap = pl->cap_pend ? pl->cap_pend * 2 : 64;
    al_pend *n = al_realloc(pl->pend, cap * sizeof *n);
    if (!n) return AL_ENOMEM;
    pl->pend = n;
    pl->cap_pend = cap;
  }
  pl->pend[pl->n_pend++] = *p;
  return 0;
}

int al__pl_verify(al_pipeline *pl, const al_scan_db *db, const al_textview *tv, uint64_t ready,
                  bool final) {
  size_t keep = 0;
  int rc = 0;
  for (size_t i = 0; i < pl->n_cand; i++) {
    al_cand c = pl->cand[i];
    if (rc < 0 || (!final && c.end + AL_SCAN_CTX > ready)) {
      pl->cand[keep++] = c;
      continue;
    }
    const al_scan_pat *pat = &db->pat[c.pat];
    const al_detector *d = db->det[pat->det];
    if (c.start < tv->base) c.start = tv->base; /* window clipped by the retained text */
    if (c.end > tv->base + tv->len || c.start >= c.end) continue;
    if (db->re[c.pat] && !find_start(db->re[c.pat], pl->md, tv, &c)) continue;
    al_finding f = {.detector = d->name, .kind = d->kind, .score = 1.0};
    f.start = c.start - tv->base;
    f.end = c.end - tv->base;
    if (d->verify &&
        !d->verify(db->state[pat->det], tv->p, tv->len, (size_t)f.start, (size_t)f.end,
                   pat->local, &f))
      continue;
    /* Defensive: a detector may not report a span outside the text or far left of the
     * candidate (the stream hold-back would not cover it). */
    if (f.start >= f.end || f.end > tv->len || f.start + tv->base + AL_SCAN_CTX < c.start)
      continue;
    al_pend p = {.det = pat->det, .start = f.start + tv->base, .end = f.end + tv->base,
                 .score = f.score < 0 ? 0 : f.score > 1 ? 1 : f.score};
    memcpy(p.note, f.note, sizeof p.note);
    p.note[sizeof p.note - 1] = '\0';
    rc = al__pl_add_pend(pl, &p);
  }
  pl->n_cand = keep;
  return rc;
}

uint64_t al__pl_min_cand_start(const al_pipeline *pl) {
  uint64_t m = UINT64_MAX;
  for (size_t i = 0; i < pl->n_cand; i++)
    if (pl->cand[i].start < m) m = pl->cand[i].start;
  return m;
}

uint64_t al__pl_min_pend_start(const al_pipeline *pl) {
  uint64_t m = UINT64_MAX;
  for (size_t i = 0; i < pl->n_pend; i++)
    if (pl->pend[i].start < m) m = pl->pend[i].start;
  return m;
}

static int by_start(const void *a, const void *b) {
  const al_pend *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  if (x->det != y->det) return x->det < y->det ? -1 : 1;
  return strcmp(x->note, y->note);
}

/* Best first: higher score, then longer, then earlier, then detector order. */
static int by_rank(const void *a, const void *b) {
  const al_pend *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  uint64_t lx = x->end - x->start, ly = y->end - y->start;
  if (lx != ly) return lx > ly ? -1 : 1;
  return by_start(a, b);
}

static bool conflicts(const al_scan_db *db, const al_pend *cand, const al_pend *kept) {
  if (cand->det == kept->det) return cand->start < kept->end && kept->start < cand->end;
  /* across detectors only within one kind: a PII value inside a toxicity or injection
   * span is still reported */
  if (strcmp(db->det[cand->det]->kind, db->det[kept->det]->kind)) return false;
  return kept->start <= cand->start && cand->end <= kept->end;
}

/* Resolve one cluster c[0,n) in place; returns the number of survivors, in start order. */
static size_t resolve_cluster(const al_scan_db *db, al_pend *c, size_t n) {
  if (n == 1) return 1;
  qsort(c, n, sizeof *c, by_rank);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    bool ok = true;
    for (size_t k = 0; k < kept && ok; k++)
      if (conflicts(db, &c[i], &c[k])) ok = false;
    if (ok) {
      if (kept != i) c[kept] = c[i];
      kept++;
    }
  }
  qsort(c, kept, sizeof *c, by_start);
  return kept;
}

static int deliver(al_pipeline *pl, const al_scan_db *db, const al_textview *tv,
                   const al_pend *p) {
  if (pl->stopped) return 0;
  const al_detector *d = db->det[p->det];
  al_finding f = {.detector = d->name, .kind = d->kind, .start = p->start, .end = p->end,
                  .score = p->score};
  memcpy(f.note, p->note, sizeof f.note);
  if (p->start < tv->base || p->end > tv->base + tv->len) return AL_ESTATE;
  f.text = tv->p + (p->start - tv->base);
  if (pl->cb(&f, pl->ud)) pl->stopped = 1;
  return 0;
}

int al__pl_emit(al_pipeline *pl, const al_scan_db *db, const al_textview *tv, uint64_t bound,
                bool final) {
  if (pl->n_pend == 0) return 0;
  qsort(pl->pend, pl->n_pend, sizeof *pl->pend, by_start);
  size_t i = 0, keep = 0;
  int rc = 0;
  while (i < pl->n_pend) {
    size_t j = i + 1;
    uint64_t cend = pl->pend[i].end;
    while (j < pl->n_pend && pl->pend[j].start < cend) {
      if (pl->pend[j].end > cend) cend = pl->pend[j].end;
      j++;
    }
    if (!final && cend > bound) break; /* this and every later cluster stay pending */
    size_t n = resolve_cluster(db, &pl->pend[i], j - i);
    for (size_t k = 0; k < n && rc == 0; k++) rc = deliver(pl, db, tv, &pl->pend[i + k]);
    if (rc < 0) return rc;
    i = j;
  }
  for (; i < pl->n_pend; i++) pl->pend[keep++] = pl->pend[i];
  pl->n_pend = keep;
  return 0;
}

typedef struct full_ctx {
  al_pipeline *pl;
  uint32_t det;
  const al_textview *tv;
  int rc;
} full_ctx;

static int on_full(const al_finding *f, void *ud) {
  full_ctx *c = ud;
  if (f->start >= f->end || f->end > c->tv->len) return 0;
  al_pend p = {.det = c->det, .start = f->start + c->tv->base, .end = f->end + c->tv->base,
               .score = f->score < 0 ? 0 : f->score > 1 ? 1 : f->score};
  memcpy(p.note, f->note, sizeof p.note);
  p.note[sizeof p.note - 1] = '\0';
  if ((c->rc = al__pl_add_pend(c->pl, &p)) < 0) return 1;
  return 0;
}

int al__pl_scan_full(al_pipeline *pl, const al_scan_db *db, const al_textview *tv) {
  for (size_t i = 0; i < db->n_det; i++) {
    const al_detector *d = db->det[i];
    if (!d->scan_full) continue;
    full_ctx c = {.pl = pl, .det = (uint32_t)i, .tv = tv, .rc = 0};
    int rc = d->scan_full(db->state[i], tv->p, tv->len, on_full, &c);
    if (c.rc < 0) return c.rc;
    if (rc < 0) return rc;
  }
  return 0;
}
