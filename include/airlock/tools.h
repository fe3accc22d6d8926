/* Mediated tools: the only way a model under test touches anything.
 *
 * A suite declares tools (name, description, JSON Schema of the arguments, and a backing:
 * a parameterised SQL query against the run's synthetic database opened read-only, a canned
 * answer, or deny). When the model calls a tool, Airlock checks the call against the test's
 * allowlist, validates the arguments against the schema, runs the backing, withholds data the
 * test marked off-limits, and returns the result for the next turn. Every call is logged; a
 * call outside the allowlist, with invalid arguments, or touching off-limits data is a
 * finding ("excessive agency") that fails the case.
 */
#ifndef AIRLOCK_TOOLS_H
#define AIRLOCK_TOOLS_H

#include <jansson.h>

#include "airlock/error.h"
#include "airlock/yaml.h"

typedef struct al_toolset al_toolset;

/* `list` is the suite's tools: mapping list; db_path the synthetic SQLite file (or NULL). */
int al_toolset_parse(const al_ydoc *d, const json_t *list, const char *db_path, al_toolset **out,
                     al_error *err);
void al_toolset_free(al_toolset *t);
int al_toolset_has(const al_toolset *t, const char *name);
/* The OpenAI `tools` array for the named tools (all when names is NULL). New reference. */
json_t *al_toolset_openai(const al_toolset *t, const json_t *names);

/* Mediate one call. allow: names the test allows (NULL = every offered tool); off_limits:
 * column/field names the model must not receive. Fills *log (a JSON object: id, name,
 * arguments, allowed, valid, finding, result) and *content (what the model is told).
 * Returns 1 if the call is a finding, 0 if not, <0 on internal error. */
int al_toolset_call(const al_toolset *t, const json_t *allow, const json_t *off_limits,
                    const json_t *call, json_t **log, char **content);

#endif
