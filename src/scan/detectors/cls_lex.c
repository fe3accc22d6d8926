/* Phrase lexicons: spec parsing, the token-hash automaton, and the streaming matcher.
 *
 * Layout: nodes are numbers (0 is the root); edges live in one open-addressing table keyed
 * by (parent, edge key), where the key is a token hash, or the same hash salted for the
 * skeleton / mask aliases of FUZZY lexicons, or a fixed key for the '*' wildcard. One key
 * may have several children (the automaton is an NFA: each phrase is its own chain of
 * nodes, so a spec with many optional slots costs nodes in proportion to its text, not to
 * the number of sentences it spells). Aliases point at the child of the exact edge, so a
 * fuzzy hit continues the same phrase. Each node may end a phrase (term[node] is an entry
 * index). Everything is built once; matching only reads.
 */
#include "scan/detectors/cls_lex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"

#define KEY_SKEL(h) ((h) ^ 0x5bd1e9955bd1e995ull)
#define KEY_MASK(h) ((h) ^ 0x27d4eb2f165667c5ull)
#define KEY_WILD 0x9ae16a3b2f90404full

typedef struct edge {
  uint64_t key;
  uint32_t parent;
  uint32_t child; /* 0 = empty slot (the root is never a child) */
} edge;

struct cls_lex {
  unsigned mode, flags;
  edge *edges;
  size_t ecap, ecount;
  int32_t *term;
  uint64_t *rkey; /* for children of the root: the token hash they stand for (else 0) */
  uint64_t rootbits[1024]; /* 65536-bit filter of keys leaving the root (most tokens start nothing) */
  uint32_t nnodes, ncap;
  cls_lex_entry *ents;
  size_t nents, entcap;
  char **owned;
  size_t nowned, ownedcap;
};

/* A parsed spec: slots of alternatives of token runs. */
typedef struct ptok {
  uint64_t h, hskel;
  int wild;
  unsigned len;
  char s[CLS_TOK_MAX + 1];
} ptok;
typedef struct palt {
  size_t first, n; /* into toks */
} palt;
typedef struct pslot {
  size_t first, n; /* into alts */
  int optional;
} pslot;
typedef struct parsed {
  int fuzzy; /* file fuzzy aliases (word-list terms of a FUZZY lexicon; specs spell their own) */
  ptok *toks;
  palt *alts;
  pslot *slots;
  size_t ntoks, nalts, nslots, cap;
} parsed;

static uint64_t mix(uint32_t parent, uint64_t key) {
  uint64_t h = key ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

/* All children of parent under key (an NFA: one key may lead to several nodes). */
static unsigned edge_each(const cls_lex *lx, uint32_t parent, uint64_t key, uint32_t *out, unsigned max) {
  unsigned n = 0;
  size_t mask = lx->ecap - 1;
  for (size_t i = mix(parent, key) & mask; n < max; i = (i + 1) & mask) {
    const edge *e = &lx->edges[i];
    if (!e->child) break;
    if (e->parent == parent && e->key == key) out[n++] = e->child;
  }
  return n;
}

static int edges_grow(cls_lex *lx) {
  size_t ncap = lx->ecap ? lx->ecap * 2 : 1024;
  edge *ne = al_calloc(ncap, sizeof *ne);
  if (!ne) return AL_ENOMEM;
  for (size_t i = 0; i < lx->ecap; i++) {
    edge *e = &lx->edges[i];
    if (!e->child) continue;
    size_t j = mix(e->parent, e->key) & (ncap - 1);
    while (ne[j].child) j = (j + 1) & (ncap - 1);
    ne[j] = *e;
  }
  al_free(lx->edges);
  lx->edges = ne;
  lx->ecap = ncap;
  return 0;
}

/* Add parent --key--> child unless that very edge exists. */
static int edge_put(cls_lex *lx, uint32_t parent, uint64_t key, uint32_t child) {
  if ((lx->ecount + 1) * 4 > lx->ecap * 3) { /* load <= 3/4: tables are touched page by page */
    int rc = edges_grow(lx);
    if (rc) return rc;
  }
  size_t mask = lx->ecap - 1;
  size_t i = mix(parent, key) & mask;
  while (lx->edges[i].child) {
    const edge *e = &lx->edges[i];
    if (e->parent == parent && e->key == key && e->child == child) return 0;
    i = (i + 1) & mask;
  }
  lx->edges[i] = (edge){key, parent, child};
  lx->ecount++;
  if (!parent) lx->rootbits[(key >> 48) >> 6] |= 1ull << ((key >> 48) & 63);
  return 0;
}

static int root_may_have(const cls_lex *lx, uint64_t key) {
  return (lx->rootbits[(key >> 48) >> 6] >> ((key >> 48) & 63)) & 1;
}

static int node_new(cls_lex *lx, uint32_t *out) {
  if (lx->nnodes >= CLS_LEX_MAX_NODES) return AL_ELIMIT;
  if (lx->nnodes == lx->ncap) {
    uint32_t nc = lx->ncap ? lx->ncap * 2 : 256;
    int32_t *nt = al_realloc(lx->term, nc * sizeof *nt);
    if (!nt) return AL_ENOMEM;
    lx->term = nt;
    uint64_t *nk = al_realloc(lx->rkey, nc * sizeof *nk);
    if (!nk) return AL_ENOMEM;
    lx->rkey = nk;
    lx->ncap = nc;
  }
  lx->term[lx->nnodes] = -1;
  lx->rkey[lx->nnodes] = 0;
  *out = lx->nnodes++;
  return 0;
}

int cls_lex_new(unsigned tok_mode, unsigned flags, cls_lex **out) {
  int rc = 0;
  uint32_t root;
  cls_lex *lx = al_calloc(1, sizeof *lx);
  if (!lx) return AL_ENOMEM;
  lx->mode = tok_mode;
  lx->flags = flags;
  if ((rc = node_new(lx, &root)) || (rc = edges_grow(lx))) goto out;
  *out = lx;
  lx = NULL;
out:
  cls_lex_free(lx);
  return rc;
}

void cls_lex_free(cls_lex *lx) {
  if (!lx) return;
  for (size_t i = 0; i < lx->nowned; i++) al_free(lx->owned[i]);
  al_free(lx->owned);
  al_free(lx->edges);
  al_free(lx->term);
  al_free(lx->rkey);
  al_free(lx->ents);
  al_free(lx);
}

unsigned cls_lex_mode(const cls_lex *lx) { return lx->mode; }
size_t cls_lex_size(const cls_lex *lx) { return lx->nents; }

/* --- building ------------------------------------------------------------------------ */

static void parsed_free(parsed *p) {
  al_free(p->toks);
  al_free(p->alts);
  al_free(p->slots);
}

static int parsed_init(parsed *p, size_t speclen) {
  memset(p, 0, sizeof *p);
  p->cap = speclen + 2;
  p->toks = al_calloc(p->cap, sizeof *p->toks);
  p->alts = al_calloc(p->cap, sizeof *p->alts);
  p->slots = al_calloc(p->cap, sizeof *p->slots);
  if (!p->toks || !p->alts || !p->slots) {
    parsed_free(p);
    return AL_ENOMEM;
  }
  return 0;
}

/* One alternative from text[0,n): a wildcard or the tokens of the text. Returns the number
 * of tokens (0 when the text holds no word). */
static size_t alt_add(cls_lex *lx, parsed *p, const char *text, size_t n) {
  while (n && (*text == ' ' || *text == '\t')) text++, n--;
  while (n && (text[n - 1] == ' ' || text[n - 1] == '\t')) n--;
  palt *a = &p->alts[p->nalts];
  a->first = p->ntoks;
  a->n = 0;
  if (n == 1 && text[0] == '*') {
    ptok *t = &p->toks[p->ntoks++];
    memset(t, 0, sizeof *t);
    t->wild = 1;
    a->n = 1;
  } else {
    cls_tokenizer tz;
    cls_tok tok;
    cls_tok_init(&tz, text, n, lx->mode);
    while (p->ntoks < p->cap && cls_tok_next(&tz, &tok)) {
      if (tok.flags & CLS_TF_LONG) continue;
      ptok *t = &p->toks[p->ntoks++];
      t->h = tok.h;
      t->hskel = tok.hskel;
      t->wild = 0;
      t->len = tok.len;
      memcpy(t->s, tok.s, tok.len + 1);
      a->n++;
    }
  }
  if (a->n) p->nalts++;
  return a->n;
}

static int spec_parse(cls_lex *lx, const char *spec, parsed *p, al_error *err) {
  size_t i = 0, n = strlen(spec);
  while (i < n) {
    while (i < n && (spec[i] == ' ' || spec[i] == '\t')) i++;
    if (i >= n) break;
    pslot *s = &p->slots[p->nslots];
    s->first = p->nalts;
    s->optional = 0;
    if (spec[i] == '(') {
      size_t j = ++i, k;
      for (k = j; k < n && spec[k] != ')'; k++) {
        if (spec[k] == '(') return al_error_set(err, AL_EPARSE, "phrase \"%s\": nested '('", spec);
        if (spec[k] == '|') alt_add(lx, p, spec + j, k - j), j = k + 1;
      }
      if (k >= n) return al_error_set(err, AL_EPARSE, "phrase \"%s\": '(' without ')'", spec);
      alt_add(lx, p, spec + j, k - j);
      i = k + 1;
    } else {
      size_t j = i, k;
      for (k = i; k < n && spec[k] != ' ' && spec[k] != '\t' && spec[k] != '?'; k++) {
        if (spec[k] == '(' || spec[k] == ')')
          return al_error_set(err, AL_EPARSE, "phrase \"%s\": '%c' inside a word", spec, spec[k]);
        if (spec[k] == '|') alt_add(lx, p, spec + j, k - j), j = k + 1;
      }
      alt_add(lx, p, spec + j, k - j);
      i = k;
    }
    if (i < n && spec[i] == '?') s->optional = 1, i++;
    s->n = p->nalts - s->first;
    if (!s->n)
      return al_error_set(err, AL_EPARSE, "phrase \"%s\": a slot holds no word", spec);
    p->nslots++;
  }
  if (!p->nslots) return al_error_set(err, AL_EPARSE, "phrase \"%s\" holds no word", spec);
  return 0;
}

static int mask_alias(cls_lex *lx, uint32_t parent, uint32_t child, const ptok *t) {
  char m[CLS_TOK_MAX + 1];
  int rc = 0;
  if (t->len < 3) return 0;
  for (unsigned i = 1; i + 1 < t->len && !rc; i++) { /* one inner letter masked */
    memcpy(m, t->s, t->len);
    m[i] = '*';
    rc = edge_put(lx, parent, KEY_MASK(cls_hash(m, t->len)), child);
  }
  for (unsigned i = 1; i + 2 < t->len && !rc; i++) { /* two inner letters */
    memcpy(m, t->s, t->len);
    m[i] = m[i + 1] = '*';
    rc = edge_put(lx, parent, KEY_MASK(cls_hash(m, t->len)), child);
  }
  if (!rc && t->len >= 5) { /* all inner letters */
    memcpy(m, t->s, t->len);
    memset(m + 1, '*', t->len - 2);
    rc = edge_put(lx, parent, KEY_MASK(cls_hash(m, t->len)), child);
  }
  return rc;
}

/* Inflections of a word filed as aliases of it ("bitch" -> "bitches", "fuck" -> "fucking"):
 * plural s / es (after s, x, z, ch, sh), and for words of four letters or more ed / er /
 * ers / ing / in. A listed word that looks inflected keeps its own edge as well. */
static int suffix_alias(cls_lex *lx, uint32_t parent, uint32_t child, const ptok *t) {
  static const char *const longer[] = {"ed", "er", "ers", "ing", "in", NULL};
  char w[CLS_TOK_MAX + 8];
  int rc = 0;
  unsigned n = t->len;
  if (n < 3 || n + 4 > CLS_TOK_MAX) return 0;
  memcpy(w, t->s, n);
  char last = w[n - 1], prev = w[n - 2];
  int es = last == 's' || last == 'x' || last == 'z' || ((last == 'h') && (prev == 'c' || prev == 's'));
  memcpy(w + n, es ? "es" : "s", es ? 2 : 1);
  rc = edge_put(lx, parent, cls_hash(w, n + (es ? 2 : 1)), child);
  for (size_t i = 0; longer[i] && !rc && n >= 4; i++) {
    size_t k = strlen(longer[i]);
    memcpy(w + n, longer[i], k);
    rc = edge_put(lx, parent, cls_hash(w, n + k), child);
  }
  return rc;
}

/* parent --token--> child, plus the fuzzy aliases of the token. */
static int tok_edge(cls_lex *lx, uint32_t parent, const ptok *t, uint32_t child, int fuzzy) {
  int rc = edge_put(lx, parent, t->wild ? KEY_WILD : t->h, child);
  if (!rc && !t->wild && fuzzy) {
    if (!(rc = edge_put(lx, parent, KEY_SKEL(t->hskel), child)) && !(rc = mask_alias(lx, parent, child, t)))
      rc = suffix_alias(lx, parent, child, t);
  }
  return rc;
}

/* The shared child of the root for a token: the first word of every phrase starting with
 * it leads to one node, so matching fans out from the root once per token, not once per
 * phrase. */
static int root_child(cls_lex *lx, const ptok *t, uint32_t *out, int fuzzy) {
  uint64_t key = t->wild ? KEY_WILD : t->h;
  uint32_t c[64];
  unsigned n = lx->ecap ? edge_each(lx, 0, key, c, 64) : 0;
  for (unsigned i = 0; i < n; i++)
    if (lx->rkey[c[i]] == (key | 1)) {
      *out = c[i];
      return fuzzy ? tok_edge(lx, 0, t, *out, fuzzy) : 0; /* aliases, if this use wants them */
    }
  int rc = node_new(lx, out);
  if (!rc) lx->rkey[*out] = key | 1, rc = tok_edge(lx, 0, t, *out, fuzzy);
  return rc;
}

/* Build one phrase: its first words hang off shared children of the root; from there on the
 * phrase is a private chain of nodes where, after each slot, every alternative joins one
 * node, and an optional slot carries its predecessors forward. The lexicon is thus an NFA
 * (one key may lead to several children), linear in the size of the specs -- a trie would
 * multiply out every optional slot -- and private chains mean no phrase can continue
 * another's prefix. */
static int insert(cls_lex *lx, const parsed *p, int32_t ent) {
  int rc = 0;
  const int fuzzy = p->fuzzy && (lx->flags & CLS_LEX_FUZZY);
  size_t maxlen = 0;
  for (size_t si = 0; si < p->nslots; si++) {
    size_t m = 0;
    for (size_t a = 0; a < p->slots[si].n; a++)
      if (p->alts[p->slots[si].first + a].n > m) m = p->alts[p->slots[si].first + a].n;
    maxlen += m;
  }
  if (maxlen > CLS_PHRASE_MAX_TOKENS) return AL_ELIMIT;
  size_t fcap = p->nalts + p->nslots + 2;
  uint32_t *front = al_calloc(2 * fcap, sizeof *front);
  if (!front) return AL_ENOMEM;
  uint32_t *next = front + fcap;
  size_t nf = 1, nn;
  front[0] = 0;
  for (size_t si = 0; si < p->nslots && !rc; si++) {
    const pslot *s = &p->slots[si];
    uint32_t join = 0;
    nn = 0;
    for (size_t x = 0; x < nf && !rc; x++) {
      for (size_t a = 0; a < s->n && !rc; a++) {
        const palt *alt = &p->alts[s->first + a];
        uint32_t y = front[x];
        for (size_t k = 0; k < alt->n && !rc; k++) {
          const ptok *t = &p->toks[alt->first + k];
          uint32_t z;
          if (y == 0) {
            rc = root_child(lx, t, &z, fuzzy);
            if (!rc && k + 1 == alt->n) {
              size_t d = 0;
              while (d < nn && next[d] != z) d++;
              if (d == nn) next[nn++] = z;
            }
          } else if (k + 1 == alt->n) {
            if (!join && !(rc = node_new(lx, &join))) next[nn++] = join;
            if (!rc) rc = tok_edge(lx, y, t, join, fuzzy);
            z = join;
          } else if (!(rc = node_new(lx, &z))) {
            rc = tok_edge(lx, y, t, z, fuzzy);
          }
          y = z;
        }
      }
    }
    if (s->optional)
      for (size_t x = 0; x < nf; x++) {
        size_t d = 0;
        while (d < nn && next[d] != front[x]) d++;
        if (d == nn) next[nn++] = front[x];
      }
    memcpy(front, next, nn * sizeof *front);
    nf = nn;
  }
  for (size_t x = 0; x < nf && !rc; x++) {
    uint32_t node = front[x];
    if (!node) continue; /* an all-optional phrase never matches the empty sequence */
    int32_t old = lx->term[node];
    if (old < 0 || lx->ents[old].weight < lx->ents[ent].weight) lx->term[node] = ent;
  }
  al_free(front);
  return rc;
}

static int entry_new(cls_lex *lx, float weight, int cat, const char *tag, int copy_tag,
                     int32_t *out) {
  if (lx->nents >= CLS_WORDLIST_MAX_ENTRIES) return AL_ELIMIT;
  if (lx->nents == lx->entcap) {
    size_t nc = lx->entcap ? lx->entcap * 2 : 64;
    cls_lex_entry *ne = al_realloc(lx->ents, nc * sizeof *ne);
    if (!ne) return AL_ENOMEM;
    lx->ents = ne;
    lx->entcap = nc;
  }
  if (copy_tag && tag) {
    if (lx->nowned == lx->ownedcap) {
      size_t nc = lx->ownedcap ? lx->ownedcap * 2 : 16;
      char **no = al_realloc(lx->owned, nc * sizeof *no);
      if (!no) return AL_ENOMEM;
      lx->owned = no;
      lx->ownedcap = nc;
    }
    char *c = al_strdup(tag);
    if (!c) return AL_ENOMEM;
    lx->owned[lx->nowned++] = c;
    tag = c;
  }
  lx->ents[lx->nents] = (cls_lex_entry){weight, cat, tag, 0};
  *out = (int32_t)lx->nents++;
  return 0;
}

static int add_parsed(cls_lex *lx, const parsed *p, const char *what, float weight, int cat,
                      const char *tag, int copy_tag, al_error *err) {
  int32_t ent;
  int rc = entry_new(lx, weight, cat, tag, copy_tag, &ent);
  if (rc == AL_ELIMIT)
    return al_error_set(err, rc, "more than %u lexicon entries", CLS_WORDLIST_MAX_ENTRIES);
  if (rc) return al_error_set(err, rc, "out of memory");
  rc = insert(lx, p, ent);
  if (rc == AL_ELIMIT)
    return al_error_set(err, rc, "phrase \"%s\": longer than %d tokens or lexicon past %u nodes",
                        what, CLS_PHRASE_MAX_TOKENS, CLS_LEX_MAX_NODES);
  if (rc) return al_error_set(err, rc, "out of memory");
  return 0;
}

int cls_lex_add(cls_lex *lx, const char *spec, float weight, int cat, const char *tag,
                int copy_tag, al_error *err) {
  parsed p;
  int rc = parsed_init(&p, strlen(spec));
  if (rc) return al_error_set(err, rc, "out of memory");
  if (!(rc = spec_parse(lx, spec, &p, err)))
    rc = add_parsed(lx, &p, spec, weight, cat, tag, copy_tag, err);
  parsed_free(&p);
  return rc;
}

int cls_lex_add_all(cls_lex *lx, const char *const *specs, float weight, int cat,
                    const char *tag, al_error *err) {
  for (size_t i = 0; specs[i]; i++) {
    int rc = cls_lex_add(lx, specs[i], weight, cat, tag, 0, err);
    if (rc) return rc;
  }
  return 0;
}

/* A literal term (from a word list): one slot, one alternative, no spec syntax. */
static int add_literal(cls_lex *lx, const char *term, size_t n, float weight, int cat,
                       const char *tag, al_error *err, int *added) {
  parsed p;
  int rc = parsed_init(&p, n);
  *added = 0;
  if (rc) return al_error_set(err, rc, "out of memory");
  p.slots[0].first = 0;
  p.fuzzy = 1;
  if (alt_add(lx, &p, term, n) && p.alts[0].n <= CLS_PHRASE_MAX_TOKENS) {
    p.slots[0].n = 1;
    p.nslots = 1;
    rc = add_parsed(lx, &p, "word-list term", weight, cat, tag, 0, err);
    *added = !rc;
  }
  parsed_free(&p);
  return rc;
}

int cls_lex_load_mem(cls_lex *lx, const char *name, const char *data, size_t len,
                     const char *const *cats, int ncats, al_error *err) {
  size_t i = 0;
  int line = 0;
  while (i < len) {
    size_t e = i;
    while (e < len && data[e] != '\n' && data[e] != '\r') e++;
    line++;
    size_t le = e;
    const char *l = data + i;
    size_t n = le - i;
    i = e < len ? e + 1 : e;
    if (e < len && data[e] == '\r' && i < len && data[i] == '\n') i++;
    if (!n || l[0] == '#') continue;
    if (memchr(l, '\0', n))
      return al_error_at(err, AL_EPARSE, name, line, 1, "NUL byte in a word list (expected text)");
    const char *tab = memchr(l, '\t', n);
    size_t tn = tab ? (size_t)(tab - l) : n;
    int cat = 0;
    float weight = 1.0f;
    if (tab) {
      const char *c = tab + 1, *end = l + n;
      const char *tab2 = memchr(c, '\t', (size_t)(end - c));
      size_t cn = tab2 ? (size_t)(tab2 - c) : (size_t)(end - c);
      int found = -1;
      for (int k = 0; k < ncats && cn; k++)
        if (strlen(cats[k]) == cn && !memcmp(cats[k], c, cn)) found = k;
      if (cn && found < 0)
        return al_error_at(err, AL_EPARSE, name, line, (int)(c - l) + 1,
                           "unknown category \"%.*s\" (expected one of the detector's categories)",
                           (int)(cn > 40 ? 40 : cn), c);
      if (found >= 0) cat = found;
      if (tab2) {
        char num[32];
        size_t wn = (size_t)(end - tab2 - 1);
        char *stop;
        if (!wn || wn >= sizeof num)
          return al_error_at(err, AL_EPARSE, name, line, (int)(tab2 - l) + 2,
                             "expected a weight between 0 and 1");
        memcpy(num, tab2 + 1, wn);
        num[wn] = '\0';
        errno = 0;
        double w = strtod(num, &stop);
        if (errno || *stop || w < 0 || w > 1)
          return al_error_at(err, AL_EPARSE, name, line, (int)(tab2 - l) + 2,
                             "expected a weight between 0 and 1, got \"%s\"", num);
        weight = (float)w;
      }
    }
    int added;
    int rc = add_literal(lx, l, tn, weight, cat, ncats ? cats[cat] : NULL, err, &added);
    if (rc) {
      char msg[sizeof err->msg];
      if (!err) return rc;
      memcpy(msg, err->msg, sizeof msg);
      return al_error_at(err, rc, name, line, 1, "%s", msg);
    }
  }
  return 0;
}

int cls_lex_load(cls_lex *lx, const char *path, const char *const *cats, int ncats,
                 al_error *err) {
  char *data = NULL;
  size_t len = 0;
  int rc = al_read_file(path, CLS_WORDLIST_MAX_BYTES, &data, &len, err);
  if (rc) goto out;
  rc = cls_lex_load_mem(lx, path, data, len, cats, ncats, err);
out:
  al_free(data);
  return rc;
}

/* --- matching ------------------------------------------------------------------------ */

void cls_matcher_init(cls_matcher *m, const cls_lex *lx) {
  m->lx = lx;
  m->n = 0;
}

void cls_matcher_reset(cls_matcher *m) { m->n = 0; }

int cls_matcher_feed(cls_matcher *m, const cls_tok *tok, cls_match_cb cb, void *ud) {
  const cls_lex *lx = m->lx;
  uint32_t next_node[CLS_MATCH_ACTIVE];
  unsigned next_depth[CLS_MATCH_ACTIVE];
  size_t next_start[CLS_MATCH_ACTIVE];
  unsigned nn = 0;
  const int fuzzy = (lx->flags & CLS_LEX_FUZZY) != 0;
  const int usable = !(tok->flags & CLS_TF_LONG);
  int stop = 0;
  for (unsigned i = 0; i <= m->n && !stop; i++) {
    uint32_t from = i < m->n ? m->act[i].node : 0;
    unsigned depth = i < m->n ? m->act[i].depth : 0;
    size_t start = i < m->n ? m->act[i].start : tok->start;
    uint32_t c[CLS_MATCH_FANOUT];
    unsigned nc = 0;
    if (!from && !root_may_have(lx, tok->h) && !root_may_have(lx, KEY_WILD) &&
        !(fuzzy && (tok->flags & (CLS_TF_ELONG | CLS_TF_MASK))))
      continue; /* the common case: this token starts no phrase */
    if (usable) {
      nc += edge_each(lx, from, tok->h, c + nc, CLS_MATCH_FANOUT - nc);
      if (fuzzy && (tok->flags & CLS_TF_ELONG))
        nc += edge_each(lx, from, KEY_SKEL(tok->hskel), c + nc, CLS_MATCH_FANOUT - nc);
      if (fuzzy && (tok->flags & CLS_TF_MASK))
        nc += edge_each(lx, from, KEY_MASK(tok->h), c + nc, CLS_MATCH_FANOUT - nc);
    }
    nc += edge_each(lx, from, KEY_WILD, c + nc, CLS_MATCH_FANOUT - nc);
    for (unsigned k = 0; k < nc && !stop; k++) {
      int dup = 0;
      for (unsigned j = 0; j < k; j++) dup |= c[j] == c[k];
      if (dup) continue;
      if (lx->term[c[k]] >= 0 && cb) stop = cb(&lx->ents[lx->term[c[k]]], start, tok->end, ud);
      if (nn < CLS_MATCH_ACTIVE && depth + 1 < CLS_PHRASE_MAX_TOKENS) {
        next_node[nn] = c[k];
        next_depth[nn] = depth + 1;
        next_start[nn] = start;
        nn++;
      }
    }
  }
  for (unsigned i = 0; i < nn; i++) {
    m->act[i].node = next_node[i];
    m->act[i].depth = next_depth[i];
    m->act[i].start = next_start[i];
  }
  m->n = nn;
  return stop;
}

int cls_lex_scan(const cls_lex *lx, const char *text, size_t len, cls_match_cb cb, void *ud) {
  cls_tokenizer tz;
  cls_tok tok;
  cls_matcher m;
  cls_tok_init(&tz, text, len, lx->mode);
  cls_matcher_init(&m, lx);
  while (cls_tok_next(&tz, &tok)) {
    int rc = cls_matcher_feed(&m, &tok, cb, ud);
    if (rc) return rc;
  }
  return 0;
}
