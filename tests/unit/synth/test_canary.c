/* Unit tests of canary tokens: format, determinism per (secret, place), trace round trip
 * through the manifest of a generated data set, disguised tokens, forged manifests, and
 * that the scan engine finds the planted tokens in the generated documents. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "airlock/synth.h"
#include "synth_test_util.h"

static void secret_of(uint8_t s[32], int k) {
  for (int i = 0; i < 32; i++)
    s[i] = (uint8_t)(i * 13 + k);
}

static void t_make(void **st) {
  uint8_t s[32], s2[32];
  char a[64], b[64], c[64];
  secret_of(s, 1);
  secret_of(s2, 2);
  assert_int_equal(al_canary_make(s, "db:customers:1042:notes", a), 0);
  assert_int_equal(strlen(a), AL_CANARY_LEN);
  assert_memory_equal(a, AL_CANARY_PREFIX, strlen(AL_CANARY_PREFIX));
  for (size_t i = strlen(AL_CANARY_PREFIX); i < AL_CANARY_LEN; i++)
    assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", a[i]));
  assert_int_equal(al_canary_make(s, "db:customers:1042:notes", b), 0);
  assert_string_equal(a, b);
  assert_int_equal(al_canary_make(s, "db:customers:1043:notes", c), 0);
  assert_string_not_equal(a, c);
  assert_int_equal(al_canary_make(s2, "db:customers:1042:notes", c), 0);
  assert_string_not_equal(a, c);
  assert_int_equal(al_canary_make(s, "", c), AL_EINVAL);
  char longp[400];
  memset(longp, 'x', sizeof longp - 1);
  longp[sizeof longp - 1] = 0;
  assert_int_equal(al_canary_make(s, longp, c), AL_EINVAL);
  /* the prompt helper is the "prompt:" place */
  assert_int_equal(al_canary_prompt(s, "suite-a", b), 0);
  assert_int_equal(al_canary_make(s, "prompt:suite-a", c), 0);
  assert_string_equal(b, c);
}

static void t_normalize(void **st) {
  uint8_t s[32];
  char a[64], lower[64], n[64];
  secret_of(s, 3);
  assert_int_equal(al_canary_make(s, "doc:9", a), 0);
  size_t k = 0;
  for (size_t i = 0; a[i]; i++) {
    lower[k++] = (char)(a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i]);
    if (i % 4 == 3) lower[k++] = ' ';
  }
  lower[k] = 0;
  assert_int_equal(al_canary_normalize(lower, n), 0);
  assert_string_equal(n, a);
  assert_int_equal(al_canary_normalize("AL-CANARY-1111111111111111", n),
                   AL_EINVAL); /* 1 not base32 */
  assert_int_equal(al_canary_normalize("AL-CANARY-ABC", n), AL_EINVAL);
  assert_int_equal(al_canary_normalize("hello", n), AL_EINVAL);
  const char *places[] = {"doc:1", "doc:9", "prompt:x"};
  assert_int_equal(al_canary_trace_places(s, places, 3, lower), 1);
  assert_int_equal(al_canary_trace_places(s, places, 1, a), AL_ENOTFOUND);
}

static void t_trace_roundtrip(void **st) {
  char *d = tmpdir_new();
  char mpath[512], place[300];
  static const char *const locs[] = {"en_US", "de_DE"};
  al_synth_opts o = {.seed = 8, .customers = 30, .out_dir = d, .locales = locs, .n_locales = 2};
  al_synth_stats stats = {0};
  al_error e = {0};
  o.stats = &stats;
  secret_of(o.secret, 4);
  assert_int_equal(al_synth_generate(&o, &e), 0);
  snprintf(mpath, sizeof mpath, "%s/canaries.jsonl", d);
  size_t n;
  char *m = slurp(d, "canaries.jsonl", &n);
  char *all = NULL;
  size_t alln = 0;
  /* every planted token occurs in the data, and traces back to its place */
  const char *data_files[] = {"customers.jsonl", "transactions.jsonl", "documents.jsonl"};
  for (int f = 0; f < 3; f++) {
    size_t k = 0;
    char *t = slurp(d, data_files[f], &k);
    all = realloc(all, alln + k + 1);
    memcpy(all + alln, t, k);
    alln += k;
    all[alln] = 0;
    al_free(t);
  }
  long lines = 0;
  int saw_customer = 0, saw_doc = 0, saw_tx = 0;
  for (char *p = m; p && *p;) {
    char *end = strchr(p, '\n');
    json_t *j = json_loadb(p, (size_t)(end - p), 0, NULL);
    assert_non_null(j);
    const char *pl = json_string_value(json_object_get(j, "place"));
    const char *tok = json_string_value(json_object_get(j, "token"));
    assert_non_null(strstr(all, tok));
    assert_int_equal(al_canary_trace(o.secret, mpath, tok, place, sizeof place, &e), 0);
    assert_string_equal(place, pl);
    saw_customer |= !strncmp(pl, "db:customers:", 13);
    saw_tx |= !strncmp(pl, "db:transactions:", 16);
    saw_doc |= !strncmp(pl, "doc:", 4);
    json_decref(j);
    lines++;
    p = end + 1;
  }
  assert_int_equal(lines, stats.canaries);
  assert_true(saw_customer && saw_doc && saw_tx);

  /* customer 1012 gets a notes canary */
  char tok[64];
  assert_int_equal(al_canary_make(o.secret, "db:customers:1012:notes", tok), 0);
  assert_int_equal(al_canary_trace(o.secret, mpath, tok, place, sizeof place, &e), 0);
  assert_string_equal(place, "db:customers:1012:notes");
  /* a token of another secret: not in the manifest */
  uint8_t other[32];
  secret_of(other, 5);
  assert_int_equal(al_canary_make(other, "db:customers:1012:notes", tok), 0);
  assert_int_equal(al_canary_trace(o.secret, mpath, tok, place, sizeof place, &e), AL_ENOTFOUND);
  /* the right token with the wrong secret: the manifest line does not verify */
  assert_int_equal(al_canary_make(o.secret, "db:customers:1012:notes", tok), 0);
  assert_int_equal(al_canary_trace(other, mpath, tok, place, sizeof place, &e), AL_EINTEGRITY);
  /* a forged manifest line pointing elsewhere */
  char forged[512];
  snprintf(forged, sizeof forged, "%s/forged.jsonl", d);
  FILE *f = fopen(forged, "w");
  fprintf(f, "{\"place\":\"doc:1\",\"token\":\"%s\"}\n", tok);
  fclose(f);
  assert_int_equal(al_canary_trace(o.secret, forged, tok, place, sizeof place, &e), AL_EINTEGRITY);
  f = fopen(forged, "w");
  fprintf(f, "{\"place\":\"doc:1\"}\n");
  fclose(f);
  assert_int_equal(al_canary_trace(o.secret, forged, tok, place, sizeof place, &e), AL_EPARSE);
  assert_int_equal(e.line, 1);

  /* the scan engine finds the planted tokens in the documents */
  const char *toks[64];
  size_t nt = 0;
  char *copy = strdup(m);
  for (char *p = copy; p && *p && nt < 64;) {
    char *end = strchr(p, '\n');
    *end = 0;
    char *t = strstr(p, "\"token\":\"") + 9;
    t[AL_CANARY_LEN] = 0;
    toks[nt++] = t;
    p = end + 1;
  }
  static const char *const dets[] = {"canary"};
  al_scan_config cfg = {.detectors = dets, .n_detectors = 1, .canaries = toks, .n_canaries = nt};
  al_scan_db *db = NULL;
  al_scanner *sc = NULL;
  counts c = {0};
  assert_int_equal(al_scan_db_new(&cfg, &db, &e), 0);
  assert_int_equal(al_scanner_new(db, &sc), 0);
  assert_int_equal(al_scan(sc, all, alln, count_cb, &c), 0);
  assert_int_equal(count_of(&c, "canary.token"), (long)nt);
  al_scanner_free(sc);
  al_scan_db_free(db);
  free(copy);
  free(all);
  al_free(m);
  tmpdir_rm(d);
}

static void t_secret(void **st) {
  uint8_t s[32];
  al_error e = {0};
  char hex[80];
  for (int i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", i);
  assert_int_equal(al_synth_secret_parse(hex, s, &e), 0);
  assert_int_equal(s[31], 31);
  assert_int_equal(al_synth_secret_parse("abcd", s, &e), AL_EINVAL);
  hex[5] = 'g';
  assert_int_equal(al_synth_secret_parse(hex, s, &e), AL_EINVAL);
  assert_non_null(strstr(e.msg, "character 6"));
  char *d = tmpdir_new();
  char path[512];
  snprintf(path, sizeof path, "%s/raw", d);
  unsigned char raw[32];
  for (int i = 0; i < 32; i++)
    raw[i] = (unsigned char)(200 + i / 2);
  assert_int_equal(al_write_file(path, raw, 32, NULL), 0);
  assert_int_equal(al_synth_secret_load(path, s, &e), 0);
  assert_memory_equal(s, raw, 32);
  tmpdir_rm(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_make),
      cmocka_unit_test(t_normalize),
      cmocka_unit_test(t_trace_roundtrip),
      cmocka_unit_test(t_secret),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
