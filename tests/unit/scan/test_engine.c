/* The scan engine: detector selection, ordering, overlap resolution, stopping, streaming
 * (split values, agreement with block mode under random chunking, the safe-offset
 * contract) and sharing one database between threads. */
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "scan_test_util.h"
#include "scan/scan_internal.h"

static const char *mixed =
    "Hi, I'm Ann (ann.lee@example.org), call (212) 555-0142. Card 4526 0181 5908 3012 exp "
    "12/29; SSN 514-69-0360. IBAN DE89370400440532013000. Server 41.173.96.26 and "
    "::ffff:192.0.2.128. GITHUB_TOKEN=ghp_p7CgQ0PBQFI14zGtSnovm14TUOizwd1iaeOV and "
    "api_key=a5Vsqxezy3Lex7BWr2drgd1Q. Routing number 022366719. The code is "
    "AIRLOCK-CANARY-7731 or QUlSTE9DSy1DQU5BUlktNzczMQ==. Done.";

static const char *canary[] = {"AIRLOCK-CANARY-7731"};

/* The pattern detectors of this subsystem (classify's text classifiers have their own
 * tests); one database shared by the tests that do not select detectors themselves. */
static const char *mine[] = {"pii", "secret", "canary"};
static al_scan_db *shared_db;

static al_scan_db *make(const char *const *dets, size_t n) {
  if (!dets && shared_db) return shared_db;
  al_scan_config c = {.detectors = dets ? dets : mine, .n_detectors = dets ? n : 3,
                      .canaries = canary, .n_canaries = 1};
  al_scan_db *db = NULL;
  al_error err = {0};
  if (al_scan_db_new(&c, &db, &err)) fail_msg("db: %s", err.msg);
  if (!dets) shared_db = db;
  return db;
}

static void done(al_scan_db *db) {
  if (db != shared_db) al_scan_db_free(db);
}

static size_t count_det(const gotlist *g, const char *det) {
  size_t k = 0;
  for (size_t i = 0; i < g->n; i++) k += !strcmp(g->v[i].det, det);
  return k;
}

static void t_selection(void **st) {
  al_error err = {0};
  al_scan_db *db = NULL;
  const char *bad[] = {"pii.nope"};
  al_scan_config c = {.detectors = bad, .n_detectors = 1};
  assert_int_equal(al_scan_db_new(&c, &db, &err), AL_ENOTFOUND);
  assert_null(db);
  assert_non_null(strstr(err.msg, "pii.nope"));
  /* "pii" selects by prefix, never "pii" as a substring of another name */
  const char *pii[] = {"pii"};
  db = make(pii, 1);
  al_scanner *sc = NULL;
  assert_int_equal(al_scanner_new(db, &sc), 0);
  gotlist g = {0};
  assert_int_equal(scan_block(sc, mixed, strlen(mixed), &g), 0);
  for (size_t i = 0; i < g.n; i++) assert_int_equal(strncmp(g.v[i].det, "pii.", 4), 0);
  assert_int_equal(count_det(&g, "pii.email"), 1);
  assert_int_equal(count_det(&g, "pii.credit_card"), 1);
  gotlist_free(&g);
  al_scanner_free(sc);
  al_scan_db_free(db);
  /* short canary: a clear error */
  const char *shortc[] = {"abc"};
  al_scan_config c2 = {.canaries = shortc, .n_canaries = 1};
  assert_int_equal(al_scan_db_new(&c2, &db, &err), AL_EINVAL);
  assert_non_null(strstr(err.msg, "canary 1"));
  assert_int_equal(al_scan(NULL, "x", 1, collect, &g), AL_EINVAL);
}

static void t_order_and_overlap(void **st) {
  al_scan_db *db = make(NULL, 0);
  al_scanner *sc = NULL;
  assert_int_equal(al_scanner_new(db, &sc), 0);
  gotlist g = {0};
  assert_int_equal(scan_block(sc, mixed, strlen(mixed), &g), 0);
  assert_false(g.unordered);
  const char *want[] = {"pii.email", "pii.phone", "pii.credit_card", "pii.ssn", "pii.iban",
                        "pii.ipv4", "pii.ipv6", "secret.github_token", "secret.generic",
                        "pii.aba_routing", "canary.token"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (!count_det(&g, want[i])) fail_msg("no %s finding", want[i]);
  /* the IPv4 inside ::ffff:192.0.2.128 and the generic value that is the GitHub token are
   * resolved away; the canary is found twice (plain and base64) */
  assert_int_equal(count_det(&g, "pii.ipv4"), 1);
  assert_int_equal(count_det(&g, "secret.generic"), 1);
  assert_int_equal(count_det(&g, "canary.token"), 2);
  for (size_t i = 0; i < g.n; i++)
    if (!strcmp(g.v[i].det, "secret.generic"))
      assert_memory_equal(mixed + g.v[i].start, "a5Vsqxezy3Lex7BWr2drgd1Q", 24);
  /* the scanner is reusable */
  gotlist g2 = {0};
  assert_int_equal(scan_block(sc, mixed, strlen(mixed), &g2), 0);
  assert_true(same_findings(&g, &g2));
  gotlist_free(&g);
  gotlist_free(&g2);
  /* nothing in plain prose */
  const char *prose = "The quick brown fox jumps over the lazy dog. In 2019, 12 of 30 people "
                      "said the 3:30 train at platform 9 was late by 15 minutes; version 1.2.3 "
                      "fixed it. Call it a day at 5 pm.";
  assert_int_equal(scan_block(sc, prose, strlen(prose), &g), 0);
  assert_int_equal(g.n, 0);
  gotlist_free(&g);
  al_scanner_free(sc);
  done(db);
}

static int stop_first(const al_finding *f, void *ud) {
  (*(int *)ud)++;
  return 1;
}

static void t_stop(void **st) {
  al_scan_db *db = make(NULL, 0);
  al_scanner *sc = NULL;
  assert_int_equal(al_scanner_new(db, &sc), 0);
  int n = 0;
  assert_int_equal(al_scan(sc, mixed, strlen(mixed), stop_first, &n), 0);
  assert_int_equal(n, 1);
  n = 0;
  al_scan_stream *s = NULL;
  assert_int_equal(al_scan_stream_open(sc, stop_first, &n, &s), 0);
  assert_int_equal(al_scan_stream_feed(s, mixed, strlen(mixed)), 0);
  assert_int_equal(al_scan_stream_close(s), 0);
  assert_int_equal(n, 1);
  al_scanner_free(sc);
  done(db);
}

/* safe-offset contract: a finding delivered later never starts before an offset the
 * stream called safe earlier */
typedef struct safe_ctx {
  gotlist g;
  uint64_t safe;
  int violations;
} safe_ctx;

static int on_safe(const al_finding *f, void *ud) {
  safe_ctx *c = ud;
  if (f->start < c->safe) c->violations++;
  return collect(f, &c->g);
}

static char *big_text(size_t *len) {
  size_t reps = 60, L = strlen(mixed);
  const char *filler = " Lorem ipsum dolor sit amet, consectetur adipiscing elit. ";
  size_t F = strlen(filler);
  char *t = malloc(reps * (L + 3 * F) + 1);
  size_t k = 0;
  for (size_t r = 0; r < reps; r++) {
    memcpy(t + k, mixed, L);
    k += L;
    for (size_t j = 0; j < 1 + r % 3; j++) {
      memcpy(t + k, filler, F);
      k += F;
    }
  }
  t[k] = '\0';
  *len = k;
  return t;
}

static void t_stream(void **st) {
  al_scan_db *db = make(NULL, 0);
  al_scanner *sc = NULL;
  assert_int_equal(al_scanner_new(db, &sc), 0);
  size_t len;
  char *t = big_text(&len);
  gotlist blockg = {0};
  assert_int_equal(scan_block(sc, t, len, &blockg), 0);
  assert_true(blockg.n >= 60 * 11);
  for (unsigned seed = 1; seed <= 6; seed++) {
    safe_ctx c = {0};
    al_scan_stream *s = NULL;
    al_rng r;
    al_rng_seed(&r, seed);
    assert_int_equal(al_scan_stream_open(sc, on_safe, &c, &s), 0);
    /* a second stream or block scan on a busy scanner is refused */
    assert_int_equal(al_scan(sc, "x", 1, collect, &c.g), AL_ESTATE);
    uint64_t prev = 0;
    for (size_t o = 0; o < len;) {
      size_t k = 1 + (size_t)al_rng_below(&r, seed * 40);
      if (k > len - o) k = len - o;
      assert_int_equal(al_scan_stream_feed(s, t + o, k), 0);
      o += k;
      c.safe = al_scan_stream_safe_offset(s);
      assert_true(c.safe >= prev);
      assert_true(c.safe <= o);
      prev = c.safe;
    }
    /* the hold-back window is bounded: the stream does not sit on everything */
    assert_true(c.safe + 8192 >= len);
    assert_int_equal(al_scan_stream_close(s), 0);
    assert_int_equal(c.violations, 0);
    if (!same_findings(&blockg, &c.g)) {
      /* secret.private_key is the only non-streamable default and is absent here */
      fail_msg("seed %u: stream %zu findings, block %zu", seed, c.g.n, blockg.n);
    }
    gotlist_free(&c.g);
  }
  /* a value split across two feeds */
  gotlist g = {0};
  al_scan_stream *s = NULL;
  assert_int_equal(al_scan_stream_open(sc, collect, &g, &s), 0);
  assert_int_equal(al_scan_stream_feed(s, "pay with 4526 0181 59", 21), 0);
  assert_int_equal(al_scan_stream_feed(s, "08 3012 now", 11), 0);
  assert_int_equal(al_scan_stream_close(s), 0);
  assert_int_equal(g.n, 1);
  assert_string_equal(g.v[0].det, "pii.credit_card");
  assert_int_equal(g.v[0].start, 9);
  assert_int_equal(g.v[0].end, 28);
  gotlist_free(&g);
  free(t);
  gotlist_free(&blockg);
  al_scanner_free(sc);
  done(db);
}

typedef struct th {
  const al_scan_db *db;
  const char *t;
  size_t len;
  gotlist g;
} th;

static void *worker(void *arg) {
  th *w = arg;
  al_scanner *sc = NULL;
  if (al_scanner_new(w->db, &sc)) return NULL;
  for (int i = 0; i < 5; i++) {
    gotlist_free(&w->g);
    al_scan(sc, w->t, w->len, collect, &w->g);
  }
  al_scanner_free(sc);
  return NULL;
}

static void t_threads(void **st) {
  al_scan_db *db = make(NULL, 0);
  size_t len;
  char *t = big_text(&len);
  th w[3];
  pthread_t id[3];
  for (int i = 0; i < 3; i++) {
    w[i] = (th){.db = db, .t = t, .len = len};
    assert_int_equal(pthread_create(&id[i], NULL, worker, &w[i]), 0);
  }
  for (int i = 0; i < 3; i++) pthread_join(id[i], NULL);
  assert_true(w[0].g.n > 0);
  for (int i = 1; i < 3; i++) assert_true(same_findings(&w[0].g, &w[i].g));
  for (int i = 0; i < 3; i++) gotlist_free(&w[i].g);
  free(t);
  done(db);
}

/* Real text: every presidio-research record (UTF-8, many PII values) gives the same
 * findings in stream mode with random chunking as in block mode. */
static void t_stream_real(void **st) {
  const char *shared = getenv("AIRLOCK_SHARED");
  char path[1024];
  snprintf(path, sizeof path, "%s/data/pii-presidio-synthetic/synth_dataset_v2.json",
           shared ? shared : "../shared");
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!json_is_array(root)) fail_msg("cannot read %s", path);
  al_scan_db *db = make(NULL, 0);
  al_scanner *sc = NULL;
  assert_int_equal(al_scanner_new(db, &sc), 0);
  assert_true(al_scan_db_holdback(db) > 0 && al_scan_db_holdback(db) <= 2048);
  size_t total = 0;
  for (size_t i = 0; i < json_array_size(root); i++) {
    json_t *t = json_object_get(json_array_get(root, i), "full_text");
    const char *text = json_string_value(t);
    size_t n = json_string_length(t);
    gotlist b = {0}, s = {0};
    assert_int_equal(scan_block(sc, text, n, &b), 0);
    assert_int_equal(scan_stream(sc, text, n, i + 1, 1 + i % 17, &s), 0);
    if (!same_findings(&b, &s)) fail_msg("record %zu: block %zu, stream %zu", i, b.n, s.n);
    total += b.n;
    gotlist_free(&b);
    gotlist_free(&s);
  }
  /* and the PCRE2 start finder agrees with Hyperscan's SOM on real text */
  al_scan_config cp = {.detectors = mine, .n_detectors = 3, .canaries = canary, .n_canaries = 1,
                       .pcre2_starts = 1};
  al_scan_db *dbp = NULL;
  al_scanner *scp = NULL;
  assert_int_equal(al_scan_db_new(&cp, &dbp, NULL), 0);
  assert_int_equal(al_scanner_new(dbp, &scp), 0);
  for (size_t i = 0; i < json_array_size(root); i++) {
    json_t *t = json_object_get(json_array_get(root, i), "full_text");
    gotlist b = {0}, p = {0};
    assert_int_equal(scan_block(sc, json_string_value(t), json_string_length(t), &b), 0);
    assert_int_equal(scan_block(scp, json_string_value(t), json_string_length(t), &p), 0);
    if (!same_findings(&b, &p)) fail_msg("record %zu: SOM %zu, PCRE2 %zu", i, b.n, p.n);
    gotlist_free(&b);
    gotlist_free(&p);
  }
  al_scanner_free(scp);
  al_scan_db_free(dbp);
  printf("# %zu records, %zu findings, block == stream == PCRE2 starts\n",
         json_array_size(root), total);
  assert_true(total > 150);
  json_decref(root);
  al_scanner_free(sc);
  done(db);
}

/* Random text of at least cap bytes (the buffer holds cap + 64): fragments drawn from frag
 * until cap is reached; returns the length. */
static size_t fill_frags(char *t, size_t cap, const char *const *frag, size_t nf, al_rng *r) {
  size_t n = 0;
  while (n < cap) {
    const char *f = frag[al_rng_below(r, nf)];
    size_t k = strlen(f);
    memcpy(t + n, f, k);
    n += k;
  }
  return n;
}

/* Digit and long-run windows: block mode runs the digit patterns only around clusters of
 * digits and the AWS-secret pattern only around long base64 runs (src/scan/digits.c);
 * stream mode runs every pattern over every byte. Random digit-dense text (groups, every
 * separator the patterns use, letters next to digits, phone words, base64 keys next to
 * other characters, valid values of each kind) must give the same findings both ways;
 * 300 KB so that the windows are scanned in several batches. */
static void t_digit_windows(void **st) {
  static const char *const frag[] = {
      "1", "12", "123", "1234", "98765", "555", "0142", "0", " ", " ", " ", "-", ".", "(",
      ")", "+", "/", ":", "\n", "\t", "x", "ext. ", " extension ", "X", "Z", "L", "_", "GB",
      "phone: ", "call me at ", "Tel. ", "phone number is ", "SSN ", "routing ", "NHS ",
      "bsn ", "SIN ", "aadhaar ", "Steuer-ID ", "DNI ", "the ", "card ", "and ", "IP ",
      "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "212-555-0142",
      "(212) 555-0142", "+1 212 555 0142 x123", "+44 20 7946 0958", "+41 (0)96 471 07 95",
      "0494 92 82 32", "(08) 8747 6301", "078-05-1120", "123-45-6789", "192.168.10.1",
      "8.8.8.8", "011000015", "943 476 5919", "111222333", "12345678Z", "X1234567L",
      "046 454 286", "2345 6789 0124", "86095742719", "GB82 WEST 1234 5698 7654 32",
      "DE89370400440532013000", "212-555-0142 extension 12", "212.555.0142 ext. 7",
      "12345678 Z", "12345678-Z", "+1 (212) 555-0142", "aws ", "secret: ",
      "Zx8/Kq2+Lm9pRt4vWb7nYc3hJd6fGs1aQe5uIo0k", " aws key Hq7+Tn3/Vb9mKx2pLw5rYs8dFg1jZc4eNa6uXi0o ",
      " secret Hq7+Tn3/Vb9mKx2pLw5rYs8dFg1jZc4eNa6uXi0o ", " Tn3/Vb9mKx2pLw5rYs8dFg1jZc4eNa6uXi0oHq7+ aws "};
  const size_t nf = sizeof frag / sizeof frag[0];
  al_scan_db *db = make(mine, 3);
  al_scanner *sc = NULL;
  assert_int_equal(al_scanner_new(db, &sc), 0);
  size_t total = 0;
  for (uint64_t seed = 1; seed <= 4; seed++) {
    al_rng r;
    al_rng_seed(&r, seed * 7919);
    size_t cap = 300000, n = 0;
    char *t = malloc(cap + 64);
    n = fill_frags(t, cap, frag, nf, &r);
    gotlist b = {0}, s = {0};
    assert_int_equal(scan_block(sc, t, n, &b), 0);
    assert_int_equal(scan_stream(sc, t, n, seed, 1 + 97 * (size_t)seed, &s), 0);
    if (!same_findings(&b, &s)) {
      for (size_t i = 0; i < b.n || i < s.n; i++) {
        const got *x = i < b.n ? &b.v[i] : NULL, *y = i < s.n ? &s.v[i] : NULL;
        if (!x || !y || strcmp(x->det, y->det) || x->start != y->start || x->end != y->end)
          fail_msg("seed %llu: first difference at %zu: block %s %llu-%llu, stream %s %llu-%llu",
                   (unsigned long long)seed, i, x ? x->det : "-",
                   (unsigned long long)(x ? x->start : 0), (unsigned long long)(x ? x->end : 0),
                   y ? y->det : "-", (unsigned long long)(y ? y->start : 0),
                   (unsigned long long)(y ? y->end : 0));
      }
    }
    total += b.n;
    gotlist_free(&b);
    gotlist_free(&s);
    free(t);
  }
  printf("# digit windows: %zu findings on 4 x 300 KB of digit-dense text, block == stream\n",
         total);
  assert_true(total > 1000);
  al_scanner_free(sc);
  done(db);
}

/* Digit shapes (src/scan/shapes.c) against their regexes: every pattern with a shape is
 * compiled alone in Hyperscan (leftmost start) and run over random digit-dense text; the
 * shape must give exactly the same (start, end) pairs, found at every run start. The text
 * is framed by NUL sentinels as a digit window is. */
typedef struct pairs {
  size_t n, cap;
  unsigned long long (*v)[2];
} pairs;

static void pairs_add(pairs *p, unsigned long long s, unsigned long long e) {
  if (p->n == p->cap) {
    p->cap = p->cap ? 2 * p->cap : 1024;
    p->v = realloc(p->v, p->cap * sizeof *p->v);
    assert_non_null(p->v);
  }
  p->v[p->n][0] = s;
  p->v[p->n][1] = e;
  p->n++;
}

static int on_hs_pair(unsigned id, unsigned long long from, unsigned long long to,
                      unsigned flags, void *ctx) {
  pairs_add(ctx, from, to);
  return 0;
}

static int by_pair(const void *a, const void *b) {
  const unsigned long long *x = a, *y = b;
  if (x[1] != y[1]) return x[1] < y[1] ? -1 : 1;
  return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Hyperscan's (start, end) pairs == the shape's, in any order; else fails naming the first
 * difference and the text around it. */
static void same_pairs(uint64_t seed, const char *regex, const char *t, pairs *want, pairs *got) {
  if (want->n) qsort(want->v, want->n, sizeof *want->v, by_pair);
  if (got->n) qsort(got->v, got->n, sizeof *got->v, by_pair);
  size_t k = 0;
  while (k < want->n && k < got->n && want->v[k][0] == got->v[k][0] && want->v[k][1] == got->v[k][1])
    k++;
  if (k < want->n || k < got->n) {
    unsigned long long at = k < got->n ? got->v[k][0] : want->v[k][0];
    at = at > 8 ? at - 8 : 0;
    fail_msg("seed %llu /%s/: %zu Hyperscan matches, %zu shape matches, first difference "
             "near [%.60s]: Hyperscan %lld-%lld, shape %lld-%lld",
             (unsigned long long)seed, regex, want->n, got->n, t + at,
             k < want->n ? (long long)want->v[k][0] : -1, k < want->n ? (long long)want->v[k][1] : -1,
             k < got->n ? (long long)got->v[k][0] : -1, k < got->n ? (long long)got->v[k][1] : -1);
  }
}

static void t_digit_shapes(void **st) {
  static const char *const frag[] = {
      "1", "12", "123", "1234", "98765", "4", "0", "7", "3", "55", " ", " ", "-", "-", ".",
      ".", "  ", "_", "X", "y", "Z", "L", "a", "\xe9", "(", "+", "/", "x", "2345 6789 0124",
      "4111 1111 1111 1111 123", "4111-1111-1111-1111", "378282246310005", "123-45-6789",
      "+1", "1", "(", ")", "(212)", ") ", "555-0142", "EXT", "ext.", "extension", "Extension",
      "x", " x", "\t", "\n", "\v", "+1 (212) 555-0142", "1-212.555 0142", "212-555-0142 ext. 7",
      "078 05 1120", "12 34 ", "2345-6789-0124", "1234567890", "86095742719",
      "192.168.10.1", "12345678Z", "X1234567L", "1234.56.789", "12 345 678 901",
      "123 456 789", "943 476 5919", "3782 822463 10005", "1234567 -x", "phone ", "Tel: ",
      "call me at ", "fax\t", "number is  ", "(08) ", "0494 92 82 32", " - ", ". ", "12345678"};
  const size_t nf = sizeof frag / sizeof frag[0];
  al_scan_db *db = make(NULL, 0);
  assert_true(db->n_shaped >= 14 && db->n_shaped <= AL_SHAPE_MAX);
  size_t total = 0, per[AL_SHAPE_MAX] = {0};
  for (uint64_t seed = 1; seed <= 3; seed++) {
    al_rng r;
    al_rng_seed(&r, seed * 104729);
    size_t cap = 200000, n = 0;
    char *buf = malloc(cap + 64), *t = buf + 1;
    n = fill_frags(t, cap, frag, nf, &r);
    buf[0] = '\0';
    t[n] = '\0';
    for (size_t i = 0; i < db->n_shaped; i++) {
      uint32_t id = db->shaped[i];
      hs_database_t *hdb = NULL;
      hs_compile_error_t *ce = NULL;
      hs_scratch_t *scr = NULL;
      assert_int_equal(hs_compile(db->regex[id], db->flags[id] | HS_FLAG_SOM_LEFTMOST,
                                  HS_MODE_BLOCK, NULL, &hdb, &ce),
                       HS_SUCCESS);
      assert_int_equal(hs_alloc_scratch(hdb, &scr), HS_SUCCESS);
      pairs want = {0}, got = {0};
      /* the buffer with its sentinels; offsets shifted back by one */
      assert_int_equal(hs_scan(hdb, buf, (unsigned)n + 2, 0, scr, on_hs_pair, &want),
                       HS_SUCCESS);
      for (size_t k = 0; k < want.n; k++) want.v[k][0]--, want.v[k][1]--;
      /* a gated shape reports only the matches starting at a run its gate accepts (or at a
       * '(' right before one): the only ones verify() can take */
      al_window_gate gate = db->pat[id].gate;
      if (gate) {
        size_t kept = 0;
        for (size_t k = 0; k < want.n; k++) {
          size_t s0 = (size_t)want.v[k][0];
          if (gate(t, n, s0) || (t[s0] == '(' && gate(t, n, s0 + 1)))
            memcpy(want.v[kept++], want.v[k], sizeof want.v[k]);
        }
        want.n = kept;
      }
      al_shape_seen seen;
      al__shape_seen_reset(&seen, AL_SHAPE_SEEN);
      for (size_t p = 0; p < n; p++) {
        if (!al__is_digit(t[p]) || (p > 0 && al__is_digit(t[p - 1]))) continue;
        size_t rl = 1;
        while (al__is_digit(t[p + rl])) rl++;
        /* the engine's prefilter: first run length, the byte after it, \b before it */
        uint64_t m = db->shape_first[rl < 32 ? rl : 32][al__shape_class(t[p + rl])];
        if (p > 0 && (al__is_alpha((unsigned char)t[p - 1]) || t[p - 1] == '_')) m &= db->shape_fn;
        if (!(m >> i & 1) || (gate && !gate(t, n, p))) continue;
        al_shape_hits h = {0};
        al__shape_match(db->pat[id].shape, t, n, p, rl, &h);
        for (unsigned j = 0; j < h.n; j++)
          if (!al__shape_seen(&seen, h.e[j])) pairs_add(&got, h.s[j], h.e[j]);
      }
      same_pairs(seed, db->regex[id], t, &want, &got);
      total += want.n;
      per[i] += want.n;
      free(want.v);
      free(got.v);
      hs_free_scratch(scr);
      hs_free_database(hdb);
    }
    free(buf);
  }
  printf("# digit shapes: %zu matches of %zu shaped patterns, shape == Hyperscan\n", total,
         db->n_shaped);
  assert_true(total > 5000);
  for (size_t i = 0; i < db->n_shaped; i++) /* every shape was exercised */
    if (per[i] < 20) fail_msg("/%s/: only %zu matches", db->regex[db->shaped[i]], per[i]);
  done(db);
}

/* Anchored shapes (the IBAN patterns, pii_ids.c) against their regexes in Hyperscan: random
 * text dense in IBAN-like groups; at every digit run an anchor gate accepts, the shape must
 * give exactly Hyperscan's (leftmost start, end) pairs, each end once. */
static void t_anchor_shapes(void **st) {
  static const char *const frag[] = {
      "DE89 3704 0044 0532 0130 00", "GB29NWBK60161331926819", "FR14 2004 1010 0505 0001 3M02 606",
      "MT84MALT011000012345MTLCAST001S", "AB12", "CD34 ", "DE", "89", "1234", "ABCD", "WXYZ",
      " ", " ", "  ", " 1", " 12", " 123", " 1234", " 12345", "X", "y", "_", "-", ".", "\n",
      "Q", "\xc3\xa9", "NL91ABNA0417164300", "NL91 ABNA 0417 1643 00", "ES91 2100 0418 4502 0005 1332"};
  const size_t nf = sizeof frag / sizeof frag[0];
  al_scan_db *db = make(NULL, 0);
  assert_true(db->n_ashaped >= 2);
  size_t total = 0, per[AL_SCAN_MAX_ASHAPES] = {0};
  for (uint64_t seed = 1; seed <= 3; seed++) {
    al_rng r;
    al_rng_seed(&r, seed * 7919);
    size_t cap = 200000, n = 0;
    char *t = malloc(cap + 64);
    n = fill_frags(t, cap, frag, nf, &r);
    for (size_t i = 0; i < db->n_ashaped; i++) {
      uint32_t id = db->ashaped[i];
      hs_database_t *hdb = NULL;
      hs_compile_error_t *ce = NULL;
      hs_scratch_t *scr = NULL;
      assert_int_equal(hs_compile(db->regex[id], db->flags[id] | HS_FLAG_SOM_LEFTMOST,
                                  HS_MODE_BLOCK, NULL, &hdb, &ce),
                       HS_SUCCESS);
      assert_int_equal(hs_alloc_scratch(hdb, &scr), HS_SUCCESS);
      pairs want = {0}, got = {0};
      assert_int_equal(hs_scan(hdb, t, (unsigned)n, 0, scr, on_hs_pair, &want), HS_SUCCESS);
      al_shape_seen *seen = malloc(sizeof *seen);
      assert_non_null(seen);
      al__shape_seen_reset(seen, AL_ANCHOR_SEEN);
      al_window_gate gate = db->anchors[db->ashape_gate[i]];
      for (size_t p = 1; p < n; p++) {
        if (!al__is_digit(t[p]) || !al__is_alpha((unsigned char)t[p - 1]) || !gate(t, n, p))
          continue;
        al_shape_hits h = {0};
        db->pat[id].ashape(t, n, p, &h);
        for (unsigned j = 0; j < h.n; j++)
          if (!al__shape_seen(seen, h.e[j])) pairs_add(&got, h.s[j], h.e[j]);
      }
      free(seen);
      same_pairs(seed, db->regex[id], t, &want, &got);
      total += want.n;
      per[i] += want.n;
      free(want.v);
      free(got.v);
      hs_free_scratch(scr);
      hs_free_database(hdb);
    }
    free(t);
  }
  printf("# anchored shapes: %zu matches of %zu patterns, shape == Hyperscan\n", total,
         db->n_ashaped);
  for (size_t i = 0; i < db->n_ashaped; i++) /* every shape was exercised */
    if (per[i] < 50) fail_msg("/%s/: only %zu matches", db->regex[db->ashaped[i]], per[i]);
  done(db);
}

/* al__note writes the conversions notes use itself (detectors/util.c); it must give
 * exactly vsnprintf's bytes, truncation included. */
#define NOTE_SAME(...)                                              \
  do {                                                              \
    al_finding f_;                                                  \
    char want_[sizeof f_.note];                                     \
    memset(f_.note, 'z', sizeof f_.note);                           \
    al__note(&f_, __VA_ARGS__);                                     \
    snprintf(want_, sizeof want_, __VA_ARGS__);                     \
    assert_string_equal(f_.note, want_);                            \
    notes++;                                                        \
  } while (0)

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation" /* truncation is what is tested */
static void t_notes(void **st) {
  char longs[400];
  memset(longs, 'q', sizeof longs - 1);
  longs[sizeof longs - 1] = '\0';
  size_t notes = 0;
  NOTE_SAME("plain text, 100%% sure");
  NOTE_SAME("SSN area %.3s group %.2s%s", "514690360", "690360", ", context word");
  NOTE_SAME("Luhn ok, %zu digits, IIN %.4s (%s)", (size_t)16, "4526018159083012", "Visa");
  NOTE_SAME("e-mail address at %.*s", 11, "example.org and more");
  NOTE_SAME("%.*s|%.*s|%.*s", -1, "neg", 0, "zero", 2, "x");
  NOTE_SAME("%d %d %d %u %zu", 0, -7, INT_MIN, UINT_MAX, (size_t)SIZE_MAX);
  NOTE_SAME("province digit %c, %c%c", '4', 'a', '%');
  NOTE_SAME("%.2s%s", "a", "");
  NOTE_SAME("entropy %.2f bits (fallback)", 4.0 / 3);
  NOTE_SAME("%s", longs);
  NOTE_SAME("%.200s tail", longs);
  NOTE_SAME("%.158s%c", longs, 'E');
  NOTE_SAME("%.159s%d", longs, 12345);
  NOTE_SAME("%.*s%zu", 157, longs, (size_t)987654);
  printf("# %zu notes == snprintf\n", notes);
}
#pragma GCC diagnostic pop

static void t_registry(void **st) {
  assert_true(al_detector_count() >= 23);
  for (size_t i = 0; i < al_detector_count(); i++) {
    const al_detector *d = al_detector_get(i);
    assert_non_null(d->name);
    assert_non_null(d->kind);
    assert_ptr_equal(al_detector_find(d->name), d);
  }
  assert_null(al_detector_get(al_detector_count()));
  assert_null(al_detector_find("nope"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_registry), cmocka_unit_test(t_selection),
      cmocka_unit_test(t_order_and_overlap), cmocka_unit_test(t_stop),
      cmocka_unit_test(t_stream), cmocka_unit_test(t_stream_real), cmocka_unit_test(t_threads),
      cmocka_unit_test(t_digit_windows), cmocka_unit_test(t_digit_shapes),
      cmocka_unit_test(t_anchor_shapes),
      cmocka_unit_test(t_notes),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  al_scan_db_free(shared_db);
  return rc;
}
