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
 * the scan_full detectors over the whole text, and then delivers every finding. Digit
 * patterns run only over digit windows (digits.c), and those with a digit shape not in
 * Hyperscan at all: al__shapes_scan() follows their shapes (shapes.c) from each digit run. */
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
  bool digits = (hs_flags & AL_PAT_DIGITS) != 0, b64run = (hs_flags & AL_PAT_B64RUN) != 0;
  if (digits && b64run) return sink->status = AL_EINVAL;
  sink->flags[sink->n] = (hs_flags & ~(AL_PAT_NO_SOM | AL_PAT_SOM | AL_PAT_DIGITS | AL_PAT_B64RUN)) |
                         (!window ? HS_FLAG_SOM_LEFTMOST : 0);
  sink->pat[sink->n] = (al_scan_pat){.det = sink->det, .local = local_id, .width = 0,
                                     .som = !window, .window = window, .fallback = !forced,
                                     .digits = digits, .b64run = b64run};
  sink->n++;
  return 0;
}

int al_pattern_add_gated(al_pattern_sink *sink, const char *regex, unsigned hs_flags,
                         unsigned local_id, al_window_gate gate) {
  if (!sink || !gate || !(hs_flags & AL_PAT_DIGITS)) return AL_EINVAL;
  int rc = al_pattern_add(sink, regex, hs_flags, local_id);
  if (rc == 0) sink->pat[sink->n - 1].gate = gate;
  return rc;
}

int al_pattern_add_anchored(al_pattern_sink *sink, const char *regex, unsigned hs_flags,
                            unsigned local_id, al_window_gate gate, unsigned before,
                            unsigned after) {
  if (!sink || !gate || (hs_flags & (AL_PAT_DIGITS | AL_PAT_B64RUN)) ||
      before > AL_SCAN_MAX_PATTERN_WIDTH || after > AL_SCAN_MAX_PATTERN_WIDTH)
    return AL_EINVAL;
  int rc = al_pattern_add(sink, regex, hs_flags, local_id);
  if (rc == 0) {
    al_scan_pat *p = &sink->pat[sink->n - 1];
    p->anchor = gate;
    p->before = before;
    p->after = after;
  }
  return rc;
}

int al__pattern_shape(al_pattern_sink *sink, const al_digit_shape *shape) {
  if (!sink || !shape) return AL_EINVAL;
  if (sink->status) return sink->status;
  if (!sink->n) return sink->status = AL_EINVAL;
  al_scan_pat *p = &sink->pat[sink->n - 1];
  if (!p->digits || (p->gate && !shape->fn) || shape->g[0].lo == 0 || shape->g[0].lo > shape->g[0].hi ||
      shape->g[0].hi >= 32 || (!shape->fn && (shape->n == 0 || shape->n > 6)))
    return sink->status = AL_EINVAL;
  /* optional separators only between fixed-size groups (shapes.c, cover()) */
  bool opt = false, fixed = true;
  for (unsigned i = 0; !shape->fn && i < shape->n; i++) {
    opt = opt || shape->g[i].opt;
    fixed = fixed && shape->g[i].lo == shape->g[i].hi && shape->g[i].lo > 0;
  }
  unsigned digits = 0;
  for (unsigned i = 0; !shape->fn && i < shape->n; i++) digits += shape->g[i].hi;
  /* runs of 32 or more digits are matched by no shape (engine.c, shape_first) */
  if ((opt && !fixed) || digits >= 32) return sink->status = AL_EINVAL;
  p->shape = shape;
  return 0;
}

int al__pattern_anchor_shape(al_pattern_sink *sink, al_anchor_shape shape) {
  if (!sink || !shape) return AL_EINVAL;
  if (sink->status) return sink->status;
  if (!sink->n || !sink->pat[sink->n - 1].anchor) return sink->status = AL_EINVAL;
  sink->pat[sink->n - 1].ashape = shape;
  return 0;
}

static void sink_cleanup(al_pattern_sink *sink) {
  for (size_t i = 0; sink->regex && i < sink->n; i++) al_free(sink->regex[i]);
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

/* Compile the patterns of one set (0: all, 1: the rest of block mode, 2: the ungated
 * AL_PAT_DIGITS ones, 3: the ones gated by `gate`, 4: AL_PAT_B64RUN, 5: anchored) into
 * *out (NULL when the set is empty). Returns -2 on success, else the index of the failing
 * pattern (or -1) with *ce set. ids[] is scratch of sink->n entries. */
static int compile_set(const al_pattern_sink *sink, unsigned *ids, unsigned mode, int set,
                       al_window_gate gate, hs_database_t **out, hs_compile_error_t **ce) {
  const char **exprs = al_malloc(sink->n * sizeof *exprs);
  unsigned *flags = al_malloc(sink->n * sizeof *flags);
  unsigned n = 0;
  int at = -2;
  if (!exprs || !flags) {
    at = -1;
    goto out;
  }
  for (size_t i = 0; i < sink->n; i++) {
    const al_scan_pat *p = &sink->pat[i];
    if ((set == 1 && (p->digits || p->b64run || p->anchor)) ||
        (set == 2 && (!p->digits || p->gate || p->shape)) || (set == 3 && (p->gate != gate || p->shape)) ||
        (set == 4 && !p->b64run) || (set == 5 && (!p->anchor || p->ashape)))
      continue;
    exprs[n] = sink->regex[i];
    flags[n] = sink->flags[i];
    ids[n++] = (unsigned)i;
  }
  if (n && hs_compile_multi(exprs, flags, ids, n, mode, NULL, out, ce) != HS_SUCCESS) {
    int e = *ce ? (*ce)->expression : -1;
    at = e >= 0 && (unsigned)e < n ? (int)ids[e] : -1;
  }
out:
  al_free(exprs);
  al_free(flags);
  return at;
}

static int compile(al_scan_db *db, al_pattern_sink *sink, al_error *err) {
  int rc = 0;
  unsigned *ids = NULL;
  hs_compile_error_t *ce = NULL;
  if (sink->n == 0) return 0;
  ids = al_malloc(sink->n * sizeof *ids);
  if (!ids) return al_error_set(err, AL_ENOMEM, "out of memory");
  for (size_t i = 0; i < sink->n; i++) {
    hs_expr_info_t *info = NULL;
    if (hs_expression_info(sink->regex[i], sink->flags[i], &info, &ce) != HS_SUCCESS) {
      rc = al_error_set(err, AL_EINVAL, "detector %s: pattern %u /%s/: %s",
                        db->det[sink->pat[i].det]->name, sink->pat[i].local, sink->regex[i],
                        ce ? ce->message : "invalid");
      goto out;
    }
    unsigned w = info->max_width;
    bool fixed = info->min_width == info->max_width;
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
    if (sink->pat[i].b64run && w > db->run_width) db->run_width = w;
    if (fixed && sink->pat[i].som) {
      /* every match is w bytes long: its start is end - w, no start tracking needed (SOM
       * makes Hyperscan keep more state; al__cand_start computes it) */
      sink->pat[i].som = false;
      sink->pat[i].fixed = true;
      sink->flags[i] &= ~(unsigned)HS_FLAG_SOM_LEFTMOST;
    }
  }
  for (size_t i = 0, k = 0; i < sink->n; i++)
    if (sink->pat[i].shape && ++k > AL_SHAPE_MAX) sink->pat[i].shape = NULL;
  for (size_t i = 0, k = 0; i < sink->n; i++) /* AL_ANCHOR_SEEN holds their ends; the table's size */
    if (sink->pat[i].ashape &&
        (sink->pat[i].width > AL_ANCHOR_SHAPE_WIDTH || ++k > AL_SCAN_MAX_ASHAPES))
      sink->pat[i].ashape = NULL;
  /* the distinct gates of the gated patterns without a shape, each with its own database */
  for (size_t i = 0; i < sink->n; i++) {
    al_window_gate g = sink->pat[i].shape ? NULL : sink->pat[i].gate;
    size_t k = 0;
    while (g && k < db->n_gates && db->gates[k] != g) k++;
    if (!g || k < db->n_gates) continue;
    if (db->n_gates == AL_SCAN_MAX_GATES) {
      rc = al_error_set(err, AL_ELIMIT, "more than %d window gates", AL_SCAN_MAX_GATES);
      goto out;
    }
    db->gates[db->n_gates++] = g;
  }
  /* The databases: stream mode gets every pattern; block mode splits them into the
   * digit-anchored ones (run over digit windows, digits.c; the gated ones per gate) and the
   * rest. A pattern whose start Hyperscan cannot track in one of them falls back to the
   * PCRE2 start finder in all of them, so compile again until none changes. */
  for (;;) {
    int at = -1;
    hs_free_database(db->block);
    hs_free_database(db->digits);
    for (size_t k = 0; k < db->n_gates; k++) {
      hs_free_database(db->gated[k]);
      db->gated[k] = NULL;
    }
    hs_free_database(db->runs);
    hs_free_database(db->anchored);
    hs_free_database(db->stream);
    db->block = db->digits = db->runs = db->anchored = db->stream = NULL;
    if ((at = compile_set(sink, ids, HS_MODE_STREAM | HS_MODE_SOM_HORIZON_SMALL, 0, NULL,
                          &db->stream, &ce)) == -2 &&
        (at = compile_set(sink, ids, HS_MODE_BLOCK, 1, NULL, &db->block, &ce)) == -2 &&
        (at = compile_set(sink, ids, HS_MODE_BLOCK, 2, NULL, &db->digits, &ce)) == -2 &&
        (at = compile_set(sink, ids, HS_MODE_BLOCK, 4, NULL, &db->runs, &ce)) == -2 &&
        (at = compile_set(sink, ids, HS_MODE_BLOCK, 5, NULL, &db->anchored, &ce)) == -2) {
      for (size_t k = 0; k < db->n_gates && at == -2; k++)
        at = compile_set(sink, ids, HS_MODE_BLOCK, 3, db->gates[k], &db->gated[k], &ce);
      if (at == -2) break;
    }
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
                        ce ? ce->message : "compile error");
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
    if (sink->pat[i].som || sink->pat[i].window || sink->pat[i].fixed) continue;
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
  if ((db->block && hs_alloc_scratch(db->block, &db->proto) != HS_SUCCESS) ||
      (db->digits && hs_alloc_scratch(db->digits, &db->proto) != HS_SUCCESS) ||
      (db->runs && hs_alloc_scratch(db->runs, &db->proto) != HS_SUCCESS) ||
      (db->anchored && hs_alloc_scratch(db->anchored, &db->proto) != HS_SUCCESS) ||
      hs_alloc_scratch(db->stream, &db->proto) != HS_SUCCESS) {
    rc = al_error_set(err, AL_ENOMEM, "hyperscan scratch allocation failed");
    goto out;
  }
  for (size_t k = 0; k < db->n_gates; k++)
    if (db->gated[k] && hs_alloc_scratch(db->gated[k], &db->proto) != HS_SUCCESS) {
      rc = al_error_set(err, AL_ENOMEM, "hyperscan scratch allocation failed");
      goto out;
    }
  for (size_t i = 0; i < sink->n; i++) {
    const al_scan_pat *p = &sink->pat[i];
    if (!p->anchor) continue;
    if (p->before > db->anchor_before) db->anchor_before = p->before;
    if (p->after > db->anchor_after) db->anchor_after = p->after;
    size_t k = 0;
    while (k < db->n_anchors && db->anchors[k] != p->anchor) k++;
    if (k < db->n_anchors) continue;
    if (db->n_anchors == AL_SCAN_MAX_GATES) {
      rc = al_error_set(err, AL_ELIMIT, "more than %d anchor gates", AL_SCAN_MAX_GATES);
      goto out;
    }
    db->anchors[db->n_anchors++] = p->anchor;
  }
  for (size_t i = 0; i < sink->n; i++) {
    const al_scan_pat *p = &sink->pat[i];
    if (!p->anchor) continue;
    size_t k = 0;
    while (db->anchors[k] != p->anchor) k++;
    if (!p->ashape) {
      db->anchors_windowed |= 1u << k;
      continue;
    }
    db->ashape_gate[db->n_ashaped] = (unsigned char)k;
    db->ashaped[db->n_ashaped++] = (uint32_t)i;
  }
  for (size_t i = 0; i < sink->n; i++)
    if (sink->pat[i].shape) db->n_shaped++;
  if (db->n_shaped > AL_SHAPE_MAX) db->n_shaped = AL_SHAPE_MAX;
  if (db->n_shaped && !(db->shaped = al_calloc(db->n_shaped, sizeof *db->shaped))) {
    rc = al_error_set(err, AL_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0, k = 0; i < sink->n && k < db->n_shaped; i++) {
    const al_digit_shape *d = sink->pat[i].shape;
    if (!d) continue;
    for (size_t rl = 1; rl <= 32; rl++) {
      /* runs of 32 or more digits share one row: no shape covers that many */
      unsigned m = rl < 32 ? al__shape_first(d, rl) : 0;
      for (unsigned c = 0; c < 5; c++)
        if (m >> c & 1) db->shape_first[rl][c] |= 1ull << k;
    }
    if (d->fn) db->shape_fn |= 1ull << k;
    if (sink->pat[i].gate) db->shape_gated |= 1ull << k;
    db->shaped[k++] = (uint32_t)i;
  }
  db->windows = db->digits || db->n_gates || db->n_shaped;
  db->regex = sink->regex;
  sink->regex = NULL;
  db->flags = sink->flags;
  sink->flags = NULL;
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
  hs_free_database(db->digits);
  for (size_t k = 0; k < db->n_gates; k++) hs_free_database(db->gated[k]);
  hs_free_database(db->runs);
  hs_free_database(db->anchored);
  hs_free_database(db->stream);
  for (size_t i = 0; db->re && i < db->n_pat; i++) pcre2_code_free(db->re[i]);
  al_free(db->re);
  al_free(db->shaped);
  for (size_t i = 0; db->regex && i < db->n_pat; i++) al_free(db->regex[i]);
  al_free(db->regex);
  al_free(db->flags);
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
  if ((db->n_shaped && !(s->seen = al_calloc(db->n_shaped, sizeof *s->seen))) ||
      (db->n_ashaped && !(s->aseen = al_calloc(db->n_ashaped, sizeof *s->aseen))) ||
      (db->proto && hs_clone_scratch(db->proto, &s->scratch) != HS_SUCCESS)) {
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
  al__ds_cleanup(&s->ds);
  for (size_t k = 0; k < AL_SCAN_MAX_GATES; k++) al__ds_cleanup(&s->dg[k]);
  al__ds_cleanup(&s->dr);
  al__ds_cleanup(&s->da);
  al_free(s->seen);
  al_free(s->aseen);
  al_free(s);
}

typedef struct block_ctx {
  al_scanner *s;
  al_textview tv;
  uint64_t main_pos; /* end of the last match of the main block database */
  al_digitscan *cur; /* the windows being scanned (on_digit_match) */
  size_t pend_mark;  /* pending findings after the last delivery */
  int rc;
} block_ctx;

/* Lowest offset a candidate not yet added can start at: the main database reports in end
 * order (so no start below main_pos - holdback), and the digit windows not yet scanned
 * start at or after the finder's position. */
static uint64_t block_bound(const block_ctx *b) {
  const al_scan_db *db = b->s->db;
  const al_digitscan *ds = &b->s->ds;
  uint64_t bound = b->main_pos > db->holdback ? b->main_pos - db->holdback : 0;
  if (db->windows) {
    uint64_t next = ds->n_win ? ds->win[0].orig : ds->have_next ? ds->next_a : ds->pos;
    if (next < bound) bound = next;
  }
  return bound > AL_SCAN_CTX ? bound - AL_SCAN_CTX : 0;
}

/* In block mode all context is present: verify everything collected so far and deliver
 * the clusters no later candidate can reach. */
static int block_flush(block_ctx *b) {
  al_pipeline *pl = &b->s->pl;
  int rc = al__pl_verify(pl, b->s->db, &b->tv, 0, true);
  if (rc == 0 && !b->s->db->has_full) rc = al__pl_emit(pl, b->s->db, &b->tv, block_bound(b), false);
  b->pend_mark = pl->n_pend;
  return rc;
}

static int on_digit_match(unsigned id, unsigned long long from, unsigned long long to,
                          unsigned flags, void *ctx) {
  block_ctx *b = ctx;
  const al_scan_db *db = b->s->db;
  const al_dwin *w = al__ds_find(b->cur, (size_t)to);
  if (!w) return 0; /* cannot happen: matches never contain the sentinels between windows */
  from = db->pat[id].som ? from : to > db->pat[id].width ? to - db->pat[id].width : 0;
  if (from < w->at) from = w->at;
  if ((b->rc = al__pl_add_cand(&b->s->pl, id, w->orig + (from - w->at), w->orig + (to - w->at))) < 0)
    return 1;
  return 0;
}

/* Scan the windows of ds with hdb, then forget them. */
static int digits_scan(block_ctx *b, al_digitscan *ds, const hs_database_t *hdb) {
  if (!ds->n_win) return 0;
  ds->cursor = 0;
  b->cur = ds;
  hs_error_t e = hs_scan(hdb, ds->cat, (unsigned)ds->cat_len, 0, b->s->scratch, on_digit_match, b);
  ds->n_win = 0;
  ds->cat_len = 0;
  if (b->rc < 0) return b->rc;
  if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED) return AL_EINVAL;
  return 0;
}

/* Scan the collected digit windows (db->digits and the shapes) and the gated ones
 * (db->gated[k] over the windows gate k accepted). */
static int digits_flush(block_ctx *b) {
  al_scanner *s = b->s;
  int rc = 0;
  if ((s->db->n_shaped || s->db->n_gates) &&
      (rc = al__shapes_scan(s->db, &s->ds, s->dg, b->tv.p, b->tv.len, s->seen, &s->pl)) < 0)
    return rc;
  if (s->db->digits && (rc = digits_scan(b, &s->ds, s->db->digits)) < 0) return rc;
  for (size_t k = 0; k < s->db->n_gates; k++)
    if (s->db->gated[k] && (rc = digits_scan(b, &s->dg[k], s->db->gated[k])) < 0) return rc;
  s->ds.n_win = 0;
  s->ds.cat_len = 0;
  /* verify now, while the windows' text is still in the cache; deliver in batches (when a
   * batch more than after the last delivery waits: findings of the pre-pass may be
   * pending all along) */
  if ((rc = al__pl_verify(&s->pl, s->db, &b->tv, 0, true)) < 0) return rc;
  if (s->pl.n_pend >= b->pend_mark + AL_SCAN_BATCH) return block_flush(b);
  return 0;
}

/* Collect the digit windows that start before upto (all when upto is the text length),
 * scanning them whenever AL_SCAN_DIGIT_CAT bytes have been collected. The last window is
 * kept until the next one is known not to overlap it. */
static int digits_until(block_ctx *b, uint64_t upto) {
  al_digitscan *ds = &b->s->ds;
  const char *t = b->tv.p;
  size_t len = b->tv.len;
  int rc = 0;
  while (!b->s->pl.stopped) {
    if (!ds->have_next) {
      if (!al__digit_window(t, len, &ds->pos, &ds->next_a, &ds->next_b)) break;
      ds->have_next = true;
    }
    bool overlaps = ds->n_win && ds->next_a < ds->win[ds->n_win - 1].orig + ds->win[ds->n_win - 1].len;
    if (!overlaps && ds->next_a >= upto) return 0;
    if (!overlaps && ds->cat_len >= AL_SCAN_DIGIT_CAT && (rc = digits_flush(b)) < 0) return rc;
    if ((rc = al__ds_add(ds, t, len, ds->next_a, ds->next_b)) < 0) return rc;
    ds->have_next = false;
  }
  return upto >= len ? digits_flush(b) : 0;
}

/* Long-run windows (AL_PAT_B64RUN patterns) of the whole text, before the main scan: their
 * candidates are all known before anything is emitted. Verified in batches, so a long
 * base64 blob (a candidate at every byte) does not pile up. */
static int runs_pass(block_ctx *b) {
  al_scanner *s = b->s;
  al_digitscan *dw = &s->dr;
  size_t pos = 0, a = 0, e = 0;
  int rc = 0;
  al__ds_reset(dw);
  for (;;) {
    bool more = al__run_window(b->tv.p, b->tv.len, s->db->run_width, &pos, &a, &e);
    bool overlaps = more && dw->n_win && a < dw->win[dw->n_win - 1].orig + dw->win[dw->n_win - 1].len;
    if (!more || (!overlaps && dw->cat_len >= AL_SCAN_DIGIT_CAT)) {
      if ((rc = digits_scan(b, dw, s->db->runs)) < 0) return rc;
      if ((rc = al__pl_verify(&s->pl, s->db, &b->tv, 0, true)) < 0) return rc;
    }
    if (!more) return 0;
    if ((rc = al__ds_add(dw, b->tv.p, b->tv.len, a, e)) < 0) return rc;
  }
}

/* Anchored patterns, before the main scan too: at each digit run an anchor gate accepts,
 * the patterns with a shape are followed on the text (their matches start there), and the
 * others get a window for db->anchored. Each end is kept once, with its first anchor's
 * start, as Hyperscan reports it. */
static int anchors_pass(block_ctx *b) {
  al_scanner *s = b->s;
  const al_scan_db *db = s->db;
  al_digitscan *dw = &s->da;
  const char *t = b->tv.p;
  size_t len = b->tv.len, pos = 0, run = 0;
  unsigned gates = 0;
  int rc = 0;
  al__ds_reset(dw);
  for (size_t i = 0; i < db->n_ashaped; i++) al__shape_seen_reset(&s->aseen[i], AL_ANCHOR_SEEN);
  for (;;) {
    bool more = al__next_anchor(db, t, len, &pos, &run, &gates);
    for (size_t i = 0; more && i < db->n_ashaped; i++) {
      if (!(gates >> db->ashape_gate[i] & 1)) continue;
      al_shape_hits h;
      h.n = 0;
      db->pat[db->ashaped[i]].ashape(t, len, run, &h);
      for (unsigned j = 0; j < h.n; j++)
        if (!al__shape_seen(&s->aseen[i], h.e[j]) &&
            (rc = al__pl_add_cand(&s->pl, db->ashaped[i], h.s[j], h.e[j])) < 0)
          return rc;
    }
    size_t a = 0, e = 0;
    bool win = more && db->anchored && (gates & db->anchors_windowed);
    if (win) al__anchor_span(db, t, len, run, &a, &e);
    bool overlaps = win && dw->n_win && a < dw->win[dw->n_win - 1].orig + dw->win[dw->n_win - 1].len;
    /* windows are scanned only when the next one cannot overlap them */
    bool scan = db->anchored && (!more || (win && !overlaps && dw->cat_len >= AL_SCAN_DIGIT_CAT));
    if (scan && (rc = digits_scan(b, dw, db->anchored)) < 0) return rc;
    if ((scan || !more || s->pl.n_cand >= AL_SCAN_BATCH) &&
        (rc = al__pl_verify(&s->pl, db, &b->tv, 0, true)) < 0)
      return rc;
    if (!more) return 0;
    if (win && (rc = al__ds_add(dw, t, len, a, e)) < 0) return rc;
  }
}

static int on_block_match(unsigned id, unsigned long long from, unsigned long long to,
                          unsigned flags, void *ctx) {
  block_ctx *b = ctx;
  al_pipeline *pl = &b->s->pl;
  from = al__cand_start(b->s->db, id, from, to);
  b->main_pos = to;
  if ((b->rc = al__pl_add_cand(pl, id, from, to)) < 0) return 1;
  if (pl->n_cand >= AL_SCAN_BATCH) {
    if (b->s->db->windows && (b->rc = digits_until(b, to)) < 0) return 1;
    if ((b->rc = block_flush(b)) < 0) return 1;
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
  al__ds_reset(&s->ds);
  for (size_t k = 0; k < db->n_gates; k++) al__ds_reset(&s->dg[k]);
  if (len > UINT32_MAX) return AL_ELIMIT; /* hs_scan takes an unsigned int length */
  if (db->runs && len) {
    int rc = runs_pass(&b);
    if (rc < 0) return rc;
  }
  if (db->n_anchors && len) {
    int rc = anchors_pass(&b);
    if (rc < 0) return rc;
  }
  if (db->block && len) {
    hs_error_t e = hs_scan(db->block, text, (unsigned)len, 0, s->scratch, on_block_match, &b);
    if (b.rc < 0) return b.rc;
    if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED) return AL_EINVAL;
    if (s->pl.stopped) return 0;
  }
  b.main_pos = len;
  if (db->windows && len) {
    int rc = digits_until(&b, len);
    if (rc < 0) return rc;
    if (s->pl.stopped) return 0;
  }
  int rc = al__pl_verify(&s->pl, db, &b.tv, 0, true);
  if (rc < 0) return rc;
  if (db->has_full && (rc = al__pl_scan_full(&s->pl, db, &b.tv)) < 0) return rc;
  return al__pl_emit(&s->pl, db, &b.tv, 0, true);
}
