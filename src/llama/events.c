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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/error.h"
#include "core/limits.h"

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

struct al_llama_token_writer {
  json_t *ev, *text, *token_id, *logprob, *entropy, *top;
  json_t *alt[AL_MAX_TOP_LOGPROBS], *alt_text[AL_MAX_TOP_LOGPROBS], *alt_id[AL_MAX_TOP_LOGPROBS],
      *alt_lp[AL_MAX_TOP_LOGPROBS];
  char *buf;
  size_t cap;
};

void al_llama_token_writer_free(al_llama_token_writer *w) {
  if (!w) return;
  json_decref(w->ev);
  json_decref(w->text);
  json_decref(w->token_id);
  json_decref(w->logprob);
  json_decref(w->entropy);
  json_decref(w->top);
  for (int i = 0; i < AL_MAX_TOP_LOGPROBS; i++) {
    json_decref(w->alt[i]);
    json_decref(w->alt_text[i]);
    json_decref(w->alt_id[i]);
    json_decref(w->alt_lp[i]);
  }
  free(w->buf);
  free(w);
}

al_llama_token_writer *al_llama_token_writer_new(void) {
  al_llama_token_writer *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->ev = json_object();
  w->text = json_string("");
  w->token_id = json_integer(0);
  w->logprob = json_real(0);
  w->entropy = json_real(0);
  w->top = json_array();
  bool ok = w->ev && w->text && w->token_id && w->logprob && w->entropy && w->top;
  for (int i = 0; ok && i < AL_MAX_TOP_LOGPROBS; i++) {
    w->alt[i] = json_object();
    w->alt_text[i] = json_string("");
    w->alt_id[i] = json_integer(0);
    w->alt_lp[i] = json_real(0);
    ok = w->alt[i] && w->alt_text[i] && w->alt_id[i] && w->alt_lp[i] &&
         json_object_set(w->alt[i], "text", w->alt_text[i]) == 0 &&
         json_object_set(w->alt[i], "token_id", w->alt_id[i]) == 0 &&
         json_object_set(w->alt[i], "logprob", w->alt_lp[i]) == 0;
  }
  /* key order of the line: id, type, text, token_id, logprob, entropy, top */
  ok = ok && json_object_set_new(w->ev, "id", json_string("")) == 0 &&
       json_object_set_new(w->ev, "type", json_string("token")) == 0 &&
       json_object_set(w->ev, "text", w->text) == 0 &&
       json_object_set(w->ev, "token_id", w->token_id) == 0 &&
       json_object_set(w->ev, "logprob", w->logprob) == 0 &&
       json_object_set(w->ev, "entropy", w->entropy) == 0;
  if (!ok) {
    al_llama_token_writer_free(w);
    return NULL;
  }
  return w;
}

/* Set a float member in place; non-finite values become null. */
static void set_num(json_t *obj, const char *key, json_t *real, double v) {
  if (isfinite(v)) {
    json_real_set(real, v);
    if (json_object_get(obj, key) != real) json_object_set(obj, key, real);
  } else {
    json_object_set_new(obj, key, json_null());
  }
}

static void set_str(json_t *s, const char *p, size_t n) {
  if (json_string_setn(s, p, n) != 0) json_string_set(s, ""); /* not UTF-8: cannot happen */
}

int al_llama_emit_token(FILE *f, al_llama_token_writer *w, const char *id,
                        const al_llama_token_event *ev) {
  json_t *jid = json_object_get(w->ev, "id");
  if (strcmp(json_string_value(jid), id) != 0) json_string_set(jid, id);
  set_str(w->text, ev->text, ev->text_len);
  json_integer_set(w->token_id, ev->token_id);
  set_num(w->ev, "logprob", w->logprob, ev->logprob);
  set_num(w->ev, "entropy", w->entropy, ev->entropy);
  int n_top = ev->n_top < AL_MAX_TOP_LOGPROBS ? ev->n_top : AL_MAX_TOP_LOGPROBS;
  if (n_top > 0) {
    json_array_clear(w->top);
    for (int i = 0; i < n_top; i++) {
      set_str(w->alt_text[i], ev->top_text[i], strlen(ev->top_text[i]));
      json_integer_set(w->alt_id[i], ev->top[i].token);
      set_num(w->alt[i], "logprob", w->alt_lp[i], ev->top[i].logprob);
      json_array_append(w->top, w->alt[i]);
    }
    if (json_object_get(w->ev, "top") != w->top) json_object_set(w->ev, "top", w->top);
  } else if (json_object_get(w->ev, "top")) {
    json_object_del(w->ev, "top");
  }
  size_t need = json_dumpb(w->ev, w->buf, w->cap, DUMP_FLAGS);
  if (need == 0) return AL_ENOMEM;
  if (need + 1 > w->cap) {
    char *nb = realloc(w->buf, need + 256);
    if (!nb) return AL_ENOMEM;
    w->buf = nb;
    w->cap = need + 256;
    need = json_dumpb(w->ev, w->buf, w->cap, DUMP_FLAGS);
  }
  w->buf[need] = '\n';
  if (fwrite(w->buf, 1, need + 1, f) != need + 1 || fflush(f) != 0) return AL_EIO;
  return 0;
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
  json_object_set_new(o, "finish_reason",
                      json_string(tool_calls ? "tool_calls" : r->finish_reason));
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
    json_t *call =
        fn ? json_pack("{s:s, s:s, s:o}", "id", cid, "type", "function", "function", fn) : NULL;
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
