/* Client request bodies: parsing (jansson) and the input pipeline.
 *
 * A chat body is an object with "messages": an array of objects whose "content" is a
 * string or an array of parts ({"type":"text","text":...}); tool-call arguments of
 * assistant turns are text the model reads too. A completions body has "prompt": a string
 * or an array of strings. Every such string becomes a slot; the input pipeline scans each
 * slot on its own, blocks the request or rewrites the slot in place with placeholders.
 * Anything else in the body is passed on untouched. This is a parser of outside input:
 * it has a fuzz target (tests/fuzz/fuzz_guard_request.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "guard/guard_int.h"

void al_guard_request_cleanup(greq *r) {
  json_decref(r->root);
  al_free(r->slots);
  free(r->own);
  al_free(r->model_own);
  memset(r, 0, sizeof *r);
}

static int add_slot(greq *r, size_t *cap, json_t *str, const char *fmt, size_t a, size_t b) {
  if (r->n >= AL_GUARD_MAX_SLOTS) return AL_ELIMIT;
  if (r->n == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    gslot *v = al_realloc(r->slots, nc * sizeof *v);
    if (!v) return AL_ENOMEM;
    r->slots = v;
    *cap = nc;
  }
  gslot *s = &r->slots[r->n++];
  s->str = str;
  s->text = json_string_value(str);
  s->len = json_string_length(str);
  snprintf(s->where, sizeof s->where, fmt, a, b);
  return 0;
}

static int parse_chat(greq *r, size_t *cap, char *why, size_t wl) {
  json_t *msgs = json_object_get(r->root, "messages");
  if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
    snprintf(why, wl, "'messages' must be a non-empty array");
    return AL_EPARSE;
  }
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m) {
    if (!json_is_object(m)) {
      snprintf(why, wl, "messages[%zu] must be an object", i);
      return AL_EPARSE;
    }
    json_t *c = json_object_get(m, "content");
    int rc = 0;
    if (json_is_string(c)) {
      rc = add_slot(r, cap, c, "messages[%zu].content", i, 0);
    } else if (json_is_array(c)) {
      size_t k;
      json_t *part;
      json_array_foreach(c, k, part) {
        json_t *t = json_object_get(part, "text");
        if (json_is_string(t)) rc = add_slot(r, cap, t, "messages[%zu].content[%zu].text", i, k);
        if (rc) break;
      }
    } else if (c && !json_is_null(c)) {
      snprintf(why, wl, "messages[%zu].content must be a string, an array of parts or null", i);
      return AL_EPARSE;
    }
    json_t *calls = json_object_get(m, "tool_calls");
    if (!rc && json_is_array(calls)) {
      size_t k;
      json_t *call;
      json_array_foreach(calls, k, call) {
        json_t *args = json_object_get(json_object_get(call, "function"), "arguments");
        if (json_is_string(args)) rc = add_slot(r, cap, args, "messages[%zu].tool_calls[%zu].arguments", i, k);
        if (rc) break;
      }
    }
    if (rc) {
      snprintf(why, wl, "%s", rc == AL_ELIMIT ? "too many text fields in one request" : "out of memory");
      return rc;
    }
  }
  return 0;
}

static int parse_completions(greq *r, size_t *cap, char *why, size_t wl) {
  json_t *p = json_object_get(r->root, "prompt");
  int rc = 0;
  if (json_is_string(p)) {
    rc = add_slot(r, cap, p, "prompt%.0zu%.0zu", 0, 0);
  } else if (json_is_array(p) && json_array_size(p) > 0) {
    size_t i;
    json_t *s;
    json_array_foreach(p, i, s) {
      if (!json_is_string(s)) {
        snprintf(why, wl, "prompt[%zu] must be a string (token arrays are not accepted by the guard)", i);
        return AL_EPARSE;
      }
      if ((rc = add_slot(r, cap, s, "prompt[%zu]%.0zu", i, 0))) break;
    }
  } else {
    snprintf(why, wl, "'prompt' must be a string or a non-empty array of strings");
    return AL_EPARSE;
  }
  if (rc) snprintf(why, wl, "%s", rc == AL_ELIMIT ? "too many prompts in one request" : "out of memory");
  return rc;
}

/* The jansson path: every body the fast path gives up on, and the words of every error. */
static int parse_tree(int route, const char *body, size_t len, greq *out, char *why, size_t wl) {
  json_error_t je;
  size_t cap = 0;
  int rc = 0;
  memset(out, 0, sizeof *out);
  out->route = route;
  out->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
  if (!out->root) {
    snprintf(why, wl, "body is not valid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    return AL_EPARSE;
  }
  if (!json_is_object(out->root)) {
    snprintf(why, wl, "body must be a JSON object");
    rc = AL_EPARSE;
    goto out;
  }
  json_t *model = json_object_get(out->root, "model"), *stream = json_object_get(out->root, "stream");
  if (!json_is_string(model)) {
    snprintf(why, wl, "'model' must be a string");
    rc = AL_EPARSE;
    goto out;
  }
  out->model = json_string_value(model);
  if (stream && !json_is_boolean(stream) && !json_is_null(stream)) {
    snprintf(why, wl, "'stream' must be true or false");
    rc = AL_EPARSE;
    goto out;
  }
  out->stream = json_is_true(stream);
  json_t *n = json_object_get(out->root, "n");
  out->has_n = json_is_integer(n);
  out->n_value = out->has_n ? json_integer_value(n) : 0;
  rc = route == G_ROUTE_CHAT ? parse_chat(out, &cap, why, wl) : parse_completions(out, &cap, why, wl);
out:
  if (rc) al_guard_request_cleanup(out);
  return rc;
}

int al_guard_request_parse(int route, const char *body, size_t len, greq *out, char *why, size_t wl) {
  memset(out, 0, sizeof *out);
  int rc = al_gfast_request(route, body, len, out);
  if (rc == 1) {
    out->route = route;
    return 0;
  }
  if (rc) {
    snprintf(why, wl, "out of memory");
    return rc;
  }
  return parse_tree(route, body, len, out, why, wl);
}

int al_guard_request_tree(greq *r) {
  greq t;
  char why[64];
  int rc = 0;
  if (r->root) return 0;
  /* the fast path accepted these bytes only where jansson accepts them, slot for slot */
  if ((rc = parse_tree(r->route, r->body, r->body_len, &t, why, sizeof why))) return rc == AL_ENOMEM ? rc : AL_ESTATE;
  if (t.n != r->n) {
    rc = AL_ESTATE;
    goto out;
  }
  for (size_t i = 0; i < r->n; i++) {
    r->slots[i].str = t.slots[i].str;
    r->slots[i].text = t.slots[i].text;
    r->slots[i].len = t.slots[i].len;
  }
  r->root = t.root;
  t.root = NULL;
  r->model = json_string_value(json_object_get(r->root, "model"));
out:
  al_guard_request_cleanup(&t);
  return rc;
}

int al_guard_input(const gpipe *pipe, al_scanner *s, greq *r, gmap *m, gfinds *all,
                   const gfind **blocked, const char **blocked_where, int *changed, gscache *cache) {
  gfinds f = {0};
  al_buf b;
  int rc = 0;
  *blocked = NULL;
  *changed = 0;
  al_buf_init(&b, AL_GUARD_MAX_REQUEST_BYTES * 2);
  if (!pipe->db) goto out;
  for (size_t i = 0; i < r->n && !rc; i++) {
    const char *text = r->slots[i].text;
    size_t len = r->slots[i].len;
    uint64_t h = 0;
    if (cache && al_gscache_clean(cache, text, len, &h)) continue; /* seen, and clean */
    gscan_ctx c = {pipe, &f};
    al_gfinds_reset(&f);
    rc = al_scan(s, text, len, al_guard_on_finding, &c);
    if (!rc && f.oom) rc = AL_ENOMEM;
    if (rc) break;
    if (cache && !f.n) {
      al_gscache_put(cache, text, len, h);
      continue;
    }
    size_t first = all->n;
    for (size_t k = 0; k < f.n && !rc; k++) rc = al_gfinds_push(all, &f.v[k]);
    if (rc) break;
    const gfind *w = NULL;
    if (al_gfinds_verdict(&f, &w) == G_BLOCK) {
      *blocked = &all->v[first + (size_t)(w - f.v)];
      *blocked_where = r->slots[i].where;
      break;
    }
    int any = 0;
    for (size_t k = 0; k < f.n; k++) any |= f.v[k].action == G_REDACT;
    if (!any) continue;
    al_buf_reset(&b);
    rc = al_guard_redact(text, len, 0, &f, m, &b);
    if (!rc) rc = al_guard_request_tree(r);
    if (rc) break;
    json_t *str = r->slots[i].str;
    if (json_string_setn(str, b.data ? b.data : "", b.len)) rc = AL_ENOMEM;
    r->slots[i].text = json_string_value(str);
    r->slots[i].len = json_string_length(str);
    *changed = 1;
  }
out:
  al_gfinds_cleanup(&f);
  al_buf_cleanup(&b);
  return rc;
}
