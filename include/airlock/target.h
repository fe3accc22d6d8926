/* Targets: what is evaluated, and adapters that only transform bytes.
 *
 * A target adapter builds the bytes of a request and parses the bytes of a response, a
 * streamed event, or an error -- nothing else. The runner owns every socket, pipe, timer,
 * retry and rate limit, so an adapter is testable with canned bytes, fuzzable, and reusable
 * by the guard and shadow proxies. The registry is a table (registry.c):
 *   openai  OpenAI-compatible chat completions over HTTP(S) or a unix socket, JSON or SSE
 *   exec    a (jailed) command speaking the JSON-lines protocol (docs/design/exec-protocol.md)
 *   llama   a local GGUF model in Airlock's jailed llama.cpp worker (exec protocol)
 */
#ifndef AIRLOCK_TARGET_H
#define AIRLOCK_TARGET_H

#include <jansson.h>
#include <stdint.h>

#include "airlock/buf.h"
#include "airlock/error.h"
#include "airlock/result.h"
#include "airlock/yaml.h"

enum { AL_TRANSPORT_HTTP = 1, AL_TRANSPORT_EXEC = 2 };

typedef struct al_target_ops al_target_ops;

typedef struct al_target_config {
  const al_target_ops *ops;
  const char *type;
  /* http */
  char *base_url;          /* e.g. http://127.0.0.1:8080/v1 */
  char *unix_socket;       /* connect here instead of TCP (base_url still names the host) */
  char *model;
  char *api_key_env;       /* name of the environment variable holding the key */
  json_t *headers;         /* {name: value} */
  int stream, logprobs, top_logprobs;
  int insecure;            /* skip TLS verification (logged) */
  char *ca_file;
  /* common */
  json_t *params;          /* generation parameters: temperature, max_tokens, seed, top_p, stop */
  long long timeout_ms, connect_timeout_ms;
  int max_in_flight;
  double requests_per_second, tokens_per_minute; /* 0 = unlimited */
  int max_retries;
  long long backoff_ms, max_backoff_ms;
  double max_error_rate;   /* stop the run early when errors pass this rate (after 20 cases) */
  /* launch: a server Airlock starts and stops */
  char **launch_argv;      /* NULL-terminated, or NULL */
  char *ready_url;         /* polled until it answers 2xx */
  long long ready_timeout_ms;
  int jail;                /* run launched/exec processes in the jail (default 1) */
  char *jail_policy;       /* path, or NULL for the default policy */
  json_t *env;             /* extra environment for launched/exec processes */
  /* exec / llama */
  char **command;          /* NULL-terminated */
  int workers;             /* processes in the pool */
  char *model_path;        /* llama: GGUF file (bound read-only into the jail) */
  char *lib_dir;           /* llama: folder of libllama/libggml (bound read-only into the jail) */
  json_t *raw;             /* the mapping as written, secrets removed, for the manifest */
} al_target_config;

/* What to generate. */
typedef struct al_gen_request {
  const char *id;
  const json_t *messages;
  const json_t *tools;           /* OpenAI tool list, or NULL */
  const json_t *params;          /* merged: target params < case params */
  const json_t *response_schema; /* or NULL */
  const char *messages_json;     /* messages as compact JSON text, or NULL (al_case) */
} al_gen_request;

/* What came back, accumulated across chunks. */
typedef struct al_gen_output {
  al_buf text;
  al_token *tokens;
  size_t n_tokens, cap_tokens;
  json_t *tool_calls;     /* array, or NULL */
  json_t *tool_acc;       /* streaming tool-call deltas being assembled */
  char finish_reason[32];
  char model[128];
  int prompt_tokens, completion_tokens;
  int done;
  int64_t t0_ns;          /* when the request was sent (monotonic) */
  int64_t first_token_ns; /* -1 until the first content token */
} al_gen_output;

void al_gen_output_init(al_gen_output *o, int64_t t0_ns);
void al_gen_output_cleanup(al_gen_output *o);
/* Append a token (takes text as bytes); sets first_token_ns. Returns the token. */
al_token *al_gen_output_add_token(al_gen_output *o, const char *text, size_t len, int64_t now_ns);

struct al_target_ops {
  const char *name;
  const char *description;
  int transport;
  /* Extra config keys this adapter accepts, NULL-terminated; parse them into cfg. */
  const char *const *keys;
  int (*parse_config)(const al_ydoc *doc, const json_t *node, const char *dir,
                      al_target_config *cfg, al_error *err);
  /* HTTP: body and path (appended to base_url). EXEC: one line (without '\n'). */
  int (*build_request)(const al_target_config *cfg, const al_gen_request *req, al_buf *body,
                       al_buf *path);
  /* A whole (non-streamed) response body. */
  int (*parse_response)(const al_target_config *cfg, const char *body, size_t len,
                        al_gen_output *out, al_error *err);
  /* One streamed event (SSE data, or one JSON line). Sets out->done at the end. */
  int (*parse_event)(const al_target_config *cfg, const char *data, size_t len,
                     al_gen_output *out, int64_t now_ns, al_error *err);
  /* Retry? 1 yes, 0 no. status: HTTP status or 0; transport: 0 or a curl/errno code. */
  int (*should_retry)(int status, int transport_error);
  /* Error body → a short message for the result. */
  void (*error_message)(const char *body, size_t len, char *out, size_t n);
};

size_t al_target_count(void);
const al_target_ops *al_target_get(size_t i);
const al_target_ops *al_target_find(const char *name);

int al_target_config_parse(const al_ydoc *doc, const json_t *node, const char *dir,
                           al_target_config **out, al_error *err);
void al_target_config_free(al_target_config *cfg);
/* Merge the target's params with a case's (case wins). New reference. */
json_t *al_target_params(const al_target_config *cfg, const json_t *case_params);

#endif
