/* Scanning: the first pass of compiling, over every document a schema uses.
 *
 * Walks the subschemas of a document -- only at the places the draft's keywords define, so
 * an `$id` inside `enum` or an unknown keyword is data, not an identifier -- and records for
 * each subschema (by json_t identity) its base URI, its display path and its resource. On the
 * way it registers resources (`$id`), anchors (`$anchor`, `$dynamicAnchor`, draft 7's
 * `$id: "#name"`) and reads `$schema` to learn the draft and `$vocabulary` of a resource.
 * Documents named by `$ref` are loaded here from the caller's registry or the built-in
 * meta-schemas; nothing is ever fetched. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "airlock/util.h"
#include "schema/schema_int.h"

#define D7_URI "http://json-schema.org/draft-07/schema"
#define D2020_URI "https://json-schema.org/draft/2020-12/schema"
#define VOCAB "https://json-schema.org/draft/2020-12/vocab/"

int sch_fail(sch_cc *cc, int code, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (cc->err && cc->err->code == 0)
    al_error_set(cc->err, code, "schema %s: %s", path && *path ? path : "#", msg);
  return code;
}

static int same_uri(const char *a, const char *b) {
  /* http and https spellings of the meta-schema URIs are both seen in the wild */
  if (strncmp(a, "https:", 6) == 0)
    a += 6;
  else if (strncmp(a, "http:", 5) == 0)
    a += 5;
  if (strncmp(b, "https:", 6) == 0)
    b += 6;
  else if (strncmp(b, "http:", 5) == 0)
    b += 5;
  return strcmp(a, b) == 0;
}

static const struct {
  const char *name;
  unsigned bit;
} vocabs[] = {
    {VOCAB "core", SCH_V_CORE},
    {VOCAB "applicator", SCH_V_APPLICATOR},
    {VOCAB "unevaluated", SCH_V_UNEVALUATED},
    {VOCAB "validation", SCH_V_VALIDATION},
    {VOCAB "meta-data", SCH_V_METADATA},
    {VOCAB "format-annotation", SCH_V_FORMAT_ANNOTATION},
    {VOCAB "content", SCH_V_CONTENT},
};

int sch_meta_of(sch_cc *cc, const char *schema_uri, int *draft, unsigned *vocab, int chain) {
  int rc = 0;
  char *uri = sch_uri_split(schema_uri, NULL);
  if (!uri) return AL_ENOMEM;
  *vocab = SCH_V_ALL;
  if (same_uri(uri, D7_URI)) {
    *draft = SCH_DRAFT7;
    goto out;
  }
  if (same_uri(uri, D2020_URI)) {
    *draft = SCH_DRAFT2020;
    goto out;
  }
  if (strstr(uri, "json-schema.org/draft-0") || strstr(uri, "json-schema.org/schema") ||
      strstr(uri, "json-schema.org/draft/")) {
    rc = sch_fail(cc, AL_EUNSUPPORTED, "/$schema",
                  "$schema %s names a draft Airlock does not support (draft 7 and 2020-12 are)",
                  schema_uri);
    goto out;
  }
  if (chain >= AL_SCHEMA_MAX_META_CHAIN) {
    rc = sch_fail(cc, AL_ELIMIT, "/$schema", "meta-schema chain of %s is too long", schema_uri);
    goto out;
  }
  const json_t *doc = sch_registry_get(cc->remotes, uri);
  if (!json_is_object(doc)) {
    rc = sch_fail(cc, AL_EUNSUPPORTED, "/$schema",
                  "unknown meta-schema %s (not a known draft and not in the registry)", schema_uri);
    goto out;
  }
  const char *parent = json_string_value(json_object_get(doc, "$schema"));
  if (!parent) {
    rc = sch_fail(cc, AL_EUNSUPPORTED, "/$schema", "meta-schema %s has no $schema", schema_uri);
    goto out;
  }
  unsigned pv;
  if ((rc = sch_meta_of(cc, parent, draft, &pv, chain + 1)) < 0) goto out;
  json_t *voc = json_object_get(doc, "$vocabulary");
  if (*draft != SCH_DRAFT2020 || !json_is_object(voc)) goto out;
  *vocab = 0;
  const char *k;
  json_t *v;
  json_object_foreach(voc, k, v) {
    size_t i;
    for (i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++)
      if (strcmp(k, vocabs[i].name) == 0) break;
    if (i < sizeof vocabs / sizeof vocabs[0]) {
      *vocab |= vocabs[i].bit;
    } else if (json_is_true(v)) {
      rc = sch_fail(cc, AL_EUNSUPPORTED, "/$schema",
                    "meta-schema %s requires vocabulary %s, which Airlock does not support",
                    schema_uri, k);
      goto out;
    }
  }
  *vocab |= SCH_V_CORE;
out:
  al_free(uri);
  return rc;
}

static sch_resource *new_resource(sch_cc *cc, const char *uri, int draft, unsigned vocab,
                                  json_t *root) {
  al_schema *s = cc->s;
  if (!(s->nres & (s->nres - 1))) { /* 0, 1, 2, 4, ...: grow to the next power of two */
    sch_resource **nr = al_realloc(s->res, (s->nres ? s->nres * 2 : 1) * sizeof *nr);
    if (!nr) return NULL;
    s->res = nr;
  }
  sch_resource *r = al_calloc(1, sizeof *r);
  if (!r) return NULL;
  if (!(r->uri = al_strdup(uri))) {
    al_free(r);
    return NULL;
  }
  r->draft = draft;
  r->vocab = vocab;
  r->root = root;
  s->res[s->nres++] = r;
  if (sch_map_puts(&cc->res_by_uri, uri, r) < 0) return NULL;
  return r;
}

static sch_info *new_info(sch_cc *cc, json_t *j, const char *base, const char *path,
                          sch_resource *res, int ref_only) {
  al_schema *s = cc->s;
  if (!(s->ninfos & (s->ninfos - 1))) { /* 0, 1, 2, 4, ...: grow to the next power of two */
    sch_info **ni = al_realloc(s->infos, (s->ninfos ? s->ninfos * 2 : 1) * sizeof *ni);
    if (!ni) return NULL;
    s->infos = ni;
  }
  sch_info *in = al_calloc(1, sizeof *in);
  if (!in) return NULL;
  s->infos[s->ninfos++] = in;
  in->base = al_strdup(base);
  in->path = al_strdup(path);
  in->res = res;
  in->ref_only = ref_only;
  if (!in->base || !in->path || sch_map_putp(&cc->info, j, in) < 0) return NULL;
  return in;
}

static int add_anchor(sch_cc *cc, sch_resource *res, const char *name, json_t *j,
                      const char *path) {
  char key[2048];
  if ((size_t)snprintf(key, sizeof key, "%s#%s", res->uri, name) >= sizeof key)
    return sch_fail(cc, AL_ELIMIT, path, "anchor name too long");
  json_t *old = sch_map_gets(&cc->anchors, key);
  if (old && old != j) return sch_fail(cc, AL_EINVAL, path, "duplicate anchor \"%s\"", name);
  return sch_map_puts(&cc->anchors, key, j);
}

/* Kinds of subschema places. */
enum { P_ONE, P_ARRAY, P_MAP, P_ITEMS7, P_DEPS7 };
static const struct {
  const char *kw;
  int kind;
  int drafts; /* 1: draft 7, 2: 2020-12 */
  unsigned vocab;
} places[] = {
    {"additionalItems", P_ONE, 1, SCH_V_APPLICATOR},
    {"additionalProperties", P_ONE, 3, SCH_V_APPLICATOR},
    {"contains", P_ONE, 3, SCH_V_APPLICATOR},
    {"propertyNames", P_ONE, 3, SCH_V_APPLICATOR},
    {"if", P_ONE, 3, SCH_V_APPLICATOR},
    {"then", P_ONE, 3, SCH_V_APPLICATOR},
    {"else", P_ONE, 3, SCH_V_APPLICATOR},
    {"not", P_ONE, 3, SCH_V_APPLICATOR},
    {"items", P_ITEMS7, 1, SCH_V_APPLICATOR},
    {"items", P_ONE, 2, SCH_V_APPLICATOR},
    {"prefixItems", P_ARRAY, 2, SCH_V_APPLICATOR},
    {"allOf", P_ARRAY, 3, SCH_V_APPLICATOR},
    {"anyOf", P_ARRAY, 3, SCH_V_APPLICATOR},
    {"oneOf", P_ARRAY, 3, SCH_V_APPLICATOR},
    {"properties", P_MAP, 3, SCH_V_APPLICATOR},
    {"patternProperties", P_MAP, 3, SCH_V_APPLICATOR},
    {"dependentSchemas", P_MAP, 2, SCH_V_APPLICATOR},
    {"dependencies", P_DEPS7, 3, SCH_V_APPLICATOR},
    {"$defs", P_MAP, 2, SCH_V_CORE},
    {"definitions", P_MAP, 1, SCH_V_CORE},
    {"unevaluatedItems", P_ONE, 2, SCH_V_UNEVALUATED},
    {"unevaluatedProperties", P_ONE, 2, SCH_V_UNEVALUATED},
    {"contentSchema", P_ONE, 2, SCH_V_CONTENT},
};

static int scan_child(sch_cc *cc, json_t *c, const char *base, sch_resource *res, const char *path,
                      const char *kw, const char *key, long idx, int depth) {
  int rc;
  char *p = al_strdup(path);
  if (!p) return AL_ENOMEM;
  rc = sch_ptr_append(&p, kw);
  if (rc == 0 && key) rc = sch_ptr_append(&p, key);
  if (rc == 0 && idx >= 0) {
    char n[32];
    snprintf(n, sizeof n, "%ld", idx);
    rc = sch_ptr_append(&p, n);
  }
  if (rc == 0) rc = sch_scan_at(cc, c, base, res, p, depth + 1);
  al_free(p);
  return rc;
}

static int scan_places(sch_cc *cc, json_t *s, const char *base, sch_resource *res, const char *path,
                       int depth, int ref_only) {
  int rc = 0;
  int dmask = res->draft == SCH_DRAFT7 ? 1 : 2;
  for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
    if (!(places[i].drafts & dmask) || !(res->vocab & places[i].vocab)) continue;
    if (ref_only && strcmp(places[i].kw, "definitions") != 0) continue;
    json_t *v = json_object_get(s, places[i].kw);
    if (!v) continue;
    const char *kw = places[i].kw;
    int kind = places[i].kind;
    if (kind == P_ITEMS7) kind = json_is_array(v) ? P_ARRAY : P_ONE;
    if (kind == P_ONE) {
      rc = scan_child(cc, v, base, res, path, kw, NULL, -1, depth);
    } else if (kind == P_ARRAY) {
      if (!json_is_array(v) ||
          (json_array_size(v) == 0 && strcmp(kw, "items") != 0 && strcmp(kw, "prefixItems") != 0)) {
        char *p = al_strdup(path);
        if (p && sch_ptr_append(&p, kw) == 0)
          rc = sch_fail(cc, AL_EINVAL, p, "expected a non-empty array of schemas");
        else
          rc = AL_ENOMEM;
        al_free(p);
        return rc;
      }
      for (size_t k = 0; rc == 0 && k < json_array_size(v); k++)
        rc = scan_child(cc, json_array_get(v, k), base, res, path, kw, NULL, (long)k, depth);
    } else {
      if (!json_is_object(v)) {
        char *p = al_strdup(path);
        if (p && sch_ptr_append(&p, kw) == 0)
          rc = sch_fail(cc, AL_EINVAL, p, "expected an object");
        else
          rc = AL_ENOMEM;
        al_free(p);
        return rc;
      }
      const char *k;
      json_t *c;
      json_object_foreach(v, k, c) {
        if (kind == P_DEPS7 && json_is_array(c)) continue; /* property list, not a schema */
        if ((rc = scan_child(cc, c, base, res, path, kw, k, -1, depth)) < 0) break;
      }
    }
    if (rc < 0) return rc;
  }
  return 0;
}

int sch_scan_at(sch_cc *cc, json_t *s, const char *base, sch_resource *res, const char *path,
                int depth) {
  int rc = 0;
  char *nbase = NULL, *frag = NULL, *abs = NULL;
  if (sch_map_getp(&cc->info, s)) return 0;
  if (depth > AL_SCHEMA_MAX_NESTING)
    return sch_fail(cc, AL_ELIMIT, path, "subschemas nest deeper than %d", AL_SCHEMA_MAX_NESTING);
  if (json_is_boolean(s)) return new_info(cc, s, base, path, res, 0) ? 0 : AL_ENOMEM;
  if (!json_is_object(s))
    return sch_fail(cc, AL_EINVAL, path, "expected a schema (an object or a boolean)");
  int ref_only = res->draft == SCH_DRAFT7 && json_object_get(s, "$ref") != NULL;
  json_t *id = json_object_get(s, "$id");
  if (id && !ref_only) {
    if (!json_is_string(id)) {
      rc = sch_fail(cc, AL_EINVAL, path, "$id: expected a string");
      goto out;
    }
    const char *ids = json_string_value(id);
    if (res->draft == SCH_DRAFT7 && ids[0] == '#') {
      if ((rc = add_anchor(cc, res, ids + 1, s, path)) < 0) goto out;
    } else {
      if (!(abs = sch_uri_resolve(base, ids)) || !(nbase = sch_uri_split(abs, &frag))) {
        rc = AL_ENOMEM;
        goto out;
      }
      if (frag && *frag && res->draft != SCH_DRAFT7) {
        rc = sch_fail(cc, AL_EINVAL, path, "$id \"%s\" must not have a fragment", ids);
        goto out;
      }
      sch_resource *known = sch_map_gets(&cc->res_by_uri, nbase);
      if (s == res->root) {
        /* the document root names itself: an alias of the retrieval URI */
        if (!known && (rc = sch_map_puts(&cc->res_by_uri, nbase, res)) < 0) goto out;
        char *u = al_strdup(nbase);
        if (!u) {
          rc = AL_ENOMEM;
          goto out;
        }
        al_free(res->uri);
        res->uri = u;
      } else if (known && known->root != s) {
        rc = sch_fail(cc, AL_EINVAL, path, "$id %s is used twice", nbase);
        goto out;
      } else if (!known) {
        int draft = res->draft;
        unsigned vocab = res->vocab;
        json_t *sv = json_object_get(s, "$schema");
        if (json_is_string(sv) &&
            (rc = sch_meta_of(cc, json_string_value(sv), &draft, &vocab, 0)) < 0)
          goto out;
        if (!(res = new_resource(cc, nbase, draft, vocab, s))) {
          rc = AL_ENOMEM;
          goto out;
        }
      } else {
        res = known;
      }
      if (frag && *frag && (rc = add_anchor(cc, res, frag, s, path)) < 0) goto out;
      base = nbase;
    }
  }
  if (res->draft == SCH_DRAFT2020) {
    json_t *a = json_object_get(s, "$anchor");
    if (a &&
        (!json_is_string(a) || (rc = add_anchor(cc, res, json_string_value(a), s, path)) < 0)) {
      if (rc == 0) rc = sch_fail(cc, AL_EINVAL, path, "$anchor: expected a string");
      goto out;
    }
    json_t *d = json_object_get(s, "$dynamicAnchor");
    if (d) {
      if (!json_is_string(d)) {
        rc = sch_fail(cc, AL_EINVAL, path, "$dynamicAnchor: expected a string");
        goto out;
      }
      if ((rc = add_anchor(cc, res, json_string_value(d), s, path)) < 0) goto out;
      if (!sch_map_gets(&res->dyn, json_string_value(d)) &&
          (rc = sch_map_puts(&res->dyn, json_string_value(d), s)) < 0)
        goto out;
    }
  }
  if (!new_info(cc, s, base, path, res, ref_only)) {
    rc = AL_ENOMEM;
    goto out;
  }
  rc = scan_places(cc, s, base, res, path, depth, ref_only);
out:
  al_free(abs);
  al_free(nbase);
  al_free(frag);
  return rc;
}

int sch_scan_document(sch_cc *cc, json_t *doc, const char *uri, const char *display,
                      int draft_hint) {
  int rc;
  int draft = draft_hint;
  unsigned vocab = SCH_V_ALL;
  json_t *sv = json_is_object(doc) ? json_object_get(doc, "$schema") : NULL;
  if (sv && !json_is_string(sv))
    return sch_fail(cc, AL_EINVAL, display, "$schema: expected a string");
  if (sv && (rc = sch_meta_of(cc, json_string_value(sv), &draft, &vocab, 0)) < 0) return rc;
  sch_resource *res = new_resource(cc, uri, draft, vocab, doc);
  if (!res) return AL_ENOMEM;
  return sch_scan_at(cc, doc, uri, res, display, 0);
}

sch_resource *sch_load_resource(sch_cc *cc, const char *uri, int draft_hint) {
  sch_resource *r = sch_map_gets(&cc->res_by_uri, uri);
  if (r) return r;
  al_schema *s = cc->s;
  json_t *doc = NULL;
  const json_t *reg = sch_registry_get(cc->remotes, uri);
  if (reg)
    doc = json_deep_copy(reg);
  else
    doc = sch_builtin_load(uri);
  if (!doc) {
    sch_fail(cc, reg ? AL_ENOMEM : AL_ENOTFOUND, uri,
             "no schema document with this URI (add it to the registry; Airlock never "
             "fetches schemas)");
    return NULL;
  }
  if (s->ndocs >= AL_SCHEMA_MAX_DOCUMENTS) {
    json_decref(doc);
    sch_fail(cc, AL_ELIMIT, uri, "more than %d documents referenced", AL_SCHEMA_MAX_DOCUMENTS);
    return NULL;
  }
  json_t **nd = al_realloc(s->docs, (s->ndocs + 1) * sizeof *nd);
  if (!nd) {
    json_decref(doc);
    return NULL;
  }
  s->docs = nd;
  s->docs[s->ndocs++] = doc;
  char *display = al_malloc(strlen(uri) + 2);
  if (!display) return NULL;
  strcpy(display, uri);
  strcat(display, "#");
  int rc = sch_scan_document(cc, doc, uri, display, draft_hint);
  al_free(display);
  if (rc < 0) return NULL;
  return sch_map_gets(&cc->res_by_uri, uri);
}
