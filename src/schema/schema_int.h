/* Internals of the JSON Schema subsystem, shared by its files only.
 *
 * A compiled al_schema is a graph of sch_node, one per subschema that validation can reach.
 * Each node holds its keywords already decoded (limits as integers, `pattern` as PCRE2 code,
 * subschemas as node pointers, `$ref` as the target node), so validation never looks at the
 * schema JSON again except for `enum`/`const` values and numeric bounds (borrowed from the
 * documents the schema owns). Nodes know their schema resource (the enclosing `$id`), which
 * validation needs for the dynamic scope of `$dynamicRef`.
 *
 * Files: map.c (hash map), uri.c (RFC 3986 reference resolution, JSON pointers), value.c
 * (JSON Schema equality, numbers, UTF-8), meta.c (built-in meta-schemas), registry.c,
 * scan.c (identifiers and anchors of a document), compile.c (nodes), validate.c.
 */
#ifndef AL_SCHEMA_INT_H
#define AL_SCHEMA_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "airlock/error.h"
#include "airlock/schema.h"
#include "schema/schema_limits.h"

/* ---- map.c: open-addressing hash map, byte-string keys (copied), void * values ---- */
typedef struct sch_map_ent {
  char *key;
  size_t klen;
  uint64_t hash;
  void *val;
} sch_map_ent;

typedef struct sch_map {
  sch_map_ent *ents;
  size_t cap; /* power of two or 0 */
  size_t len;
} sch_map;

uint64_t sch_hash_bytes(const void *p, size_t n, uint64_t seed);
void *sch_map_get(const sch_map *m, const void *key, size_t klen);
/* Insert or replace. Returns 0 or AL_ENOMEM. */
int sch_map_put(sch_map *m, const void *key, size_t klen, void *val);
void sch_map_clear(sch_map *m, void (*free_val)(void *));
static inline void *sch_map_gets(const sch_map *m, const char *s) {
  return sch_map_get(m, s, __builtin_strlen(s));
}
static inline int sch_map_puts(sch_map *m, const char *s, void *v) {
  return sch_map_put(m, s, __builtin_strlen(s), v);
}
static inline void *sch_map_getp(const sch_map *m, const void *p) {
  return sch_map_get(m, &p, sizeof p);
}
static inline int sch_map_putp(sch_map *m, const void *p, void *v) {
  return sch_map_put(m, &p, sizeof p, v);
}

/* ---- uri.c ---- */
/* Resolve reference ref against absolute base (RFC 3986 section 5.2). NULL on no memory. */
char *sch_uri_resolve(const char *base, const char *ref);
/* 1 when s has a scheme ("x:"), i.e. is absolute (fragment allowed). */
int sch_uri_is_absolute(const char *s);
/* Copy of uri without its fragment; *frag (may be NULL) gets a malloc'd percent-decoded
 * fragment, "" when the '#' is present but empty, NULL when there is none. */
char *sch_uri_split(const char *uri, char **frag);
/* Append the JSON-pointer escape of s (~0, ~1) to the malloc'd string *dst. */
int sch_ptr_append(char **dst, const char *s);
/* Follow JSON pointer ptr ("" or "/a/b") from root; NULL when it does not exist.
 * on_step, when not NULL, is called with every value passed through (root included). */
json_t *sch_ptr_get(json_t *root, const char *ptr, void (*on_step)(void *, json_t *), void *arg);

/* ---- value.c ---- */
int sch_json_equal(const json_t *a, const json_t *b); /* 1 == (1.0 == 1) */
uint64_t sch_json_hash(const json_t *v);
int sch_num_cmp(const json_t *a, const json_t *b); /* -1 0 1, exact across int/real */
int sch_is_integer(const json_t *v);               /* int, or real with no fraction */
int sch_multiple_of(const json_t *v, const json_t *m);
size_t sch_utf8_len(const char *s, size_t n); /* code points */
/* Non-negative integer value of a keyword (int or integral real); -1 when not one. */
long long sch_nonneg_int(const json_t *v);
/* Copy of an ECMA-262 pattern rewritten for PCRE2 (Unicode property names). */
char *sch_regex_from_ecma(const char *src, size_t len, size_t *out_len);

/* ---- meta.c: the meta-schemas of draft 7 and 2020-12 (with its vocabularies) ---- */
/* New reference to the parsed meta-schema at uri (no '#'), or NULL when not built in. */
json_t *sch_builtin_load(const char *uri);

/* ---- registry.c ---- */
struct al_schema_registry {
  sch_map docs; /* uri (no fragment) -> json_t * (owned) */
};
/* Borrowed document for uri (no fragment) from r, or NULL. */
const json_t *sch_registry_get(const al_schema_registry *r, const char *uri);

/* ---- drafts and vocabularies ---- */
enum { SCH_DRAFT7 = 7, SCH_DRAFT2020 = 2020 };
enum {
  SCH_V_CORE = 1u << 0,
  SCH_V_APPLICATOR = 1u << 1,
  SCH_V_UNEVALUATED = 1u << 2,
  SCH_V_VALIDATION = 1u << 3,
  SCH_V_METADATA = 1u << 4,
  SCH_V_FORMAT_ANNOTATION = 1u << 5,
  SCH_V_CONTENT = 1u << 6,
};
#define SCH_V_ALL 0x7fu

/* Instance types, as a bit mask. */
enum {
  SCH_T_NULL = 1u << 0,
  SCH_T_BOOLEAN = 1u << 1,
  SCH_T_OBJECT = 1u << 2,
  SCH_T_ARRAY = 1u << 3,
  SCH_T_NUMBER = 1u << 4,
  SCH_T_STRING = 1u << 5,
  SCH_T_INTEGER = 1u << 6,
};

typedef struct sch_node sch_node;

/* A schema resource: a document root or a subschema with `$id`. */
typedef struct sch_resource {
  char *uri; /* absolute, no fragment */
  int draft;
  unsigned vocab;
  json_t *root;
  sch_map dyn;      /* $dynamicAnchor name -> json_t * */
  sch_map dyn_node; /* $dynamicAnchor name -> sch_node * (filled at the end of compiling) */
} sch_resource;

/* What scanning learnt about one schema position (json_t * of a subschema). */
typedef struct sch_info {
  char *base; /* base URI in effect inside this schema (its own $id applied) */
  char *path; /* display location, e.g. "/properties/x" or "http://h/d.json#/a" */
  sch_resource *res;
  int ref_only; /* draft 7: `$ref` present, so siblings are ignored */
} sch_info;

typedef struct sch_prop {
  char *name;
  size_t len; /* names may hold NUL bytes */
  sch_node *node;
} sch_prop;

typedef struct sch_pprop {
  char *src;
  pcre2_code *re;
  sch_node *node;
} sch_pprop;

typedef struct sch_depreq {
  char *name;
  size_t len;
  const json_t *req; /* array of strings (borrowed) */
} sch_depreq;

typedef struct sch_nodes {
  sch_node **v;
  size_t n;
} sch_nodes;

struct sch_node {
  const json_t *json;
  const char *path; /* borrowed from sch_info */
  sch_resource *res;
  int is_bool, bool_val;
  int has_keywords; /* anything to check at all */

  /* core */
  sch_node *ref;
  sch_node *dynref;     /* static target of $dynamicRef */
  const char *dyn_name; /* non-NULL when the $dynamicRef is dynamic */
  /* validation */
  unsigned types; /* 0: no `type` */
  const json_t *enum_v, *const_v;
  const json_t *minimum, *maximum, *xminimum, *xmaximum, *multiple_of;
  long long min_length, max_length, min_items, max_items, min_props, max_props;
  long long min_contains, max_contains;
  int unique_items;
  pcre2_code *pattern;
  const char *pattern_src;
  const json_t *required; /* array of strings */
  sch_depreq *depreq;
  size_t ndepreq;
  /* applicator */
  sch_nodes prefix;
  sch_node *items; /* items past prefix (2020 items, draft 7 additionalItems or items) */
  sch_node *contains;
  sch_prop *props;
  size_t nprops;
  sch_map prop_index; /* name -> sch_prop *, built when there are many properties */
  sch_pprop *pprops;
  size_t npprops;
  sch_node *addl_props;
  sch_node *prop_names;
  sch_prop *depsch;
  size_t ndepsch;
  sch_node *if_, *then_, *else_, *not_;
  sch_nodes all_of, any_of, one_of;
  /* unevaluated */
  sch_node *uneval_items, *uneval_props;
};

struct al_schema {
  sch_node *root;
  /* owned storage */
  json_t **docs;
  size_t ndocs;
  sch_node **nodes;
  size_t nnodes, cap_nodes;
  sch_resource **res;
  size_t nres;
  sch_info **infos;
  size_t ninfos;
  pcre2_match_context *mctx;
};

/* ---- compile.c / scan.c shared state ---- */
typedef struct sch_cc {
  al_schema *s;
  const al_schema_registry *remotes;
  int default_draft;
  al_error *err;
  sch_map res_by_uri; /* uri -> sch_resource * */
  sch_map anchors;    /* "uri#name" -> json_t * */
  sch_map info;       /* json_t * -> sch_info * */
  sch_map node_of;    /* json_t * -> sch_node * */
  pcre2_compile_context *pcctx;
  sch_node **queue; /* nodes allocated but not yet compiled */
  size_t nqueue, cap_queue;
} sch_cc;

/* scan.c */
int sch_scan_document(sch_cc *cc, json_t *doc, const char *uri, const char *display,
                      int draft_hint);
int sch_scan_at(sch_cc *cc, json_t *s, const char *base, sch_resource *res, const char *path,
                int depth);
/* Resource for an absolute URI without fragment, loading it from the registry or the
 * built-in meta-schemas when needed. NULL (and err set) when unknown. */
sch_resource *sch_load_resource(sch_cc *cc, const char *uri, int draft_hint);
/* Draft and vocabularies named by a `$schema` value. */
int sch_meta_of(sch_cc *cc, const char *schema_uri, int *draft, unsigned *vocab, int chain);

/* Fill cc->err with "schema PATH: message" and return code. */
int sch_fail(sch_cc *cc, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
