/* JSON Schema -> GBNF grammar, for constrained sampling in the llama.cpp worker.
 *
 * The converter takes the common subset of JSON Schema that structured-output APIs use and
 * writes a GBNF grammar (llama.cpp's grammar format, root rule "root") whose every complete
 * sentence is compact-or-lightly-spaced JSON that validates against the schema:
 *
 *   type (one name or a list): object, array, string, number, integer, boolean, null
 *   object: properties, required, additionalProperties (false, true or a schema; the grammar
 *           never emits properties that are not listed, which every choice allows)
 *   array:  items (one schema), minItems, maxItems
 *   string: minLength, maxLength (format is an annotation and is ignored)
 *   number/integer: minimum 0 (and 1 / exclusiveMinimum 0 for integers)
 *   enum, const (any JSON values), anyOf / oneOf (as alternatives), {} and true (any value)
 *   annotations: title, description, default, examples, $schema, $id, $comment, format, ...
 *
 * Anything else ($ref, allOf, not, pattern, maximum, prefixItems, ...) is rejected with an
 * error that names the keyword and its JSON-pointer path. Strings without maxLength and
 * arrays without maxItems are capped (limits.h) so that generation always ends; optional
 * properties follow the required ones. Pure code: no libllama, fuzzed by fuzz_llama_schema.
 */
#ifndef AL_LLAMA_SCHEMA_GBNF_H
#define AL_LLAMA_SCHEMA_GBNF_H

#include <jansson.h>

#include "airlock/error.h"

/* What the grammar allows where the schema sets no bound (the worker's --json-string-cap
 * and --json-array-cap): small enough that a tiny model closes its JSON within max_tokens,
 * raise them for real models that write long strings. */
typedef struct al_schema_caps {
  int string_cap; /* characters of a string without maxLength; 1..AL_LLAMA_SCHEMA_MAX_REPEAT */
  int array_cap;  /* items of an array without maxItems; 1..AL_LLAMA_SCHEMA_MAX_REPEAT */
} al_schema_caps;

/* Convert schema into a NUL-terminated GBNF grammar in *out (free with al_free).
 * Returns 0, or AL_EUNSUPPORTED / AL_EINVAL / AL_ELIMIT / AL_ENOMEM with err filled
 * ("json_schema" as file, the JSON pointer of the offending part in the message).
 * caps NULL = AL_LLAMA_SCHEMA_STRING_CAP / AL_LLAMA_SCHEMA_ARRAY_CAP. */
int al_schema_to_gbnf_caps(const json_t *schema, const al_schema_caps *caps, char **out,
                           al_error *err);
int al_schema_to_gbnf(const json_t *schema, char **out, al_error *err);

#endif
