/* Internal layout of al_store, shared by the files of src/store. Not a public header.
 *
 * One connection per handle, one mutex serialising every call on it (the connection is
 * opened SQLITE_OPEN_NOMUTEX: this mutex is the only one). Statements used per
 * result are prepared once at open. `in_tx` says a batch transaction is open; `pending`
 * counts the results inside it.
 */
#ifndef AL_STORE_INT_H
#define AL_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "airlock/store.h"
#include "store/limits.h"

enum {
  ST_BEGIN,
  ST_COMMIT,
  ST_DEL_CASE,
  ST_INS_CASE,
  ST_INS_RESULT,
  ST_INS_ATTEMPT,
  ST_COUNT
};

struct al_store {
  sqlite3 *db;
  pthread_mutex_t mu;
  int in_tx;
  int pending;
  sqlite3_stmt *st[ST_COUNT];
  char path[4096];
  /* multi-row inserts (put.c), prepared on first use: [kind][rows] */
  sqlite3_stmt *multi[2][AL_STORE_ROWS_PER_INSERT + 1];
  pthread_t ckpt;   /* al_store_checkpoint_start's thread, joined by al_store_close */
  int ckpt_started;
};

/* The store's own migrations (migrations.c). */
extern const al_migration al_store_migrations[];
extern const size_t al_store_n_migrations;

/* Helpers (store.c). Callers hold s->mu. */
int al_store__flush_locked(al_store *s, al_error *err);
int al_store__sql_error(al_store *s, al_error *err, int code, const char *what);
int al_store__exec(al_store *s, const char *sql, al_error *err);
int al_store__migrate_locked(al_store *s, const char *component, const al_migration *list, size_t n,
                             al_error *err);
/* Step a prepared statement to completion, then reset it and clear its bindings. */
int al_store__step_done(al_store *s, sqlite3_stmt *st, al_error *err, const char *what);

/* Manifest of run_id ("latest" allowed); *summary (when not NULL) gets summary_json. */
int al_store__manifest_locked(al_store *s, const char *run_id, json_t **out, json_t **summary,
                              al_error *err);

/* target_json with credentials replaced by "[redacted]" (redact.c); *out NULL for NULL. */
int al_store__redact_target(const char *target_json, char **out, al_error *err);

/* Bind a possibly NULL C string. */
int al_store__bind_text(sqlite3_stmt *st, int i, const char *v);
/* Column text as a JSON string (invalid UTF-8 repaired), or JSON null for SQL NULL. */
json_t *al_store__col_str(sqlite3_stmt *st, int i);
/* Column text holding JSON, parsed; falls back to a string, null for SQL NULL. */
json_t *al_store__col_json(sqlite3_stmt *st, int i);
/* Column of nanoseconds as milliseconds (3 decimals); null for SQL NULL or negative. */
json_t *al_store__col_ms(sqlite3_stmt *st, int i);
json_t *al_store__col_int(sqlite3_stmt *st, int i);
json_t *al_store__col_iso(sqlite3_stmt *st, int i);

#endif
