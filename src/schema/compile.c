/* Compiling: the second pass, from scanned JSON to the immutable node graph.
 *
 * Nodes are created on first reference (node_for) and put on a queue; compile_node() then
 * decodes one node's keywords, creating (not compiling) the nodes of its subschemas and of
 * its `$ref` targets. The queue replaces recursion, so a deep or cyclic reference graph
 * costs no C stack here. Every keyword of a draft is either decoded or explicitly refused
 * (AL_EUNSUPPORTED naming it); unknown keywords are annotations and are ignored, as both
 * drafts require. After the queue drains, each resource's `$dynamicAnchor` table is turned
 * into nodes too, since validation may jump to any of them through the dynamic scope. */
#include <stdio.h>
#include <string.h>

#include "airlock/util.h"
#include "schema/schema_int.h"

#define DEFAULT_BASE "https://airlock.invalid/schema.json"

static sch_node *node_for(sch_cc *cc, json_t *j) {
  sch_node *n = sch_map_getp(&cc->node_of, j);
  if (n) return n;
  sch_info *in = sch_map_getp(&cc->info, j);
  if (!in) {
    sch_fail(cc, AL_EINVAL, "", "internal: subschema was not scanned");
    return NULL;
  }
  al_schema *s = cc->s;
  if (s->nnodes == s->cap_nodes) {
    size_t nc = s->cap_nodes ? s->cap_nodes * 2 : 64;
    sch_node **nn = al_realloc(s->nodes, nc * sizeof *nn);
    if (!nn) return NULL;
    s->nodes = nn;
    s->cap_nodes = nc;
  }
  if (cc->nqueue == cc->cap_queue) {
    size_t nc = cc->cap_queue ? cc->cap_queue * 2 : 64;
    sch_node **nq = al_realloc(cc->queue, nc * sizeof *nq);
    if (!nq) return NULL;
    cc->queue = nq;
    cc->cap_queue = nc;
  }
  if (!(n = al_calloc(1, sizeof *n))) return NULL;
  n->json = j;
  n->path = in->path;
  n->res = in->res;
  n->min_length = n->max_length = n->min_items = n->max_items = -1;
  n->min_props = n->max_props = n->min_contains = n->max_contains = -1;
  s->nodes[s->nnodes++] = n;
  if (sch_map_putp(&cc->node_of, j, n) < 0) return NULL;
  cc->queue[cc->nqueue++] = n;
  return n;
}

static void walk_step(void *arg, json_t *v) {
  void **a = arg;
  sch_cc *cc = a[0];
  sch_info *in = sch_map_getp(&cc->info, v);
  if (in) a[1] = in;
}

/* Node that reference ref (from a schema whose base is base) points at. */
static sch_node *resolve(sch_cc *cc, const sch_info *from, const char *ref, const char *kwpath) {
  sch_node *n = NULL;
  char *abs = NULL, *doc = NULL, *frag = NULL, *disp = NULL;
  json_t *target = NULL;
  if (!(abs = sch_uri_resolve(from->base, ref)) || !(doc = sch_uri_split(abs, &frag))) goto out;
  sch_resource *res = sch_load_resource(cc, doc, from->res->draft);
  if (!res) goto out;
  if (!frag || !*frag) {
    target = res->root;
  } else if (frag[0] == '/') {
    void *arg[2] = {cc, NULL};
    target = sch_ptr_get(res->root, frag, walk_step, arg);
    if (!target) {
      sch_fail(cc, AL_ENOTFOUND, kwpath, "reference %s points at nothing", abs);
      goto out;
    }
    sch_info *near = arg[1];
    if (!near) {
      sch_fail(cc, AL_EINVAL, kwpath, "reference %s: document root was not scanned", abs);
      goto out;
    }
    if (!sch_map_getp(&cc->info, target)) {
      /* a place no keyword defines as a subschema (e.g. #/definitions in 2020-12) */
      const sch_info *root_in = sch_map_getp(&cc->info, res->root);
      const char *prefix = root_in ? root_in->path : "";
      if (!(disp = al_malloc(strlen(prefix) + strlen(frag) + 1))) goto out;
      strcpy(disp, prefix);
      strcat(disp, frag);
      if (sch_scan_at(cc, target, near->base, near->res, disp, 0) < 0) goto out;
    }
  } else {
    char key[2048];
    snprintf(key, sizeof key, "%s#%s", res->uri, frag);
    target = sch_map_gets(&cc->anchors, key);
    if (!target) {
      sch_fail(cc, AL_ENOTFOUND, kwpath, "reference %s: no anchor \"%s\" in %s", ref, frag,
               res->uri);
      goto out;
    }
  }
  n = node_for(cc, target);
out:
  if (!n && cc->err && cc->err->code == 0) sch_fail(cc, AL_ENOMEM, kwpath, "out of memory");
  al_free(abs);
  al_free(doc);
  al_free(frag);
  al_free(disp);
  return n;
}

enum {
  K_REF = 1,
  K_DYNREF,
  K_TYPE,
  K_ENUM,
  K_CONST,
  K_MULTIPLE_OF,
  K_MAXIMUM,
  K_XMAXIMUM,
  K_MINIMUM,
  K_XMINIMUM,
  K_MAXLENGTH,
  K_MINLENGTH,
  K_PATTERN,
  K_MAXITEMS,
  K_MINITEMS,
  K_UNIQUE,
  K_MAXCONTAINS,
  K_MINCONTAINS,
  K_MAXPROPS,
  K_MINPROPS,
  K_REQUIRED,
  K_DEPREQ,
  K_PREFIX,
  K_ITEMS,
  K_ADDITEMS,
  K_CONTAINS,
  K_PROPS,
  K_PPROPS,
  K_ADDPROPS,
  K_PROPNAMES,
  K_DEPSCHEMAS,
  K_DEPENDENCIES,
  K_IF,
  K_THEN,
  K_ELSE,
  K_ALLOF,
  K_ANYOF,
  K_ONEOF,
  K_NOT,
  K_UNEVAL_ITEMS,
  K_UNEVAL_PROPS,
  K_NOT_IN_DRAFT
};

static const struct {
  const char *name;
  int id;
  int drafts; /* 1: draft 7, 2: 2020-12 */
  unsigned vocab;
} keywords[] = {
    {"$ref", K_REF, 3, SCH_V_CORE},
    {"$dynamicRef", K_DYNREF, 2, SCH_V_CORE},
    {"type", K_TYPE, 3, SCH_V_VALIDATION},
    {"enum", K_ENUM, 3, SCH_V_VALIDATION},
    {"const", K_CONST, 3, SCH_V_VALIDATION},
    {"multipleOf", K_MULTIPLE_OF, 3, SCH_V_VALIDATION},
    {"maximum", K_MAXIMUM, 3, SCH_V_VALIDATION},
    {"exclusiveMaximum", K_XMAXIMUM, 3, SCH_V_VALIDATION},
    {"minimum", K_MINIMUM, 3, SCH_V_VALIDATION},
    {"exclusiveMinimum", K_XMINIMUM, 3, SCH_V_VALIDATION},
    {"maxLength", K_MAXLENGTH, 3, SCH_V_VALIDATION},
    {"minLength", K_MINLENGTH, 3, SCH_V_VALIDATION},
    {"pattern", K_PATTERN, 3, SCH_V_VALIDATION},
    {"maxItems", K_MAXITEMS, 3, SCH_V_VALIDATION},
    {"minItems", K_MINITEMS, 3, SCH_V_VALIDATION},
    {"uniqueItems", K_UNIQUE, 3, SCH_V_VALIDATION},
    {"maxContains", K_MAXCONTAINS, 2, SCH_V_VALIDATION},
    {"minContains", K_MINCONTAINS, 2, SCH_V_VALIDATION},
    {"maxProperties", K_MAXPROPS, 3, SCH_V_VALIDATION},
    {"minProperties", K_MINPROPS, 3, SCH_V_VALIDATION},
    {"required", K_REQUIRED, 3, SCH_V_VALIDATION},
    {"dependentRequired", K_DEPREQ, 2, SCH_V_VALIDATION},
    {"prefixItems", K_PREFIX, 2, SCH_V_APPLICATOR},
    {"items", K_ITEMS, 3, SCH_V_APPLICATOR},
    {"additionalItems", K_ADDITEMS, 1, SCH_V_APPLICATOR},
    {"contains", K_CONTAINS, 3, SCH_V_APPLICATOR},
    {"properties", K_PROPS, 3, SCH_V_APPLICATOR},
    {"patternProperties", K_PPROPS, 3, SCH_V_APPLICATOR},
    {"additionalProperties", K_ADDPROPS, 3, SCH_V_APPLICATOR},
    {"propertyNames", K_PROPNAMES, 3, SCH_V_APPLICATOR},
    {"dependentSchemas", K_DEPSCHEMAS, 2, SCH_V_APPLICATOR},
    {"dependencies", K_DEPENDENCIES, 3, SCH_V_APPLICATOR}, /* 2020-12: compatibility */
    {"if", K_IF, 3, SCH_V_APPLICATOR},
    {"then", K_THEN, 3, SCH_V_APPLICATOR},
    {"else", K_ELSE, 3, SCH_V_APPLICATOR},
    {"allOf", K_ALLOF, 3, SCH_V_APPLICATOR},
    {"anyOf", K_ANYOF, 3, SCH_V_APPLICATOR},
    {"oneOf", K_ONEOF, 3, SCH_V_APPLICATOR},
    {"not", K_NOT, 3, SCH_V_APPLICATOR},
    {"unevaluatedItems", K_UNEVAL_ITEMS, 2, SCH_V_UNEVALUATED},
    {"unevaluatedProperties", K_UNEVAL_PROPS, 2, SCH_V_UNEVALUATED},
};

/* Keywords of other drafts that would change a verdict: refused rather than ignored, so a
 * constraint is never dropped silently. See docs/schema-conformance.md. */
static const struct {
  const char *name;
  int drafts;
  const char *why;
} refused[] = {
    {"$recursiveRef", 3, "is a draft 2019-09 keyword; use $dynamicRef (draft 2020-12)"},
    {"$recursiveAnchor", 3, "is a draft 2019-09 keyword; use $dynamicAnchor (draft 2020-12)"},
    {"additionalItems", 2, "is not a draft 2020-12 keyword; use prefixItems + items"},
    {"prefixItems", 1, "is a draft 2020-12 keyword, not draft 7"},
    {"dependentRequired", 1, "is a draft 2020-12 keyword, not draft 7"},
    {"dependentSchemas", 1, "is a draft 2020-12 keyword, not draft 7"},
    {"unevaluatedItems", 1, "is a draft 2020-12 keyword, not draft 7"},
    {"unevaluatedProperties", 1, "is a draft 2020-12 keyword, not draft 7"},
    {"minContains", 1, "is a draft 2020-12 keyword, not draft 7"},
    {"maxContains", 1, "is a draft 2020-12 keyword, not draft 7"},
    {"$dynamicRef", 1, "is a draft 2020-12 keyword, not draft 7"},
    {"$dynamicAnchor", 1, "is a draft 2020-12 keyword, not draft 7"},
};

static int kw_path(char *out, size_t n, const char *path, const char *kw) {
  char *p = al_strdup(path);
  if (!p || sch_ptr_append(&p, kw) < 0) {
    al_free(p);
    snprintf(out, n, "%s", path);
    return AL_ENOMEM;
  }
  snprintf(out, n, "%s", p);
  al_free(p);
  return 0;
}

static int get_nonneg(sch_cc *cc, const json_t *v, const char *kp, long long *out) {
  long long x = sch_nonneg_int(v);
  if (x < 0) return sch_fail(cc, AL_EINVAL, kp, "expected a non-negative integer");
  *out = x;
  return 0;
}

static int node_list(sch_cc *cc, json_t *arr, sch_nodes *out) {
  size_t n = json_array_size(arr);
  if (!(out->v = al_calloc(n ? n : 1, sizeof *out->v))) return AL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if (!(out->v[i] = node_for(cc, json_array_get(arr, i)))) return AL_ENOMEM;
    out->n++;
  }
  return 0;
}

static int compile_regex(sch_cc *cc, const char *src, size_t len, const char *kp,
                         pcre2_code **out) {
  int ec;
  PCRE2_SIZE off;
  size_t plen;
  char *pat = sch_regex_from_ecma(src, len, &plen);
  if (!pat) return AL_ENOMEM;
  pcre2_code *re =
      pcre2_compile((PCRE2_SPTR)pat, plen,
                    PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS,
                    &ec, &off, cc->pcctx);
  al_free(pat);
  if (!re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(ec, msg, sizeof msg);
    return sch_fail(cc, AL_EINVAL, kp, "bad regular expression \"%.80s\" at offset %zu: %s", src,
                    (size_t)off, (const char *)msg);
  }
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional speed-up; the interpreter works */
  *out = re;
  return 0;
}

static int compile_props(sch_cc *cc, json_t *v, sch_prop **out, size_t *n) {
  size_t k = json_object_size(v), i = 0;
  if (!(*out = al_calloc(k ? k : 1, sizeof **out))) return AL_ENOMEM;
  const char *key;
  size_t kl;
  json_t *c;
  json_object_keylen_foreach(v, key, kl, c) {
    (*out)[i].name = al_strndup(key, kl);
    (*out)[i].len = kl;
    if (!(*out)[i].name) return AL_ENOMEM;
    (*n)++;
    if (!((*out)[i].node = node_for(cc, c))) return AL_ENOMEM;
    i++;
  }
  return 0;
}

static int is_string_array(const json_t *v) {
  if (!json_is_array(v)) return 0;
  for (size_t i = 0; i < json_array_size(v); i++)
    if (!json_is_string(json_array_get(v, i))) return 0;
  return 1;
}

static int parse_type(sch_cc *cc, const json_t *v, const char *kp, unsigned *out) {
  static const char *names[] = {"null",   "boolean", "object", "array",
                                "number", "string",  "integer"};
  const json_t *one = v;
  size_t n = json_is_array(v) ? json_array_size(v) : 1;
  *out = 0;
  for (size_t i = 0; i < n; i++) {
    if (json_is_array(v)) one = json_array_get(v, i);
    if (!json_is_string(one)) return sch_fail(cc, AL_EINVAL, kp, "expected a type name");
    size_t t;
    for (t = 0; t < 7; t++)
      if (strcmp(json_string_value(one), names[t]) == 0) break;
    if (t == 7) return sch_fail(cc, AL_EINVAL, kp, "unknown type \"%s\"", json_string_value(one));
    *out |= 1u << t;
  }
  if (!*out) return sch_fail(cc, AL_EINVAL, kp, "expected at least one type");
  return 0;
}

static int compile_node(sch_cc *cc, sch_node *n) {
  json_t *j = (json_t *)n->json;
  if (json_is_boolean(j)) {
    n->is_bool = 1;
    n->bool_val = json_is_true(j);
    return 0;
  }
  sch_info *in = sch_map_getp(&cc->info, j);
  int dmask = in->res->draft == SCH_DRAFT7 ? 1 : 2;
  unsigned vocab = in->res->vocab;
  char kp[1024];
  int rc = 0;
  if (in->ref_only) { /* draft 7: $ref beside other keywords wins, they are ignored */
    json_t *r = json_object_get(j, "$ref");
    kw_path(kp, sizeof kp, n->path, "$ref");
    if (!json_is_string(r)) return sch_fail(cc, AL_EINVAL, kp, "expected a string");
    n->ref = resolve(cc, in, json_string_value(r), kp);
    n->has_keywords = 1;
    return n->ref ? 0 : cc->err && cc->err->code ? cc->err->code : AL_ENOMEM;
  }
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) {
    size_t i;
    for (i = 0; i < sizeof refused / sizeof refused[0]; i++)
      if ((refused[i].drafts & dmask) && strcmp(k, refused[i].name) == 0) break;
    if (i < sizeof refused / sizeof refused[0]) {
      kw_path(kp, sizeof kp, n->path, k);
      return sch_fail(cc, AL_EUNSUPPORTED, kp, "%s %s", k, refused[i].why);
    }
    for (i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
      if ((keywords[i].drafts & dmask) && strcmp(k, keywords[i].name) == 0) break;
    if (i == sizeof keywords / sizeof keywords[0] || !(keywords[i].vocab & vocab)) continue;
    kw_path(kp, sizeof kp, n->path, k);
    n->has_keywords = 1;
    switch (keywords[i].id) {
    case K_REF:
      if (!json_is_string(v)) return sch_fail(cc, AL_EINVAL, kp, "expected a string");
      if (!(n->ref = resolve(cc, in, json_string_value(v), kp))) return cc->err->code;
      break;
    case K_DYNREF: {
      if (!json_is_string(v)) return sch_fail(cc, AL_EINVAL, kp, "expected a string");
      const char *ref = json_string_value(v);
      if (!(n->dynref = resolve(cc, in, ref, kp))) return cc->err->code;
      const char *h = strchr(ref, '#');
      /* dynamic only when the fragment is a plain name and the static target declares the
       * same $dynamicAnchor (the "bookend" rule of 2020-12) */
      if (h && h[1] && h[1] != '/') {
        json_t *da = json_object_get(n->dynref->json, "$dynamicAnchor");
        if (json_is_string(da) && strcmp(json_string_value(da), h + 1) == 0)
          n->dyn_name = json_string_value(da);
      }
      break;
    }
    case K_TYPE:
      if ((rc = parse_type(cc, v, kp, &n->types)) < 0) return rc;
      break;
    case K_ENUM:
      if (!json_is_array(v)) return sch_fail(cc, AL_EINVAL, kp, "expected an array");
      n->enum_v = v;
      break;
    case K_CONST: n->const_v = v; break;
    case K_MULTIPLE_OF:
      if (!json_is_number(v) || json_number_value(v) <= 0)
        return sch_fail(cc, AL_EINVAL, kp, "expected a number greater than 0");
      n->multiple_of = v;
      break;
    case K_MAXIMUM:
    case K_XMAXIMUM:
    case K_MINIMUM:
    case K_XMINIMUM: {
      if (!json_is_number(v)) return sch_fail(cc, AL_EINVAL, kp, "expected a number");
      int id = keywords[i].id;
      if (id == K_MAXIMUM)
        n->maximum = v;
      else if (id == K_XMAXIMUM)
        n->xmaximum = v;
      else if (id == K_MINIMUM)
        n->minimum = v;
      else
        n->xminimum = v;
      break;
    }
    case K_MAXLENGTH: rc = get_nonneg(cc, v, kp, &n->max_length); break;
    case K_MINLENGTH: rc = get_nonneg(cc, v, kp, &n->min_length); break;
    case K_MAXITEMS: rc = get_nonneg(cc, v, kp, &n->max_items); break;
    case K_MINITEMS: rc = get_nonneg(cc, v, kp, &n->min_items); break;
    case K_MAXCONTAINS: rc = get_nonneg(cc, v, kp, &n->max_contains); break;
    case K_MINCONTAINS: rc = get_nonneg(cc, v, kp, &n->min_contains); break;
    case K_MAXPROPS: rc = get_nonneg(cc, v, kp, &n->max_props); break;
    case K_MINPROPS: rc = get_nonneg(cc, v, kp, &n->min_props); break;
    case K_PATTERN:
      if (!json_is_string(v)) return sch_fail(cc, AL_EINVAL, kp, "expected a string");
      n->pattern_src = json_string_value(v);
      rc = compile_regex(cc, json_string_value(v), json_string_length(v), kp, &n->pattern);
      break;
    case K_UNIQUE:
      if (!json_is_boolean(v)) return sch_fail(cc, AL_EINVAL, kp, "expected a boolean");
      n->unique_items = json_is_true(v);
      break;
    case K_REQUIRED:
      if (!is_string_array(v)) return sch_fail(cc, AL_EINVAL, kp, "expected an array of strings");
      n->required = v;
      break;
    case K_DEPREQ:
    case K_DEPENDENCIES: {
      if (!json_is_object(v)) return sch_fail(cc, AL_EINVAL, kp, "expected an object");
      size_t cnt = json_object_size(v) ? json_object_size(v) : 1;
      if (!(n->depreq = al_calloc(cnt, sizeof *n->depreq))) return AL_ENOMEM;
      if (keywords[i].id == K_DEPENDENCIES && !(n->depsch = al_calloc(cnt, sizeof *n->depsch)))
        return AL_ENOMEM;
      const char *dk;
      size_t dl;
      json_t *dv;
      json_object_keylen_foreach(v, dk, dl, dv) {
        if (is_string_array(dv)) {
          if (!(n->depreq[n->ndepreq].name = al_strndup(dk, dl))) return AL_ENOMEM;
          n->depreq[n->ndepreq].len = dl;
          n->depreq[n->ndepreq++].req = dv;
        } else if (keywords[i].id == K_DEPENDENCIES) {
          if (!(n->depsch[n->ndepsch].name = al_strndup(dk, dl))) return AL_ENOMEM;
          n->depsch[n->ndepsch].len = dl;
          if (!(n->depsch[n->ndepsch++].node = node_for(cc, dv))) return AL_ENOMEM;
        } else {
          return sch_fail(cc, AL_EINVAL, kp, "\"%s\": expected an array of strings", dk);
        }
      }
      break;
    }
    case K_PREFIX: rc = node_list(cc, v, &n->prefix); break;
    case K_ITEMS:
      if (json_is_array(v)) { /* draft 7 tuple form */
        rc = node_list(cc, v, &n->prefix);
        json_t *ai = json_object_get(j, "additionalItems");
        if (rc == 0 && ai && !(n->items = node_for(cc, ai))) rc = AL_ENOMEM;
      } else if (!(n->items = node_for(cc, v))) {
        rc = AL_ENOMEM;
      }
      break;
    case K_ADDITEMS: break; /* read with items (draft 7: ignored without array items) */
    case K_CONTAINS:
      if (!(n->contains = node_for(cc, v))) rc = AL_ENOMEM;
      break;
    case K_PROPS:
      rc = compile_props(cc, v, &n->props, &n->nprops);
      for (size_t p = 0; rc == 0 && n->nprops > 8 && p < n->nprops; p++)
        rc = sch_map_put(&n->prop_index, n->props[p].name, n->props[p].len, &n->props[p]);
      break;
    case K_PPROPS: {
      size_t cnt = json_object_size(v) ? json_object_size(v) : 1;
      if (!(n->pprops = al_calloc(cnt, sizeof *n->pprops))) return AL_ENOMEM;
      const char *pk;
      json_t *pv;
      json_object_foreach(v, pk, pv) {
        sch_pprop *pp = &n->pprops[n->npprops++];
        if (!(pp->src = al_strdup(pk))) return AL_ENOMEM;
        char ppath[1024];
        kw_path(ppath, sizeof ppath, kp, pk);
        if ((rc = compile_regex(cc, pk, strlen(pk), ppath, &pp->re)) < 0) return rc;
        if (!(pp->node = node_for(cc, pv))) return AL_ENOMEM;
      }
      break;
    }
    case K_ADDPROPS:
      if (!(n->addl_props = node_for(cc, v))) rc = AL_ENOMEM;
      break;
    case K_PROPNAMES:
      if (!(n->prop_names = node_for(cc, v))) rc = AL_ENOMEM;
      break;
    case K_DEPSCHEMAS: rc = compile_props(cc, v, &n->depsch, &n->ndepsch); break;
    case K_IF:
      if (!(n->if_ = node_for(cc, v))) rc = AL_ENOMEM;
      break;
    case K_THEN:
      if (!(n->then_ = node_for(cc, v))) rc = AL_ENOMEM;
      break;
    case K_ELSE:
      if (!(n->else_ = node_for(cc, v))) rc = AL_ENOMEM;
      break;
    case K_ALLOF: rc = node_list(cc, v, &n->all_of); break;
    case K_ANYOF: rc = node_list(cc, v, &n->any_of); break;
    case K_ONEOF: rc = node_list(cc, v, &n->one_of); break;
    case K_NOT:
      if (!(n->not_ = node_for(cc, v))) rc = AL_ENOMEM;
      break;
    case K_UNEVAL_ITEMS:
      if (!(n->uneval_items = node_for(cc, v))) rc = AL_ENOMEM;
      break;
    case K_UNEVAL_PROPS:
      if (!(n->uneval_props = node_for(cc, v))) rc = AL_ENOMEM;
      break;
    }
    if (rc < 0) return rc;
  }
  if (n->contains && n->min_contains < 0) n->min_contains = 1;
  return 0;
}

static int drain(sch_cc *cc) {
  while (cc->nqueue) {
    sch_node *n = cc->queue[--cc->nqueue];
    int rc = compile_node(cc, n);
    if (rc < 0) return rc;
  }
  return 0;
}

/* Turn every resource's $dynamicAnchor table into nodes; loading may add resources. */
static int dynamic_anchors(sch_cc *cc) {
  al_schema *s = cc->s;
  for (size_t r = 0; r < s->nres; r++) {
    sch_resource *res = s->res[r];
    for (size_t i = 0; i < res->dyn.cap; i++) {
      sch_map_ent *e = &res->dyn.ents[i];
      if (!e->key || sch_map_gets(&res->dyn_node, e->key)) continue;
      sch_node *n = node_for(cc, e->val);
      if (!n || sch_map_puts(&res->dyn_node, e->key, n) < 0) return AL_ENOMEM;
      int rc = drain(cc);
      if (rc < 0) return rc;
      i = (size_t)-1; /* the map may have grown meanwhile: restart this resource */
    }
  }
  return 0;
}

/* A chain of nodes that are nothing but $ref and comes back to itself never terminates. */
static int ref_cycles(sch_cc *cc) {
  al_schema *s = cc->s;
  for (size_t i = 0; i < s->nnodes; i++) {
    sch_node *a = s->nodes[i];
    size_t steps = 0;
    for (sch_node *p = a->ref; p; p = p->ref) {
      if (p == a) return sch_fail(cc, AL_EINVAL, a->path, "$ref cycle (refers to itself)");
      if (++steps > s->nnodes) break;
    }
  }
  return 0;
}

static void node_free(sch_node *n) {
  if (!n) return;
  pcre2_code_free(n->pattern);
  for (size_t i = 0; i < n->ndepreq; i++)
    al_free(n->depreq[i].name);
  al_free(n->depreq);
  al_free(n->prefix.v);
  for (size_t i = 0; i < n->nprops; i++)
    al_free(n->props[i].name);
  al_free(n->props);
  sch_map_clear(&n->prop_index, NULL);
  for (size_t i = 0; i < n->npprops; i++) {
    al_free(n->pprops[i].src);
    pcre2_code_free(n->pprops[i].re);
  }
  al_free(n->pprops);
  for (size_t i = 0; i < n->ndepsch; i++)
    al_free(n->depsch[i].name);
  al_free(n->depsch);
  al_free(n->all_of.v);
  al_free(n->any_of.v);
  al_free(n->one_of.v);
  al_free(n);
}

void al_schema_free(al_schema *s) {
  if (!s) return;
  for (size_t i = 0; i < s->nnodes; i++)
    node_free(s->nodes[i]);
  al_free(s->nodes);
  for (size_t i = 0; i < s->nres; i++) {
    if (!s->res[i]) continue;
    al_free(s->res[i]->uri);
    sch_map_clear(&s->res[i]->dyn, NULL);
    sch_map_clear(&s->res[i]->dyn_node, NULL);
    al_free(s->res[i]);
  }
  al_free(s->res);
  for (size_t i = 0; i < s->ninfos; i++) {
    al_free(s->infos[i]->base);
    al_free(s->infos[i]->path);
    al_free(s->infos[i]);
  }
  al_free(s->infos);
  for (size_t i = 0; i < s->ndocs; i++)
    json_decref(s->docs[i]);
  al_free(s->docs);
  pcre2_match_context_free(s->mctx);
  al_free(s);
}

int al_schema_compile(const json_t *schema, al_schema_draft draft,
                      const al_schema_registry *remotes, al_schema **out, al_error *err) {
  int rc = 0;
  al_schema *s = NULL;
  al_error local;
  sch_cc cc = {0};
  if (out) *out = NULL;
  if (!schema || !out) return al_error_set(err, AL_EINVAL, "schema: no schema given");
  if (!err) err = &local;
  al_error_clear(err);
  cc.err = err;
  cc.remotes = remotes;
  cc.default_draft = draft == AL_SCHEMA_DRAFT7 ? SCH_DRAFT7 : SCH_DRAFT2020;
  if (!(s = al_calloc(1, sizeof *s)) || !(s->docs = al_calloc(1, sizeof *s->docs)) ||
      !(s->docs[0] = json_deep_copy(schema)) || !(s->mctx = pcre2_match_context_create(NULL))) {
    rc = al_error_set(err, AL_ENOMEM, "schema: out of memory");
    goto out;
  }
  s->ndocs = 1;
  if (!(cc.pcctx = pcre2_compile_context_create(NULL))) {
    rc = al_error_set(err, AL_ENOMEM, "schema: out of memory");
    goto out;
  }
  pcre2_set_compile_extra_options(cc.pcctx, PCRE2_EXTRA_ALT_BSUX);
  pcre2_set_match_limit(s->mctx, AL_SCHEMA_REGEX_MATCH_LIMIT);
  pcre2_set_depth_limit(s->mctx, AL_SCHEMA_REGEX_DEPTH_LIMIT);
  cc.s = s;
  if ((rc = sch_scan_document(&cc, s->docs[0], DEFAULT_BASE, "", cc.default_draft)) < 0) goto out;
  if (!(s->root = node_for(&cc, s->docs[0]))) {
    rc = AL_ENOMEM;
    goto out;
  }
  if ((rc = drain(&cc)) < 0 || (rc = dynamic_anchors(&cc)) < 0 || (rc = ref_cycles(&cc)) < 0)
    goto out;
out:
  if (rc < 0 && err->code == 0) al_error_set(err, rc, "schema: %s", al_strerror(rc));
  if (rc < 0 && err->code != rc) rc = err->code;
  sch_map_clear(&cc.res_by_uri, NULL);
  sch_map_clear(&cc.anchors, NULL);
  sch_map_clear(&cc.info, NULL);
  sch_map_clear(&cc.node_of, NULL);
  al_free(cc.queue);
  pcre2_compile_context_free(cc.pcctx);
  if (rc < 0)
    al_schema_free(s);
  else
    *out = s;
  return rc;
}

int al_schema_compile_text(const char *text, size_t len, al_schema_draft draft, al_schema **out,
                           al_error *err) {
  json_error_t je;
  if (out) *out = NULL;
  if (!text) return al_error_set(err, AL_EINVAL, "schema: no text given");
  json_t *doc =
      json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
  if (!doc)
    return al_error_at(err, AL_EPARSE, "schema", je.line, je.column, "invalid JSON: %s", je.text);
  int rc = al_schema_compile(doc, draft, NULL, out, err);
  json_decref(doc);
  return rc;
}
