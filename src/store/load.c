/* Reading a run back: the ids of the cases already stored (for --resume) and the whole run
 * as one JSON document, the input of every report (shape in docs/design/store.md).
 *
 * Cases come ordered by their index in the suite; attempts, assertions and tokens of each
 * case by their sequence. Latencies are turned from nanoseconds into milliseconds here, so
 * reports never see raw clock values; -1 ("unknown") becomes null.
 */
#include <string.h>

#include "airlock/util.h"
#include "store/store_int.h"

enum { Q_CASES, Q_ATTEMPTS, Q_ASSERTS, Q_TOKENS, Q_COUNT };

static const char *const query_sql[Q_COUNT] = {
    [Q_CASES] = "SELECT c.id, c.case_id, c.idx, c.name, c.category, c.severity, c.tags_json,"
                " c.meta_json, x.verdict, x.error_kind, x.error_msg, x.output, x.finish_reason,"
                " x.model, c.request_json, x.tool_calls_json, x.queued_ns, x.ttfb_ns,"
                " x.ttft_ns, x.total_ns, x.prompt_tokens, x.completion_tokens, x.start_ns"
                " FROM cases c JOIN results x ON x.case_ref = c.id WHERE c.run_id = ?"
                " ORDER BY c.idx, c.case_id",
    [Q_ATTEMPTS] = "SELECT n, http_status, error_kind, error_msg, start_ns, ttfb_ns, total_ns"
                   " FROM attempts WHERE case_ref = ? ORDER BY n",
    [Q_ASSERTS] = "SELECT type, label, pass, score, message FROM assertions WHERE case_ref = ?"
                  " ORDER BY seq",
    [Q_TOKENS] = "SELECT seq, t_ns, text, token_id, logprob, entropy, top_json FROM tokens"
                 " WHERE case_ref = ? ORDER BY seq",
};

static json_t *col_real(sqlite3_stmt *st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return json_null();
  return json_real(sqlite3_column_double(st, i));
}

/* Fill arr with one object per row of q (bound to ref); keys name the columns in order.
 * kinds: s string, j JSON text, m ns->ms, i integer, r real, b boolean, t ISO time. */
static int rows(al_store *s, sqlite3_stmt *q, sqlite3_int64 ref, const char *const *keys,
                const char *kinds, json_t *arr, al_error *err) {
  int step, rc = 0;
  sqlite3_bind_int64(q, 1, ref);
  while ((step = sqlite3_step(q)) == SQLITE_ROW) {
    json_t *o = json_object();
    if (!o || json_array_append_new(arr, o)) {
      rc = al_error_set(err, AL_ENOMEM, "out of memory");
      goto out;
    }
    for (int i = 0; keys[i]; i++) {
      json_t *v = NULL;
      switch (kinds[i]) {
      case 's': v = al_store__col_str(q, i); break;
      case 'j': v = al_store__col_json(q, i); break;
      case 'm': v = al_store__col_ms(q, i); break;
      case 'i': v = al_store__col_int(q, i); break;
      case 'r': v = col_real(q, i); break;
      case 'b': v = json_boolean(sqlite3_column_int(q, i)); break;
      case 't': v = al_store__col_iso(q, i); break;
      }
      if (json_object_set_new(o, keys[i], v)) {
        rc = al_error_set(err, AL_ENOMEM, "out of memory");
        goto out;
      }
    }
  }
  if (step != SQLITE_DONE) rc = al_store__sql_error(s, err, AL_EIO, "reading a run");
out:
  sqlite3_reset(q);
  return rc;
}

static const char *const attempt_keys[] = {"n",     "http_status", "error_kind", "error_msg",
                                           "start", "ttfb_ms",     "total_ms",   NULL};
static const char *const assert_keys[] = {"type", "label", "pass", "score", "message", NULL};
static const char *const token_keys[] = {"seq",     "t_ms",    "text", "id",
                                         "logprob", "entropy", "top",  NULL};
static const char *const case_keys[] = {"",
                                        "case_id",
                                        "index",
                                        "name",
                                        "category",
                                        "severity",
                                        "tags",
                                        "meta",
                                        "verdict",
                                        "error_kind",
                                        "error_msg",
                                        "output",
                                        "finish_reason",
                                        "model",
                                        "request",
                                        "tool_calls",
                                        "queued_ms",
                                        "ttfb_ms",
                                        "ttft_ms",
                                        "total_ms",
                                        "prompt_tokens",
                                        "completion_tokens",
                                        "start",
                                        NULL};
static const char case_kinds[] = "-sisssjjssssssjjmmmmiit";

static int load_cases(al_store *s, sqlite3_stmt **q, const char *run_id, int with_tokens,
                      json_t *cases, al_error *err) {
  int step, rc = 0;
  sqlite3_stmt *c = q[Q_CASES];
  sqlite3_bind_text(c, 1, run_id, -1, SQLITE_TRANSIENT);
  while ((step = sqlite3_step(c)) == SQLITE_ROW) {
    sqlite3_int64 ref = sqlite3_column_int64(c, 0);
    json_t *o = json_object();
    if (!o || json_array_append_new(cases, o)) goto nomem;
    for (int i = 1; case_keys[i]; i++) {
      json_t *v = NULL;
      switch (case_kinds[i]) {
      case 's': v = al_store__col_str(c, i); break;
      case 'j': v = al_store__col_json(c, i); break;
      case 'm': v = al_store__col_ms(c, i); break;
      case 'i': v = al_store__col_int(c, i); break;
      case 't': v = al_store__col_iso(c, i); break;
      }
      if (json_object_set_new(o, case_keys[i], v)) goto nomem;
    }
    json_t *att = json_array(), *as = json_array(), *tok = with_tokens ? json_array() : NULL;
    if (json_object_set_new(o, "attempts", att) || json_object_set_new(o, "asserts", as) ||
        (with_tokens && json_object_set_new(o, "tokens", tok)))
      goto nomem;
    if ((rc = rows(s, q[Q_ATTEMPTS], ref, attempt_keys, "iisstmm", att, err)) < 0 ||
        (rc = rows(s, q[Q_ASSERTS], ref, assert_keys, "ssbrs", as, err)) < 0 ||
        (with_tokens && (rc = rows(s, q[Q_TOKENS], ref, token_keys, "imsirrj", tok, err)) < 0))
      goto out;
  }
  if (step != SQLITE_DONE) rc = al_store__sql_error(s, err, AL_EIO, "reading a run");
  goto out;
nomem:
  rc = al_error_set(err, AL_ENOMEM, "out of memory");
out:
  sqlite3_reset(c);
  return rc;
}

int al_store_load_run(al_store *s, const char *run_id, int with_tokens, json_t **out,
                      al_error *err) {
  int rc = 0;
  sqlite3_stmt *q[Q_COUNT] = {0};
  json_t *doc = NULL, *run = NULL, *summary = NULL, *cases = NULL;
  if (!s || !run_id || !out)
    return al_error_set(err, AL_EINVAL, "al_store_load_run: bad arguments");
  *out = NULL;
  pthread_mutex_lock(&s->mu);
  if ((rc = al_store__manifest_locked(s, run_id, &run, &summary, err)) < 0) goto out;
  for (int i = 0; i < Q_COUNT; i++) {
    if (sqlite3_prepare_v2(s->db, query_sql[i], -1, &q[i], NULL) != SQLITE_OK) {
      rc = al_store__sql_error(s, err, AL_EIO, "reading a run");
      goto out;
    }
  }
  if (!(doc = json_object()) || !(cases = json_array())) goto nomem;
  if ((rc = load_cases(s, q, json_string_value(json_object_get(run, "id")), with_tokens, cases,
                       err)) < 0)
    goto out;
  if (json_object_set_new(doc, "run", run)) {
    run = NULL;
    goto nomem;
  }
  run = NULL;
  if (json_object_set_new(doc, "cases", cases)) {
    cases = NULL;
    goto nomem;
  }
  cases = NULL;
  if (json_object_set_new(doc, "summary", summary)) {
    summary = NULL;
    goto nomem;
  }
  summary = NULL;
  *out = doc;
  doc = NULL;
  goto out;
nomem:
  rc = al_error_set(err, AL_ENOMEM, "out of memory");
out:
  for (int i = 0; i < Q_COUNT; i++)
    sqlite3_finalize(q[i]);
  pthread_mutex_unlock(&s->mu);
  json_decref(doc);
  json_decref(run);
  json_decref(summary);
  json_decref(cases);
  return rc;
}

int al_store_run_done_ids(al_store *s, const char *run_id, int (*cb)(const char *case_id, void *ud),
                          void *ud) {
  int rc = 0, step;
  sqlite3_stmt *st = NULL;
  char(*ids)[65] = NULL;
  size_t n = 0, cap = 0;
  if (!s || !run_id || !cb) return AL_EINVAL;
  pthread_mutex_lock(&s->mu);
  if (sqlite3_prepare_v2(s->db,
                         "SELECT c.case_id FROM cases c JOIN results x ON x.case_ref = c.id"
                         " WHERE c.run_id = ? ORDER BY c.idx",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = AL_EIO;
    goto unlock;
  }
  sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 256;
      void *p = al_realloc(ids, ncap * sizeof *ids);
      if (!p) {
        rc = AL_ENOMEM;
        goto unlock;
      }
      ids = p;
      cap = ncap;
    }
    const char *id = (const char *)sqlite3_column_text(st, 0);
    snprintf(ids[n++], sizeof ids[0], "%s", id ? id : "");
  }
  if (step != SQLITE_DONE) rc = AL_EIO;
unlock:
  sqlite3_finalize(st);
  pthread_mutex_unlock(&s->mu);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = cb(ids[i], ud);
  al_free(ids);
  return rc;
}
