/* Suites: what to evaluate and how to judge it.
 *
 * A suite (YAML) names a target, a system prompt, variables, tests and gate thresholds.
 * Loading validates everything up front -- unknown keys, wrong types, bad regexes, bad JSON
 * Schemas, missing files -- and reports the first problem as file:line:col. Inline tests
 * are compiled at load; tests from CSV/JSONL files (`tests_from:`) are read lazily, one case
 * at a time, so memory grows with cases in flight, not with the size of the suite.
 *
 * Each case gets a stable id: the SHA-256 of the suite digest and the case's own content
 * (its position, messages and assertions), so a resumed run recognises what it has done.
 */
#ifndef AIRLOCK_SUITE_H
#define AIRLOCK_SUITE_H

#include <jansson.h>
#include <stdint.h>

#include "airlock/error.h"
#include "airlock/yaml.h"

typedef struct al_assert al_assert; /* compiled assertion (eval/assert.c) */
typedef struct al_suite al_suite;

/* One case, ready to run. Owned by the caller of al_case_next(); free with al_case_free(). */
typedef struct al_case {
  char id[65];
  int64_t index;
  char *name;
  char *category;
  char *severity;
  json_t *tags;     /* array */
  json_t *meta;     /* object: location {file,line}, source, probe family, owasp, ... */
  char *meta_json;  /* meta as compact JSON (jansson's dump, insertion order), or NULL: an
                     * owner that changes meta after al_case_next must drop it */
  json_t *messages; /* chat messages, variables substituted, system prompt first */
  char *messages_json; /* messages as compact JSON, keys sorted (the case id hashes it): an
                        * adapter may send this text instead of dumping messages again;
                        * NULL when validating */
  json_t *params;   /* per-case generation parameters merged over the target's (or NULL) */
  json_t *response_schema; /* constrained output request, or NULL */
  json_t *tools;    /* tools offered (OpenAI shape), or NULL */
  json_t *allow_tools; /* names the model may call (NULL: every offered tool) */
  json_t *off_limits;  /* column names tool results must not hand the model, or NULL */
  json_t *vars;     /* variables in effect (for the command assertion) */
  al_assert **asserts;
  size_t n_asserts;
} al_case;

void al_case_free(al_case *c);

int al_suite_load(const char *path, al_suite **out, al_error *err);
/* Same, with variables that override the suite's `vars:` (e.g. from --var NAME=VALUE). */
int al_suite_load_with(const char *path, const json_t *vars, al_suite **out, al_error *err);
/* Same, with the target taken from a separate file whose root mapping is a target (the keys
 * of a suite's target:); it replaces the suite's own target (NULL: use the suite's). */
int al_suite_load_opts(const char *path, const json_t *vars, const char *target_path, al_suite **out,
                       al_error *err);
void al_suite_free(al_suite *s);

const char *al_suite_name(const al_suite *s);
const char *al_suite_path(const al_suite *s);
const char *al_suite_digest(const al_suite *s); /* sha256 of the suite and every file it reads */
const json_t *al_suite_target(const al_suite *s);     /* the target mapping, as written */
const json_t *al_suite_thresholds(const al_suite *s); /* normalised gate thresholds */
const char *al_suite_system_prompt(const al_suite *s); /* may be NULL */
uint64_t al_suite_seed(const al_suite *s);
struct al_target_config;
const struct al_target_config *al_suite_target_config(const al_suite *s);
const al_ydoc *al_suite_doc(const al_suite *s);
struct al_toolset;
const struct al_toolset *al_suite_toolset(const al_suite *s); /* NULL when no tools: */
struct al_alerts;
struct al_alerts *al_suite_alerts(const al_suite *s);          /* NULL when no alerts: */
/* Total number of cases (counts rows of tests_from files without keeping them). */
int64_t al_suite_case_count(const al_suite *s);

/* Iterate the cases in order. *out is NULL at the end. Errors in a tests_from row are
 * reported with the file and line of the row. */
typedef struct al_case_iter al_case_iter;
int al_case_iter_new(const al_suite *s, al_case_iter **out, al_error *err);
int al_case_next(al_case_iter *it, al_case **out, al_error *err);
void al_case_iter_free(al_case_iter *it);

/* {{name}} substitution from vars (object); unknown names are errors. Returns a new string. */
int al_subst(const char *tmpl, const json_t *vars, char **out, char *missing, size_t missing_len);

#endif
