/* Validators against public vectors: ../shared/data/pii-validator-vectors-validatorjs and
 * -stdnum (AIRLOCK_SHARED). Valid values must pass, invalid ones must fail; every test
 * prints its counts as TAP comments. Algorithms without public vectors here (Verhoeff,
 * NHS, SSN rules) get hand-computed vectors. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>
#include <string.h>

#include "scan/validators/validators.h"

typedef bool (*check_fn)(const char *s, size_t n, const json_t *row);

/* strip spaces and dashes (the detectors do the same before validating) */
static size_t compact(const char *s, char *out, size_t max, const char *drop) {
  size_t k = 0;
  for (; *s && k + 1 < max; s++)
    if (!strchr(drop, *s)) out[k++] = *s;
  out[k] = '\0';
  return k;
}

/* Run check over rows of file where key == name (and filter accepts the row). */
typedef struct counts {
  unsigned valid_ok, valid_bad, invalid_ok, invalid_bad;
} counts;

static counts run(const char *file, const char *key, const char *name,
                  bool (*filter)(const json_t *), check_fn check, const char *valid_word) {
  counts c = {0};
  const char *shared = getenv("AIRLOCK_SHARED");
  char path[1024];
  snprintf(path, sizeof path, "%s/data/%s", shared ? shared : "../shared", file);
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s (AIRLOCK_SHARED)", path);
  char line[16384];
  while (fgets(line, sizeof line, f)) {
    json_t *row = json_loads(line, 0, NULL);
    if (!row) continue;
    const char *k = json_string_value(json_object_get(row, key));
    const char *v = json_string_value(json_object_get(row, "value"));
    if (k && v && !strcmp(k, name) && (!filter || filter(row))) {
      json_t *exp = json_object_get(row, valid_word ? "expected" : "valid");
      bool want = valid_word ? !strcmp(json_string_value(exp) ? json_string_value(exp) : "",
                                       valid_word)
                             : json_is_true(exp);
      bool is_error = valid_word && json_string_value(exp) &&
                      !strcmp(json_string_value(exp), "error");
      if (!is_error) {
        bool got = check(v, strlen(v), row);
        if (want && got) c.valid_ok++;
        if (want && !got) {
          c.valid_bad++;
          printf("# %s %s: valid value rejected: %s\n", file, name, v);
        }
        if (!want && !got) c.invalid_ok++;
        if (!want && got) {
          c.invalid_bad++;
          printf("# %s %s: invalid value accepted: %s\n", file, name, v);
        }
      }
    }
    json_decref(row);
  }
  fclose(f);
  printf("# %s %s: valid %u/%u pass, invalid %u/%u fail\n", file, name, c.valid_ok,
         c.valid_ok + c.valid_bad, c.invalid_ok, c.invalid_ok + c.invalid_bad);
  return c;
}

#define VJS "pii-validator-vectors-validatorjs/validatorjs_test_vectors.jsonl"
#define STD "pii-validator-vectors-stdnum/stdnum_test_vectors.jsonl"

static void expect_all(counts c, unsigned min_rows) {
  assert_true(c.valid_ok + c.valid_bad + c.invalid_ok + c.invalid_bad >= min_rows);
  assert_int_equal(c.valid_bad, 0);
  assert_int_equal(c.invalid_bad, 0);
}

static bool args_null(const json_t *r) { return json_is_null(json_object_get(r, "args")); }

/* ---- cards ---- */
static bool card_any(const char *s, size_t n, const json_t *row) {
  char d[64];
  size_t k = compact(s, d, sizeof d, " -");
  for (size_t i = 0; i < k; i++)
    if (d[i] < '0' || d[i] > '9') return false;
  return al_card_brand(d, k) && al_luhn_ok(d, k);
}

static const char *provider_of(const json_t *row) {
  json_t *a = json_array_get(json_object_get(row, "args"), 0);
  return json_string_value(json_object_get(a, "provider"));
}

static bool has_provider(const json_t *r) {
  const char *p = provider_of(r);
  return p && strcmp(p, "Plorf");
}

static bool card_provider(const char *s, size_t n, const json_t *row) {
  char d[64];
  size_t k = compact(s, d, sizeof d, " -");
  for (size_t i = 0; i < k; i++)
    if (d[i] < '0' || d[i] > '9') return false;
  const char *b = al_card_brand(d, k);
  const char *p = provider_of(row);
  if (!b || !al_luhn_ok(d, k)) return false;
  static const char *const map[][2] = {{"AmEx", "Amex"}, {"DinersClub", "Diners"}};
  for (size_t i = 0; i < 2; i++)
    if (!strcmp(p, map[i][0])) p = map[i][1];
  return !strcmp(b, p);
}

static void t_cards(void **st) {
  expect_all(run(VJS, "validator", "isCreditCard", args_null, card_any, "valid"), 10);
  expect_all(run(VJS, "validator", "isCreditCard", has_provider, card_provider, "valid"), 50);
}

static bool luhn_plain(const char *s, size_t n, const json_t *row) {
  char d[64];
  size_t k = compact(s, d, sizeof d, " -");
  return al_luhn_ok(d, k);
}

static void t_luhn(void **st) {
  expect_all(run(VJS, "validator", "isLuhnNumber", NULL, luhn_plain, "valid"), 8);
  assert_true(al_luhn_ok("79927398713", 11));
  assert_false(al_luhn_ok("79927398710", 11));
}

/* ---- IBAN ---- */
static bool iban_ok(const char *s, size_t n, const json_t *row) {
  char c[64];
  size_t k = compact(s, c, sizeof c, " -.");
  return al_iban_invalid(c, k) == NULL;
}

static void t_iban(void **st) {
  expect_all(run(VJS, "validator", "isIBAN", args_null, iban_ok, "valid"), 10);
  expect_all(run(STD, "scheme", "iban", NULL, iban_ok, NULL), 90);
  assert_string_equal(al_iban_invalid("DE89370400440532013001", 22), "mod-97 check failed");
  assert_string_equal(al_iban_invalid("DE8937040044053201300", 21), "wrong length for the country");
}

/* ---- ABA ---- */
static bool aba(const char *s, size_t n, const json_t *row) { return al_aba_ok(s, n); }

static void t_aba(void **st) {
  expect_all(run(VJS, "validator", "isAbaRouting", NULL, aba, "valid"), 5);
}

/* ---- IP ---- */
static int ip_version(const json_t *row) {
  json_t *a = json_array_get(json_object_get(row, "args"), 0);
  if (json_is_integer(a)) return (int)json_integer_value(a);
  if (json_is_object(a)) {
    json_t *v = json_object_get(a, "version");
    if (json_is_integer(v)) return (int)json_integer_value(v);
    if (json_is_string(v)) return -1;
  }
  return 0;
}

static bool ip_ok(const char *s, size_t n, const json_t *row) {
  int v = ip_version(row);
  if (v == 4) return al_ipv4_ok(s, n);
  if (v == 6) return al_ipv6_ok(s, n);
  if (v != 0) return false;
  return al_ipv4_ok(s, n) || al_ipv6_ok(s, n);
}

static void t_ip(void **st) {
  counts c = run(VJS, "validator", "isIP", NULL, ip_ok, "valid");
  /* validator.js accepts IPv6 zone ids (fe80::1%eth0), which are not addresses a text
   * scanner should report; they are the only tolerated difference. */
  assert_true(c.valid_ok + c.valid_bad > 50);
  assert_int_equal(c.invalid_bad, 0);
  assert_true(c.valid_bad <= 8);
}

/* ---- e-mail ---- */
static bool email(const char *s, size_t n, const json_t *row) { return al_email_ok(s, n); }

static void t_email(void **st) {
  counts c = run(VJS, "validator", "isEmail", args_null, email, "valid");
  /* validator.js accepts quoted local parts, IP-literal domains and non-ASCII; a scanner
   * for plain text only needs dot-atom addresses. No invalid value may pass. */
  assert_int_equal(c.invalid_bad, 0);
  assert_true(c.valid_ok * 10 >= (c.valid_ok + c.valid_bad) * 6);
}

/* ---- JWT ---- */
static bool jwt(const char *s, size_t n, const json_t *row) { return al_jwt_ok(s, n); }

static void t_jwt(void **st) {
  expect_all(run(VJS, "validator", "isJWT", NULL, jwt, "valid"), 3);
}

/* ---- national ids ---- */
static const char *taxid_locale(const json_t *row) {
  return json_string_value(json_array_get(json_object_get(row, "args"), 0));
}
static bool is_de(const json_t *r) { return taxid_locale(r) && !strcmp(taxid_locale(r), "de-DE"); }
static bool is_es(const json_t *r) { return taxid_locale(r) && !strcmp(taxid_locale(r), "es-ES"); }
static bool is_ca(const json_t *r) { return taxid_locale(r) && !strcmp(taxid_locale(r), "en-CA"); }
static bool is_nl(const json_t *r) { return taxid_locale(r) && !strcmp(taxid_locale(r), "nl-NL"); }

static bool de_id(const char *s, size_t n, const json_t *row) {
  char d[32];
  size_t k = compact(s, d, sizeof d, " /");
  return al_de_steuer_id_ok(d, k);
}
static bool es_id(const char *s, size_t n, const json_t *row) {
  char d[32];
  size_t k = compact(s, d, sizeof d, " -");
  return al_es_dni_ok(d, k);
}
static bool ca_id(const char *s, size_t n, const json_t *row) {
  return al_ca_sin_ok(s, n); /* validator.js takes the nine digits unseparated */
}
static bool nl_id(const char *s, size_t n, const json_t *row) {
  char d[32];
  size_t k = compact(s, d, sizeof d, " .");
  return al_bsn_ok(d, k);
}
static bool tr_id(const char *s, size_t n, const json_t *row) { return al_tr_tckimlik_ok(s, n); }

static void t_national(void **st) {
  expect_all(run(VJS, "validator", "isTaxID", is_de, de_id, "valid"), 4);
  expect_all(run(VJS, "validator", "isTaxID", is_es, es_id, "valid"), 4);
  expect_all(run(VJS, "validator", "isTaxID", is_ca, ca_id, "valid"), 8);
  expect_all(run(VJS, "validator", "isTaxID", is_nl, nl_id, "valid"), 2);
  expect_all(run(STD, "scheme", "tr_tckimlik", NULL, tr_id, NULL), 90);
}

/* ---- hand-computed vectors ---- */
static void t_hand(void **st) {
  /* Verhoeff: 236 -> check digit 3 (the algorithm's textbook example) */
  assert_true(al_verhoeff_ok("2363", 4));
  assert_false(al_verhoeff_ok("2364", 4));
  assert_false(al_verhoeff_ok("3263", 4)); /* transposition caught */
  assert_true(al_aadhaar_ok("602344834788", 12));
  assert_false(al_aadhaar_ok("602344834789", 12));
  assert_false(al_aadhaar_ok("123412341234", 12));
  /* NHS: 943 476 5919 is the NHS's published example */
  assert_true(al_nhs_ok("9434765919", 10));
  assert_false(al_nhs_ok("9434765918", 10));
  assert_false(al_nhs_ok("4444444444", 10));
  /* SSN structure */
  assert_null(al_ssn_invalid("514690360", 9));
  assert_non_null(al_ssn_invalid("000123456", 9));
  assert_non_null(al_ssn_invalid("666123456", 9));
  assert_non_null(al_ssn_invalid("912345678", 9));
  assert_non_null(al_ssn_invalid("123004567", 9));
  assert_non_null(al_ssn_invalid("123450000", 9));
  assert_non_null(al_ssn_invalid("078051120", 9));
  assert_non_null(al_ssn_invalid("219099999", 9));
  /* brands */
  assert_string_equal(al_card_brand("5555555555554444", 16), "Mastercard");
  assert_string_equal(al_card_brand("2720990000000007", 16), "Mastercard");
  assert_null(al_card_brand("2721000000000000", 16));
  assert_string_equal(al_card_brand("378282246310005", 15), "Amex");
  assert_null(al_card_brand("3782822463100051", 16));
  assert_string_equal(al_card_brand("6011111111111117", 16), "Discover");
  assert_string_equal(al_card_brand("3530111333300000", 16), "JCB");
  assert_string_equal(al_card_brand("30569309025904", 14), "Diners");
  assert_string_equal(al_card_brand("6200000000000005", 16), "UnionPay");
  /* entropy */
  assert_true(al_shannon_entropy("aaaaaaaa", 8) < 0.01);
  assert_true(al_shannon_entropy("abcdefgh", 8) > 2.99);
  unsigned char out[16];
  assert_int_equal(al_base64_decode("aGVsbG8", 7, out, sizeof out, true), 5);
  assert_memory_equal(out, "hello", 5);
  assert_int_equal(al_base64_decode("a", 1, out, sizeof out, false), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_cards),    cmocka_unit_test(t_luhn),  cmocka_unit_test(t_iban),
      cmocka_unit_test(t_aba),      cmocka_unit_test(t_ip),    cmocka_unit_test(t_email),
      cmocka_unit_test(t_jwt),      cmocka_unit_test(t_national), cmocka_unit_test(t_hand),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
