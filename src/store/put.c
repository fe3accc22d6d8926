/* Storing one case result: the case row, its result, attempts, assertions and tokens.
 *
 * The insert of the case row is the exactly-once point: cases has UNIQUE (run_id, case_id)
 * and the insert is ON CONFLICT DO NOTHING, so a case already stored for the run (committed
 * or still pending in this batch) changes no row and the call returns 1. A put that fails
 * is undone alone and the rest of the batch stays: a bad verdict or case id is refused
 * before any write, an unknown run fails the first insert (which then changed nothing),
 * and a failure after the case row (a child row refused) deletes that row again, its
 * children with it (ON DELETE CASCADE). This replaced a savepoint per put, which cost a
 * quarter of a put's instructions (store.c). An error that makes SQLite roll back the
 * whole transaction (disk full, I/O) loses the batch: the caller stops the run and a
 * resumed run stores those cases again.
 */
#include <math.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "store/store_int.h"

static const char *verdict_text(al_verdict v) {
  switch (v) {
  case AL_PASS: return "pass";
  case AL_FAIL: return "fail";
  case AL_ERROR: return "error";
  }
  return NULL;
}

static void bind_ns(sqlite3_stmt *st, int i, int64_t ns) {
  if (ns < 0)
    sqlite3_bind_null(st, i);
  else
    sqlite3_bind_int64(st, i, ns);
}

static void bind_count(sqlite3_stmt *st, int i, int n) {
  if (n < 0)
    sqlite3_bind_null(st, i);
  else
    sqlite3_bind_int(st, i, n);
}

static void bind_real(sqlite3_stmt *st, int i, int has, double v) {
  if (!has || isnan(v) || isinf(v))
    sqlite3_bind_null(st, i);
  else
    sqlite3_bind_double(st, i, v);
}

/* The top alternatives of a token as JSON text (caller frees), or NULL when none. */
static int top_json(const al_token *t, char **out) {
  json_t *arr = NULL;
  int rc = 0;
  *out = NULL;
  if (t->n_top <= 0 || !t->top) return 0;
  if (!(arr = json_array())) return AL_ENOMEM;
  for (int i = 0; i < t->n_top; i++) {
    const al_top_logprob *p = &t->top[i];
    json_t *o = json_object();
    if (!o || json_array_append_new(arr, o)) goto nomem;
    json_t *txt = p->text ? json_string(p->text) : json_null();
    if (!txt && p->text) txt = json_null(); /* not UTF-8: the token id still says it */
    json_object_set_new(o, "text", txt);
    json_object_set_new(o, "id", p->id >= 0 ? json_integer(p->id) : json_null());
    json_object_set_new(o, "logprob", isfinite(p->logprob) ? json_real(p->logprob) : json_null());
  }
  if (!(*out = json_dumps(arr, JSON_COMPACT))) goto nomem;
  goto out;
nomem:
  rc = AL_ENOMEM;
out:
  json_decref(arr);
  return rc;
}

/* Assertion and token rows go in by INSERTs of up to AL_STORE_ROWS_PER_INSERT rows: a
 * statement's own cost (step, reset, bindings cleared) is most of what a narrow row costs. */
enum { MULTI_ASSERT, MULTI_TOKEN };
static const struct {
  const char *head;
  int cols;
} multi_kinds[2] = {
    [MULTI_ASSERT] = {"INSERT INTO assertions (case_ref, seq, type, label, pass, score, message) VALUES ", 7},
    [MULTI_TOKEN] = {"INSERT INTO tokens (case_ref, seq, t_ns, text, token_id, logprob, entropy, top_json)"
                     " VALUES ",
                     8},
};

/* The statement inserting `rows` rows of `kind` (prepared once, kept by the store). */
static sqlite3_stmt *multi_stmt(al_store *s, int kind, int rows, al_error *err) {
  sqlite3_stmt **slot = &s->multi[kind][rows];
  if (*slot) return *slot;
  al_buf q;
  al_buf_init(&q, 1u << 16);
  al_buf_puts(&q, multi_kinds[kind].head);
  for (int r = 0; r < rows; r++) {
    al_buf_puts(&q, r ? ",(" : "(");
    for (int c = 0; c < multi_kinds[kind].cols; c++) al_buf_puts(&q, c ? ",?" : "?");
    al_buf_puts(&q, ")");
  }
  if (!q.data || sqlite3_prepare_v3(s->db, q.data, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK) {
    if (q.data) al_store__sql_error(s, err, AL_EIO, "preparing a statement");
    else al_error_set(err, AL_ENOMEM, "out of memory");
    *slot = NULL;
  }
  al_buf_cleanup(&q);
  return *slot;
}

static int put_children(al_store *s, sqlite3_int64 ref, const al_case_result *r, al_error *err) {
  int rc = 0;
  char *tops[AL_STORE_ROWS_PER_INSERT] = {0};
  sqlite3_stmt *st = s->st[ST_INS_ATTEMPT];
  for (int i = 0; i < r->n_attempts && r->attempts; i++) {
    const al_attempt *a = &r->attempts[i];
    sqlite3_bind_int64(st, 1, ref);
    sqlite3_bind_int(st, 2, a->n > 0 ? a->n : i + 1);
    sqlite3_bind_int(st, 3, a->http_status);
    al_store__bind_text(st, 4, a->error_kind);
    al_store__bind_text(st, 5, a->error_msg);
    bind_ns(st, 6, a->start_wall_ns);
    bind_ns(st, 7, a->ttfb_ns);
    bind_ns(st, 8, a->total_ns);
    if ((rc = al_store__step_done(s, st, err, "storing an attempt")) < 0) return rc;
  }
  int n = r->asserts ? r->n_asserts : 0;
  for (int i0 = 0; i0 < n; i0 += AL_STORE_ROWS_PER_INSERT) {
    int rows = n - i0 < AL_STORE_ROWS_PER_INSERT ? n - i0 : AL_STORE_ROWS_PER_INSERT;
    if (!(st = multi_stmt(s, MULTI_ASSERT, rows, err))) return AL_EIO;
    for (int k = 0; k < rows; k++) {
      const al_assert_result *a = &r->asserts[i0 + k];
      int p = k * 7;
      sqlite3_bind_int64(st, p + 1, ref);
      sqlite3_bind_int(st, p + 2, i0 + k);
      al_store__bind_text(st, p + 3, a->type);
      al_store__bind_text(st, p + 4, a->label);
      sqlite3_bind_int(st, p + 5, a->pass ? 1 : 0);
      bind_real(st, p + 6, 1, a->score);
      al_store__bind_text(st, p + 7, a->message);
    }
    if ((rc = al_store__step_done(s, st, err, "storing an assertion")) < 0) return rc;
  }
  size_t nt = r->tokens ? r->n_tokens : 0;
  for (size_t i0 = 0; i0 < nt; i0 += AL_STORE_ROWS_PER_INSERT) {
    int rows = nt - i0 < AL_STORE_ROWS_PER_INSERT ? (int)(nt - i0) : AL_STORE_ROWS_PER_INSERT;
    if (!(st = multi_stmt(s, MULTI_TOKEN, rows, err))) return AL_EIO;
    for (int k = 0; k < rows && !rc; k++) {
      const al_token *t = &r->tokens[i0 + (size_t)k];
      int p = k * 8;
      if (top_json(t, &tops[k]) < 0) rc = al_error_set(err, AL_ENOMEM, "out of memory");
      sqlite3_bind_int64(st, p + 1, ref);
      sqlite3_bind_int64(st, p + 2, (sqlite3_int64)(i0 + (size_t)k));
      bind_ns(st, p + 3, t->t_ns);
      al_store__bind_text(st, p + 4, t->text);
      if (t->id >= 0) sqlite3_bind_int(st, p + 5, t->id);
      bind_real(st, p + 6, t->has_logprob, t->logprob);
      bind_real(st, p + 7, 1, t->entropy);
      al_store__bind_text(st, p + 8, tops[k]);
    }
    if (rc) sqlite3_clear_bindings(st);
    else rc = al_store__step_done(s, st, err, "storing a token");
    for (int k = 0; k < rows; k++) {
      free(tops[k]);
      tops[k] = NULL;
    }
    if (rc < 0) return rc;
  }
  return 0;
}

static int put_locked(al_store *s, const char *run_id, const al_case_result *r, sqlite3_int64 *ref_out,
                      al_error *err) {
  int rc;
  sqlite3_stmt *st = s->st[ST_INS_CASE];
  sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, r->case_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, r->index);
  al_store__bind_text(st, 4, r->name);
  al_store__bind_text(st, 5, r->category);
  al_store__bind_text(st, 6, r->severity);
  al_store__bind_text(st, 7, r->tags_json);
  al_store__bind_text(st, 8, r->meta_json);
  al_store__bind_text(st, 9, r->request_json);
  if ((rc = al_store__step_done(s, st, err, "storing a case")) < 0) {
    if (rc == AL_EINVAL) /* the only constraint left is the run's foreign key */
      rc = al_error_at(err, AL_ENOTFOUND, s->path, 0, 0, "no run '%s' to store case %s into",
                       run_id, r->case_id);
    return rc;
  }
  if (sqlite3_changes(s->db) == 0) return 1;
  sqlite3_int64 ref = sqlite3_last_insert_rowid(s->db);
  *ref_out = ref;

  st = s->st[ST_INS_RESULT];
  sqlite3_bind_int64(st, 1, ref);
  sqlite3_bind_text(st, 2, verdict_text(r->verdict), -1, SQLITE_STATIC);
  al_store__bind_text(st, 3, r->error_kind);
  al_store__bind_text(st, 4, r->error_msg);
  al_store__bind_text(st, 5, r->output);
  al_store__bind_text(st, 6, r->tool_calls_json);
  al_store__bind_text(st, 7, r->finish_reason);
  al_store__bind_text(st, 8, r->model);
  bind_ns(st, 9, r->start_wall_ns);
  bind_ns(st, 10, r->queued_ns);
  bind_ns(st, 11, r->ttfb_ns);
  bind_ns(st, 12, r->ttft_ns);
  bind_ns(st, 13, r->total_ns);
  bind_count(st, 14, r->prompt_tokens);
  bind_count(st, 15, r->completion_tokens);
  if ((rc = al_store__step_done(s, st, err, "storing a result")) < 0) return rc;
  return put_children(s, ref, r, err);
}

int al_store_put_result(al_store *s, const char *run_id, const al_case_result *r, al_error *err) {
  int rc = 0;
  if (!s || !run_id || !r)
    return al_error_set(err, AL_EINVAL, "al_store_put_result: bad arguments");
  if (!r->case_id[0] || strnlen(r->case_id, sizeof r->case_id) == sizeof r->case_id)
    return al_error_set(err, AL_EINVAL, "result without a case id");
  if (!verdict_text(r->verdict))
    return al_error_set(err, AL_EINVAL, "case %s: verdict %d is not pass, fail or error",
                        r->case_id, (int)r->verdict);
  pthread_mutex_lock(&s->mu);
  if (!s->in_tx) {
    if ((rc = al_store__step_done(s, s->st[ST_BEGIN], err, "begin")) < 0) goto out;
    s->in_tx = 1;
  }
  sqlite3_int64 ref = 0;
  rc = put_locked(s, run_id, r, &ref, err);
  if (rc < 0) {
    if (sqlite3_get_autocommit(s->db)) { /* SQLite rolled the whole batch back */
      s->in_tx = 0;
      s->pending = 0;
    } else if (ref) {
      sqlite3_stmt *del = s->st[ST_DEL_CASE];
      sqlite3_bind_int64(del, 1, ref);
      al_store__step_done(s, del, NULL, "undoing a case");
    }
    goto out;
  }
  if (rc == 0 && ++s->pending >= AL_STORE_BATCH) rc = al_store__flush_locked(s, err);
out:
  pthread_mutex_unlock(&s->mu);
  return rc;
}
