/* Alerts: tell someone at once when a run finds a critical failure, while it is running.
 *
 * A suite's `alerts:` mapping names which severities fire, and where to:
 *
 *   alerts:
 *     on: [critical, high]              # severities of FAILED cases that fire (default: critical)
 *     webhook:
 *       url: "https://hooks.example.org/airlock"
 *       headers: {Authorization: "Bearer ..."}
 *       retries: 3                      # after the first attempt, on error or non-2xx
 *       timeout: 5s                     # per attempt
 *       backoff: 500ms                  # first retry delay, doubled each time (cap 10s)
 *     command: ["notify-send", "airlock"]   # argv; gets the same JSON on stdin
 *     command_timeout: 10s
 *     queue: 256                        # alerts waiting at most; more are dropped (counted)
 *
 * al_alerts_fire() never blocks the runner: it renders the evidence as JSON and puts it on
 * a bounded queue served by one worker thread (libcurl easy there; the command through
 * posix_spawn with the JSON on stdin). al_alerts_drain() waits, bounded, at the end of a
 * run. Counts are per delivery: an alert sent to both a webhook and a command counts twice.
 */
#ifndef AIRLOCK_ALERTS_H
#define AIRLOCK_ALERTS_H

#include <jansson.h>

#include "airlock/error.h"
#include "airlock/result.h"
#include "airlock/yaml.h"

typedef struct al_alerts al_alerts;

/* node: the suite's `alerts:` mapping (doc gives locations for errors; may be NULL). */
int al_alerts_parse(const al_ydoc *doc, const json_t *node, al_alerts **out, al_error *err);
/* After each stored result. Returns 1 when an alert was queued, 0 when the result does not
 * fire (not a FAIL, or its severity is not in `on`), AL_ELIMIT when the queue was full (the
 * alert is dropped and counted as failed), another negative code on error. */
int al_alerts_fire(al_alerts *a, const char *run_id, const al_case_result *r);
/* Wait up to timeout_ms for the queue to empty; *sent and *failed (either may be NULL) get
 * the delivery counts so far. AL_ETIMEOUT when deliveries are still pending. */
int al_alerts_drain(al_alerts *a, int timeout_ms, int *sent, int *failed);
/* Stops the worker (an attempt in flight is aborted), drops what is still queued. */
void al_alerts_free(al_alerts *a);

/* The evidence sent for a result: {event, run_id, case_id, name, category, severity,
 * verdict, failed_assertions: [{type, label, message}], output_excerpt, meta, tags, time}.
 * New reference, NULL on allocation failure. */
json_t *al_alerts_payload(const char *run_id, const al_case_result *r);

#endif
