/* Writing exec-protocol events (see events.h).
 *
 * Objects are built with jansson and dumped straight to the stream (json_dumpf), so no
 * intermediate string is allocated per token. The strings handed in are valid UTF-8 by
 * construction (text.c sanitises every token piece); should one not be, jansson refuses it
 * and the event carries an empty string rather than failing the request.
 */
#include "llama/events.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "airlock/error.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(7))

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *str_n(const char *s, size_t n) {
  json_t *j = json_stringn(s, n);
  return j ? j : json_string("");
}

static int write_line(FILE *f, json_t *o) {
  int rc = 0;
  if (!o) return AL_ENOMEM;
  if (json_dumpf(o, f, DUMP_FLAGS) != 0 || fputc('\n', f) == EOF || fflush(f) != 0) rc = AL_EIO;
  json_decref(o);
  return rc;
}

int al_llama_emit_ready(FILE *f, const al_llama_engine *e) {
  json_t *o = json_object();
  if (!o) return AL_ENOMEM;
  json_object_set_new(o, "type", json_string("ready"));
  json_object_set_new(o, "model", json_string(al_llama_engine_model_name(e)));
  json_object_set_new(o, "n_ctx", json_integer(al_llama_engine_n_ctx(e)));
  json_object_set_new(o, "n_vocab", json_integer(al_llama_engine_n_vocab(e)));
  json_object_set_new(o, "chat_template", json_string(al_llama_engine_template(e)));
  return write_line(f, o);
}

int al_llama_emit_token(FILE *f, const char *id, const al_llama_token_event *ev) {
  json_t *o = json_object();
  if (!o) return AL_ENOMEM;
  json_object_set_new(o, "id", json_string(id));
  json_object_set_new(o, "type", json_string("token"));
  json_object_set_new(o, "text", str_n(ev->text, ev->text_len));
  json_object_set_new(o, "token_id", json_integer(ev->token_id));
  json_object_set_new(o, "logprob", num(ev->logprob));
  json_object_set_new(o, "entropy", num(ev->entropy));
  if (ev->n_top > 0) {
    json_t *top = json_array();
    for (int i = 0; top && i < ev->n_top; i++) {
      json_t *a = json_object();
      if (!a) break;
      json_object_set_new(a, "text", str_n(ev->top_text[i], strlen(ev->top_text[i])));
      json_object_set_new(a, "token_id", json_integer(ev->top[i].token));
      json_object_set_new(a, "logprob", num(ev->top[i].logprob));
      json_array_append_new(top, a);
    }
    json_object_set_new(o, "top", top ? top : json_null());
  }
  return write_line(f, o);
}

int al_llama_emit_done(FILE *f, const char *id, const char *model, const al_llama_result *r,
                       const void *tool_calls) {
  json_t *o = json_object(), *usage = json_object(), *timing = json_object();
  if (!o || !usage || !timing) {
    json_decref(o);
    json_decref(usage);
    json_decref(timing);
    return AL_ENOMEM;
  }
  json_object_set_new(o, "id", json_string(id));
  json_object_set_new(o, "type", json_string("done"));
  json_object_set_new(o, "text", str_n(r->text ? r->text : "", r->text_len));
  json_object_set_new(o, "finish_reason", json_string(tool_calls ? "tool_calls" : r->finish_reason));
  json_object_set_new(usage, "prompt_tokens", json_integer(r->prompt_tokens));
  json_object_set_new(usage, "completion_tokens", json_integer(r->completion_tokens));
  json_object_set_new(o, "usage", usage);
  json_object_set_new(o, "model", json_string(model));
  if (tool_calls) json_object_set(o, "tool_calls", (json_t *)tool_calls);
  json_object_set_new(timing, "prompt_ms", num(r->prompt_ms));
  json_object_set_new(timing, "gen_ms", num(r->gen_ms));
  json_object_set_new(timing, "tokens_per_s",
                      num(r->gen_ms > 0 ? r->completion_tokens * 1000.0 / r->gen_ms : 0));
  json_object_set_new(o, "timing", timing);
  return write_line(f, o);
}

int al_llama_emit_error(FILE *f, const char *id, const char *message) {
  json_t *o = json_object();
  if (!o) return AL_ENOMEM;
  json_object_set_new(o, "id", id ? json_string(id) : json_null());
  json_object_set_new(o, "type", json_string("error"));
  json_object_set_new(o, "message", str_n(message, strlen(message)));
  return write_line(f, o);
}

void *al_llama_parse_tool_calls(const char *text, size_t len) {
  json_t *root = json_loadb(text, len, 0, NULL);
  json_t *calls = json_object_get(root, "tool_calls");
  json_t *out = NULL;
  if (!json_is_array(calls) || json_array_size(calls) == 0) goto done;
  out = json_array();
  size_t i;
  json_t *c;
  json_array_foreach(calls, i, c) {
    const char *name = json_string_value(json_object_get(c, "name"));
    json_t *args = json_object_get(c, "arguments");
    if (!name || !out) {
      json_decref(out);
      out = NULL;
      goto done;
    }
    char *a = args ? json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char cid[32];
    snprintf(cid, sizeof cid, "call_%zu", i + 1);
    json_t *fn = json_pack("{s:s, s:s}", "name", name, "arguments", a ? a : "{}");
    free(a);
    json_t *call = fn ? json_pack("{s:s, s:s, s:o}", "id", cid, "type", "function", "function", fn) : NULL;
    if (!call) {
      json_decref(out);
      out = NULL;
      goto done;
    }
    json_array_append_new(out, call);
  }
done:
  json_decref(root);
  return out;
}
