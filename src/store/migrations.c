/* The store's schema, as an ordered list of migrations (component "store").
 *
 * Never edit a migration that has shipped: append a new one. Each is applied once, in its
 * own transaction, and recorded in schema_migrations (see migrate.c). Times are wall-clock
 * nanoseconds since the epoch (runs, attempts) or nanoseconds since the request was sent
 * (latencies, token arrival). JSON columns hold text written by jansson.
 *
 * Rows of a case hang off cases.id (case_ref) so the per-result tables stay narrow; every
 * child row is deleted with its case, and every case with its run.
 */
#include "store/store_int.h"

static const char m1_core[] =
    "CREATE TABLE runs ("
    "  id TEXT PRIMARY KEY,"
    "  suite_path TEXT NOT NULL DEFAULT '',"
    "  suite_name TEXT,"
    "  suite_digest TEXT NOT NULL DEFAULT '',"
    "  target_json TEXT,"
    "  model TEXT,"
    "  seed INTEGER NOT NULL DEFAULT 0,"
    "  airlock_version TEXT,"
    "  started_ns INTEGER NOT NULL,"
    "  ended_ns INTEGER,"
    "  status TEXT NOT NULL DEFAULT 'running'"
    "    CHECK (status IN ('running', 'completed', 'interrupted')),"
    "  exit_code INTEGER,"
    "  thresholds_json TEXT,"
    "  summary_json TEXT,"
    "  total_cases INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX runs_started ON runs (started_ns DESC);"
    "CREATE TABLE cases ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
    "  case_id TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  name TEXT,"
    "  category TEXT,"
    "  severity TEXT,"
    "  tags_json TEXT,"
    "  meta_json TEXT,"
    "  request_json TEXT,"
    "  UNIQUE (run_id, case_id)"
    ");"
    "CREATE INDEX cases_run_idx ON cases (run_id, idx);"
    "CREATE TABLE results ("
    "  case_ref INTEGER PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,"
    "  verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'error')),"
    "  error_kind TEXT,"
    "  error_msg TEXT,"
    "  output TEXT,"
    "  tool_calls_json TEXT,"
    "  finish_reason TEXT,"
    "  model TEXT,"
    "  start_ns INTEGER,"
    "  queued_ns INTEGER,"
    "  ttfb_ns INTEGER,"
    "  ttft_ns INTEGER,"
    "  total_ns INTEGER,"
    "  prompt_tokens INTEGER,"
    "  completion_tokens INTEGER"
    ");"
    "CREATE TABLE attempts ("
    "  case_ref INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
    "  n INTEGER NOT NULL,"
    "  http_status INTEGER,"
    "  error_kind TEXT,"
    "  error_msg TEXT,"
    "  start_ns INTEGER,"
    "  ttfb_ns INTEGER,"
    "  total_ns INTEGER,"
    "  PRIMARY KEY (case_ref, n)"
    ") WITHOUT ROWID;"
    "CREATE TABLE assertions ("
    "  case_ref INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  type TEXT,"
    "  label TEXT,"
    "  pass INTEGER NOT NULL,"
    "  score REAL,"
    "  message TEXT,"
    "  PRIMARY KEY (case_ref, seq)"
    ") WITHOUT ROWID;"
    "CREATE TABLE tokens ("
    "  case_ref INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  t_ns INTEGER,"
    "  text TEXT,"
    "  token_id INTEGER,"
    "  logprob REAL,"
    "  entropy REAL,"
    "  top_json TEXT,"
    "  PRIMARY KEY (case_ref, seq)"
    ") WITHOUT ROWID;";

/* results.verdict's CHECK as comparisons: SQLite evaluates `IN ('pass', 'fail', 'error')` by
 * building an ephemeral index of the three values on every insert (about 9,000
 * instructions, a tenth of storing a result). Nothing references results, so the table is
 * rebuilt in place. */
static const char m2_results_check[] =
    "CREATE TABLE results_v2 ("
    "  case_ref INTEGER PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,"
    "  verdict TEXT NOT NULL CHECK (verdict = 'pass' OR verdict = 'fail' OR verdict = 'error'),"
    "  error_kind TEXT,"
    "  error_msg TEXT,"
    "  output TEXT,"
    "  tool_calls_json TEXT,"
    "  finish_reason TEXT,"
    "  model TEXT,"
    "  start_ns INTEGER,"
    "  queued_ns INTEGER,"
    "  ttfb_ns INTEGER,"
    "  ttft_ns INTEGER,"
    "  total_ns INTEGER,"
    "  prompt_tokens INTEGER,"
    "  completion_tokens INTEGER"
    ");"
    "INSERT INTO results_v2 SELECT case_ref, verdict, error_kind, error_msg, output, tool_calls_json,"
    " finish_reason, model, start_ns, queued_ns, ttfb_ns, ttft_ns, total_ns, prompt_tokens,"
    " completion_tokens FROM results;"
    "DROP TABLE results;"
    "ALTER TABLE results_v2 RENAME TO results;";

const al_migration al_store_migrations[] = {
    {1, "runs, cases, results, attempts, assertions, tokens", m1_core},
    {2, "results.verdict checked by comparisons, not IN", m2_results_check},
};
const size_t al_store_n_migrations = sizeof al_store_migrations / sizeof al_store_migrations[0];
