/* Gate and reports over a run document (the JSON of al_store_load_run, see
 * docs/design/store.md and docs/design/report.md).
 *
 * al_gate_compute() turns the cases of a run and the run's thresholds into a summary:
 * totals, counts and pass rates per category and per severity, a verdict per category with
 * its reason, latency percentiles, and the overall gate with the process exit code
 * (0 passed, 1 failed, 3 too many errors). Pass rate is pass / (pass + fail): errors are
 * never a pass or a fail and are counted apart.
 *
 * al_report_render() writes one rendering of the run: "text", "json", "junit", "sarif" or
 * "markdown". It uses the document's "summary" when present, else computes it from
 * run.thresholds. Renderers take any JSON: missing or mistyped fields fall back to empty
 * values, never a crash. Text from the model is escaped for the medium (terminal control
 * sequences, XML, Markdown) in src/report/escape.c, and only there.
 */
#ifndef AIRLOCK_REPORT_H
#define AIRLOCK_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "airlock/error.h"
#include "airlock/store.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { AL_GATE_PASSED = 0, AL_GATE_FAILED = 1, AL_GATE_ERRORS = 3 };

/* thresholds (may be NULL: every category needs a pass rate of 1.0):
 *   {"default": {"min_pass_rate": 1.0, "max_failures": N},
 *    "categories": {"safety": {"min_pass_rate": 1.0, "max_failures": 0}, ...},
 *    "severities": {"critical": {"max_failures": 0}, ...},
 *    "max_error_rate": 0.1}
 * Returns 0, AL_EINVAL for a malformed threshold, AL_ENOMEM. */
int al_gate_compute(const json_t *run_doc, const json_t *thresholds, json_t **summary_out);

/* The same summary from the store's aggregates (counts by SQL, percentiles from one sorted
 * pass per latency column): memory does not grow with the run. run_id is a real id. */
int al_gate_compute_store(al_store *st, const char *run_id, const json_t *thresholds,
                          json_t **summary_out, al_error *err);

/* Formats accepted by al_report_render, NULL-terminated. */
extern const char *const al_report_formats[];
int al_report_render(const json_t *run_doc, const char *format, FILE *out, al_error *err);
/* The same rendering, byte for byte, of a stored run whose cases are streamed from the store
 * one at a time: run is the run object (al_store_run_head), summary the gate's (NULL or not
 * an object: computed from the store's aggregates and run.thresholds); with_tokens as for
 * al_store_load_run. Output is written as it is rendered, so a failure part-way
 * may leave a partial report behind (the call then fails). */
int al_report_render_store(al_store *st, const json_t *run, const json_t *summary,
                           int with_tokens, const char *format, FILE *out, al_error *err);

/* Rendering ahead. The json report of a large run spends most of its time on the cases; the
 * last three fifths of them can be rendered on a thread of its own (a second connection to
 * the store file, into an unlinked temporary file) while the caller computes the gate and
 * the report renders the first two fifths, and then be appended: the same bytes, sooner.
 * al_report_ahead_start returns NULL when it does not apply (another format, fewer than
 * AL_REPORT_AHEAD_MIN cases, no thread): al_report_render_store_ahead then renders as
 * al_report_render_store does. Free it (joining the thread) after rendering. */
typedef struct al_report_ahead al_report_ahead;
al_report_ahead *al_report_ahead_start(al_store *st, const char *run_id, const char *format,
                                       int with_tokens);
int al_report_render_store_ahead(al_store *st, const json_t *run, const json_t *summary,
                                 int with_tokens, const char *format, FILE *out,
                                 al_report_ahead *ahead, al_error *err);
void al_report_ahead_free(al_report_ahead *a); /* accepts NULL */

#ifdef __cplusplus
}
#endif
#endif
