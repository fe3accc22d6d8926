/* The scan engine: compile once into an immutable database, scan with cheap scanners.
 *
 * al_scan_db_new() selects the detectors named by the config (names or dotted prefixes;
 * the AL_DET_DEFAULT ones when none are named), runs their init() and patterns(), and
 * compiles all contributed regexes into ONE Hyperscan database in block mode and one in
 * stream mode (pattern id = index into db->pat, which maps back to (detector, local id)).
 * Hyperscan reports candidates with their leftmost start (HS_FLAG_SOM_LEFTMOST). Where
 * Hyperscan cannot track a pattern's start ("Pattern is too large") the pattern is compiled
 * without it and the start is the leftmost position from which the same regex, run by
 * PCRE2 anchored at both ends, matches up to the reported end; AL_PAT_NO_SOM patterns leave
 * the start to verify(). Every pattern must
 * be bounded (Hyperscan's max_width <= AL_SCAN_MAX_PATTERN_WIDTH): that width is what the
 * stream mode holds back. The database is read-only after creation and can be shared by
 * any number of threads; each thread makes its own al_scanner (a Hyperscan scratch cloned
 * with hs_clone_scratch from the db's prototype, a PCRE2 match block, and the pipeline's
 * vectors, reused across scans).
 *
 * Block mode (al_scan) feeds candidates from hs_scan into the pipeline (pipeline.c), runs
 * the scan_full detectors over the whole text, and then delivers every finding. */
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "scan/scan_internal.h"

int al_pattern_add(al_pattern_sink *sink, const char *regex, unsigned hs_flags,
                   unsigned local_id) {
  if (!sink || !regex) return AL_EINVAL;
  if (sink->status) return sink->status;
  if (sink->n >= AL_SCAN_MAX_PATTERNS) return sink->status = AL_ELIMIT;
  if (sink->n == sink->cap) {
    size_t cap = sink->cap ? sink->cap * 2 : 32;
    char **r = al_realloc(sink->regex, cap * sizeof *r);
    if (!r) return sink->status = AL_ENOMEM;
    sink->regex = r;
    unsigned *fl = al_realloc(sink->flags, cap * sizeof *fl);
    if (!fl) return sink->status = AL_ENOMEM;
    sink->flags = fl;
    al_scan_pat *p = al_realloc(sink->pat, cap * sizeof *p);
    if (!p) return sink->status = AL_ENOMEM;
    sink->pat = p;
    sink->cap = cap;
  }
  char *copy = al_strdup(regex);
  if (!copy) return sink->status = AL_ENOMEM;
  sink->regex[sink->n] = copy;
  /* SOM first; compile() falls back to the PCRE2 start finder for patterns Hyperscan cannot
   * track starts for, unless the detector insisted on AL_PAT_SOM */
  bool forced = (hs_flags & AL_PAT_SOM) != 0, window = (hs_flags & AL_PAT_NO_SOM) != 0;
  sink->flags[sink->n] = (hs_flags & ~(AL_PAT_NO_SOM | AL_PAT_SOM)) |
                         (!window ? HS_FLAG_SOM_LEFTMOST : 0);
  sink->pat[sink->n] = (al_scan_pat){.det = sink->det, .local = local_id, .width = 0,
                                     .som = !window, .window = window, .fallback = !forced};
  sink->n++;
  return 0;
}

static void sink_cleanup(al_pattern_sink *sink) {
  for (size_t i = 0; i < sink->n; i++) al_free(sink->regex[i]);
  al_free(sink->regex);
  al_free(sink->flags);
  al_free(sink->pat);
}

/* Does config entry `want` select detector `name`? Exact name or a dotted prefix. */
static bool selects(const char *want, const char *name) {
  size_t n = strlen(want);
  if (strncmp(want, name, n)) return false;
  return name[n] == '\0' || name[n] == '.' || (n > 0 && want[n - 1] == '.');
}

static int select_detectors(const al_scan_config *cfg, al_scan_db *db, al_error *err) {
  size_t total = al_detector_count();
  db->det = al_calloc(total ? total : 1, sizeof *db->det);
  db->state = al_calloc(total ? total : 1, sizeof *db->state);
  if (!db->det || !db->state) return al_error_set(err, AL_ENOMEM, "out of memory");
  if (cfg && cfg->detectors && cfg->n_detectors) {
    for (size_t k = 0; k < cfg->n_detectors; k++) {
      const char *w = cfg->detectors[k];
      bool any = false;
      for (size_t i = 0; w && i < total; i++)
        if (selects(w, al_detector_get(i)->name)) any = true;
      if (!w || !*w || !any)
        return al_error_set(err, AL_ENOTFOUND,
                            "unknown detector '%s' (expected a name or prefix listed by "
                            "`airlock detectors`)",
                            w ? w : "(null)");
    }
  }
  for (size_t i = 0; i < total; i++) {
    const al_detector *d = al_detector_get(i);
    bool on = false;
    if (cfg && cfg->detectors && cfg->n_detectors) {
      for (size_t k = 0; k < cfg->n_detectors && !on; k++) on = selects(cfg->detectors[k], d->name);
    } else {
      on = (d->flags & AL_DET_DEFAULT) != 0;
    }
    if (on) db->det[db->n_det++] = d;
  }
  return 0;
}

static int compile(al_scan_db *db, al_pattern_sink *sink, al_error *err) {
  int rc = 0;
  unsigned *ids = NULL;
  hs_compile_error_t *ce = NULL;
  if (sink->n == 0) return 0;
  ids = al_malloc(sink->n * sizeof *ids);
  if (!ids) return al_error_set(err, AL_ENOMEM, "out of memory");
  for (size_t i = 0; i < sink->n; i++) {
    ids[i] = (unsigned)i;
    hs_expr_info_t *info = NULL;
    if (hs_expression_info(sink->regex[i], sink->flags[i], &info, &ce) != HS_SUCCESS) {
      rc = al_error_set(err, AL_EINVAL, "detector %s: pattern %u /%s/: %s",
                        db->det[sink->pat[i].det]->name, sink->pat[i].local, sink->regex[i],
                        ce ? ce->message : "invalid");
      goto out;
    }
    unsigned w = info->max_width;
    free(info); /* allocated by Hyperscan's default allocator (malloc) */
    if (w > AL_SCAN_MAX_PATTERN_WIDTH) {
      rc = al_error_set(err, AL_ELIMIT,
                        "detector %s: pattern %u /%s/ may span %s bytes (the limit is %u: "
                        "use bounded repeats)",
                        db->det[sink->pat[i].det]->name, sink->pat[i].local, sink->regex[i],
                        w == UINT32_MAX ? "unbounded" : "too many", AL_SCAN_MAX_PATTERN_WIDTH);
      goto out;
    }
    sink->pat[i].width = w;
    if (w > db->holdback) db->holdback = w;
  }
  const char *const *exprs = (const char *const *)sink->regex;
  for (;;) {
    if (hs_compile_multi(exprs, sink->flags, ids, (unsigned)sink->n, HS_MODE_BLOCK, NULL,
                         &db->block, &ce) == HS_SUCCESS &&
        hs_compile_multi(exprs, sink->flags, ids, (unsigned)sink->n,
                         HS_MODE_STREAM | HS_MODE_SOM_HORIZON_SMALL, NULL, &db->stream,
                         &ce) == HS_SUCCESS)
      break;
    int at = ce ? ce->expression : -1;
    hs_free_database(db->block);
    db->block = NULL;
    if (at >= 0 && (size_t)at < sink->n && sink->pat[at].som && sink->pat[at].fallback) {
      /* Hyperscan cannot track this pattern's start ("Pattern is too large"): let PCRE2
       * find it instead and compile again */
      sink->pat[at].som = false;
      sink->flags[at] &= ~(unsigned)HS_FLAG_SOM_LEFTMOST;
      hs_free_compile_error(ce);
      ce = NULL;
      continue;
    }
    if (at >= 0 && (size_t)at < sink->n)
      rc = al_error_set(err, AL_EINVAL, "detector %s: pattern %u /%s/: %s",
                        db->det[sink->pat[at].det]->name, sink->pat[at].local, sink->regex[at],
                        ce->message);
    else
      rc = al_error_set(err, AL_EINVAL, "hyperscan compile failed: %s",
                        ce ? ce->message : "unknown error");
    goto out;
  }
  /* PCRE2 start finders: the same regex, anchored at the candidate start and at its end */
  db->re = al_calloc(sink->n, sizeof *db->re);
  if (!db->re) {
    rc = al_error_set(err, AL_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < sink->n; i++) {
    if (sink->pat[i].som || sink->pat[i].window) continue;
    uint32_t opt = PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    if (sink->flags[i] & HS_FLAG_CASELESS) opt |= PCRE2_CASELESS;
    if (sink->flags[i] & HS_FLAG_DOTALL) opt |= PCRE2_DOTALL;
    if (sink->flags[i] & HS_FLAG_MULTILINE) opt |= PCRE2_MULTILINE;
    if (sink->flags[i] & HS_FLAG_UTF8) opt |= PCRE2_UTF;
    int pe = 0;
    PCRE2_SIZE po = 0;
    db->re[i] = pcre2_compile((PCRE2_SPTR)sink->regex[i], PCRE2_ZERO_TERMINATED, opt, &pe, &po,
                              NULL);
    if (!db->re[i]) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(pe, msg, sizeof msg);
      rc = al_error_set(err, AL_EINVAL, "detector %s: pattern %u /%s/: PCRE2 at %zu: %s",
                        db->det[sink->pat[i].det]->name, sink->pat[i].local, sink->regex[i],
                        (size_t)po, (char *)msg);
      goto out;
    }
    pcre2_jit_compile(db->re[i], PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
  }
  if (hs_alloc_scratch(db->block, &db->proto) != HS_SUCCESS ||
      hs_alloc_scratch(db->stream, &db->proto) != HS_SUCCESS) {
    rc = al_error_set(err, AL_ENOMEM, "hyperscan scratch allocation failed");
    goto out;
  }
  db->pat = sink->pat;
  db->n_pat = sink->n;
  sink->pat = NULL;
out:
  if (rc && db->re) {
    for (size_t i = 0; i < sink->n; i++) pcre2_code_free(db->re[i]);
    al_free(db->re);
    db->re = NULL;
  }
  if (ce) hs_free_compile_error(ce);
  al_free(ids);
  return rc;
}

int al_scan_db_new(const al_scan_config *cfg, al_scan_db **out, al_error *err) {
  int rc = 0;
  al_pattern_sink sink = {0};
  al_scan_db *db = NULL;
  if (!out) return al_error_set(err, AL_EINVAL, "al_scan_db_new: out is NULL");
  *out = NULL;
  db = al_calloc(1, sizeof *db);
  if (!db) return al_error_set(err, AL_ENOMEM, "out of memory");
  if ((rc = select_detectors(cfg, db, err))) goto out;
  static const al_scan_config empty = {0};
  for (size_t i = 0; i < db->n_det; i++) {
    const al_detector *d = db->det[i];
    if (d->init && (rc = d->init(cfg ? cfg : &empty, &db->state[i], err)) < 0) {
      if (!err || !err->msg[0]) al_error_set(err, rc, "detector %s: init failed", d->name);
      goto out;
    }
    if (d->scan_full) db->has_full = true;
    if (d->patterns) {
      sink.det = (uint32_t)i;
      if ((rc = d->patterns(db->state[i], &sink)) < 0 || (rc = sink.status) < 0) {
        al_error_set(err, rc, "detector %s: adding patterns failed: %s", d->name,
                     al_strerror(rc));
        goto out;
      }
    }
  }
  if (cfg && cfg->pcre2_starts)
    for (size_t i = 0; i < sink.n; i++)
      if (sink.pat[i].som && sink.pat[i].fallback) {
        sink.pat[i].som = false;
        sink.flags[i] &= ~(unsigned)HS_FLAG_SOM_LEFTMOST;
      }
  if ((rc = compile(db, &sink, err))) goto out;
  *out = db;
  db = NULL;
out:
  sink_cleanup(&sink);
  al_scan_db_free(db);
  return rc < 0 ? rc : 0;
}

void al_scan_db_free(al_scan_db *db) {
  if (!db) return;
  for (size_t i = 0; i < db->n_det; i++)
    if (db->det[i]->fini) db->det[i]->fini(db->state[i]);
  if (db->proto) hs_free_scratch(db->proto);
  hs_free_database(db->block);
  hs_free_database(db->stream);
  for (size_t i = 0; db->re && i < db->n_pat; i++) pcre2_code_free(db->re[i]);
  al_free(db->re);
  al_free(db->pat);
  al_free(db->det);
  al_free(db->state);
  al_free(db);
}

size_t al_scan_db_holdback(const al_scan_db *db) { return db ? db->holdback : 0; }

int al_scanner_new(const al_scan_db *db, al_scanner **out) {
  if (!db || !out) return AL_EINVAL;
  *out = NULL;
  al_scanner *s = al_calloc(1, sizeof *s);
  if (!s) return AL_ENOMEM;
  s->db = db;
  if (!(s->pl.md = pcre2_match_data_create(1, NULL))) {
    al_free(s);
    return AL_ENOMEM;
  }
  if (db->proto && hs_clone_scratch(db->proto, &s->scratch) != HS_SUCCESS) {
    al_scanner_free(s);
    return AL_ENOMEM;
  }
  *out = s;
  return 0;
}

void al_scanner_free(al_scanner *s) {
  if (!s) return;
  if (s->scratch) hs_free_scratch(s->scratch);
  pcre2_match_data_free(s->pl.md);
  s->pl.md = NULL;
  al__pl_cleanup(&s->pl);
  al_free(s);
}

typedef struct block_ctx {
  al_scanner *s;
  al_textview tv;
  int rc;
} block_ctx;

static int on_block_match(unsigned id, unsigned long long from, unsigned long long to,
                          unsigned flags, void *ctx) {
  block_ctx *b = ctx;
  al_pipeline *pl = &b->s->pl;
  from = al__cand_start(b->s->db, id, from, to);
  if ((b->rc = al__pl_add_cand(pl, id, from, to)) < 0) return 1;
  if (pl->n_cand >= AL_SCAN_BATCH) {
    /* In block mode all context is present: verify everything collected so far and
     * deliver the clusters no later candidate can reach. */
    if ((b->rc = al__pl_verify(pl, b->s->db, &b->tv, 0, true)) < 0) return 1;
    uint64_t bound = to > b->s->db->holdback + AL_SCAN_CTX ? to - b->s->db->holdback - AL_SCAN_CTX : 0;
    if (!b->s->db->has_full && (b->rc = al__pl_emit(pl, b->s->db, &b->tv, bound, false)) < 0)
      return 1;
    if (pl->stopped) return 1;
  }
  return 0;
}

int al_scan(al_scanner *s, const char *text, size_t len, al_finding_cb cb, void *ud) {
  if (!s || (!text && len) || !cb) return AL_EINVAL;
  if (s->busy) return AL_ESTATE;
  const al_scan_db *db = s->db;
  block_ctx b = {.s = s, .tv = {.p = text ? text : "", .base = 0, .len = len}, .rc = 0};
  al__pl_reset(&s->pl, cb, ud);
  if (db->block && len) {
    if (len > UINT32_MAX) return AL_ELIMIT; /* hs_scan takes an unsigned int length */
    hs_error_t e = hs_scan(db->block, text, (unsigned)len, 0, s->scratch, on_block_match, &b);
    if (b.rc < 0) return b.rc;
    if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED) return AL_EINVAL;
    if (s->pl.stopped) return 0;
  }
  int rc = al__pl_verify(&s->pl, db, &b.tv, 0, true);
  if (rc < 0) return rc;
  if (db->has_full && (rc = al__pl_scan_full(&s->pl, db, &b.tv)) < 0) return rc;
  return al__pl_emit(&s->pl, db, &b.tv, 0, true);
}
