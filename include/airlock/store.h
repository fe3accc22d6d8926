/* The results store: one SQLite database (WAL) holding every run, case, attempt, assertion
 * and streamed token.
 *
 * The runner opens the store, begins a run (the store names it "YYYYMMDD-HHMMSS-xxxx"),
 * streams results with al_store_put_result() and ends the run with its status, exit code and
 * gate summary. Writes are batched: a result joins an open transaction that commits when
 * AL_STORE_BATCH results are pending or when al_store_flush() is called (the runner flushes
 * every 100 ms and at the end). Once flushed, a result survives a crash of the process.
 * Putting a case that is already stored for the run is a no-op returning 1, which makes a
 * resumed run exactly-once: the runner skips the ids al_store_run_done_ids() reports, and a
 * racing duplicate is dropped by the database itself.
 *
 * The schema is created by ordered migrations recorded in `schema_migrations`; other
 * subsystems (review, shadow, audit) keep their own lists and apply them with
 * al_store_migrate() under their own component name.
 *
 * Every function is safe to call from several threads on one handle (a mutex serialises
 * them); several handles, in one process or many, may share a database file.
 * al_store_load_run() returns the run document described in docs/design/store.md, the
 * input of every report.
 */
#ifndef AIRLOCK_STORE_H
#define AIRLOCK_STORE_H

#include <jansson.h>
#include <stddef.h>

#include "airlock/error.h"
#include "airlock/result.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sqlite3 sqlite3;
typedef struct al_store al_store;

/* One schema step. Versions of a component start at 1 and increase by 1. */
typedef struct al_migration {
  int version;
  const char *name;
  const char *sql; /* one or more statements */
} al_migration;

/* Open (creating the parent folders and the file when missing) and migrate. */
int al_store_open(const char *path, al_store **out, al_error *err);
/* Flush pending results and close. Accepts NULL. Call it once no other thread uses the
 * handle; a commit that fails here is rolled back (call al_store_flush() first to see
 * the error). */
void al_store_close(al_store *s);
/* The raw connection. It has no mutex of its own (SQLITE_OPEN_NOMUTEX: the handle's mutex
 * serialises the store's calls): use it only while no other thread uses the handle. */
sqlite3 *al_store_db(al_store *s);
/* The path it was opened with (to open a second connection to the same file). */
const char *al_store_path(const al_store *s);

/* Apply the migrations of `component` not yet recorded, each in its own transaction.
 * Idempotent; safe when several processes open the same file at once. */
int al_store_migrate(al_store *s, const char *component, const al_migration *list, size_t n,
                     al_error *err);
/* Highest applied version of a component (0 when none), or a negative code. */
int al_store_schema_version(al_store *s, const char *component);

/* Record a new run (status "running"); fills m->run_id. started_wall_ns 0 means now. */
int al_store_run_begin(al_store *s, al_run_manifest *m, al_error *err);
/* The manifest of a run as a JSON object (see docs/design/store.md); AL_ENOTFOUND if none. */
int al_store_run_manifest(al_store *s, const char *run_id, json_t **out, al_error *err);
/* The run object of al_store_load_run's document and the stored summary (JSON null when
 * none), without the cases; run_id may be "latest". */
int al_store_run_head(al_store *s, const char *run_id, json_t **run, json_t **summary,
                      al_error *err);
/* Call cb for every case id already stored for the run; a non-zero return stops early and
 * is returned. The callback runs without the store's lock held and may use the store. */
int al_store_run_done_ids(al_store *s, const char *run_id, int (*cb)(const char *case_id, void *ud),
                          void *ud);
/* 0 stored (pending until the batch commits), 1 already stored for this run. */
int al_store_put_result(al_store *s, const char *run_id, const al_case_result *r, al_error *err);
/* Commit pending results. */
int al_store_flush(al_store *s, al_error *err);
/* Commit pending results, then copy the WAL into the database file on a thread of its own
 * (a second connection, a PASSIVE checkpoint) while this handle goes on reading: the copy
 * and its fsyncs overlap the gate and the report instead of delaying al_store_close, which
 * waits for it. Best effort: without the thread, al_store_close checkpoints as usual. */
int al_store_checkpoint_start(al_store *s, al_error *err);
/* status: "running", "completed" or "interrupted". summary may be NULL. */
int al_store_run_end(al_store *s, const char *run_id, const char *status, int exit_code,
                     const json_t *summary, al_error *err);
/* Newest first; limit <= 0 means AL_STORE_LIST_DEFAULT. *out is a JSON array. */
int al_store_list_runs(al_store *s, int limit, json_t **out, al_error *err);
/* run_id may be "latest". *out: {"run": {...}, "cases": [...], "summary": ... or null}. */
int al_store_load_run(al_store *s, const char *run_id, int with_tokens, json_t **out,
                      al_error *err);

/* The cases of a run one at a time, each the JSON object al_store_load_run puts in "cases"
 * (the caller owns it), so a reader holds one case at a time. run_id is a real id (not
 * "latest"). Which cases, in which order: */
enum al_cases_which {
  AL_CASES_ALL,         /* every case, by index */
  AL_CASES_FAIL,        /* verdict fail, by index */
  AL_CASES_NOT_PASS,    /* verdict neither pass nor fail (errors), by index */
  AL_CASES_BY_CATEGORY, /* every case, by category ("uncategorized" for none), then index */
  AL_CASES_FAMILY,      /* cases whose meta may name a probe family, by index */
};
typedef struct al_store_cases al_store_cases;
int al_store_cases_open(al_store *s, const char *run_id, int which, int with_tokens,
                        al_store_cases **out, al_error *err);
int al_store_cases_next(al_store_cases *c, json_t **out, al_error *err); /* *out NULL: end */
/* Part of AL_CASES_ALL: the cases before (from = 0) or from (from = 1) the case whose order
 * key (index, case id) is (idx, case_id); see al_store_case_split. */
int al_store_cases_open_part(al_store *s, const char *run_id, int with_tokens, int from, long long idx,
                             const char *case_id, al_store_cases **out, al_error *err);
/* An order key num/den of the way through the run's case indexes (index min + (max - min) *
 * num / den rounded down, case id ""), and how many indexes the run's cases span (max - min
 * + 1): a place to split AL_CASES_ALL in two found by one lookup at each end of the index,
 * whatever the run's size. 0 found, AL_ENOTFOUND when the run has no case. */
int al_store_case_split(al_store *s, const char *run_id, int num, int den, long long *idx,
                        char case_id[65], long long *n_cases, al_error *err);
void al_store_cases_close(al_store_cases *c);                            /* accepts NULL */
/* The next case appended to out as JSON text, byte for byte what jansson's
 * json_dumps(JSON_INDENT(2) | JSON_REAL_PRECISION(15)) writes for the object
 * al_store_cases_next would return, nested `depth` levels deep; prefix (may be NULL) is
 * written first. *got 0: no more cases (nothing written). */
struct al_buf;
int al_store_cases_next_text(al_store_cases *c, struct al_buf *out, const char *prefix, int depth,
                             int *got, al_error *err);

/* What the gate needs of each judged case of a run, without reading the cases: one
 * callback per result, in case order (index, then id), in one query. Text NULL for SQL
 * NULL and repaired as in the run document; latencies in ns, -1 when unknown. A negative
 * return from cb stops and is returned. */
typedef struct al_store_gate_row {
  const char *category, *severity, *verdict, *error_kind;
  long long queued_ns, ttft_ns, total_ns;
} al_store_gate_row;
int al_store_run_gate_rows(al_store *s, const char *run_id,
                           int (*cb)(const al_store_gate_row *r, void *ud), void *ud, al_error *err);

#ifdef __cplusplus
}
#endif
#endif
