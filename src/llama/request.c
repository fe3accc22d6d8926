/* Exec-protocol request parsing for the llama worker (see request.h).
 *
 * jansson does the JSON; this file only walks the tree, checks each field against its type
 * and range, and copies what the generator needs into plain C memory so that the json_t is
 * freed before generation starts. Unknown top-level fields are ignored (the runner may send
 * OpenAI fields such as "model" or "stream" that mean nothing here); unknown roles, wrong
 * types and out-of-range values are errors naming the field.
 */
#include "llama/request.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "core/limits.h"
#include "llama/limits.h"
#include "llama/schema_gbnf.h"

#define SRC "<stdin>"

typedef struct pcx {
  int lineno;
  const al_schema_caps *caps;
  al_error *err;
} pcx;

static int bad(pcx *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(pcx *p, int code, const char *fmt, ...) {
  char msg[480];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return al_error_at(p->err, code, SRC, p->lineno, 0, "%s", msg);
}

static char *dup_n(const char *s, size_t n) { return al_strndup(s, n); }

/* Text of a message's content: a string, null (""), or an array of {"type":"text"} parts. */
static int content_text(pcx *p, const json_t *c, size_t idx, al_buf *out) {
  if (!c || json_is_null(c)) return 0;
  if (json_is_string(c)) {
    int rc = al_buf_append(out, json_string_value(c), json_string_length(c));
    return rc ? bad(p, rc, "messages[%zu].content is too large", idx) : 0;
  }
  if (!json_is_array(c))
    return bad(p, AL_EINVAL,
               "messages[%zu].content: expected a string, null or an array of text parts", idx);
  size_t i;
  const json_t *part;
  json_array_foreach(c, i, part) {
    const char *type = json_string_value(json_object_get(part, "type"));
    const json_t *text = json_object_get(part, "text");
    if (!type || strcmp(type, "text") != 0 || !json_is_string(text))
      return bad(p, AL_EUNSUPPORTED,
                 "messages[%zu].content[%zu]: only {\"type\": \"text\", \"text\": \"...\"} parts "
                 "are supported",
                 idx, i);
    int rc = al_buf_append(out, json_string_value(text), json_string_length(text));
    if (rc) return bad(p, rc, "messages[%zu].content is too large", idx);
  }
  return 0;
}

static int parse_messages(pcx *p, const json_t *arr, al_llama_request *req) {
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return bad(p, AL_EINVAL,
               "field 'messages': expected a non-empty array of {role, content} objects");
  if (json_array_size(arr) > AL_LLAMA_MAX_MESSAGES)
    return bad(p, AL_ELIMIT, "field 'messages': more than %d messages", AL_LLAMA_MAX_MESSAGES);
  req->msgs = al_calloc(json_array_size(arr), sizeof *req->msgs);
  if (!req->msgs) return bad(p, AL_ENOMEM, "out of memory");
  size_t i;
  const json_t *m;
  int rc = 0;
  al_buf text;
  al_buf_init(&text, AL_MAX_LINE_BYTES);
  json_array_foreach(arr, i, m) {
    if (!json_is_object(m)) {
      rc = bad(p, AL_EINVAL, "messages[%zu]: expected an object with role and content", i);
      break;
    }
    const char *role = json_string_value(json_object_get(m, "role"));
    if (!role) {
      rc = bad(p, AL_EINVAL, "messages[%zu].role: expected a string", i);
      break;
    }
    if (strcmp(role, "developer") == 0) role = "system";
    if (strcmp(role, "system") != 0 && strcmp(role, "user") != 0 &&
        strcmp(role, "assistant") != 0 && strcmp(role, "tool") != 0) {
      rc = bad(p, AL_EINVAL,
               "messages[%zu].role: '%.64s' is not one of system, developer, user, assistant, tool",
               i, role);
      break;
    }
    al_buf_reset(&text);
    rc = content_text(p, json_object_get(m, "content"), i, &text);
    if (rc) break;
    const json_t *calls = json_object_get(m, "tool_calls");
    if (calls && !json_is_null(calls)) {
      if (!json_is_array(calls) || strcmp(role, "assistant") != 0) {
        rc = bad(p, AL_EINVAL,
                 "messages[%zu].tool_calls: expected an array on an assistant message", i);
        break;
      }
      char *js = json_dumps(calls, JSON_COMPACT);
      if (!js) {
        rc = bad(p, AL_ENOMEM, "out of memory");
        break;
      }
      rc = al_buf_printf(&text, "%s{\"tool_calls\": %s}", text.len ? "\n" : "", js);
      free(js);
      if (rc) {
        rc = bad(p, rc, "messages[%zu] is too large", i);
        break;
      }
    }
    req->msgs[i].role = al_strdup(role);
    req->msgs[i].content = dup_n(text.data ? text.data : "", text.len);
    req->n_msgs = i + 1;
    if (!req->msgs[i].role || !req->msgs[i].content) {
      rc = bad(p, AL_ENOMEM, "out of memory");
      break;
    }
  }
  al_buf_cleanup(&text);
  return rc;
}

/* An optional integer field in [lo, hi]; absent leaves *out alone. */
static int int_field(pcx *p, const json_t *root, const char *name, long long lo, long long hi,
                     long long *out) {
  const json_t *v = json_object_get(root, name);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return bad(p, AL_EINVAL, "field '%s': expected an integer from %lld to %lld", name, lo, hi);
  *out = json_integer_value(v);
  return 0;
}

static int num_field(pcx *p, const json_t *root, const char *name, double lo, double hi,
                     bool lo_open, double *out) {
  const json_t *v = json_object_get(root, name);
  if (!v || json_is_null(v)) return 0;
  double d = json_is_number(v) ? json_number_value(v) : -1e300;
  if (!json_is_number(v) || d > hi || d < lo || (lo_open && d == lo))
    return bad(p, AL_EINVAL, "field '%s': expected a number from %g%s to %g", name, lo,
               lo_open ? " (exclusive)" : "", hi);
  *out = d;
  return 0;
}

static int parse_stop(pcx *p, const json_t *v, al_llama_request *req) {
  if (!v || json_is_null(v)) return 0;
  size_t n = json_is_string(v) ? 1 : json_is_array(v) ? json_array_size(v) : 0;
  if (!json_is_string(v) && !json_is_array(v))
    return bad(p, AL_EINVAL, "field 'stop': expected a string or an array of strings");
  if (n > AL_LLAMA_MAX_STOP)
    return bad(p, AL_ELIMIT, "field 'stop': more than %d strings", AL_LLAMA_MAX_STOP);
  req->stop = al_calloc(n ? n : 1, sizeof *req->stop);
  if (!req->stop) return bad(p, AL_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const json_t *s = json_is_string(v) ? v : json_array_get(v, i);
    if (!json_is_string(s) || json_string_length(s) == 0 ||
        json_string_length(s) > AL_LLAMA_MAX_STOP_BYTES)
      return bad(p, AL_EINVAL, "field 'stop': expected non-empty strings of at most %d bytes",
                 AL_LLAMA_MAX_STOP_BYTES);
    req->stop[i] = dup_n(json_string_value(s), json_string_length(s));
    if (!req->stop[i]) return bad(p, AL_ENOMEM, "out of memory");
    req->n_stop = i + 1;
  }
  return 0;
}

static int parse_schema(pcx *p, const json_t *v, al_llama_request *req) {
  if (!v || json_is_null(v)) return 0;
  /* The OpenAI wrapper {"name": ..., "schema": {...}, "strict": true} is accepted too. */
  const json_t *inner = json_object_get(v, "schema");
  if (inner && json_object_get(v, "name") && !json_object_get(v, "type")) v = inner;
  al_error se = {0};
  int rc = al_schema_to_gbnf_caps(v, p->caps, &req->grammar, &se);
  if (rc) return bad(p, rc, "field 'json_schema' %s", se.msg);
  return 0;
}

static int parse_fields(pcx *p, const json_t *root, al_llama_request *req) {
  long long ll;
  int rc = parse_messages(p, json_object_get(root, "messages"), req);
  if (rc) return rc;
  ll = AL_LLAMA_DEFAULT_MAX_TOKENS;
  if ((rc = int_field(p, root, "max_tokens", 1, AL_LLAMA_MAX_MAX_TOKENS, &ll))) return rc;
  req->max_tokens = (int)ll;
  if ((rc = num_field(p, root, "temperature", 0, 10, false, &req->temperature))) return rc;
  if ((rc = num_field(p, root, "top_p", 0, 1, true, &req->top_p))) return rc;
  ll = 0;
  if ((rc = int_field(p, root, "top_k", 0, 1000000, &ll))) return rc;
  req->top_k = (int)ll;
  const json_t *seed = json_object_get(root, "seed");
  if (seed && !json_is_null(seed)) {
    if (!json_is_integer(seed)) return bad(p, AL_EINVAL, "field 'seed': expected an integer");
    /* Any integer; folded to 32 bits, never LLAMA_DEFAULT_SEED (which means "random"). */
    uint32_t s = (uint32_t)((uint64_t)json_integer_value(seed) & 0xffffffffu);
    req->seed = s == 0xffffffffu ? 0xfffffffeu : s;
    req->has_seed = true;
  }
  ll = -1;
  if ((rc = int_field(p, root, "top_logprobs", 0, AL_MAX_TOP_LOGPROBS, &ll))) return rc;
  req->top_logprobs = (int)ll;
  if ((rc = parse_stop(p, json_object_get(root, "stop"), req))) return rc;
  const json_t *tools = json_object_get(root, "tools");
  if (tools && !json_is_null(tools)) {
    if (!json_is_array(tools)) return bad(p, AL_EINVAL, "field 'tools': expected an array");
    if (json_array_size(tools) > 0) {
      req->tools_json = json_dumps(tools, JSON_COMPACT);
      if (!req->tools_json) return bad(p, AL_ENOMEM, "out of memory");
    }
  }
  return parse_schema(p, json_object_get(root, "json_schema"), req);
}

int al_llama_request_parse(const char *line, size_t len, int lineno, al_llama_request *req,
                           al_error *err) {
  return al_llama_request_parse_caps(line, len, lineno, NULL, req, err);
}

int al_llama_request_parse_caps(const char *line, size_t len, int lineno,
                                const al_schema_caps *caps, al_llama_request *req, al_error *err) {
  pcx p = {.lineno = lineno, .caps = caps, .err = err};
  json_error_t je;
  json_t *root = NULL;
  int rc = 0;
  memset(req, 0, sizeof *req);
  req->temperature = 1.0;
  req->top_p = 1.0;
  req->top_logprobs = -1;
  root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    rc = al_error_at(err, AL_EPARSE, SRC, lineno, je.column > 0 ? je.column : 0,
                     "request is not JSON: %s", je.text);
    goto out;
  }
  if (!json_is_object(root)) {
    rc = bad(&p, AL_EINVAL, "request: expected a JSON object {\"id\": ..., \"messages\": [...]}");
    goto out;
  }
  const json_t *id = json_object_get(root, "id");
  if (!json_is_string(id) || json_string_length(id) == 0 ||
      json_string_length(id) > AL_LLAMA_MAX_ID_BYTES ||
      strlen(json_string_value(id)) != json_string_length(id)) {
    rc = bad(&p, AL_EINVAL, "field 'id': expected a non-empty string of at most %d bytes",
             AL_LLAMA_MAX_ID_BYTES);
    goto out;
  }
  req->id = al_strdup(json_string_value(id));
  if (!req->id) {
    rc = bad(&p, AL_ENOMEM, "out of memory");
    goto out;
  }
  rc = parse_fields(&p, root, req);
out:
  json_decref(root);
  if (rc) {
    char *keep = req->id;
    req->id = NULL;
    al_llama_request_cleanup(req);
    req->id = keep;
  }
  return rc;
}

void al_llama_request_cleanup(al_llama_request *req) {
  if (!req) return;
  al_free(req->id);
  for (size_t i = 0; i < req->n_msgs; i++) {
    al_free(req->msgs[i].role);
    al_free(req->msgs[i].content);
  }
  al_free(req->msgs);
  for (size_t i = 0; i < req->n_stop; i++)
    al_free(req->stop[i]);
  al_free(req->stop);
  free(req->tools_json); /* from json_dumps */
  al_free(req->grammar);
  memset(req, 0, sizeof *req);
}
