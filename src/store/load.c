/* Reading a run back: the ids of the cases already stored (for --resume), the whole run as
 * one JSON document (shape in docs/design/store.md), the same cases one at a time through a
 * cursor (reports stream from it, so memory does not grow with the run), and the aggregates
 * the gate needs (counts by category, severity, verdict and error kind; sorted latencies)
 * straight from SQL.
 *
 * Cases come ordered by their index in the suite; attempts, assertions and tokens of each
 * case by their sequence. Latencies are turned from nanoseconds into milliseconds here, so
 * reports never see raw clock values; -1 ("unknown") becomes null.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "report/escape.h"
#include "store/store_int.h"

enum { Q_CASES, Q_ATTEMPTS, Q_ASSERTS, Q_TOKENS, Q_COUNT };

#define CASE_COLS                                                                                  \
  "SELECT c.id, c.case_id, c.idx, c.name, c.category, c.severity, c.tags_json,"                    \
  " c.meta_json, x.verdict, x.error_kind, x.error_msg, x.output, x.finish_reason,"                 \
  " x.model, c.request_json, x.tool_calls_json, x.queued_ns, x.ttfb_ns,"                          \
  " x.ttft_ns, x.total_ns, x.prompt_tokens, x.completion_tokens, x.start_ns,"                     \
  " json_valid(c.tags_json), json_valid(c.meta_json), json_valid(c.request_json),"                 \
  " json_valid(x.tool_calls_json)"                                                                 \
  " FROM cases c JOIN results x ON x.case_ref = c.id"

/* The column of CASE_COLS that tells whether JSON column i is valid JSON (SQLite's
 * json_valid), or -1. */
static int case_valid_col(int i) {
  switch (i) {
  case 6: return 23;
  case 7: return 24;
  case 14: return 25;
  case 15: return 26;
  default: return -1;
  }
}

/* The category a report groups a case under: its own, or "uncategorized". */
#define CAT_KEY "(CASE WHEN c.category IS NULL OR c.category = '' THEN 'uncategorized' ELSE c.category END)"

/* The cursor's selections (al_store_cases_open), in the order of enum al_cases_which. The
 * filters only narrow what is read: callers still check the verdict themselves. */
static const char *const cursor_sql[] = {
    CASE_COLS " WHERE c.run_id = ? ORDER BY c.idx, c.case_id",
    CASE_COLS " WHERE c.run_id = ? AND x.verdict = 'fail' ORDER BY c.idx, c.case_id",
    CASE_COLS " WHERE c.run_id = ? AND coalesce(x.verdict, '') NOT IN ('pass', 'fail') ORDER BY c.idx, c.case_id",
    CASE_COLS " WHERE c.run_id = ? ORDER BY " CAT_KEY ", c.idx, c.case_id",
    CASE_COLS " WHERE c.run_id = ? AND c.meta_json LIKE '%\"family\"%' ORDER BY c.idx, c.case_id",
};

/* al_store_cases_open_part: AL_CASES_ALL before / from an order key */
static const char *const part_sql[2] = {
    CASE_COLS " WHERE c.run_id = ?1 AND (c.idx, c.case_id) < (?2, ?3) ORDER BY c.idx, c.case_id",
    CASE_COLS " WHERE c.run_id = ?1 AND (c.idx, c.case_id) >= (?2, ?3) ORDER BY c.idx, c.case_id",
};

static const char *const query_sql[Q_COUNT] = {
    [Q_CASES] = CASE_COLS " WHERE c.run_id = ? ORDER BY c.idx, c.case_id",
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

/* One case object from the current row of a cases query (columns as in query_sql[Q_CASES]),
 * with its attempts, assertions and, when asked, tokens. */
static int case_row(al_store *s, sqlite3_stmt **q, int with_tokens, json_t **out, al_error *err) {
  int rc = 0;
  sqlite3_stmt *c = q[Q_CASES];
  sqlite3_int64 ref = sqlite3_column_int64(c, 0);
  json_t *o = json_object();
  *out = NULL;
  if (!o) goto nomem;
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
  *out = o;
  o = NULL;
  goto out;
nomem:
  rc = al_error_set(err, AL_ENOMEM, "out of memory");
out:
  json_decref(o);
  return rc;
}

static int load_cases(al_store *s, sqlite3_stmt **q, const char *run_id, int with_tokens,
                      json_t *cases, al_error *err) {
  int step, rc = 0;
  sqlite3_stmt *c = q[Q_CASES];
  sqlite3_bind_text(c, 1, run_id, -1, SQLITE_TRANSIENT);
  while ((step = sqlite3_step(c)) == SQLITE_ROW) {
    json_t *o = NULL;
    if ((rc = case_row(s, q, with_tokens, &o, err)) < 0) goto out;
    if (json_array_append_new(cases, o)) {
      rc = al_error_set(err, AL_ENOMEM, "out of memory");
      goto out;
    }
  }
  if (step != SQLITE_DONE) rc = al_store__sql_error(s, err, AL_EIO, "reading a run");
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

/* ---- the cursor -------------------------------------------------------------------- */

struct al_store_cases {
  al_store *s;
  sqlite3_stmt *q[Q_COUNT];
  int with_tokens, done;
};

void al_store_cases_close(al_store_cases *c) {
  if (!c) return;
  pthread_mutex_lock(&c->s->mu);
  for (int i = 0; i < Q_COUNT; i++)
    sqlite3_finalize(c->q[i]);
  pthread_mutex_unlock(&c->s->mu);
  al_free(c);
}

/* A cursor whose case query is `sql` (?1 the run id, ?2 and ?3 an order key when part). */
static int cases_open(al_store *s, const char *sql, const char *run_id, int with_tokens, int part,
                      long long idx, const char *case_id, al_store_cases **out, al_error *err) {
  int rc = 0;
  al_store_cases *c = NULL;
  *out = NULL;
  if (!(c = al_calloc(1, sizeof *c))) return al_error_set(err, AL_ENOMEM, "out of memory");
  c->s = s;
  c->with_tokens = with_tokens;
  pthread_mutex_lock(&s->mu);
  for (int i = 0; i < Q_COUNT; i++) {
    if (sqlite3_prepare_v2(s->db, i == Q_CASES ? sql : query_sql[i], -1, &c->q[i], NULL) != SQLITE_OK) {
      rc = al_store__sql_error(s, err, AL_EIO, "reading a run");
      break;
    }
  }
  if (!rc) {
    sqlite3_bind_text(c->q[Q_CASES], 1, run_id, -1, SQLITE_TRANSIENT);
    if (part) {
      sqlite3_bind_int64(c->q[Q_CASES], 2, idx);
      sqlite3_bind_text(c->q[Q_CASES], 3, case_id, -1, SQLITE_TRANSIENT);
    }
  }
  pthread_mutex_unlock(&s->mu);
  if (rc) {
    al_store_cases_close(c);
    return rc;
  }
  *out = c;
  return 0;
}

int al_store_cases_open(al_store *s, const char *run_id, int which, int with_tokens,
                        al_store_cases **out, al_error *err) {
  if (!s || !run_id || !out || which < 0 ||
      which >= (int)(sizeof cursor_sql / sizeof cursor_sql[0]))
    return al_error_set(err, AL_EINVAL, "al_store_cases_open: bad arguments");
  return cases_open(s, cursor_sql[which], run_id, with_tokens, 0, 0, NULL, out, err);
}

int al_store_cases_open_part(al_store *s, const char *run_id, int with_tokens, int from, long long idx,
                             const char *case_id, al_store_cases **out, al_error *err) {
  if (!s || !run_id || !case_id || !out)
    return al_error_set(err, AL_EINVAL, "al_store_cases_open_part: bad arguments");
  return cases_open(s, part_sql[from ? 1 : 0], run_id, with_tokens, 1, idx, case_id, out, err);
}

int al_store_case_split(al_store *s, const char *run_id, int num, int den, long long *idx,
                        char case_id[65], long long *n_cases, al_error *err) {
  int rc = AL_ENOTFOUND;
  sqlite3_stmt *q = NULL;
  if (!s || !run_id || den <= 0 || num < 0 || num > den || !idx || !case_id || !n_cases)
    return al_error_set(err, AL_EINVAL, "al_store_case_split: bad arguments");
  *n_cases = 0;
  pthread_mutex_lock(&s->mu);
  /* one step down cases_run_idx (run_id, idx) for each end: a min or a max alone in its
   * query is a single lookup (both in one would scan the run) */
  if (sqlite3_prepare_v2(s->db,
                         "SELECT (SELECT min(idx) FROM cases WHERE run_id = ?1),"
                         " (SELECT max(idx) FROM cases WHERE run_id = ?1)",
                         -1, &q, NULL) != SQLITE_OK) {
    rc = al_store__sql_error(s, err, AL_EIO, "splitting a run");
    goto out;
  }
  sqlite3_bind_text(q, 1, run_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
    long long lo = sqlite3_column_int64(q, 0), hi = sqlite3_column_int64(q, 1);
    *n_cases = hi - lo + 1;
    *idx = lo + (long long)((double)(hi - lo) * num / den);
    case_id[0] = '\0';
    rc = 0;
  } else {
    rc = al_error_set(err, AL_ENOTFOUND, "run %s has no case", run_id);
  }
out:
  sqlite3_finalize(q);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

int al_store_cases_next(al_store_cases *c, json_t **out, al_error *err) {
  int rc = 0;
  if (!c || !out) return al_error_set(err, AL_EINVAL, "al_store_cases_next: bad arguments");
  *out = NULL;
  if (c->done) return 0;
  pthread_mutex_lock(&c->s->mu);
  int step = sqlite3_step(c->q[Q_CASES]);
  if (step == SQLITE_ROW) {
    rc = case_row(c->s, c->q, c->with_tokens, out, err);
  } else {
    c->done = 1;
    if (step != SQLITE_DONE) rc = al_store__sql_error(c->s, err, AL_EIO, "reading a run");
  }
  pthread_mutex_unlock(&c->s->mu);
  return rc;
}

/* ---- aggregates for the gate --------------------------------------------------------- */

/* One pass in case order; it used to be a GROUP BY for the tally and two queries per
 * latency column (a count, then the sorted values): seven joins of the run's results with
 * its cases, about 20,000 instructions per case, a third of the run's end on the loop's
 * thread. Text that is plain ASCII is passed as SQLite holds it; anything else is repaired
 * through jansson as in the run document. */
int al_store_run_gate_rows(al_store *s, const char *run_id,
                           int (*cb)(const al_store_gate_row *r, void *ud), void *ud, al_error *err) {
  int rc = 0, step;
  sqlite3_stmt *st = NULL;
  json_t *v[4] = {0};
  if (!s || !run_id || !cb) return al_error_set(err, AL_EINVAL, "al_store_run_gate_rows: bad arguments");
  pthread_mutex_lock(&s->mu);
  if (sqlite3_prepare_v2(s->db,
                         "SELECT c.category, c.severity, x.verdict, x.error_kind, x.queued_ns,"
                         " x.ttft_ns, x.total_ns FROM cases c JOIN results x ON x.case_ref = c.id"
                         " WHERE c.run_id = ? ORDER BY c.idx, c.case_id",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = al_store__sql_error(s, err, AL_EIO, "summarising a run");
    goto out;
  }
  sqlite3_bind_text(st, 1, run_id, -1, SQLITE_TRANSIENT);
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    const char *t[4];
    for (int i = 0; i < 4; i++) {
      const unsigned char *p = sqlite3_column_text(st, i);
      int n = sqlite3_column_bytes(st, i), ascii = 1;
      for (int k = 0; p && k < n && ascii; k++) ascii = p[k] && p[k] < 0x80;
      if (!p || ascii) {
        t[i] = (const char *)p;
        continue;
      }
      if (!(v[i] = al_store__col_str(st, i))) {
        rc = al_error_set(err, AL_ENOMEM, "out of memory");
        goto out;
      }
      t[i] = json_string_value(v[i]);
    }
    long long ns[3];
    for (int i = 0; i < 3; i++)
      ns[i] = sqlite3_column_type(st, 4 + i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4 + i);
    al_store_gate_row r = {t[0], t[1], t[2], t[3], ns[0], ns[1], ns[2]};
    if ((rc = cb(&r, ud)) < 0) {
      rc = al_error_set(err, rc, "summarising a run: %s", al_strerror(rc));
      goto out;
    }
    for (int i = 0; i < 4; i++)
      json_decref(v[i]), v[i] = NULL;
  }
  if (step != SQLITE_DONE) rc = al_store__sql_error(s, err, AL_EIO, "summarising a run");
out:
  for (int i = 0; i < 4; i++)
    json_decref(v[i]);
  sqlite3_finalize(st);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

/* ---- the cursor as JSON text ----------------------------------------------------------
 *
 * The json report of a large run spends most of its time building jansson objects only to
 * dump them. al_store_cases_next_text writes the text jansson would write for the object
 * al_store_cases_next returns (JSON_INDENT(2) | JSON_REAL_PRECISION(15), nested `depth`
 * levels): the same keys in the same order, strings escaped as jansson escapes them
 * (", \, \b \f \n \r \t, other controls as \u00XX, everything else as is), integers with
 * %lld, reals as jansson's dtostr (%.15g, ".0" added when it looks like an integer,
 * exponent without '+' or leading zeros). Anything not plain ASCII goes through jansson
 * itself; so do the JSON columns unless jw_compact can lay their stored text out as it is.
 * The unit test streaming_matches_load compares both. */

typedef struct jw {
  al_buf *b;
  int rc;
} jw;

/* al_buf_append inline when there is room, except that the text is NUL-terminated only at
 * the end of al_store_cases_next_text (jw_end), not after every piece. */
static void jw_put(jw *w, const char *p, size_t n) {
  al_buf *b = w->b;
  if (b->data && n < b->cap - b->len && n <= b->max - b->len) {
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return;
  }
  if (!w->rc && al_buf_append(b, p, n) < 0) w->rc = AL_ENOMEM;
}

static void jw_end(jw *w) {
  if (w->b->data) w->b->data[w->b->len] = '\0'; /* (jw_put leaves room for it) */
}

static const char jw_sp[] = "\n                                                                ";

static void jw_indent(jw *w, int depth) {
  int n = depth * 2;
  if (n <= (int)sizeof jw_sp - 2) return jw_put(w, jw_sp, 1 + (size_t)n); /* one piece */
  jw_put(w, jw_sp, 1);
  while (n > 0) {
    int k = n < (int)sizeof jw_sp - 2 ? n : (int)sizeof jw_sp - 2;
    jw_put(w, jw_sp + 1, (size_t)k);
    n -= k;
  }
}

/* jansson's own dump of v, re-indented to depth (its raw newlines are only layout). */
static void jw_jansson(jw *w, const json_t *v, int depth) {
  char *s = json_dumps(v, JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);
  if (!s) {
    if (!w->rc) w->rc = AL_ENOMEM;
    return;
  }
  const char *p = s, *nl;
  while ((nl = strchr(p, '\n'))) {
    jw_put(w, p, (size_t)(nl - p));
    jw_indent(w, depth);
    p = nl + 1;
  }
  jw_put(w, p, strlen(p));
  free(s);
}

static void jw_null(jw *w) { jw_put(w, "null", 4); }

static void jw_str(jw *w, const char *t, size_t n) {
  size_t mark = w->b->len;
  jw_put(w, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)t[i];
    if (ch >= 0x20 && ch != '"' && ch != '\\' && ch < 0x80) continue;
    if (ch >= 0x80) { /* not ASCII: what was written goes, jansson checks and repairs it */
      w->b->len = mark;
      json_t *v = al_json_text(t, n);
      if (!v) {
        if (!w->rc) w->rc = AL_ENOMEM;
        return;
      }
      jw_jansson(w, v, 0);
      json_decref(v);
      return;
    }
    jw_put(w, t + run, i - run);
    run = i + 1;
    char esc[8];
    switch (ch) {
    case '"': jw_put(w, "\\\"", 2); break;
    case '\\': jw_put(w, "\\\\", 2); break;
    case '\b': jw_put(w, "\\b", 2); break;
    case '\f': jw_put(w, "\\f", 2); break;
    case '\n': jw_put(w, "\\n", 2); break;
    case '\r': jw_put(w, "\\r", 2); break;
    case '\t': jw_put(w, "\\t", 2); break;
    default:
      snprintf(esc, sizeof esc, "\\u%04X", ch);
      jw_put(w, esc, 6);
    }
  }
  jw_put(w, t + run, n - run);
  jw_put(w, "\"", 1);
}

/* %lld without printf (a report writes a dozen integers per case). */
static void jw_int(jw *w, long long v) {
  char t[24];
  size_t i = sizeof t;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do t[--i] = (char)('0' + u % 10);
  while ((u /= 10));
  if (v < 0) t[--i] = '-';
  jw_put(w, t + i, sizeof t - i);
}

/* jansson's jsonp_dtostr with precision 15. */
static void jw_real(jw *w, double v) {
  char t[64];
  int n = snprintf(t, sizeof t, "%.15g", v);
  if (n < 0 || n >= (int)sizeof t - 3) {
    json_t *j = json_real(v);
    jw_jansson(w, j, 0);
    json_decref(j);
    return;
  }
  if (!strchr(t, '.') && !strchr(t, 'e')) {
    t[n++] = '.';
    t[n++] = '0';
    t[n] = '\0';
  }
  char *e = strchr(t, 'e');
  if (e) {
    char *start = e + 1, *end = start + 1;
    if (*start == '-') start++;
    while (*end == '0') end++;
    if (end != start) {
      memmove(start, end, (size_t)(n - (end - t)) + 1);
      n -= (int)(end - start);
    }
  }
  jw_put(w, t, (size_t)n);
}

/* Nanoseconds as the milliseconds of the run document, round(ns / 1e3) / 1e3, in jansson's
 * %.15g form without printf: for us = round(ns / 1e3) below 10^15, us / 1000 has at most 15
 * significant digits, so %.15g prints it exactly: the integer part, then the thousandths
 * without trailing zeros, or ".0" (jansson's mark of a real) when there are none. */
static void jw_ms(jw *w, sqlite3_int64 ns) {
  double usd = round((double)ns / 1e3);
  if (!(usd < 1e15)) return jw_real(w, usd / 1e3);
  long long us = (long long)usd;
  char t[40];
  int n = 0;
  if (us < 0) { /* cannot happen (ns >= 0), kept exact all the same */
    t[n++] = '-';
    us = -us;
  }
  char d[24];
  size_t k = sizeof d;
  long long ip = us / 1000;
  do d[--k] = (char)('0' + ip % 10);
  while ((ip /= 10));
  memcpy(t + n, d + k, sizeof d - k);
  n += (int)(sizeof d - k);
  int frac = (int)(us % 1000);
  if (!frac) {
    memcpy(t + n, ".0", 2);
    n += 2;
  } else {
    t[n++] = '.';
    t[n++] = (char)('0' + frac / 100);
    if (frac % 100) t[n++] = (char)('0' + frac / 10 % 10);
    if (frac % 10) t[n++] = (char)('0' + frac % 10);
  }
  jw_put(w, t, (size_t)n);
}

/* Compact JSON text in jansson's canonical form, re-indented as jw_jansson would write it,
 * without building the value: the stored JSON columns (tags, meta, request, tool calls) are
 * jansson's own JSON_COMPACT dumps, and for those loading and dumping again changes only the
 * layout. t must be valid JSON (SQLite's json_valid says so); this only lays it out and
 * refuses (returns 0, nothing written) anything whose second dump could differ in more than
 * layout: whitespace outside strings (not jansson's compact form), reals (dumped again at
 * precision 15), \u and \/ escapes and bytes past ASCII (jansson re-encodes them), "-0"
 * and integers too long for json_int_t. The caller then goes through jansson. */
static int jw_compact(jw *w, const char *t, size_t n, int depth) {
  size_t mark = w->b->len;
  int d = depth;
  for (size_t i = 0; i < n && !w->rc; i++) {
    char c = t[i];
    if (c == '"') {
      size_t start = i++;
      for (; i < n && t[i] != '"'; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch >= 0x80 || ch < 0x20) goto refuse;
        if (ch == '\\') {
          if (++i >= n || !strchr("\"\\bfnrt", t[i]) || !t[i]) goto refuse;
        }
      }
      if (i >= n) goto refuse;
      jw_put(w, t + start, i - start + 1);
      continue;
    }
    switch (c) {
    case '{':
    case '[':
      if (i + 1 < n && t[i + 1] == (c == '{' ? '}' : ']')) {
        jw_put(w, t + i, 2);
        i++;
        break;
      }
      jw_put(w, &c, 1);
      jw_indent(w, ++d);
      break;
    case '}':
    case ']':
      jw_indent(w, --d);
      jw_put(w, &c, 1);
      break;
    case ',':
      jw_put(w, ",", 1);
      jw_indent(w, d);
      break;
    case ':': jw_put(w, ": ", 2); break;
    case 't':
    case 'f':
    case 'n': {
      size_t k = c == 'f' ? 5 : 4;
      if (i + k > n) goto refuse;
      jw_put(w, t + i, k);
      i += k - 1;
      break;
    }
    default: {
      size_t start = i, digits = 0;
      if (c == '-') i++;
      if (i < n && t[i] == '0' && c == '-') goto refuse;
      for (; i < n && t[i] >= '0' && t[i] <= '9'; i++) digits++;
      if (!digits || digits > 18) goto refuse;
      if (i < n && (t[i] == '.' || t[i] == 'e' || t[i] == 'E')) goto refuse;
      jw_put(w, t + start, i - start);
      i--;
    }
    }
  }
  if (d != depth || w->rc) goto refuse;
  return 1;
refuse:
  w->b->len = mark;
  if (w->b->data) w->b->data[mark] = '\0';
  return 0;
}

static void jw_col(jw *w, sqlite3_stmt *q, int i, char kind, int depth, int valid_col) {
  int null = sqlite3_column_type(q, i) == SQLITE_NULL;
  switch (kind) {
  case 's':
    if (null) return jw_null(w);
    jw_str(w, (const char *)sqlite3_column_text(q, i), (size_t)sqlite3_column_bytes(q, i));
    return;
  case 'j': {
    if (null) return jw_null(w);
    const char *t = (const char *)sqlite3_column_text(q, i);
    if (t && (!strcmp(t, "[]") || !strcmp(t, "{}"))) return jw_put(w, t, 2);
    if (t && valid_col >= 0 && sqlite3_column_int(q, valid_col) &&
        jw_compact(w, t, (size_t)sqlite3_column_bytes(q, i), depth))
      return;
    json_t *v = al_store__col_json(q, i);
    if (!v) {
      if (!w->rc) w->rc = AL_ENOMEM;
      return;
    }
    jw_jansson(w, v, depth);
    json_decref(v);
    return;
  }
  case 'm': {
    sqlite3_int64 ns = sqlite3_column_int64(q, i);
    if (null || ns < 0) return jw_null(w);
    return jw_ms(w, ns);
  }
  case 'i':
    if (null) return jw_null(w);
    return jw_int(w, sqlite3_column_int64(q, i));
  case 'r': {
    if (null) return jw_null(w);
    double v = sqlite3_column_double(q, i);
    if (v == 1.0) return jw_put(w, "1.0", 3); /* scores: what %.15g and ".0" give */
    if (v == 0.0 && !signbit(v)) return jw_put(w, "0.0", 3);
    return jw_real(w, v);
  }
  case 'b':
    if (sqlite3_column_int(q, i)) jw_put(w, "true", 4);
    else jw_put(w, "false", 5);
    return;
  case 't': {
    if (null) return jw_null(w);
    /* al_iso8601, its "YYYY-MM-DDTHH:MM:SS" part computed once per second (the cases of
     * a run mostly start within the same few seconds) */
    static _Thread_local long long sec = LLONG_MIN;
    static _Thread_local char t[40];
    sqlite3_int64 ns = sqlite3_column_int64(q, i);
    long long sn = ns / 1000000000LL;
    if (sn != sec || ns < 0) {
      al_iso8601(ns, t, sizeof t);
      sec = ns < 0 ? LLONG_MIN : sn;
      return jw_str(w, t, strlen(t));
    }
    int ms = (int)((ns / 1000000) % 1000);
    size_t n = strlen(t);
    t[n - 4] = (char)('0' + ms / 100);
    t[n - 3] = (char)('0' + ms / 10 % 10);
    t[n - 2] = (char)('0' + ms % 10);
    return jw_str(w, t, n);
  }
  }
}

static void jw_key(jw *w, const char *key, int first, int depth) {
  char t[128];
  size_t k = strlen(key), n = 0;
  if (depth * 2 + k + 8 > sizeof t) { /* (never for the keys of a case) */
    if (!first) jw_put(w, ",", 1);
    jw_indent(w, depth);
    jw_put(w, "\"", 1);
    jw_put(w, key, k);
    jw_put(w, "\": ", 3);
    return;
  }
  if (!first) t[n++] = ',';
  t[n++] = '\n';
  memset(t + n, ' ', (size_t)depth * 2);
  n += (size_t)depth * 2;
  t[n++] = '"';
  memcpy(t + n, key, k);
  n += k;
  memcpy(t + n, "\": ", 3);
  jw_put(w, t, n + 3);
}

/* The rows of q (bound to ref) as an array of objects, nested `depth` levels. */
static int jw_rows(al_store *s, jw *w, sqlite3_stmt *q, sqlite3_int64 ref,
                   const char *const *keys, const char *kinds, int depth, al_error *err) {
  int step, rc = 0, n = 0;
  sqlite3_bind_int64(q, 1, ref);
  while ((step = sqlite3_step(q)) == SQLITE_ROW) {
    jw_put(w, n++ ? "," : "[", 1);
    jw_indent(w, depth + 1);
    jw_put(w, "{", 1);
    for (int i = 0; keys[i]; i++) {
      jw_key(w, keys[i], i == 0, depth + 2);
      jw_col(w, q, i, kinds[i], depth + 2, -1);
    }
    jw_indent(w, depth + 1);
    jw_put(w, "}", 1);
  }
  if (n) jw_indent(w, depth);
  jw_put(w, n ? "]" : "[]", 1 + !n);
  if (step != SQLITE_DONE) rc = al_store__sql_error(s, err, AL_EIO, "reading a run");
  sqlite3_reset(q);
  return rc;
}

int al_store_cases_next_text(al_store_cases *c, al_buf *out, const char *prefix, int depth,
                             int *got, al_error *err) {
  int rc = 0;
  jw w = {out, 0};
  if (!c || !out || !got) return al_error_set(err, AL_EINVAL, "al_store_cases_next_text: bad arguments");
  *got = 0;
  if (c->done) return 0;
  pthread_mutex_lock(&c->s->mu);
  sqlite3_stmt *q = c->q[Q_CASES];
  int step = sqlite3_step(q);
  if (step != SQLITE_ROW) {
    c->done = 1;
    if (step != SQLITE_DONE) rc = al_store__sql_error(c->s, err, AL_EIO, "reading a run");
    goto out;
  }
  *got = 1;
  sqlite3_int64 ref = sqlite3_column_int64(q, 0);
  if (prefix) jw_put(&w, prefix, strlen(prefix));
  jw_put(&w, "{", 1);
  for (int i = 1; case_keys[i]; i++) {
    jw_key(&w, case_keys[i], i == 1, depth + 1);
    jw_col(&w, q, i, case_kinds[i], depth + 1, case_valid_col(i));
  }
  jw_key(&w, "attempts", 0, depth + 1);
  if ((rc = jw_rows(c->s, &w, c->q[Q_ATTEMPTS], ref, attempt_keys, "iisstmm", depth + 1, err)) < 0)
    goto out;
  jw_key(&w, "asserts", 0, depth + 1);
  if ((rc = jw_rows(c->s, &w, c->q[Q_ASSERTS], ref, assert_keys, "ssbrs", depth + 1, err)) < 0)
    goto out;
  if (c->with_tokens) {
    jw_key(&w, "tokens", 0, depth + 1);
    if ((rc = jw_rows(c->s, &w, c->q[Q_TOKENS], ref, token_keys, "imsirrj", depth + 1, err)) < 0)
      goto out;
  }
  jw_indent(&w, depth);
  jw_put(&w, "}", 1);
  if (w.rc) rc = al_error_set(err, w.rc, "cannot write the case: %s", al_strerror(w.rc));
out:
  jw_end(&w);
  pthread_mutex_unlock(&c->s->mu);
  return rc;
}
