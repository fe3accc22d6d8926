/* The guard's HTTP side: the HTTP/1.1 server of src/http/h1srv.c on the policy's listen
 * address, one handler that routes, authenticates (client keys compared by SHA-256),
 * rate-limits (token bucket per client), parses and scans the request, forwards it upstream
 * (upstream.c), and answers:
 *
 *   200  the (rewritten) answer, or an SSE stream re-framed by stream.c
 *   400  invalid_request_error (bad JSON, missing fields) / airlock_policy input_blocked
 *   401  invalid_api_key        404 unknown route        405 method not allowed
 *   413  body over max_request_bytes (h1srv answers this before the handler runs)
 *   422  airlock_policy output_blocked / output_invalid (retries exhausted)
 *   429  rate_limited (with Retry-After)
 *   501  a method other than GET, POST and HEAD
 *   502  airlock_upstream upstream_error / upstream_bad_response / upstream_response_too_large
 *   504  airlock_upstream upstream_timeout
 * Non-2xx answers of the upstream itself are passed on as they came.
 *
 * A request's state (gctx) lives until its answer is complete or its client is gone; a
 * client that disconnects cancels the upstream transfer (h1srv keeps reading a client
 * whose request waits upstream and calls the request's close callback when it leaves).
 * Answers are written at once from the upstream callbacks (one sendmsg each); the request
 * handle is dropped as soon as its answer is complete, and h1srv frees connections only
 * from its own event callbacks. */
#include <event2/event.h>
#include <http_parser.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "airlock/log.h"
#include "airlock/util.h"
#include "guard/guard_int.h"
#include "http/h1srv.h"
#include "http/upstream.h"

typedef struct gbucket {
  double tokens;
  int64_t last_ns;
} gbucket;

typedef struct gctx gctx;

struct al_guard {
  struct event_base *base;
  const al_guard_policy *p;
  al_h1srv *http;
  int port;
  gup *up;
  char *upstream_key;
  al_scanner *in_scanner, *out_scanner;
  al_scanner **pool;
  size_t npool;
  al_audit_writer *audit;
  gmetrics *metrics;
  gbucket *buckets;
  long in_flight;
  uint64_t counter;
  gctx *live;
  struct {
    char key[AL_GUARD_KEY_CACHE_LEN];
    size_t len;
    int client;
  } keys[AL_GUARD_KEY_CACHE]; /* keys recently presented and accepted: no SHA-256 each time */
  unsigned next_key;
  char *urls[G_ROUTE_N]; /* upstream URL of each route */
  int no_template;       /* AIRLOCK_GUARD_NO_TEMPLATE set: streams parse every event whole */
  gscache *scache;       /* input texts found clean (scache.c); NULL with AIRLOCK_GUARD_NO_SCAN_CACHE */
};

struct gctx {
  al_guard *g;
  al_h1req *req; /* NULL once the client is gone or answered */
  int route;
  int client; /* index, -1 when no clients are configured */
  char id[24];
  int64_t t0, up_t0, up_ns, wall0;
  long long in_tok, out_tok; /* usage reported by the upstream, -1 when unknown */
  char resp_model[96];
  greq r;
  char *up_body;
  size_t up_len;
  int client_stream, upstream_stream;
  gmap map;
  gfinds finds;
  gxfer *x;
  al_buf resp;
  int attempts;
  gstream *st;
  al_scanner *st_scanner;
  int started;      /* reply_start sent */
  int passthrough;  /* upstream answered non-200 on a stream request */
  al_buf pending;           /* re-framed bytes of upstream reads, sent as one chunk */
  struct event *flush_ev;   /* sends pending later in this loop iteration (stream_later) */
  uint64_t tokens;
  gctx *prev, *next;
};

static const char *const route_paths[G_ROUTE_N] = {"/v1/chat/completions", "/v1/completions", "/v1/models"};

/* ---- helpers ---- */

static void audit_put(al_guard *g, const char *type, json_t *o) {
  if (g->audit && o) al_audit_append(g->audit, type, o);
  json_decref(o);
}
/* The record is only built when there is an audit log. */
#define audit_json(g, type, expr)          \
  do {                                     \
    if ((g)->audit) audit_put(g, type, expr); \
  } while (0)

/* A whole answer; retry_after: the Retry-After value, or NULL. */
static void send_body(al_h1req *req, int code, const char *ctype, const char *body, size_t len, const char *id,
                      const char *retry_after) {
  al_h1hdr h[3] = {{"Content-Type", ctype}};
  size_t n = 1;
  if (id) h[n++] = (al_h1hdr){"X-Airlock-Request-Id", id};
  if (retry_after) h[n++] = (al_h1hdr){"Retry-After", retry_after};
  al_h1_reply(req, code, h, n, body, len);
}

static void send_error(al_h1req *req, int code, const char *type, const char *ecode, const char *msg,
                       const char *id, const char *retry_after) {
  al_buf b;
  al_buf_init(&b, 8192);
  if (al_guard_error_body(&b, type, ecode, "%s", msg) == 0)
    send_body(req, code, "application/json", b.data, b.len, id, retry_after);
  else
    send_body(req, 500, "text/plain", "internal error\n", 15, id, NULL);
  al_buf_cleanup(&b);
}

/* Field initialisers for al_audit_fields. */
#define AF_STR(k, v, n) {.key = (k), .kind = AL_AF_STR, .s = (v), .len = (n)}
#define AF_CSTR(k, v) AF_STR(k, v, strlen(v))
#define AF_INT(k, v) {.key = (k), .kind = AL_AF_INT, .i = (v)}
#define AF_JSON(k, v, n) {.key = (k), .kind = AL_AF_JSON, .s = (v), .len = (n)}
#define AF_TREE(k, v) {.key = (k), .kind = AL_AF_TREE, .tree = (v)}
#define audit_fields(g, type, ...)                                                    \
  do {                                                                                \
    if ((g)->audit) {                                                                 \
      const al_audit_field f_[] = {__VA_ARGS__};                                      \
      al_audit_fields((g)->audit, type, f_, sizeof f_ / sizeof f_[0]);                \
    }                                                                                 \
  } while (0)

/* Nanoseconds as a JSON number of seconds ("0.000123456"): exact, and no printf (a %.17g
 * costs ~3k instructions, two per verdict record). */
static size_t seconds_text(int64_t ns, char out[32]) {
  char tmp[32];
  size_t n = 0, k = 0;
  uint64_t v = ns > 0 ? (uint64_t)ns : 0, whole = v / 1000000000u, frac = v % 1000000000u;
  for (int i = 0; i < 9; i++, frac /= 10) tmp[k++] = (char)('0' + frac % 10);
  tmp[k++] = '.';
  do {
    tmp[k++] = (char)('0' + whole % 10);
    whole /= 10;
  } while (whole);
  while (k) out[n++] = tmp[--k];
  return n;
}

static void findings_json(gctx *c, json_t *o) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < c->finds.n && i < 256; i++) {
    gfind *f = &c->finds.v[i];
    json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:s}", "detector", f->detector, "start",
                                       (json_int_t)f->start, "end", (json_int_t)f->end, "action",
                                       al_guard_act_name(f->action)));
  }
  json_object_set_new(o, "findings", a ? a : json_null());
}

static void ctx_free(gctx *c) {
  al_guard *g = c->g;
  if (c->req) al_h1_set_closecb(c->req, NULL, NULL);
  if (c->x) al_gup_cancel(c->x);
  al_gstream_free(c->st);
  if (c->st_scanner) {
    al_scanner **np = al_realloc(g->pool, (g->npool + 1) * sizeof *np);
    if (np) {
      g->pool = np;
      g->pool[g->npool++] = c->st_scanner;
    } else {
      al_scanner_free(c->st_scanner);
    }
  }
  al_guard_request_cleanup(&c->r);
  al_free(c->up_body);
  al_gmap_cleanup(&c->map);
  al_gfinds_cleanup(&c->finds);
  al_buf_cleanup(&c->resp);
  al_buf_cleanup(&c->pending);
  if (c->flush_ev) event_free(c->flush_ev);
  if (c->prev) c->prev->next = c->next;
  else g->live = c->next;
  if (c->next) c->next->prev = c->prev;
  g->in_flight--;
  al_free(c);
}

static void otlp_done(gxfer *x, int code, long status, void *ud) {
  al_gmetrics_upstream(((al_guard *)ud)->metrics, code || status >= 300 ? "otlp_error" : "otlp_ok");
}

/* One span for a request that reached the model (fire and forget). */
static void export_span(gctx *c, const char *verdict, int status) {
  al_guard *g = c->g;
  if (!g->p->otlp_endpoint || c->attempts == 0 || c->route == G_ROUTE_MODELS) return;
  gspan sp = {.service = g->p->otlp_service, .operation = c->route == G_ROUTE_CHAT ? "chat" : "text_completion",
              .model = c->r.model, .response_model = c->resp_model[0] ? c->resp_model : NULL,
              .request_id = c->id, .verdict = verdict, .start_wall_ns = c->wall0, .end_wall_ns = al_wall_ns(),
              .input_tokens = c->in_tok, .output_tokens = c->out_tok, .status = status,
              .attempts = c->attempts, .chunks = c->tokens, .finds = &c->finds};
  al_buf b;
  al_buf_init(&b, 1u << 20);
  char url[2048];
  snprintf(url, sizeof url, "%s/v1/traces", g->p->otlp_endpoint);
  gxfer *x = NULL;
  gxfer_opts o = {.url = url, .timeout_ms = g->p->otlp_timeout_ms, .connect_timeout_ms = g->p->otlp_timeout_ms};
  if (al_guard_otlp_span(&sp, &b) == 0) {
    o.body = b.data;
    o.body_len = b.len;
    if (al_gup_start(g->up, &o, NULL, otlp_done, g, &x)) al_gmetrics_upstream(g->metrics, "otlp_error");
  }
  al_buf_cleanup(&b);
}

/* Usage and model of a JSON answer, for the span. */
static void take_usage(gctx *c) {
  if (!c->g->p->otlp_endpoint) return;
  json_t *o = json_loadb(c->resp.data ? c->resp.data : "", c->resp.len, 0, NULL);
  json_t *u = json_object_get(o, "usage");
  json_t *pt = json_object_get(u, "prompt_tokens"), *ct = json_object_get(u, "completion_tokens");
  if (json_is_integer(pt)) c->in_tok = json_integer_value(pt);
  if (json_is_integer(ct)) c->out_tok = json_integer_value(ct);
  const char *m = json_string_value(json_object_get(o, "model"));
  if (m) snprintf(c->resp_model, sizeof c->resp_model, "%s", m);
  json_decref(o);
}

/* The request is over (answered, or the client left): metrics, span, audit, free. */
static void finish(gctx *c, const char *verdict, int status) {
  al_guard *g = c->g;
  export_span(c, verdict, status);
  int64_t now = al_now_ns();
  double total = (double)(now - c->t0) / 1e9, up = (double)c->up_ns / 1e9;
  char total_s[32], up_s[32];
  al_gmetrics_request(g->metrics, verdict, total, total - up);
  al_gmetrics_hits(g->metrics, &c->finds);
  if (g->audit) {
    json_t *fo = NULL;
    if (c->finds.n) {
      fo = json_object();
      if (fo) findings_json(c, fo);
    }
    audit_fields(g, "verdict", AF_CSTR("id", c->id), AF_CSTR("verdict", verdict), AF_INT("status", status),
                 AF_JSON("seconds", total_s, seconds_text(now - c->t0, total_s)),
                 AF_JSON("upstream_seconds", up_s, seconds_text(c->up_ns, up_s)), AF_INT("attempts", c->attempts),
                 AF_INT("tokens", (long long)c->tokens),
                 fo ? (al_audit_field)AF_TREE("findings", json_object_get(fo, "findings"))
                    : (al_audit_field)AF_JSON("findings", "[]", 2));
    json_decref(fo);
  }
  ctx_free(c);
}

/* The answer, then the end of the request. */
static void reply_done(gctx *c, int code, const char *ctype, const char *body, size_t len,
                       const char *verdict) {
  al_h1req *req = c->req;
  c->req = NULL;
  if (req) send_body(req, code, ctype, body, len, c->id, NULL);
  finish(c, verdict, code);
}

static void answer_error_ra(gctx *c, int code, const char *type, const char *ecode, const char *msg,
                            const char *verdict, const char *retry_after) {
  al_h1req *req = c->req;
  c->req = NULL;
  if (req) send_error(req, code, type, ecode, msg, c->id, retry_after);
  finish(c, verdict, code);
}

static void answer_error(gctx *c, int code, const char *type, const char *ecode, const char *msg,
                         const char *verdict) {
  answer_error_ra(c, code, type, ecode, msg, verdict, NULL);
}

/* The client left before its answer was complete (h1srv drops the request after this). */
static void on_client_close(al_h1req *req, void *arg) {
  gctx *c = arg;
  c->req = NULL;
  if (c->x) {
    al_gup_cancel(c->x);
    c->x = NULL;
  }
  finish(c, "client_gone", 499);
}

static int rate_ok(al_guard *g, int client, double *retry_after) {
  if (client < 0) return 1;
  const gclient *cl = &g->p->clients[client];
  if (cl->rate <= 0) return 1;
  gbucket *b = &g->buckets[client];
  int64_t now = al_now_ns();
  if (b->last_ns == 0) b->tokens = cl->burst;
  else b->tokens += (double)(now - b->last_ns) / 1e9 * cl->rate;
  if (b->tokens > cl->burst) b->tokens = cl->burst;
  b->last_ns = now;
  if (b->tokens >= 1) {
    b->tokens -= 1;
    return 1;
  }
  *retry_after = (1 - b->tokens) / cl->rate;
  return 0;
}

static int authenticate(al_guard *g, const al_h1req *req) {
  if (g->p->n_clients == 0) return -1;
  const char *h = req->authorization;
  if (!h || strncasecmp(h, "Bearer ", 7)) return -2;
  const char *key = h + 7;
  size_t kl = strlen(key);
  if (kl < AL_GUARD_KEY_CACHE_LEN) {
    for (unsigned i = 0; i < AL_GUARD_KEY_CACHE; i++)
      if (g->keys[i].len == kl && sodium_memcmp(g->keys[i].key, key, kl) == 0) return g->keys[i].client;
  }
  char hex[65];
  al_guard_hash_key(key, hex);
  for (size_t i = 0; i < g->p->n_clients; i++) {
    if (sodium_memcmp(hex, g->p->clients[i].key_sha256, 64)) continue;
    if (kl < AL_GUARD_KEY_CACHE_LEN) {
      unsigned k = g->next_key++ % AL_GUARD_KEY_CACHE;
      memcpy(g->keys[k].key, key, kl);
      g->keys[k].len = kl;
      g->keys[k].client = (int)i;
    }
    return (int)i;
  }
  return -2;
}

/* ---- upstream ---- */

static void start_upstream(gctx *c);

static al_scanner *pool_get(al_guard *g) {
  if (g->npool) return g->pool[--g->npool];
  al_scanner *s = NULL;
  if (g->p->out.db && al_scanner_new(g->p->out.db, &s)) return NULL;
  return s;
}

static int stream_emit(const char *bytes, size_t n, void *ud) {
  gctx *c = ud;
  if (!c->req) return AL_ECONN;
  if (al_h1_queued(c->req) > AL_GUARD_MAX_CLIENT_BACKLOG) return AL_ELIMIT; /* the client does not read: give up on it */
  return al_buf_append(&c->pending, bytes, n) ? AL_ENOMEM : 0;
}

/* Sends what the last upstream read produced as one HTTP chunk. */
static void stream_flush(gctx *c) {
  if (!c->req || !c->pending.len) return;
  al_h1_stream_chunk(c->req, c->pending.data, c->pending.len);
  al_buf_reset(&c->pending);
}

static void stream_flush_cb(evutil_socket_t fd, short what, void *arg) { stream_flush(arg); }

/* What an upstream read produced is sent once the read's callbacks are over, later in the
 * same loop iteration: when that read also ended the transfer (the usual case for the
 * last one), end_stream sends it together with the end of the stream, in one write. */
static void stream_later(gctx *c) {
  if (!c->req || !c->pending.len) return;
  if (!c->flush_ev && !(c->flush_ev = event_new(c->g->base, -1, 0, stream_flush_cb, c))) {
    stream_flush(c);
    return;
  }
  event_active(c->flush_ev, EV_TIMEOUT, 0);
}

static void stream_token(const char *text, size_t n, void *ud) {
  gctx *c = ud;
  c->tokens++;
  if (c->g->audit) al_audit_token(c->g->audit, c->id, text, n);
}

static void start_reply_stream(gctx *c) {
  const al_h1hdr h[] = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"},
                        {"X-Airlock-Request-Id", c->id}};
  al_h1_stream_start(c->req, 200, h, 3);
  c->started = 1;
}

/* The last bytes and the end of the stream leave in one write; then the request ends. */
static void end_stream(gctx *c, const char *verdict) {
  al_h1req *req = c->req;
  c->req = NULL;
  if (req) al_h1_stream_end(req, c->pending.data, c->pending.len);
  al_buf_reset(&c->pending);
  finish(c, verdict, 200);
}

static int on_data(gxfer *x, const char *p, size_t n, void *ud) {
  gctx *c = ud;
  if (!c->req) return 1;
  if (!c->upstream_stream || c->passthrough) {
    return al_buf_append(&c->resp, p, n) ? 1 : 0; /* over max_response_bytes: abort */
  }
  if (!c->started) {
    long st = al_gxfer_status(x);
    if (st != 200) {
      c->passthrough = 1;
      return al_buf_append(&c->resp, p, n) ? 1 : 0;
    }
    start_reply_stream(c);
  }
  int rc = al_gstream_feed(c->st, p, n);
  stream_later(c);
  if (rc == AL_ELIMIT && c->req && !al_gstream_done(c->st)) return 1;
  return rc ? 1 : 0;
}

/* A buffered answer for a client that asked for a stream (schema stages need the whole
 * text): sent as one content chunk, a final chunk and [DONE]. */
static void send_as_stream(gctx *c, const char *body, size_t len) {
  json_t *o = json_loadb(body, len, 0, NULL);
  json_t *ch = json_array_get(json_object_get(o, "choices"), 0);
  const char *text = c->route == G_ROUTE_CHAT
                         ? json_string_value(json_object_get(json_object_get(ch, "message"), "content"))
                         : json_string_value(json_object_get(ch, "text"));
  const char *fr = json_string_value(json_object_get(ch, "finish_reason"));
  const char *obj = c->route == G_ROUTE_CHAT ? "chat.completion.chunk" : "text_completion";
  json_t *id = json_object_get(o, "id"), *model = json_object_get(o, "model"), *cr = json_object_get(o, "created");
  al_buf b;
  al_buf_init(&b, SIZE_MAX);
  for (int k = 0; k < 2; k++) {
    json_t *choice = c->route == G_ROUTE_CHAT
        ? (k == 0 ? json_pack("{s:i, s:{s:s, s:s}, s:n}", "index", 0, "delta", "role", "assistant", "content", text ? text : "", "finish_reason")
                  : json_pack("{s:i, s:{}, s:s}", "index", 0, "delta", "finish_reason", fr ? fr : "stop"))
        : (k == 0 ? json_pack("{s:i, s:s, s:n}", "index", 0, "text", text ? text : "", "finish_reason")
                  : json_pack("{s:i, s:s, s:s}", "index", 0, "text", "", "finish_reason", fr ? fr : "stop"));
    json_t *chunk = json_pack("{s:O*, s:s, s:O*, s:O*, s:[o]}", "id", id, "object", obj, "created", cr, "model", model, "choices", choice);
    char *s = chunk ? json_dumps(chunk, JSON_COMPACT) : NULL;
    if (s) {
      al_buf_append(&b, "data: ", 6);
      al_buf_puts(&b, s);
      al_buf_append(&b, "\n\n", 2);
    }
    free(s);
    json_decref(chunk);
  }
  json_decref(o);
  al_buf_puts(&b, "data: [DONE]\n\n");
  al_h1req *req = c->req;
  c->req = NULL;
  send_body(req, 200, "text/event-stream", b.data ? b.data : "", b.len, c->id, NULL);
  al_buf_cleanup(&b);
}

static void on_done(gxfer *x, int code, long status, void *ud) {
  gctx *c = ud;
  al_guard *g = c->g;
  c->x = NULL;
  c->up_ns += al_now_ns() - c->up_t0;
  const char *kind = al_gup_error_kind(code);
  al_gmetrics_upstream(g->metrics, code ? kind : status == 200 ? "ok" : "http_error");
  if (!c->req) {
    finish(c, "client_gone", 499);
    return;
  }
  if (c->upstream_stream && !c->passthrough) {
    if (c->started) {
      if (code) {
        if (!al_gstream_done(c->st))
          al_gstream_fail(c->st, !strcmp(kind, "timeout") ? "upstream_timeout" : "upstream_error",
                          "the upstream connection failed mid-stream");
      } else {
        al_gstream_finish(c->st);
      }
      size_t tl = 0;
      const char *t = al_gstream_text(c->st, &tl);
      audit_fields(g, "response", AF_CSTR("id", c->id), AF_INT("status", 200), AF_STR("text", t ? t : "", tl));
      const char *blocked = al_gstream_blocked_by(c->st);
      end_stream(c, blocked ? "block_output" : code ? "upstream_error" : c->finds.n ? "redact" : "allow");
      return;
    }
    if (!code && status == 200) { /* empty 200 stream */
      start_reply_stream(c);
      al_gstream_finish(c->st);
      end_stream(c, "allow");
      return;
    }
  }
  if (code) {
    int timeout = !strcmp(kind, "timeout");
    char msg[256];
    snprintf(msg, sizeof msg, "upstream %s: %s", kind, code == 23 ? "answer larger than max_response_bytes" : "no usable answer");
    answer_error(c, timeout ? 504 : 502, "airlock_upstream",
                 code == 23 ? "upstream_response_too_large" : timeout ? "upstream_timeout" : "upstream_error",
                 msg, timeout ? "upstream_timeout" : "upstream_error");
    return;
  }
  audit_fields(g, "response", AF_CSTR("id", c->id), AF_INT("status", status), AF_INT("attempt", c->attempts),
               AF_STR("body", c->resp.data ? c->resp.data : "", c->resp.len));
  take_usage(c);
  if (status != 200) { /* the upstream's own error: passed on */
    const char *ct = al_gxfer_content_type(x);
    reply_done(c, (int)status, ct[0] ? ct : "application/json", c->resp.data ? c->resp.data : "", c->resp.len,
               "upstream_status");
    return;
  }
  if (c->route == G_ROUTE_MODELS) {
    reply_done(c, 200, "application/json", c->resp.data ? c->resp.data : "", c->resp.len, "allow");
    return;
  }
  gout_result res = {0};
  char *body = NULL;
  size_t blen = 0;
  int rc = 0;
  if (!g->p->out.db && !g->p->out.has_schema && !c->map.n) { /* nothing to check or restore */
    res.verdict = G_ALLOW;
    res.unchanged = 1;
  } else rc = al_guard_output(&g->p->out, g->out_scanner, c->route, c->resp.data ? c->resp.data : "",
                           c->resp.len, &c->map, &c->finds, &res, &body, &blen, NULL);
  if (rc) {
    free(body);
    answer_error(c, 502, "airlock_upstream", "upstream_bad_response",
                 rc == AL_EPARSE ? "the upstream answer is not an OpenAI-style JSON answer" : "the guard failed to check the answer",
                 "upstream_error");
    return;
  }
  if (res.verdict == G_RETRY && c->attempts <= g->p->out.max_retries) {
    audit_json(g, "retry", json_pack("{s:s, s:i, s:s}", "id", c->id, "attempt", c->attempts, "why", res.why));
    al_buf_reset(&c->resp);
    start_upstream(c);
    return;
  }
  if (res.verdict >= G_RETRY) {
    char msg[400];
    int blocked = res.verdict == G_BLOCK;
    snprintf(msg, sizeof msg, "%s by policy: %s", blocked ? "output blocked" : "no valid output after retries", res.why);
    answer_error(c, 422, "airlock_policy", blocked ? "output_blocked" : "output_invalid", msg,
                 blocked ? "block_output" : "retry_exhausted");
    return;
  }
  if (res.unchanged) { /* the upstream's bytes as they came */
    body = c->resp.data ? c->resp.data : "";
    blen = c->resp.len;
  }
  const char *verdict = c->finds.n ? "redact" : "allow";
  if (c->client_stream) {
    send_as_stream(c, body, blen);
    finish(c, verdict, 200);
  } else {
    reply_done(c, 200, "application/json", body, blen, verdict);
  }
  if (res.unchanged) body = NULL;
  free(body);
}

static void start_upstream(gctx *c) {
  al_guard *g = c->g;
  const groute *rt = &g->p->routes[c->route];
  gxfer_opts o = {.url = g->urls[c->route], .body = c->up_body, .body_len = c->up_len, .bearer = g->upstream_key,
                  .timeout_ms = rt->timeout_ms ? rt->timeout_ms : g->p->timeout_ms,
                  .connect_timeout_ms = g->p->connect_timeout_ms};
  c->attempts++;
  if (c->upstream_stream) {
    al_gstream_free(c->st);
    c->st = NULL;
    if (g->p->out.db && !c->st_scanner && !(c->st_scanner = pool_get(g))) {
      answer_error(c, 500, "airlock_guard", "guard_error", "out of scanners", "error");
      return;
    }
    if (al_gstream_new(&g->p->out, c->st_scanner, c->route, g->p->window, g->p->max_response_bytes,
                       &c->map, &c->finds, stream_emit, stream_token, c, &c->st)) {
      answer_error(c, 500, "airlock_guard", "guard_error", "cannot open a stream scanner", "error");
      return;
    }
    if (g->no_template) al_gstream_set_template(c->st, 0);
  }
  c->up_t0 = al_now_ns();
  if (al_gup_start(g->up, &o, on_data, on_done, c, &c->x))
    answer_error(c, 500, "airlock_guard", "guard_error", "cannot start the upstream transfer", "error");
}

/* ---- the handler ---- */

static void handle_api(al_guard *g, al_h1req *req, int route) {
  gctx *c = al_calloc(1, sizeof *c);
  if (!c) {
    send_body(req, 503, "text/plain", "out of memory\n", 14, NULL, NULL);
    return;
  }
  c->g = g;
  c->req = req;
  c->route = route;
  c->t0 = al_now_ns();
  c->wall0 = al_wall_ns();
  c->in_tok = c->out_tok = -1;
  c->client = -1;
  snprintf(c->id, sizeof c->id, "g%llx", (unsigned long long)++g->counter);
  c->next = g->live;
  if (g->live) g->live->prev = c;
  g->live = c;
  g->in_flight++;
  al_buf_init(&c->resp, g->p->max_response_bytes);
  al_buf_init(&c->pending, SIZE_MAX);
  al_h1_set_closecb(req, on_client_close, c);

  int client = authenticate(g, req);
  if (client == -2) {
    answer_error(c, 401, "invalid_request_error", "invalid_api_key", "missing or unknown API key (Authorization: Bearer KEY)", "unauthorized");
    return;
  }
  c->client = client;
  double retry_after = 0;
  if (!rate_ok(g, client, &retry_after)) {
    char ra[32];
    snprintf(ra, sizeof ra, "%d", (int)ceil(retry_after));
    answer_error_ra(c, 429, "airlock_policy", "rate_limited", "rate limit of this client exceeded", "rate_limited", ra);
    return;
  }
  if (route == G_ROUTE_MODELS) {
    start_upstream(c);
    return;
  }
  size_t len = req->body_len;
  const char *body = req->body;
  char why[300];
  const char *cname = client >= 0 ? g->p->clients[client].name : "";
  if (al_guard_request_parse(route, body ? body : "", len, &c->r, why, sizeof why)) {
    audit_json(g, "request", json_pack("{s:s, s:s, s:s, s:s%}", "id", c->id, "client", cname, "route",
                                       route_paths[route], "raw", body ? body : "", len));
    answer_error(c, 400, "invalid_request_error", "invalid_request", why, "bad_request");
    return;
  }
  /* the body as the client sent it (jansson accepted it: valid JSON) */
  audit_fields(g, "request", AF_CSTR("id", c->id), AF_CSTR("client", cname), AF_CSTR("route", route_paths[route]),
               AF_JSON("body", body, len));
  c->client_stream = c->r.stream;
  if (c->r.stream && !g->p->routes[route].allow_stream) {
    answer_error(c, 400, "invalid_request_error", "stream_disabled", "streaming is disabled on this route by policy", "bad_request");
    return;
  }
  if (c->r.stream && c->r.has_n && c->r.n_value != 1) {
    answer_error(c, 400, "invalid_request_error", "invalid_request", "the guard streams one choice only (n must be 1 with stream)", "bad_request");
    return;
  }
  const gfind *blocked = NULL;
  const char *where = NULL;
  int changed = 0;
  int rc = al_guard_input(&g->p->in, g->in_scanner, &c->r, &c->map, &c->finds, &blocked, &where, &changed,
                          g->scache);
  if (rc) {
    answer_error(c, 500, "airlock_guard", "guard_error", "the guard failed to scan the request", "error");
    return;
  }
  if (blocked) {
    char msg[300];
    snprintf(msg, sizeof msg, "input blocked by policy: %s found in %s", blocked->detector, where);
    answer_error(c, 400, "airlock_policy", "input_blocked", msg, "block_input");
    return;
  }
  c->upstream_stream = c->r.stream && !g->p->out.has_schema;
  if (c->r.stream && !c->upstream_stream) {
    if (al_guard_request_tree(&c->r)) {
      answer_error(c, 500, "airlock_guard", "guard_error", "out of memory", "error");
      return;
    }
    json_object_set_new(c->r.root, "stream", json_false());
    changed = 1;
  }
  /* nothing rewritten: the client's bytes go upstream as they came */
  c->up_body = changed ? json_dumps(c->r.root, JSON_COMPACT) : al_strndup(body, len);
  if (!c->up_body) {
    answer_error(c, 500, "airlock_guard", "guard_error", "out of memory", "error");
    return;
  }
  c->up_len = changed ? strlen(c->up_body) : len;
  start_upstream(c);
}

static void handler(al_h1req *req, void *arg) {
  al_guard *g = arg;
  size_t pl = strcspn(req->url, "?");
  int m = req->method;
  if (m != HTTP_GET && m != HTTP_POST && m != HTTP_HEAD) {
    send_body(req, 501, "text/plain", "method not implemented\n", 23, NULL, NULL);
    return;
  }
  if (pl == 8 && !memcmp(req->url, "/healthz", 8)) {
    send_body(req, 200, "application/json", "{\"status\":\"ok\"}", 15, NULL, NULL);
    return;
  }
  if (pl == 8 && !memcmp(req->url, "/metrics", 8)) {
    al_buf b;
    al_buf_init(&b, 1u << 22);
    uint64_t hits, misses;
    al_gscache_stats(g->scache, &hits, &misses);
    if (al_gmetrics_render(g->metrics, &b, g->in_flight) == 0 &&
        al_buf_printf(&b,
                      "# HELP airlock_guard_scan_cache_total Input texts looked up in the clean-text cache, by result.\n"
                      "# TYPE airlock_guard_scan_cache_total counter\n"
                      "airlock_guard_scan_cache_total{result=\"hit\"} %llu\n"
                      "airlock_guard_scan_cache_total{result=\"miss\"} %llu\n",
                      (unsigned long long)hits, (unsigned long long)misses) == 0)
      send_body(req, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len, NULL, NULL);
    else
      send_body(req, 500, "text/plain", "internal error\n", 15, NULL, NULL);
    al_buf_cleanup(&b);
    return;
  }
  for (int r = 0; r < G_ROUTE_N; r++) {
    if (pl != strlen(route_paths[r]) || memcmp(req->url, route_paths[r], pl)) continue;
    if (!g->p->routes[r].enabled) break;
    int want = r == G_ROUTE_MODELS ? HTTP_GET : HTTP_POST;
    if (m != want) {
      send_error(req, 405, "invalid_request_error", "method_not_allowed", r == G_ROUTE_MODELS ? "use GET" : "use POST",
                 NULL, NULL);
      return;
    }
    handle_api(g, req, r);
    return;
  }
  send_error(req, 404, "invalid_request_error", "unknown_route", "no such route on this guard", NULL, NULL);
}

/* ---- life cycle ---- */

int al_guard_new(struct event_base *base, const al_guard_policy *p, al_guard **out, al_error *err) {
  int rc = 0;
  al_guard *g = al_calloc(1, sizeof *g);
  *out = NULL;
  if (!g) return AL_ENOMEM;
  g->base = base;
  g->p = p;
  al_jarena_install();
  const char *nt = getenv("AIRLOCK_GUARD_NO_TEMPLATE"); /* read once: a switch for comparisons */
  g->no_template = nt && *nt && strcmp(nt, "0");
  const char *nf = getenv("AIRLOCK_GUARD_NO_FAST_JSON"); /* every body through jansson (jfast.c) */
  if (nf && *nf && strcmp(nf, "0")) al_gfast_enable(0);
  if (p->upstream_key_env) {
    const char *k = getenv(p->upstream_key_env);
    if (!k || !*k) {
      rc = al_error_set(err, AL_EINVAL, "environment variable %s (upstream.api_key_env) is not set", p->upstream_key_env);
      goto out;
    }
    if (!(g->upstream_key = al_strdup(k))) {
      rc = AL_ENOMEM;
      goto out;
    }
  }
  for (int r = 0; r < G_ROUTE_N; r++) {
    al_buf u;
    al_buf_init(&u, 4096);
    /* paths /v1/x map to base + /x */
    if (al_buf_printf(&u, "%s%s", p->upstream_base, route_paths[r] + 3)) {
      al_buf_cleanup(&u);
      rc = al_error_set(err, AL_ENOMEM, "out of memory starting the guard");
      goto out;
    }
    g->urls[r] = u.data;
  }
  g->metrics = al_gmetrics_new();
  g->buckets = al_calloc(p->n_clients + 1, sizeof *g->buckets);
  g->up = al_gup_new(base, p->max_connections);
  al_h1_opts ho = {.max_body = p->max_request_bytes, .max_head = 65536,
                   .max_read_ahead = AL_GUARD_MAX_CLIENT_PENDING, .timeout_ms = p->client_timeout_ms,
                   .handler = handler, .ud = g};
  g->http = al_h1srv_new(base, &ho);
  if (!g->metrics || !g->buckets || !g->up || !g->http) {
    rc = al_error_set(err, AL_ENOMEM, "out of memory starting the guard");
    goto out;
  }
  if ((p->in.db && al_scanner_new(p->in.db, &g->in_scanner)) ||
      (p->out.db && al_scanner_new(p->out.db, &g->out_scanner))) {
    rc = al_error_set(err, AL_ENOMEM, "cannot create scanners");
    goto out;
  }
  const char *nc = getenv("AIRLOCK_GUARD_NO_SCAN_CACHE"); /* scan every input text every time */
  if (p->in.db && !(nc && *nc && strcmp(nc, "0")) &&
      !(g->scache = al_gscache_new(AL_GUARD_SCAN_CACHE_ENTRIES, AL_GUARD_SCAN_CACHE_BYTES))) {
    rc = al_error_set(err, AL_ENOMEM, "out of memory starting the guard");
    goto out;
  }
  if (p->audit_dir) {
    al_audit_options ao = {.dir = p->audit_dir, .secret_key_path = p->audit_key, .fsync = p->audit_fsync,
                           .checkpoint_every = (uint64_t)p->audit_checkpoint_every, .pii = p->audit_pii,
                           .scan_db = p->audit_db};
    if ((rc = al_audit_open(&ao, &g->audit, err))) goto out;
  }
  if (al_h1srv_listen(g->http, p->listen_host, p->listen_port, &g->port)) {
    rc = al_error_set(err, AL_ESYS, "cannot listen on %s:%d", p->listen_host, p->listen_port);
    goto out;
  }
  *out = g;
  g = NULL;
out:
  al_guard_free(g);
  return rc;
}

int al_guard_port(const al_guard *g) { return g->port; }

int al_guard_metrics(al_guard *g, al_buf *out) { return al_gmetrics_render(g->metrics, out, g->in_flight); }

void al_guard_free(al_guard *g) {
  if (!g) return;
  while (g->live) {
    gctx *c = g->live;
    c->req = NULL; /* al_h1srv_free below answers nothing more */
    if (c->x) {
      al_gup_cancel(c->x);
      c->x = NULL;
    }
    finish(c, "shutdown", 503);
  }
  al_h1srv_free(g->http);
  al_gup_free(g->up);
  al_scanner_free(g->in_scanner);
  al_gscache_free(g->scache);
  al_scanner_free(g->out_scanner);
  for (size_t i = 0; i < g->npool; i++) al_scanner_free(g->pool[i]);
  al_free(g->pool);
  al_audit_close(g->audit);
  al_gmetrics_free(g->metrics);
  al_free(g->buckets);
  al_free(g->upstream_key);
  sodium_memzero(g->keys, sizeof g->keys);
  for (int r = 0; r < G_ROUTE_N; r++) al_free(g->urls[r]);
  al_free(g);
}
