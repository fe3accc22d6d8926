/* Hard limits of the JSON Schema subsystem (src/core/limits.h holds AL_MAX_SCHEMA_DEPTH).
 * Passing one is an error (AL_ELIMIT), never a silent truncation or a silent pass. */
#ifndef AL_SCHEMA_LIMITS_H
#define AL_SCHEMA_LIMITS_H

#include "core/limits.h"

/* Nesting of subschemas inside one document, checked at compile time. */
#define AL_SCHEMA_MAX_NESTING AL_MAX_SCHEMA_DEPTH
/* Nested evaluations (applicators and $ref hops) while validating one instance. A recursive
 * schema walks deeper than it nests, so this is a multiple of the nesting limit. */
#define AL_SCHEMA_MAX_EVAL_DEPTH (4 * AL_MAX_SCHEMA_DEPTH)
/* Subschema applications while validating one instance: the larger of a fixed budget and a
 * multiple of the number of values in the instance. Bounds the time a crafted schema (anyOf
 * over anyOf over ... the same value: exponential) can take, while a big but honest
 * instance is never refused for its size alone. */
#define AL_SCHEMA_MAX_EVAL_STEPS (1ull << 23)
#define AL_SCHEMA_EVAL_STEPS_PER_VALUE 64
/* `$schema` pointing at a custom meta-schema pointing at another one ... */
#define AL_SCHEMA_MAX_META_CHAIN 8
/* Documents one compiled schema may pull in through $ref (main + remotes + meta-schemas). */
#define AL_SCHEMA_MAX_DOCUMENTS 256
/* Size of one file read by al_schema_registry_add_dir(). */
#define AL_SCHEMA_MAX_FILE_BYTES (16u << 20)
/* PCRE2 match and backtracking-depth limits for `pattern` / `patternProperties`. */
#define AL_SCHEMA_REGEX_MATCH_LIMIT 1000000u
#define AL_SCHEMA_REGEX_DEPTH_LIMIT 10000u
/* Characters of an instance value quoted in a failure message. */
#define AL_SCHEMA_WHY_VALUE_CHARS 48

#endif
