/* Non-streaming answers: the output pipeline over every choice of an upstream JSON answer.
 *
 * For each choice's text (chat: message.content and tool-call arguments; completions:
 * text): detectors run on the model's raw text (block / retry / redact / allow), redact
 * spans become placeholders, placeholders of reversible input stages are restored, and
 * schema stages check the final text (it must parse as JSON and validate). The strongest
 * verdict wins; the caller retries, blocks or sends the rewritten body. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "guard/guard_int.h"

int al_guard_error_body(al_buf *b, const char *type, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *o = json_pack("{s:{s:s, s:s, s:s}}", "error", "message", msg, "type", type, "code", code);
  if (!o) return AL_ENOMEM;
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!s) return AL_ENOMEM;
  al_buf_reset(b);
  int rc = al_buf_puts(b, s);
  free(s);
  return rc;
}

static void worse(gout_result *res, gact v, const char *det, const char *why) {
  if (v <= res->verdict) return;
  res->verdict = v;
  res->detector = det;
  snprintf(res->why, sizeof res->why, "%s", why);
}

/* One text: detectors, redaction, restore; the string node is rewritten in place. */
static int check_text(const gpipe *pipe, al_scanner *s, json_t *str, gmap *m, gfinds *all,
                      gout_result *res, const char *where, int *changed) {
  gfinds f = {0};
  al_buf b, r;
  int rc = 0;
  al_buf_init(&b, AL_GUARD_MAX_RESPONSE_BYTES * 2);
  al_buf_init(&r, AL_GUARD_MAX_RESPONSE_BYTES * 2);
  const char *text = json_string_value(str);
  size_t len = json_string_length(str);
  if (pipe->db) {
    gscan_ctx c = {pipe, &f};
    rc = al_scan(s, text, len, al_guard_on_finding, &c);
    if (!rc && f.oom) rc = AL_ENOMEM;
    for (size_t k = 0; !rc && k < f.n; k++) rc = al_gfinds_push(all, &f.v[k]);
    if (rc) goto out;
    const gfind *w = NULL;
    gact v = al_gfinds_verdict(&f, &w);
    if (v >= G_RETRY) {
      char why[160];
      snprintf(why, sizeof why, "%s found in %s", w->detector, where);
      worse(res, v, w->detector, why);
      goto out;
    }
  }
  rc = al_guard_redact(text, len, 0, &f, m, &b);
  if (!rc) rc = al_guard_restore(b.data ? b.data : "", b.len, m, &r);
  if (!rc && (r.len != len || memcmp(r.data ? r.data : "", text, len))) {
    *changed = 1;
    if (json_string_setn(str, r.data ? r.data : "", r.len)) rc = AL_ENOMEM;
  }
out:
  al_gfinds_cleanup(&f);
  al_buf_cleanup(&b);
  al_buf_cleanup(&r);
  return rc;
}

static void check_schemas(const gpipe *pipe, json_t *str, gout_result *res, const char *where) {
  json_t *doc = NULL;
  for (size_t i = 0; i < pipe->n; i++) {
    const gstage *st = &pipe->st[i];
    if (!st->schema) continue;
    char why[256] = "";
    if (!doc) doc = json_loadb(json_string_value(str), json_string_length(str), JSON_DECODE_ANY, NULL);
    if (!doc) {
      snprintf(why, sizeof why, "%s is not JSON (schema %s)", where, st->schema_path);
      worse(res, st->action, "schema", why);
      continue;
    }
    char reason[200] = "";
    int ok = al_schema_validate(st->schema, doc, reason, sizeof reason);
    if (ok != 1) {
      snprintf(why, sizeof why, "%s does not match schema %s: %s", where, st->schema_path,
               ok < 0 ? "validation error" : reason);
      worse(res, st->action, "schema", why);
    }
  }
  json_decref(doc);
}

/* The fast path (jfast.c): 1 when every text of the answer is located, found clean by the
 * detectors and left as it is by restore, so the answer goes out as it came; 0 when the
 * jansson path must decide (findings, placeholders to restore, an answer yajl gives up on);
 * AL_ENOMEM. Findings of a text are kept aside: the jansson path counts them again. */
static int clean_fast(const gpipe *pipe, al_scanner *s, int route, const char *body, size_t len,
                      const gmap *m) {
  gfast_texts t;
  gfinds f = {0};
  al_buf r;
  int rc = al_gfast_answer(route, body, len, &t);
  al_buf_init(&r, AL_GUARD_MAX_RESPONSE_BYTES * 2);
  if (rc != 1) goto out;
  for (size_t i = 0; i < t.n && rc == 1; i++) {
    if (pipe->db) {
      gscan_ctx c = {pipe, &f};
      al_gfinds_reset(&f);
      int sr = al_scan(s, t.v[i].text, t.v[i].len, al_guard_on_finding, &c);
      if (sr) rc = sr;
      else if (f.oom) rc = AL_ENOMEM;
      else if (f.n) rc = 0;
    }
    if (rc != 1 || !m->n) continue;
    al_buf_reset(&r);
    if (al_guard_restore(t.v[i].text, t.v[i].len, m, &r)) rc = AL_ENOMEM;
    else if (r.len != t.v[i].len || memcmp(r.data ? r.data : "", t.v[i].text, r.len)) rc = 0;
  }
out:
  al_gfast_texts_cleanup(&t);
  al_gfinds_cleanup(&f);
  al_buf_cleanup(&r);
  return rc;
}

int al_guard_output(const gpipe *pipe, al_scanner *s, int route, const char *body, size_t len,
                    gmap *m, gfinds *all, gout_result *res, char **out_body, size_t *out_len,
                    json_t **texts) {
  int rc = 0, changed = 0;
  *out_body = NULL;
  memset(res, 0, sizeof *res);
  if (!texts && !pipe->has_schema) {
    int fr = clean_fast(pipe, s, route, body, len, m);
    if (fr < 0) return fr;
    if (fr == 1) {
      res->verdict = G_ALLOW;
      res->unchanged = 1;
      return 0;
    }
  }
  size_t mark = 0;
  /* the tree dies below; with texts, its strings outlive it: then no arena */
  json_t *root = texts ? json_loadb(body, len, 0, NULL) : al_jarena_loadb(body, len, 0, NULL, &mark);
  json_t *choices = json_object_get(root, "choices");
  if (!json_is_object(root) || !json_is_array(choices)) {
    snprintf(res->why, sizeof res->why, "upstream answer is not a JSON object with choices");
    rc = AL_EPARSE;
    goto out;
  }
  if (texts) *texts = json_array();
  size_t i;
  json_t *c;
  json_array_foreach(choices, i, c) {
    char where[96];
    json_t *str = NULL;
    if (route == G_ROUTE_CHAT) {
      json_t *msg = json_object_get(c, "message");
      str = json_object_get(msg, "content");
      json_t *calls = json_object_get(msg, "tool_calls");
      size_t k;
      json_t *call;
      json_array_foreach(calls, k, call) {
        json_t *args = json_object_get(json_object_get(call, "function"), "arguments");
        if (!json_is_string(args)) continue;
        snprintf(where, sizeof where, "choices[%zu].tool_calls[%zu].arguments", i, k);
        if ((rc = check_text(pipe, s, args, m, all, res, where, &changed))) goto out;
      }
      snprintf(where, sizeof where, "choices[%zu].message.content", i);
    } else {
      str = json_object_get(c, "text");
      snprintf(where, sizeof where, "choices[%zu].text", i);
    }
    if (!json_is_string(str)) {
      if (pipe->has_schema) worse(res, G_RETRY, "schema", "answer has no text to validate");
      continue;
    }
    if ((rc = check_text(pipe, s, str, m, all, res, where, &changed))) goto out;
    if (pipe->has_schema) check_schemas(pipe, str, res, where);
    if (texts && *texts) json_array_append(*texts, str);
  }
  if (res->verdict < G_RETRY && !changed) {
    res->unchanged = 1;
  } else if (res->verdict < G_RETRY) {
    *out_body = json_dumps(root, JSON_COMPACT);
    if (!*out_body) rc = AL_ENOMEM;
    else *out_len = strlen(*out_body);
  }
out:
  if (texts) json_decref(root);
  else if (changed) al_jarena_release(root, mark);
  else al_jarena_drop(root, mark); /* only read: no walk to free it */
  return rc;
}
