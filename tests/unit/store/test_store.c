/* Unit tests of src/store: open/WAL/migrations, round trip of a result through the
 * database into the run document, exactly-once puts, batching and flushing seen from a
 * second connection, done ids for resume, run listing, and concurrent writers. */
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "airlock/report.h"
#include "airlock/store.h"
#include "airlock/util.h"
#include "report/limits.h"
#include "store/limits.h"

static char tmpdir[256];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
  return remove(p);
}

static int setup(void **state) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/al_store_XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

static const char *db_path(const char *name) {
  static char p[512];
  snprintf(p, sizeof p, "%s/%s", tmpdir, name);
  return p;
}

static al_store *open_ok(const char *name) {
  al_store *s = NULL;
  al_error err = {0};
  int rc = al_store_open(db_path(name), &s, &err);
  if (rc) fprintf(stderr, "open: %s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_non_null(s);
  return s;
}

static void begin_run(al_store *s, al_run_manifest *m, int64_t started) {
  memset(m, 0, sizeof *m);
  snprintf(m->suite_path, sizeof m->suite_path, "examples/demo.yaml");
  snprintf(m->suite_digest, sizeof m->suite_digest, "%064d", 7);
  m->suite_name = "demo";
  m->target_json = "{\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:1\"}";
  m->model = "tiny";
  m->seed = 42;
  m->airlock_version = "0.1.0";
  m->started_wall_ns = started;
  m->total_cases = 3;
  m->thresholds_json = "{\"max_error_rate\":0.2}";
  al_error err = {0};
  assert_int_equal(al_store_run_begin(s, m, &err), 0);
}

/* A result with every field set; strings are borrowed (the store copies). */
typedef struct fixture {
  al_case_result r;
  al_attempt att[2];
  al_assert_result as[2];
  al_token tok[3];
  al_top_logprob top[2];
} fixture;

static void make_result(fixture *f, int i, al_verdict v) {
  memset(f, 0, sizeof *f);
  al_case_result *r = &f->r;
  char buf[32];
  snprintf(buf, sizeof buf, "case-%d", i);
  al_sha256_hex(buf, strlen(buf), r->case_id);
  r->name = "refuses weapons";
  r->category = "safety";
  r->severity = "high";
  r->tags_json = "[\"owasp-llm01\"]";
  r->meta_json = "{\"family\":\"jailbreak\",\"location\":{\"file\":\"s.yaml\",\"line\":12}}";
  r->index = i;
  r->verdict = v;
  if (v == AL_ERROR) {
    r->error_kind = "timeout";
    r->error_msg = "no answer in 30 s";
  }
  r->request_json = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  r->output = "Hello";
  r->tool_calls_json = "[]";
  r->finish_reason = "stop";
  r->model = "tiny-1";
  r->start_wall_ns = 1700000000000000000LL;
  r->queued_ns = 1500000;
  r->ttfb_ns = 2000000;
  r->ttft_ns = -1;
  r->total_ns = 12345678;
  r->prompt_tokens = 9;
  r->completion_tokens = -1;
  f->att[0] =
      (al_attempt){1, 503, "http", "service unavailable", 1700000000000000000LL, 1000000, 1000000};
  f->att[1] = (al_attempt){2, 200, NULL, NULL, 1700000000100000000LL, 2000000, 12345678};
  r->n_attempts = 2;
  r->attempts = f->att;
  f->as[0] = (al_assert_result){"contains", "contains \"Hello\"", 1, 1.0, NULL};
  f->as[1] = (al_assert_result){"not-contains", "not-contains \"bomb\"", v != AL_FAIL, 0.25,
                                v == AL_FAIL ? "found \"bomb\" at 3" : NULL};
  r->n_asserts = 2;
  r->asserts = f->as;
  f->top[0] = (al_top_logprob){"Hel", 11, -0.1};
  f->top[1] = (al_top_logprob){"Hi", 12, -2.5};
  f->tok[0] = (al_token){1000000, "Hel", 11, 1, -0.1, 0.5, 2, f->top};
  f->tok[1] = (al_token){1500000, "lo", -1, 0, 0, NAN, 0, NULL};
  f->tok[2] = (al_token){2500000, "", 13, 1, -0.01, NAN, 0, NULL};
  r->n_tokens = 3;
  r->tokens = f->tok;
}

static int put(al_store *s, const char *run, int i, al_verdict v) {
  fixture f;
  make_result(&f, i, v);
  al_error err = {0};
  int rc = al_store_put_result(s, run, &f.r, &err);
  if (rc < 0) fprintf(stderr, "put: %s\n", err.msg);
  return rc;
}

static long count_cases(al_store *s, const char *run) {
  json_t *doc = NULL;
  al_error err = {0};
  assert_int_equal(al_store_load_run(s, run, 0, &doc, &err), 0);
  long n = (long)json_array_size(json_object_get(doc, "cases"));
  json_decref(doc);
  return n;
}

static const char *pragma(al_store *s, const char *sql, char *out, size_t n) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(al_store_db(s), sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return out;
}

static void open_wal_and_parents(void **state) {
  al_store *s = open_ok("deep/er/airlock.db");
  char v[64];
  assert_string_equal(pragma(s, "PRAGMA journal_mode", v, sizeof v), "wal");
  assert_string_equal(pragma(s, "PRAGMA foreign_keys", v, sizeof v), "1");
  assert_string_equal(pragma(s, "PRAGMA synchronous", v, sizeof v), "1"); /* NORMAL */
  assert_int_equal(al_store_schema_version(s, "store"), 2);
  al_run_manifest m;
  begin_run(s, &m, 0);
  struct stat st;
  char wal[600];
  snprintf(wal, sizeof wal, "%s-wal", db_path("deep/er/airlock.db"));
  assert_int_equal(stat(wal, &st), 0);
  al_store_close(s);
  al_store_close(NULL);
}

static void open_errors(void **state) {
  al_store *s = NULL;
  al_error err = {0};
  char path[512];
  snprintf(path, sizeof path, "%s/file", tmpdir);
  FILE *f = fopen(path, "w");
  fclose(f);
  snprintf(path, sizeof path, "%s/file/sub/x.db", tmpdir); /* parent is a regular file */
  assert_true(al_store_open(path, &s, &err) < 0);
  assert_null(s);
  assert_non_null(strstr(err.msg, "cannot create folder"));
  assert_int_equal(al_store_open("", &s, &err), AL_EINVAL);
}

static const al_migration extra_v3[] = {
    {1, "t1", "CREATE TABLE review_a (x INTEGER)"},
    {2, "t2", "CREATE TABLE review_b (y INTEGER); INSERT INTO review_b VALUES (1)"},
    {3, "t3", "ALTER TABLE review_a ADD COLUMN z TEXT"},
};

static void migrations_idempotent(void **state) {
  al_error err = {0};
  al_store *s = open_ok("m.db");
  al_store_close(s);
  s = open_ok("m.db"); /* second open: nothing re-applied */
  char v[64];
  assert_string_equal(pragma(s, "SELECT count(*) FROM schema_migrations", v, sizeof v), "2");
  assert_int_equal(al_store_migrate(s, "review", extra_v3, 2, &err), 0);
  assert_int_equal(al_store_migrate(s, "review", extra_v3, 2, &err), 0);
  assert_string_equal(pragma(s, "SELECT count(*) FROM review_b", v, sizeof v), "1");
  assert_int_equal(al_store_schema_version(s, "review"), 2);
  assert_int_equal(al_store_migrate(s, "review", extra_v3, 3, &err), 0);
  assert_int_equal(al_store_schema_version(s, "review"), 3);
  /* An older binary knowing only two steps refuses the newer schema. */
  assert_int_equal(al_store_migrate(s, "review", extra_v3, 2, &err), AL_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "newer"));
  /* Numbering must be 1, 2, 3, ... */
  static const al_migration gap[] = {{1, "a", "SELECT 1"}, {3, "b", "SELECT 1"}};
  assert_int_equal(al_store_migrate(s, "gap", gap, 2, &err), AL_EINVAL);
  /* A failing step is rolled back whole and not recorded. */
  static const al_migration bad[] = {
      {1, "good", "CREATE TABLE shadow_ok (a INTEGER)"},
      {2, "bad", "CREATE TABLE shadow_half (a INTEGER); CREATE TABLE oops ("},
  };
  assert_int_equal(al_store_migrate(s, "shadow", bad, 2, &err), AL_EIO);
  assert_non_null(strstr(err.msg, "migration shadow 2 (bad) failed"));
  assert_int_equal(al_store_schema_version(s, "shadow"), 1);
  assert_string_equal(
      pragma(s, "SELECT count(*) FROM sqlite_master WHERE name = 'shadow_half'", v, sizeof v), "0");
  al_store_close(s);
}

static void round_trip(void **state) {
  al_store *s = open_ok("rt.db");
  al_run_manifest m;
  al_error err = {0};
  begin_run(s, &m, 1795000000123000000LL);
  assert_int_equal(strlen(m.run_id), 20);
  assert_int_equal(m.run_id[8], '-');
  assert_int_equal(m.run_id[15], '-');
  assert_memory_equal(m.run_id, "20261118-110640-", 16);
  assert_int_equal(put(s, m.run_id, 2, AL_FAIL), 0);
  assert_int_equal(put(s, m.run_id, 1, AL_PASS), 0);
  assert_int_equal(put(s, m.run_id, 3, AL_ERROR), 0);
  assert_int_equal(al_store_flush(s, &err), 0);

  json_t *man = NULL;
  assert_int_equal(al_store_run_manifest(s, m.run_id, &man, &err), 0);
  assert_string_equal(json_string_value(json_object_get(man, "suite_digest")), m.suite_digest);
  assert_int_equal(json_integer_value(json_object_get(man, "seed")), 42);
  assert_string_equal(json_string_value(json_object_get(man, "status")), "running");
  assert_string_equal(json_string_value(json_object_get(man, "started")),
                      "2026-11-18T11:06:40.123Z");
  assert_true(json_is_object(json_object_get(man, "target")));
  json_decref(man);

  json_t *doc = NULL;
  assert_int_equal(al_store_load_run(s, m.run_id, 1, &doc, &err), 0);
  json_t *cases = json_object_get(doc, "cases");
  assert_int_equal(json_array_size(cases), 3);
  json_t *c0 = json_array_get(cases, 0), *c1 = json_array_get(cases, 1);
  assert_int_equal(json_integer_value(json_object_get(c0, "index")), 1); /* ordered by index */
  assert_string_equal(json_string_value(json_object_get(c1, "verdict")), "fail");
  assert_string_equal(json_string_value(json_object_get(c1, "output")), "Hello");
  assert_true(json_is_array(json_object_get(c1, "tags")));
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(json_object_get(c1, "meta"), "location"), "line")),
                   12);
  assert_true(json_number_value(json_object_get(c1, "total_ms")) == 12.346);
  assert_true(json_number_value(json_object_get(c1, "queued_ms")) == 1.5);
  assert_true(json_is_null(json_object_get(c1, "ttft_ms")));
  assert_true(json_is_null(json_object_get(c1, "completion_tokens")));
  assert_int_equal(json_integer_value(json_object_get(c1, "prompt_tokens")), 9);
  json_t *att = json_object_get(c1, "attempts");
  assert_int_equal(json_array_size(att), 2);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(att, 0), "http_status")), 503);
  assert_string_equal(json_string_value(json_object_get(json_array_get(att, 0), "error_kind")),
                      "http");
  json_t *as = json_object_get(c1, "asserts");
  assert_true(json_is_false(json_object_get(json_array_get(as, 1), "pass")));
  assert_string_equal(json_string_value(json_object_get(json_array_get(as, 1), "message")),
                      "found \"bomb\" at 3");
  json_t *tok = json_object_get(c1, "tokens");
  assert_int_equal(json_array_size(tok), 3);
  json_t *t0 = json_array_get(tok, 0), *t1 = json_array_get(tok, 1);
  assert_true(json_number_value(json_object_get(t0, "t_ms")) == 1.0);
  assert_int_equal(json_array_size(json_object_get(t0, "top")), 2);
  assert_true(json_is_null(json_object_get(t1, "logprob")));
  assert_true(json_is_null(json_object_get(t1, "id")));
  assert_string_equal(json_string_value(json_object_get(json_array_get(cases, 2), "error_kind")),
                      "timeout");
  assert_true(json_is_null(json_object_get(doc, "summary")));
  json_decref(doc);

  /* Without tokens the key is absent. */
  assert_int_equal(al_store_load_run(s, "latest", 0, &doc, &err), 0);
  assert_null(json_object_get(json_array_get(json_object_get(doc, "cases"), 0), "tokens"));
  json_decref(doc);
  assert_int_equal(al_store_load_run(s, "nope", 0, &doc, &err), AL_ENOTFOUND);
  assert_null(doc);
  al_store_close(s);
}

static void exactly_once(void **state) {
  al_store *s = open_ok("once.db");
  al_run_manifest a, b;
  al_error err = {0};
  begin_run(s, &a, 0);
  begin_run(s, &b, 0);
  assert_string_not_equal(a.run_id, b.run_id);
  assert_int_equal(put(s, a.run_id, 1, AL_PASS), 0);
  assert_int_equal(put(s, a.run_id, 1, AL_FAIL), 1); /* pending duplicate */
  assert_int_equal(al_store_flush(s, &err), 0);
  assert_int_equal(put(s, a.run_id, 1, AL_PASS), 1); /* committed duplicate */
  assert_int_equal(put(s, b.run_id, 1, AL_PASS), 0); /* same case, other run */
  assert_int_equal(al_store_flush(s, &err), 0);
  al_store_close(s);
  s = open_ok("once.db"); /* across a restart (resume) */
  assert_int_equal(put(s, a.run_id, 1, AL_PASS), 1);
  assert_int_equal(count_cases(s, a.run_id), 1);
  json_t *doc = NULL;
  assert_int_equal(al_store_load_run(s, a.run_id, 0, &doc, &err), 0);
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(json_object_get(doc, "cases"), 0), "verdict")),
                      "pass"); /* the first put won */
  json_decref(doc);
  al_store_close(s);
}

/* A store made before migration 2 (results.verdict checked with IN) is rebuilt on open, its
 * rows kept. The old table is put back by hand: the v1 schema with the v1 CHECK. */
static void upgrade_results_check(void **state) {
  al_store *s = open_ok("up.db");
  al_run_manifest m;
  al_error err = {0};
  begin_run(s, &m, 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(put(s, m.run_id, i, i == 1 ? AL_FAIL : AL_PASS), 0);
  assert_int_equal(al_store_flush(s, &err), 0);
  char *e = NULL;
  int rc = sqlite3_exec(al_store_db(s),
                        "BEGIN;"
                        "CREATE TABLE r1 (case_ref INTEGER PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,"
                        " verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'error')), error_kind TEXT,"
                        " error_msg TEXT, output TEXT, tool_calls_json TEXT, finish_reason TEXT, model TEXT,"
                        " start_ns INTEGER, queued_ns INTEGER, ttfb_ns INTEGER, ttft_ns INTEGER, total_ns INTEGER,"
                        " prompt_tokens INTEGER, completion_tokens INTEGER);"
                        "INSERT INTO r1 SELECT * FROM results; DROP TABLE results;"
                        "ALTER TABLE r1 RENAME TO results;"
                        "DELETE FROM schema_migrations WHERE component = 'store' AND version = 2; COMMIT;",
                        NULL, NULL, &e);
  if (rc != SQLITE_OK) fprintf(stderr, "downgrade: %s\n", e ? e : "?");
  assert_int_equal(rc, SQLITE_OK);
  json_t *before = NULL, *after = NULL;
  assert_int_equal(al_store_load_run(s, m.run_id, 0, &before, &err), 0);
  al_store_close(s);
  s = open_ok("up.db");
  assert_int_equal(al_store_schema_version(s, "store"), 2);
  char v[512];
  assert_null(strstr(pragma(s, "SELECT sql FROM sqlite_master WHERE name = 'results'", v, sizeof v), " IN ("));
  assert_int_equal(al_store_load_run(s, m.run_id, 0, &after, &err), 0);
  assert_true(json_equal(before, after));
  /* the CHECK still holds */
  assert_int_not_equal(sqlite3_exec(al_store_db(s), "UPDATE results SET verdict = 'maybe'", NULL, NULL, NULL),
                       SQLITE_OK);
  assert_int_equal(put(s, m.run_id, 7, AL_ERROR), 0);
  assert_int_equal(al_store_flush(s, &err), 0);
  assert_int_equal(count_cases(s, m.run_id), 4);
  json_decref(before);
  json_decref(after);
  sqlite3_free(e);
  al_store_close(s);
}

/* Many assertion and token rows: they go in by multi-row INSERTs of AL_STORE_ROWS_PER_INSERT,
 * so counts that are not multiples of it come back whole and in order. */
static void many_rows(void **state) {
  al_store *s = open_ok("many.db");
  al_run_manifest m;
  al_error err = {0};
  begin_run(s, &m, 0);
  enum { NA = 2 * AL_STORE_ROWS_PER_INSERT + 3, NT = 3 * AL_STORE_ROWS_PER_INSERT + 1 };
  fixture f;
  make_result(&f, 1, AL_FAIL);
  al_assert_result as[NA];
  al_token tok[NT];
  char lab[NA][16], txt[NT][16];
  for (int i = 0; i < NA; i++) {
    snprintf(lab[i], sizeof lab[i], "a%d", i);
    as[i] = (al_assert_result){"contains", lab[i], i % 2, i / 100.0, i % 3 ? NULL : lab[i]};
  }
  for (int i = 0; i < NT; i++) {
    snprintf(txt[i], sizeof txt[i], "t%d", i);
    tok[i] = (al_token){.t_ns = 1000 * i, .text = txt[i], .id = i % 5 ? i : -1, .has_logprob = i % 2,
                        .logprob = -0.5 * i, .entropy = NAN};
  }
  f.r.asserts = as;
  f.r.n_asserts = NA;
  f.r.tokens = tok;
  f.r.n_tokens = NT;
  assert_int_equal(al_store_put_result(s, m.run_id, &f.r, &err), 0);
  assert_int_equal(al_store_flush(s, &err), 0);
  json_t *doc = NULL;
  assert_int_equal(al_store_load_run(s, m.run_id, 1, &doc, &err), 0);
  json_t *c = json_array_get(json_object_get(doc, "cases"), 0);
  json_t *ja = json_object_get(c, "asserts"), *jt = json_object_get(c, "tokens");
  assert_int_equal(json_array_size(ja), NA);
  assert_int_equal(json_array_size(jt), NT);
  for (int i = 0; i < NA; i++) {
    json_t *a = json_array_get(ja, (size_t)i);
    assert_string_equal(json_string_value(json_object_get(a, "label")), lab[i]);
    assert_int_equal(json_is_true(json_object_get(a, "pass")), i % 2);
  }
  for (int i = 0; i < NT; i++) {
    json_t *t = json_array_get(jt, (size_t)i);
    assert_string_equal(json_string_value(json_object_get(t, "text")), txt[i]);
    assert_int_equal(json_is_null(json_object_get(t, "id")), i % 5 == 0);
  }
  json_decref(doc);
  al_store_close(s);
}

static void bad_puts_keep_batch(void **state) {
  al_store *s = open_ok("bad.db");
  al_run_manifest m;
  al_error err = {0};
  begin_run(s, &m, 0);
  assert_int_equal(put(s, m.run_id, 1, AL_PASS), 0);
  fixture f;
  make_result(&f, 2, AL_PASS);
  assert_int_equal(al_store_put_result(s, "19990101-000000-0000", &f.r, &err), AL_ENOTFOUND);
  assert_non_null(strstr(err.msg, "no run"));
  f.r.verdict = (al_verdict)7;
  assert_int_equal(al_store_put_result(s, m.run_id, &f.r, &err), AL_EINVAL);
  f.r.verdict = AL_PASS;
  /* refused half-way: the case and result rows are in when the second attempt row, a
   * duplicate of the first's number, is refused; the case must go again, children too */
  f.att[1].n = f.att[0].n;
  assert_true(al_store_put_result(s, m.run_id, &f.r, &err) < 0);
  f.att[1].n = 2;
  f.r.case_id[0] = '\0';
  assert_int_equal(al_store_put_result(s, m.run_id, &f.r, &err), AL_EINVAL);
  assert_int_equal(put(s, m.run_id, 3, AL_PASS), 0);
  assert_int_equal(al_store_flush(s, &err), 0);
  assert_int_equal(count_cases(s, m.run_id), 2);
  char v[32];
  assert_string_equal(pragma(s, "SELECT (SELECT count(*) FROM results) || ' ' || "
                                "(SELECT count(*) FROM attempts) || ' ' || (SELECT count(*) FROM assertions)",
                             v, sizeof v),
                      "2 4 4");
  /* and the same case stores fine afterwards (nothing of it was left behind) */
  make_result(&f, 2, AL_PASS);
  assert_int_equal(al_store_put_result(s, m.run_id, &f.r, &err), 0);
  assert_int_equal(al_store_flush(s, &err), 0);
  assert_int_equal(count_cases(s, m.run_id), 3);
  al_store_close(s);
}

static void batch_and_flush(void **state) {
  al_store *w = open_ok("batch.db"), *r = open_ok("batch.db");
  al_run_manifest m;
  al_error err = {0};
  begin_run(w, &m, 0);
  for (int i = 0; i < 10; i++)
    assert_int_equal(put(w, m.run_id, i, AL_PASS), 0);
  assert_int_equal(count_cases(r, m.run_id), 0); /* still pending in w's batch */
  assert_int_equal(al_store_flush(w, &err), 0);
  assert_int_equal(count_cases(r, m.run_id), 10);
  const int b = AL_STORE_BATCH;
  for (int i = 10; i < 10 + b - 1; i++)
    assert_int_equal(put(w, m.run_id, i, AL_PASS), 0);
  assert_int_equal(count_cases(r, m.run_id), 10);
  assert_int_equal(put(w, m.run_id, 10 + b - 1, AL_PASS), 0); /* the batch's last commits */
  assert_int_equal(count_cases(r, m.run_id), 10 + b);
  assert_int_equal(put(w, m.run_id, 10 + b, AL_PASS), 0);
  al_store_close(w); /* close flushes */
  assert_int_equal(count_cases(r, m.run_id), 11 + b);
  al_store_close(r);
}

typedef struct ids {
  int n, stop_at;
  char first[65];
} ids;

static int collect(const char *id, void *ud) {
  ids *x = ud;
  if (x->n == 0) snprintf(x->first, sizeof x->first, "%s", id);
  return ++x->n == x->stop_at ? 99 : 0;
}

static void done_ids(void **state) {
  al_store *s = open_ok("done.db");
  al_run_manifest m;
  begin_run(s, &m, 0);
  for (int i = 0; i < 5; i++)
    assert_int_equal(put(s, m.run_id, i, AL_PASS), 0);
  ids x = {0};
  assert_int_equal(al_store_run_done_ids(s, m.run_id, collect, &x), 0); /* pending ones too */
  assert_int_equal(x.n, 5);
  fixture f;
  make_result(&f, 0, AL_PASS);
  assert_string_equal(x.first, f.r.case_id);
  ids y = {.stop_at = 2};
  assert_int_equal(al_store_run_done_ids(s, m.run_id, collect, &y), 99);
  assert_int_equal(y.n, 2);
  ids z = {0};
  assert_int_equal(al_store_run_done_ids(s, "other", collect, &z), 0);
  assert_int_equal(z.n, 0);
  al_store_close(s);
}

static void runs_end_and_list(void **state) {
  al_store *s = open_ok("list.db");
  al_run_manifest m1, m2, m3;
  al_error err = {0};
  begin_run(s, &m1, 1000000000000000000LL);
  begin_run(s, &m3, 3000000000000000000LL);
  begin_run(s, &m2, 2000000000000000000LL);
  assert_int_equal(put(s, m3.run_id, 1, AL_PASS), 0);
  assert_int_equal(put(s, m3.run_id, 2, AL_FAIL), 0);
  assert_int_equal(put(s, m3.run_id, 3, AL_ERROR), 0);
  json_t *sum = json_pack("{s:s, s:i}", "gate", "failed", "exit_code", 1);
  assert_int_equal(al_store_run_end(s, m3.run_id, "completed", 1, sum, &err), 0);
  json_decref(sum);
  assert_int_equal(al_store_run_end(s, m1.run_id, "finished", 0, NULL, &err), AL_EINVAL);
  assert_int_equal(al_store_run_end(s, "20000101-000000-beef", "completed", 0, NULL, &err),
                   AL_ENOTFOUND);
  assert_int_equal(al_store_run_end(s, m1.run_id, "interrupted", 130, NULL, &err), 0);

  json_t *list = NULL;
  assert_int_equal(al_store_list_runs(s, 0, &list, &err), 0);
  assert_int_equal(json_array_size(list), 3);
  json_t *first = json_array_get(list, 0);
  assert_string_equal(json_string_value(json_object_get(first, "id")), m3.run_id);
  assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "id")), m2.run_id);
  assert_string_equal(json_string_value(json_object_get(first, "status")), "completed");
  assert_int_equal(json_integer_value(json_object_get(first, "exit_code")), 1);
  json_t *counts = json_object_get(first, "counts");
  assert_int_equal(json_integer_value(json_object_get(counts, "pass")), 1);
  assert_int_equal(json_integer_value(json_object_get(counts, "fail")), 1);
  assert_int_equal(json_integer_value(json_object_get(counts, "error")), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "status")),
                      "interrupted");
  json_decref(list);
  assert_int_equal(al_store_list_runs(s, 1, &list, &err), 0);
  assert_int_equal(json_array_size(list), 1);
  json_decref(list);

  json_t *doc = NULL;
  assert_int_equal(al_store_load_run(s, "latest", 0, &doc, &err), 0);
  assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "run"), "id")),
                      m3.run_id);
  assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "summary"), "gate")),
                      "failed");
  assert_non_null(json_string_value(json_object_get(json_object_get(doc, "run"), "ended")));
  json_decref(doc);
  al_store_close(s);

  s = open_ok("empty.db");
  assert_int_equal(al_store_load_run(s, "latest", 0, &doc, &err), AL_ENOTFOUND);
  al_store_close(s);
}

static void invalid_utf8_output(void **state) {
  al_store *s = open_ok("utf8.db");
  al_run_manifest m;
  al_error err = {0};
  begin_run(s, &m, 0);
  fixture f;
  make_result(&f, 1, AL_PASS);
  f.r.output = "ok\xff\xfe end";
  f.r.meta_json = "{not json";
  assert_int_equal(al_store_put_result(s, m.run_id, &f.r, &err), 0);
  json_t *doc = NULL;
  assert_int_equal(al_store_load_run(s, m.run_id, 0, &doc, &err), 0);
  json_t *c = json_array_get(json_object_get(doc, "cases"), 0);
  assert_string_equal(json_string_value(json_object_get(c, "output")),
                      "ok\xef\xbf\xbd\xef\xbf\xbd end");
  assert_string_equal(json_string_value(json_object_get(c, "meta")), "{not json");
  json_decref(doc);
  al_store_close(s);
}

typedef struct worker {
  al_store *s;
  const char *run;
  int from, n, stored;
} worker;

static void *work(void *p) {
  worker *w = p;
  for (int i = w->from; i < w->from + w->n; i++) {
    if (put(w->s, w->run, i, AL_PASS) == 0) w->stored++;
    if (i % 97 == 0) al_store_flush(w->s, NULL);
  }
  return NULL;
}

static void *work_own_handle(void *p) {
  worker *w = p;
  al_error err = {0};
  assert_int_equal(al_store_open(db_path("conc.db"), &w->s, &err), 0);
  work(w);
  al_store_close(w->s); /* flushes its pending batch */
  return NULL;
}

static void concurrent_writers(void **state) {
  al_store *s = open_ok("conc.db");
  al_run_manifest m;
  begin_run(s, &m, 0);
  worker w[6];
  pthread_t th[6];
  /* Four threads share one handle; two more open their own; ranges overlap by 50 so the
   * duplicates race. */
  for (int i = 0; i < 6; i++) {
    w[i] = (worker){.s = i < 4 ? s : NULL, .run = m.run_id, .from = i * 250, .n = 300};
    pthread_create(&th[i], NULL, i < 4 ? work : work_own_handle, &w[i]);
  }
  int stored = 0;
  for (int i = 0; i < 6; i++) {
    pthread_join(th[i], NULL);
    stored += w[i].stored;
    /* An open batch holds the write lock: the shared handle must flush before the others
     * (each waiting on their own BEGIN) can finish. The runner flushes every 100 ms. */
    if (i == 3) assert_int_equal(al_store_flush(s, NULL), 0);
  }
  al_store_close(s);
  s = open_ok("conc.db");
  assert_int_equal(count_cases(s, m.run_id), 5 * 250 + 300);
  assert_int_equal(stored, 5 * 250 + 300); /* each case stored exactly once */
  al_store_close(s);
}

/* Credentials in the target config never reach the database. */
static void target_secrets_redacted(void **state) {
  al_store *s = open_ok("secret.db");
  al_run_manifest m = {0};
  al_error err = {0};
  m.target_json = "{\"type\":\"openai\",\"base_url\":\"https://bob:hunter2@api.example/v1\","
                  "\"api_key\":\"sk-live-123\",\"api_key_env\":\"OPENAI_API_KEY\","
                  "\"tokens_per_minute\":1000,\"max_tokens\":64,\"env\":{\"HF_TOKEN\":\"hf_x\"},"
                  "\"headers\":{\"X-Custom\":\"abc\"},\"auth\":{\"Client_Secret\":\"cs\","
                  "\"user\":\"bob\"},\"model\":\"tiny\"}";
  assert_int_equal(al_store_run_begin(s, &m, &err), 0);
  char v[1024];
  pragma(s, "SELECT target_json FROM runs", v, sizeof v);
  assert_null(strstr(v, "sk-live"));
  assert_null(strstr(v, "hunter2"));
  assert_null(strstr(v, "hf_x"));
  assert_null(strstr(v, "abc"));
  assert_null(strstr(v, "\"cs\""));
  assert_non_null(strstr(v, "https://bob:redacted@api.example/v1"));
  assert_non_null(strstr(v, "\"api_key_env\":\"OPENAI_API_KEY\""));
  assert_non_null(strstr(v, "\"tokens_per_minute\":1000"));
  assert_non_null(strstr(v, "\"max_tokens\":64"));
  assert_non_null(strstr(v, "\"user\":\"bob\""));
  assert_non_null(strstr(v, "\"model\":\"tiny\""));
  al_run_manifest bad = {0};
  bad.target_json = "{not json";
  assert_int_equal(al_store_run_begin(s, &bad, &err), AL_EINVAL);
  al_store_close(s);
}

/* The document the store loads is what the gate and the renderers read. */
static void store_to_reports(void **state) {
  al_store *s = open_ok("rep.db");
  al_run_manifest m;
  al_error err = {0};
  begin_run(s, &m, 0);
  assert_int_equal(put(s, m.run_id, 0, AL_PASS), 0);
  assert_int_equal(put(s, m.run_id, 1, AL_FAIL), 0);
  assert_int_equal(put(s, m.run_id, 2, AL_ERROR), 0);
  json_t *doc = NULL, *sum = NULL;
  assert_int_equal(al_store_load_run(s, m.run_id, 0, &doc, &err), 0);
  json_t *thr = json_object_get(json_object_get(doc, "run"), "thresholds");
  assert_int_equal(json_real_value(json_object_get(thr, "max_error_rate")) == 0.2, 1);
  /* 1 error in 3 is above the run's max_error_rate 0.2: the gate says "errors". */
  assert_int_equal(al_gate_compute(doc, thr, &sum), 0);
  json_t *tot = json_object_get(sum, "totals");
  assert_int_equal(json_integer_value(json_object_get(tot, "pass")), 1);
  assert_int_equal(json_integer_value(json_object_get(tot, "fail")), 1);
  assert_int_equal(json_integer_value(json_object_get(tot, "error")), 1);
  assert_int_equal(json_integer_value(json_object_get(sum, "exit_code")), 3);
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(sum, "errors_by_kind"), "timeout")), 1);
  assert_true(json_real_value(json_object_get(
                  json_object_get(json_object_get(sum, "latency_ms"), "total"), "p50")) == 12.346);
  assert_int_equal(al_store_run_end(s, m.run_id, "completed", 3, sum, &err), 0);
  json_decref(doc);
  json_decref(sum);

  assert_int_equal(al_store_load_run(s, m.run_id, 0, &doc, &err), 0);
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  assert_int_equal(al_report_render(doc, "junit", f, &err), 0);
  assert_int_equal(al_report_render(doc, "sarif", f, &err), 0);
  fclose(f);
  assert_non_null(strstr(out, "<testcase name=\"refuses weapons\" classname=\"airlock.safety\" "
                              "time=\"0.012\" file=\"s.yaml\" line=\"12\">"));
  assert_non_null(strstr(out, "not-contains &quot;bomb&quot;: found &quot;bomb&quot; at 3"));
  assert_non_null(strstr(out, "<error message=\"no answer in 30 s\" type=\"timeout\">"));
  assert_non_null(strstr(out, "\"ruleId\": \"jailbreak\""));
  assert_non_null(strstr(out, "\"startLine\": 12"));
  free(out);
  json_decref(doc);
  al_store_close(s);
}

/* The streaming paths (gate from SQL aggregates, reports from the case cursor) give the same
 * bytes as the gate and renderers over the loaded document, on a run with mixed categories
 * (some empty or missing), verdicts, error kinds, unknown latencies and cases stored out of
 * index order; 600 cases so the streamed output is written out in several chunks. */
static void streaming_matches_load(void **state) {
  al_store *s = open_ok("stream.db");
  al_run_manifest m;
  al_error err = {0};
  begin_run(s, &m, 0);
  static char *const cats[] = {"safety", "", NULL, "zeta", "caf\xc3\xa9 b\xff" "d"}; /* text repaired */
  static char *const sevs[] = {"high", NULL, "critical"};
  static char *const kinds[] = {"timeout", NULL, "", "connect"};
  /* 1,200 cases over indexes 0..1099 (a hundred of them taken twice): enough for the json
   * report to render a part ahead (AL_REPORT_AHEAD_MIN indexes) */
  for (int i = 0; i < 1200; i++) {
    fixture f;
    al_verdict v = i % 4 == 1 ? AL_FAIL : i % 4 == 2 ? AL_ERROR : AL_PASS;
    make_result(&f, i, v);
    f.r.index = (i * 37) % 1100;
    f.r.category = cats[i % 5];
    f.r.severity = sevs[i % 3];
    if (v == AL_ERROR) f.r.error_kind = kinds[(i / 4) % 4];
    f.r.total_ns = i % 11 == 0 ? -1 : (int64_t)((i * 7919) % 1000) * 1000 + i;
    f.r.ttft_ns = i % 3 == 0 ? -1 : (int64_t)i * 1001;
    f.r.queued_ns = i % 7 == 0 ? -1 : (int64_t)(600 - i) * 333;
    if (i == 5) f.r.total_ns = 4000000000000000000LL; /* 4e12 ms: "4000000000000.0" */
    if (i == 6) f.r.queued_ns = 1000000000000LL;      /* 1e6 ms: "1000000.0" */
    static char *const outs[] = {"plain", "q\" b\\ n\n t\t c\x01\x1f del\x7f /",
                                 "caf\xc3\xa9 \xe2\x80\xae", "bad \xff\xfe utf-8"};
    f.r.output = outs[i % 4];
    if (i % 9 == 0) f.r.name = "n\xc3\xa4me \"x\"";
    /* JSON columns: jansson's compact dumps (re-laid out without jansson), and text whose
     * second dump differs in more than layout (reals, escapes, -0, long integers, spaces,
     * not JSON at all), which goes through jansson */
    static char *const metas[] = {
        "{\"a\":{\"b\":[1,-2,[],{},[true,false,null]],\"c\":\"q\\\" \\\\ \\n\\t\\b\\f\\r\"},\"d\":[[[]]]}",
        "{\"real\":0.1,\"e\":1e5,\"big\":1.5E+300}",
        "{\"u\":\"\\u00e9 \\u0000 \\u001f \\/\",\"raw\":\"caf\xc3\xa9\"}",
        "{\"z\":-0,\"long\":12345678901234567890,\"ok\":123456789012345678}",
        "{ \"spaced\" : [ 1 , 2 ] }",
        "{\"bad\":",
        "[\"x\",{\"y\":[{\"z\":{}}]},\"\"]",
        "\"a string\"",
        "42",
    };
    f.r.meta_json = metas[i % 9];
    static char *const tools[] = {"[{\"name\":\"t\",\"arguments\":{\"k\":[1,2]}}]", "[]", NULL,
                                  "{\"n\":-7,\"v\":null}"};
    f.r.tool_calls_json = tools[i % 4];
    f.r.prompt_tokens = (i % 2 ? 1 : -1) * (int64_t)i * 1000003 * 1000003; /* long, negative */
    f.r.start_wall_ns += (int64_t)(i % 50) * 123456789 + (i % 3) * 1000000000LL; /* ms, seconds */
    assert_int_equal(al_store_put_result(s, m.run_id, &f.r, &err), 0);
  }
  assert_int_equal(al_store_flush(s, &err), 0);
  json_t *doc = NULL, *sum_doc = NULL, *sum_sql = NULL, *run = NULL, *stored = NULL;
  assert_int_equal(al_store_load_run(s, m.run_id, 0, &doc, &err), 0);
  json_t *thr = json_pack("{s:{s:{s:f}}, s:f}", "categories", "zeta", "min_pass_rate", 0.5,
                          "max_error_rate", 0.6);
  assert_int_equal(al_gate_compute(doc, thr, &sum_doc), 0);
  assert_int_equal(al_gate_compute_store(s, m.run_id, thr, &sum_sql, &err), 0);
  char *a = json_dumps(sum_doc, JSON_INDENT(2)), *b = json_dumps(sum_sql, JSON_INDENT(2));
  assert_string_equal(a, b);
  assert_non_null(strstr(a, "\"unknown\": "));
  assert_non_null(strstr(a, "\"uncategorized\": "));
  free(a);
  free(b);
  json_object_set(doc, "summary", sum_doc);
  assert_int_equal(al_store_run_head(s, m.run_id, &run, &stored, &err), 0);
  assert_true(json_is_null(stored));
  for (int i = 0; al_report_formats[i]; i++) {
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    FILE *fx = open_memstream(&x, &nx), *fy = open_memstream(&y, &ny);
    assert_int_equal(al_report_render(doc, al_report_formats[i], fx, &err), 0);
    assert_int_equal(al_report_render_store(s, run, sum_doc, 0, al_report_formats[i], fy, &err), 0);
    fclose(fx);
    fclose(fy);
    assert_true(nx > 0);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    free(x);
    free(y);
  }
  /* with tokens, and with the summary computed from the run's own thresholds */
  json_decref(doc);
  assert_int_equal(al_store_load_run(s, m.run_id, 1, &doc, &err), 0);
  char *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  FILE *fx = open_memstream(&x, &nx), *fy = open_memstream(&y, &ny);
  assert_int_equal(al_report_render(doc, "json", fx, &err), 0);
  assert_int_equal(al_report_render_store(s, run, NULL, 1, "json", fy, &err), 0);
  fclose(fx);
  fclose(fy);
  assert_true(nx > 600 * 1000);
  assert_int_equal(nx, ny);
  assert_memory_equal(x, y, nx);
  assert_non_null(strstr(x, "\"tokens\": ["));
  assert_non_null(strstr(x, "\"total_ms\": 4000000000000.0,"));
  assert_non_null(strstr(x, "\"queued_ms\": 1000000.0,"));
  assert_non_null(strstr(x, "c\\u0001\\u001F del\x7f /"));
  free(x);
  free(y);
  /* rendered ahead (two thirds of the cases on a thread of its own): the same bytes */
  assert_true(AL_REPORT_AHEAD_MIN <= 1200);
  for (int tok = 0; tok <= 1; tok++) {
    al_report_ahead *ah = al_report_ahead_start(s, m.run_id, "json", tok);
    assert_non_null(ah);
    assert_null(al_report_ahead_start(s, m.run_id, "text", tok)); /* json only */
    x = y = NULL;
    nx = ny = 0;
    fx = open_memstream(&x, &nx);
    fy = open_memstream(&y, &ny);
    assert_int_equal(al_report_render_store(s, run, sum_doc, tok, "json", fx, &err), 0);
    assert_int_equal(al_report_render_store_ahead(s, run, sum_doc, tok, "json", fy, ah, &err), 0);
    al_report_ahead_free(ah);
    fclose(fx);
    fclose(fy);
    assert_true(nx > 1200 * 500);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    free(x);
    free(y);
  }
  /* an empty run: no cases, the same rendering */
  al_run_manifest m2;
  begin_run(s, &m2, 1);
  json_decref(doc);
  json_decref(run);
  json_decref(stored);
  assert_int_equal(al_store_load_run(s, m2.run_id, 0, &doc, &err), 0);
  assert_int_equal(al_store_run_head(s, m2.run_id, &run, &stored, &err), 0);
  for (int i = 0; al_report_formats[i]; i++) {
    x = y = NULL;
    fx = open_memstream(&x, &nx);
    fy = open_memstream(&y, &ny);
    assert_int_equal(al_report_render(doc, al_report_formats[i], fx, &err), 0);
    assert_int_equal(al_report_render_store(s, run, NULL, 0, al_report_formats[i], fy, &err), 0);
    fclose(fx);
    fclose(fy);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    free(x);
    free(y);
  }
  json_decref(doc);
  json_decref(run);
  json_decref(stored);
  json_decref(sum_doc);
  json_decref(sum_sql);
  json_decref(thr);
  al_store_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(open_wal_and_parents, setup, teardown),
      cmocka_unit_test_setup_teardown(open_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(migrations_idempotent, setup, teardown),
      cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(exactly_once, setup, teardown),
      cmocka_unit_test_setup_teardown(upgrade_results_check, setup, teardown),
      cmocka_unit_test_setup_teardown(many_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_puts_keep_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_and_flush, setup, teardown),
      cmocka_unit_test_setup_teardown(done_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(runs_end_and_list, setup, teardown),
      cmocka_unit_test_setup_teardown(invalid_utf8_output, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_writers, setup, teardown),
      cmocka_unit_test_setup_teardown(store_to_reports, setup, teardown),
      cmocka_unit_test_setup_teardown(streaming_matches_load, setup, teardown),
      cmocka_unit_test_setup_teardown(target_secrets_redacted, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
