/* JSON Schema -> GBNF (see schema_gbnf.h for the supported subset).
 *
 * One recursive walk. gen() appends to the caller's expression buffer a single GBNF *term*
 * -- a rule name, a quoted literal or a parenthesised group -- so terms can be concatenated
 * and repeated without thinking about precedence. Objects, arrays and object members become
 * rules of their own (o3, a4, o3-k1, ...), written to the grammar as soon as they are
 * complete; the primitive rules (ws, char, strings by length range, numbers, any-value by
 * depth) are written once, on first use. GBNF allows forward references, so the order of
 * rules in the text does not matter; "root" is written last.
 *
 * Every repetition is bounded (maxLength/maxItems or the caps in limits.h) and whitespace
 * between tokens is at most a newline plus 16 blanks, so a model sampling under the grammar
 * always reaches the end of root in a bounded number of characters.
 */
#include "llama/schema_gbnf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "llama/limits.h"

#define PATH_MAX_BYTES 1024
#define EXPR_MAX_BYTES (AL_LLAMA_MAX_GRAMMAR_BYTES)
#define MAX_STR_RULES 64

enum {
  PRIM_WS = 1u << 0,
  PRIM_CHAR = 1u << 1,
  PRIM_NUM = 1u << 2,
  PRIM_NUM_NN = 1u << 3,
  PRIM_INT = 1u << 4,
  PRIM_INT_NN = 1u << 5,
  PRIM_INT_POS = 1u << 6,
  PRIM_BOOL = 1u << 7,
  PRIM_NULL = 1u << 8,
};

typedef struct cx {
  al_buf out;  /* grammar text */
  al_buf path; /* JSON pointer of the schema being converted */
  al_error *err;
  int n_rules; /* rules written */
  int n_names; /* generated rule names handed out */
  unsigned prims;
  int any_done; /* any-0 .. any-(any_done-1) are written */
  long string_cap, array_cap;
  int n_strs;
  int strs[MAX_STR_RULES][2];
} cx;

static int gen(cx *c, const json_t *s, int depth, al_buf *expr);

static int fail(cx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(cx *c, int code, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return al_error_at(c->err, code, "json_schema", 0, 0, "at #%s: %s",
                     c->path.data ? c->path.data : "", msg);
}

static int nomem(cx *c, int rc) {
  if (rc == AL_ELIMIT)
    return fail(c, AL_ELIMIT, "grammar larger than %u bytes", (unsigned)AL_LLAMA_MAX_GRAMMAR_BYTES);
  return fail(c, rc, "out of memory");
}

/* Append one JSON-pointer segment (escaped per RFC 6901); return the old length. The path
 * is diagnostics only: when it is full the segment is dropped. */
static size_t path_push(cx *c, const char *seg) {
  size_t mark = c->path.len;
  al_buf_putc(&c->path, '/');
  for (const char *p = seg; *p; p++) {
    if (*p == '~')
      al_buf_puts(&c->path, "~0");
    else if (*p == '/')
      al_buf_puts(&c->path, "~1");
    else
      al_buf_putc(&c->path, *p);
  }
  return mark;
}

static void path_pop(cx *c, size_t mark) {
  if (c->path.len > mark) {
    c->path.len = mark;
    c->path.data[mark] = '\0';
  }
}

/* A GBNF double-quoted literal of n bytes (UTF-8 passes through; GBNF reads code points). */
static int put_literal(al_buf *b, const char *s, size_t n) {
  int rc = al_buf_putc(b, '"');
  for (size_t i = 0; rc == 0 && i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"')
      rc = al_buf_puts(b, "\\\"");
    else if (ch == '\\')
      rc = al_buf_puts(b, "\\\\");
    else if (ch == '\n')
      rc = al_buf_puts(b, "\\n");
    else if (ch == '\r')
      rc = al_buf_puts(b, "\\r");
    else if (ch == '\t')
      rc = al_buf_puts(b, "\\t");
    else if (ch < 0x20 || ch == 0x7f)
      rc = al_buf_printf(b, "\\x%02X", ch);
    else
      rc = al_buf_putc(b, (char)ch);
  }
  return rc ? rc : al_buf_putc(b, '"');
}

/* Write "name ::= body\n" to the grammar. */
static int put_rule(cx *c, const char *name, const al_buf *body) {
  if (++c->n_rules > AL_LLAMA_SCHEMA_MAX_RULES)
    return fail(c, AL_ELIMIT, "schema needs more than %d grammar rules", AL_LLAMA_SCHEMA_MAX_RULES);
  int rc = al_buf_printf(&c->out, "%s ::= ", name);
  if (!rc) rc = al_buf_append(&c->out, body->data ? body->data : "", body->len);
  if (!rc) rc = al_buf_putc(&c->out, '\n');
  return rc ? nomem(c, rc) : 0;
}

static int put_rule_text(cx *c, const char *name, const char *body) {
  al_buf b = {.data = (char *)body, .len = strlen(body)};
  return put_rule(c, name, &b);
}

/* Primitive rules, written on first use; the term (rule name) goes to expr. */
static int prim(cx *c, unsigned which, al_buf *expr) {
  static const struct {
    unsigned bit;
    const char *name, *body;
  } tab[] = {
      {PRIM_WS, "ws", "| \" \" | \"\\n\" [ \\t]{0,16}"},
      {PRIM_CHAR, "char", "[^\"\\\\\\x00-\\x1F\\x7F] | \"\\\\\" [\"\\\\/bfnrt]"},
      {PRIM_NUM, "num",
       "\"-\"? (\"0\" | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,15})? ([eE] [-+]? [0-9]{1,3})?"},
      {PRIM_NUM_NN, "num-nn",
       "(\"0\" | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,15})? ([eE] [-+]? [0-9]{1,3})?"},
      {PRIM_INT, "int", "\"-\"? (\"0\" | [1-9] [0-9]{0,15})"},
      {PRIM_INT_NN, "int-nn", "\"0\" | [1-9] [0-9]{0,15}"},
      {PRIM_INT_POS, "int-pos", "[1-9] [0-9]{0,15}"},
      {PRIM_BOOL, "bool", "\"true\" | \"false\""},
      {PRIM_NULL, "null", "\"null\""},
  };
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
    if (tab[i].bit != which) continue;
    if (!(c->prims & which)) {
      c->prims |= which;
      int rc = put_rule_text(c, tab[i].name, tab[i].body);
      if (rc) return rc;
    }
    if (expr) {
      int rc = al_buf_puts(expr, tab[i].name);
      if (rc) return nomem(c, rc);
    }
    return 0;
  }
  return fail(c, AL_EINVAL, "internal: unknown primitive");
}

/* A string of min..max characters; rules shared by range. */
static int str_rule(cx *c, long min, long max, al_buf *expr) {
  char name[48];
  int rc = 0;
  snprintf(name, sizeof name, "str-%ld-%ld", min, max);
  bool known = false;
  for (int i = 0; i < c->n_strs; i++)
    if (c->strs[i][0] == min && c->strs[i][1] == max) known = true;
  if (!known) {
    if (c->n_strs == MAX_STR_RULES)
      return fail(c, AL_ELIMIT, "more than %d distinct string length ranges", MAX_STR_RULES);
    c->strs[c->n_strs][0] = (int)min;
    c->strs[c->n_strs][1] = (int)max;
    c->n_strs++;
    al_buf body;
    al_buf_init(&body, 256);
    if (max == 0)
      rc = al_buf_puts(&body, "\"\\\"\\\"\"");
    else
      rc = al_buf_printf(&body, "\"\\\"\" char{%ld,%ld} \"\\\"\"", min, max);
    if (rc) rc = nomem(c, rc);
    if (!rc) rc = prim(c, PRIM_CHAR, NULL);
    if (!rc) rc = put_rule(c, name, &body);
    al_buf_cleanup(&body);
    if (rc) return rc;
  }
  rc = al_buf_puts(expr, name);
  return rc ? nomem(c, rc) : 0;
}

/* A free-form JSON value nested at most `depth` levels (schema {} or true). */
static int any_rule(cx *c, int depth, al_buf *expr) {
  int rc = 0;
  al_buf body;
  al_buf_init(&body, 4096);
  for (int d = c->any_done; d <= depth && !rc; d++) {
    al_buf_reset(&body);
    al_buf str;
    al_buf_init(&str, 64);
    rc = str_rule(c, 0, c->string_cap, &str);
    if (!rc) rc = prim(c, PRIM_NUM, NULL);
    if (!rc) rc = prim(c, PRIM_BOOL, NULL);
    if (!rc) rc = prim(c, PRIM_NULL, NULL);
    if (!rc) rc = prim(c, PRIM_WS, NULL);
    if (!rc) {
      const char *s = str.data;
      rc = al_buf_printf(&body, "%s | num | bool | null", s);
      if (!rc && d > 0) {
        int cap = (int)c->array_cap - 1;
        rc = al_buf_printf(&body,
                           " | \"[\" ws (any-%d (ws \",\" ws any-%d){0,%d})? ws \"]\""
                           " | \"{\" ws (%s ws \":\" ws any-%d (ws \",\" ws %s ws \":\" ws "
                           "any-%d){0,%d})? ws \"}\"",
                           d - 1, d - 1, cap, s, d - 1, s, d - 1, cap);
      }
      if (rc) rc = nomem(c, rc);
    }
    al_buf_cleanup(&str);
    if (!rc) {
      char name[32];
      snprintf(name, sizeof name, "any-%d", d);
      rc = put_rule(c, name, &body);
    }
    if (!rc) c->any_done = d + 1;
  }
  al_buf_cleanup(&body);
  if (!rc) {
    rc = al_buf_printf(expr, "any-%d", depth);
    if (rc) rc = nomem(c, rc);
  }
  return rc;
}

/* The JSON text of a value as a GBNF literal (enum and const). */
static int json_literal(cx *c, const json_t *v, al_buf *expr) {
  char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!txt) return fail(c, AL_EINVAL, "value cannot be written as JSON");
  int rc = put_literal(expr, txt, strlen(txt));
  free(txt);
  return rc ? nomem(c, rc) : 0;
}

/* A non-negative integer keyword; absent leaves *out alone. */
static int count_kw(cx *c, const json_t *s, const char *kw, long *out) {
  const json_t *v = json_object_get(s, kw);
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return fail(c, AL_EINVAL, "'%s' must be a non-negative integer", kw);
  if (json_integer_value(v) > AL_LLAMA_SCHEMA_MAX_REPEAT)
    return fail(c, AL_ELIMIT, "'%s' %lld is larger than the supported %d", kw,
                (long long)json_integer_value(v), AL_LLAMA_SCHEMA_MAX_REPEAT);
  *out = (long)json_integer_value(v);
  return 0;
}

static int gen_string(cx *c, const json_t *s, al_buf *expr) {
  long min = 0, max = -1;
  int rc = count_kw(c, s, "minLength", &min);
  if (!rc) rc = count_kw(c, s, "maxLength", &max);
  if (rc) return rc;
  if (max < 0) max = min > c->string_cap ? min : c->string_cap;
  if (min > max) return fail(c, AL_EINVAL, "minLength %ld is larger than maxLength %ld", min, max);
  return str_rule(c, min, max, expr);
}

static int gen_number(cx *c, const json_t *s, bool integer, al_buf *expr) {
  const json_t *min = json_object_get(s, "minimum");
  const json_t *xmin = json_object_get(s, "exclusiveMinimum");
  unsigned which = integer ? PRIM_INT : PRIM_NUM;
  if (min && xmin) return fail(c, AL_EUNSUPPORTED, "both minimum and exclusiveMinimum");
  if (min || xmin) {
    const json_t *v = min ? min : xmin;
    if (!json_is_number(v))
      return fail(c, AL_EINVAL, "'%s' must be a number", min ? "minimum" : "exclusiveMinimum");
    double m = json_number_value(v);
    if (min && m == 0)
      which = integer ? PRIM_INT_NN : PRIM_NUM_NN;
    else if (integer && ((min && m == 1) || (xmin && m == 0)))
      which = PRIM_INT_POS;
    else
      return fail(c, AL_EUNSUPPORTED,
                  "cannot express %s %g in a grammar (supported: minimum 0, and for integers "
                  "minimum 1 or exclusiveMinimum 0)",
                  min ? "minimum" : "exclusiveMinimum", m);
  }
  return prim(c, which, expr);
}

static int gen_array(cx *c, const json_t *s, int depth, al_buf *expr) {
  long min = 0, max = -1;
  int rc = count_kw(c, s, "minItems", &min);
  if (!rc) rc = count_kw(c, s, "maxItems", &max);
  if (rc) return rc;
  const json_t *u = json_object_get(s, "uniqueItems");
  if (u && !json_is_false(u))
    return fail(c, AL_EUNSUPPORTED, "cannot express uniqueItems in a grammar");
  if (max < 0) max = min > c->array_cap ? min : c->array_cap;
  if (min > max) return fail(c, AL_EINVAL, "minItems %ld is larger than maxItems %ld", min, max);

  char name[32];
  snprintf(name, sizeof name, "a%d", ++c->n_names);
  al_buf item, body;
  al_buf_init(&item, EXPR_MAX_BYTES);
  al_buf_init(&body, EXPR_MAX_BYTES);
  const json_t *items = json_object_get(s, "items");
  size_t mark = path_push(c, "items");
  if (items && json_is_array(items))
    rc = fail(c, AL_EUNSUPPORTED, "tuple 'items' (an array of schemas) is not supported");
  else if (items)
    rc = gen(c, items, depth + 1, &item);
  else
    rc = any_rule(c, AL_LLAMA_SCHEMA_ANY_DEPTH, &item);
  path_pop(c, mark);
  if (!rc) rc = prim(c, PRIM_WS, NULL);
  if (rc) goto out;

  if (max == 0) {
    rc = al_buf_puts(&body, "\"[\" ws \"]\"");
  } else {
    const char *it = item.data;
    rc = al_buf_printf(&body, "\"[\" ws %s%s", min == 0 ? "(" : "", it);
    if (!rc && max > 1) {
      long lo = min > 0 ? min - 1 : 0;
      rc = al_buf_printf(&body, " (ws \",\" ws %s){%ld,%ld}", it, lo, max - 1);
    }
    if (!rc) rc = al_buf_printf(&body, "%s ws \"]\"", min == 0 ? ")?" : "");
  }
  if (rc) {
    rc = nomem(c, rc);
    goto out;
  }
  rc = put_rule(c, name, &body);
  if (!rc && (rc = al_buf_puts(expr, name)) != 0) rc = nomem(c, rc);
out:
  al_buf_cleanup(&item);
  al_buf_cleanup(&body);
  return rc;
}

/* One member rule: "\"key\"" ws ":" ws VALUE. vs NULL means any value. */
static int gen_member(cx *c, const char *oname, int idx, const char *key, const json_t *vs,
                      int depth, char *kname, size_t kname_n) {
  int rc = 0;
  al_buf body, val;
  al_buf_init(&body, EXPR_MAX_BYTES);
  al_buf_init(&val, EXPR_MAX_BYTES);
  snprintf(kname, kname_n, "%s-k%d", oname, idx);
  size_t mark = path_push(c, "properties");
  path_push(c, key);
  rc = vs ? gen(c, vs, depth + 1, &val) : any_rule(c, AL_LLAMA_SCHEMA_ANY_DEPTH, &val);
  path_pop(c, mark);
  if (rc) goto out;
  json_t *k = json_string(key);
  char *kj = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
  json_decref(k);
  if (!kj) {
    rc = fail(c, AL_EINVAL, "property name is not valid UTF-8");
    goto out;
  }
  rc = put_literal(&body, kj, strlen(kj));
  free(kj);
  if (!rc) rc = al_buf_printf(&body, " ws \":\" ws %s", val.data);
  if (rc) {
    rc = nomem(c, rc);
    goto out;
  }
  rc = put_rule(c, kname, &body);
out:
  al_buf_cleanup(&body);
  al_buf_cleanup(&val);
  return rc;
}

static bool is_required(const json_t *req, const char *key) {
  size_t i;
  const json_t *v;
  json_array_foreach(req, i, v) if (json_is_string(v) &&
                                    strcmp(json_string_value(v), key) == 0) return true;
  return false;
}

static int gen_object(cx *c, const json_t *s, int depth, al_buf *expr) {
  const json_t *props = json_object_get(s, "properties");
  const json_t *req = json_object_get(s, "required");
  const json_t *addl = json_object_get(s, "additionalProperties");
  int rc = 0;
  if (props && !json_is_object(props)) return fail(c, AL_EINVAL, "'properties' must be an object");
  if (req && !json_is_array(req))
    return fail(c, AL_EINVAL, "'required' must be an array of strings");
  if (addl && !json_is_boolean(addl) && !json_is_object(addl))
    return fail(c, AL_EINVAL, "'additionalProperties' must be a boolean or a schema");
  size_t i;
  const json_t *v;
  json_array_foreach(req, i, v) {
    if (!json_is_string(v)) return fail(c, AL_EINVAL, "'required' must be an array of strings");
  }
  size_t n_total = json_object_size(props) + json_array_size(req);
  if (n_total > AL_LLAMA_SCHEMA_MAX_PROPERTIES)
    return fail(c, AL_ELIMIT, "more than %d properties", AL_LLAMA_SCHEMA_MAX_PROPERTIES);

  char oname[32];
  snprintf(oname, sizeof oname, "o%d", ++c->n_names);
  /* Member rule names: required ones first, then optional ones. */
  char(*req_names)[48] = al_calloc(n_total + 1, 48);
  char(*opt_names)[48] = al_calloc(n_total + 1, 48);
  al_buf body;
  al_buf_init(&body, EXPR_MAX_BYTES);
  size_t n_req = 0, n_opt = 0;
  int idx = 0;
  if (!req_names || !opt_names) {
    rc = fail(c, AL_ENOMEM, "out of memory");
    goto out;
  }
  const char *key;
  json_object_foreach((json_t *)props, key, v) {
    bool r = req && is_required(req, key);
    rc = gen_member(c, oname, ++idx, key, v, depth, r ? req_names[n_req] : opt_names[n_opt], 48);
    if (rc) goto out;
    if (r)
      n_req++;
    else
      n_opt++;
  }
  json_array_foreach(req, i, v) {
    const char *k = json_string_value(v);
    bool seen = json_object_get(props, k) != NULL;
    for (size_t j = 0; j < i && !seen; j++)
      seen = strcmp(json_string_value(json_array_get(req, j)), k) == 0;
    if (seen) continue;
    rc = gen_member(c, oname, ++idx, k, NULL, depth, req_names[n_req], 48);
    if (rc) goto out;
    n_req++;
  }
  rc = prim(c, PRIM_WS, NULL);
  if (rc) goto out;

  rc = al_buf_puts(&body, "\"{\" ws ");
  if (n_req > 0) {
    for (size_t j = 0; j < n_req && !rc; j++)
      rc = al_buf_printf(&body, j ? " ws \",\" ws %s" : "%s", req_names[j]);
    for (size_t j = 0; j < n_opt && !rc; j++)
      rc = al_buf_printf(&body, " (ws \",\" ws %s)?", opt_names[j]);
  } else if (n_opt > 0) {
    /* No required member: any non-empty ordered subset, without a leading comma.
     * tail-j ::= (ws "," ws member-j)? tail-(j+1), written as rules to stay linear. */
    for (size_t j = n_opt; j-- > 1;) {
      al_buf t;
      al_buf_init(&t, 256);
      char tname[64];
      snprintf(tname, sizeof tname, "%s-t%zu", oname, j);
      rc = al_buf_printf(&t, "(ws \",\" ws %s)?", opt_names[j]);
      if (!rc && j + 1 < n_opt) rc = al_buf_printf(&t, " %s-t%zu", oname, j + 1);
      rc = rc ? nomem(c, rc) : put_rule(c, tname, &t);
      al_buf_cleanup(&t);
      if (rc) goto out;
    }
    rc = al_buf_putc(&body, '(');
    for (size_t j = 0; j < n_opt && !rc; j++) {
      rc = al_buf_printf(&body, "%s%s", j ? " | " : "", opt_names[j]);
      if (!rc && j + 1 < n_opt) rc = al_buf_printf(&body, " %s-t%zu", oname, j + 1);
    }
    if (!rc) rc = al_buf_puts(&body, ")?");
  }
  if (!rc) rc = al_buf_puts(&body, " ws \"}\"");
  if (rc) {
    rc = nomem(c, rc);
    goto out;
  }
  rc = put_rule(c, oname, &body);
  if (!rc && (rc = al_buf_puts(expr, oname)) != 0) rc = nomem(c, rc);
out:
  al_free(req_names);
  al_free(opt_names);
  al_buf_cleanup(&body);
  return rc;
}

static int gen_type(cx *c, const json_t *s, const char *type, int depth, al_buf *expr) {
  if (strcmp(type, "object") == 0) return gen_object(c, s, depth, expr);
  if (strcmp(type, "array") == 0) return gen_array(c, s, depth, expr);
  if (strcmp(type, "string") == 0) return gen_string(c, s, expr);
  if (strcmp(type, "number") == 0) return gen_number(c, s, false, expr);
  if (strcmp(type, "integer") == 0) return gen_number(c, s, true, expr);
  if (strcmp(type, "boolean") == 0) return prim(c, PRIM_BOOL, expr);
  if (strcmp(type, "null") == 0) return prim(c, PRIM_NULL, expr);
  return fail(
      c, AL_EINVAL,
      "unknown type '%s' (expected object, array, string, number, integer, boolean or null)", type);
}

static const char *const annotations[] = {
    "title",       "description",      "default",         "examples", "$schema",   "$id",
    "$comment",    "format",           "deprecated",      "readOnly", "writeOnly", "$defs",
    "definitions", "contentMediaType", "contentEncoding", "$anchor",  NULL};
static const char *const supported[] = {
    "type",      "enum",       "const",    "anyOf",
    "oneOf",     "properties", "required", "additionalProperties",
    "items",     "minItems",   "maxItems", "uniqueItems",
    "minLength", "maxLength",  "minimum",  "exclusiveMinimum",
    NULL};

static bool in_list(const char *const *list, const char *k) {
  for (; *list; list++)
    if (strcmp(*list, k) == 0) return true;
  return false;
}

/* Alternatives from an array of schemas (anyOf/oneOf) or of values (enum). */
static int gen_alternatives(cx *c, const json_t *arr, const char *kw, bool values, int depth,
                            al_buf *expr) {
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return fail(c, AL_EINVAL, "'%s' must be a non-empty array", kw);
  if (json_array_size(arr) > AL_LLAMA_SCHEMA_MAX_ENUM)
    return fail(c, AL_ELIMIT, "'%s' has more than %d entries", kw, AL_LLAMA_SCHEMA_MAX_ENUM);
  int rc = al_buf_putc(expr, '(');
  if (rc) return nomem(c, rc);
  size_t i;
  const json_t *v;
  json_array_foreach(arr, i, v) {
    if (i && (rc = al_buf_puts(expr, " | ")) != 0) return nomem(c, rc);
    if (values) {
      rc = json_literal(c, v, expr);
    } else {
      char seg[32];
      snprintf(seg, sizeof seg, "%zu", i);
      size_t mark = path_push(c, kw);
      path_push(c, seg);
      rc = gen(c, v, depth + 1, expr);
      path_pop(c, mark);
    }
    if (rc) return rc;
  }
  rc = al_buf_putc(expr, ')');
  return rc ? nomem(c, rc) : 0;
}

static int gen(cx *c, const json_t *s, int depth, al_buf *expr) {
  if (depth > AL_LLAMA_SCHEMA_MAX_DEPTH)
    return fail(c, AL_ELIMIT, "schema nested deeper than %d levels", AL_LLAMA_SCHEMA_MAX_DEPTH);
  if (json_is_true(s)) return any_rule(c, AL_LLAMA_SCHEMA_ANY_DEPTH, expr);
  if (json_is_false(s)) return fail(c, AL_EINVAL, "schema 'false' accepts no value");
  if (!json_is_object(s)) return fail(c, AL_EINVAL, "expected a schema (an object or a boolean)");

  const char *key;
  const json_t *v;
  int n_kw = 0;
  json_object_foreach((json_t *)s, key, v) {
    if (in_list(annotations, key)) continue;
    if (!in_list(supported, key))
      return fail(c, AL_EUNSUPPORTED,
                  "unsupported keyword '%s' (supported: type, properties, required, "
                  "additionalProperties, items, minItems, maxItems, minLength, maxLength, enum, "
                  "const, anyOf, oneOf)",
                  key);
    n_kw++;
  }
  const json_t *cst = json_object_get(s, "const");
  if (cst) return json_literal(c, cst, expr);
  const json_t *en = json_object_get(s, "enum");
  if (en) return gen_alternatives(c, en, "enum", true, depth, expr);
  const json_t *any = json_object_get(s, "anyOf");
  const json_t *one = json_object_get(s, "oneOf");
  if (any || one) {
    if (n_kw > 1)
      return fail(c, AL_EUNSUPPORTED, "%s combined with other keywords is not supported",
                  any ? "anyOf" : "oneOf");
    return gen_alternatives(c, any ? any : one, any ? "anyOf" : "oneOf", false, depth, expr);
  }

  const json_t *type = json_object_get(s, "type");
  if (!type) {
    if (json_object_get(s, "properties") || json_object_get(s, "required") ||
        json_object_get(s, "additionalProperties"))
      return gen_object(c, s, depth, expr);
    if (json_object_get(s, "items") || json_object_get(s, "minItems") ||
        json_object_get(s, "maxItems"))
      return gen_array(c, s, depth, expr);
    if (json_object_get(s, "minLength") || json_object_get(s, "maxLength"))
      return gen_string(c, s, expr);
    return any_rule(c, AL_LLAMA_SCHEMA_ANY_DEPTH, expr);
  }
  if (json_is_string(type)) return gen_type(c, s, json_string_value(type), depth, expr);
  if (!json_is_array(type) || json_array_size(type) == 0)
    return fail(c, AL_EINVAL, "'type' must be a type name or a non-empty array of them");
  int rc = al_buf_putc(expr, '(');
  if (rc) return nomem(c, rc);
  size_t i;
  json_array_foreach(type, i, v) {
    if (!json_is_string(v))
      return fail(c, AL_EINVAL, "'type' must be a type name or a non-empty array of them");
    if (i && (rc = al_buf_puts(expr, " | ")) != 0) return nomem(c, rc);
    rc = gen_type(c, s, json_string_value(v), depth, expr);
    if (rc) return rc;
  }
  rc = al_buf_putc(expr, ')');
  return rc ? nomem(c, rc) : 0;
}

int al_schema_to_gbnf(const json_t *schema, char **out, al_error *err) {
  return al_schema_to_gbnf_caps(schema, NULL, out, err);
}

int al_schema_to_gbnf_caps(const json_t *schema, const al_schema_caps *caps, char **out,
                           al_error *err) {
  cx c = {
      .err = err, .string_cap = AL_LLAMA_SCHEMA_STRING_CAP, .array_cap = AL_LLAMA_SCHEMA_ARRAY_CAP};
  if (caps && caps->string_cap >= 1 && caps->string_cap <= AL_LLAMA_SCHEMA_MAX_REPEAT)
    c.string_cap = caps->string_cap;
  if (caps && caps->array_cap >= 1 && caps->array_cap <= AL_LLAMA_SCHEMA_MAX_REPEAT)
    c.array_cap = caps->array_cap;
  al_buf root;
  int rc = 0;
  *out = NULL;
  al_buf_init(&c.out, AL_LLAMA_MAX_GRAMMAR_BYTES);
  al_buf_init(&c.path, PATH_MAX_BYTES);
  al_buf_init(&root, EXPR_MAX_BYTES);
  if (!schema) {
    rc = fail(&c, AL_EINVAL, "no schema");
    goto out;
  }
  rc = gen(&c, schema, 0, &root);
  if (!rc) rc = put_rule(&c, "root", &root);
  if (rc) goto out;
  *out = al_buf_steal(&c.out, NULL);
  if (!*out) rc = fail(&c, AL_ENOMEM, "out of memory");
out:
  al_buf_cleanup(&c.out);
  al_buf_cleanup(&c.path);
  al_buf_cleanup(&root);
  return rc;
}
