/* Parsing and validation of a chat-completions request body for finbot.
 *
 * The body is parsed with jansson, then every field finbot understands is checked for type
 * and range; a problem becomes an OpenAI-style 400 with the field name in `param`. JSON
 * syntax errors carry the line and column jansson reports. Fields finbot does not use
 * (temperature, top_p, user, ...) are accepted when they have the right type, and ignored.
 *
 * What is kept: the first system/developer message (the prompt v1 leaks), the text of the
 * last user message (the one the intent table reads), and the content of the last tool
 * message that follows it (the result of a lookup_customer call). Message content may be a
 * string or an array of content parts; text parts are joined.
 */
#include <string.h>

#include "airlock/util.h"
#include "finbot/finbot.h"

#define BODY_NAME "request body"

static int bad(al_error *err, const char **param, const char *p, int code, const char *msg) {
  if (param) *param = p;
  return al_error_set(err, code, "%s", msg);
}

/* Text of a message's content: string, array of parts (text joined), or null (""). */
static int content_text(const json_t *content, al_buf *out, int *is_null) {
  *is_null = 0;
  if (!content || json_is_null(content)) {
    *is_null = 1;
    return 0;
  }
  if (json_is_string(content))
    return al_buf_append(out, json_string_value(content), json_string_length(content));
  if (!json_is_array(content)) return AL_EINVAL;
  size_t i;
  const json_t *part;
  json_array_foreach(content, i, part) {
    if (!json_is_object(part)) return AL_EINVAL;
    const json_t *type = json_object_get(part, "type");
    if (!json_is_string(type)) return AL_EINVAL;
    if (strcmp(json_string_value(type), "text") != 0) continue; /* images etc.: ignored */
    const json_t *text = json_object_get(part, "text");
    if (!json_is_string(text)) return AL_EINVAL;
    int rc = al_buf_append(out, json_string_value(text), json_string_length(text));
    if (rc) return rc;
  }
  return 0;
}

static int valid_role(const char *r) {
  static const char *const roles[] = {"system",    "developer", "user",
                                      "assistant", "tool",      "function"};
  for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
    if (strcmp(r, roles[i]) == 0) return 1;
  return 0;
}

static int parse_messages(fb_request *r, const json_t *msgs, al_error *err, const char **param) {
  int rc = 0;
  al_buf text;
  al_buf_init(&text, FB_MAX_BODY_BYTES);
  if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
    rc = bad(err, param, "messages", AL_EINVAL, "'messages' must be a non-empty array");
    goto out;
  }
  if (json_array_size(msgs) > FB_MAX_MESSAGES) {
    rc = bad(err, param, "messages", AL_ELIMIT, "too many messages (limit 1024)");
    goto out;
  }
  size_t i;
  const json_t *m;
  json_array_foreach(msgs, i, m) {
    if (!json_is_object(m)) {
      rc = al_error_set(err, AL_EINVAL, "messages[%zu] must be an object", i);
      if (param) *param = "messages";
      goto out;
    }
    const json_t *role = json_object_get(m, "role");
    if (!json_is_string(role) || !valid_role(json_string_value(role))) {
      rc = al_error_set(err, AL_EINVAL,
                        "messages[%zu].role must be one of system, developer, user, "
                        "assistant, tool",
                        i);
      if (param) *param = "messages";
      goto out;
    }
    const char *rs = json_string_value(role);
    int is_null = 0;
    al_buf_reset(&text);
    rc = content_text(json_object_get(m, "content"), &text, &is_null);
    if (rc == AL_ELIMIT || rc == AL_ENOMEM) goto out;
    if (rc || (is_null && strcmp(rs, "assistant") != 0)) {
      rc = al_error_set(err, AL_EINVAL,
                        "messages[%zu].content must be a string or an array of content parts", i);
      if (param) *param = "messages";
      goto out;
    }
    const char *t = text.data ? text.data : "";
    r->prompt_tokens += (long long)fb_tokenize(t, text.len, NULL, 0);
    if ((!strcmp(rs, "system") || !strcmp(rs, "developer")) && !r->system_prompt) {
      if (!(r->system_prompt = al_strndup(t, text.len))) goto nomem;
    } else if (!strcmp(rs, "user")) {
      al_free(r->last_user);
      al_free(r->tool_result);
      r->tool_result = NULL;
      if (!(r->last_user = al_strndup(t, text.len))) goto nomem;
    } else if (!strcmp(rs, "tool") || !strcmp(rs, "function")) {
      al_free(r->tool_result);
      if (!(r->tool_result = al_strndup(t, text.len))) goto nomem;
    }
  }
  if (!r->last_user && !(r->last_user = al_strdup(""))) goto nomem;
  goto out;
nomem:
  rc = al_error_set(err, AL_ENOMEM, "out of memory");
out:
  al_buf_cleanup(&text);
  return rc;
}

static int parse_tools(fb_request *r, const json_t *root, al_error *err, const char **param) {
  const json_t *tools = json_object_get(root, "tools");
  if (tools && !json_is_null(tools)) {
    if (!json_is_array(tools))
      return bad(err, param, "tools", AL_EINVAL, "'tools' must be an array");
    if (json_array_size(tools) > FB_MAX_TOOLS)
      return bad(err, param, "tools", AL_ELIMIT, "too many tools (limit 128)");
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t) {
      const json_t *fn = json_is_object(t) ? json_object_get(t, "function") : NULL;
      const json_t *name = json_is_object(fn) ? json_object_get(fn, "name") : NULL;
      const json_t *type = json_is_object(t) ? json_object_get(t, "type") : NULL;
      if (!json_is_string(type) || strcmp(json_string_value(type), "function") != 0 ||
          !json_is_string(name)) {
        al_error_set(err, AL_EINVAL,
                     "tools[%zu] must be {\"type\": \"function\", \"function\": {\"name\": ...}}",
                     i);
        if (param) *param = "tools";
        return AL_EINVAL;
      }
      if (strcmp(json_string_value(name), "lookup_customer") == 0) r->has_lookup_tool = 1;
    }
  }
  const json_t *choice = json_object_get(root, "tool_choice");
  if (choice && !json_is_null(choice)) {
    if (json_is_string(choice)) {
      const char *c = json_string_value(choice);
      if (strcmp(c, "none") && strcmp(c, "auto") && strcmp(c, "required"))
        return bad(err, param, "tool_choice", AL_EINVAL,
                   "'tool_choice' must be \"none\", \"auto\", \"required\" or an object");
      r->tool_choice_none = strcmp(c, "none") == 0;
    } else if (!json_is_object(choice)) {
      return bad(err, param, "tool_choice", AL_EINVAL,
                 "'tool_choice' must be \"none\", \"auto\", \"required\" or an object");
    }
  }
  return 0;
}

static int parse_format(fb_request *r, const json_t *root, al_error *err, const char **param) {
  const json_t *rf = json_object_get(root, "response_format");
  if (!rf || json_is_null(rf)) return 0;
  const json_t *type = json_is_object(rf) ? json_object_get(rf, "type") : NULL;
  if (!json_is_string(type))
    return bad(err, param, "response_format", AL_EINVAL,
               "'response_format' must be an object with a string 'type'");
  const char *t = json_string_value(type);
  if (!strcmp(t, "text")) return 0;
  if (!strcmp(t, "json_object")) {
    r->json_mode = FB_JSON_OBJECT;
    return 0;
  }
  if (!strcmp(t, "json_schema")) {
    const json_t *js = json_object_get(rf, "json_schema");
    if (!json_is_object(js))
      return bad(err, param, "response_format.json_schema", AL_EINVAL,
                 "'response_format.json_schema' must be an object");
    const json_t *schema = json_object_get(js, "schema");
    if (schema && !json_is_object(schema) && !json_is_boolean(schema))
      return bad(err, param, "response_format.json_schema.schema", AL_EINVAL,
                 "'response_format.json_schema.schema' must be an object");
    r->json_mode = FB_JSON_SCHEMA;
    r->schema = json_is_object(schema) ? schema : NULL;
    return 0;
  }
  return bad(err, param, "response_format.type", AL_EINVAL,
             "'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"");
}

/* Optional integer field: absent/null leaves *out; wrong type or range is an error. */
static int opt_int(const json_t *root, const char *key, long long lo, long long hi, long long *out,
                   int *present, al_error *err, const char **param) {
  const json_t *v = json_object_get(root, key);
  if (present) *present = 0;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
    if (param) *param = key;
    return al_error_set(err, AL_EINVAL, "'%s' must be an integer between %lld and %lld", key, lo,
                        hi);
  }
  *out = json_integer_value(v);
  if (present) *present = 1;
  return 0;
}

static int opt_bool(const json_t *root, const char *key, int *out, al_error *err,
                    const char **param) {
  const json_t *v = json_object_get(root, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_boolean(v)) {
    if (param) *param = key;
    return al_error_set(err, AL_EINVAL, "'%s' must be a boolean", key);
  }
  *out = json_is_true(v);
  return 0;
}

static int opt_number(const json_t *root, const char *key, double lo, double hi, al_error *err,
                      const char **param) {
  const json_t *v = json_object_get(root, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
    if (param) *param = key;
    return al_error_set(err, AL_EINVAL, "'%s' must be a number between %g and %g", key, lo, hi);
  }
  return 0;
}

int fb_request_parse(fb_request *r, const char *body, size_t len, al_error *err,
                     const char **param) {
  int rc = 0;
  memset(r, 0, sizeof *r);
  if (param) *param = NULL;
  if (len > FB_MAX_BODY_BYTES)
    return bad(err, param, NULL, AL_ELIMIT, "request body too large (limit 1 MiB)");
  json_error_t jerr;
  r->root = json_loadb(body ? body : "", len, 0, &jerr);
  if (!r->root)
    return al_error_at(err, AL_EPARSE, BODY_NAME, jerr.line > 0 ? jerr.line : 1,
                       jerr.column > 0 ? jerr.column : 1, "invalid JSON: %s", jerr.text);
  if (!json_is_object(r->root)) {
    rc = bad(err, param, NULL, AL_EINVAL, "the request body must be a JSON object");
    goto out;
  }
  const json_t *model = json_object_get(r->root, "model");
  if (model && !json_is_string(model)) {
    rc = bad(err, param, "model", AL_EINVAL, "'model' must be a string");
    goto out;
  }
  if ((rc = parse_messages(r, json_object_get(r->root, "messages"), err, param))) goto out;
  if ((rc = opt_bool(r->root, "stream", &r->stream, err, param))) goto out;
  if ((rc = opt_bool(r->root, "logprobs", &r->logprobs, err, param))) goto out;
  long long v = 0;
  int present = 0;
  if ((rc = opt_int(r->root, "top_logprobs", 0, FB_MAX_TOP_LOGPROBS, &v, &present, err, param)))
    goto out;
  if (present && v > 0 && !r->logprobs) {
    rc = bad(err, param, "top_logprobs", AL_EINVAL, "'top_logprobs' requires 'logprobs': true");
    goto out;
  }
  r->top_logprobs = (int)v;
  if ((rc = opt_int(r->root, "max_tokens", 1, 1LL << 40, &r->max_tokens, NULL, err, param)))
    goto out;
  if ((rc = opt_int(r->root, "max_completion_tokens", 1, 1LL << 40, &r->max_tokens, NULL, err,
                    param)))
    goto out;
  v = 1;
  if ((rc = opt_int(r->root, "n", 1, 128, &v, NULL, err, param))) goto out;
  if (v != 1) {
    rc = bad(err, param, "n", AL_EUNSUPPORTED, "finbot supports only 'n': 1");
    goto out;
  }
  v = 0;
  if ((rc = opt_int(r->root, "seed", INT64_MIN, INT64_MAX, &v, &r->has_seed, err, param))) goto out;
  r->seed = (uint64_t)v;
  if ((rc = opt_number(r->root, "temperature", 0, 2, err, param))) goto out;
  if ((rc = opt_number(r->root, "top_p", 0, 1, err, param))) goto out;
  const json_t *so = json_object_get(r->root, "stream_options");
  if (so && !json_is_null(so) && !json_is_object(so)) {
    rc = bad(err, param, "stream_options", AL_EINVAL, "'stream_options' must be an object");
    goto out;
  }
  if ((rc = parse_format(r, r->root, err, param))) goto out;
  if ((rc = parse_tools(r, r->root, err, param))) goto out;
out:
  if (rc) fb_request_cleanup(r);
  return rc;
}

void fb_request_cleanup(fb_request *r) {
  if (!r) return;
  json_decref(r->root);
  al_free(r->system_prompt);
  al_free(r->last_user);
  al_free(r->tool_result);
  memset(r, 0, sizeof *r);
}
