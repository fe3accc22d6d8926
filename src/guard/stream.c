/* Streaming answers: upstream SSE in, scanned and re-framed SSE out.
 *
 * Upstream bytes go through the SSE parser (al_sse); each chunk's text delta (chat:
 * choices[0].delta.content, completions: choices[0].text) is appended to a held buffer and
 * fed to a scan stream (in batches of AL_GUARD_STREAM_SCAN_BATCH bytes until the held text
 * is long enough for a release, then at every delta: the release point below does not
 * move, a block finding may end the stream up to a batch later). Text is released to the
 * client only up to
 *
 *     min(al_scan_stream_safe_offset, position - window)
 *
 * (no detectors: the position), never inside a known redact span (it waits for the whole
 * span, then sends the placeholder), never ending inside what may be a placeholder
 * ("[EMA..."), so that reversible placeholders are restored whole. Each release becomes one
 * chunk of the same shape as upstream's (id, model, created copied from upstream). A block
 * finding ends the stream with an error event and [DONE] and nothing of the offending
 * text is sent. Tool-call deltas are held whole until the end, scanned in one piece, and
 * then passed on as they came (less any text content of the same event, which went out as
 * text). Only choice index 0 is supported (the guard refuses n > 1
 * with stream).
 *
 * Every event's JSON is parsed by jansson, but most events only in part: consecutive text
 * chunks of one stream are byte-identical except for the text's string literal (servers
 * repeat id, created, model). From a plain text event parsed whole, a template is learned:
 * the bytes P before the text's literal and Q after it, verified once by parsing P, a probe
 * literal and Q (the probe must land in the text's place and nowhere else). A later event
 * that starts with P and ends with Q is then that event with another text, so only its
 * middle is parsed (it must be one JSON string) and handled as the text delta; anything
 * else is parsed whole as before (details above by_template). al_gstream_set_template
 * switches this off (AIRLOCK_GUARD_NO_TEMPLATE in server.c), for tests to compare. This
 * file parses outside input: fuzz target tests/fuzz/fuzz_guard_sse.c (runs both paths). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "audit/jsonout.h"
#include "guard/guard_int.h"
#include "scan/limits.h" /* AL_SCAN_CTX: verify context beyond the holdback */

struct gstream {
  const gpipe *pipe;
  al_scanner *s;
  int route;
  size_t window, max_bytes;
  gmap *m;
  gfinds *all;
  gstream_emit emit;
  gstream_token token;
  void *ud;
  al_sse sse;
  al_scan_stream *ss;
  gfinds f;           /* this stream's findings not yet applied */
  al_buf held;        /* text [held_base, pos) not yet released */
  uint64_t held_base, pos;
  uint64_t fed;       /* text [0, fed) was fed to the scan stream (fed >= held_base) */
  uint64_t lag;       /* held text reaching this length can be released once scanned */
  size_t batch;       /* while it cannot, text is scanned every batch bytes */
  al_buf text;        /* every text delta (bounded), for the audit log */
  al_buf tools;       /* raw tool-call chunk events, held to the end */
  al_buf tool_text;   /* their arguments, scanned at the end */
  al_buf tail;        /* raw chunks with usage / no choices, sent at the end */
  char id[128], model[128];
  json_int_t created;
  char finish[32];
  int role_sent, blocked, done, failed;
  const char *blocked_by;
  al_buf prefix;      /* `data: {"id":..,"choices":[{"index":0,"delta":{"content":` */
  al_buf line;        /* scratch for one re-framed chunk */
  al_buf red, res;    /* scratch of release(): redacted, then restored text */
  /* the template (by_template, learn) */
  int tpl_on;         /* templates may be learned and used */
  al_buf tpl;         /* P then Q of the current template; empty: none */
  size_t tpl_p;       /* length of P */
  uint64_t tpl_hits;  /* events the current template served */
  unsigned tpl_vain;  /* probe parses that gave no template serving an event */
  uint64_t fast;      /* events handled by a template (al_gstream_fast_events) */
};

/* Scan-stream findings: kept in g->f until applied, copied to the request's list. */
static int on_stream_finding(const al_finding *f, void *ud) {
  gstream *g = ud;
  size_t before = g->f.n;
  gscan_ctx c = {g->pipe, &g->f};
  int stop = al_guard_on_finding(f, &c);
  if (g->f.n > before && al_gfinds_push(g->all, &g->f.v[before])) g->f.oom = 1;
  return stop;
}

static int emit_str(gstream *g, const char *s) { return g->emit(s, strlen(s), g->ud); }

static int emit_json(gstream *g, json_t *o) {
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!s) return AL_ENOMEM;
  int rc = emit_str(g, "data: ");
  if (!rc) rc = emit_str(g, s);
  if (!rc) rc = emit_str(g, "\n\n");
  free(s);
  return rc;
}

static json_t *chunk(gstream *g, json_t *choice) {
  return json_pack("{s:s, s:s, s:I, s:s, s:[o]}", "id", g->id[0] ? g->id : "airlock-stream", "object",
                   g->route == G_ROUTE_CHAT ? "chat.completion.chunk" : "text_completion", "created",
                   g->created, "model", g->model, "choices", choice);
}

/* A text chunk is the hot path of streaming: its JSON is written directly (the escaper
 * always yields valid UTF-8) around a prefix built once per stream from jansson output. */
static int emit_text(gstream *g, const char *t, size_t n) {
  int rc = 0;
  if (!g->prefix.len) {
    json_t *c = g->route == G_ROUTE_CHAT ? json_pack("{s:i, s:{s:s}}", "index", 0, "delta", "content", "")
                                         : json_pack("{s:i, s:s}", "index", 0, "text", "");
    json_t *o = c ? chunk(g, c) : NULL;
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    /* the dump ends with `""}}]}` (chat) or `""}]}` (completions): keep what precedes "" */
    const char *tail = g->route == G_ROUTE_CHAT ? "\"\"}}]}" : "\"\"}]}";
    size_t sl = s ? strlen(s) : 0, tl = strlen(tail);
    if (!s || sl < tl || strcmp(s + sl - tl, tail)) rc = AL_ENOMEM;
    if (!rc) rc = al_buf_puts(&g->prefix, "data: ");
    if (!rc) rc = al_buf_append(&g->prefix, s, sl - tl);
    free(s);
    if (rc) return rc;
  }
  al_buf_reset(&g->line);
  rc = al_buf_append(&g->line, g->prefix.data, g->prefix.len);
  if (!rc) rc = al_json_put_str(&g->line, t, n);
  if (!rc) rc = al_buf_puts(&g->line, g->route == G_ROUTE_CHAT ? "},\"finish_reason\":null}]}\n\n"
                                                             : ",\"finish_reason\":null}]}\n\n");
  if (!rc) rc = g->emit(g->line.data, g->line.len, g->ud);
  return rc;
}

static int end_with_error(gstream *g, const char *type, const char *code, const char *msg) {
  al_buf b;
  al_buf_init(&b, 4096);
  int rc = al_guard_error_body(&b, type, code, "%s", msg);
  if (!rc) rc = emit_str(g, "data: ");
  if (!rc) rc = g->emit(b.data, b.len, g->ud);
  if (!rc) rc = emit_str(g, "\n\ndata: [DONE]\n\n");
  al_buf_cleanup(&b);
  g->done = 1;
  return rc;
}

static int block(gstream *g, const char *detector) {
  char msg[256];
  g->blocked = 1;
  g->blocked_by = detector;
  snprintf(msg, sizeof msg, "output blocked by policy: %s", detector);
  int rc = end_with_error(g, "airlock_policy", "output_blocked", msg);
  return rc ? rc : AL_EINTEGRITY;
}

/* Looks at findings that arrived; a block ends the stream. */
static int check_findings(gstream *g) {
  if (g->f.oom) return AL_ENOMEM;
  for (size_t i = 0; i < g->f.n; i++)
    if (g->f.v[i].action >= G_RETRY) return block(g, g->f.v[i].detector);
  return 0;
}

static int release(gstream *g, int final) {
  uint64_t safe = g->pos;
  if (!final && g->ss) {
    uint64_t so = al_scan_stream_safe_offset(g->ss);
    uint64_t win = g->pos > g->window ? g->pos - g->window : 0;
    safe = so < win ? so : win;
  }
  for (size_t i = 0; i < g->f.n; i++) {
    gfind *x = &g->f.v[i];
    if (x->action == G_REDACT && x->start < safe && x->end > safe) safe = x->end <= g->pos ? x->end : x->start;
  }
  if (safe > g->pos) safe = g->pos;
  if (safe <= g->held_base) return 0;
  size_t n = (size_t)(safe - g->held_base);
  if (!final) n -= al_guard_partial_placeholder(g->held.data, n);
  if (n == 0) return 0;
  int rc = 0;
  if (!g->f.n && !g->m->n) { /* nothing to redact or restore: the text as it came */
    rc = emit_text(g, g->held.data, n);
  } else {
    al_buf *red = &g->red, *res = &g->res;
    al_buf_reset(red);
    al_buf_reset(res);
    rc = al_guard_redact(g->held.data, n, g->held_base, &g->f, g->m, red);
    if (!rc) rc = al_guard_restore(red->data ? red->data : "", red->len, g->m, res);
    if (!rc && res->len) rc = emit_text(g, res->data, res->len);
  }
  if (rc) return rc;
  uint64_t upto = g->held_base + n;
  size_t k = 0; /* drop findings wholly released */
  for (size_t i = 0; i < g->f.n; i++)
    if (g->f.v[i].end > upto) g->f.v[k++] = g->f.v[i];
  g->f.n = k;
  al_buf_consume(&g->held, n);
  g->held_base = upto;
  return 0;
}

/* Held text not yet scanned goes to the scan stream. */
static int feed(gstream *g) {
  size_t off = (size_t)(g->fed - g->held_base), n = (size_t)(g->pos - g->fed);
  g->fed = g->pos;
  return n ? al_scan_stream_feed(g->ss, g->held.data + off, n) : 0;
}

static int on_text(gstream *g, const char *t, size_t n) {
  if (n == 0) return 0;
  if (g->pos + n > g->max_bytes) {
    g->failed = 1;
    end_with_error(g, "airlock_upstream", "upstream_response_too_large", "the model's answer passed the guard's size limit");
    return AL_ELIMIT;
  }
  if (g->token) g->token(t, n, g->ud);
  int rc = al_buf_append(&g->text, t, n);
  if (!rc) rc = al_buf_append(&g->held, t, n);
  if (rc) return rc;
  g->pos += n;
  if (!g->ss) return release(g, 0);
  /* scanned in batches while nothing can be released yet (the release point is the same) */
  if (g->pos - g->fed < g->batch && g->pos - g->held_base < g->lag) return 0;
  if ((rc = feed(g))) return rc;
  if ((rc = check_findings(g))) return rc;
  return release(g, 0);
}

static void take_meta(gstream *g, json_t *o) {
  const char *id = json_string_value(json_object_get(o, "id"));
  const char *model = json_string_value(json_object_get(o, "model"));
  json_t *created = json_object_get(o, "created");
  if (id && !g->id[0]) snprintf(g->id, sizeof g->id, "%s", id);
  if (model && !g->model[0]) snprintf(g->model, sizeof g->model, "%s", model);
  if (json_is_integer(created) && !g->created) g->created = json_integer_value(created);
}

static int finish(gstream *g);

/* Keeps an event for later as one compact JSON line (compact JSON has no raw newline). */
static int hold_event(al_buf *b, json_t *o) {
  char *s = json_dumps(o, JSON_COMPACT);
  if (!s) return AL_ENOMEM;
  int rc = al_buf_puts(b, s);
  if (!rc) rc = al_buf_putc(b, '\n');
  free(s);
  return rc;
}

/* The template fast path. Why an event E = P M Q, with M one JSON string literal (jansson
 * says so, parsing M alone), is the template's event T = P L Q with L's text replaced by
 * M's: jansson's lexer reads P the same way in both (whatever follows P starts a new token
 * in both: a quote, or whitespace before it), then M or L as one string token, then Q from
 * its start in both. So the token sequences differ in that one string token only, and the
 * trees in the place it lands only. That place is the text's (choices[0].delta.content or
 * choices[0].text) because learn() parsed P V Q with a probe literal V whose value, a run
 * of more 'p's than P or Q has bytes, no other token of the event can equal or swallow
 * (a token that swallowed V's quotes would hold an escaped quote), and found the tree
 * equal to T's with V at the text's place. Replacing one string value cannot add a key, an
 * error or a role, nor change the choice, finish_reason, tool calls, id, model or created,
 * so the full path would only have called on_text with M's text (take_meta did its work on
 * T and finds the same values again). */

/* The text node of a plain text event (nothing else of it has an effect once take_meta has
 * seen it): finish_reason not a string; chat: delta without role or tool-call array, content
 * a string; completions: text a string. *parent receives the object holding it. The
 * caller has checked the rest (one choice, index 0, no error). */
static json_t *plain_text(const gstream *g, json_t *o, json_t **parent) {
  json_t *c = json_array_get(json_object_get(o, "choices"), 0);
  if (!json_is_object(c) || json_is_string(json_object_get(c, "finish_reason"))) return NULL;
  json_t *p = c;
  if (g->route == G_ROUTE_CHAT) {
    p = json_object_get(c, "delta");
    if (json_object_get(p, "role") || json_is_array(json_object_get(p, "tool_calls"))) return NULL;
  }
  json_t *t = json_object_get(p, g->route == G_ROUTE_CHAT ? "content" : "text");
  if (!json_is_string(t)) return NULL;
  *parent = p;
  return t;
}

/* Event data = P M Q of the current template? Returns 1 when the event was handled as the
 * template's text delta (*rc: on_text's result), 0 when it does not start with P and end
 * with Q (or there is no template), -1 when it does but M is not one JSON string (then the
 * full path parses the event, which may be anything). An M that is a quote, printable
 * ASCII without backslash or quote, and a quote is one string token whose value is those
 * bytes (what jansson would return): it is taken without a parse. */
static int by_template(gstream *g, const char *data, size_t len, int *rc) {
  size_t np = g->tpl_p, nq = g->tpl.len - g->tpl_p;
  if (!g->tpl.len || len < np + nq + 2 || memcmp(data, g->tpl.data, np) ||
      memcmp(data + len - nq, g->tpl.data + np, nq))
    return 0;
  const char *lit = data + np;
  size_t ll = len - np - nq, k = 1;
  /* a literal of printable ASCII with no backslash and no inner quote is its own value
   * (RFC 8259, section 7): no parse; anything else goes to jansson */
  if (ll >= 2 && lit[0] == '"' && lit[ll - 1] == '"') {
    while (k < ll - 1 && (unsigned char)lit[k] - 0x20u < 0x5fu && lit[k] != '"' && lit[k] != '\\') k++;
    if (k == ll - 1) {
      if (g->tpl_hits++ == 0) g->tpl_vain--;
      g->fast++;
      *rc = on_text(g, lit + 1, ll - 2);
      return 1;
    }
  }
  size_t mark = 0;
  json_t *t = al_jarena_loadb(lit, ll, JSON_DECODE_ANY, NULL, &mark);
  int handled = json_is_string(t);
  if (handled) {
    if (g->tpl_hits++ == 0) g->tpl_vain--; /* its probe parse was not in vain */
    g->fast++;
    *rc = on_text(g, json_string_value(t), json_string_length(t));
  }
  al_jarena_drop(t, mark);
  return handled ? 1 : -1;
}

/* Learns a template from event data, parsed whole as o and handled: when o is a plain text
 * event, its text's literal as jansson writes it occurs once in data, and the probe
 * (above by_template) lands in the text's place. Otherwise the current template stays. */
static void learn(gstream *g, const char *data, size_t len, json_t *o) {
  json_t *parent = NULL, *t = plain_text(g, o, &parent);
  char *lit = t ? json_dumps(t, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  size_t ll = lit ? strlen(lit) : 0, mark = 0;
  const char *at = ll ? memmem(data, len, lit, ll) : NULL;
  char *pb = NULL;
  json_t *probe = NULL;
  if (!at || memmem(at + 1, len - (size_t)(at - data) - 1, lit, ll))
    goto out; /* not exactly once */
  size_t np = (size_t)(at - data), nq = len - np - ll, k = (np > nq ? np : nq) + 1,
         n = np + k + 2 + nq;
  if (!(pb = malloc(n))) goto out;
  memcpy(pb, data, np);
  pb[np] = '"';
  memset(pb + np + 1, 'p', k);
  pb[np + 1 + k] = '"';
  memcpy(pb + np + k + 2, at + ll, nq);
  g->tpl_vain++;
  probe = al_jarena_loadb(pb, n, 0, NULL, &mark);
  json_t *pp = NULL, *pt = json_is_object(probe) ? plain_text(g, probe, &pp) : NULL;
  if (!pt || json_string_length(pt) != k || memcmp(json_string_value(pt), pb + np + 1, k)) goto out;
  /* V in the text's place; with T's text put back there, the trees must be equal */
  const char *key = g->route == G_ROUTE_CHAT ? "content" : "text";
  if (json_object_set(pp, key, t) || !json_equal(probe, o)) goto out;
  al_buf_reset(&g->tpl);
  if (al_buf_append(&g->tpl, data, np) || al_buf_append(&g->tpl, at + ll, nq)) {
    al_buf_reset(&g->tpl);
    goto out;
  }
  g->tpl_p = np;
  g->tpl_hits = 0;
out:
  al_jarena_release(probe, mark); /* changed above: released, not dropped */
  free(pb);
  free(lit);
}

static int on_event(const char *event, const char *data, size_t len, void *ud) {
  gstream *g = ud;
  if (g->done) return 0;
  if (len == 6 && !memcmp(data, "[DONE]", 6)) return finish(g);
  int rc = 0, learning = 0;
  if (g->tpl_on) {
    int by = by_template(g, data, len, &rc);
    if (by == 1) return rc;
    /* no template, or another one (say a new id): learn from this event if it is plain
     * text; P and Q matched around something else: keep the template */
    learning = by == 0 && g->tpl_vain < AL_GUARD_TEMPLATE_TRIES + g->fast / 4;
  }
  size_t mark = 0;
  json_t *o = al_jarena_loadb(data, len, 0, NULL, &mark); /* read only; dies at the end of this call */
  if (!json_is_object(o)) {
    al_jarena_drop(o, mark);
    g->failed = 1;
    end_with_error(g, "airlock_upstream", "upstream_bad_stream", "the upstream stream carried an event that is not a JSON object");
    return AL_EPARSE;
  }
  if (json_object_get(o, "error")) {
    g->failed = 1;
    end_with_error(g, "airlock_upstream", "upstream_error", "the upstream reported an error mid-stream");
    al_jarena_drop(o, mark);
    return AL_ECONN;
  }
  take_meta(g, o);
  json_t *choices = json_object_get(o, "choices");
  if (!json_is_array(choices) || json_array_size(choices) == 0) {
    /* e.g. a final usage chunk: passed on at the end, one event per line */
    rc = hold_event(&g->tail, o);
    al_jarena_drop(o, mark);
    return rc;
  }
  json_t *c = json_array_get(choices, 0);
  json_t *idx = json_object_get(c, "index");
  if (json_array_size(choices) != 1 || (idx && json_integer_value(idx) != 0)) {
    al_jarena_drop(o, mark);
    g->failed = 1;
    end_with_error(g, "airlock_upstream", "upstream_bad_stream", "only one choice (index 0) can be streamed through the guard");
    return AL_EUNSUPPORTED;
  }
  const char *fr = json_string_value(json_object_get(c, "finish_reason"));
  if (fr) snprintf(g->finish, sizeof g->finish, "%s", fr);
  json_t *text = NULL;
  if (g->route == G_ROUTE_CHAT) {
    json_t *delta = json_object_get(c, "delta");
    if (json_object_get(delta, "role") && !g->role_sent) {
      g->role_sent = 1;
      json_t *rc0 = json_pack("{s:i, s:{s:s}, s:n}", "index", 0, "delta", "role", "assistant", "finish_reason");
      if ((rc = emit_json(g, rc0 ? chunk(g, rc0) : NULL))) goto out;
    }
    json_t *calls = json_object_get(delta, "tool_calls");
    if (json_is_array(calls)) {
      size_t k;
      json_t *call;
      json_array_foreach(calls, k, call) {
        const char *a = json_string_value(json_object_get(json_object_get(call, "function"), "arguments"));
        if (a && (rc = al_buf_puts(&g->tool_text, a))) goto out;
      }
      /* the event's content, if any, is text (on_text below): the held event goes on
       * without it, or the client would get that text twice, the second time as it came
       * (unredacted) */
      json_t *held = o;
      if (json_object_get(delta, "content")) {
        if (!(held = json_deep_copy(o))) {
          rc = AL_ENOMEM;
          goto out;
        }
        json_object_del(json_object_get(json_array_get(json_object_get(held, "choices"), 0), "delta"),
                        "content");
      }
      rc = hold_event(&g->tools, held);
      if (held != o) json_decref(held);
      if (rc) goto out;
    }
    text = json_object_get(delta, "content");
  } else {
    text = json_object_get(c, "text");
  }
  if (json_is_string(text)) {
    rc = on_text(g, json_string_value(text), json_string_length(text));
    if (!rc && !g->done && learning) learn(g, data, len, o);
  }
out:
  al_jarena_drop(o, mark);
  return rc;
}

/* Held events, one compact JSON object per line, each sent as its own event. */
static int emit_lines(gstream *g, const al_buf *b) {
  int rc = 0;
  for (size_t at = 0; at < b->len && !rc;) {
    char *nl = memchr(b->data + at, '\n', b->len - at);
    size_t l = nl ? (size_t)(nl - (b->data + at)) : b->len - at;
    rc = emit_str(g, "data: ");
    if (!rc) rc = g->emit(b->data + at, l, g->ud);
    if (!rc) rc = emit_str(g, "\n\n");
    at += l + 1;
  }
  return rc;
}

static int finish(gstream *g) {
  int rc = 0;
  if (g->done) return 0;
  if (g->ss) {
    rc = feed(g);
    if (!rc) rc = al_scan_stream_close(g->ss);
    else al_scan_stream_close(g->ss);
    g->ss = NULL;
    if (rc) return rc;
    if ((rc = check_findings(g))) return rc;
  }
  if (g->tool_text.len && g->pipe->db) {
    gfinds tf = {0};
    gscan_ctx c = {g->pipe, &tf};
    rc = al_scan(g->s, g->tool_text.data, g->tool_text.len, al_guard_on_finding, &c);
    const gfind *w = NULL;
    if (!rc && al_gfinds_verdict(&tf, &w) >= G_REDACT && w) {
      const char *d = w->detector;
      al_gfinds_cleanup(&tf);
      return block(g, d); /* tool arguments cannot be rewritten piecewise: block */
    }
    al_gfinds_cleanup(&tf);
    if (rc) return rc;
  }
  if ((rc = release(g, 1))) return rc;
  /* tool-call chunks as they came, then the final chunk, the usage chunk and [DONE] */
  if ((rc = emit_lines(g, &g->tools))) return rc;
  json_t *c;
  if (g->route == G_ROUTE_CHAT)
    c = json_pack("{s:i, s:{}, s:s}", "index", 0, "delta", "finish_reason", g->finish[0] ? g->finish : "stop");
  else
    c = json_pack("{s:i, s:s, s:s}", "index", 0, "text", "", "finish_reason", g->finish[0] ? g->finish : "stop");
  if ((rc = emit_json(g, c ? chunk(g, c) : NULL))) return rc;
  if ((rc = emit_lines(g, &g->tail))) return rc;
  g->done = 1;
  return emit_str(g, "data: [DONE]\n\n");
}

int al_gstream_new(const gpipe *pipe, al_scanner *s, int route, size_t window, size_t max_bytes,
                   gmap *m, gfinds *all, gstream_emit emit, gstream_token token, void *ud,
                   gstream **out) {
  gstream *g = al_calloc(1, sizeof *g);
  *out = NULL;
  if (!g) return AL_ENOMEM;
  *g = (gstream){.pipe = pipe, .s = s, .route = route, .window = window, .max_bytes = max_bytes,
                 .m = m, .all = all, .emit = emit, .token = token, .ud = ud, .tpl_on = 1,
                 .batch = AL_GUARD_STREAM_SCAN_BATCH};
  al_sse_init(&g->sse, on_event, g, max_bytes + 4096);
  al_buf_init(&g->held, max_bytes + 1);
  al_buf_init(&g->text, max_bytes + 1);
  al_buf_init(&g->tools, max_bytes + 1);
  al_buf_init(&g->tool_text, max_bytes + 1);
  al_buf_init(&g->tail, 1u << 20);
  al_buf_init(&g->prefix, 4096);
  al_buf_init(&g->line, 2 * max_bytes + 8192);
  al_buf_init(&g->red, max_bytes * 2 + 4096);
  al_buf_init(&g->res, max_bytes * 4 + 4096);
  al_buf_init(&g->tpl, max_bytes + 4096);
  if (pipe->db && s) {
    /* release: min(scan safe offset = fed - holdback - AL_SCAN_CTX, pos - window) */
    size_t hb = al_scan_db_holdback(pipe->db) + AL_SCAN_CTX;
    g->lag = hb > window ? hb : window;
    int rc = al_scan_stream_open(s, on_stream_finding, g, &g->ss);
    if (rc) {
      al_gstream_free(g);
      return rc;
    }
  }
  *out = g;
  return 0;
}

int al_gstream_feed(gstream *g, const char *bytes, size_t n) {
  if (g->done) return g->blocked ? AL_EINTEGRITY : 0;
  int rc = al_sse_feed(&g->sse, bytes, n);
  if (rc == AL_ELIMIT && !g->done) {
    g->failed = 1;
    end_with_error(g, "airlock_upstream", "upstream_bad_stream", "an upstream event passed the size limit");
  } else if (rc && !g->done) {
    g->failed = 1;
    end_with_error(g, "airlock_guard", "guard_error", "the guard failed while scanning the stream");
  }
  return rc;
}

int al_gstream_finish(gstream *g) {
  if (g->done) return g->blocked ? AL_EINTEGRITY : 0;
  int rc = al_sse_finish(&g->sse);
  if (!rc && !g->done) rc = finish(g); /* upstream closed without [DONE] */
  if (rc && !g->done) {
    g->failed = 1;
    end_with_error(g, "airlock_guard", "guard_error", "the guard failed while finishing the stream");
  }
  return rc;
}

int al_gstream_fail(gstream *g, const char *code, const char *message) {
  if (g->done) return 0;
  g->failed = 1;
  return end_with_error(g, "airlock_upstream", code, message);
}

const char *al_gstream_blocked_by(const gstream *g) { return g->blocked ? g->blocked_by : NULL; }

const char *al_gstream_text(const gstream *g, size_t *len) {
  *len = g->text.len;
  return g->text.data ? g->text.data : "";
}

int al_gstream_done(const gstream *g) { return g->done; }

void al_gstream_set_scan_batch(gstream *g, size_t bytes) { g->batch = bytes; }

void al_gstream_set_template(gstream *g, int on) {
  g->tpl_on = on != 0;
  if (!g->tpl_on) al_buf_reset(&g->tpl);
}

uint64_t al_gstream_fast_events(const gstream *g) { return g->fast; }

void al_gstream_free(gstream *g) {
  if (!g) return;
  if (g->ss) al_scan_stream_close(g->ss); /* aborted: findings after this are dropped */
  al_sse_cleanup(&g->sse);
  al_buf_cleanup(&g->held);
  al_buf_cleanup(&g->text);
  al_buf_cleanup(&g->tools);
  al_buf_cleanup(&g->tool_text);
  al_buf_cleanup(&g->tail);
  al_buf_cleanup(&g->prefix);
  al_buf_cleanup(&g->line);
  al_buf_cleanup(&g->red);
  al_buf_cleanup(&g->res);
  al_buf_cleanup(&g->tpl);
  al_gfinds_cleanup(&g->f);
  al_free(g);
}
