/* YAML documents as located JSON (see include/airlock/yaml.h).
 *
 * libfyaml builds the document (with anchors/aliases resolved and duplicate keys rejected);
 * we walk it once into jansson values. Positions go into a small open-addressing table keyed
 * by (container pointer, member key hash or item index): jansson shares the true/false/null
 * singletons between documents, so a value's own pointer cannot identify it, but the slot it
 * sits in can. Lines and columns are stored 1-based. */
#include <ctype.h>
#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "airlock/yaml.h"
#include "core/limits.h"

enum { LOC_NODE = 0, LOC_MEMBER = 1, LOC_ITEM = 2 };

typedef struct loc_ent {
  const void *ptr;
  uint64_t key;
  int kind;
  int line, col;
} loc_ent;

struct al_ydoc {
  json_t *root;
  char *name;
  loc_ent *tab;
  size_t cap, n;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static size_t slot_of(const void *ptr, uint64_t key, int kind, size_t cap) {
  uint64_t h = ((uint64_t)(uintptr_t)ptr * 0x9E3779B97F4A7C15ULL) ^ (key + (uint64_t)kind * 31);
  h ^= h >> 29;
  return (size_t)(h & (cap - 1));
}

static int loc_put(al_ydoc *d, const void *ptr, uint64_t key, int kind, int line, int col) {
  if ((d->n + 1) * 2 > d->cap) {
    size_t ncap = d->cap ? d->cap * 2 : 256;
    loc_ent *nt = al_calloc(ncap, sizeof *nt);
    if (!nt) return AL_ENOMEM;
    for (size_t i = 0; i < d->cap; i++) {
      if (!d->tab[i].ptr) continue;
      size_t s = slot_of(d->tab[i].ptr, d->tab[i].key, d->tab[i].kind, ncap);
      while (nt[s].ptr) s = (s + 1) & (ncap - 1);
      nt[s] = d->tab[i];
    }
    al_free(d->tab);
    d->tab = nt;
    d->cap = ncap;
  }
  size_t s = slot_of(ptr, key, kind, d->cap);
  while (d->tab[s].ptr) {
    if (d->tab[s].ptr == ptr && d->tab[s].key == key && d->tab[s].kind == kind) break;
    s = (s + 1) & (d->cap - 1);
  }
  if (!d->tab[s].ptr) d->n++;
  d->tab[s] = (loc_ent){ptr, key, kind, line, col};
  return 0;
}

static const loc_ent *loc_get(const al_ydoc *d, const void *ptr, uint64_t key, int kind) {
  if (!d || !d->cap || !ptr) return NULL;
  size_t s = slot_of(ptr, key, kind, d->cap);
  while (d->tab[s].ptr) {
    if (d->tab[s].ptr == ptr && d->tab[s].key == key && d->tab[s].kind == kind) return &d->tab[s];
    s = (s + 1) & (d->cap - 1);
  }
  return NULL;
}

static void node_mark(struct fy_node *n, int *line, int *col) {
  *line = *col = 0;
  struct fy_token *t = NULL;
  if (fy_node_is_scalar(n) || fy_node_is_alias(n)) t = fy_node_get_scalar_token(n);
  if (!t) t = fy_node_get_tag_token(n);
  if (!t && fy_node_is_mapping(n)) {
    void *it = NULL;
    struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
    if (p && fy_node_pair_key(p)) {
      node_mark(fy_node_pair_key(p), line, col);
      return;
    }
  }
  if (!t && fy_node_is_sequence(n)) {
    void *it = NULL;
    struct fy_node *c = fy_node_sequence_iterate(n, &it);
    if (c) {
      node_mark(c, line, col);
      return;
    }
  }
  if (t) {
    const struct fy_mark *m = fy_token_start_mark(t);
    if (m) {
      *line = m->line + 1;
      *col = m->column + 1;
    }
  }
}

static json_t *plain_scalar(const char *s, size_t n) {
  char buf[64];
  if (n == 0 || (n == 1 && s[0] == '~') ||
      (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4))))
    return json_null();
  if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))))
    return json_true();
  if ((n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))))
    return json_false();
  if (n < sizeof buf) {
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    int is_int = 1;
    size_t i = (buf[0] == '-' || buf[0] == '+') ? 1 : 0;
    if (i == n) is_int = 0;
    for (size_t k = i; k < n; k++)
      if (!isdigit((unsigned char)buf[k])) is_int = 0;
    if (is_int) {
      errno = 0;
      long long v = strtoll(buf, &end, 10);
      if (!errno && !*end) return json_integer(v);
    }
    if (n > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'o')) {
      errno = 0;
      long long v = strtoll(buf + 2, &end, buf[1] == 'x' ? 16 : 8);
      if (!errno && !*end && end != buf + 2) return json_integer(v);
    }
    if (!strcmp(buf, ".inf") || !strcmp(buf, "+.inf") || !strcmp(buf, ".nan") ||
        !strcmp(buf, "-.inf"))
      return json_stringn(s, n); /* jansson cannot hold non-finite reals */
    int looks_num = isdigit((unsigned char)buf[i]) || (buf[i] == '.' && isdigit((unsigned char)buf[i + 1]));
    if (looks_num) {
      errno = 0;
      double v = strtod(buf, &end);
      if (!errno && !*end && isfinite(v)) return json_real(v);
    }
  }
  return json_stringn(s, n);
}

static int convert(al_ydoc *d, struct fy_node *n, json_t **out, int depth, al_error *err) {
  int rc = 0;
  json_t *v = NULL;
  int line, col;
  if (depth > 256) {
    node_mark(n, &line, &col);
    rc = al_error_at(err, AL_ELIMIT, d->name, line, col, "nesting deeper than 256 levels");
    goto out;
  }
  if (fy_node_is_scalar(n)) {
    size_t len = 0;
    const char *s = fy_node_get_scalar(n, &len);
    if (!s) s = "", len = 0;
    if (fy_node_get_style(n) == FYNS_PLAIN && !fy_node_get_tag_token(n)) v = plain_scalar(s, len);
    else v = json_stringn(s, len);
    if (!v) {
      node_mark(n, &line, &col);
      rc = al_error_at(err, AL_EPARSE, d->name, line, col, "scalar is not valid UTF-8");
      goto out;
    }
  } else if (fy_node_is_sequence(n)) {
    v = json_array();
    void *it = NULL;
    struct fy_node *c;
    size_t i = 0;
    while ((c = fy_node_sequence_iterate(n, &it))) {
      json_t *cv = NULL;
      if ((rc = convert(d, c, &cv, depth + 1, err))) goto out;
      json_array_append_new(v, cv);
      node_mark(c, &line, &col);
      if ((rc = loc_put(d, v, i++, LOC_ITEM, line, col))) goto out;
    }
  } else if (fy_node_is_mapping(n)) {
    v = json_object();
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(n, &it))) {
      struct fy_node *k = fy_node_pair_key(p), *val = fy_node_pair_value(p);
      node_mark(k, &line, &col);
      if (!k || !fy_node_is_scalar(k)) {
        rc = al_error_at(err, AL_EPARSE, d->name, line, col, "mapping keys must be scalars");
        goto out;
      }
      size_t klen = 0;
      const char *ks = fy_node_get_scalar(k, &klen);
      char *key = al_strndup(ks ? ks : "", ks ? klen : 0);
      if (!key) {
        rc = AL_ENOMEM;
        goto out;
      }
      if (json_object_get(v, key)) {
        rc = al_error_at(err, AL_EPARSE, d->name, line, col, "duplicate key '%s'", key);
        al_free(key);
        goto out;
      }
      json_t *cv = NULL;
      if (val) rc = convert(d, val, &cv, depth + 1, err);
      else cv = json_null();
      if (!rc) {
        json_object_set_new(v, key, cv);
        rc = loc_put(d, v, hash_str(key), LOC_MEMBER, line, col);
      }
      al_free(key);
      if (rc) goto out;
    }
  } else {
    v = json_null();
  }
  node_mark(n, &line, &col);
  if (json_is_object(v) || json_is_array(v)) {
    if ((rc = loc_put(d, v, 0, LOC_NODE, line, col))) goto out;
  }
  *out = v;
  v = NULL;
out:
  json_decref(v);
  return rc;
}

static int load(const char *text, size_t len, const char *name, al_ydoc **out, al_error *err) {
  int rc = 0;
  size_t bad = al_utf8_check(text, len);
  if (bad < len) {
    int line = 1, col = 1;
    for (size_t i = 0; i < bad; i++) {
      if (text[i] == '\n') line++, col = 1;
      else if (((unsigned char)text[i] & 0xC0) != 0x80) col++;
    }
    return al_error_at(err, AL_EPARSE, name, line, col, "not valid UTF-8 (byte 0x%02x)",
                       (unsigned char)text[bad]);
  }
  if (memchr(text, '\0', len)) {
    return al_error_at(err, AL_EPARSE, name, 0, 0, "contains a NUL byte (expected YAML text)");
  }
  al_ydoc *d = NULL;
  struct fy_diag *diag = NULL;
  struct fy_document *fyd = NULL;
  struct fy_diag_cfg dcfg;
  *out = NULL;
  d = al_calloc(1, sizeof *d);
  if (!d || !(d->name = al_strdup(name))) {
    rc = AL_ENOMEM;
    goto out;
  }
  fy_diag_cfg_default(&dcfg);
  dcfg.fp = NULL;
  dcfg.level = FYET_ERROR;
  diag = fy_diag_create(&dcfg);
  if (diag) fy_diag_set_collect_errors(diag, true);
  struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT, .diag = diag};
  fyd = fy_document_build_from_string(&cfg, text, len);
  if (!fyd || (diag && fy_diag_got_error(diag))) {
    int line = 0, col = 0;
    const char *msg = "not valid YAML";
    void *it = NULL;
    struct fy_diag_error *de = diag ? fy_diag_errors_iterate(diag, &it) : NULL;
    if (de) {
      line = de->line + 1;
      col = de->column + 1;
      if (de->msg) msg = de->msg;
    }
    rc = al_error_at(err, AL_EPARSE, name, line, col, "YAML: %s", msg);
    goto out;
  }
  struct fy_node *root = fy_document_root(fyd);
  if (!root) {
    d->root = json_null();
  } else if ((rc = convert(d, root, &d->root, 0, err))) {
    goto out;
  }
  *out = d;
  d = NULL;
out:
  if (fyd) fy_document_destroy(fyd);
  if (diag) fy_diag_unref(diag);
  al_ydoc_free(d);
  return rc;
}

int al_ydoc_load_text(const char *text, size_t len, const char *name, al_ydoc **out,
                      al_error *err) {
  return load(text, len, name ? name : "<string>", out, err);
}

int al_ydoc_load_file(const char *path, al_ydoc **out, al_error *err) {
  char *text = NULL;
  size_t len = 0;
  int rc = al_read_file(path, AL_MAX_SUITE_BYTES, &text, &len, err);
  if (!rc) rc = load(text, len, path, out, err);
  al_free(text);
  return rc;
}

void al_ydoc_free(al_ydoc *d) {
  if (!d) return;
  json_decref(d->root);
  al_free(d->name);
  al_free(d->tab);
  al_free(d);
}

json_t *al_ydoc_root(const al_ydoc *d) { return d->root; }
const char *al_ydoc_name(const al_ydoc *d) { return d->name; }

static void set_lc(const loc_ent *e, int *line, int *col) {
  *line = e ? e->line : 0;
  *col = e ? e->col : 0;
}

void al_ydoc_loc(const al_ydoc *d, const json_t *node, int *line, int *col) {
  set_lc(loc_get(d, node, 0, LOC_NODE), line, col);
}

void al_ydoc_loc_member(const al_ydoc *d, const json_t *obj, const char *key, int *line, int *col) {
  const loc_ent *e = loc_get(d, obj, hash_str(key), LOC_MEMBER);
  if (!e) e = loc_get(d, obj, 0, LOC_NODE);
  set_lc(e, line, col);
}

void al_ydoc_loc_item(const al_ydoc *d, const json_t *arr, size_t i, int *line, int *col) {
  const loc_ent *e = loc_get(d, arr, i, LOC_ITEM);
  if (!e) e = loc_get(d, arr, 0, LOC_NODE);
  set_lc(e, line, col);
}

static int verr(const al_ydoc *d, al_error *e, int line, int col, int code, const char *fmt,
                va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  return al_error_at(e, code, d ? d->name : NULL, line, col, "%s", msg);
}

int al_ydoc_err(const al_ydoc *d, al_error *e, const json_t *node, int code, const char *fmt, ...) {
  int line, col;
  al_ydoc_loc(d, node, &line, &col);
  va_list ap;
  va_start(ap, fmt);
  verr(d, e, line, col, code, fmt, ap);
  va_end(ap);
  return code;
}

int al_ydoc_err_member(const al_ydoc *d, al_error *e, const json_t *obj, const char *key, int code,
                       const char *fmt, ...) {
  int line, col;
  al_ydoc_loc_member(d, obj, key, &line, &col);
  va_list ap;
  va_start(ap, fmt);
  verr(d, e, line, col, code, fmt, ap);
  va_end(ap);
  return code;
}

int al_ydoc_err_item(const al_ydoc *d, al_error *e, const json_t *arr, size_t i, int code,
                     const char *fmt, ...) {
  int line, col;
  al_ydoc_loc_item(d, arr, i, &line, &col);
  va_list ap;
  va_start(ap, fmt);
  verr(d, e, line, col, code, fmt, ap);
  va_end(ap);
  return code;
}

int al_ydoc_check_keys(const al_ydoc *d, al_error *e, const json_t *obj, const char *what,
                       const char *const *allowed) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    int ok = 0;
    for (const char *const *a = allowed; *a; a++)
      if (!strcmp(*a, key)) ok = 1;
    if (ok) continue;
    char list[400] = "";
    size_t used = 0;
    for (const char *const *a = allowed; *a && used < sizeof list - 40; a++)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", a == allowed ? "" : ", ", *a);
    return al_ydoc_err_member(d, e, obj, key, AL_EPARSE, "unknown key '%s' in %s (expected one of: %s)",
                              key, what, list);
  }
  return 0;
}

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "a mapping";
  case JSON_ARRAY: return "a list";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

int al_ydoc_get_str(const al_ydoc *d, al_error *e, const json_t *obj, const char *key,
                    const char **out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  if (json_is_integer(v) || json_is_real(v)) {
    /* plain scalars that look numeric are still fine as strings for string fields */
    return al_ydoc_err_member(d, e, obj, key, AL_EPARSE,
                              "'%s' must be a string, got %s (quote it)", key, type_name(v));
  }
  if (!json_is_string(v))
    return al_ydoc_err_member(d, e, obj, key, AL_EPARSE, "'%s' must be a string, got %s", key,
                              type_name(v));
  *out = json_string_value(v);
  return 1;
}

int al_ydoc_get_int(const al_ydoc *d, al_error *e, const json_t *obj, const char *key,
                    long long min, long long max, long long *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  if (!json_is_integer(v))
    return al_ydoc_err_member(d, e, obj, key, AL_EPARSE, "'%s' must be an integer, got %s", key,
                              type_name(v));
  long long x = json_integer_value(v);
  if (x < min || x > max)
    return al_ydoc_err_member(d, e, obj, key, AL_EPARSE, "'%s' must be between %lld and %lld", key,
                              min, max);
  *out = x;
  return 1;
}

int al_ydoc_get_num(const al_ydoc *d, al_error *e, const json_t *obj, const char *key, double min,
                    double max, double *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  if (!json_is_number(v))
    return al_ydoc_err_member(d, e, obj, key, AL_EPARSE, "'%s' must be a number, got %s", key,
                              type_name(v));
  double x = json_number_value(v);
  if (x < min || x > max)
    return al_ydoc_err_member(d, e, obj, key, AL_EPARSE, "'%s' must be between %g and %g", key, min,
                              max);
  *out = x;
  return 1;
}

int al_ydoc_get_bool(const al_ydoc *d, al_error *e, const json_t *obj, const char *key, int *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  if (!json_is_boolean(v))
    return al_ydoc_err_member(d, e, obj, key, AL_EPARSE, "'%s' must be true or false, got %s", key,
                              type_name(v));
  *out = json_is_true(v);
  return 1;
}

int al_ydoc_get_ms(const al_ydoc *d, al_error *e, const json_t *obj, const char *key,
                   long long *out_ms) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  if (json_is_integer(v) && json_integer_value(v) >= 0) {
    *out_ms = json_integer_value(v);
    return 1;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    double mul = -1;
    if (end != s && x >= 0) {
      if (!strcmp(end, "ms")) mul = 1;
      else if (!strcmp(end, "s")) mul = 1000;
      else if (!strcmp(end, "m")) mul = 60000;
      else if (!strcmp(end, "h")) mul = 3600000;
    }
    if (mul > 0 && !errno && x * mul < 9e15) {
      *out_ms = (long long)(x * mul + 0.5);
      return 1;
    }
  }
  return al_ydoc_err_member(d, e, obj, key, AL_EPARSE,
                            "'%s' must be a duration: milliseconds, or a string like 250ms, 30s, 2m",
                            key);
}
