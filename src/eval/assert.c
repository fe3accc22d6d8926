/* Assertions (see include/airlock/assert.h).
 *
 * An assertion is written either in short form, `- contains: "text"`, or long form,
 * `- {type: contains, value: "text", label: "..."}`. Both compile into the same record.
 * The table `kinds` below is the registry: name, how the value is read, how it is judged.
 * Messages on failure carry evidence (what was expected, an excerpt of what came back) so a
 * report can show why without re-running anything. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "airlock/assert.h"
#include "airlock/buf.h"
#include "airlock/scan.h"
#include "airlock/schema.h"
#include "airlock/suite.h"
#include "airlock/util.h"
#include "core/jarena.h"
#include "core/limits.h"

enum kind {
  K_EQUALS, K_CONTAINS, K_ICONTAINS, K_NOT_CONTAINS, K_NOT_ICONTAINS, K_REGEX, K_NOT_REGEX,
  K_STARTS_WITH, K_IS_JSON, K_JSON_SCHEMA, K_MAX_LENGTH, K_MAX_TOKENS, K_LATENCY, K_COMMAND,
  K_DETECT, K_NOT_DETECT,
};

enum vtype { V_STRING, V_BOOL, V_INT, V_LATENCY, V_SCHEMA, V_ARGV, V_DETECT };

static const struct {
  const char *name;
  enum kind kind;
  enum vtype vtype;
} kinds[] = {
    {"equals", K_EQUALS, V_STRING},
    {"contains", K_CONTAINS, V_STRING},
    {"icontains", K_ICONTAINS, V_STRING},
    {"not-contains", K_NOT_CONTAINS, V_STRING},
    {"not-icontains", K_NOT_ICONTAINS, V_STRING},
    {"regex", K_REGEX, V_STRING},
    {"not-regex", K_NOT_REGEX, V_STRING},
    {"starts-with", K_STARTS_WITH, V_STRING},
    {"is-json", K_IS_JSON, V_BOOL},
    {"json-schema", K_JSON_SCHEMA, V_SCHEMA},
    {"max-length", K_MAX_LENGTH, V_INT},
    {"max-tokens", K_MAX_TOKENS, V_INT},
    {"latency", K_LATENCY, V_LATENCY},
    {"command", K_COMMAND, V_ARGV},
    {"detect", K_DETECT, V_DETECT},
    {"not-detect", K_NOT_DETECT, V_DETECT},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

struct al_assert {
  enum kind kind;
  const char *type;
  char *label;
  char *str;
  size_t str_len;
  pcre2_code *re;
  al_schema *schema;
  long long num;
  long long ttft_ms, total_ms;
  char **argv;
  long long timeout_ms;
  /* detect / not-detect */
  json_t *detectors; /* array of names or prefixes */
  json_t *canaries;  /* array of strings, or NULL */
  double min_score;
  int refs;          /* references beyond the first (al_assert_ref) */
};

const char *al_assert_type(const al_assert *a) { return a->type; }

al_assert *al_assert_ref(al_assert *a) {
  if (a) __atomic_fetch_add(&a->refs, 1, __ATOMIC_RELAXED);
  return a;
}

int al_assert_var_free(const json_t *node) {
  if (json_is_string(node)) return strstr(json_string_value(node), "{{") == NULL;
  if (json_is_array(node)) {
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)node, i, v) if (!al_assert_var_free(v)) return 0;
  } else if (json_is_object(node)) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)node, k, v) if (!al_assert_var_free(v)) return 0;
  }
  return 1;
}

void al_assert_free(al_assert *a) {
  if (!a) return;
  if (__atomic_fetch_sub(&a->refs, 1, __ATOMIC_ACQ_REL) > 0) return; /* still shared */
  al_free(a->label);
  al_free(a->str);
  if (a->re) pcre2_code_free(a->re);
  al_schema_free(a->schema);
  json_decref(a->detectors);
  json_decref(a->canaries);
  if (a->argv) {
    for (char **p = a->argv; *p; p++) al_free(*p);
    al_free(a->argv);
  }
  al_free(a);
}

/* Error helper that works with or without a YAML document. */
typedef struct where {
  const al_ydoc *doc;
  const json_t *list;
  size_t index;
  const char *name;
} where;

static int werr(const where *w, al_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int werr(const where *w, al_error *e, int code, const char *fmt, ...) {
  char msg[480];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (w->doc) return al_ydoc_err_item(w->doc, e, w->list, w->index, code, "assertion: %s", msg);
  return al_error_set(e, code, "%s: assertion: %s", w->name ? w->name : "?", msg);
}

static int subst_str(const where *w, const char *s, const json_t *vars, char **out, al_error *e) {
  char missing[128];
  int rc = al_subst(s, vars, out, missing, sizeof missing);
  if (rc == AL_ENOTFOUND) return werr(w, e, AL_EPARSE, "unknown variable '{{%s}}'", missing);
  return rc;
}

static int compile_value(const where *w, al_assert *a, enum vtype vt, const json_t *val,
                         const json_t *vars, const char *dir, al_error *e) {
  int rc = 0;
  char *tmp = NULL;
  switch (vt) {
  case V_STRING:
    if (json_is_integer(val) || json_is_real(val)) {
      char num[64];
      if (json_is_integer(val)) snprintf(num, sizeof num, "%lld", (long long)json_integer_value(val));
      else snprintf(num, sizeof num, "%.17g", json_real_value(val));
      a->str = al_strdup(num);
    } else if (json_is_string(val)) {
      if ((rc = subst_str(w, json_string_value(val), vars, &a->str, e))) goto out;
    } else {
      rc = werr(w, e, AL_EPARSE, "'%s' expects a string", a->type);
      goto out;
    }
    if (!a->str) {
      rc = AL_ENOMEM;
      goto out;
    }
    a->str_len = strlen(a->str);
    if (a->kind == K_REGEX || a->kind == K_NOT_REGEX) {
      int ec;
      PCRE2_SIZE eo;
      a->re = pcre2_compile((PCRE2_SPTR)a->str, a->str_len, PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
      if (!a->re) {
        PCRE2_UCHAR m[256];
        pcre2_get_error_message(ec, m, sizeof m);
        rc = werr(w, e, AL_EPARSE, "bad regex at offset %zu: %s", (size_t)eo, (char *)m);
        goto out;
      }
      /* no JIT: compiling it costs more than matching one model answer */
    }
    break;
  case V_BOOL:
    if (!json_is_boolean(val)) {
      rc = werr(w, e, AL_EPARSE, "'%s' expects true or false", a->type);
      goto out;
    }
    a->num = json_is_true(val);
    break;
  case V_INT:
    if (!json_is_integer(val) || json_integer_value(val) < 0) {
      rc = werr(w, e, AL_EPARSE, "'%s' expects a non-negative integer", a->type);
      goto out;
    }
    a->num = json_integer_value(val);
    break;
  case V_LATENCY: {
    a->ttft_ms = a->total_ms = -1;
    const char *k;
    json_t *v;
    if (!json_is_object(val)) {
      rc = werr(w, e, AL_EPARSE, "'latency' expects a mapping {ttft_ms: N, total_ms: N}");
      goto out;
    }
    json_object_foreach((json_t *)val, k, v) {
      if (!json_is_number(v) || json_number_value(v) < 0) {
        rc = werr(w, e, AL_EPARSE, "latency '%s' expects a non-negative number of ms", k);
        goto out;
      }
      if (!strcmp(k, "ttft_ms")) a->ttft_ms = (long long)json_number_value(v);
      else if (!strcmp(k, "total_ms")) a->total_ms = (long long)json_number_value(v);
      else {
        rc = werr(w, e, AL_EPARSE, "unknown latency key '%s' (expected ttft_ms, total_ms)", k);
        goto out;
      }
    }
    if (a->ttft_ms < 0 && a->total_ms < 0) {
      rc = werr(w, e, AL_EPARSE, "'latency' needs ttft_ms or total_ms");
      goto out;
    }
    break;
  }
  case V_SCHEMA: {
    al_error se = {0};
    if (json_is_string(val)) {
      char path[2048];
      const char *f = json_string_value(val);
      if (f[0] == '/' || !dir) snprintf(path, sizeof path, "%s", f);
      else snprintf(path, sizeof path, "%s/%s", dir, f);
      size_t len = 0;
      if ((rc = al_read_file(path, AL_MAX_SUITE_BYTES, &tmp, &len, &se))) {
        rc = werr(w, e, AL_EPARSE, "json-schema file %s: %s", path, se.msg);
        goto out;
      }
      rc = al_schema_compile_text(tmp, len, AL_SCHEMA_DRAFT_AUTO, &a->schema, &se);
    } else if (json_is_object(val) || json_is_boolean(val)) {
      rc = al_schema_compile(val, AL_SCHEMA_DRAFT_AUTO, NULL, &a->schema, &se);
    } else {
      rc = werr(w, e, AL_EPARSE, "'json-schema' expects a schema mapping or a file path");
      goto out;
    }
    if (rc) {
      rc = werr(w, e, rc, "json-schema: %s", se.msg);
      goto out;
    }
    break;
  }
  case V_DETECT: {
    /* detect: NAME | [NAMES] | {detectors: [...], canaries: [...], min_score: x} */
    const json_t *dets = val, *can = NULL, *ms = NULL;
    if (json_is_object(val)) {
      const char *k;
      json_t *v;
      json_object_foreach((json_t *)val, k, v) {
        if (strcmp(k, "detectors") && strcmp(k, "canaries") && strcmp(k, "min_score")) {
          rc = werr(w, e, AL_EPARSE, "unknown key '%s' (expected detectors, canaries, min_score)", k);
          goto out;
        }
      }
      dets = json_object_get(val, "detectors");
      can = json_object_get(val, "canaries");
      ms = json_object_get(val, "min_score");
    }
    a->detectors = json_array();
    if (json_is_string(dets)) json_array_append(a->detectors, (json_t *)dets);
    else if (json_is_array(dets)) {
      size_t i;
      json_t *v;
      json_array_foreach(dets, i, v) {
        if (!json_is_string(v)) {
          rc = werr(w, e, AL_EPARSE, "detector names must be strings");
          goto out;
        }
        json_array_append(a->detectors, v);
      }
    }
    if (!json_array_size(a->detectors)) {
      rc = werr(w, e, AL_EPARSE, "'%s' needs detector names (see `airlock detectors`), e.g. [pii, canary.token]", a->type);
      goto out;
    }
    for (size_t i = 0; i < json_array_size(a->detectors); i++) {
      const char *dn = json_string_value(json_array_get(a->detectors, i));
      int known = 0;
      for (size_t k = 0; k < al_detector_count() && !known; k++) {
        const char *nm = al_detector_get(k)->name;
        size_t l = strlen(dn);
        known = !strcmp(nm, dn) || (!strncmp(nm, dn, l) && nm[l] == '.');
      }
      if (!known) {
        rc = werr(w, e, AL_EPARSE, "unknown detector '%s' (see `airlock detectors`)", dn);
        goto out;
      }
    }
    if (can) {
      if (!json_is_array(can)) {
        rc = werr(w, e, AL_EPARSE, "'canaries' must be a list of strings");
        goto out;
      }
      a->canaries = json_array();
      size_t i;
      json_t *v;
      json_array_foreach(can, i, v) {
        if (!json_is_string(v) || (rc = subst_str(w, json_string_value(v), vars, &tmp, e))) {
          rc = rc ? rc : werr(w, e, AL_EPARSE, "'canaries' must be a list of strings");
          goto out;
        }
        json_array_append_new(a->canaries, json_string(tmp));
        al_free(tmp), tmp = NULL;
      }
    }
    a->min_score = json_is_number(ms) ? json_number_value(ms) : 0.0;
    break;
  }
  case V_ARGV: {
    size_t n = json_is_array(val) ? json_array_size(val) : 1;
    if (!(json_is_array(val) && n > 0) && !json_is_string(val)) {
      rc = werr(w, e, AL_EPARSE, "'command' expects a program and arguments (a list) or a shell line");
      goto out;
    }
    a->argv = al_calloc(json_is_string(val) ? 4 : n + 1, sizeof(char *));
    if (!a->argv) {
      rc = AL_ENOMEM;
      goto out;
    }
    if (json_is_string(val)) {
      a->argv[0] = al_strdup("/bin/sh");
      a->argv[1] = al_strdup("-c");
      if ((rc = subst_str(w, json_string_value(val), vars, &a->argv[2], e))) goto out;
    } else {
      for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(val, i);
        if (!json_is_string(x)) {
          rc = werr(w, e, AL_EPARSE, "'command' arguments must be strings");
          goto out;
        }
        if ((rc = subst_str(w, json_string_value(x), vars, &a->argv[i], e))) goto out;
      }
    }
    a->timeout_ms = 30000;
    break;
  }
  }
out:
  al_free(tmp);
  return rc;
}

static int compile(const where *w, const json_t *node, const json_t *vars, const char *dir,
                   al_assert **out, al_error *e) {
  int rc = 0;
  al_assert *a = NULL;
  const json_t *val = NULL;
  const char *type = NULL, *label = NULL;
  *out = NULL;
  if (!json_is_object(node)) {
    rc = werr(w, e, AL_EPARSE, "expected a mapping such as {contains: \"text\"}");
    goto out;
  }
  json_t *t = json_object_get(node, "type");
  if (t) {
    if (!json_is_string(t)) {
      rc = werr(w, e, AL_EPARSE, "'type' must be a string");
      goto out;
    }
    type = json_string_value(t);
    val = json_object_get(node, "value");
  }
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)node, k, v) {
    if (!strcmp(k, "type") || (t && !strcmp(k, "value"))) continue;
    if (!strcmp(k, "label")) {
      if (!json_is_string(v)) {
        rc = werr(w, e, AL_EPARSE, "'label' must be a string");
        goto out;
      }
      label = json_string_value(v);
      continue;
    }
    if (t && !strcmp(type, "latency") && (!strcmp(k, "ttft_ms") || !strcmp(k, "total_ms"))) continue;
    if (type) {
      rc = werr(w, e, AL_EPARSE, "unexpected key '%s' (expected type, value, label)", k);
      goto out;
    }
    type = k;
    val = v;
  }
  if (!type) {
    rc = werr(w, e, AL_EPARSE, "no assertion type given");
    goto out;
  }
  size_t ki = 0;
  while (ki < N_KINDS && strcmp(kinds[ki].name, type)) ki++;
  if (ki == N_KINDS) {
    char list[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < N_KINDS; i++)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", kinds[i].name);
    rc = werr(w, e, AL_EPARSE, "unknown assertion '%s' (expected one of: %s)", type, list);
    goto out;
  }
  json_t *lat = NULL;
  if (kinds[ki].kind == K_LATENCY && t && !val) {
    lat = json_object();
    json_t *x;
    if ((x = json_object_get(node, "ttft_ms"))) json_object_set(lat, "ttft_ms", x);
    if ((x = json_object_get(node, "total_ms"))) json_object_set(lat, "total_ms", x);
    val = lat;
  }
  if (!val) {
    if (kinds[ki].vtype == V_BOOL) val = json_true();
    else {
      rc = werr(w, e, AL_EPARSE, "'%s' needs a value", type);
      goto out;
    }
  }
  a = al_calloc(1, sizeof *a);
  if (!a) {
    rc = AL_ENOMEM;
    json_decref(lat);
    goto out;
  }
  a->kind = kinds[ki].kind;
  a->type = kinds[ki].name;
  rc = compile_value(w, a, kinds[ki].vtype, val, vars, dir, e);
  json_decref(lat);
  if (rc) goto out;
  if (label) a->label = al_strdup(label);
  else {
    char buf[160];
    if (a->str) snprintf(buf, sizeof buf, "%s %.120s", a->type, a->str);
    else if (a->kind == K_MAX_LENGTH || a->kind == K_MAX_TOKENS)
      snprintf(buf, sizeof buf, "%s %lld", a->type, a->num);
    else if (a->kind == K_LATENCY)
      snprintf(buf, sizeof buf, "latency ttft<=%lldms total<=%lldms", a->ttft_ms, a->total_ms);
    else if (a->kind == K_DETECT || a->kind == K_NOT_DETECT) {
      char *d = json_dumps(a->detectors, JSON_COMPACT);
      snprintf(buf, sizeof buf, "%s %.120s", a->type, d ? d : "");
      free(d);
    } else if (a->kind == K_COMMAND)
      snprintf(buf, sizeof buf, "command %.120s", json_is_string(val) ? a->argv[2] : a->argv[0]);
    else snprintf(buf, sizeof buf, "%s", a->type);
    a->label = al_strdup(buf);
  }
  if (!a->label) {
    rc = AL_ENOMEM;
    goto out;
  }
  *out = a;
  a = NULL;
out:
  al_assert_free(a);
  return rc;
}

int al_assert_compile(const al_ydoc *doc, const json_t *list, size_t index, const json_t *vars,
                      const char *file_dir, al_assert **out, al_error *err) {
  where w = {doc, list, index, NULL};
  return compile(&w, json_array_get(list, index), vars, file_dir, out, err);
}

int al_assert_compile_json(const json_t *node, const json_t *vars, const char *file_dir,
                           const char *name, al_assert **out, al_error *err) {
  where w = {NULL, NULL, 0, name};
  return compile(&w, node, vars, file_dir, out, err);
}

/* ---- evaluation ---------------------------------------------------------------------- */

static void excerpt(const char *s, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 8 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n') out[k++] = '\\', out[k++] = 'n';
    else if (c < 0x20) out[k++] = ' ';
    else out[k++] = (char)c;
  }
  if (n && k + 8 >= cap) {
    while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80) k--; /* whole UTF-8 chars */
    if (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0xC0) k--;
    memcpy(out + k, "...", 3), k += 3;
  }
  out[k] = '\0';
}

static const char *memcasemem(const char *h, size_t hn, const char *n, size_t nn) {
  if (nn == 0) return h;
  for (size_t i = 0; i + nn <= hn; i++)
    if (!strncasecmp(h + i, n, nn)) return h + i;
  return NULL;
}

static size_t utf8_len(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) k++;
  return k;
}

static int set_msg(al_assert_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_msg(al_assert_result *r, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  al_free(r->message);
  r->message = al_strdup(buf);
  return 0;
}

static int run_command(const al_assert *a, const al_assert_input *in, al_assert_result *r);
static int run_detect(const al_assert *a, const al_assert_input *in, al_assert_result *r);

int al_assert_eval(const al_assert *a, const al_assert_input *in, al_assert_result *r) {
  const char *o = in->output ? in->output : "";
  size_t on = in->output ? in->output_len : 0;
#define EX (excerpt(o, on, ex, sizeof ex), ex)
  char ex[200];
  int pass = 0, rc = 0;
  memset(r, 0, sizeof *r);
  r->type = al_strdup(a->type);
  r->label = al_strdup(a->label);
  r->score = 0;
  /* the excerpt of the output, made only for a message (EX) */
  switch (a->kind) {
  case K_EQUALS:
    pass = on == a->str_len && !memcmp(o, a->str, on);
    if (!pass) set_msg(r, "expected exactly \"%.200s\", got \"%s\"", a->str, EX);
    break;
  case K_CONTAINS:
    pass = memmem(o, on, a->str, a->str_len) != NULL;
    if (!pass) set_msg(r, "expected output to contain \"%.200s\"; output: \"%s\"", a->str, EX);
    break;
  case K_ICONTAINS:
    pass = memcasemem(o, on, a->str, a->str_len) != NULL;
    if (!pass) set_msg(r, "expected output to contain (any case) \"%.200s\"; output: \"%s\"", a->str, EX);
    break;
  case K_NOT_CONTAINS:
  case K_NOT_ICONTAINS: {
    const char *hit = a->kind == K_NOT_CONTAINS ? memmem(o, on, a->str, a->str_len)
                                                : memcasemem(o, on, a->str, a->str_len);
    pass = hit == NULL;
    if (!pass) {
      size_t off = (size_t)(hit - o), from = off > 60 ? off - 60 : 0;
      excerpt(o + from, on - from < 180 ? on - from : 180, ex, sizeof ex);
      set_msg(r, "output contains forbidden \"%.200s\" at offset %zu: \"%s\"", a->str, off, ex);
    }
    break;
  }
  case K_REGEX:
  case K_NOT_REGEX: {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(a->re, NULL);
    int m = md ? pcre2_match(a->re, (PCRE2_SPTR)o, on, 0, 0, md, NULL) : -1;
    if (m < -1 && m != PCRE2_ERROR_NOMATCH) {
      PCRE2_UCHAR em[128];
      pcre2_get_error_message(m, em, sizeof em);
      set_msg(r, "regex could not run: %s", (char *)em);
      rc = AL_EINVAL;
    } else if (a->kind == K_REGEX) {
      pass = m >= 0;
      if (!pass) set_msg(r, "expected output to match /%.200s/; output: \"%s\"", a->str, EX);
    } else {
      pass = m < 0;
      if (!pass) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        excerpt(o + ov[0], ov[1] - ov[0], ex, sizeof ex);
        set_msg(r, "output matches forbidden /%.200s/ at offset %zu: \"%s\"", a->str, (size_t)ov[0], ex);
      }
    }
    pcre2_match_data_free(md);
    break;
  }
  case K_STARTS_WITH:
    pass = on >= a->str_len && !memcmp(o, a->str, a->str_len);
    if (!pass) set_msg(r, "expected output to start with \"%.200s\"; output: \"%s\"", a->str, EX);
    break;
  case K_IS_JSON:
  case K_JSON_SCHEMA: {
    json_error_t je;
    size_t mark;
    json_t *doc = al_jarena_loadb(o, on, JSON_DECODE_ANY, &je, &mark); /* dies below */
    if (!doc) {
      pass = 0;
      set_msg(r, "output is not JSON (%s at line %d column %d): \"%s\"", je.text, je.line, je.column, EX);
    } else if (a->kind == K_IS_JSON) {
      pass = a->num ? 1 : 0;
      if (!pass) set_msg(r, "output is JSON but is-json: false");
    } else {
      char why[512] = "";
      int v = al_schema_validate(a->schema, doc, why, sizeof why);
      pass = v == 1;
      if (v < 0) {
        set_msg(r, "schema validation could not run: %s", why);
        rc = v;
      } else if (!pass) {
        set_msg(r, "output does not match the schema: %s", why);
      }
    }
    if (a->kind == K_IS_JSON && !doc && !a->num) pass = 1, al_free(r->message), r->message = NULL;
    al_jarena_drop(doc, mark); /* only read */
    break;
  }
  case K_MAX_LENGTH: {
    size_t n = utf8_len(o, on);
    pass = (long long)n <= a->num;
    if (!pass) set_msg(r, "output is %zu characters long, more than %lld", n, a->num);
    break;
  }
  case K_MAX_TOKENS: {
    /* usage from the target, else the streamed tokens we counted, else unknown */
    long long n = !in->result                           ? -1
                  : in->result->completion_tokens >= 0 ? in->result->completion_tokens
                  : in->result->n_tokens > 0           ? (long long)in->result->n_tokens
                                                       : -1;
    if (n < 0) {
      set_msg(r, "the target reported no token count");
      rc = AL_EINVAL;
    } else {
      pass = n <= a->num;
      if (!pass) set_msg(r, "output is %lld tokens, more than %lld", n, a->num);
    }
    break;
  }
  case K_LATENCY: {
    const al_case_result *res = in->result;
    pass = 1;
    if (!res) {
      pass = 0;
      set_msg(r, "no timing recorded");
      break;
    }
    double ttft = res->ttft_ns >= 0 ? res->ttft_ns / 1e6 : res->ttfb_ns / 1e6;
    double total = res->total_ns / 1e6;
    if (a->ttft_ms >= 0 && ttft > (double)a->ttft_ms) {
      pass = 0;
      set_msg(r, "time to first token %.1f ms is over %lld ms", ttft, a->ttft_ms);
    }
    if (a->total_ms >= 0 && total > (double)a->total_ms) {
      pass = 0;
      set_msg(r, "total latency %.1f ms is over %lld ms", total, a->total_ms);
    }
    break;
  }
  case K_COMMAND:
    return run_command(a, in, r);
  case K_DETECT:
  case K_NOT_DETECT:
    return run_detect(a, in, r);
  }
  r->pass = pass;
  r->score = pass ? 1.0 : 0.0;
  return rc;
}

/* The command assertion: the program reads {"output", "case", "result"} as JSON on stdin
 * and prints a verdict {"pass": bool, "score": number, "reason": string} on stdout. It runs
 * with a timeout; a program that fails, times out or prints no verdict makes the assertion
 * fail to run (an error, not a verdict). */
#undef EX

static int run_command(const al_assert *a, const al_assert_input *in, al_assert_result *r) {
  int rc = 0, inp[2] = {-1, -1}, outp[2] = {-1, -1};
  pid_t pid = -1;
  char *payload = NULL;
  al_buf ob;
  json_t *req = NULL, *verdict = NULL;
  al_buf_init(&ob, AL_MAX_COMMAND_OUTPUT);
  req = json_pack("{s:s%, s:O?}", "output", in->output ? in->output : "",
                  in->output ? in->output_len : 0, "case", in->case_json);
  if (in->result) {
    json_object_set_new(req, "latency_ms", json_real(in->result->total_ns / 1e6));
    if (in->result->finish_reason)
      json_object_set_new(req, "finish_reason", json_string(in->result->finish_reason));
  }
  payload = req ? json_dumps(req, JSON_COMPACT) : NULL;
  if (!payload || pipe2(inp, O_CLOEXEC) || pipe2(outp, O_CLOEXEC)) {
    set_msg(r, "command: cannot set up pipes");
    rc = AL_ESYS;
    goto out;
  }
  pid = fork();
  if (pid < 0) {
    set_msg(r, "command: fork failed: %s", strerror(errno));
    rc = AL_ESYS;
    goto out;
  }
  if (pid == 0) {
    dup2(inp[0], 0);
    dup2(outp[1], 1);
    execvp(a->argv[0], a->argv);
    _exit(127);
  }
  close(inp[0]), inp[0] = -1;
  close(outp[1]), outp[1] = -1;
  size_t plen = strlen(payload), sent = 0;
  int64_t deadline = al_now_ns() + a->timeout_ms * 1000000LL;
  fcntl(inp[1], F_SETFL, O_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);
  for (;;) {
    struct pollfd p[2] = {{outp[0], POLLIN, 0}, {inp[1], POLLOUT, 0}};
    int np = inp[1] >= 0 ? 2 : 1;
    int64_t left = (deadline - al_now_ns()) / 1000000;
    if (left <= 0) {
      set_msg(r, "command timed out after %lld ms", a->timeout_ms);
      rc = AL_ETIMEOUT;
      goto out;
    }
    if (poll(p, np, (int)left) < 0 && errno != EINTR) break;
    if (np == 2 && p[1].revents) {
      ssize_t w = write(inp[1], payload + sent, plen - sent);
      if (w > 0) sent += (size_t)w;
      if (w < 0 && errno != EAGAIN) sent = plen;
      if (sent == plen) close(inp[1]), inp[1] = -1;
    }
    if (p[0].revents) {
      char buf[4096];
      ssize_t n = read(outp[0], buf, sizeof buf);
      if (n <= 0) break;
      if (al_buf_append(&ob, buf, (size_t)n)) {
        set_msg(r, "command printed more than %u bytes", AL_MAX_COMMAND_OUTPUT);
        rc = AL_ELIMIT;
        goto out;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  pid = -1;
  json_error_t je;
  verdict = ob.len ? json_loadb(ob.data, ob.len, 0, &je) : NULL;
  json_t *pv = verdict ? json_object_get(verdict, "pass") : NULL;
  if (!json_is_boolean(pv)) {
    set_msg(r, "command gave no verdict (exit status %d); expected {\"pass\": true|false, ...} on stdout",
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    rc = AL_EPARSE;
    goto out;
  }
  r->pass = json_is_true(pv);
  json_t *sc = json_object_get(verdict, "score");
  r->score = json_is_number(sc) ? json_number_value(sc) : (r->pass ? 1.0 : 0.0);
  json_t *why = json_object_get(verdict, "reason");
  if (json_is_string(why)) set_msg(r, "%s", json_string_value(why));
out:
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  for (int i = 0; i < 2; i++) {
    if (inp[i] >= 0) close(inp[i]);
    if (outp[i] >= 0) close(outp[i]);
  }
  free(payload);
  json_decref(req);
  json_decref(verdict);
  al_buf_cleanup(&ob);
  return rc;
}

/* ---- detector assertions ----------------------------------------------------------------
 * Compiling a Hyperscan database costs milliseconds, so databases are cached by their
 * configuration (detectors, canaries, system prompt) for the life of the process; each
 * cached database keeps one scanner, used under the cache's lock. */
#define DET_CACHE 32
static struct {
  char key[65];
  al_scan_db *db;
  al_scanner *sc;
} det_cache[DET_CACHE];
static pthread_mutex_t det_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct det_hits {
  al_buf msg;
  int n;
  double min_score;
} det_hits;

static int on_finding(const al_finding *f, void *ud) {
  det_hits *h = ud;
  if (f->score < h->min_score) return 0;
  if (h->n++ < 5) {
    char ex[120];
    excerpt(f->text, (size_t)(f->end - f->start), ex, sizeof ex);
    al_buf_printf(&h->msg, "%s%s at %llu: \"%s\" (%s)", h->msg.len ? "; " : "", f->detector,
                  (unsigned long long)f->start, ex, f->note);
  }
  return 0;
}

static int run_detect(const al_assert *a, const al_assert_input *in, al_assert_result *r) {
  int rc = 0, slot = -1;
  char key[65];
  char *kd = NULL;
  json_t *kj = json_pack("{s:O, s:O?, s:s?}", "d", a->detectors, "c", a->canaries, "s", in->system_prompt);
  kd = kj ? json_dumps(kj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(kj);
  if (!kd) return AL_ENOMEM;
  al_sha256_hex(kd, strlen(kd), key);
  free(kd);
  pthread_mutex_lock(&det_lock);
  for (int i = 0; i < DET_CACHE && slot < 0; i++)
    if (det_cache[i].db && !strcmp(det_cache[i].key, key)) slot = i;
  if (slot < 0) {
    const char *names[64], *cans[64];
    size_t nn = 0, nc = 0;
    for (size_t i = 0; i < json_array_size(a->detectors) && nn < 64; i++)
      names[nn++] = json_string_value(json_array_get(a->detectors, i));
    for (size_t i = 0; i < json_array_size(a->canaries) && nc < 64; i++)
      cans[nc++] = json_string_value(json_array_get(a->canaries, i));
    al_scan_config cfg = {names, nn, in->system_prompt, nc ? cans : NULL, nc, NULL};
    al_error e = {0};
    for (int i = 0; i < DET_CACHE && slot < 0; i++)
      if (!det_cache[i].db) slot = i;
    if (slot < 0) { /* full: evict the first */
      slot = 0;
      al_scanner_free(det_cache[0].sc);
      al_scan_db_free(det_cache[0].db);
      det_cache[0].db = NULL;
    }
    if ((rc = al_scan_db_new(&cfg, &det_cache[slot].db, &e)) ||
        (rc = al_scanner_new(det_cache[slot].db, &det_cache[slot].sc))) {
      set_msg(r, "detectors could not be set up: %s", e.msg);
      al_scan_db_free(det_cache[slot].db);
      det_cache[slot].db = NULL;
      pthread_mutex_unlock(&det_lock);
      return rc < 0 ? rc : AL_EINVAL;
    }
    memcpy(det_cache[slot].key, key, 65);
  }
  det_hits h = {.min_score = a->min_score};
  al_buf_init(&h.msg, 4096);
  rc = al_scan(det_cache[slot].sc, in->output ? in->output : "", in->output ? in->output_len : 0,
               on_finding, &h);
  pthread_mutex_unlock(&det_lock);
  if (rc < 0) {
    set_msg(r, "scan failed: %s", al_strerror(rc));
  } else if (a->kind == K_NOT_DETECT) {
    r->pass = h.n == 0;
    if (!r->pass) set_msg(r, "%d finding%s: %s", h.n, h.n == 1 ? "" : "s", h.msg.data);
  } else {
    r->pass = h.n > 0;
    if (r->pass) set_msg(r, "found: %s", h.msg.data);
    else set_msg(r, "expected a finding from %s, found none", a->label + strlen(a->type) + 1);
  }
  r->score = r->pass ? 1.0 : 0.0;
  al_buf_cleanup(&h.msg);
  return rc < 0 ? rc : 0;
}
