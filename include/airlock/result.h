/* The result model shared by the runner, the store and the reports.
 *
 * A run evaluates many cases; each case ends in exactly one al_case_result whose verdict is
 * PASS, FAIL or ERROR. An ERROR (timeout, refused connection, unparseable response, ...)
 * never counts as a pass or a fail. Latencies are measured by the runner from the moment
 * the request is handed to the transport: time spent queued inside Airlock (waiting for a
 * concurrency slot or a rate-limit token) is kept apart in queued_ns and never folded into
 * the model's latency. Every streamed token is kept with its arrival time and, when the
 * target reports them, its log-probability, top alternatives and entropy.
 *
 * Ownership: the runner owns a result while the case is in flight; the store copies what it
 * keeps during al_store_put_result(), so the runner frees the result afterwards.
 */
#ifndef AIRLOCK_RESULT_H
#define AIRLOCK_RESULT_H

#include <stddef.h>
#include <stdint.h>

typedef enum al_verdict { AL_PASS = 0, AL_FAIL = 1, AL_ERROR = 2 } al_verdict;
const char *al_verdict_name(al_verdict v);

typedef struct al_top_logprob {
  char *text;
  int32_t id;      /* -1 when unknown */
  double logprob;
} al_top_logprob;

typedef struct al_token {
  int64_t t_ns;    /* arrival, ns since the attempt was sent */
  char *text;
  int32_t id;      /* -1 when unknown */
  int has_logprob;
  double logprob;
  double entropy;  /* NaN when unknown */
  int n_top;
  al_top_logprob *top;
} al_token;

typedef struct al_assert_result {
  char *type;      /* "contains", "regex", "json-schema", ... */
  char *label;     /* the assertion as written, short */
  int pass;
  double score;    /* 0..1; 1 for a plain pass */
  char *message;   /* why it failed (evidence), or NULL */
} al_assert_result;

/* One try at a case (retries make several). */
typedef struct al_attempt {
  int n;              /* 1-based */
  int http_status;    /* 0 when not HTTP or no answer */
  char *error_kind;   /* NULL, "timeout", "connect", "reset", "http", "parse", ... */
  char *error_msg;
  int64_t start_wall_ns;
  int64_t ttfb_ns, total_ns;
} al_attempt;

typedef struct al_case_result {
  char case_id[65];   /* sha256 hex, stable across runs of the same suite content */
  char *name;
  char *category;     /* "safety", "functional", "format", ... */
  char *severity;     /* "critical", "high", "medium", "low", "info" */
  char *tags_json;    /* JSON array, or NULL */
  char *meta_json;    /* JSON object of extra fields (probe family, OWASP id, ...), or NULL */
  int64_t index;      /* position in the suite */

  al_verdict verdict;
  char *error_kind;   /* for AL_ERROR */
  char *error_msg;

  char *request_json; /* what was sent last (messages etc.) */
  char *output;       /* final text */
  char *tool_calls_json;   /* JSON array, or NULL */
  char *finish_reason;
  char *model;        /* model id reported by the target */

  int64_t start_wall_ns;
  int64_t queued_ns;  /* inside Airlock before the first send */
  int64_t ttfb_ns;    /* send -> first byte of the response (last attempt) */
  int64_t ttft_ns;    /* send -> first token (streaming) or -1 */
  int64_t total_ns;   /* send -> last byte (last attempt) */
  int prompt_tokens, completion_tokens;   /* -1 when unknown */

  int n_attempts;
  al_attempt *attempts;
  int n_asserts;
  al_assert_result *asserts;
  size_t n_tokens;
  al_token *tokens;
} al_case_result;

void al_case_result_cleanup(al_case_result *r);

/* What identifies a run; stored once when it begins. */
typedef struct al_run_manifest {
  char run_id[40];        /* filled by the store */
  char suite_path[1024];
  char suite_digest[65];
  char *suite_name;
  char *target_json;      /* target config with secrets removed */
  char *model;
  uint64_t seed;
  const char *airlock_version;
  int64_t started_wall_ns;
  int64_t total_cases;
  char *thresholds_json;  /* gate thresholds per category */
} al_run_manifest;

#endif
