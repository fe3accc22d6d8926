/* Unit tests of the synthetic data generator: determinism, every PII-shaped value passes
 * the scan engine's validators (counted per detector against what the rows say they hold),
 * the SQLite file and the JSON lines agree, locale files are checked with line numbers. */
#include <jansson.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "airlock/synth.h"
#include "scan/validators/validators.h"
#include "synth/synth_internal.h"
#include "synth_test_util.h"

static const char *const LOCS[] = {"en_US", "en_GB", "de_DE"};
static const char *const FILES[] = {"customers.jsonl",    "accounts.jsonl",  "cards.jsonl",
                                    "transactions.jsonl", "documents.jsonl", "canaries.jsonl",
                                    "synth.sqlite"};

static void opts(al_synth_opts *o, const char *dir, uint64_t seed, long n) {
  memset(o, 0, sizeof *o);
  o->seed = seed;
  o->customers = n;
  o->out_dir = dir;
  o->locales = LOCS;
  o->n_locales = 3;
  for (int i = 0; i < 32; i++)
    o->secret[i] = (uint8_t)(i * 7 + 1);
}

static void t_determinism(void **st) {
  char *d1 = tmpdir_new(), *d2 = tmpdir_new(), *d3 = tmpdir_new();
  al_synth_opts o;
  al_error e = {0};
  opts(&o, d1, 1234, 50);
  assert_int_equal(al_synth_generate(&o, &e), 0);
  o.out_dir = d2;
  assert_int_equal(al_synth_generate(&o, &e), 0);
  opts(&o, d3, 1235, 50);
  assert_int_equal(al_synth_generate(&o, &e), 0);
  for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
    size_t n1 = 0, n2 = 0, n3 = 0;
    char *a = slurp(d1, FILES[i], &n1), *b = slurp(d2, FILES[i], &n2),
         *c = slurp(d3, FILES[i], &n3);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(n1 > 0);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1); /* same seed: byte-identical */
    if (!strcmp(FILES[i], "customers.jsonl")) assert_true(n1 != n3 || memcmp(a, c, n1));
    al_free(a);
    al_free(b);
    al_free(c);
  }
  tmpdir_rm(d1);
  tmpdir_rm(d2);
  tmpdir_rm(d3);
}

/* Customer i is the same whatever the customer count. */
static void t_stable_prefix(void **st) {
  char *d1 = tmpdir_new(), *d2 = tmpdir_new();
  al_synth_opts o;
  opts(&o, d1, 77, 5);
  assert_int_equal(al_synth_generate(&o, NULL), 0);
  opts(&o, d2, 77, 9);
  assert_int_equal(al_synth_generate(&o, NULL), 0);
  size_t n1, n2;
  char *a = slurp(d1, "customers.jsonl", &n1), *b = slurp(d2, "customers.jsonl", &n2);
  assert_true(n2 > n1);
  assert_memory_equal(a, b, n1);
  al_free(a);
  al_free(b);
  tmpdir_rm(d1);
  tmpdir_rm(d2);
}

static long rows_where(const char *text, const char *key, const char *value) {
  long n = 0;
  for (const char *p = text; p && *p;) {
    const char *e = strchr(p, '\n');
    json_t *j = json_loadb(p, e ? (size_t)(e - p) : strlen(p), 0, NULL);
    json_t *v = j ? json_object_get(j, key) : NULL;
    if (v &&
        (value ? (json_is_string(v) && !strcmp(json_string_value(v), value)) : !json_is_null(v)))
      n++;
    json_decref(j);
    p = e ? e + 1 : NULL;
  }
  return n;
}

static void t_validity(void **st) {
  char *d = tmpdir_new();
  al_synth_opts o;
  al_synth_stats s = {0};
  counts c;
  size_t n = 0;
  opts(&o, d, 99, 120);
  o.stats = &s;
  assert_int_equal(al_synth_generate(&o, NULL), 0);
  assert_int_equal(s.customers, 120);

  char *cu = slurp(d, "customers.jsonl", &n);
  assert_int_equal(scan_lines(cu, n, &c), 0);
  long ssn = rows_where(cu, "national_id_kind", "ssn"),
       nhs = rows_where(cu, "national_id_kind", "nhs"),
       steuer = rows_where(cu, "national_id_kind", "steuer_id");
  assert_true(ssn > 0 && nhs > 0 && steuer > 0);
  assert_int_equal(ssn + nhs + steuer, 120);
  assert_int_equal(count_of(&c, "pii.email"), 120);
  assert_int_equal(count_of(&c, "pii.phone"), 120);
  assert_int_equal(count_of(&c, "pii.ssn"), ssn);
  assert_int_equal(count_of(&c, "pii.nhs"), nhs);
  assert_int_equal(count_of(&c, "pii.de_steuer_id"), steuer);
  assert_int_equal(count_of(&c, "pii.credit_card"), 0);
  al_free(cu);

  char *ac = slurp(d, "accounts.jsonl", &n);
  assert_int_equal(scan_lines(ac, n, &c), 0);
  assert_int_equal(count_of(&c, "pii.iban"), rows_where(ac, "iban", NULL));
  assert_int_equal(count_of(&c, "pii.aba_routing"), rows_where(ac, "routing_number", NULL));
  assert_int_equal(rows_where(ac, "iban", NULL) + rows_where(ac, "routing_number", NULL),
                   s.accounts);
  al_free(ac);

  char *ca = slurp(d, "cards.jsonl", &n);
  assert_int_equal(scan_lines(ca, n, &c), 0);
  assert_int_equal(count_of(&c, "pii.credit_card"), s.cards); /* the masked form is not a card */
  al_free(ca);

  /* every statement carries the e-mail and phone of its customer */
  char *docs = slurp(d, "documents.jsonl", &n);
  assert_int_equal(scan_lines(docs, n, &c), 0);
  long statements = rows_where(docs, "kind", "statement");
  assert_true(statements > 0);
  assert_int_equal(count_of(&c, "pii.email"), statements);
  assert_int_equal(count_of(&c, "pii.phone"), statements);
  al_free(docs);
  tmpdir_rm(d);
}

static long count_rows(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  long n = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

static void t_sqlite_matches(void **st) {
  char *d = tmpdir_new();
  char path[512];
  al_synth_opts o;
  al_synth_stats s = {0};
  sqlite3 *db = NULL;
  opts(&o, d, 5, 45);
  o.stats = &s;
  assert_int_equal(al_synth_generate(&o, NULL), 0);
  snprintf(path, sizeof path, "%s/synth.sqlite", d);
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(count_rows(db, "SELECT count(*) FROM customers"), s.customers);
  assert_int_equal(count_rows(db, "SELECT count(*) FROM accounts"), s.accounts);
  assert_int_equal(count_rows(db, "SELECT count(*) FROM cards"), s.cards);
  assert_int_equal(count_rows(db, "SELECT count(*) FROM transactions"), s.transactions);
  assert_int_equal(count_rows(db, "SELECT count(*) FROM documents"), s.documents);
  /* ids a suite can rely on, and referential integrity */
  assert_int_equal(count_rows(db, "SELECT count(*) FROM customers WHERE id = 1042"), 1);
  assert_int_equal(count_rows(db, "SELECT count(*) FROM accounts a LEFT JOIN customers c ON "
                                  "c.id = a.customer_id WHERE c.id IS NULL"),
                   0);
  assert_int_equal(count_rows(db, "SELECT count(*) FROM customers WHERE notes LIKE '%AL-CANARY-%'"),
                   count_rows(db, "SELECT count(*) FROM customers WHERE id % 10 = 2"));
  sqlite3_close(db);
  size_t n = 0;
  char *cu = slurp(d, "customers.jsonl", &n);
  long lines = 0;
  for (size_t i = 0; i < n; i++)
    lines += cu[i] == '\n';
  assert_int_equal(lines, s.customers);
  al_free(cu);
  tmpdir_rm(d);
}

static void t_values(void **st) {
  al_rng r;
  char v[64];
  const char *brand = NULL;
  al_rng_seed(&r, 3);
  for (int i = 0; i < 2000; i++) {
    size_t len = (size_t[]){13, 14, 15, 16, 19}[i % 5];
    synth_card(&r, len, v, &brand);
    assert_int_equal(strlen(v), len);
    assert_true(al_luhn_ok(v, len));
    assert_non_null(al_card_brand(v, len));
    synth_iban(&r, (const char *[]){"DE", "GB", "FR", "NL"}[i % 4], v);
    assert_null(al_iban_invalid(v, strlen(v)));
    synth_ssn(&r, v);
    char d[10] = {v[0], v[1], v[2], v[4], v[5], v[7], v[8], v[9], v[10], 0};
    assert_null(al_ssn_invalid(d, 9));
    synth_nhs(&r, v);
    assert_true(al_nhs_ok(v, 10));
    synth_aba(&r, v);
    assert_true(al_aba_ok(v, 9));
    synth_phone(&r, PH_NANP, v);
    assert_non_null(strstr(v, ") 555-01"));
  }
  for (int i = 0; i < 200; i++) {
    synth_steuer_id(&r, v);
    assert_true(al_de_steuer_id_ok(v, 11));
  }
  synth_card_masked("4242424242424242", v);
  assert_string_equal(v, "**** **** **** 4242");
  synth_email(&r, "Émile", "O'Neil", v);
  assert_non_null(strstr(v, "mile.oneil"));
}

static void t_locale_errors(void **st) {
  synth_locale l;
  al_error e = {0};
  const char *bad1 = "[first]\nA\n[last]\nB\n[street]\nC\n[city]\n";
  memset(&l, 0, sizeof l);
  assert_int_equal(synth_locale_parse(&l, bad1, strlen(bad1), "x.txt", &e), AL_EPARSE);
  assert_non_null(strstr(e.msg, "[city]"));
  for (int s = 0; s < SEC_COUNT; s++) {
    for (size_t i = 0; i < l.sec[s].n; i++)
      al_free(l.sec[s].w[i]);
    al_free(l.sec[s].w);
  }
  const char *bad2 = "# c\n[first]\nA\n[surname]\nB\n";
  memset(&l, 0, sizeof l);
  assert_int_equal(synth_locale_parse(&l, bad2, strlen(bad2), "y.txt", &e), AL_EPARSE);
  assert_int_equal(e.line, 4);
  assert_int_equal(e.col, 2);
  assert_string_equal(e.file, "y.txt");
  for (size_t i = 0; i < l.sec[0].n; i++)
    al_free(l.sec[0].w[i]);
  al_free(l.sec[0].w);
  const char *bad3 = "Ann\n";
  memset(&l, 0, sizeof l);
  assert_int_equal(synth_locale_parse(&l, bad3, strlen(bad3), "z.txt", &e), AL_EPARSE);
  assert_int_equal(e.line, 1);

  char *d = tmpdir_new();
  al_synth_opts o;
  static const char *const unknown[] = {"xx_YY"};
  opts(&o, d, 1, 3);
  o.locales = unknown;
  o.n_locales = 1;
  assert_int_equal(al_synth_generate(&o, &e), AL_ENOTFOUND);
  assert_non_null(strstr(e.msg, "xx_YY"));
  opts(&o, d, 1, 0);
  assert_int_equal(al_synth_generate(&o, &e), AL_EINVAL);
  tmpdir_rm(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_determinism), cmocka_unit_test(t_stable_prefix),
      cmocka_unit_test(t_validity),    cmocka_unit_test(t_sqlite_matches),
      cmocka_unit_test(t_values),      cmocka_unit_test(t_locale_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
