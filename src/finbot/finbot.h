/* finbot: a scripted, deterministic stand-in for a bank-assistant LLM (calibration fixture).
 *
 * finbot pretends to be "FinBot", the assistant of the fictional Harbor & Pine Bank, behind
 * an OpenAI-compatible HTTP API. Its answers come from a table of intents (intents.def):
 * keyword rules over the last user message, each with a v1 and a v2 answer. v1 carries
 * planted flaws (system-prompt disclosure, investment advice in fiction framing, card-number
 * leak, broken JSON, latency that grows with load); v2 is the fixed model. Airlock's
 * pipeline, probes and detectors are calibrated against these known flaws.
 *
 * The program is split so that everything except the socket layer is plain functions over
 * bytes, testable and fuzzable without a server:
 *   request.c    JSON request body -> fb_request (validated; OpenAI-style errors)
 *   intents.c    fb_request -> fb_answer (intent table, tool calls, JSON mode, flaws 1-4)
 *   customers.c  synthetic customers (Luhn-valid test-range card numbers), PAN masking
 *   reply.c      fb_answer -> response bytes (JSON or SSE), tokens, pseudo-logprobs
 *   server.c     evhttp endpoints, v1's load-dependent delay (flaw 5) with evtimers
 *   main.c       command line, listening socket, signals
 */
#ifndef AIRLOCK_FINBOT_H
#define AIRLOCK_FINBOT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "airlock/buf.h"
#include "airlock/error.h"

/* finbot's own limits (see src/core/limits.h for the library's). */
#define FB_MAX_BODY_BYTES (1u << 20)     /* one request body */
#define FB_MAX_HEADERS_BYTES (64u << 10) /* all request headers */
#define FB_MAX_MESSAGES 1024             /* messages in one request */
#define FB_MAX_TOOLS 128                 /* tools offered in one request */
#define FB_MAX_TOP_LOGPROBS 20           /* OpenAI's own maximum */
#define FB_MAX_OUTPUT_BYTES (4u << 20)   /* one answer text */
#define FB_MAX_SCHEMA_DEPTH 16           /* json_schema instantiation depth */
#define FB_DELAY_PER_INFLIGHT_MS 2       /* v1: latency added per request in flight */
#define FB_MAX_DELAY_MS 2000             /* v1: cap on that latency */
#define FB_IDLE_TIMEOUT_S 120            /* idle keep-alive connections are closed */
#define FB_CREATED 1767225600            /* fixed "created" (2026-01-01): determinism */

#define FB_BANK "Harbor & Pine Bank"
#define FB_CANARY "FBCANARY-7Q2X-9KD4"

typedef enum fb_version { FB_V1 = 1, FB_V2 = 2 } fb_version;

/* The JSON text of a non-streaming answer's "choices" for one text, kept between requests
 * (--fixed answers every request with the same text; only the id and usage change). */
typedef struct fb_choices_cache {
  char *text;    /* the answer text it was made for */
  size_t len, n_emit;
  const char *finish;
  char *json;    /* the "choices" array, compact */
  char *env;     /* the envelope, compact, with a zero id (patched per answer) */
  int env_version;
} fb_choices_cache;

typedef struct fb_config {
  fb_version version;
  const char *fixed; /* non-NULL: answer every chat request with exactly this text */
  uint64_t seed;     /* default seed when a request has none */
  fb_choices_cache *cache; /* optional (the server sets one): reuse of the "choices" text */
} fb_config;

void fb_choices_cache_free(fb_choices_cache *c); /* accepts NULL */

/* The built-in system prompt, used when a request has no system message. */
extern const char fb_default_system_prompt[];

enum { FB_JSON_NONE = 0, FB_JSON_OBJECT = 1, FB_JSON_SCHEMA = 2 };

typedef struct fb_request {
  json_t *root;        /* owned: the parsed body */
  char *system_prompt; /* owned: first system/developer message, or NULL */
  char *last_user;     /* owned: text of the last user message ("" when none) */
  char *tool_result;   /* owned: last role:"tool" content after the last user message */
  int stream;
  int logprobs;
  int top_logprobs;     /* 0..FB_MAX_TOP_LOGPROBS */
  long long max_tokens; /* 0: no limit */
  int has_seed;
  uint64_t seed;
  int json_mode;        /* FB_JSON_* from response_format */
  const json_t *schema; /* borrowed from root: response_format.json_schema.schema */
  int has_lookup_tool;  /* tools offer a function named lookup_customer */
  int tool_choice_none; /* tool_choice: "none" */
  long long prompt_tokens;
} fb_request;

/* Parse and validate a chat-completions body. On failure returns AL_EPARSE / AL_EINVAL /
 * AL_EUNSUPPORTED / AL_ELIMIT, fills err (file "request body", line and column for JSON
 * syntax errors) and sets *param to the offending field name (or NULL). */
int fb_request_parse(fb_request *r, const char *body, size_t len, al_error *err,
                     const char **param);
void fb_request_cleanup(fb_request *r);

/* What finbot decided to say. */
typedef struct fb_answer {
  int is_tool_call;
  char intent[48]; /* name of the matched intent row ("fallback" when none) */
  al_buf text;     /* final assistant text; for a tool call, the arguments JSON */
  char tool_name[32];
  char tool_call_id[40];
  int json_broken; /* v1 deliberately broke the JSON of this answer */
} fb_answer;

void fb_answer_init(fb_answer *a);
void fb_answer_cleanup(fb_answer *a);
/* Decide the answer for a parsed request (pure: same input, same answer). */
int fb_answer_compute(const fb_request *rq, const fb_config *cfg, fb_answer *out);

/* Intent table access (for tests and docs). */
typedef struct fb_intent {
  const char *name;
  const char *match; /* "alt|alt + alt|alt": all groups must match; "word*" = prefix */
  unsigned flags;
  const char *v1;
  const char *v2;
} fb_intent;
enum { FB_NEEDS_ID = 1u };
const fb_intent *fb_intents(size_t *n);
/* 1 when the lower-cased text satisfies the match expression. */
int fb_match(const char *expr, const char *lower_text);

/* Synthetic customers: everything derived from a hash of the id. */
typedef struct fb_customer {
  char id[16];
  char name[48];
  char card[20]; /* 16 digits, Luhn-valid, test IIN 411111 or 555555 */
  char card_masked[24];
  char balance[32]; /* "EUR 1234.56" */
} fb_customer;
void fb_customer_make(const char *id, fb_customer *c);
int fb_luhn_valid(const char *digits, size_t n);
/* Replace every digit of each 13..19-digit run (spaces/dashes allowed between digits)
 * except the last four with '*'. In place; lengths unchanged. */
void fb_mask_pans(char *text, size_t len);

/* FNV-1a 64: the documented hash behind the deterministic choices (README). */
uint64_t fb_hash(const void *data, size_t len, uint64_t h0);
#define FB_HASH_INIT 0xcbf29ce484222325ull

/* Tokens: a run of whitespace followed by a word (letters, digits, UTF-8 bytes) or by a
 * single other character. Concatenated, the tokens are the text. Returns the count and
 * fills ends[i] (exclusive end offset) for up to max tokens. */
size_t fb_tokenize(const char *text, size_t len, size_t *ends, size_t max);

/* Response rendering. emit receives the body (non-streaming: once) or one SSE event at a
 * time ("data: ...\n\n"; the last is "data: [DONE]\n\n"). */
typedef int (*fb_emit_fn)(void *ctx, const char *data, size_t len);
int fb_render(const fb_request *rq, const fb_answer *a, const fb_config *cfg, uint64_t body_hash,
              fb_emit_fn emit, void *ctx);
/* Error body in OpenAI's shape; the caller frees the result with free(). */
char *fb_error_json(const char *message, const char *type, const char *param, const char *code);

/* The HTTP server (server.c): endpoints on an evhttp bound to a listening socket. */
struct event_base;
typedef struct fb_server fb_server;
int fb_server_new(struct event_base *base, const fb_config *cfg, fb_server **out);
/* Serve on fd, which is bound and listening; the server owns it from now on. */
int fb_server_accept(fb_server *s, int fd);
/* Requests currently held back by v1's load delay. */
long fb_server_in_flight(const fb_server *s);
void fb_server_free(fb_server *s);

#endif
