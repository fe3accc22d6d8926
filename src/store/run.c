/* Runs: begin (naming the run), end (status, exit code, summary), the manifest of one run
 * and the list of recent runs.
 *
 * A run id is "YYYYMMDD-HHMMSS-xxxx": the UTC start second and four random hex digits, so
 * ids sort by time and two runs started in the same second still differ (on a clash the
 * suffix is drawn again). Every call here first commits pending results, so a run's end is
 * never recorded before its results.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "airlock/util.h"
#include "report/escape.h"
#include "store/store_int.h"

#define MANIFEST_COLS                                                                              \
  "id, suite_path, suite_name, suite_digest, target_json, model, seed, airlock_version,"           \
  " started_ns, ended_ns, status, exit_code, thresholds_json, total_cases"

static void make_run_id(int64_t wall_ns, char out[40]) {
  time_t t = (time_t)(wall_ns / 1000000000LL);
  struct tm tm;
  gmtime_r(&t, &tm);
  char stamp[24];
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  unsigned char rnd[2];
  randombytes_buf(rnd, sizeof rnd);
  snprintf(out, 40, "%s-%02x%02x", stamp, rnd[0], rnd[1]);
}

int al_store_run_begin(al_store *s, al_run_manifest *m, al_error *err) {
  int rc = 0;
  sqlite3_stmt *st = NULL;
  char *target = NULL;
  if (!s || !m) return al_error_set(err, AL_EINVAL, "al_store_run_begin: bad arguments");
  if (sodium_init() < 0) return al_error_set(err, AL_ESYS, "libsodium failed to initialise");
  if ((rc = al_store__redact_target(m->target_json, &target, err)) < 0) return rc;
  pthread_mutex_lock(&s->mu);
  if ((rc = al_store__flush_locked(s, err)) < 0) goto out;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO runs (id, suite_path, suite_name, suite_digest, target_json,"
                         " model, seed, airlock_version, started_ns, status, thresholds_json,"
                         " total_cases) VALUES (?,?,?,?,?,?,?,?,?,'running',?,?)",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = al_store__sql_error(s, err, AL_EIO, "runs");
    goto out;
  }
  if (!m->started_wall_ns) m->started_wall_ns = al_wall_ns();
  for (int tries = 0;; tries++) {
    make_run_id(m->started_wall_ns, m->run_id);
    sqlite3_bind_text(st, 1, m->run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->suite_path, -1, SQLITE_STATIC);
    al_store__bind_text(st, 3, m->suite_name);
    sqlite3_bind_text(st, 4, m->suite_digest, -1, SQLITE_STATIC);
    al_store__bind_text(st, 5, target);
    al_store__bind_text(st, 6, m->model);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)m->seed);
    al_store__bind_text(st, 8, m->airlock_version);
    sqlite3_bind_int64(st, 9, m->started_wall_ns);
    al_store__bind_text(st, 10, m->thresholds_json);
    sqlite3_bind_int64(st, 11, m->total_cases);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_CONSTRAINT || tries + 1 >= AL_STORE_RUN_ID_TRIES) {
      rc = al_store__sql_error(s, err, AL_EIO, "cannot record the run");
      m->run_id[0] = '\0';
      goto out;
    }
  }
out:
  sqlite3_finalize(st);
  pthread_mutex_unlock(&s->mu);
  free(target);
  return rc;
}

int al_store_run_end(al_store *s, const char *run_id, const char *status, int exit_code,
                     const json_t *summary, al_error *err) {
  int rc = 0;
  sqlite3_stmt *st = NULL;
  char *sum = NULL;
  if (!s || !run_id || !status)
    return al_error_set(err, AL_EINVAL, "al_store_run_end: bad arguments");
  if (strcmp(status, "running") && strcmp(status, "completed") && strcmp(status, "interrupted"))
    return al_error_set(err, AL_EINVAL,
                        "run status '%s': expected running, completed or interrupted", status);
  if (summary && !(sum = json_dumps(summary, JSON_COMPACT | JSON_ENCODE_ANY)))
    return al_error_set(err, AL_ENOMEM, "cannot encode the summary");
  pthread_mutex_lock(&s->mu);
  if ((rc = al_store__flush_locked(s, err)) < 0) goto out;
  if (sqlite3_prepare_v2(s->db,
                         "UPDATE runs SET status = ?, exit_code = ?, ended_ns = ?,"
                         " summary_json = coalesce(?, summary_json) WHERE id = ?",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = al_store__sql_error(s, err, AL_EIO, "runs");
    goto out;
  }
  sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, exit_code);
  sqlite3_bind_int64(st, 3, al_wall_ns());
  al_store__bind_text(st, 4, sum);
  sqlite3_bind_text(st, 5, run_id, -1, SQLITE_STATIC);
  if ((rc = al_store__step_done(s, st, err, "ending the run")) < 0) goto out;
  if (sqlite3_changes(s->db) == 0) rc = al_error_set(err, AL_ENOTFOUND, "no run '%s'", run_id);
out:
  sqlite3_finalize(st);
  pthread_mutex_unlock(&s->mu);
  free(sum);
  return rc;
}

/* One row of MANIFEST_COLS as a JSON object. */
static json_t *manifest_row(sqlite3_stmt *st) {
  json_t *o = json_object();
  if (!o) return NULL;
  sqlite3_uint64 seed = (sqlite3_uint64)sqlite3_column_int64(st, 6);
  char seed_s[24];
  snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed);
  int bad = 0;
  bad |= json_object_set_new(o, "id", al_store__col_str(st, 0));
  bad |= json_object_set_new(o, "suite_path", al_store__col_str(st, 1));
  bad |= json_object_set_new(o, "suite_name", al_store__col_str(st, 2));
  bad |= json_object_set_new(o, "suite_digest", al_store__col_str(st, 3));
  bad |= json_object_set_new(o, "target", al_store__col_json(st, 4));
  bad |= json_object_set_new(o, "model", al_store__col_str(st, 5));
  /* JSON integers are signed 64-bit: seeds past INT64_MAX travel as strings. */
  bad |= json_object_set_new(o, "seed",
                             seed > (sqlite3_uint64)INT64_MAX ? json_string(seed_s)
                                                              : json_integer((json_int_t)seed));
  bad |= json_object_set_new(o, "airlock_version", al_store__col_str(st, 7));
  bad |= json_object_set_new(o, "started", al_store__col_iso(st, 8));
  bad |= json_object_set_new(o, "ended", al_store__col_iso(st, 9));
  bad |= json_object_set_new(o, "started_ns", al_store__col_int(st, 8));
  bad |= json_object_set_new(o, "ended_ns", al_store__col_int(st, 9));
  bad |= json_object_set_new(o, "status", al_store__col_str(st, 10));
  bad |= json_object_set_new(o, "exit_code", al_store__col_int(st, 11));
  bad |= json_object_set_new(o, "thresholds", al_store__col_json(st, 12));
  bad |= json_object_set_new(o, "total_cases", al_store__col_int(st, 13));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* Caller holds the lock. "latest" names the newest run. */
int al_store__manifest_locked(al_store *s, const char *run_id, json_t **out, json_t **summary,
                              al_error *err) {
  int rc = 0;
  sqlite3_stmt *st = NULL;
  int latest = strcmp(run_id, "latest") == 0;
  const char *sql = latest ? "SELECT " MANIFEST_COLS ", summary_json FROM runs"
                             " ORDER BY started_ns DESC, id DESC LIMIT 1"
                           : "SELECT " MANIFEST_COLS ", summary_json FROM runs WHERE id = ?";
  *out = NULL;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
    rc = al_store__sql_error(s, err, AL_EIO, "runs");
    goto out;
  }
  if (!latest) sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_DONE) {
    rc = latest ? al_error_at(err, AL_ENOTFOUND, s->path, 0, 0, "no runs stored yet")
                : al_error_at(err, AL_ENOTFOUND, s->path, 0, 0, "no run '%s'", run_id);
    goto out;
  }
  if (step != SQLITE_ROW) {
    rc = al_store__sql_error(s, err, AL_EIO, "runs");
    goto out;
  }
  if (!(*out = manifest_row(st)) || (summary && !(*summary = al_store__col_json(st, 14)))) {
    json_decref(*out);
    *out = NULL;
    rc = al_error_set(err, AL_ENOMEM, "out of memory");
  }
out:
  sqlite3_finalize(st);
  return rc;
}

int al_store_run_manifest(al_store *s, const char *run_id, json_t **out, al_error *err) {
  if (!s || !run_id || !out)
    return al_error_set(err, AL_EINVAL, "al_store_run_manifest: bad arguments");
  pthread_mutex_lock(&s->mu);
  int rc = al_store__manifest_locked(s, run_id, out, NULL, err);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

int al_store_run_head(al_store *s, const char *run_id, json_t **run, json_t **summary,
                      al_error *err) {
  if (!s || !run_id || !run || !summary)
    return al_error_set(err, AL_EINVAL, "al_store_run_head: bad arguments");
  *summary = NULL;
  pthread_mutex_lock(&s->mu);
  int rc = al_store__manifest_locked(s, run_id, run, summary, err);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

int al_store_list_runs(al_store *s, int limit, json_t **out, al_error *err) {
  int rc = 0, step;
  sqlite3_stmt *st = NULL;
  json_t *arr = NULL;
  if (!s || !out) return al_error_set(err, AL_EINVAL, "al_store_list_runs: bad arguments");
  *out = NULL;
  if (limit <= 0) limit = AL_STORE_LIST_DEFAULT;
  if (limit > AL_STORE_LIST_MAX) limit = AL_STORE_LIST_MAX;
  pthread_mutex_lock(&s->mu);
  if (sqlite3_prepare_v2(s->db,
                         "SELECT " MANIFEST_COLS ","
                         " (SELECT count(*) FROM cases c JOIN results x ON x.case_ref = c.id"
                         "   WHERE c.run_id = runs.id AND x.verdict = 'pass'),"
                         " (SELECT count(*) FROM cases c JOIN results x ON x.case_ref = c.id"
                         "   WHERE c.run_id = runs.id AND x.verdict = 'fail'),"
                         " (SELECT count(*) FROM cases c JOIN results x ON x.case_ref = c.id"
                         "   WHERE c.run_id = runs.id AND x.verdict = 'error')"
                         " FROM runs ORDER BY started_ns DESC, id DESC LIMIT ?",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = al_store__sql_error(s, err, AL_EIO, "runs");
    goto out;
  }
  sqlite3_bind_int(st, 1, limit);
  if (!(arr = json_array())) goto nomem;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *o = manifest_row(st);
    if (!o) goto nomem;
    json_t *counts = json_pack("{s:I, s:I, s:I}", "pass", (json_int_t)sqlite3_column_int64(st, 14),
                               "fail", (json_int_t)sqlite3_column_int64(st, 15), "error",
                               (json_int_t)sqlite3_column_int64(st, 16));
    if (!counts || json_object_set_new(o, "counts", counts) || json_array_append_new(arr, o)) {
      json_decref(o);
      goto nomem;
    }
  }
  if (step != SQLITE_DONE) {
    rc = al_store__sql_error(s, err, AL_EIO, "runs");
    goto out;
  }
  *out = arr;
  arr = NULL;
  goto out;
nomem:
  rc = al_error_set(err, AL_ENOMEM, "out of memory");
out:
  sqlite3_finalize(st);
  pthread_mutex_unlock(&s->mu);
  json_decref(arr);
  return rc;
}
