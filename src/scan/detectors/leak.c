/* Detector "leak.system_prompt": does a model output reproduce the configured system prompt?
 *
 * Two measures, both after folding case and runs of whitespace (so re-wrapped or
 * re-capitalised copies still count):
 *  - the longest common substring of output and prompt, found with a suffix automaton of the
 *    folded prompt (built once at init, O(prompt)); the output is streamed through it in
 *    O(output) -- no allocation per scan. A finding when it reaches min_chars (default 40;
 *    capped at the prompt's length for short prompts of at least 20 chars);
 *  - word 5-gram overlap: the share of the prompt's distinct word 5-grams (tokens as in
 *    cls_text.h, punctuation dropped) that occur in the output, counted in a stack bitmap.
 *    A finding when it reaches ngram_fraction (default 0.3) -- this catches a prompt leaked
 *    in pieces or lightly reordered, which the substring measure misses.
 * With no system prompt configured the detector is inert. Options: min_chars (>= 8),
 * ngram_fraction (0..1, 0 disables the 5-gram measure).
 */
#include <stdio.h>
#include <string.h>

#include "airlock/util.h"
#include "scan/detectors/cls_detectors.h"
#include "scan/detectors/cls_text.h"

#define NGRAM 5

typedef struct sam_state {
  uint32_t len, link;
  uint32_t first_edge; /* index into edges, 0 = none */
} sam_state;

typedef struct sam_edge {
  uint32_t from, to, next; /* next edge of the same state */
  unsigned char c;
} sam_edge;

typedef struct leak_state {
  /* suffix automaton */
  sam_state *st;
  uint32_t nst;
  sam_edge *edges; /* edges[0] unused */
  uint32_t nedges, edgecap;
  uint32_t *table; /* open addressing: edge index by (state, byte) */
  size_t tcap;
  /* Dense copy of the transitions when small enough: bytes of the prompt are numbered
   * 1..alpha (amap; 0 = byte not in the prompt) and dense[state * alpha + a - 1] holds
   * target + 1 (0 = none). Scanning then costs one load per byte instead of a probe. */
  uint8_t amap[256];
  unsigned alpha;
  uint32_t *dense;
  size_t plen;     /* folded prompt length */
  /* 5-grams */
  uint64_t *grams; /* open addressing set of 5-gram hashes (0 = empty) */
  uint32_t *gram_id;
  size_t gcap, ngrams;
  /* options */
  double min_chars, ngram_fraction;
} leak_state;

static size_t slot(uint32_t s, unsigned char c, size_t cap) {
  uint64_t h = ((uint64_t)s << 8 | c) * 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 17) & (cap - 1);
}

static uint32_t sam_next(const leak_state *L, uint32_t s, unsigned char c) {
  if (L->dense) {
    unsigned a = L->amap[c];
    return a ? L->dense[(size_t)s * L->alpha + a - 1] - 1 : UINT32_MAX;
  }
  for (size_t i = slot(s, c, L->tcap);; i = (i + 1) & (L->tcap - 1)) {
    uint32_t e = L->table[i];
    if (!e) return UINT32_MAX;
    if (L->edges[e].from == s && L->edges[e].c == c) return L->edges[e].to;
  }
}

/* Set (or add) the transition s --c--> to. Capacity is reserved up front. */
static void sam_set(leak_state *L, uint32_t s, unsigned char c, uint32_t to) {
  size_t i = slot(s, c, L->tcap);
  for (;; i = (i + 1) & (L->tcap - 1)) {
    uint32_t e = L->table[i];
    if (!e) break;
    if (L->edges[e].from == s && L->edges[e].c == c) {
      L->edges[e].to = to;
      return;
    }
  }
  uint32_t e = ++L->nedges;
  L->edges[e] = (sam_edge){s, to, L->st[s].first_edge, c};
  L->st[s].first_edge = e;
  L->table[i] = e;
}

/* Standard online construction (Blumer et al.): at most 2n states and 3n transitions. */
static int sam_build(leak_state *L, const unsigned char *p, size_t n) {
  size_t maxst = 2 * n + 2, maxe = 3 * n + 4;
  L->st = al_calloc(maxst, sizeof *L->st);
  L->edges = al_calloc(maxe + 1, sizeof *L->edges);
  for (L->tcap = 64; L->tcap < maxe * 2; L->tcap <<= 1) {
  }
  L->table = al_calloc(L->tcap, sizeof *L->table);
  if (!L->st || !L->edges || !L->table) return AL_ENOMEM;
  L->nst = 1;
  L->st[0].link = UINT32_MAX;
  uint32_t last = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = p[i];
    uint32_t cur = L->nst++;
    L->st[cur].len = L->st[last].len + 1;
    uint32_t q, x = last;
    while (x != UINT32_MAX && sam_next(L, x, c) == UINT32_MAX) {
      sam_set(L, x, c, cur);
      x = L->st[x].link;
    }
    if (x == UINT32_MAX) {
      L->st[cur].link = 0;
    } else if (L->st[x].len + 1 == L->st[q = sam_next(L, x, c)].len) {
      L->st[cur].link = q;
    } else {
      uint32_t clone = L->nst++;
      L->st[clone].len = L->st[x].len + 1;
      L->st[clone].link = L->st[q].link;
      L->st[clone].first_edge = 0;
      for (uint32_t e = L->st[q].first_edge; e; e = L->edges[e].next)
        sam_set(L, clone, L->edges[e].c, L->edges[e].to);
      while (x != UINT32_MAX && sam_next(L, x, c) == q) {
        sam_set(L, x, c, clone);
        x = L->st[x].link;
      }
      L->st[q].link = L->st[cur].link = clone;
    }
    last = cur;
  }
  /* the dense table, when it fits */
  for (size_t i = 0; i < n; i++)
    if (!L->amap[p[i]]) L->amap[p[i]] = (uint8_t)++L->alpha;
  if (L->alpha && (size_t)L->nst * L->alpha * sizeof(uint32_t) <= CLS_LEAK_DENSE_MAX) {
    if (!(L->dense = al_calloc((size_t)L->nst * L->alpha, sizeof *L->dense))) return AL_ENOMEM;
    for (uint32_t e = 1; e <= L->nedges; e++)
      L->dense[(size_t)L->edges[e].from * L->alpha + L->amap[L->edges[e].c] - 1] = L->edges[e].to + 1;
  }
  return 0;
}

/* Folding: ASCII lower case; any run of whitespace becomes one space; leading space dropped. */
typedef struct folder {
  int prev_space;
} folder;

static int fold_byte(folder *f, unsigned char b, unsigned char *out) {
  if (b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v') {
    if (f->prev_space) return 0;
    f->prev_space = 1;
    *out = ' ';
    return 1;
  }
  f->prev_space = 0;
  *out = (b >= 'A' && b <= 'Z') ? (unsigned char)(b + 32) : b;
  return 1;
}

static uint64_t gram_hash(const uint64_t *ring, unsigned at) {
  uint64_t h = 0x84222325cbf29ce4ull;
  for (unsigned k = 0; k < NGRAM; k++) {
    h ^= ring[(at + k) % NGRAM];
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h | 1; /* never 0 (the empty mark) */
}

static int64_t gram_find(const leak_state *L, uint64_t h) {
  if (!L->gcap) return -1;
  for (size_t i = (size_t)(h >> 7) & (L->gcap - 1);; i = (i + 1) & (L->gcap - 1)) {
    if (!L->grams[i]) return -1;
    if (L->grams[i] == h) return L->gram_id[i];
  }
}

static int grams_build(leak_state *L, const char *p, size_t n) {
  size_t words = 0;
  cls_tokenizer tz;
  cls_tok tok;
  cls_tok_init(&tz, p, n, 0);
  while (cls_tok_next(&tz, &tok)) words++;
  if (words < NGRAM) return 0;
  for (L->gcap = 64; L->gcap < 2 * words; L->gcap <<= 1) {
  }
  L->grams = al_calloc(L->gcap, sizeof *L->grams);
  L->gram_id = al_calloc(L->gcap, sizeof *L->gram_id);
  if (!L->grams || !L->gram_id) return AL_ENOMEM;
  uint64_t ring[NGRAM];
  unsigned k = 0;
  cls_tok_init(&tz, p, n, 0);
  while (cls_tok_next(&tz, &tok)) {
    ring[k % NGRAM] = tok.h;
    k++;
    if (k < NGRAM) continue;
    uint64_t h = gram_hash(ring, k % NGRAM);
    if (gram_find(L, h) >= 0) continue;
    if (L->ngrams >= CLS_LEAK_MAX_NGRAMS) return AL_ELIMIT;
    size_t i = (size_t)(h >> 7) & (L->gcap - 1);
    while (L->grams[i]) i = (i + 1) & (L->gcap - 1);
    L->grams[i] = h;
    L->gram_id[i] = (uint32_t)L->ngrams++;
  }
  return 0;
}

static void leak_fini(void *state) {
  leak_state *L = state;
  if (!L) return;
  al_free(L->st);
  al_free(L->edges);
  al_free(L->table);
  al_free(L->dense);
  al_free(L->grams);
  al_free(L->gram_id);
  al_free(L);
}

static int leak_init(const al_scan_config *cfg, void **state, al_error *err) {
  static const char *const keys[] = {"min_chars", "ngram_fraction", NULL};
  const char *name = "leak.system_prompt";
  const json_t *o;
  leak_state *L = NULL;
  unsigned char *folded = NULL;
  int rc;
  if ((rc = cls_opts_get(cfg, name, &o, err)) || (rc = cls_opts_check_keys(o, name, keys, err))) goto out;
  if (!(L = al_calloc(1, sizeof *L))) {
    rc = al_error_set(err, AL_ENOMEM, "%s: out of memory", name);
    goto out;
  }
  L->min_chars = 40;
  L->ngram_fraction = 0.3;
  if ((rc = cls_opts_number(o, name, "min_chars", 8, CLS_SYSPROMPT_MAX_BYTES, &L->min_chars, err)) ||
      (rc = cls_opts_number(o, name, "ngram_fraction", 0, 1, &L->ngram_fraction, err)))
    goto out;
  const char *p = cfg ? cfg->system_prompt : NULL;
  size_t n = p ? strlen(p) : 0;
  if (n > CLS_SYSPROMPT_MAX_BYTES) {
    rc = al_error_set(err, AL_ELIMIT, "%s: system prompt of %zu bytes is past the limit of %u",
                      name, n, CLS_SYSPROMPT_MAX_BYTES);
    goto out;
  }
  if (n) {
    if (!(folded = al_malloc(n))) {
      rc = al_error_set(err, AL_ENOMEM, "%s: out of memory", name);
      goto out;
    }
    folder f = {1};
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += fold_byte(&f, (unsigned char)p[i], folded + m);
    while (m && folded[m - 1] == ' ') m--;
    L->plen = m;
    if ((rc = sam_build(L, folded, m)) || (rc = grams_build(L, p, n))) {
      rc = rc == AL_ELIMIT
               ? al_error_set(err, rc, "%s: system prompt has more than %u distinct 5-grams", name, CLS_LEAK_MAX_NGRAMS)
               : al_error_set(err, rc, "%s: out of memory", name);
      goto out;
    }
  }
  *state = L;
  L = NULL;
out:
  al_free(folded);
  leak_fini(L);
  return rc;
}

/* Original offset of folded position `target` (second pass, only when reporting). */
static size_t orig_offset(const char *text, size_t len, size_t target) {
  folder f = {1};
  size_t k = 0;
  unsigned char c;
  for (size_t i = 0; i < len; i++) {
    if (fold_byte(&f, (unsigned char)text[i], &c)) {
      if (k == target) return i;
      k++;
    }
  }
  return len;
}

static int leak_scan(const void *state, const char *text, size_t len, al_finding_cb cb, void *ud) {
  const leak_state *L = state;
  if (!L || !L->plen) return 0;
  /* 1. longest common substring through the automaton */
  folder f = {1};
  uint32_t v = 0, l = 0, best = 0;
  size_t k = 0, best_end_folded = 0, best_end = 0;
  unsigned char c;
  for (size_t i = 0; i < len; i++) {
    if (!fold_byte(&f, (unsigned char)text[i], &c)) continue;
    uint32_t nx;
    while (v && (nx = sam_next(L, v, c)) == UINT32_MAX) {
      v = L->st[v].link;
      l = L->st[v].len;
    }
    if ((nx = sam_next(L, v, c)) != UINT32_MAX) v = nx, l++;
    else v = 0, l = 0;
    if (l > best) best = l, best_end_folded = k, best_end = i + 1;
    k++;
  }
  double need = L->min_chars;
  if (L->plen < need && L->plen >= 20) need = (double)L->plen;
  int rc = 0;
  if (best >= need) {
    al_finding fd;
    memset(&fd, 0, sizeof fd);
    fd.detector = "leak.system_prompt";
    fd.kind = "leak";
    fd.start = orig_offset(text, len, best_end_folded + 1 - best);
    fd.end = best_end;
    fd.text = text + fd.start;
    double cover = (double)best / (double)L->plen;
    fd.score = 0.6 + 0.4 * (cover > 1 ? 1 : cover);
    cls_note(&fd, "overlap %u chars with the system prompt (%.0f%% of its %zu folded chars)", best,
             100.0 * cover, L->plen);
    if (cb && cb(&fd, ud)) return 1;
    rc = 0;
  }
  /* 2. word 5-gram overlap */
  if (L->ngrams && L->ngram_fraction > 0) {
    unsigned char seen[CLS_LEAK_MAX_NGRAMS / 8];
    size_t nbytes = (L->ngrams + 7) / 8, hits = 0, first = 0, last = 0;
    memset(seen, 0, nbytes);
    uint64_t ring[NGRAM];
    size_t starts[NGRAM];
    unsigned t = 0;
    cls_tokenizer tz;
    cls_tok tok;
    cls_tok_init(&tz, text, len, 0);
    while (cls_tok_next(&tz, &tok)) {
      ring[t % NGRAM] = tok.h;
      starts[t % NGRAM] = tok.start;
      t++;
      if (t < NGRAM) continue;
      int64_t id = gram_find(L, gram_hash(ring, t % NGRAM));
      if (id < 0) continue;
      if (!hits) first = starts[t % NGRAM];
      last = tok.end;
      if (!(seen[id >> 3] & (1u << (id & 7)))) {
        seen[id >> 3] |= (unsigned char)(1u << (id & 7));
        hits++;
      }
    }
    double frac = (double)hits / (double)L->ngrams;
    if (hits && frac >= L->ngram_fraction) {
      al_finding fd;
      memset(&fd, 0, sizeof fd);
      fd.detector = "leak.system_prompt";
      fd.kind = "leak";
      fd.start = first;
      fd.end = last;
      fd.text = text + first;
      fd.score = frac;
      cls_note(&fd, "%zu of the system prompt's %zu word 5-grams (%.0f%%) appear in the output",
               hits, L->ngrams, 100.0 * frac);
      if (cb && cb(&fd, ud)) return 1;
    }
  }
  return rc;
}

const al_detector al_det_leak_system_prompt = {
    .name = "leak.system_prompt",
    .kind = "leak",
    .description = "output reproduces the configured system prompt (longest common substring "
                   "via suffix automaton; word 5-gram overlap)",
    .flags = AL_DET_OUTPUT,
    .init = leak_init,
    .scan_full = leak_scan,
    .fini = leak_fini,
};
