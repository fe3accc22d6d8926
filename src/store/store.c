/* Opening, closing and flushing the results store, plus the helpers its other files share.
 *
 * al_store_open() creates the parent folders, opens the file, switches it to WAL with
 * synchronous=NORMAL (a committed batch survives a crash of the process; only a power loss
 * may drop the last commits), turns foreign keys on, waits up to AL_STORE_BUSY_TIMEOUT_MS
 * for other writers, applies the store's migrations and prepares the per-result statements.
 * Batches are opened with BEGIN IMMEDIATE so two writers never deadlock upgrading a read
 * lock; al_store_close() commits whatever is pending.
 *
 * Write cost (bench/store): a put does not run in a savepoint (put.c): SQLite copies every
 * page a savepoint changes into a statement journal first, about a quarter of a put's
 * instructions, and past 64 KiB that journal is a temporary file never truncated for the
 * rest of the transaction (two more writes per page). For the statements that still use a
 * statement journal, store_config() tells SQLite, once and before it initialises, to keep
 * it in memory. The WAL is checkpointed every AL_STORE_WAL_PAGES pages instead of SQLite's
 * 1,000, so a run's batches are copied into the database about once (al_store_close, or
 * al_store_checkpoint_start's thread) rather than every few batches.
 *
 * A new database is created with synchronous=OFF until its schema is in: switching an empty
 * file to WAL and creating the tables cost seven fsync()s with NORMAL (5–10 ms, and one
 * 160 ms stall seen on this VM's disk) for a file that holds nothing yet. Nothing is lost
 * by it: with NORMAL, commits reach the disk at the first checkpoint anyway, and that
 * checkpoint's sync covers the schema pages too; only a power loss before it could leave a
 * half-written empty file instead of a missing one.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "airlock/util.h"
#include "report/escape.h"
#include "store/store_int.h"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_INS_CASE] = "INSERT INTO cases (run_id, case_id, idx, name, category, severity,"
                    " tags_json, meta_json, request_json) VALUES (?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT (run_id, case_id) DO NOTHING",
    [ST_INS_RESULT] = "INSERT INTO results (case_ref, verdict, error_kind, error_msg, output,"
                      " tool_calls_json, finish_reason, model, start_ns, queued_ns, ttfb_ns,"
                      " ttft_ns, total_ns, prompt_tokens, completion_tokens)"
                      " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_INS_ATTEMPT] = ("INSERT INTO attempts (case_ref, n, http_status, error_kind, error_msg,"
                        " start_ns, ttfb_ns, total_ns) VALUES (?,?,?,?,?,?,?,?)"),
    [ST_DEL_CASE] = "DELETE FROM cases WHERE id = ?", /* its rows go by ON DELETE CASCADE */
};

int al_store__sql_error(al_store *s, al_error *err, int code, const char *what) {
  const char *m = s && s->db ? sqlite3_errmsg(s->db) : "no database";
  return al_error_at(err, code, s ? s->path : NULL, 0, 0, "%s: %s", what, m);
}

int al_store__exec(al_store *s, const char *sql, al_error *err) {
  char *msg = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    al_error_at(err, AL_EIO, s->path, 0, 0, "%s", msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return AL_EIO;
  }
  return 0;
}

int al_store__step_done(al_store *s, sqlite3_stmt *st, al_error *err, const char *what) {
  int rc = sqlite3_step(st);
  int out = 0;
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    int code = (rc & 0xff) == SQLITE_CONSTRAINT ? AL_EINVAL : AL_EIO;
    out = al_store__sql_error(s, err, code, what);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return out;
}

int al_store__bind_text(sqlite3_stmt *st, int i, const char *v) {
  return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

json_t *al_store__col_str(sqlite3_stmt *st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return json_null();
  const char *t = (const char *)sqlite3_column_text(st, i);
  return al_json_text(t ? t : "", (size_t)sqlite3_column_bytes(st, i));
}

json_t *al_store__col_json(sqlite3_stmt *st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return json_null();
  const char *t = (const char *)sqlite3_column_text(st, i);
  size_t n = (size_t)sqlite3_column_bytes(st, i);
  json_t *v = t ? json_loadb(t, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
  return v ? v : al_json_text(t ? t : "", n);
}

json_t *al_store__col_ms(sqlite3_stmt *st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return json_null();
  sqlite3_int64 ns = sqlite3_column_int64(st, i);
  if (ns < 0) return json_null();
  return json_real(round((double)ns / 1e3) / 1e3);
}

json_t *al_store__col_int(sqlite3_stmt *st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return json_null();
  return json_integer(sqlite3_column_int64(st, i));
}

json_t *al_store__col_iso(sqlite3_stmt *st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return json_null();
  char t[40];
  return json_string(al_iso8601(sqlite3_column_int64(st, i), t, sizeof t));
}

static int mkdir_parents(const char *path, al_error *err) {
  char tmp[4096];
  size_t n = strlen(path);
  if (n >= sizeof tmp) return al_error_set(err, AL_ELIMIT, "database path too long: %s", path);
  memcpy(tmp, path, n + 1);
  char *slash = strrchr(tmp, '/');
  if (!slash || slash == tmp) return 0;
  *slash = '\0';
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) goto fail;
    *p = '/';
  }
  if (mkdir(tmp, 0700) != 0 && errno != EEXIST) goto fail;
  return 0;
fail:;
  int e = errno;
  al_error_at(err, AL_ESYS, tmp, 0, 0, "cannot create folder: %s", strerror(e));
  if (err) err->sys_errno = e;
  return AL_ESYS;
}

/* Process-wide SQLite settings, before SQLite initialises (a constructor: sqlite3_config
 * refuses once any connection has been opened). If something initialised SQLite first the
 * call fails and statement journals spill to a file as before: slower, still correct. */
#define TEXT_OF(x) #x
#define TEXT_OF_VALUE(x) TEXT_OF(x)
#define WAL_PAGES_TEXT TEXT_OF_VALUE(AL_STORE_WAL_PAGES)

__attribute__((constructor)) static void store_config(void) {
  sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1);
}

static int check_wal(al_store *s, al_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW) {
    rc = al_store__sql_error(s, err, AL_EIO, "cannot switch to WAL");
    goto out;
  }
  const char *mode = (const char *)sqlite3_column_text(st, 0);
  if (!mode || (strcmp(mode, "wal") != 0 && strcmp(s->path, ":memory:") != 0))
    rc = al_error_at(err, AL_EUNSUPPORTED, s->path, 0, 0,
                     "journal mode is '%s', expected 'wal' (WAL needs a local file system)",
                     mode ? mode : "?");
out:
  sqlite3_finalize(st);
  return rc;
}

int al_store_open(const char *path, al_store **out, al_error *err) {
  int rc = 0;
  al_store *s = NULL;
  if (!path || !*path || !out) return al_error_set(err, AL_EINVAL, "al_store_open: no path");
  *out = NULL;
  if (strlen(path) >= sizeof s->path)
    return al_error_set(err, AL_ELIMIT, "database path too long: %s", path);
  if (strcmp(path, ":memory:") != 0 && (rc = mkdir_parents(path, err)) < 0) return rc;
  s = al_calloc(1, sizeof *s);
  if (!s) return al_error_set(err, AL_ENOMEM, "out of memory");
  snprintf(s->path, sizeof s->path, "%s", path);
  pthread_mutex_init(&s->mu, NULL);
  struct stat sb;
  int fresh = strcmp(path, ":memory:") != 0 && (stat(path, &sb) != 0 ? errno == ENOENT : sb.st_size == 0);
  /* NOMUTEX: s->mu already serialises every call on the connection (and on its statements,
   * whose column values are read under it too); SQLite's own connection mutex only added a
   * lock and an unlock to each sqlite3_column_* and sqlite3_bind_* call. */
  if (sqlite3_open_v2(path, &s->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    rc = al_store__sql_error(s, err, AL_EIO, "cannot open database");
    goto out;
  }
  sqlite3_busy_timeout(s->db, AL_STORE_BUSY_TIMEOUT_MS);
  if (fresh && (rc = al_store__exec(s, "PRAGMA synchronous=OFF", err)) < 0) goto out;
  if ((rc = check_wal(s, err)) < 0) goto out;
  if (!fresh && (rc = al_store__exec(s, "PRAGMA synchronous=NORMAL", err)) < 0) goto out;
  if ((rc = al_store__exec(s, "PRAGMA foreign_keys=ON; "
                                    "PRAGMA wal_autocheckpoint=" WAL_PAGES_TEXT ";", err)) < 0)
    goto out;
  if ((rc = al_store__migrate_locked(s, "store", al_store_migrations, al_store_n_migrations, err)) <
      0)
    goto out;
  if (fresh && (rc = al_store__exec(s, "PRAGMA synchronous=NORMAL", err)) < 0) goto out;
  for (int i = 0; i < ST_COUNT; i++) {
    if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
        SQLITE_OK) {
      rc = al_store__sql_error(s, err, AL_EIO, "cannot prepare statement");
      goto out;
    }
  }
  *out = s;
  s = NULL;
out:
  al_store_close(s);
  return rc;
}

int al_store__flush_locked(al_store *s, al_error *err) {
  if (!s->in_tx) return 0;
  int rc = al_store__step_done(s, s->st[ST_COMMIT], err, "commit");
  if (rc < 0) return rc; /* still open: the next flush retries */
  s->in_tx = 0;
  s->pending = 0;
  return 0;
}

int al_store_flush(al_store *s, al_error *err) {
  if (!s) return al_error_set(err, AL_EINVAL, "al_store_flush: no store");
  pthread_mutex_lock(&s->mu);
  int rc = al_store__flush_locked(s, err);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

static void *checkpoint_main(void *arg) {
  al_store *s = arg;
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK)
    sqlite3_exec(db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL); /* (the PRAGMA opens
                                                                    * the WAL first) */
  sqlite3_close_v2(db); /* not the last connection: no checkpoint of its own, the WAL stays */
  return NULL;
}

int al_store_checkpoint_start(al_store *s, al_error *err) {
  if (!s) return al_error_set(err, AL_EINVAL, "al_store_checkpoint_start: no store");
  int rc = al_store_flush(s, err);
  if (rc < 0 || s->ckpt_started || !strcmp(s->path, ":memory:")) return rc;
  if (pthread_create(&s->ckpt, NULL, checkpoint_main, s) == 0) s->ckpt_started = 1;
  return 0;
}

void al_store_close(al_store *s) {
  if (!s) return;
  if (s->ckpt_started) pthread_join(s->ckpt, NULL);
  s->ckpt_started = 0;
  pthread_mutex_lock(&s->mu);
  if (s->db && s->in_tx && al_store__flush_locked(s, NULL) < 0)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(s->st[i]);
  for (int k = 0; k < 2; k++)
    for (int i = 0; i <= AL_STORE_ROWS_PER_INSERT; i++)
      sqlite3_finalize(s->multi[k][i]);
  sqlite3_close_v2(s->db);
  s->db = NULL;
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_destroy(&s->mu);
  al_free(s);
}

sqlite3 *al_store_db(al_store *s) { return s ? s->db : NULL; }

const char *al_store_path(const al_store *s) { return s ? s->path : NULL; }
