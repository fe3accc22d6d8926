/* Unit tests of the anonymising import: consistency (one input value, one replacement, in
 * every record and format), no original PII value survives, replacements pass the same
 * validators (scan counts per detector unchanged), determinism per seed, CSV quoting,
 * errors with line numbers. The records are fixtures written for this test. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "airlock/synth.h"
#include "synth_test_util.h"

static const char JSONL[] =
    "{\"id\":1,\"name\":\"Test Person\",\"email\":\"Jane.Roe@Example.net\",\"card\":\"4111 1111 "
    "1111 1111\","
    "\"ssn\":\"536-22-8472\",\"phone\":\"(415) 555-0198\",\"iban\":\"DE89370400440532013000\","
    "\"note\":\"ssn 536228472, card 4111111111111111, mail jane.roe@example.net\"}\n"
    "\n"
    "{\"id\":2,\"contact\":{\"email\":\"jane.roe@example.net\",\"ip\":\"10.20.30.40\"},"
    "\"cards\":[\"4111-1111-1111-1111\",\"5105 1051 0510 5100\"],\"phone\":\"415.555.0198\","
    "\"id_kind\":\"nhs\",\"national_id\":\"943 476 5919\"}\n"
    "{\"id\":3,\"amount\":12.5,\"acct\":5105105105105100,\"ok\":true,\"nothing\":null,"
    "\"customer\":{\"Full Name\":\"test  person\",\"city\":\"Zzyzxville\"}}\n";

static const char *const ORIGINALS[] = {"4111 1111 1111 1111",
                                        "4111111111111111",
                                        "4111-1111-1111-1111",
                                        "536-22-8472",
                                        "536228472",
                                        "415) 555-0198",
                                        "415.555.0198",
                                        "Jane.Roe",
                                        "jane.roe@example.net",
                                        "DE89370400440532013000",
                                        "943 476 5919",
                                        "5105105105105100",
                                        "5105 1051 0510 5100",
                                        "10.20.30.40",
                                        "Test Person",
                                        "test  person",
                                        "Zzyzxville"};

/* One anonymizer per seed, reused across tests (compiling the detectors is the slow part). */
static struct {
  uint64_t seed;
  al_anonymizer *a;
} cache[8];

static al_anonymizer *anonymizer(uint64_t seed) {
  int i = 0;
  for (; i < 8 && cache[i].a; i++)
    if (cache[i].seed == seed) return cache[i].a;
  assert_true(i < 8);
  assert_int_equal(al_anonymizer_new(seed, &cache[i].a, NULL), 0);
  cache[i].seed = seed;
  return cache[i].a;
}

static char *anon(const char *in, al_anon_format f, uint64_t seed, al_anon_stats *s) {
  char *out = NULL;
  size_t n = 0;
  al_error e = {0};
  int rc = al_anonymizer_run(anonymizer(seed), in, strlen(in), f, "t", &out, &n, s, &e);
  if (rc) fprintf(stderr, "# %s\n", e.msg);
  assert_int_equal(rc, 0);
  assert_int_equal(strlen(out), n);
  return out;
}

static json_t *line_json(const char *text, int which) {
  const char *p = text;
  for (int i = 0; i < which; i++)
    p = strchr(p, '\n') + 1;
  const char *e = strchr(p, '\n');
  return json_loadb(p, (size_t)(e - p), 0, NULL);
}

static void digits(const char *s, char *out) {
  size_t k = 0;
  for (; *s; s++)
    if (*s >= '0' && *s <= '9') out[k++] = *s;
  out[k] = 0;
}

static void t_consistent(void **st) {
  al_anon_stats s = {0};
  char *out = anon(JSONL, AL_ANON_JSONL, 11, &s);
  assert_int_equal(s.records, 3);
  json_t *a = line_json(out, 0), *b = line_json(out, 2), *c = line_json(out, 3);
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(c);
  /* blank line kept */
  assert_non_null(strstr(out, "}\n\n{"));
  /* names by column name, consistently (case and spacing folded) */
  const char *nm = json_string_value(json_object_get(a, "name"));
  assert_string_not_equal(nm, "Test Person");
  assert_non_null(strchr(nm, ' '));
  assert_string_equal(
      nm, json_string_value(json_object_get(json_object_get(c, "customer"), "Full Name")));
  /* untouched: keys, non-PII values, types */
  assert_string_equal(json_string_value(json_object_get(b, "id_kind")), "nhs");
  assert_true(json_is_real(json_object_get(c, "amount")));
  assert_true(json_is_true(json_object_get(c, "ok")));
  /* e-mail: same replacement despite different case, in a field and inside free text */
  const char *em = json_string_value(json_object_get(a, "email"));
  assert_string_equal(em,
                      json_string_value(json_object_get(json_object_get(b, "contact"), "email")));
  assert_non_null(strstr(json_string_value(json_object_get(a, "note")), em));
  /* card: same digits whatever the separators; the shape is kept */
  char d1[32], d2[32], d3[32];
  const char *c1 = json_string_value(json_object_get(a, "card"));
  const char *c2 = json_string_value(json_array_get(json_object_get(b, "cards"), 0));
  digits(c1, d1);
  digits(c2, d2);
  assert_string_equal(d1, d2);
  assert_int_equal(c1[4], ' ');
  assert_int_equal(c2[4], '-');
  assert_non_null(strstr(json_string_value(json_object_get(a, "note")), d1));
  /* SSN dashed and bare map to the same digits */
  digits(json_string_value(json_object_get(a, "ssn")), d3);
  assert_non_null(strstr(json_string_value(json_object_get(a, "note")), d3));
  /* phone: same number in two formats */
  digits(json_string_value(json_object_get(a, "phone")), d1);
  digits(json_string_value(json_object_get(b, "phone")), d2);
  assert_string_equal(d1, d2);
  assert_int_equal(strncmp(d1 + 3, "55501", 5), 0);
  /* an integer card stays an integer */
  assert_true(json_is_integer(json_object_get(c, "acct")));
  /* the NHS number (context word in a neighbouring field) was replaced */
  assert_string_not_equal(json_string_value(json_object_get(b, "national_id")), "943 476 5919");
  assert_true(s.distinct < s.replaced);
  json_decref(a);
  json_decref(b);
  json_decref(c);
  al_free(out);
}

static void t_no_original_survives(void **st) {
  char *out = anon(JSONL, AL_ANON_JSONL, 12, NULL);
  for (size_t i = 0; i < sizeof ORIGINALS / sizeof ORIGINALS[0]; i++) {
    if (strstr(out, ORIGINALS[i])) fprintf(stderr, "# survived: %s\n", ORIGINALS[i]);
    assert_null(strstr(out, ORIGINALS[i]));
  }
  al_free(out);
}

static void t_still_valid(void **st) {
  counts before, after;
  char *out = anon(JSONL, AL_ANON_JSONL, 13, NULL);
  assert_int_equal(scan_lines(JSONL, strlen(JSONL), &before), 0);
  assert_int_equal(scan_lines(out, strlen(out), &after), 0);
  assert_true(before.n >= 6);
  for (int i = 0; i < before.n; i++) {
    if (count_of(&after, before.c[i].name) != before.c[i].n)
      fprintf(stderr, "# %s: %ld before, %ld after\n", before.c[i].name, before.c[i].n,
              count_of(&after, before.c[i].name));
    assert_int_equal(count_of(&after, before.c[i].name), before.c[i].n);
  }
  al_free(out);
}

static void t_deterministic(void **st) {
  char *b = NULL;
  size_t bn = 0;
  /* a fresh anonymizer (al_synth_anonymize_buf) agrees with a reused one */
  assert_int_equal(
      al_synth_anonymize_buf(JSONL, strlen(JSONL), AL_ANON_JSONL, "t", 21, &b, &bn, NULL, NULL), 0);
  char *a = anon(JSONL, AL_ANON_JSONL, 21, NULL), *a2 = anon(JSONL, AL_ANON_JSONL, 21, NULL),
       *c = anon(JSONL, AL_ANON_JSONL, 22, NULL);
  assert_string_equal(a, b);
  assert_string_equal(a, a2);
  assert_string_not_equal(a, c);
  al_free(a2);
  al_free(a);
  al_free(b);
  al_free(c);
}

static void t_csv(void **st) {
  const char *in =
      "name,card,ssn,comment\n"
      "Ann,4111 1111 1111 1111,536228472,\"mail Jane.Roe@example.net, or call (415) 555-0198\"\n"
      "Bob,\"4111-1111-1111-1111\",,\"said \"\"hi\"\"\"\n";
  al_anon_stats s = {0};
  char *out = anon(in, AL_ANON_CSV, 5, &s);
  assert_int_equal(s.records, 2);
  assert_int_equal(strncmp(out, "name,card,ssn,comment\n", 22), 0);
  assert_null(strstr(out, "Ann"));
  assert_null(strstr(out, "Bob"));
  assert_non_null(strstr(out, "\"said \"\"hi\"\"\"\n"));
  assert_null(strstr(out, "4111"));
  assert_null(strstr(out, "536228472")); /* bare SSN found through the column name */
  assert_null(strstr(out, "Jane.Roe"));
  assert_null(strstr(out, "555-0198"));
  /* the same card in both rows */
  char *r1 = strchr(out, '\n') + 1, *r2 = strchr(strchr(r1, '\n') + 1, ',') + 1;
  char d1[32] = {0}, d2[32] = {0}, tmp[64];
  snprintf(tmp, sizeof tmp, "%.19s", strchr(r1, ',') + 1);
  digits(tmp, d1);
  snprintf(tmp, sizeof tmp, "%.19s", r2);
  digits(tmp, d2);
  assert_string_equal(d1, d2);
  assert_int_equal(strlen(d1), 16);
  al_free(out);
}

static void t_errors(void **st) {
  char *out = NULL;
  al_error e = {0};
  const char *bad = "{\"a\":1}\n{\"b\": tru}\n";
  assert_int_equal(
      al_synth_anonymize_buf(bad, strlen(bad), AL_ANON_JSONL, "in.jsonl", 1, &out, NULL, NULL, &e),
      AL_EPARSE);
  assert_null(out);
  assert_int_equal(e.line, 2);
  assert_string_equal(e.file, "in.jsonl");
  const char *badcsv = "a,b\n\"x,y\n";
  assert_int_equal(al_synth_anonymize_buf(badcsv, strlen(badcsv), AL_ANON_CSV, "in.csv", 1, &out,
                                          NULL, NULL, &e),
                   AL_EPARSE);
  assert_int_equal(al_anon_format_of("x.CSV"), AL_ANON_CSV);
  assert_int_equal(al_anon_format_of("x.ndjson"), AL_ANON_JSONL);
  assert_true(al_anon_format_of("x.txt") < 0);
  assert_true(al_synth_anonymize("/nonexistent/x.jsonl", "/tmp/never", 1, NULL, &e) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_consistent),  cmocka_unit_test(t_no_original_survives),
      cmocka_unit_test(t_still_valid), cmocka_unit_test(t_deterministic),
      cmocka_unit_test(t_csv),         cmocka_unit_test(t_errors),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  for (int i = 0; i < 8; i++)
    al_anonymizer_free(cache[i].a);
  return rc;
}
