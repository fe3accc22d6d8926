/* Validation: walking the compiled node graph against an instance.
 *
 * Each call works on its own context (paths, dynamic scope, PCRE2 match data), so one
 * compiled schema serves any number of threads. Evaluation stops at the first failing
 * keyword; the first failure that is not inside a "trial" (anyOf/oneOf branches, not, if,
 * contains) is the one reported in `why`, with the instance location and the schema keyword.
 *
 * Annotations (which array items and object properties were evaluated) are collected only
 * when a node with unevaluatedItems/unevaluatedProperties asks for them: such a node opens an
 * `ann` record, passes it to its in-place applicators ($ref, $dynamicRef, allOf, anyOf, oneOf,
 * if/then/else, dependentSchemas) and merges what valid branches evaluated; failed branches
 * contribute nothing, as the specification requires.
 *
 * Guards: evaluation depth (AL_SCHEMA_MAX_EVAL_DEPTH), a reference that comes back to the same
 * schema on the same value (a loop that would never end), and PCRE2 match limits. Each makes
 * validation return a negative code, never a verdict. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "schema/schema_int.h"

/* Evaluated positions of one array or object: byte i says whether item i (or the i-th
 * property in the object's iteration order, which jansson keeps stable) was evaluated.
 * Small instances use the inline bytes, larger ones the heap. */
typedef struct bits {
  unsigned char *p;
  size_t n;
  unsigned char inl[32];
} bits;

typedef struct ann {
  int all_items, all_props;
  bits items, props;
} ann;

typedef struct seg {
  const char *key; /* NULL: array index */
  size_t idx;
} seg;

#define INLINE_DEPTH 48 /* stacks live in the context up to this depth, then on the heap */

typedef struct vctx {
  const al_schema *s;
  unsigned long long steps, budget;
  int counted; /* budget already scaled to the instance size */
  const json_t *root;
  int cap;
  char *why;
  size_t why_len;
  int have_why;
  int quiet;
  int depth;
  const sch_resource **scope;
  const sch_node **ref_n;
  const json_t **ref_i;
  seg *path;
  int nscope, nrefs, npath;
  pcre2_match_data *md;
  const sch_resource *scope0[INLINE_DEPTH];
  const sch_node *ref_n0[INLINE_DEPTH];
  const json_t *ref_i0[INLINE_DEPTH];
  seg path0[INLINE_DEPTH];
} vctx;

/* Make room for depth d on every stack (each holds at most depth + 2 entries). */
static int reserve(vctx *c, int d) {
  if (d + 2 < c->cap) return 0;
  int ncap = c->cap * 2;
  if (ncap < d + 3) ncap = d + 3;
  const sch_resource **sc = al_malloc((size_t)ncap * sizeof *sc);
  const sch_node **rn = al_malloc((size_t)ncap * sizeof *rn);
  const json_t **ri = al_malloc((size_t)ncap * sizeof *ri);
  seg *pa = al_malloc((size_t)ncap * sizeof *pa);
  if (!sc || !rn || !ri || !pa) {
    al_free(sc);
    al_free(rn);
    al_free(ri);
    al_free(pa);
    return AL_ENOMEM;
  }
  memcpy(sc, c->scope, (size_t)c->nscope * sizeof *sc);
  memcpy(rn, c->ref_n, (size_t)c->nrefs * sizeof *rn);
  memcpy(ri, c->ref_i, (size_t)c->nrefs * sizeof *ri);
  memcpy(pa, c->path, (size_t)c->npath * sizeof *pa);
  if (c->scope != c->scope0) {
    al_free(c->scope);
    al_free(c->ref_n);
    al_free(c->ref_i);
    al_free(c->path);
  }
  c->scope = sc;
  c->ref_n = rn;
  c->ref_i = ri;
  c->path = pa;
  c->cap = ncap;
  return 0;
}

static int vnode(vctx *c, const sch_node *n, const json_t *inst, ann *a);

/* ---- messages ---- */

static void render_path(vctx *c, char *out, size_t n) {
  size_t o = 0;
  out[0] = '\0';
  if (c->npath == 0) {
    snprintf(out, n, "(root)");
    return;
  }
  for (int i = 0; i < c->npath && o + 1 < n; i++) {
    char *tmp = NULL;
    char num[32];
    if (c->path[i].key) {
      if (sch_ptr_append(&tmp, c->path[i].key) < 0) break;
    } else {
      snprintf(num, sizeof num, "%zu", c->path[i].idx);
      if (sch_ptr_append(&tmp, num) < 0) break;
    }
    o += (size_t)snprintf(out + o, n - o, "%s", tmp);
    al_free(tmp);
    if (o >= n) {
      out[n - 1] = '\0';
      break;
    }
  }
}

static void render_value(const json_t *v, char *out, size_t n) {
  char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (!d) {
    snprintf(out, n, "value");
    return;
  }
  if (strlen(d) > AL_SCHEMA_WHY_VALUE_CHARS)
    snprintf(out, n, "%.*s...", AL_SCHEMA_WHY_VALUE_CHARS, d);
  else
    snprintf(out, n, "%s", d);
  free(d);
}

__attribute__((format(printf, 5, 6))) static int fail(vctx *c, const sch_node *n, const char *kw,
                                                      const json_t *inst, const char *fmt, ...) {
  if (c->quiet || c->have_why || !c->why || !c->why_len) return 0;
  char where[512], val[AL_SCHEMA_WHY_VALUE_CHARS + 8], msg[512];
  render_path(c, where, sizeof where);
  render_value(inst, val, sizeof val);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char *loc = al_strdup(n->path);
  if (loc && kw && sch_ptr_append(&loc, kw) < 0) {
    al_free(loc);
    loc = NULL;
  }
  snprintf(c->why, c->why_len, "%s: %s %s (schema %s)", where, val, msg, loc && *loc ? loc : "#");
  al_free(loc);
  c->have_why = 1;
  return 0;
}

static int error(vctx *c, int code, const char *fmt, ...) {
  if (c->why && c->why_len && !c->have_why) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->why, c->why_len, "error: %s", msg);
    c->have_why = 1;
  }
  return code;
}

/* ---- annotations ---- */

static void ann_init(ann *a) {
  a->all_items = a->all_props = 0;
  a->items.p = a->props.p = NULL;
  a->items.n = a->props.n = 0;
}

static void bits_cleanup(bits *b) {
  if (b->p != b->inl) al_free(b->p);
}

static void ann_cleanup(ann *a) {
  bits_cleanup(&a->items);
  bits_cleanup(&a->props);
}

static int bits_set(bits *b, size_t i, size_t len) {
  if (!b->p) {
    if (len <= sizeof b->inl)
      b->p = b->inl;
    else if (!(b->p = al_malloc(len)))
      return AL_ENOMEM;
    memset(b->p, 0, len);
    b->n = len;
  }
  if (i < b->n) b->p[i] = 1;
  return 0;
}

static int bits_get(const bits *b, size_t i) { return b->p && i < b->n && b->p[i]; }

static int ann_item(ann *a, size_t i, size_t len) {
  if (!a || a->all_items) return 0;
  return bits_set(&a->items, i, len);
}

static int ann_prop(ann *a, size_t i, size_t len) {
  if (!a || a->all_props) return 0;
  return bits_set(&a->props, i, len);
}

static int ann_merge(ann *to, const ann *from) {
  if (!to) return 0;
  to->all_items |= from->all_items;
  to->all_props |= from->all_props;
  for (size_t i = 0; !to->all_items && i < from->items.n; i++)
    if (from->items.p[i] && bits_set(&to->items, i, from->items.n) < 0) return AL_ENOMEM;
  for (size_t i = 0; !to->all_props && i < from->props.n; i++)
    if (from->props.p[i] && bits_set(&to->props, i, from->props.n) < 0) return AL_ENOMEM;
  return 0;
}

/* ---- stacks ---- */

static int push_path(vctx *c, const char *key, size_t idx) {
  c->path[c->npath].key = key;
  c->path[c->npath].idx = idx;
  c->npath++;
  return 0;
}

/* Apply a subschema to a child value (an item or a property value); no annotations flow. */
static int child(vctx *c, const sch_node *n, const json_t *v, const char *key, size_t idx) {
  push_path(c, key, idx);
  int rc = vnode(c, n, v, NULL);
  c->npath--;
  return rc;
}

static int follow(vctx *c, const sch_node *from, const sch_node *to, const json_t *inst, ann *a) {
  for (int i = 0; i < c->nrefs; i++)
    if (c->ref_n[i] == to && c->ref_i[i] == inst)
      return error(c, AL_ELIMIT,
                   "reference loop: schema %s is applied again to the same value "
                   "(from %s)",
                   to->path[0] ? to->path : "#", from->path[0] ? from->path : "#");
  c->ref_n[c->nrefs] = to;
  c->ref_i[c->nrefs] = inst;
  c->nrefs++;
  int rc = vnode(c, to, inst, a);
  c->nrefs--;
  return rc;
}

/* ---- keyword groups ---- */

static unsigned type_bits(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_NULL: return SCH_T_NULL;
  case JSON_TRUE:
  case JSON_FALSE: return SCH_T_BOOLEAN;
  case JSON_OBJECT: return SCH_T_OBJECT;
  case JSON_ARRAY: return SCH_T_ARRAY;
  case JSON_STRING: return SCH_T_STRING;
  case JSON_INTEGER: return SCH_T_NUMBER | SCH_T_INTEGER;
  case JSON_REAL: return SCH_T_NUMBER | (sch_is_integer(v) ? SCH_T_INTEGER : 0);
  }
  return 0;
}

static void type_names(unsigned t, char *out, size_t n) {
  static const char *names[] = {"null",   "boolean", "object", "array",
                                "number", "string",  "integer"};
  size_t o = 0;
  out[0] = '\0';
  for (int i = 0; i < 7; i++) {
    if (!(t & (1u << i))) continue;
    o += (size_t)snprintf(out + o, o < n ? n - o : 0, "%s%s", o ? " or " : "", names[i]);
  }
}

static int regex_match(vctx *c, pcre2_code *re, const char *s, size_t len) {
  if (!c->md && !(c->md = pcre2_match_data_create(1, NULL)))
    return error(c, AL_ENOMEM, "out of memory");
  int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, c->md, c->s->mctx);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT, c->md, c->s->mctx);
  if (rc >= 0) return 1;
  if (rc == PCRE2_ERROR_NOMATCH) return 0;
  if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)
    return error(c, AL_EINVAL, "string is not valid UTF-8");
  return error(c, AL_ELIMIT, "regular expression failed to finish (PCRE2 error %d)", rc);
}

static int v_number(vctx *c, const sch_node *n, const json_t *inst) {
  char b[64];
  if (n->minimum && sch_num_cmp(inst, n->minimum) < 0) {
    render_value(n->minimum, b, sizeof b);
    return fail(c, n, "minimum", inst, "is less than the minimum %s", b);
  }
  if (n->maximum && sch_num_cmp(inst, n->maximum) > 0) {
    render_value(n->maximum, b, sizeof b);
    return fail(c, n, "maximum", inst, "is greater than the maximum %s", b);
  }
  if (n->xminimum && sch_num_cmp(inst, n->xminimum) <= 0) {
    render_value(n->xminimum, b, sizeof b);
    return fail(c, n, "exclusiveMinimum", inst, "is not greater than %s", b);
  }
  if (n->xmaximum && sch_num_cmp(inst, n->xmaximum) >= 0) {
    render_value(n->xmaximum, b, sizeof b);
    return fail(c, n, "exclusiveMaximum", inst, "is not less than %s", b);
  }
  if (n->multiple_of && !sch_multiple_of(inst, n->multiple_of)) {
    render_value(n->multiple_of, b, sizeof b);
    return fail(c, n, "multipleOf", inst, "is not a multiple of %s", b);
  }
  return 1;
}

static int v_string(vctx *c, const sch_node *n, const json_t *inst) {
  const char *s = json_string_value(inst);
  size_t len = json_string_length(inst);
  if (n->min_length >= 0 || n->max_length >= 0) {
    size_t cp = sch_utf8_len(s, len);
    if (n->min_length >= 0 && cp < (size_t)n->min_length)
      return fail(c, n, "minLength", inst, "is shorter than %lld characters", n->min_length);
    if (n->max_length >= 0 && cp > (size_t)n->max_length)
      return fail(c, n, "maxLength", inst, "is longer than %lld characters", n->max_length);
  }
  if (n->pattern) {
    int rc = regex_match(c, n->pattern, s, len);
    if (rc < 0) return rc;
    if (!rc) return fail(c, n, "pattern", inst, "does not match /%s/", n->pattern_src);
  }
  return 1;
}

typedef struct hidx {
  uint64_t h;
  size_t i;
} hidx;

static int cmp_hidx(const void *a, const void *b) {
  const hidx *x = a, *y = b;
  return x->h < y->h ? -1 : x->h > y->h;
}

static int unique(vctx *c, const sch_node *n, const json_t *inst) {
  size_t len = json_array_size(inst);
  if (len < 2) return 1;
  hidx *h = al_malloc(len * sizeof *h);
  if (!h) return error(c, AL_ENOMEM, "out of memory");
  for (size_t i = 0; i < len; i++)
    h[i] = (hidx){sch_json_hash(json_array_get(inst, i)), i};
  qsort(h, len, sizeof *h, cmp_hidx);
  int rc = 1;
  for (size_t i = 0; i < len && rc == 1; i++)
    for (size_t k = i + 1; k < len && h[k].h == h[i].h; k++)
      if (sch_json_equal(json_array_get(inst, h[i].i), json_array_get(inst, h[k].i))) {
        size_t a = h[i].i < h[k].i ? h[i].i : h[k].i, b = h[i].i < h[k].i ? h[k].i : h[i].i;
        rc = fail(c, n, "uniqueItems", inst, "has equal items at %zu and %zu", a, b);
        break;
      }
  al_free(h);
  return rc;
}

static int v_array(vctx *c, const sch_node *n, const json_t *inst, ann *a) {
  size_t len = json_array_size(inst);
  int rc;
  if (n->min_items >= 0 && len < (size_t)n->min_items)
    return fail(c, n, "minItems", inst, "has fewer than %lld items", n->min_items);
  if (n->max_items >= 0 && len > (size_t)n->max_items)
    return fail(c, n, "maxItems", inst, "has more than %lld items", n->max_items);
  if (n->unique_items && (rc = unique(c, n, inst)) != 1) return rc;
  size_t i = 0;
  for (; i < n->prefix.n && i < len; i++) {
    if ((rc = child(c, n->prefix.v[i], json_array_get(inst, i), NULL, i)) != 1) return rc;
    if (ann_item(a, i, len) < 0) return error(c, AL_ENOMEM, "out of memory");
  }
  if (n->items) {
    for (; i < len; i++)
      if ((rc = child(c, n->items, json_array_get(inst, i), NULL, i)) != 1) return rc;
    if (a) a->all_items = 1;
  }
  if (n->contains) {
    long long found = 0;
    c->quiet++;
    for (i = 0; i < len; i++) {
      rc = child(c, n->contains, json_array_get(inst, i), NULL, i);
      if (rc < 0) {
        c->quiet--;
        return rc;
      }
      if (rc == 1) {
        found++;
        if (ann_item(a, i, len) < 0) {
          c->quiet--;
          return error(c, AL_ENOMEM, "out of memory");
        }
      }
    }
    c->quiet--;
    if (found < n->min_contains)
      return n->min_contains == 1 && !json_object_get(n->json, "minContains")
                 ? fail(c, n, "contains", inst, "has no item matching contains")
                 : fail(c, n, "minContains", inst,
                        "has %lld items matching contains, fewer "
                        "than %lld",
                        found, n->min_contains);
    if (n->max_contains >= 0 && found > n->max_contains)
      return fail(c, n, "maxContains", inst, "has %lld items matching contains, more than %lld",
                  found, n->max_contains);
  }
  return 1;
}

static int v_object(vctx *c, const sch_node *n, const json_t *inst, ann *a) {
  size_t size = json_object_size(inst);
  int rc;
  if (n->min_props >= 0 && size < (size_t)n->min_props)
    return fail(c, n, "minProperties", inst, "has fewer than %lld properties", n->min_props);
  if (n->max_props >= 0 && size > (size_t)n->max_props)
    return fail(c, n, "maxProperties", inst, "has more than %lld properties", n->max_props);
  for (size_t i = 0; n->required && i < json_array_size(n->required); i++) {
    const json_t *r = json_array_get(n->required, i);
    if (!json_object_getn(inst, json_string_value(r), json_string_length(r)))
      return fail(c, n, "required", inst, "lacks required property \"%s\"", json_string_value(r));
  }
  for (size_t d = 0; d < n->ndepreq; d++) {
    if (!json_object_getn(inst, n->depreq[d].name, n->depreq[d].len)) continue;
    const json_t *req = n->depreq[d].req;
    for (size_t i = 0; i < json_array_size(req); i++) {
      const json_t *r = json_array_get(req, i);
      if (!json_object_getn(inst, json_string_value(r), json_string_length(r)))
        return fail(c, n,
                    json_object_get(n->json, "dependencies") ? "dependencies" : "dependentRequired",
                    inst, "has \"%s\" but lacks \"%s\"", n->depreq[d].name, json_string_value(r));
    }
  }
  if (n->nprops || n->npprops || n->addl_props || n->prop_names) {
    const char *k;
    size_t kl, pos = 0;
    json_t *v;
    json_object_keylen_foreach((json_t *)inst, k, kl, v) {
      int matched = 0;
      if (n->prop_names) {
        json_t *name = json_stringn(k, kl);
        if (!name) return error(c, AL_ENOMEM, "out of memory");
        push_path(c, k, 0);
        rc = vnode(c, n->prop_names, name, NULL);
        c->npath--;
        json_decref(name);
        if (rc != 1) return rc;
      }
      const sch_prop *p = NULL;
      if (n->prop_index.len) {
        p = sch_map_get(&n->prop_index, k, kl);
      } else {
        for (size_t i = 0; i < n->nprops && !p; i++)
          if (n->props[i].len == kl && memcmp(n->props[i].name, k, kl) == 0) p = &n->props[i];
      }
      if (p) {
        matched = 1;
        if ((rc = child(c, p->node, v, k, 0)) != 1) return rc;
      }
      for (size_t i = 0; i < n->npprops; i++) {
        if ((rc = regex_match(c, n->pprops[i].re, k, kl)) < 0) return rc;
        if (!rc) continue;
        matched = 1;
        if ((rc = child(c, n->pprops[i].node, v, k, 0)) != 1) return rc;
      }
      if (!matched && n->addl_props) {
        if (n->addl_props->is_bool && !n->addl_props->bool_val) {
          push_path(c, k, 0);
          fail(c, n, "additionalProperties", v,
               "is not allowed: property \"%s\" is not "
               "defined",
               k);
          c->npath--;
          return 0;
        }
        if ((rc = child(c, n->addl_props, v, k, 0)) != 1) return rc;
      }
      if ((matched || n->addl_props) && ann_prop(a, pos, size) < 0)
        return error(c, AL_ENOMEM, "out of memory");
      pos++;
    }
  }
  for (size_t d = 0; d < n->ndepsch; d++) {
    if (!json_object_getn(inst, n->depsch[d].name, n->depsch[d].len)) continue;
    if ((rc = vnode(c, n->depsch[d].node, inst, a)) != 1) return rc;
  }
  return 1;
}

/* Run a branch as a trial: failures are not reported, annotations go to a fresh record. */
static int trial(vctx *c, const sch_node *n, const json_t *inst, ann *parent, ann *mine) {
  ann_init(mine);
  c->quiet++;
  int rc = vnode(c, n, inst, parent ? mine : NULL);
  c->quiet--;
  return rc;
}

static int v_logic(vctx *c, const sch_node *n, const json_t *inst, ann *a) {
  int rc;
  for (size_t i = 0; i < n->all_of.n; i++)
    if ((rc = vnode(c, n->all_of.v[i], inst, a)) != 1) return rc;
  if (n->any_of.n) {
    int any = 0;
    for (size_t i = 0; i < n->any_of.n; i++) {
      ann m;
      rc = trial(c, n->any_of.v[i], inst, a, &m);
      if (rc == 1) {
        any = 1;
        if (ann_merge(a, &m) < 0) rc = AL_ENOMEM;
      }
      ann_cleanup(&m);
      if (rc < 0) return rc;
      if (any && !a) break; /* nothing to collect: first match decides */
    }
    if (!any)
      return fail(c, n, "anyOf", inst, "matches none of the %zu anyOf schemas", n->any_of.n);
  }
  if (n->one_of.n) {
    size_t first = 0, count = 0;
    for (size_t i = 0; i < n->one_of.n && count < 2; i++) {
      ann m;
      rc = trial(c, n->one_of.v[i], inst, a, &m);
      if (rc == 1) {
        if (!count++) first = i;
        if (ann_merge(a, &m) < 0) rc = AL_ENOMEM;
      }
      ann_cleanup(&m);
      if (rc < 0) return rc;
      if (count == 2)
        return fail(c, n, "oneOf", inst, "matches oneOf schemas %zu and %zu, not exactly one",
                    first, i);
    }
    if (!count)
      return fail(c, n, "oneOf", inst, "matches none of the %zu oneOf schemas", n->one_of.n);
  }
  if (n->not_) {
    ann m;
    rc = trial(c, n->not_, inst, NULL, &m);
    ann_cleanup(&m);
    if (rc < 0) return rc;
    if (rc == 1) return fail(c, n, "not", inst, "matches the schema under not");
  }
  if (n->if_) {
    ann m;
    rc = trial(c, n->if_, inst, a, &m);
    if (rc == 1 && ann_merge(a, &m) < 0) rc = AL_ENOMEM;
    ann_cleanup(&m);
    if (rc < 0) return rc;
    const sch_node *next = rc == 1 ? n->then_ : n->else_;
    if (next && (rc = vnode(c, next, inst, a)) != 1) return rc;
  }
  return 1;
}

static int v_unevaluated(vctx *c, const sch_node *n, const json_t *inst, ann *a) {
  int rc;
  if (n->uneval_items && json_is_array(inst) && !a->all_items) {
    size_t len = json_array_size(inst);
    for (size_t i = 0; i < len; i++) {
      if (bits_get(&a->items, i)) continue;
      if (n->uneval_items->is_bool && !n->uneval_items->bool_val) {
        push_path(c, NULL, i);
        fail(c, n, "unevaluatedItems", json_array_get(inst, i),
             "is not allowed: item %zu is "
             "not evaluated by any keyword",
             i);
        c->npath--;
        return 0;
      }
      if ((rc = child(c, n->uneval_items, json_array_get(inst, i), NULL, i)) != 1) return rc;
    }
    a->all_items = 1;
  }
  if (n->uneval_props && json_is_object(inst) && !a->all_props) {
    const char *k;
    size_t kl, pos = 0;
    json_t *v;
    json_object_keylen_foreach((json_t *)inst, k, kl, v) {
      (void)kl;
      if (bits_get(&a->props, pos++)) continue;
      if (n->uneval_props->is_bool && !n->uneval_props->bool_val) {
        push_path(c, k, 0);
        fail(c, n, "unevaluatedProperties", v,
             "is not allowed: property \"%s\" is not "
             "evaluated by any keyword",
             k);
        c->npath--;
        return 0;
      }
      if ((rc = child(c, n->uneval_props, v, k, 0)) != 1) return rc;
    }
    a->all_props = 1;
  }
  return 1;
}

static const sch_node *dynamic_target(vctx *c, const sch_node *n) {
  if (!n->dyn_name) return n->dynref;
  for (int i = 0; i < c->nscope; i++) {
    const sch_node *t = sch_map_gets(&c->scope[i]->dyn_node, n->dyn_name);
    if (t) return t;
  }
  return n->dynref;
}

static int keywords(vctx *c, const sch_node *n, const json_t *inst, ann *a) {
  int rc;
  if (n->ref && (rc = follow(c, n, n->ref, inst, a)) != 1) return rc;
  if (n->dynref && (rc = follow(c, n, dynamic_target(c, n), inst, a)) != 1) return rc;
  if (n->types && !(type_bits(inst) & n->types)) {
    char t[96];
    type_names(n->types, t, sizeof t);
    return fail(c, n, "type", inst, "is not of type %s", t);
  }
  if (n->const_v && !sch_json_equal(inst, n->const_v)) {
    char b[64];
    render_value(n->const_v, b, sizeof b);
    return fail(c, n, "const", inst, "is not %s", b);
  }
  if (n->enum_v) {
    size_t i, k = json_array_size(n->enum_v);
    for (i = 0; i < k; i++)
      if (sch_json_equal(inst, json_array_get(n->enum_v, i))) break;
    if (i == k) return fail(c, n, "enum", inst, "is not one of the %zu enum values", k);
  }
  if (json_is_number(inst) && (rc = v_number(c, n, inst)) != 1) return rc;
  if (json_is_string(inst) && (rc = v_string(c, n, inst)) != 1) return rc;
  if (json_is_array(inst) && (rc = v_array(c, n, inst, a)) != 1) return rc;
  if (json_is_object(inst) && (rc = v_object(c, n, inst, a)) != 1) return rc;
  return v_logic(c, n, inst, a);
}

static unsigned long long count_values(const json_t *v, int depth) {
  unsigned long long k = 1;
  if (depth > AL_SCHEMA_MAX_EVAL_DEPTH) return k;
  if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++)
      k += count_values(json_array_get(v, i), depth + 1);
  } else if (json_is_object(v)) {
    const char *key;
    json_t *x;
    json_object_foreach((json_t *)v, key, x) k += count_values(x, depth + 1);
  }
  return k;
}

/* The fixed budget is spent: scale it to the instance once, then it is final. */
static int over_budget(vctx *c) {
  if (c->counted) return 1;
  c->counted = 1;
  unsigned long long scaled = count_values(c->root, 0) * AL_SCHEMA_EVAL_STEPS_PER_VALUE;
  if (scaled > c->budget) c->budget = scaled;
  return c->steps > c->budget;
}

static int vnode(vctx *c, const sch_node *n, const json_t *inst, ann *a) {
  int rc;
  if (n->is_bool) {
    if (n->bool_val) return 1;
    return fail(c, n, NULL, inst, "is not allowed by a false schema");
  }
  if (!n->has_keywords) return 1;
  if (c->depth >= AL_SCHEMA_MAX_EVAL_DEPTH)
    return error(c, AL_ELIMIT, "evaluation deeper than %d levels at schema %s",
                 AL_SCHEMA_MAX_EVAL_DEPTH, n->path[0] ? n->path : "#");
  if (++c->steps > c->budget && over_budget(c))
    return error(c, AL_ELIMIT, "validation took more than %llu steps (schema %s)", c->budget,
                 n->path[0] ? n->path : "#");
  if (reserve(c, c->depth + 1) < 0) return error(c, AL_ENOMEM, "out of memory");
  c->depth++;
  int pushed = 0;
  if (c->nscope == 0 || c->scope[c->nscope - 1] != n->res) {
    c->scope[c->nscope++] = n->res;
    pushed = 1;
  }
  ann local, *use = a;
  int own = n->uneval_items || n->uneval_props;
  if (own) {
    ann_init(&local);
    use = &local;
  }
  rc = keywords(c, n, inst, use);
  if (rc == 1 && own) rc = v_unevaluated(c, n, inst, use);
  if (rc == 1 && own && ann_merge(a, &local) < 0) rc = error(c, AL_ENOMEM, "out of memory");
  if (own) ann_cleanup(&local);
  if (pushed) c->nscope--;
  c->depth--;
  return rc;
}

int al_schema_validate(const al_schema *s, const json_t *instance, char *why, size_t why_len) {
  int rc;
  vctx c;
  memset(&c, 0, offsetof(vctx, scope0)); /* the inline stacks need no clearing */
  if (why && why_len) why[0] = '\0';
  if (!s || !instance) return AL_EINVAL;
  c.s = s;
  c.why = why;
  c.why_len = why_len;
  c.scope = c.scope0;
  c.ref_n = c.ref_n0;
  c.ref_i = c.ref_i0;
  c.path = c.path0;
  c.cap = INLINE_DEPTH;
  c.root = instance;
  c.budget = AL_SCHEMA_MAX_EVAL_STEPS;
  rc = vnode(&c, s->root, instance, NULL);
  if (rc == 0 && why && why_len && !c.have_why) snprintf(why, why_len, "invalid");
  if (c.scope != c.scope0) {
    al_free(c.scope);
    al_free(c.ref_n);
    al_free(c.ref_i);
    al_free(c.path);
  }
  pcre2_match_data_free(c.md);
  return rc;
}
