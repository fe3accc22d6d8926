/* finbot's HTTP side: libevent evhttp endpoints.
 *
 *   GET  /health               200 "ok"
 *   GET  /v1/models            the one model served (finbot-v1 or finbot-v2)
 *   POST /v1/chat/completions  (also /chat/completions) the chat API
 * Anything else: 404 (unknown path) or 405 (wrong method), with OpenAI-style error JSON.
 * Bodies over FB_MAX_BODY_BYTES get 413 (JSON; over twice that, evhttp's own HTML 413).
 *
 * Flaw 5 lives here: in v1 every chat request is answered after
 * FB_DELAY_PER_INFLIGHT_MS x (chat requests in flight, itself included), capped at
 * FB_MAX_DELAY_MS, using an evtimer per request -- the event loop never blocks. v2 (and
 * --fixed) answer at once. Every chat response carries "X-Finbot-Delay-Ms" with the delay
 * applied, so tests can check the flaw without timing assertions.
 *
 * A delayed request is a heap job on a list; if its client goes away meanwhile, evhttp
 * detaches the request from the connection (it stays ours) and the job frees it when the
 * timer fires. At shutdown, pending jobs are dropped before evhttp_free.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "http/upstream.h"
#include "finbot/finbot.h"

typedef struct fb_job {
  fb_server *srv;
  struct evhttp_request *req;
  struct event *timer;
  fb_request rq;
  fb_answer ans;
  uint64_t body_hash;
  long delay_ms;
  struct fb_job *prev, *next;
} fb_job;

struct fb_server {
  struct event_base *base;
  struct evhttp *http;
  fb_config cfg;
  struct evbuffer *out; /* scratch: contents move into the connection on send */
  char *models_json;
  long in_flight;
  fb_job *jobs;
};

static void send_json(fb_server *s, struct evhttp_request *req, int code, const char *reason,
                      const char *json) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", "application/json");
  evbuffer_add(s->out, json, strlen(json));
  evhttp_send_reply(req, code, reason, s->out);
}

static void send_error(fb_server *s, struct evhttp_request *req, int code, const char *reason,
                       const char *msg, const char *type, const char *param, const char *ecode) {
  char *j = fb_error_json(msg, type, param, ecode);
  if (j) {
    send_json(s, req, code, reason, j);
    free(j);
  } else {
    evhttp_send_error(req, code, reason);
  }
}

static int emit_body(void *ctx, const char *data, size_t len) {
  fb_server *s = ctx;
  return evbuffer_add(s->out, data, len) == 0 ? 0 : AL_ENOMEM;
}

typedef struct stream_ctx {
  fb_server *srv;
  struct evhttp_request *req;
} stream_ctx;

static int emit_event(void *ctx, const char *data, size_t len) {
  stream_ctx *sc = ctx;
  if (evbuffer_add(sc->srv->out, data, len)) return AL_ENOMEM;
  evhttp_send_reply_chunk(sc->req, sc->srv->out);
  return 0;
}

/* Answer a chat request whose decision is made; the request is finished afterwards. */
static void send_chat(fb_server *s, struct evhttp_request *req, const fb_request *rq,
                      const fb_answer *a, uint64_t body_hash, long delay_ms) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  char d[24];
  snprintf(d, sizeof d, "%ld", delay_ms);
  evhttp_add_header(h, "X-Finbot-Delay-Ms", d);
  if (rq->stream) {
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply_start(req, 200, "OK");
    stream_ctx sc = {s, req};
    fb_render(rq, a, &s->cfg, body_hash, emit_event, &sc);
    evbuffer_drain(s->out, evbuffer_get_length(s->out));
    evhttp_send_reply_end(req);
    return;
  }
  if (fb_render(rq, a, &s->cfg, body_hash, emit_body, s) != 0) {
    evbuffer_drain(s->out, evbuffer_get_length(s->out));
    send_error(s, req, 500, "Internal Server Error", "finbot could not render the answer",
               "server_error", NULL, NULL);
    return;
  }
  evhttp_add_header(h, "Content-Type", "application/json");
  struct evhttp_connection *conn = evhttp_request_get_connection(req);
  struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
  evhttp_send_reply(req, 200, "OK", s->out);
  /* written now rather than when epoll reports the socket writable (two epoll_ctl calls and
   * a loop turn per answer); when all of it went, evhttp's write-done step runs now (it
   * ends the request; bev is not used afterwards). Anything left stays with libevent. */
  if (bev && al_gbev_write(bev)) bufferevent_trigger(bev, EV_WRITE, 0);
}

static void job_free(fb_job *j) {
  if (!j) return;
  if (j->timer) event_free(j->timer);
  fb_request_cleanup(&j->rq);
  fb_answer_cleanup(&j->ans);
  al_free(j);
}

static void job_unlink(fb_server *s, fb_job *j) {
  if (j->prev)
    j->prev->next = j->next;
  else
    s->jobs = j->next;
  if (j->next) j->next->prev = j->prev;
  s->in_flight--;
}

static void on_job_timer(evutil_socket_t fd, short what, void *arg) {
  fb_job *j = arg;
  fb_server *s = j->srv;
  job_unlink(s, j);
  if (evhttp_request_get_connection(j->req) == NULL) {
    evhttp_request_free(j->req); /* the client went away while we waited */
  } else {
    send_chat(s, j->req, &j->rq, &j->ans, j->body_hash, j->delay_ms);
  }
  job_free(j);
}

static int err_status(int rc) { return rc == AL_ENOMEM ? 500 : 400; }

static void handle_chat(fb_server *s, struct evhttp_request *req) {
  fb_job *job = NULL;
  fb_job local;
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  if (len > FB_MAX_BODY_BYTES) {
    send_error(s, req, 413, "Payload Too Large", "request body too large (limit 1 MiB)",
               "invalid_request_error", NULL, "body_too_large");
    return;
  }
  const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
  int delayed = s->cfg.version == FB_V1 && !s->cfg.fixed;
  if (delayed) {
    if (!(job = al_calloc(1, sizeof *job))) {
      send_error(s, req, 500, "Internal Server Error", "out of memory", "server_error", NULL, NULL);
      return;
    }
  } else {
    memset(&local, 0, sizeof local);
    job = &local;
  }
  fb_answer_init(&job->ans);
  al_error err;
  const char *param = NULL;
  int rc = fb_request_parse(&job->rq, body, len, &err, &param);
  if (rc) {
    char msg[700];
    al_error_format(&err, msg, sizeof msg);
    send_error(s, req, err_status(rc), rc == AL_ENOMEM ? "Internal Server Error" : "Bad Request",
               msg, rc == AL_ENOMEM ? "server_error" : "invalid_request_error", param,
               rc == AL_EPARSE ? "invalid_json" : NULL);
    goto out;
  }
  job->body_hash = fb_hash(body, len, FB_HASH_INIT);
  if ((rc = fb_answer_compute(&job->rq, &s->cfg, &job->ans))) {
    send_error(s, req, 500, "Internal Server Error", al_strerror(rc), "server_error", NULL, NULL);
    goto out;
  }
  if (!delayed) {
    send_chat(s, req, &job->rq, &job->ans, job->body_hash, 0);
    goto out;
  }
  /* Flaw 5: v1 waits 2 ms per request in flight. */
  long delay = FB_DELAY_PER_INFLIGHT_MS * (s->in_flight + 1);
  if (delay > FB_MAX_DELAY_MS) delay = FB_MAX_DELAY_MS;
  job->srv = s;
  job->req = req;
  if (!(job->timer = evtimer_new(s->base, on_job_timer, job))) {
    send_error(s, req, 500, "Internal Server Error", "out of memory", "server_error", NULL, NULL);
    goto out;
  }
  job->delay_ms = delay;
  struct timeval tv = {delay / 1000, (delay % 1000) * 1000};
  job->next = s->jobs;
  if (s->jobs) s->jobs->prev = job;
  s->jobs = job;
  s->in_flight++;
  evtimer_add(job->timer, &tv);
  return; /* the timer owns the job now */
out:
  if (job == &local) {
    fb_request_cleanup(&job->rq);
    fb_answer_cleanup(&job->ans);
  } else {
    job_free(job);
  }
}

static void on_request(struct evhttp_request *req, void *arg) {
  fb_server *s = arg;
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  if (!path) path = "";
  int is_chat = !strcmp(path, "/v1/chat/completions") || !strcmp(path, "/chat/completions");
  int is_get = !strcmp(path, "/health") || !strcmp(path, "/v1/models") || !strcmp(path, "/models");
  if (!is_chat && !is_get) {
    char msg[160];
    snprintf(msg, sizeof msg, "unknown path '%.100s'", path);
    send_error(s, req, 404, "Not Found", msg, "invalid_request_error", NULL, "not_found");
    return;
  }
  if ((is_chat && m != EVHTTP_REQ_POST) || (is_get && m != EVHTTP_REQ_GET)) {
    send_error(s, req, 405, "Method Not Allowed",
               is_chat ? "use POST for this path" : "use GET for this path",
               "invalid_request_error", NULL, "method_not_allowed");
    return;
  }
  if (is_chat) {
    handle_chat(s, req);
  } else if (!strcmp(path, "/health")) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evbuffer_add(s->out, "ok", 2);
    evhttp_send_reply(req, 200, "OK", s->out);
  } else {
    send_json(s, req, 200, "OK", s->models_json);
  }
}

int fb_server_new(struct event_base *base, const fb_config *cfg, fb_server **out) {
  int rc = AL_ENOMEM;
  fb_server *s = al_calloc(1, sizeof *s);
  json_t *models = NULL;
  *out = NULL;
  if (!s) goto out;
  s->base = base;
  s->cfg = *cfg;
  if (!(s->cfg.cache = al_calloc(1, sizeof *s->cfg.cache))) goto out;
  char id[16];
  snprintf(id, sizeof id, "finbot-v%d", (int)cfg->version);
  models = json_pack("{s:s, s:[{s:s, s:s, s:I, s:s}]}", "object", "list", "data", "id", id,
                     "object", "model", "created", (json_int_t)FB_CREATED, "owned_by", "airlock");
  if (!models || !(s->models_json = json_dumps(models, JSON_COMPACT))) goto out;
  if (!(s->out = evbuffer_new()) || !(s->http = evhttp_new(base))) goto out;
  /* Up to twice the limit evhttp reads the body and we answer 413 in JSON; past that
   * evhttp refuses it itself (413, HTML) without buffering it. */
  evhttp_set_max_body_size(s->http, 2 * (ev_ssize_t)FB_MAX_BODY_BYTES);
  evhttp_set_max_headers_size(s->http, FB_MAX_HEADERS_BYTES);
  evhttp_set_timeout(s->http, FB_IDLE_TIMEOUT_S);
  evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                          EVHTTP_REQ_PATCH);
  evhttp_set_gencb(s->http, on_request, s);
  *out = s;
  s = NULL;
  rc = 0;
out:
  json_decref(models);
  fb_server_free(s);
  return rc;
}

int fb_server_accept(fb_server *s, int fd) {
  return evhttp_accept_socket_with_handle(s->http, fd) ? 0 : AL_ESYS;
}

long fb_server_in_flight(const fb_server *s) { return s->in_flight; }

void fb_server_free(fb_server *s) {
  if (!s) return;
  while (s->jobs) {
    fb_job *j = s->jobs;
    job_unlink(s, j);
    if (evhttp_request_get_connection(j->req) == NULL) evhttp_request_free(j->req);
    job_free(j); /* attached requests are freed with their connection by evhttp_free */
  }
  if (s->http) evhttp_free(s->http);
  if (s->out) evbuffer_free(s->out);
  free(s->models_json);
  fb_choices_cache_free(s->cfg.cache);
  al_free(s);
}
