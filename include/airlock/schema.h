/* JSON Schema (draft 2020-12 and draft 7) validation on jansson values.
 *
 * Two phases, YARA's shape: al_schema_compile() walks the schema document once, resolves
 * every $id, $anchor, $ref, $dynamicRef and JSON pointer, compiles each `pattern` with PCRE2
 * and builds an immutable tree of nodes; al_schema_validate() then walks that tree against an
 * instance and is safe to call from many threads at once on the same compiled schema.
 *
 * References to other documents are looked up in an al_schema_registry (filled by the caller
 * from memory or a folder) and in the built-in draft meta-schemas; there is no network access,
 * ever. A compiled schema copies every document it uses, so the registry and the input value
 * may be freed right after compiling.
 *
 * Keywords that Airlock does not implement are refused at compile time (AL_EUNSUPPORTED, the
 * message names the keyword); the list is in docs/schema-conformance.md. `format` is an
 * annotation (never asserted), as both drafts specify by default.
 */
#ifndef AIRLOCK_SCHEMA_H
#define AIRLOCK_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

#include "airlock/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct al_schema al_schema;                   /* compiled, immutable, thread-safe */
typedef struct al_schema_registry al_schema_registry; /* documents by URI */

/* Draft used for resources that carry no `$schema`; a `$schema` naming a known draft wins.
 * AUTO means 2020-12. */
typedef enum { AL_SCHEMA_DRAFT_AUTO, AL_SCHEMA_DRAFT7, AL_SCHEMA_DRAFT2020 } al_schema_draft;

/* Compile a schema (object or boolean). remotes may be NULL. On failure *out stays NULL and
 * err (may be NULL) says what and where ("schema /properties/x/pattern: ..."). */
int al_schema_compile(const json_t *schema, al_schema_draft draft,
                      const al_schema_registry *remotes, al_schema **out, al_error *err);
/* Parse JSON text and compile it; parse errors carry line and column. */
int al_schema_compile_text(const char *text, size_t len, al_schema_draft draft, al_schema **out,
                           al_error *err);
/* 1: valid, 0: invalid (why, when not NULL, receives one line such as
 * "/items/2: 7 is not of type string (schema /properties/x/type)"), <0: error such as
 * AL_ELIMIT (evaluation depth, $ref cycle on the same value, regex match limit). */
int al_schema_validate(const al_schema *s, const json_t *instance, char *why, size_t why_len);
void al_schema_free(al_schema *s);

al_schema_registry *al_schema_registry_new(void);
/* Register doc under uri (absolute; a trailing '#' is ignored). doc is copied. */
int al_schema_registry_add(al_schema_registry *r, const char *uri, const json_t *doc);
/* Register every *.json file under dir (recursively) as base_uri + relative path, e.g.
 * dir/a/b.json with base "http://localhost:1234/" is "http://localhost:1234/a/b.json". */
int al_schema_registry_add_dir(al_schema_registry *r, const char *dir, const char *base_uri);
void al_schema_registry_free(al_schema_registry *r);

#ifdef __cplusplus
}
#endif
#endif
