/* The guard: an OpenAI-compatible proxy that scans every prompt and every streamed token.
 *
 * A policy (YAML, see examples/guard/policy.yaml) names the upstream, the clients (API keys
 * stored as SHA-256 hex), rate limits, size limits and timeouts, and two pipelines of
 * stages: input (prompts) and output (model text). A stage names detectors of the scan
 * engine (or a JSON Schema) and an action: allow (count only), redact (placeholders such
 * as [EMAIL_1], optionally restored in the answer: reversible), retry (drop the output,
 * ask upstream again, up to N times) or block (OpenAI-style error body).
 *
 * The guard runs on one libevent loop: its own HTTP/1.1 server (src/http/h1srv.c) serves
 * clients, src/http/upstream.c (on the same loop) talks to the upstream over pooled
 * keep-alive connections. Streaming answers are re-framed: no byte reaches the client before the scan
 * engine has declared it safe (al_scan_stream_safe_offset) and the hold-back window passed.
 * Every request, response, token and verdict goes to the audit log when one is configured.
 */
#ifndef AIRLOCK_GUARD_H
#define AIRLOCK_GUARD_H

#include <stddef.h>

#include "airlock/buf.h"
#include "airlock/error.h"

struct event_base;

typedef struct al_guard_policy al_guard_policy;
typedef struct al_guard al_guard;

/* Load and check a policy; errors name file:line:col. Schemas named by the policy are
 * compiled here (paths relative to the policy file). */
int al_guard_policy_load(const char *path, al_guard_policy **out, al_error *err);
int al_guard_policy_load_text(const char *text, size_t len, const char *name,
                              al_guard_policy **out, al_error *err);
void al_guard_policy_free(al_guard_policy *p);

/* "sha256 hex" of a client API key, as stored in a policy. */
void al_guard_hash_key(const char *key, char out[65]);

/* Binds the listen address of the policy (port 0: any free port) on base. The policy must
 * outlive the guard. Reads the upstream key from the environment variable it names. */
int al_guard_new(struct event_base *base, const al_guard_policy *p, al_guard **out,
                 al_error *err);
int al_guard_port(const al_guard *g);
/* Prometheus text of the guard's metrics (what GET /metrics answers). */
int al_guard_metrics(al_guard *g, al_buf *out);
/* Stops accepting, aborts transfers in flight, closes the audit log, frees. */
void al_guard_free(al_guard *g);

#endif
