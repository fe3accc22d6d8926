/* Internals of the guard: the loaded policy, the per-request state, and the pieces each
 * file provides (policy.c, request.c, redact.c, response.c, stream.c, upstream.c,
 * server.c, metrics.c). */
#ifndef AIRLOCK_GUARD_INT_H
#define AIRLOCK_GUARD_INT_H

#include <jansson.h>
#include <stdint.h>

#include "airlock/audit.h"
#include "airlock/buf.h"
#include "airlock/guard.h"
#include "airlock/scan.h"
#include "airlock/schema.h"
#include "airlock/sse.h"
#include "core/jarena.h"
#include "guard/limits.h"

/* Actions, weakest first: the strongest action of all matching stages wins. */
typedef enum gact { G_ALLOW = 0, G_REDACT = 1, G_RETRY = 2, G_BLOCK = 3 } gact;
const char *al_guard_act_name(gact a);

typedef struct gstage {
  char **detectors; /* names or prefixes */
  size_t n_detectors;
  gact action;
  int reversible;   /* redact: restore originals in the answer */
  int max_retries;  /* retry */
  al_schema *schema; /* output only: the text must be JSON valid against it */
  char *schema_path;
} gstage;

typedef struct gpipe {
  gstage *st;
  size_t n;
  al_scan_db *db;   /* union of the stages' detectors; NULL when none */
  int has_schema;
  int max_retries;  /* largest of the retry stages */
} gpipe;

typedef struct gclient {
  char *name;
  char key_sha256[65];
  double rate, burst; /* requests per second; 0 = unlimited */
} gclient;

enum { G_ROUTE_CHAT = 0, G_ROUTE_COMPLETIONS = 1, G_ROUTE_MODELS = 2, G_ROUTE_N = 3 };

typedef struct groute {
  int enabled;
  int allow_stream;
  long long timeout_ms; /* 0: policy default */
} groute;

struct al_guard_policy {
  char *name;
  char listen_host[128];
  int listen_port;
  char *upstream_base;  /* no trailing slash; paths /v1/x map to base + /x */
  char *upstream_key_env;
  long long timeout_ms, connect_timeout_ms, client_timeout_ms;
  long max_connections;
  size_t max_request_bytes, max_response_bytes, window;
  gclient *clients;
  size_t n_clients;
  gpipe in, out;
  groute routes[G_ROUTE_N];
  /* audit */
  char *audit_dir, *audit_key;
  al_audit_fsync audit_fsync;
  al_audit_pii audit_pii;
  long long audit_checkpoint_every;
  al_scan_db *audit_db; /* for audit pii hash/redact */
  /* scan engine configuration shared by the pipelines */
  char *system_prompt;
  char **canaries;
  size_t n_canaries;
  json_t *scan_options;
  /* OTLP/HTTP JSON export, one span per model call */
  char *otlp_endpoint; /* base URL; spans go to {endpoint}/v1/traces */
  char *otlp_service;
  long long otlp_timeout_ms;
};

/* ---- findings and placeholders (redact.c) ---- */
typedef struct gfind {
  uint64_t start, end;
  const char *detector; /* static (registry) string */
  gact action;
  int reversible;
} gfind;

typedef struct gfinds {
  gfind *v;
  size_t n, cap;
  int oom;
} gfinds;

typedef struct gph {
  char label[48]; /* "[EMAIL_1]" */
  char *value;
  size_t vlen;
  int restore;
} gph;

typedef struct gmap {
  gph *v;
  size_t n, cap;
} gmap;

void al_gfinds_reset(gfinds *f);
int al_gfinds_push(gfinds *f, const gfind *g);
void al_gfinds_cleanup(gfinds *f);
/* Finding callback for al_scan/al_scan_stream: maps the detector to the stages of pipe,
 * keeps the finding with the strongest action (allow findings are kept to be counted). */
typedef struct gscan_ctx {
  const gpipe *pipe;
  gfinds *finds;
} gscan_ctx;
int al_guard_on_finding(const al_finding *f, void *ud);
/* Strongest action among findings; *which receives the first finding with it. */
gact al_gfinds_verdict(const gfinds *f, const gfind **which);

void al_gmap_cleanup(gmap *m);
/* Writes text with redact findings (sorted, non-overlapping after merge) replaced by
 * placeholders from m (new ones added, restore flag as the finding says). Spans with
 * start < from are skipped; offsets are relative to `base`. */
int al_guard_redact(const char *text, size_t len, uint64_t base, gfinds *f, gmap *m,
                    al_buf *out);
/* Writes text with every restorable placeholder of m replaced by its original. */
int al_guard_restore(const char *text, size_t len, const gmap *m, al_buf *out);
/* Length of a trailing prefix of text that could be the start of a placeholder ("[EM"):
 * released text stops before it so a placeholder split across chunks is restored whole. */
size_t al_guard_partial_placeholder(const char *text, size_t len);

/* ---- request bodies (request.c) ---- */
typedef struct gslot {
  const char *text; /* the text (into the body, own, or str's value) */
  size_t len;
  json_t *str;      /* a string node inside root (borrowed); NULL until the tree exists */
  char where[64];   /* "messages[1].content" */
} gslot;

typedef struct greq {
  json_t *root;     /* NULL when parsed by the fast path (jfast.c) and not rewritten since */
  int stream;
  const char *model;
  int has_n;        /* "n" is an integer: n_value */
  long long n_value;
  gslot *slots;
  size_t n;
  /* fast path: the body (the caller's, valid while the request is being parsed and
   * scanned), texts that had escapes, and the model */
  const char *body;
  size_t body_len;
  char *own, *model_own;
  int route;
} greq;

/* Parses a client body for route (chat or completions): a JSON object with the fields the
 * route needs; every text the model will read becomes a slot. why receives a sentence. */
int al_guard_request_parse(int route, const char *body, size_t len, greq *out, char *why,
                           size_t why_len);
void al_guard_request_cleanup(greq *r);
/* Runs the input pipeline over the slots: redacts in place (*changed = 1); on block
 * fills *blocked. */
/* Texts the input pipeline found clean (scache.c): skipped when they come again. */
typedef struct gscache gscache;
gscache *al_gscache_new(size_t entries, size_t max_bytes);
void al_gscache_free(gscache *c);
/* 1 when text was stored as clean; *h receives its hash for al_gscache_put. */
int al_gscache_clean(gscache *c, const char *text, size_t len, uint64_t *h);
void al_gscache_put(gscache *c, const char *text, size_t len, uint64_t h);
void al_gscache_stats(const gscache *c, uint64_t *hits, uint64_t *misses);

int al_guard_input(const gpipe *pipe, al_scanner *s, greq *r, gmap *m, gfinds *all,
                   const gfind **blocked, const char **blocked_where, int *changed, gscache *cache);
/* Builds r's jansson tree (after the fast path) so it can be rewritten; no-op with one. */
int al_guard_request_tree(greq *r);

/* ---- the JSON fast path (jfast.c) ---- */
/* A request body located by yajl, 1; 0 when the jansson path must decide (anything but a
 * plain, valid body); AL_ENOMEM. out is left as al_guard_request_parse leaves it, with no
 * tree (root NULL) and body pointing to the caller's bytes. */
int al_gfast_request(int route, const char *body, size_t len, greq *out);
typedef struct gfast_texts {
  struct {
    const char *text;
    size_t len;
    size_t choice;
  } *v;
  size_t n;
  char *own;
} gfast_texts;
/* The texts of an answer's choices (chat: message.content; completions: text), 1; 0: give
 * up (tool calls, odd shapes, anything jansson might see otherwise); AL_ENOMEM. */
int al_gfast_answer(int route, const char *body, size_t len, gfast_texts *out);
void al_gfast_texts_cleanup(gfast_texts *t);
/* On by default; off: every body goes through jansson (tests compare the two). */
void al_gfast_enable(int on);
int al_gfast_enabled(void);

/* ---- non-streaming answers (response.c) ---- */
typedef struct gout_result {
  gact verdict;
  int unchanged; /* allow with no text rewritten: *out_body is NULL, send the input bytes */
  const char *detector; /* what blocked / asked for a retry */
  char why[256];
} gout_result;
/* Checks and rewrites an upstream JSON answer (chat or completions): output pipeline on
 * every choice's text, schema stages, then placeholder restore. *out_body is the body to
 * send (caller frees) when the verdict is allow/redact and something was rewritten. */
/* JSON trees parsed and dropped within one call live in the thread's arena: core/jarena.h. */

int al_guard_output(const gpipe *pipe, al_scanner *s, int route, const char *body, size_t len,
                    gmap *m, gfinds *all, gout_result *res, char **out_body, size_t *out_len,
                    json_t **texts);

/* ---- streaming answers (stream.c) ---- */
typedef struct gstream gstream;
/* emit: bytes to send to the client (SSE framed). */
typedef int (*gstream_emit)(const char *bytes, size_t n, void *ud);
/* token: one upstream content delta (for the audit log). */
typedef void (*gstream_token)(const char *text, size_t n, void *ud);
int al_gstream_new(const gpipe *pipe, al_scanner *s, int route, size_t window, size_t max_bytes,
                   gmap *m, gfinds *all, gstream_emit emit, gstream_token token, void *ud,
                   gstream **out);
/* Upstream bytes in. Returns 0, or AL_EINTEGRITY once blocked (the error event and [DONE]
 * have been emitted), or another error (an error event has been emitted). */
int al_gstream_feed(gstream *g, const char *bytes, size_t n);
/* Upstream finished: flush what is held, emit the final chunk and [DONE]. */
int al_gstream_finish(gstream *g);
/* Upstream failed mid-stream: emit an error event and [DONE]. */
int al_gstream_fail(gstream *g, const char *code, const char *message);
const char *al_gstream_blocked_by(const gstream *g);
const char *al_gstream_text(const gstream *g, size_t *len); /* all upstream content */
int al_gstream_done(const gstream *g);
/* The template fast path (stream.c, top): on unless switched off here, before the first
 * feed; off, every event is parsed whole. The same bytes, findings and text either way. */
void al_gstream_set_template(gstream *g, int on);
/* Text is fed to the scan stream at least every bytes (0: at every delta) while nothing can
 * be released yet; default AL_GUARD_STREAM_SCAN_BATCH. Tests compare the two. */
void al_gstream_set_scan_batch(gstream *g, size_t bytes);
uint64_t al_gstream_fast_events(const gstream *g); /* events handled by a template */
void al_gstream_free(gstream *g);

/* OpenAI-style error body. */
int al_guard_error_body(al_buf *b, const char *type, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- OpenTelemetry (otlp.c) ---- */
typedef struct gspan {
  const char *service, *operation, *model, *response_model, *request_id, *verdict;
  int64_t start_wall_ns, end_wall_ns;
  long long input_tokens, output_tokens; /* -1 when unknown */
  int status, attempts;
  uint64_t chunks;
  const gfinds *finds;
} gspan;
/* The OTLP/HTTP JSON body of one span (gen_ai.* attributes, airlock.* for the guard). */
int al_guard_otlp_span(const gspan *s, al_buf *out);

/* ---- metrics (metrics.c) ---- */
typedef struct gmetrics gmetrics;
gmetrics *al_gmetrics_new(void);
void al_gmetrics_free(gmetrics *m);
void al_gmetrics_request(gmetrics *m, const char *verdict, double seconds, double overhead);
void al_gmetrics_hits(gmetrics *m, const gfinds *f);
void al_gmetrics_upstream(gmetrics *m, const char *outcome);
int al_gmetrics_render(gmetrics *m, al_buf *out, long in_flight);

#endif
