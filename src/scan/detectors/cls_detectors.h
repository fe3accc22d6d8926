/* The text-classifying detectors: refusal, toxicity, injection, leak.system_prompt.
 *
 * Each is a const al_detector record (include/airlock/scan.h) registered in
 * src/scan/detectors.def; they can also be driven directly (init / scan_full / fini), which
 * is how their unit tests and the bench run them. Options come from cfg->options under the
 * detector's name, e.g. {"toxicity": {"wordlist": "/path/list.txt", "threshold": 0.5}};
 * unknown keys and out-of-range values fail init with a message naming them.
 */
#ifndef AL_CLS_DETECTORS_H
#define AL_CLS_DETECTORS_H

#include <jansson.h>
#include <stddef.h>

#include "airlock/error.h"
#include "airlock/scan.h"

extern const al_detector al_det_refusal;
extern const al_detector al_det_toxicity;
extern const al_detector al_det_injection;
extern const al_detector al_det_leak_system_prompt;

/* Refusal confidence of a model output, 0 (complies) .. 1 (refuses), with the built-in
 * phrase set and default settings. Thread-safe; the first call builds the lexicon.
 * Returns 0 or a negative AL_E* code. */
int al_refusal_score(const char *text, size_t len, double *score);

/* --- helpers shared by the detectors (cls_opts.c) --- */

/* The options object for detector `name` (NULL when none). Fails when cfg->options has a
 * value for the name that is not an object. */
int cls_opts_get(const al_scan_config *cfg, const char *name, const json_t **out, al_error *err);
/* Fail on keys of obj not listed in allowed (NULL-terminated). */
int cls_opts_check_keys(const json_t *obj, const char *det, const char *const *allowed,
                        al_error *err);
/* A number option in [min,max]; *out untouched when absent. */
int cls_opts_number(const json_t *obj, const char *det, const char *key, double min, double max,
                    double *out, al_error *err);
/* Copy note text (printf-style) into a finding's note. */
void cls_note(al_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
