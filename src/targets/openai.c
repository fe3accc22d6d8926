/* The `openai` target: OpenAI-compatible chat completions (llama.cpp's llama-server, vLLM,
 * Ollama, hosted APIs). Bytes only: the request body, a whole response, one SSE event.
 * Streaming content deltas become tokens with their arrival time; when the server returns
 * logprobs, each logprob entry is one token with its log-probability, its alternatives and
 * the entropy of the returned alternatives (renormalised). Tool calls are read whole from
 * a response, or assembled from streamed deltas by index. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/target.h"
#include "airlock/util.h"
#include "core/jarena.h"
#include "core/limits.h"

static const char *const keys[] = {"base_url", "unix_socket", "model", "api_key_env", "headers",
                                   "stream", "logprobs", "top_logprobs", "insecure", "ca_file",
                                   NULL};

static int parse_config(const al_ydoc *d, const json_t *n, const char *dir, al_target_config *c,
                        al_error *e) {
  int rc;
  const char *s = NULL;
  if ((rc = al_ydoc_get_str(d, e, n, "base_url", &s)) < 0) return rc;
  if (!s) return al_ydoc_err(d, e, n, AL_EPARSE, "an openai target needs 'base_url' (e.g. http://127.0.0.1:8080/v1)");
  if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
    return al_ydoc_err_member(d, e, n, "base_url", AL_EPARSE, "'base_url' must start with http:// or https://");
  size_t l = strlen(s);
  c->base_url = al_strndup(s, l && s[l - 1] == '/' ? l - 1 : l);
  s = NULL;
  if ((rc = al_ydoc_get_str(d, e, n, "unix_socket", &s)) < 0) return rc;
  if (s) c->unix_socket = al_strdup(s);
  s = NULL;
  if ((rc = al_ydoc_get_str(d, e, n, "model", &s)) < 0) return rc;
  c->model = al_strdup(s ? s : "default");
  s = NULL;
  if ((rc = al_ydoc_get_str(d, e, n, "api_key_env", &s)) < 0) return rc;
  if (s) c->api_key_env = al_strdup(s);
  s = NULL;
  if ((rc = al_ydoc_get_str(d, e, n, "ca_file", &s)) < 0) return rc;
  if (s) c->ca_file = al_strdup(s);
  json_t *h = json_object_get(n, "headers");
  if (h) {
    const char *k;
    json_t *v;
    if (!json_is_object(h)) return al_ydoc_err_member(d, e, n, "headers", AL_EPARSE, "'headers' must map names to values");
    json_object_foreach(h, k, v) {
      if (!json_is_string(v) || strpbrk(k, ":\r\n") || strpbrk(json_string_value(v), "\r\n"))
        return al_ydoc_err_member(d, e, h, k, AL_EPARSE, "header must be a name and a one-line string value");
    }
    c->headers = json_deep_copy(h);
  }
  if ((rc = al_ydoc_get_bool(d, e, n, "stream", &c->stream)) < 0) return rc;
  if ((rc = al_ydoc_get_bool(d, e, n, "logprobs", &c->logprobs)) < 0) return rc;
  if ((rc = al_ydoc_get_bool(d, e, n, "insecure", &c->insecure)) < 0) return rc;
  long long tl = 0;
  if ((rc = al_ydoc_get_int(d, e, n, "top_logprobs", 0, AL_MAX_TOP_LOGPROBS, &tl)) < 0) return rc;
  c->top_logprobs = (int)tl;
  if (tl > 0) c->logprobs = 1;
  return 0;
}

static int build_request(const al_target_config *c, const al_gen_request *r, al_buf *body,
                         al_buf *path) {
  int rc = 0;
  /* the case's messages as already dumped (for its id) go in as text, unless params name
   * "messages" themselves */
  const char *mtext = r->messages_json && !(r->params && json_object_get(r->params, "messages"))
                          ? r->messages_json : NULL;
  json_t *req = json_object();
  if (!req) return AL_ENOMEM;
  json_object_set_new(req, "model", json_string(c->model ? c->model : "default"));
  if (!mtext) json_object_set(req, "messages", (json_t *)r->messages);
  if (r->params) json_object_update(req, (json_t *)r->params);
  if (c->stream) {
    json_object_set_new(req, "stream", json_true());
    json_object_set_new(req, "stream_options", json_pack("{s:b}", "include_usage", 1));
  }
  if (c->logprobs) {
    json_object_set_new(req, "logprobs", json_true());
    if (c->top_logprobs > 0) json_object_set_new(req, "top_logprobs", json_integer(c->top_logprobs));
  }
  if (r->tools && json_array_size(r->tools)) json_object_set(req, "tools", (json_t *)r->tools);
  if (r->response_schema)
    json_object_set_new(req, "response_format",
                        json_pack("{s:s, s:{s:s, s:O, s:b}}", "type", "json_schema", "json_schema",
                                  "name", "response", "schema", r->response_schema, "strict", 1));
  char *s = json_dumps(req, JSON_COMPACT);
  if (!s) rc = AL_ENOMEM;
  if (!rc && mtext) { /* {"model":M, then ,"messages":[...], then the rest as jansson wrote it */
    char *m = json_dumps(json_object_get(req, "model"), JSON_COMPACT | JSON_ENCODE_ANY);
    size_t head = m ? strlen("{\"model\":") + strlen(m) : 0;
    if (!m || strncmp(s, "{\"model\":", 9) || strncmp(s + 9, m, strlen(m))) rc = AL_ENOMEM;
    if (!rc) rc = al_buf_append(body, s, head);
    if (!rc) rc = al_buf_puts(body, ",\"messages\":");
    if (!rc) rc = al_buf_puts(body, mtext);
    if (!rc) rc = al_buf_puts(body, s + head);
    free(m);
  } else if (!rc) {
    rc = al_buf_puts(body, s);
  }
  if (!rc) rc = al_buf_puts(path, "/chat/completions");
  free(s);
  json_decref(req);
  return rc;
}

/* Fill a token's logprob fields from one entry of logprobs.content. */
static void token_logprobs(al_token *t, const json_t *lp) {
  json_t *v = json_object_get(lp, "logprob");
  if (json_is_number(v)) {
    t->has_logprob = 1;
    t->logprob = json_number_value(v);
  }
  json_t *top = json_object_get(lp, "top_logprobs");
  size_t n = json_is_array(top) ? json_array_size(top) : 0;
  if (n > AL_MAX_TOP_LOGPROBS) n = AL_MAX_TOP_LOGPROBS;
  if (!n) return;
  t->top = al_calloc(n, sizeof *t->top);
  if (!t->top) return;
  double z = 0, h = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *a = json_array_get(top, i);
    const char *tx = json_string_value(json_object_get(a, "token"));
    t->top[i].text = al_strdup(tx ? tx : "");
    t->top[i].id = -1;
    json_t *id = json_object_get(a, "id");
    if (json_is_integer(id)) t->top[i].id = (int32_t)json_integer_value(id);
    t->top[i].logprob = json_number_value(json_object_get(a, "logprob"));
    z += exp(t->top[i].logprob);
    t->n_top++;
  }
  if (z > 0) {
    for (int i = 0; i < t->n_top; i++) {
      double p = exp(t->top[i].logprob) / z;
      if (p > 0) h -= p * log(p);
    }
    t->entropy = h;
  }
}

static void read_usage(const json_t *root, al_gen_output *o) {
  json_t *u = json_object_get(root, "usage");
  if (!json_is_object(u)) return;
  json_t *p = json_object_get(u, "prompt_tokens"), *c = json_object_get(u, "completion_tokens");
  if (json_is_integer(p)) o->prompt_tokens = (int)json_integer_value(p);
  if (json_is_integer(c)) o->completion_tokens = (int)json_integer_value(c);
}

static void read_model(const json_t *root, al_gen_output *o) {
  const char *m = json_string_value(json_object_get(root, "model"));
  if (m && !o->model[0]) snprintf(o->model, sizeof o->model, "%s", m);
}

static int parse_response(const al_target_config *c, const char *body, size_t len,
                          al_gen_output *o, al_error *e) {
  int rc = 0;
  json_error_t je;
  size_t mark;
  /* the tree dies at the end of this call: parsed into the arena (core/jarena.c) */
  json_t *root = al_jarena_loadb(body, len, 0, &je, &mark);
  if (!root) {
    al_jarena_release(NULL, mark);
    return al_error_set(e, AL_EPARSE, "response is not JSON: %s (line %d)", je.text, je.line);
  }
  json_t *ch = json_array_get(json_object_get(root, "choices"), 0);
  json_t *msg = json_object_get(ch, "message");
  if (!json_is_object(msg)) {
    rc = al_error_set(e, AL_EPARSE, "response has no choices[0].message");
    goto out;
  }
  json_t *content = json_object_get(msg, "content");
  if (!json_is_string(content) && !json_is_null(content) && content) {
    rc = al_error_set(e, AL_EPARSE, "choices[0].message.content is not a string");
    goto out;
  }
  int64_t now = al_now_ns();
  json_t *lpc = json_object_get(json_object_get(ch, "logprobs"), "content");
  if (json_is_array(lpc) && json_array_size(lpc)) {
    size_t i;
    json_t *lp;
    json_array_foreach(lpc, i, lp) {
      const char *tx = json_string_value(json_object_get(lp, "token"));
      al_token *t = al_gen_output_add_token(o, tx ? tx : "", tx ? strlen(tx) : 0, now);
      if (!t) {
        rc = AL_ENOMEM;
        goto out;
      }
      token_logprobs(t, lp);
    }
    /* the content is authoritative for the text */
    al_buf_reset(&o->text);
  }
  if (json_is_string(content) && (rc = al_buf_append(&o->text, json_string_value(content), json_string_length(content))))
    goto out;
  json_t *tc = json_object_get(msg, "tool_calls");
  if (json_is_array(tc) && json_array_size(tc)) {
    json_decref(o->tool_calls);
    o->tool_calls = json_deep_copy(tc); /* out of the arena */
  }
  const char *fr = json_string_value(json_object_get(ch, "finish_reason"));
  if (fr) snprintf(o->finish_reason, sizeof o->finish_reason, "%s", fr);
  read_usage(root, o);
  read_model(root, o);
  o->done = 1;
out:
  al_jarena_drop(root, mark); /* only read: tool calls were copied out */
  return rc;
}

/* Streamed tool calls arrive as deltas: {index, id?, function: {name?, arguments: "part"}}. */
static void tool_delta(al_gen_output *o, const json_t *deltas) {
  size_t i;
  json_t *d;
  if (!o->tool_acc) o->tool_acc = json_array();
  json_array_foreach(deltas, i, d) {
    json_t *ix = json_object_get(d, "index");
    size_t k = json_is_integer(ix) ? (size_t)json_integer_value(ix) : i;
    if (k > 128) continue;
    while (json_array_size(o->tool_acc) <= k)
      json_array_append_new(o->tool_acc, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", "", "type",
                                                   "function", "function", "name", "", "arguments", ""));
    json_t *acc = json_array_get(o->tool_acc, k), *fn = json_object_get(acc, "function");
    const char *id = json_string_value(json_object_get(d, "id"));
    if (id) json_object_set_new(acc, "id", json_string(id));
    json_t *df = json_object_get(d, "function");
    const char *name = json_string_value(json_object_get(df, "name"));
    if (name) json_object_set_new(fn, "name", json_string(name));
    const char *args = json_string_value(json_object_get(df, "arguments"));
    if (args) {
      const char *prev = json_string_value(json_object_get(fn, "arguments"));
      size_t pl = strlen(prev), al = strlen(args);
      if (pl + al < AL_MAX_RESPONSE_BYTES) {
        char *cat = al_malloc(pl + al + 1);
        if (cat) {
          memcpy(cat, prev, pl);
          memcpy(cat + pl, args, al + 1);
          json_object_set_new(fn, "arguments", json_string(cat));
          al_free(cat);
        }
      }
    }
  }
}

static int parse_event(const al_target_config *c, const char *data, size_t len, al_gen_output *o,
                       int64_t now, al_error *e) {
  int rc = 0;
  if (len == 6 && !memcmp(data, "[DONE]", 6)) {
    o->done = 1;
    if (o->tool_acc && json_array_size(o->tool_acc)) {
      json_decref(o->tool_calls);
      o->tool_calls = json_incref(o->tool_acc);
    }
    return 0;
  }
  json_error_t je;
  json_t *root = json_loadb(data, len, 0, &je);
  if (!root) return al_error_set(e, AL_EPARSE, "stream event is not JSON: %s", je.text);
  if (json_object_get(root, "error")) {
    const char *m = json_string_value(json_object_get(json_object_get(root, "error"), "message"));
    rc = al_error_set(e, AL_EPARSE, "error in stream: %s", m ? m : "(no message)");
    goto out;
  }
  read_model(root, o);
  read_usage(root, o);
  json_t *ch = json_array_get(json_object_get(root, "choices"), 0);
  if (!ch) goto out; /* usage-only chunk */
  json_t *delta = json_object_get(ch, "delta");
  const char *content = json_string_value(json_object_get(delta, "content"));
  json_t *lpc = json_object_get(json_object_get(ch, "logprobs"), "content");
  if (json_is_array(lpc) && json_array_size(lpc) && content) {
    /* one token per logprob entry; the entries' texts concatenate to the content */
    size_t i, used = 0, cl = strlen(content);
    json_t *lp;
    json_array_foreach(lpc, i, lp) {
      const char *tx = json_string_value(json_object_get(lp, "token"));
      size_t tl = tx ? strlen(tx) : 0;
      if (i + 1 == json_array_size(lpc) || used + tl > cl) tl = cl - used; /* keep text exact */
      al_token *t = al_gen_output_add_token(o, content + used, tl, now);
      if (!t) {
        rc = AL_ENOMEM;
        goto out;
      }
      used += tl;
      token_logprobs(t, lp);
    }
  } else if (content && *content) {
    if (!al_gen_output_add_token(o, content, strlen(content), now)) {
      rc = AL_ENOMEM;
      goto out;
    }
  }
  json_t *tcd = json_object_get(delta, "tool_calls");
  if (json_is_array(tcd)) tool_delta(o, tcd);
  const char *fr = json_string_value(json_object_get(ch, "finish_reason"));
  if (fr) snprintf(o->finish_reason, sizeof o->finish_reason, "%s", fr);
out:
  json_decref(root);
  return rc;
}

static int should_retry(int status, int transport) {
  if (transport) return 1;
  return status == 429 || status == 408 || (status >= 500 && status != 501 && status != 505);
}

static void error_message(const char *body, size_t len, char *out, size_t n) {
  json_t *root = json_loadb(body, len, 0, NULL);
  const char *m = json_string_value(json_object_get(json_object_get(root, "error"), "message"));
  if (!m) m = json_string_value(json_object_get(root, "error"));
  if (m) snprintf(out, n, "%s", m);
  else snprintf(out, n, "%.*s", (int)(len < 200 ? len : 200), body ? body : "");
  json_decref(root);
}

const al_target_ops al_target_openai = {
    .name = "openai",
    .description = "OpenAI-compatible chat completions over HTTP(S) or a unix socket",
    .transport = AL_TRANSPORT_HTTP,
    .keys = keys,
    .parse_config = parse_config,
    .build_request = build_request,
    .parse_response = parse_response,
    .parse_event = parse_event,
    .should_retry = should_retry,
    .error_message = error_message,
};
