/* Streaming mode: text arrives in chunks (tokens from a model) and findings are delivered
 * as soon as they are certain.
 *
 * Hyperscan's stream mode finds patterns split across chunks. We keep a bounded tail of the
 * text so verify() can see AL_SCAN_CTX bytes on both sides of a candidate: a candidate is
 * verified once AL_SCAN_CTX bytes past its end have arrived (or at close). A match not yet
 * reported by Hyperscan starts at most db->holdback bytes (the widest pattern) before the
 * stream position, and verify() moves a start at most AL_SCAN_CTX bytes left, so
 *
 *   bound = min(pos - holdback, lowest unverified candidate start) - AL_SCAN_CTX
 *
 * is the lowest offset a future finding can touch: clusters of pending findings ending at
 * or before it are resolved and delivered. al_scan_stream_safe_offset() is
 * min(bound, lowest pending finding start): the hold-back window is therefore
 * holdback + AL_SCAN_CTX bytes behind the stream position (plus any finding still waiting).
 * The tail buffer keeps bytes from that offset on; everything before it is dropped.
 *
 * Detectors with scan_full() see the last AL_SCAN_FULL_WINDOW bytes at close; their
 * findings are delivered at close, after the pattern findings. */
#include <string.h>

#include "airlock/util.h"
#include "scan/scan_internal.h"

struct al_scan_stream {
  al_scanner *s;
  hs_stream_t *hs;
  char *buf; /* text [base, base+len) lives at buf + off */
  size_t off, len, cap;
  uint64_t base;
  uint64_t pos; /* bytes fed so far */
  char *full;   /* last bytes for scan_full detectors */
  size_t flen, fcap;
  uint64_t fbase;
  uint64_t safe;
  int rc;
};

static int on_stream_match(unsigned id, unsigned long long from, unsigned long long to,
                           unsigned flags, void *ctx) {
  al_scan_stream *st = ctx;
  from = al__cand_start(st->s->db, id, from, to);
  if ((st->rc = al__pl_add_cand(&st->s->pl, id, from, to)) < 0) return 1;
  return 0;
}

int al_scan_stream_open(al_scanner *s, al_finding_cb cb, void *ud, al_scan_stream **out) {
  if (!s || !cb || !out) return AL_EINVAL;
  *out = NULL;
  if (s->busy) return AL_ESTATE;
  al_scan_stream *st = al_calloc(1, sizeof *st);
  if (!st) return AL_ENOMEM;
  st->s = s;
  if (s->db->stream && hs_open_stream(s->db->stream, 0, &st->hs) != HS_SUCCESS) {
    al_free(st);
    return AL_ENOMEM;
  }
  al__pl_reset(&s->pl, cb, ud);
  s->busy = 1;
  *out = st;
  return 0;
}

static int append(char **buf, size_t *len, size_t *cap, const char *p, size_t n) {
  if (*len + n > *cap) {
    size_t c = *cap ? *cap : 4096;
    while (c < *len + n) c *= 2;
    char *b = al_realloc(*buf, c);
    if (!b) return AL_ENOMEM;
    *buf = b;
    *cap = c;
  }
  memcpy(*buf + *len, p, n);
  *len += n;
  return 0;
}

static uint64_t sub0(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

/* Append to the tail; the dropped prefix is reclaimed only when space runs out, so small
 * chunks do not move the whole hold-back window each time. */
static int tail_append(al_scan_stream *st, const char *p, size_t n) {
  if (st->off + st->len + n > st->cap && st->off) {
    memmove(st->buf, st->buf + st->off, st->len);
    st->off = 0;
  }
  if (st->len + n > st->cap) {
    size_t c = st->cap ? st->cap : 8192;
    while (c < st->len + n) c *= 2;
    char *b = al_realloc(st->buf, c);
    if (!b) return AL_ENOMEM;
    st->buf = b;
    st->cap = c;
  }
  memcpy(st->buf + st->off + st->len, p, n);
  st->len += n;
  return 0;
}

/* Verify what has enough context, deliver closed clusters, drop text nobody needs. */
static int advance(al_scan_stream *st) {
  al_pipeline *pl = &st->s->pl;
  const al_scan_db *db = st->s->db;
  al_textview tv = {.p = st->buf + st->off, .base = st->base, .len = st->len};
  int rc = al__pl_verify(pl, db, &tv, st->pos, false);
  if (rc < 0) return rc;
  uint64_t b = sub0(st->pos, db->holdback);
  uint64_t mc = al__pl_min_cand_start(pl);
  if (mc < b) b = mc;
  b = sub0(b, AL_SCAN_CTX);
  if ((rc = al__pl_emit(pl, db, &tv, b, false)) < 0) return rc;
  uint64_t mp = al__pl_min_pend_start(pl);
  uint64_t keep = mp < b ? mp : b;
  if (keep > st->safe) st->safe = keep;
  /* Keep the context verify() needs on the left of future candidates as well. */
  uint64_t from = sub0(keep, AL_SCAN_CTX);
  if (from > st->base) {
    size_t drop = (size_t)(from - st->base);
    if (drop > st->len) drop = st->len;
    st->off += drop;
    st->len -= drop;
    st->base += drop;
  }
  return 0;
}

int al_scan_stream_feed(al_scan_stream *st, const char *chunk, size_t len) {
  if (!st || (!chunk && len)) return AL_EINVAL;
  if (st->rc < 0) return st->rc;
  if (len == 0 || st->s->pl.stopped) return 0;
  if (len > UINT32_MAX) return AL_ELIMIT;
  int rc = tail_append(st, chunk, len);
  if (rc < 0) return st->rc = rc;
  if (st->s->db->has_full) {
    if ((rc = append(&st->full, &st->flen, &st->fcap, chunk, len)) < 0) return st->rc = rc;
    if (st->flen > 2 * (size_t)AL_SCAN_FULL_WINDOW) {
      size_t drop = st->flen - AL_SCAN_FULL_WINDOW;
      memmove(st->full, st->full + drop, st->flen - drop);
      st->flen -= drop;
      st->fbase += drop;
    }
  }
  st->pos += len;
  if (st->hs) {
    hs_error_t e = hs_scan_stream(st->hs, chunk, (unsigned)len, 0, st->s->scratch,
                                  on_stream_match, st);
    if (st->rc < 0) return st->rc;
    if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED) return st->rc = AL_EINVAL;
  }
  if ((rc = advance(st)) < 0) return st->rc = rc;
  return 0;
}

uint64_t al_scan_stream_safe_offset(const al_scan_stream *st) {
  if (!st) return 0;
  return st->safe < st->pos ? st->safe : st->pos;
}

int al_scan_stream_close(al_scan_stream *st) {
  if (!st) return AL_EINVAL;
  al_scanner *s = st->s;
  al_pipeline *pl = &s->pl;
  int rc = st->rc;
  if (st->hs) {
    hs_error_t e = hs_close_stream(st->hs, s->scratch, rc < 0 ? NULL : on_stream_match, st);
    st->hs = NULL;
    if (rc == 0 && st->rc < 0) rc = st->rc;
    if (rc == 0 && e != HS_SUCCESS && e != HS_SCAN_TERMINATED) rc = AL_EINVAL;
  }
  if (rc == 0 && !pl->stopped) {
    al_textview tv = {.p = st->buf ? st->buf + st->off : "", .base = st->base, .len = st->len};
    if ((rc = al__pl_verify(pl, s->db, &tv, st->pos, true)) == 0)
      rc = al__pl_emit(pl, s->db, &tv, 0, true);
  }
  if (rc == 0 && !pl->stopped && s->db->has_full) {
    size_t drop = st->flen > AL_SCAN_FULL_WINDOW ? st->flen - AL_SCAN_FULL_WINDOW : 0;
    al_textview fv = {.p = st->full ? st->full + drop : "", .base = st->fbase + drop,
                      .len = st->flen - drop};
    if ((rc = al__pl_scan_full(pl, s->db, &fv)) == 0) rc = al__pl_emit(pl, s->db, &fv, 0, true);
  }
  pl->n_cand = pl->n_pend = 0;
  s->busy = 0;
  al_free(st->buf);
  al_free(st->full);
  al_free(st);
  return rc;
}
