/* The suite loader (see include/airlock/suite.h).
 *
 * Loading is one pass that validates everything a run will need: the top-level keys, the
 * target (through the target registry's parser), thresholds, every inline test and every
 * row of every tests_from file -- each case is built and its assertions compiled exactly as
 * the run will, then dropped. The same pass computes the suite digest (the suite text and
 * the bytes of every file it reads) and counts the cases. A run then iterates the cases
 * again, lazily, so memory stays bounded by the cases in flight. */
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "al_config.h"
#include "airlock/assert.h"
#include "airlock/probes.h"
#include "airlock/suite.h"
#include "airlock/target.h"
#include "airlock/alerts.h"
#include "airlock/synth.h"
#include "airlock/tools.h"
#include "airlock/util.h"
#include "airlock/yaml.h"
#include "core/limits.h"
#include "core/sha256.h"
#include "rows.h"

typedef struct tests_from {
  const json_t *spec; /* borrowed from the document */
  char *path;
  int format;
  int64_t limit;
} tests_from;

struct al_suite {
  al_ydoc *doc;
  char *path, *dir;
  const char *name;
  char digest[65];
  al_sha256 id_base; /* SHA-256 with the digest (one block) absorbed: the start of every
                      * case id (build_case) */
  const json_t *target_node;
  al_target_config *target;
  json_t *thresholds;
  const char *system_prompt;
  json_t *vars;
  const json_t *defaults;
  const json_t *tests;
  tests_from *from;
  size_t n_from;
  int64_t n_cases;
  uint64_t seed;
  al_toolset *tools;
  al_alerts *alerts;     /* alerts: fired during the run (src/alerts), or NULL */
  json_t *probe_tests;  /* probes: tests expanded by src/probes (al_probes_expand), or NULL */
  al_ydoc *target_doc;  /* --suite NAME TARGET.yaml: the target file, kept for its locations */
};

/* A compiled assertion of the defaults or of a tests_from spec that uses no {{vars}}: it is
 * the same for every case, so it is compiled once per iteration and shared (al_assert_ref). */
typedef struct shared_assert {
  const json_t *list; /* the assert: list it comes from */
  size_t index;
  al_assert *a;       /* the iterator's reference */
} shared_assert;

struct al_case_iter {
  const al_suite *s;
  size_t test_i;
  size_t probe_i; /* probes: tests come after the inline tests, before tests_from */
  size_t from_i;
  al_rows *rows;
  int64_t from_count;
  int64_t index;
  int validating;         /* the load-time pass: cases are only checked, not run (no ids) */
  /* validating a CSV tests_from whose first row built: the later rows are only counted when
   * they cannot fail where the first did not (see light_spec); light_refs and light_base
   * bound what a template can grow to; skipped says the last row was only counted */
  int light, skipped;
  size_t light_refs, light_base;
  shared_assert *shared;  /* see shared_assert */
  size_t n_shared, cap_shared;
  /* meta_json of cases without a meta of their own: jansson's dump of {"location": {"file":
   * F, "line": L}, "source": S} split around L, for the last F and S (see meta_text) */
  char *meta_file, *meta_pre, *meta_post;
  int meta_inline, meta_broken;
};

static const char *const top_keys[] = {"name", "description", "target", "system_prompt", "vars",
                                       "defaults", "thresholds", "tests", "tests_from", "seed",
                                       "tools", "tool_db", "alerts",
                                       "probes", /* expanded by src/probes */ NULL};
static const char *const test_keys[] = {"name", "prompt", "turns", "vars", "category", "severity",
                                        "tags", "assert", "params", "response_schema", "meta",
                                        "system_prompt", "description", "tools", "allow_tools",
                                        "off_limits", NULL};
static const char *const from_keys[] = {"file", "format", "prompt", "name", "map", "vars",
                                        "category", "severity", "tags", "assert", "limit",
                                        "params", "system_prompt", NULL};
static const char *const default_keys[] = {"category", "severity", "tags", "assert", NULL};
static const char *const severities[] = {"critical", "high", "medium", "low", "info", NULL};

void al_case_free(al_case *c) {
  if (!c) return;
  al_free(c->name);
  al_free(c->category);
  al_free(c->severity);
  json_decref(c->tags);
  json_decref(c->meta);
  al_free(c->meta_json);
  json_decref(c->messages);
  free(c->messages_json); /* jansson's dump */
  json_decref(c->params);
  json_decref(c->response_schema);
  json_decref(c->tools);
  json_decref(c->allow_tools);
  json_decref(c->off_limits);
  json_decref(c->vars);
  for (size_t i = 0; i < c->n_asserts; i++) al_assert_free(c->asserts[i]);
  al_free(c->asserts);
  al_free(c);
}

/* ---- {{var}} substitution ------------------------------------------------------------ */

int al_subst(const char *t, const json_t *vars, char **out, char *missing, size_t mlen) {
  al_buf b;
  int rc = 0;
  al_buf_init(&b, AL_MAX_SUITE_BYTES);
  *out = NULL;
  while (*t) {
    const char *o = strstr(t, "{{");
    if (!o) {
      rc = al_buf_puts(&b, t);
      break;
    }
    const char *c = strstr(o + 2, "}}");
    if (!c) {
      rc = al_buf_puts(&b, t);
      break;
    }
    if ((rc = al_buf_append(&b, t, (size_t)(o - t)))) break;
    const char *ns = o + 2, *ne = c;
    while (ns < ne && *ns == ' ') ns++;
    while (ne > ns && ne[-1] == ' ') ne--;
    char name[128];
    size_t nl = (size_t)(ne - ns) < sizeof name - 1 ? (size_t)(ne - ns) : sizeof name - 1;
    memcpy(name, ns, nl);
    name[nl] = '\0';
    json_t *v = vars ? json_object_get(vars, name) : NULL;
    if (!v) {
      if (missing) snprintf(missing, mlen, "%s", name);
      rc = AL_ENOTFOUND;
      break;
    }
    if (json_is_string(v)) rc = al_buf_puts(&b, json_string_value(v));
    else if (json_is_integer(v)) rc = al_buf_printf(&b, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) rc = al_buf_printf(&b, "%.17g", json_real_value(v));
    else if (json_is_boolean(v)) rc = al_buf_puts(&b, json_is_true(v) ? "true" : "false");
    else if (!json_is_null(v)) {
      char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      rc = d ? al_buf_puts(&b, d) : AL_ENOMEM;
      free(d);
    }
    if (rc) break;
    t = c + 2;
  }
  if (!rc) *out = al_buf_steal(&b, NULL);
  al_buf_cleanup(&b);
  return rc;
}

/* ---- case building ------------------------------------------------------------------- */

/* Where a case comes from, for error messages: a YAML node, or a file line. */
typedef struct origin {
  const al_ydoc *doc;   /* inline: the document */
  const json_t *node;   /* inline: the test mapping */
  const char *file;     /* tests_from: the data file */
  int line;
} origin;

static int oerr(const origin *o, al_error *e, const char *key, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int oerr(const origin *o, al_error *e, const char *key, int code, const char *fmt, ...) {
  char msg[480];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (o->doc) {
    if (key && json_object_get(o->node, key))
      return al_ydoc_err_member(o->doc, e, o->node, key, code, "%s", msg);
    return al_ydoc_err(o->doc, e, o->node, code, "%s", msg);
  }
  return al_error_at(e, code, o->file, o->line, 0, "%s", msg);
}

static int subst_or_err(const origin *o, al_error *e, const char *key, const char *t,
                        const json_t *vars, char **out) {
  char missing[128];
  int rc = al_subst(t, vars, out, missing, sizeof missing);
  if (rc == AL_ENOTFOUND)
    return oerr(o, e, key, AL_EPARSE, "unknown variable '{{%s}}' in '%s' (define it under vars:)",
                missing, key);
  return rc;
}

/* {"role": role, "content": content} appended (json_pack's result, without its format
 * parsing: this runs for every case). */
static int add_message(json_t *msgs, const char *role, const char *content) {
  json_t *m = json_object();
  if (!m) return -1;
  /* json_object_set_new* take the value even when they fail, and refuse NULL */
  if (json_object_set_new_nocheck(m, "role", json_string(role)) ||
      json_object_set_new_nocheck(m, "content", json_string(content))) {
    json_decref(m);
    return -1;
  }
  return json_array_append_new(msgs, m);
}

static const char *str_or(const json_t *o, const char *k, const char *dflt) {
  json_t *v = o ? json_object_get(o, k) : NULL;
  return json_is_string(v) ? json_string_value(v) : dflt;
}

/* Build a case. `test` holds the test's own fields (from YAML, or a tests_from spec merged
 * with a row's columns as vars). */
static al_assert *shared_get(al_case_iter *it, const json_t *list, size_t index) {
  for (size_t i = 0; it && i < it->n_shared; i++)
    if (it->shared[i].list == list && it->shared[i].index == index) return al_assert_ref(it->shared[i].a);
  return NULL;
}

static void shared_put(al_case_iter *it, const json_t *list, size_t index, al_assert *a) {
  if (!it || !al_assert_var_free(json_array_get(list, index))) return;
  if (it->n_shared == it->cap_shared) {
    size_t nc = it->cap_shared ? it->cap_shared * 2 : 8;
    shared_assert *p = al_realloc(it->shared, nc * sizeof *p);
    if (!p) return; /* not shared: compiled again next time */
    it->shared = p;
    it->cap_shared = nc;
  }
  it->shared[it->n_shared++] = (shared_assert){list, index, al_assert_ref(a)};
}

/* The compact dump of a case's meta when the test has none of its own, without dumping it
 * for every case: for the first case of a file jansson dumps the same object with a sentinel
 * line number, and the text around that number is kept; later cases put their line between.
 * (In jansson's text the sentinel after `"line":` can only be the member itself: a quote
 * inside a string is escaped.) The pieces are checked once against a real dump; NULL (the
 * caller dumps) when that fails or memory runs out. */
#define META_SENTINEL "987654321012345"

static char *meta_compose(const al_case_iter *it, int line) {
  size_t a = strlen(it->meta_pre), b = strlen(it->meta_post);
  char *t = al_malloc(a + b + 24);
  if (!t) return NULL;
  memcpy(t, it->meta_pre, a);
  int n = snprintf(t + a, 24, "%d", line);
  memcpy(t + a + (size_t)n, it->meta_post, b + 1);
  return t;
}

static json_t *meta_object(const char *file, int inline_src, json_int_t line) {
  return json_pack("{s:{s:s, s:I}, s:s}", "location", "file", file, "line", line, "source",
                   inline_src ? "inline" : "tests_from");
}

static char *meta_text(al_case_iter *it, const char *file, int inline_src, int line) {
  if (it->meta_broken) return NULL;
  if (it->meta_pre && it->meta_inline == inline_src && !strcmp(it->meta_file, file))
    return meta_compose(it, line);
  al_free(it->meta_file);
  al_free(it->meta_pre);
  al_free(it->meta_post);
  it->meta_file = it->meta_pre = it->meta_post = NULL;
  it->meta_inline = inline_src;
  json_t *m = meta_object(file, inline_src, (json_int_t)strtoll(META_SENTINEL, NULL, 10));
  char *d = m ? json_dumps(m, JSON_COMPACT) : NULL;
  json_decref(m);
  const char *at = d ? strstr(d, "\"line\":" META_SENTINEL) : NULL;
  if (at) {
    size_t pre = (size_t)(at - d) + strlen("\"line\":");
    it->meta_file = al_strdup(file);
    it->meta_post = al_strdup(at + strlen("\"line\":" META_SENTINEL));
    if ((it->meta_pre = al_malloc(pre + 1))) {
      memcpy(it->meta_pre, d, pre);
      it->meta_pre[pre] = '\0';
    }
  }
  free(d);
  char *got = it->meta_file && it->meta_pre && it->meta_post ? meta_compose(it, line) : NULL;
  json_t *chk = got ? meta_object(file, inline_src, line) : NULL;
  char *want = chk ? json_dumps(chk, JSON_COMPACT) : NULL;
  json_decref(chk);
  if (!want || strcmp(want, got)) { /* (the pieces are freed with the iterator) */
    it->meta_broken = 1;
    al_free(got);
    got = NULL;
  }
  free(want);
  return got;
}

/* it (may be NULL) shares var-free assertions of the defaults and of tests_from specs
 * (share_test) between cases, and skips the case id when only validating. */
static int build_case(const al_suite *s, const origin *o, const json_t *test, const json_t *row_vars,
                      int64_t index, al_case_iter *it, int share_test, al_case **out, al_error *e) {
  int rc = 0;
  al_case *c = NULL;
  char *tmp = NULL;
  json_t *vars = NULL;
  *out = NULL;
  c = al_calloc(1, sizeof *c);
  if (!c) return AL_ENOMEM;
  c->index = index;
  /* variables: suite < test < row */
  vars = json_deep_copy(s->vars);
  json_t *tv = json_object_get(test, "vars");
  if (tv && !json_is_object(tv)) {
    rc = oerr(o, e, "vars", AL_EPARSE, "'vars' must be a mapping of names to values");
    goto out;
  }
  if (tv) json_object_update(vars, tv);
  if (row_vars) json_object_update(vars, (json_t *)row_vars);
  c->vars = json_incref(vars);

  /* name */
  const char *name = str_or(test, "name", NULL);
  if (name) {
    if ((rc = subst_or_err(o, e, "name", name, vars, &c->name))) goto out;
  } else {
    char buf[64];
    snprintf(buf, sizeof buf, "case %lld", (long long)index + 1);
    c->name = al_strdup(buf);
  }

  /* category, severity, tags */
  const char *cat = str_or(test, "category", str_or(s->defaults, "category", "functional"));
  const char *sev = str_or(test, "severity", str_or(s->defaults, "severity", "medium"));
  if ((rc = subst_or_err(o, e, "category", cat, vars, &c->category))) goto out;
  if ((rc = subst_or_err(o, e, "severity", sev, vars, &c->severity))) goto out;
  int sev_ok = 0;
  for (const char *const *p = severities; *p; p++)
    if (!strcmp(*p, c->severity)) sev_ok = 1;
  if (!sev_ok) {
    rc = oerr(o, e, "severity", AL_EPARSE,
              "severity '%s' is not one of critical, high, medium, low, info", c->severity);
    goto out;
  }
  c->tags = json_array();
  json_t *dt = s->defaults ? json_object_get(s->defaults, "tags") : NULL;
  json_t *tt = json_object_get(test, "tags");
  for (int k = 0; k < 2; k++) {
    json_t *arr = k ? tt : dt;
    if (!arr) continue;
    if (!json_is_array(arr)) {
      rc = oerr(o, e, "tags", AL_EPARSE, "'tags' must be a list of strings");
      goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
      if (!json_is_string(v)) {
        rc = oerr(o, e, "tags", AL_EPARSE, "'tags' must be a list of strings");
        goto out;
      }
      json_array_append(c->tags, v);
    }
  }

  /* messages */
  c->messages = json_array();
  const char *sp = str_or(test, "system_prompt", s->system_prompt);
  if (sp) {
    if ((rc = subst_or_err(o, e, "system_prompt", sp, vars, &tmp))) goto out;
    add_message(c->messages, "system", tmp);
    al_free(tmp), tmp = NULL;
  }
  json_t *prompt = json_object_get(test, "prompt"), *turns = json_object_get(test, "turns");
  if (prompt && turns) {
    rc = oerr(o, e, "turns", AL_EPARSE, "give either 'prompt' or 'turns', not both");
    goto out;
  }
  if (prompt) {
    if (!json_is_string(prompt)) {
      rc = oerr(o, e, "prompt", AL_EPARSE, "'prompt' must be a string");
      goto out;
    }
    if ((rc = subst_or_err(o, e, "prompt", json_string_value(prompt), vars, &tmp))) goto out;
    add_message(c->messages, "user", tmp);
    al_free(tmp), tmp = NULL;
  } else if (turns) {
    if (!json_is_array(turns) || !json_array_size(turns)) {
      rc = oerr(o, e, "turns", AL_EPARSE, "'turns' must be a non-empty list of {role, content}");
      goto out;
    }
    size_t i;
    json_t *t;
    json_array_foreach(turns, i, t) {
      const char *role = str_or(t, "role", NULL), *content = str_or(t, "content", NULL);
      int role_ok = role && (!strcmp(role, "user") || !strcmp(role, "assistant") ||
                             !strcmp(role, "system") || !strcmp(role, "tool"));
      if (!json_is_object(t) || !role_ok || !content || json_object_size(t) != 2) {
        if (o->doc)
          rc = al_ydoc_err_item(o->doc, e, turns, i, AL_EPARSE,
                                "a turn must be {role: user|assistant|system|tool, content: text}");
        else
          rc = oerr(o, e, "turns", AL_EPARSE, "turn %zu must be {role, content}", i + 1);
        goto out;
      }
      if ((rc = subst_or_err(o, e, "turns", content, vars, &tmp))) goto out;
      add_message(c->messages, role, tmp);
      al_free(tmp), tmp = NULL;
    }
  } else {
    rc = oerr(o, e, NULL, AL_EPARSE, "a test needs 'prompt' (text) or 'turns' (a list of messages)");
    goto out;
  }

  /* params, response schema */
  json_t *params = json_object_get(test, "params");
  if (params) {
    if (!json_is_object(params)) {
      rc = oerr(o, e, "params", AL_EPARSE, "'params' must be a mapping (temperature, max_tokens, ...)");
      goto out;
    }
    c->params = json_deep_copy(params);
  }
  json_t *rs = json_object_get(test, "response_schema");
  if (rs) {
    if (!json_is_object(rs)) {
      rc = oerr(o, e, "response_schema", AL_EPARSE, "'response_schema' must be a JSON Schema mapping");
      goto out;
    }
    c->response_schema = json_deep_copy(rs);
  }

  /* tools: offered (default all the suite's), allowed (default the offered), off-limits */
  json_t *offered = json_object_get(test, "tools"), *allow = json_object_get(test, "allow_tools");
  json_t *off = json_object_get(test, "off_limits");
  const char *lists[3] = {"tools", "allow_tools", "off_limits"};
  json_t *lv[3] = {offered, allow, off};
  for (int k = 0; k < 3; k++) {
    if (!lv[k]) continue;
    if (!json_is_array(lv[k])) {
      rc = oerr(o, e, lists[k], AL_EPARSE, "'%s' must be a list of names", lists[k]);
      goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(lv[k], i, v) {
      if (!json_is_string(v) || (k < 2 && !al_toolset_has(s->tools, json_string_value(v)))) {
        rc = oerr(o, e, lists[k], AL_EPARSE, k < 2 ? "'%s' names a tool the suite does not declare under tools:"
                                                    : "'%s' must be a list of column names", lists[k]);
        goto out;
      }
    }
  }
  if (s->tools) {
    c->tools = al_toolset_openai(s->tools, offered);
    c->allow_tools = json_incref(allow ? allow : offered);
    c->off_limits = json_incref(off);
  } else if (offered || allow) {
    rc = oerr(o, e, offered ? "tools" : "allow_tools", AL_EPARSE, "the suite declares no tools (top-level 'tools:')");
    goto out;
  }

  /* assertions: defaults first, then the test's */
  json_t *da = s->defaults ? json_object_get(s->defaults, "assert") : NULL;
  json_t *ta = json_object_get(test, "assert");
  size_t na = (json_is_array(da) ? json_array_size(da) : 0) + (json_is_array(ta) ? json_array_size(ta) : 0);
  if (ta && !json_is_array(ta)) {
    rc = oerr(o, e, "assert", AL_EPARSE, "'assert' must be a list of assertions");
    goto out;
  }
  c->asserts = al_calloc(na ? na : 1, sizeof *c->asserts);
  if (!c->asserts) {
    rc = AL_ENOMEM;
    goto out;
  }
  for (int k = 0; k < 2; k++) {
    json_t *arr = k ? ta : da;
    if (!json_is_array(arr)) continue;
    for (size_t i = 0; i < json_array_size(arr); i++) {
      al_assert *a = (!k || share_test) ? shared_get(it, arr, i) : NULL;
      if (a) {
        c->asserts[c->n_asserts++] = a;
        continue;
      }
      if (o->doc || !k) {
        rc = al_assert_compile(s->doc, arr, i, vars, s->dir, &a, e);
      } else {
        char where[1200];
        snprintf(where, sizeof where, "%s:%d", o->file, o->line);
        rc = al_assert_compile_json(json_array_get(arr, i), vars, s->dir, where, &a, e);
        if (rc && o->file) {
          char msg[512];
          snprintf(msg, sizeof msg, "%s", e ? e->msg : "");
          al_error_at(e, rc, o->file, o->line, 0, "%s", msg);
        }
      }
      if (rc) goto out;
      c->asserts[c->n_asserts++] = a;
      if (!k || share_test) shared_put(it, arr, i, a);
    }
  }

  /* meta and id */
  c->meta = json_object();
  json_t *tm = json_object_get(test, "meta");
  if (tm) {
    if (!json_is_object(tm)) {
      rc = oerr(o, e, "meta", AL_EPARSE, "'meta' must be a mapping");
      goto out;
    }
    json_object_update(c->meta, tm);
  }
  {
    int line = o->line, col = 0;
    const char *file = o->file;
    if (o->doc) {
      al_ydoc_loc(o->doc, o->node, &line, &col);
      file = al_ydoc_name(o->doc);
    }
    json_object_set_new(c->meta, "location", json_pack("{s:s, s:i}", "file", file, "line", line));
    json_object_set_new(c->meta, "source", json_string(o->doc ? "inline" : "tests_from"));
    if (!tm && it && !it->validating && file) c->meta_json = meta_text(it, file, o->doc != NULL, line);
  }
  if (!it || !it->validating) {
    al_sha256 st = s->id_base; /* the digest's block hashed once per suite */
    unsigned char h[AL_SHA256_BYTES];
    char idx[32];
    snprintf(idx, sizeof idx, ":%lld:", (long long)index);
    al_sha256_update(&st, idx, strlen(idx));
    char *m = json_dumps(c->messages, JSON_COMPACT | JSON_SORT_KEYS);
    if (m) al_sha256_update(&st, m, strlen(m));
    c->messages_json = m; /* kept: the request can carry this text (al_gen_request) */
    al_sha256_final(&st, h);
    al_hex(h, sizeof h, c->id);
  }
  *out = c;
  c = NULL;
out:
  al_free(tmp);
  json_decref(vars);
  al_case_free(c);
  return rc;
}

/* ---- tests_from ---------------------------------------------------------------------- */

/* Turn a row into the vars it contributes: every column by its own name, plus the names
 * given in `map: {var: column}`. */
static int row_vars(const al_suite *s, const tests_from *f, const json_t *row, int line,
                    json_t **out, al_error *e) {
  json_t *v = json_deep_copy(row);
  json_t *map = json_object_get(f->spec, "map");
  const char *k;
  json_t *col;
  json_object_foreach(map, k, col) {
    json_t *x = json_object_get(row, json_string_value(col));
    if (!x) {
      json_decref(v);
      return al_error_at(e, AL_EPARSE, f->path, line, 0,
                         "row has no column '%s' (mapped to '%s' in %s)", json_string_value(col), k,
                         al_ydoc_name(s->doc));
    }
    json_object_set(v, k, x);
  }
  *out = v;
  return 0;
}

/* "{{" in t (NULL: none), and its length added to *len. */
static size_t count_refs(const char *t, size_t *len) {
  size_t n = 0;
  if (!t) return 0;
  *len += strlen(t);
  for (const char *p = t; (p = strstr(p, "{{")); p += 2) n++;
  return n;
}

/* Total length of vars' values when every one is a string or a scalar (-1 otherwise). */
static long long vars_bytes(const json_t *vars) {
  long long n = 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)vars, k, v) {
    if (json_is_string(v)) n += (long long)json_string_length(v);
    else if (json_is_object(v) || json_is_array(v)) return -1;
    else n += 32; /* an integer, a real (%.17g), true, false, null */
  }
  return n;
}

/* Whether the later rows of a CSV tests_from need no build of their own once its first row
 * built: every CSV row has the header's columns (the reader refuses others) and only string
 * values, so a row can fail only where a value, not a name, matters: a severity taken from a
 * variable, an assertion that uses variables (compiled per case), or a template that would
 * grow past AL_MAX_SUITE_BYTES (bounded per row in al_case_next from light_refs and
 * light_base). The spec, the defaults and the suite's variables are the same for every row. */
static int light_spec(al_case_iter *it, const tests_from *f) {
  const al_suite *s = it->s;
  const json_t *spec = f->spec;
  if (f->format != AL_ROWS_CSV) return 0;
  const char *sev = str_or(spec, "severity", str_or(s->defaults, "severity", "medium"));
  if (strstr(sev, "{{")) return 0;
  json_t *lists[2] = {s->defaults ? json_object_get(s->defaults, "assert") : NULL,
                      json_object_get(spec, "assert")};
  for (int k = 0; k < 2; k++) {
    size_t i;
    json_t *a;
    json_array_foreach(lists[k], i, a) if (!al_assert_var_free(a)) return 0;
  }
  size_t refs = 0, len = 0, r;
  const char *tmpl[] = {str_or(spec, "name", NULL),
                        str_or(spec, "category", str_or(s->defaults, "category", "functional")),
                        str_or(spec, "system_prompt", s->system_prompt),
                        str_or(spec, "prompt", "{{prompt}}")};
  for (size_t i = 0; i < sizeof tmpl / sizeof tmpl[0]; i++)
    if ((r = count_refs(tmpl[i], &len)) > refs) refs = r;
  json_t *turns = json_object_get(spec, "turns"), *t;
  size_t i;
  json_array_foreach(turns, i, t) if ((r = count_refs(str_or(t, "content", NULL), &len)) > refs) refs = r;
  long long sv = s->vars ? vars_bytes(s->vars) : 0;
  json_t *tv = json_object_get(spec, "vars");
  long long tvb = json_is_object(tv) ? vars_bytes(tv) : 0;
  if (sv < 0 || tvb < 0) return 0;
  it->light_refs = refs;
  it->light_base = len + refs * (size_t)(sv + tvb);
  return 1;
}

static int from_case(const al_suite *s, const tests_from *f, const json_t *row, int line,
                     int64_t index, al_case_iter *it, al_case **out, al_error *e) {
  json_t *rv = NULL, *test = NULL;
  int rc = row_vars(s, f, row, line, &rv, e);
  if (rc) return rc;
  test = json_copy((json_t *)f->spec); /* shallow: only top-level keys change */
  if (!json_object_get(test, "prompt")) json_object_set_new(test, "prompt", json_string("{{prompt}}"));
  origin o = {NULL, NULL, f->path, line};
  rc = build_case(s, &o, test, rv, index, it, 1, out, e);
  json_decref(rv);
  json_decref(test);
  return rc;
}

/* ---- loading ------------------------------------------------------------------------- */

static int hash_file(al_sha256 *st, const char *path, al_error *e) {
  FILE *f = fopen(path, "re");
  if (!f) return al_error_at(e, AL_EIO, path, 0, 0, "cannot open: %m");
  unsigned char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) al_sha256_update(st, buf, n);
  int bad = ferror(f);
  fclose(f);
  return bad ? al_error_at(e, AL_EIO, path, 0, 0, "read error") : 0;
}

static int parse_thresholds(al_suite *s, const json_t *t, al_error *e) {
  static const char *const keys[] = {"default", "categories", "max_error_rate", NULL};
  static const char *const rule_keys[] = {"min_pass_rate", "max_failures", NULL};
  int rc = 0;
  s->thresholds = json_pack("{s:{s:f}, s:{}, s:f}", "default", "min_pass_rate", 1.0, "categories",
                            "max_error_rate", 0.1);
  if (!t) return 0;
  if (!json_is_object(t)) return al_ydoc_err(s->doc, e, t, AL_EPARSE, "'thresholds' must be a mapping");
  if ((rc = al_ydoc_check_keys(s->doc, e, t, "thresholds", keys))) return rc;
  double mer;
  if ((rc = al_ydoc_get_num(s->doc, e, t, "max_error_rate", 0, 1, &mer)) < 0) return rc;
  if (rc) json_object_set_new(s->thresholds, "max_error_rate", json_real(mer));
  json_t *d = json_object_get(t, "default"), *cats = json_object_get(t, "categories");
  json_t *rules[64];
  const char *names[64];
  size_t n = 0;
  if (d) rules[n] = d, names[n++] = NULL;
  if (cats) {
    if (!json_is_object(cats))
      return al_ydoc_err_member(s->doc, e, t, "categories", AL_EPARSE, "'categories' must map category names to rules");
    const char *k;
    json_t *v;
    json_object_foreach(cats, k, v) {
      if (n == 64) return al_ydoc_err(s->doc, e, cats, AL_ELIMIT, "more than 63 categories");
      rules[n] = v, names[n++] = k;
    }
  }
  for (size_t i = 0; i < n; i++) {
    json_t *r = rules[i];
    if (!json_is_object(r))
      return al_ydoc_err(s->doc, e, r, AL_EPARSE, "a threshold rule is a mapping {min_pass_rate: 0..1, max_failures: N}");
    if ((rc = al_ydoc_check_keys(s->doc, e, r, "threshold rule", rule_keys))) return rc;
    double mpr = -1;
    long long mf = -1;
    if ((rc = al_ydoc_get_num(s->doc, e, r, "min_pass_rate", 0, 1, &mpr)) < 0) return rc;
    if ((rc = al_ydoc_get_int(s->doc, e, r, "max_failures", 0, INT64_MAX, &mf)) < 0) return rc;
    json_t *out = json_object();
    if (mpr >= 0) json_object_set_new(out, "min_pass_rate", json_real(mpr));
    if (mf >= 0) json_object_set_new(out, "max_failures", json_integer(mf));
    if (names[i]) json_object_set_new(json_object_get(s->thresholds, "categories"), names[i], out);
    else json_object_set_new(s->thresholds, "default", out);
  }
  return 0;
}

static int parse_from(al_suite *s, const json_t *list, al_error *e) {
  if (!list) return 0;
  if (!json_is_array(list))
    return al_ydoc_err(s->doc, e, list, AL_EPARSE, "'tests_from' must be a list of {file: PATH, ...}");
  s->n_from = json_array_size(list);
  s->from = al_calloc(s->n_from ? s->n_from : 1, sizeof *s->from);
  if (!s->from) return AL_ENOMEM;
  for (size_t i = 0; i < s->n_from; i++) {
    const json_t *spec = json_array_get(list, i);
    tests_from *f = &s->from[i];
    int rc;
    if (!json_is_object(spec))
      return al_ydoc_err_item(s->doc, e, list, i, AL_EPARSE, "expected a mapping {file: PATH, ...}");
    if ((rc = al_ydoc_check_keys(s->doc, e, spec, "tests_from entry", from_keys))) return rc;
    f->spec = spec;
    const char *file = NULL, *fmt = NULL;
    if ((rc = al_ydoc_get_str(s->doc, e, spec, "file", &file)) <= 0)
      return rc ? rc : al_ydoc_err_item(s->doc, e, list, i, AL_EPARSE, "tests_from entry needs 'file'");
    char path[4096];
    if (file[0] == '/') snprintf(path, sizeof path, "%s", file);
    else snprintf(path, sizeof path, "%s/%s", s->dir, file);
    f->path = al_strdup(path);
    if ((rc = al_ydoc_get_str(s->doc, e, spec, "format", &fmt)) < 0) return rc;
    f->format = fmt ? (!strcmp(fmt, "csv") ? AL_ROWS_CSV : !strcmp(fmt, "jsonl") ? AL_ROWS_JSONL : -1)
                    : al_rows_format_of(path);
    if (f->format <= 0)
      return al_ydoc_err_member(s->doc, e, spec, fmt ? "format" : "file", AL_EPARSE,
                                "cannot tell the format: use format: csv or format: jsonl");
    json_t *map = json_object_get(spec, "map");
    if (map) {
      const char *k;
      json_t *v;
      if (!json_is_object(map))
        return al_ydoc_err_member(s->doc, e, spec, "map", AL_EPARSE, "'map' must map variable names to column names");
      json_object_foreach(map, k, v) if (!json_is_string(v)) return al_ydoc_err_member(
          s->doc, e, map, k, AL_EPARSE, "column name must be a string");
    }
    f->limit = -1;
    long long lim;
    if ((rc = al_ydoc_get_int(s->doc, e, spec, "limit", 0, INT64_MAX, &lim)) < 0) return rc;
    if (rc) f->limit = lim;
  }
  return 0;
}

/* The validation pass: build every case once and count them; the later rows of a CSV
 * tests_from are only counted (and read) when they cannot fail (light_spec). */
static int validate_cases(al_suite *s, al_error *e) {
  al_case_iter *it = NULL;
  al_case *c = NULL;
  int rc = al_case_iter_new(s, &it, e);
  if (!rc) it->validating = 1;
  s->n_cases = 0;
  while (!rc && !(rc = al_case_next(it, &c, e)) && (c || it->skipped)) {
    s->n_cases++;
    al_case_free(c);
    c = NULL;
    it->skipped = 0;
  }
  al_case_iter_free(it);
  return rc;
}

/* {{var}} in the target's strings (launch command, URLs, model): suite vars, the caller's
 * overrides and built-ins (airlock_build, suite_dir); {{socket}} is left for the runner. */
static int subst_target(al_suite *s, const al_ydoc *doc, json_t *node, al_error *e) {
  int rc = 0;
  json_t *vars = json_deep_copy(s->vars);
  json_object_set_new(vars, "socket", json_string("{{socket}}"));
  if (!json_object_get(vars, "airlock_build")) json_object_set_new(vars, "airlock_build", json_string(AL_BUILD_ROOT));
  json_object_set_new(vars, "suite_dir", json_string(s->dir));
  json_t *stack[64];
  size_t sp = 0;
  stack[sp++] = node;
  while (sp && !rc) {
    json_t *n = stack[--sp];
    const char *k;
    json_t *v;
    size_t i;
    char *out = NULL, missing[128];
    if (json_is_object(n)) {
      json_object_foreach(n, k, v) {
        if (json_is_string(v) && strstr(json_string_value(v), "{{")) {
          if ((rc = al_subst(json_string_value(v), vars, &out, missing, sizeof missing))) {
            rc = al_ydoc_err_member(doc, e, n, k, AL_EPARSE, "unknown variable '{{%s}}'", missing);
            break;
          }
          json_object_set_new(n, k, json_string(out));
          al_free(out);
        } else if ((json_is_object(v) || json_is_array(v)) && sp < 64) {
          stack[sp++] = v;
        }
      }
    } else if (json_is_array(n)) {
      json_array_foreach(n, i, v) {
        if (json_is_string(v) && strstr(json_string_value(v), "{{")) {
          if ((rc = al_subst(json_string_value(v), vars, &out, missing, sizeof missing))) {
            rc = al_ydoc_err_item(doc, e, n, i, AL_EPARSE, "unknown variable '{{%s}}'", missing);
            break;
          }
          json_array_set_new(n, i, json_string(out));
          al_free(out);
        } else if ((json_is_object(v) || json_is_array(v)) && sp < 64) {
          stack[sp++] = v;
        }
      }
    }
  }
  json_decref(vars);
  return rc;
}

/* tool_db: {synth: {seed: N, customers: N, locales: [..]}} -- the run's synthetic database,
 * generated by src/synth on first use into a per-user cache folder keyed by its parameters
 * (the output is deterministic for them, so the cache is always right), built in a temporary
 * folder and renamed into place so concurrent runs never see half a database. The canary
 * secret is derived from the seed (SHA-256 of "airlock-suite:<seed>"), so a canary found in
 * an output traces back with `airlock synth trace TOKEN --run-secret HEX`. */
static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(p);
}

static void remove_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int synth_tool_db(al_suite *s, const json_t *node, char *path, size_t n, al_error *e) {
  static const char *const keys[] = {"synth", NULL};
  static const char *const skeys[] = {"seed", "customers", "locales", NULL};
  int rc;
  long long seed = 1, customers = 200;
  const char *locs[8];
  size_t nl = 0;
  if ((rc = al_ydoc_check_keys(s->doc, e, node, "tool_db", keys))) return rc;
  json_t *sy = json_object_get(node, "synth");
  if (!json_is_object(sy))
    return al_ydoc_err(s->doc, e, node, AL_EPARSE, "tool_db is a file path, or {synth: {seed: N, customers: N}}");
  if ((rc = al_ydoc_check_keys(s->doc, e, sy, "tool_db.synth", skeys))) return rc;
  if ((rc = al_ydoc_get_int(s->doc, e, sy, "seed", 0, INT64_MAX, &seed)) < 0) return rc;
  if ((rc = al_ydoc_get_int(s->doc, e, sy, "customers", 1, 100000, &customers)) < 0) return rc;
  json_t *ll = json_object_get(sy, "locales");
  char lockey[128] = "";
  if (ll) {
    if (!json_is_array(ll) || json_array_size(ll) > 8)
      return al_ydoc_err_member(s->doc, e, sy, "locales", AL_EPARSE, "'locales' is a list of up to 8 names (en_US, de_DE, ...)");
    for (size_t i = 0; i < json_array_size(ll); i++) {
      locs[nl] = json_string_value(json_array_get(ll, i));
      if (!locs[nl] || strlen(locs[nl]) > 12)
        return al_ydoc_err_member(s->doc, e, sy, "locales", AL_EPARSE, "locale names are short strings");
      size_t used = strlen(lockey);
      snprintf(lockey + used, sizeof lockey - used, "-%s", locs[nl++]);
    }
  }
  const char *tmp = getenv("TMPDIR");
  char dir[1024], work[1100];
  snprintf(dir, sizeof dir, "%s/airlock-synth-%u", tmp && *tmp ? tmp : "/tmp", (unsigned)getuid());
  mkdir(dir, 0700);
  snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/seed%lld-n%lld%s", seed, customers, lockey);
  snprintf(path, n, "%s/synth.sqlite", dir);
  if (access(path, R_OK) == 0) return 0;
  snprintf(work, sizeof work, "%s.tmp-%d", dir, (int)getpid());
  al_synth_opts o = {0};
  o.seed = (uint64_t)seed;
  o.customers = (long)customers;
  o.out_dir = work;
  o.locales = nl ? locs : NULL;
  o.n_locales = nl;
  char sk[64];
  snprintf(sk, sizeof sk, "airlock-suite:%lld", seed);
  crypto_hash_sha256(o.secret, (const unsigned char *)sk, strlen(sk));
  al_error ge = {0};
  if ((rc = al_synth_generate(&o, &ge))) {
    remove_tree(work);
    return al_ydoc_err_member(s->doc, e, node, "synth", rc, "generating the synthetic database: %s", ge.msg);
  }
  if (rename(work, dir) != 0 && access(path, R_OK) != 0)
    return al_ydoc_err_member(s->doc, e, node, "synth", AL_EIO, "cannot move the synthetic database into %s", dir);
  if (access(work, F_OK) == 0) remove_tree(work); /* another run won the race: ours is identical */
  return 0;
}

int al_suite_load(const char *path, al_suite **out, al_error *e) {
  return al_suite_load_with(path, NULL, out, e);
}

int al_suite_load_with(const char *path, const json_t *overrides, al_suite **out, al_error *e) {
  return al_suite_load_opts(path, overrides, NULL, out, e);
}

int al_suite_load_opts(const char *path, const json_t *overrides, const char *target_path, al_suite **out,
                       al_error *e) {
  int rc = 0;
  al_suite *s = NULL;
  al_sha256 st;
  unsigned char h[AL_SHA256_BYTES];
  *out = NULL;
  if (sodium_init() < 0) return al_error_set(e, AL_ESYS, "libsodium failed to initialise");
  s = al_calloc(1, sizeof *s);
  if (!s) return AL_ENOMEM;
  s->path = al_strdup(path);
  char *tmp = al_strdup(path);
  s->dir = al_strdup(dirname(tmp));
  al_free(tmp);
  if ((rc = al_ydoc_load_file(path, &s->doc, e))) goto out;
  json_t *root = al_ydoc_root(s->doc);
  if (!json_is_object(root)) {
    rc = al_error_at(e, AL_EPARSE, path, 1, 1, "a suite is a mapping with target, tests, ...");
    goto out;
  }
  if ((rc = al_ydoc_check_keys(s->doc, e, root, "suite", top_keys))) goto out;
  s->name = "suite";
  if ((rc = al_ydoc_get_str(s->doc, e, root, "name", &s->name)) < 0) goto out;
  if ((rc = al_ydoc_get_str(s->doc, e, root, "system_prompt", &s->system_prompt)) < 0) goto out;
  long long seed = 0;
  if ((rc = al_ydoc_get_int(s->doc, e, root, "seed", 0, INT64_MAX, &seed)) < 0) goto out;
  s->seed = (uint64_t)seed;
  json_t *vars = json_object_get(root, "vars");
  if (vars && !json_is_object(vars)) {
    rc = al_ydoc_err_member(s->doc, e, root, "vars", AL_EPARSE, "'vars' must be a mapping");
    goto out;
  }
  s->vars = vars ? json_deep_copy(vars) : json_object();
  if (overrides) json_object_update(s->vars, (json_t *)overrides);
  s->defaults = json_object_get(root, "defaults");
  if (s->defaults) {
    if (!json_is_object(s->defaults)) {
      rc = al_ydoc_err_member(s->doc, e, root, "defaults", AL_EPARSE, "'defaults' must be a mapping");
      goto out;
    }
    if ((rc = al_ydoc_check_keys(s->doc, e, s->defaults, "defaults", default_keys))) goto out;
    json_t *da = json_object_get(s->defaults, "assert");
    if (da && !json_is_array(da)) {
      rc = al_ydoc_err_member(s->doc, e, s->defaults, "assert", AL_EPARSE, "'assert' must be a list");
      goto out;
    }
  }
  s->target_node = json_object_get(root, "target");
  const al_ydoc *tdoc = s->doc;
  char *tdir = NULL;
  if (target_path) {
    /* a separate target file (airlock run --suite NAME TARGET.yaml): its root mapping is the
     * target; it replaces the suite's own target: and its errors name the target file */
    if ((rc = al_ydoc_load_file(target_path, &s->target_doc, e))) goto out;
    s->target_node = al_ydoc_root(s->target_doc);
    if (!json_is_object(s->target_node)) {
      rc = al_error_at(e, AL_EPARSE, target_path, 1, 1, "a target file is a mapping {type: ..., ...} (see targets.md)");
      goto out;
    }
    tdoc = s->target_doc;
    char *tp = al_strdup(target_path);
    tdir = al_strdup(dirname(tp));
    al_free(tp);
  }
  if (!s->target_node) {
    rc = al_error_at(e, AL_EPARSE, path, 1, 1, "the suite has no 'target' (what model to evaluate)");
    goto out;
  }
  rc = subst_target(s, tdoc, (json_t *)s->target_node, e);
  if (!rc) rc = al_target_config_parse(tdoc, s->target_node, tdir ? tdir : s->dir, &s->target, e);
  al_free(tdir);
  if (rc) goto out;
  if ((rc = parse_thresholds(s, json_object_get(root, "thresholds"), e))) goto out;
  json_t *alerts = json_object_get(root, "alerts");
  if (alerts && (rc = al_alerts_parse(s->doc, alerts, &s->alerts, e))) goto out;
  json_t *tools = json_object_get(root, "tools");
  if (tools) {
    const char *db = NULL;
    char dbpath[4096];
    json_t *tdb = json_object_get(root, "tool_db");
    if (json_is_object(tdb)) {
      if ((rc = synth_tool_db(s, tdb, dbpath, sizeof dbpath, e))) goto out;
      db = dbpath;
    } else {
      if ((rc = al_ydoc_get_str(s->doc, e, root, "tool_db", &db)) < 0) goto out;
      if (db) snprintf(dbpath, sizeof dbpath, "%s%s%s", db[0] == '/' ? "" : s->dir, db[0] == '/' ? "" : "/", db);
    }
    if ((rc = al_toolset_parse(s->doc, tools, db ? dbpath : NULL, &s->tools, e))) goto out;
  }
  s->tests = json_object_get(root, "tests");
  if (s->tests && !json_is_array(s->tests)) {
    rc = al_ydoc_err_member(s->doc, e, root, "tests", AL_EPARSE, "'tests' must be a list of tests");
    goto out;
  }
  for (size_t i = 0; s->tests && i < json_array_size(s->tests); i++) {
    json_t *t = json_array_get(s->tests, i);
    if (!json_is_object(t)) {
      rc = al_ydoc_err_item(s->doc, e, s->tests, i, AL_EPARSE, "a test is a mapping {prompt: ..., assert: [...]}");
      goto out;
    }
    if ((rc = al_ydoc_check_keys(s->doc, e, t, "test", test_keys))) goto out;
  }
  /* probes: packs x mutators, expanded once into tests of the inline shape */
  json_t *probes = json_object_get(root, "probes");
  if (probes && (rc = al_probes_expand_vars(s->doc, probes, s->dir, s->seed, s->vars, &s->probe_tests, e))) goto out;
  if ((rc = parse_from(s, json_object_get(root, "tests_from"), e))) goto out;
  if (!s->tests && !s->n_from && !json_array_size(s->probe_tests)) {
    rc = al_error_at(e, AL_EPARSE, path, 1, 1, "the suite has no tests (give 'tests', 'probes' or 'tests_from')");
    goto out;
  }
  /* digest: suite bytes + every data file */
  al_sha256_init(&st);
  if ((rc = hash_file(&st, path, e))) goto out;
  for (size_t i = 0; i < s->n_from; i++)
    if ((rc = hash_file(&st, s->from[i].path, e))) goto out;
  if (s->probe_tests) { /* the expanded probes (pack contents, mutations) */
    char *pt = json_dumps(s->probe_tests, JSON_COMPACT | JSON_SORT_KEYS);
    if (pt) al_sha256_update(&st, pt, strlen(pt));
    free(pt);
  }
  if (target_path && (rc = hash_file(&st, target_path, e))) goto out;
  if (overrides && json_object_size(overrides)) {
    char *ov = json_dumps(overrides, JSON_COMPACT | JSON_SORT_KEYS);
    if (ov) al_sha256_update(&st, ov, strlen(ov));
    free(ov);
  }
  al_sha256_final(&st, h);
  al_hex(h, sizeof h, s->digest);
  al_sha256_init(&s->id_base);
  al_sha256_update(&s->id_base, s->digest, 64);
  if ((rc = validate_cases(s, e))) goto out;
  *out = s;
  s = NULL;
out:
  al_suite_free(s);
  return rc;
}

void al_suite_free(al_suite *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_from; i++) al_free(s->from[i].path);
  al_free(s->from);
  al_target_config_free(s->target);
  al_toolset_free(s->tools);
  al_alerts_free(s->alerts);
  json_decref(s->thresholds);
  json_decref(s->vars);
  json_decref(s->probe_tests);
  al_ydoc_free(s->target_doc);
  al_ydoc_free(s->doc);
  al_free(s->path);
  al_free(s->dir);
  al_free(s);
}

const char *al_suite_name(const al_suite *s) { return s->name; }
const char *al_suite_path(const al_suite *s) { return s->path; }
const char *al_suite_digest(const al_suite *s) { return s->digest; }
const json_t *al_suite_target(const al_suite *s) { return s->target_node; }
const al_target_config *al_suite_target_config(const al_suite *s) { return s->target; }
const json_t *al_suite_thresholds(const al_suite *s) { return s->thresholds; }
const char *al_suite_system_prompt(const al_suite *s) { return s->system_prompt; }
uint64_t al_suite_seed(const al_suite *s) { return s->seed; }
int64_t al_suite_case_count(const al_suite *s) { return s->n_cases; }
const al_toolset *al_suite_toolset(const al_suite *s) { return s->tools; }
al_alerts *al_suite_alerts(const al_suite *s) { return s->alerts; }
const al_ydoc *al_suite_doc(const al_suite *s) { return s->doc; }

/* ---- iteration ----------------------------------------------------------------------- */

int al_case_iter_new(const al_suite *s, al_case_iter **out, al_error *err) {
  al_case_iter *it = al_calloc(1, sizeof *it);
  if (!it) return AL_ENOMEM;
  it->s = s;
  *out = it;
  return 0;
}

void al_case_iter_free(al_case_iter *it) {
  if (!it) return;
  for (size_t i = 0; i < it->n_shared; i++) al_assert_free(it->shared[i].a);
  al_free(it->shared);
  al_rows_close(it->rows);
  al_free(it->meta_file);
  al_free(it->meta_pre);
  al_free(it->meta_post);
  al_free(it);
}

int al_case_next(al_case_iter *it, al_case **out, al_error *e) {
  const al_suite *s = it->s;
  int rc = 0;
  *out = NULL;
  size_t nt = s->tests ? json_array_size(s->tests) : 0;
  if (it->test_i < nt) {
    const json_t *t = json_array_get(s->tests, it->test_i++);
    origin o = {s->doc, t, NULL, 0};
    rc = build_case(s, &o, t, NULL, it->index, it, 0, out, e);
    if (!rc) it->index++;
    return rc;
  }
  if (it->probe_i < json_array_size(s->probe_tests)) {
    /* a probe: errors and meta.location point into its probe file */
    const json_t *t = json_array_get(s->probe_tests, it->probe_i++);
    const json_t *loc = json_object_get(json_object_get(t, "meta"), "location");
    origin o = {NULL, NULL, json_string_value(json_object_get(loc, "file")),
                (int)json_integer_value(json_object_get(loc, "line"))};
    rc = build_case(s, &o, t, NULL, it->index, it, 0, out, e);
    if (!rc) {
      json_object_set_new((*out)->meta, "source", json_string("probes"));
      al_free((*out)->meta_json);
      (*out)->meta_json = NULL;
    }
    if (!rc) it->index++;
    return rc;
  }
  while (it->from_i < s->n_from) {
    tests_from *f = &s->from[it->from_i];
    if (!it->rows) {
      if ((rc = al_rows_open(f->path, f->format, &it->rows, e))) return rc;
      it->from_count = 0;
    }
    json_t *row = NULL;
    int line = 0;
    rc = (f->limit >= 0 && it->from_count >= f->limit) ? 0 : al_rows_next(it->rows, &row, &line, e);
    if (rc < 0) return rc;
    if (rc == 0) {
      al_rows_close(it->rows);
      it->rows = NULL;
      it->light = 0;
      it->from_i++;
      continue;
    }
    it->from_count++;
    if (it->light) { /* validating, and this row cannot fail where the first did not */
      long long rb = vars_bytes(row);
      if (rb >= 0 && it->light_base + it->light_refs * (size_t)rb < AL_MAX_SUITE_BYTES / 2) {
        json_decref(row);
        it->index++;
        it->skipped = 1;
        return 0;
      }
    }
    rc = from_case(s, f, row, line, it->index, it, out, e);
    json_decref(row);
    if (!rc) it->index++;
    if (!rc && it->validating && it->from_count == 1) it->light = light_spec(it, f);
    return rc;
  }
  return 0;
}
