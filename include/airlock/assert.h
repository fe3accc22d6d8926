/* Assertions: the checks a case's output must pass.
 *
 * Compiled once when the suite loads (regexes with PCRE2, JSON Schemas with the schema
 * validator), evaluated per result. Types: equals, contains, icontains, not-contains,
 * not-icontains, regex, not-regex, starts-with, is-json, json-schema, max-length,
 * max-tokens, latency (ttft_ms / total_ms), command (an external program gets the case and
 * the output as JSON on stdin and answers {"pass": bool, "score": 0..1, "reason": "..."}),
 * and detector checks (not-detect / detect) that run the scan engine over the output.
 */
#ifndef AIRLOCK_ASSERT_H
#define AIRLOCK_ASSERT_H

#include <jansson.h>

#include "airlock/error.h"
#include "airlock/result.h"
#include "airlock/yaml.h"

typedef struct al_assert al_assert;
struct al_suite;

/* Compile the assertion written as `node` (an item of an `assert:` list) with variables
 * substituted. `file_dir` resolves relative paths (schema files). */
int al_assert_compile(const al_ydoc *doc, const json_t *list, size_t index, const json_t *vars,
                      const char *file_dir, al_assert **out, al_error *err);
/* Same, from a JSON value without a document (tests_from rows, probes); `where` names it. */
int al_assert_compile_json(const json_t *node, const json_t *vars, const char *file_dir,
                           const char *where, al_assert **out, al_error *err);
void al_assert_free(al_assert *a); /* drops one reference; frees with the last */
const char *al_assert_type(const al_assert *a);
/* Another reference to a compiled assertion (evaluation never changes it, so cases may share
 * one); each reference is dropped with al_assert_free. */
al_assert *al_assert_ref(al_assert *a);
/* 1 when no string in the assertion `node` holds "{{": it then compiles the same whatever
 * the variables, and one compiled copy can serve every case. */
int al_assert_var_free(const json_t *node);

/* What an assertion sees. */
typedef struct al_assert_input {
  const char *output;
  size_t output_len;
  const al_case_result *result; /* latency, tokens, finish reason */
  const json_t *case_json;      /* for `command`: name, messages, vars */
  const char *system_prompt;    /* for leak detectors */
} al_assert_input;

/* Fill *res (type, label, pass, score, message). Returns 0, or <0 if the assertion itself
 * could not run (then res->pass = 0 and message says why). */
int al_assert_eval(const al_assert *a, const al_assert_input *in, al_assert_result *res);

#endif
