/* Probe packs, mutators and their expansion into suite tests.
 *
 * A probe pack (data/probes/NAME.yaml) is a list of attack or calibration prompts, each
 * with an id, a family, its OWASP Top 10 for LLM Applications (2025) entry, a severity,
 * a prompt (or scripted turns, or a generated many-shot dialogue) and the assertions that
 * decide whether the model failed. A suite's top-level `probes:` mapping names packs,
 * optional family filters and mutators; al_probes_expand() turns that into tests in the
 * same JSON shape as a suite's inline tests, so the suite loader builds them with the same
 * code (src/suite/suite.c). Every expanded test records where it came from in
 * meta.location {file, line} (the probe in its pack) and what was done to it in
 * meta.mutators.
 *
 * Mutators are rows of one table (src/probes/mutators.c): encodings (base64, hex, rot13),
 * character games (leetspeak, homoglyphs, zero-width and bidi insertion, case games),
 * framings (prefix/suffix wrappers, markdown and code blocks, language switches) and a
 * payload split across turns. They are seeded: the same (text, seed) always gives the same
 * output. Chains compose with '+', e.g. "leetspeak+base64".
 */
#ifndef AIRLOCK_PROBES_H
#define AIRLOCK_PROBES_H

#include <jansson.h>
#include <stdint.h>

#include "airlock/error.h"
#include "airlock/util.h"
#include "airlock/yaml.h"

/* ---- mutators ---------------------------------------------------------------------- */

enum {
  AL_MUT_REVERSIBLE = 1u << 0, /* al_mutator_decode() recovers the input exactly */
  AL_MUT_TURNS = 1u << 1,      /* rewrites the conversation (adds turns), not just text */
};

typedef struct al_mutator {
  const char *name;
  const char *description;
  unsigned flags;
  /* The transform of a text (no framing): out is a new string (al_free). */
  int (*encode)(const char *in, al_rng *rng, char **out);
  /* Inverse of encode for AL_MUT_REVERSIBLE mutators, else NULL. */
  int (*decode)(const char *in, char **out);
  /* Rewrite the conversation: turns is an array of {role, content}; the payload is the last
   * user turn. Text mutators encode it and wrap it in one of their framings. */
  int (*apply)(const struct al_mutator *m, json_t *turns, al_rng *rng);
  /* Framings around the encoded payload ("{payload}" marks its place), one picked per
   * case by the seed; NULL-terminated, or NULL for none. */
  const char *const *frames;
} al_mutator;

size_t al_mutator_count(void);
const al_mutator *al_mutator_get(size_t i);
const al_mutator *al_mutator_find(const char *name);

/* Encode / decode one text with one mutator (no framing). */
int al_mutator_encode(const char *name, const char *in, uint64_t seed, char **out, al_error *err);
int al_mutator_decode(const char *name, const char *in, char **out, al_error *err);

/* Apply a chain "a+b+c" to turns (in place) with a seed. Unknown names: AL_ENOTFOUND with
 * a message listing the known mutators. */
int al_mutate_turns(const char *chain, json_t *turns, uint64_t seed, al_error *err);

/* ---- packs ------------------------------------------------------------------------- */

/* Resolve a pack name ("prompt-injection") or path to a file: names are looked up in
 * $AIRLOCK_DATA/probes, else AL_SOURCE_ROOT/data/probes; paths (containing '/' or ending
 * in .yaml) are relative to base_dir. out gets at least 4096 bytes. */
int al_probes_resolve(const char *name, const char *base_dir, char *out, size_t outlen,
                      al_error *err);

/* Load and validate one pack; returns its probes as a JSON array of normalised probe
 * objects (each with meta.location {file, line}). Errors name file:line:col. */
int al_probes_load_pack(const char *path, json_t **probes_out, al_error *err);

/* Expand a suite's `probes:` node into tests (see docs/design/probes.md). suite_doc gives
 * error locations in the suite and its `vars:` (substituted before mutation); seed is the
 * suite's seed (the node's own `seed:` wins). *tests_out is a new JSON array. */
int al_probes_expand(const al_ydoc *suite_doc, const json_t *probes_node, const char *suite_dir,
                     uint64_t seed, json_t **tests_out, al_error *err);
/* The same with the effective variables given (the suite's `vars:` with --var overrides
 * applied), so overrides reach the mutated copies too; vars NULL = the suite's own. */
int al_probes_expand_vars(const al_ydoc *suite_doc, const json_t *probes_node, const char *suite_dir,
                          uint64_t seed, const json_t *vars, json_t **tests_out, al_error *err);

/* Many-shot: a fabricated dialogue of `shots` user/assistant pairs on `topic` (a template
 * set name), then the ask. Appends to turns. */
int al_probes_many_shot(json_t *turns, const char *topic, int shots, const char *ask,
                        uint64_t seed, al_error *err);

#endif
