/* Upstream transfers on the event loop (see upstream.h).
 *
 * libcurl tells us which sockets to watch (socket callback) and when to call it back
 * (timer callback); libevent watches them and calls curl_multi_socket_action(), after
 * which finished transfers are collected with curl_multi_info_read(). Cancelling a transfer
 * from inside one of its own callbacks is not allowed by libcurl, so a cancel only marks
 * the transfer; the write callback then aborts it and the finished transfer is dropped
 * silently (or, when idle, a zero-delay event removes it outside curl's callbacks).
 *
 * Sockets stay registered with the loop across transfers: when a transfer ends, curl says
 * REMOVE for its socket although the connection goes back to its pool, and IN again when
 * the next transfer reuses it; deleting and re-adding the event would cost two epoll_ctl
 * per request. A removed socket is "parked" instead (still watched for reading): if it
 * becomes readable while parked (the upstream closed the idle connection) the event is
 * deleted then, and curl finds the connection dead on its next liveness check. The event
 * is freed when curl really closes the socket (CURLOPT_CLOSESOCKETFUNCTION), before the
 * descriptor can be reused for another socket.
 *
 * Plain http:// to an IPv4 address goes through libevent's own HTTP client instead
 * (evhttp_connection / evhttp_make_request, see "evhttp upstreams" below): libcurl costs
 * ~90k instructions per transfer on the guard's loop (URL parsing, request building,
 * header parsing, a 16 KiB buffer) and two liveness poll() per reused connection; evhttp's
 * client ~15k, parsing the answer with the same code that parses the guard's requests.
 * (System calls come out about even: evhttp reads after ioctl(FIONREAD), at most 4 KiB a
 * time, and leaves a no-op epoll_ctl(MOD) at dispatch and at the answer's end.) https://
 * (certificate checks, SNI) and host names (curl's threaded resolver, happy eyeballs)
 * stay with libcurl. Both engines deliver the same callbacks with libcurl's error codes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "http/curl.h"
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "http/upstream.h"

#define EASY_POOL 256

struct gup {
  struct event_base *base;
  CURLM *multi;
  struct event *timer;
  struct event *sweep;
  int running;
  gxfer *cancelled; /* list of transfers to remove outside curl callbacks */
  gxfer *all;       /* every transfer in the multi handle */
  CURL *easy_pool[EASY_POOL]; /* reset handles kept for reuse (their buffers too) */
  int n_easy;
  struct sockinfo **socks; /* by descriptor: every socket curl opened and has not closed */
  size_t n_socks;
  /* request header lists, built once: [with body][with the bearer below] */
  struct curl_slist *hdrs[2][2];
  char *bearer;
  /* evhttp upstreams */
  struct gtarget *targets; /* parsed URLs, by text */
  struct gpool *pools;     /* one per host:port */
  long max_connections, n_conns;
  char *ev_auth;           /* "Bearer KEY" of u->bearer */
  int stamps, stamp_prio;  /* al_gup_stamps */
};

struct gxfer {
  gup *u;
  CURL *easy;
  struct curl_slist *headers;
  int own_headers; /* built for this transfer (not one of u->hdrs) */
  char *body;
  gxfer_data_cb data;
  gxfer_done_cb done;
  void *ud;
  int cancel;
  int in_sweep; /* on u->cancelled */
  int resend;   /* evhttp: send again (sweep) */
  int in_send;  /* evhttp: inside evhttp_make_request */
  gxfer *next_cancelled;
  gxfer *prev, *next; /* in u->all */
  char content_type[128];
  char errbuf[CURL_ERROR_SIZE];
  const char *const *headers_extra; /* gxfer_opts.headers (the caller's, for the transfer) */
  long retry_after_ms;     /* -1: none */
  int code;                /* the result handed to the done callback */
  /* evhttp transfers (x->t != NULL) */
  struct gtarget *t;
  struct gconn *conn;      /* the connection it is queued or running on */
  struct evhttp_request *req; /* until evhttp is done with it */
  size_t body_len;
  char *auth;              /* Authorization value (u->ev_auth or own_auth) */
  int own_auth;
  long status;
  int everr;               /* evhttp's error, from the error callback */
  int fail;                /* curl code to report once the request is dropped (sweep) */
  int got;                 /* answer bytes seen */
  int retried;
  int reused;              /* sent on a connection that had answered before */
  int connecting;          /* the timer is the connect timeout */
  int refused;             /* its connection was refused as it was opened */
  long long timeout_ms, connect_ms;
  struct event *timer;     /* whole-transfer / connect timeout */
};

typedef struct sockinfo {
  struct event *ev;
  short kind;   /* the event's flags; 0 when not added */
  int parked;   /* curl said REMOVE: no transfer uses it */
  curl_socket_t fd;
  gup *u;
} sockinfo;

static sockinfo *sock_get(gup *u, curl_socket_t s) {
  return s >= 0 && (size_t)s < u->n_socks ? u->socks[s] : NULL;
}

static void sock_drop(gup *u, curl_socket_t s) {
  sockinfo *si = sock_get(u, s);
  if (!si) return;
  event_free(si->ev);
  al_free(si);
  u->socks[s] = NULL;
}

static void xfer_free(gxfer *x) {
  if (x->u && (x->prev || x->u->all == x)) {
    if (x->prev) x->prev->next = x->next;
    else x->u->all = x->next;
    if (x->next) x->next->prev = x->prev;
  }
  if (x->t) { /* evhttp: the request is evhttp's (done, cancelled, or freed with its connection) */
    if (x->timer) event_free(x->timer);
    if (x->own_auth) al_free(x->auth);
    al_free(x->body);
    al_free(x);
    return;
  }
  if (x->easy && x->u && x->u->n_easy < EASY_POOL) {
    /* kept as configured (no curl_easy_reset: that frees curl's receive buffer); every
     * per-transfer option is set again by al_gup_start */
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, NULL);
    x->u->easy_pool[x->u->n_easy++] = x->easy;
  } else {
    curl_easy_cleanup(x->easy);
  }
  if (x->own_headers) curl_slist_free_all(x->headers);
  al_free(x->body);
  al_free(x);
}

/* Queues x for the sweep event (cancel, a failure to report, a resend): outside curl's and
 * evhttp's callbacks. */
static void sweep_add(gxfer *x) {
  if (x->timer) event_del(x->timer);
  if (x->in_sweep) return;
  x->in_sweep = 1;
  x->next_cancelled = x->u->cancelled;
  x->u->cancelled = x;
  event_active(x->u->sweep, 0, 0);
}

static void check_multi_info(gup *u) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(u->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL *easy = msg->easy_handle;
    CURLcode res = msg->data.result;
    gxfer *x = NULL;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t ra = -1;
    curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &ra);
    x->retry_after_ms = ra > 0 ? (long)(ra * 1000) : -1;
    x->code = (int)res;
    curl_multi_remove_handle(u->multi, easy);
    if (!x->cancel && x->done) x->done(x, (int)res, status, x->ud);
    if (!x->cancel) {
      xfer_free(x);
    } else {
      /* cancelled: it may also sit on the sweep list; unlink it there */
      gxfer **pp = &u->cancelled;
      while (*pp && *pp != x) pp = &(*pp)->next_cancelled;
      if (*pp) *pp = x->next_cancelled;
      xfer_free(x);
    }
  }
}

static void event_cb(evutil_socket_t fd, short kind, void *arg) {
  sockinfo *si = arg;
  gup *u = si->u;
  if (si->parked) { /* an idle pooled connection became readable: closed (or junk) */
    event_del(si->ev);
    si->kind = 0;
    return;
  }
  int action = (kind & EV_READ ? CURL_CSELECT_IN : 0) | (kind & EV_WRITE ? CURL_CSELECT_OUT : 0);
  curl_multi_socket_action(u->multi, fd, action, &u->running);
  check_multi_info(u);
}

static void timer_cb(evutil_socket_t fd, short kind, void *arg) {
  gup *u = arg;
  curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &u->running);
  check_multi_info(u);
}

static int multi_timer_cb(CURLM *multi, long timeout_ms, void *arg) {
  gup *u = arg;
  if (timeout_ms < 0) {
    evtimer_del(u->timer);
    return 0;
  }
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  evtimer_add(u->timer, &tv);
  return 0;
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *cbp, void *sockp) {
  gup *u = cbp;
  sockinfo *si = sockp ? sockp : sock_get(u, s);
  int rc = 0;
  short kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) | EV_PERSIST);
  if (what == CURL_POLL_REMOVE) {
    if (!si) goto out;
    si->parked = 1;
    kind = EV_READ | EV_PERSIST; /* parked: reading only (EOF of an idle connection) */
    if (si->kind == 0 || si->kind == kind) goto out;
  } else if (!si) {
    if (s < 0) {
      rc = -1;
      goto out;
    }
    if ((size_t)s >= u->n_socks) {
      size_t n = (size_t)s + 64;
      sockinfo **v = al_realloc(u->socks, n * sizeof *v);
      if (!v) {
        rc = -1;
        goto out;
      }
      memset(v + u->n_socks, 0, (n - u->n_socks) * sizeof *v);
      u->socks = v;
      u->n_socks = n;
    }
    if (!(si = al_calloc(1, sizeof *si)) || !(si->ev = event_new(u->base, s, kind, event_cb, NULL))) {
      al_free(si);
      rc = -1;
      goto out;
    }
    si->u = u;
    si->fd = s;
    event_assign(si->ev, u->base, s, kind, event_cb, si);
    u->socks[s] = si;
  } else {
    si->parked = 0;
    if (si->kind == kind) { /* unchanged: no epoll_ctl */
      curl_multi_assign(u->multi, s, si);
      goto out;
    }
  }
  if (si->kind) event_del(si->ev);
  event_assign(si->ev, u->base, s, kind, event_cb, si);
  si->kind = kind;
  event_add(si->ev, NULL);
  if (!si->parked) curl_multi_assign(u->multi, s, si);
out:
  return rc;
}

/* curl closes a socket: forget its event first (the descriptor may be reused at once). */
static int close_cb(void *ud, curl_socket_t s) {
  sock_drop(ud, s);
  return close(s);
}

/* ---- evhttp upstreams ----
 *
 * A target is one URL the guard asks (a route, the OTLP collector), parsed once with
 * evhttp_uri_parse. The connections to one host:port form a pool: a transfer takes an idle
 * connection, or opens one while fewer than max_connections exist, or else queues on the
 * least busy one (evhttp sends queued requests in turn). Idle connections stay watched by
 * evhttp (its close detection): a close by the upstream resets them, and the next request
 * on them connects again. A request that fails before any answer byte on a connection that
 * had answered before (the upstream closed it as the request went out) is sent once more,
 * as libcurl does with a dead reused connection.
 *
 * The request is written at once (sendmsg) after evhttp_make_request queued it, and
 * evhttp's write-done step is run then (bufferevent_trigger), as server.c does for
 * answers: evhttp would otherwise add write interest and write when epoll reports the
 * socket writable; write interest added and dropped inside one loop iteration cancels
 * out in libevent's changelist. (Read interest cannot be kept that way: evhttp disables
 * reading when it dispatches a request and when an answer is complete, and enables it
 * again for the next step or its close detection; each such pair in one iteration leaves
 * one no-op epoll_ctl(MOD), two per transfer.)
 *
 * Timeouts: one timer per transfer (the whole transfer; first the connect timeout when the
 * connection is not known to be connected). evhttp's own I/O timeout is set above it.
 * Cancelling, and failing a transfer whose data callback refused bytes, are never done
 * inside evhttp's callbacks: the transfer goes to the sweep event, which cancels the
 * request outside them (evhttp_cancel_request resets its connection). */
typedef struct gconn {
  struct evhttp_connection *evcon;
  struct gpool *pool;
  int busy;             /* requests queued or running on it */
  int served;           /* answered a request since it last connected */
  long long timeout_ms; /* evhttp's I/O timeout set on it */
  struct gconn *next_idle;
  /* al_gup_stamps: a one-shot read event that peeks the kernel's receive stamp before
   * evhttp reads (armed while a request runs) */
  struct event *peek;
  evutil_socket_t peek_fd;
  long long arrival_ns; /* stamp of the unread bytes, 0 when not known */
} gconn;

typedef struct gpool {
  char host[64];
  int port;
  char hosthdr[80];
  gconn **conns;
  size_t n;
  gconn *idle; /* busy == 0 */
  struct gpool *next;
} gpool;

typedef struct gtarget {
  char *url;
  gpool *pool; /* NULL: libcurl */
  char *path;  /* path and query */
  struct gtarget *next;
} gtarget;

static void ev_arm(gxfer *x);

static void conn_closed(struct evhttp_connection *evcon, void *arg) { ((gconn *)arg)->served = 0; }

long long al_peek_arrival_ns(int fd) {
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(struct timespec))];
    struct cmsghdr align;
  } ctl;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                      .msg_controllen = sizeof ctl.buf};
  if (recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT) <= 0) return 0;
  for (struct cmsghdr *m = CMSG_FIRSTHDR(&mh); m; m = CMSG_NXTHDR(&mh, m)) {
    if (m->cmsg_level != SOL_SOCKET || m->cmsg_type != SCM_TIMESTAMPNS) continue;
    struct timespec ts, real, mono;
    memcpy(&ts, CMSG_DATA(m), sizeof ts);
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    long long age = (long long)(real.tv_sec - ts.tv_sec) * 1000000000LL + (real.tv_nsec - ts.tv_nsec);
    if (age < 0) age = 0;
    return (long long)mono.tv_sec * 1000000000LL + mono.tv_nsec - age;
  }
  return 0;
}

static void peek_cb(evutil_socket_t fd, short kind, void *arg) {
  gconn *c = arg;
  if (!c->arrival_ns) c->arrival_ns = al_peek_arrival_ns(fd);
}

/* Watch c's socket for the next bytes: they are stamped before evhttp reads them. The
 * event is added after evhttp's own read event was (re-)enabled, so libevent activates it
 * first when both fire (it runs the newest event of a descriptor first); were it the other
 * way round, the stamp would be missing and the caller falls back to its own clock. */
static void peek_arm(gup *u, gconn *c) {
  struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
  evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
  if (!u->stamps || fd < 0) return;
  if (fd != c->peek_fd || !c->peek) {
    if (c->peek) event_free(c->peek);
    if (!(c->peek = event_new(u->base, fd, EV_READ, peek_cb, c))) return;
    event_priority_set(c->peek, u->stamp_prio);
    bufferevent_priority_set(bev, u->stamp_prio);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    c->peek_fd = fd;
  } else {
    event_del(c->peek);
  }
  event_add(c->peek, NULL);
}

/* The request on c ended (or was dropped): no stamps until the next one. */
static void peek_disarm(gconn *c) {
  if (c->peek) event_del(c->peek);
  c->arrival_ns = 0;
}

static gconn *conn_get(gup *u, gpool *p) {
  gconn *c = p->idle;
  if (c) {
    p->idle = c->next_idle;
    c->next_idle = NULL;
  } else if (u->n_conns < u->max_connections || !p->n) {
    gconn **v = al_realloc(p->conns, (p->n + 1) * sizeof *v);
    if (!v) return NULL;
    p->conns = v;
    if (!(c = al_calloc(1, sizeof *c))) return NULL;
    if (!(c->evcon = evhttp_connection_base_new(u->base, NULL, p->host, (ev_uint16_t)p->port))) {
      al_free(c);
      return NULL;
    }
    c->pool = p;
    c->peek_fd = -1;
    evhttp_connection_set_closecb(c->evcon, conn_closed, c);
    p->conns[p->n++] = c;
    u->n_conns++;
  } else { /* all busy: queue on the least busy */
    c = p->conns[0];
    for (size_t i = 1; i < p->n; i++)
      if (p->conns[i]->busy < c->busy) c = p->conns[i];
  }
  c->busy++;
  return c;
}

static void conn_put(gconn *c) {
  if (--c->busy) return;
  c->next_idle = c->pool->idle;
  c->pool->idle = c;
}

static gtarget *target_get(gup *u, const char *url) {
  gtarget *t;
  for (t = u->targets; t; t = t->next)
    if (!strcmp(t->url, url)) return t;
  if (!(t = al_calloc(1, sizeof *t)) || !(t->url = al_strdup(url))) goto fail;
  struct evhttp_uri *uri = evhttp_uri_parse(url);
  const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL, *host = uri ? evhttp_uri_get_host(uri) : NULL;
  struct in_addr a;
  if (scheme && !strcasecmp(scheme, "http") && host && strlen(host) < sizeof t->pool->host &&
      inet_pton(AF_INET, host, &a) == 1 && !evhttp_uri_get_userinfo(uri) && !evhttp_uri_get_fragment(uri)) {
    int port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
    const char *path = evhttp_uri_get_path(uri), *q = evhttp_uri_get_query(uri);
    al_buf b;
    al_buf_init(&b, 1u << 16);
    int rc = al_buf_printf(&b, "%s%s%s", path && path[0] ? path : "/", q ? "?" : "", q ? q : "");
    gpool *p;
    for (p = u->pools; p; p = p->next)
      if (p->port == port && !strcmp(p->host, host)) break;
    if (!rc && !p && (p = al_calloc(1, sizeof *p))) {
      snprintf(p->host, sizeof p->host, "%s", host);
      p->port = port;
      if (port == 80) snprintf(p->hosthdr, sizeof p->hosthdr, "%s", host);
      else snprintf(p->hosthdr, sizeof p->hosthdr, "%s:%d", host, port);
      p->next = u->pools;
      u->pools = p;
    }
    if (rc || !p) {
      al_buf_cleanup(&b);
      evhttp_uri_free(uri);
      goto fail;
    }
    t->path = b.data;
    t->pool = p;
  }
  if (uri) evhttp_uri_free(uri);
  t->next = u->targets;
  u->targets = t;
  return t;
fail:
  if (t) al_free(t->url);
  al_free(t);
  return NULL;
}

/* libcurl's code for what evhttp reported, so that both engines read the same. */
static int ev_code(const gxfer *x) {
  switch (x->everr) {
    case EVREQ_HTTP_TIMEOUT: return CURLE_OPERATION_TIMEDOUT;
    case EVREQ_HTTP_EOF: return x->got ? CURLE_PARTIAL_FILE : CURLE_GOT_NOTHING;
    case EVREQ_HTTP_INVALID_HEADER:
    case EVREQ_HTTP_DATA_TOO_LONG: return CURLE_WEIRD_SERVER_REPLY;
    default: return CURLE_RECV_ERROR;
  }
}

/* Retry-After: delay seconds or an HTTP date (RFC 9110 10.2.3), in ms from now; -1 if none
 * or unreadable. */
static long retry_after_ms(const char *v) {
  if (!v) return -1;
  while (*v == ' ' || *v == '\t') v++;
  if (*v >= '0' && *v <= '9') {
    char *end;
    long s = strtol(v, &end, 10);
    return s >= 0 && s < 86400 * 7 ? s * 1000 : -1;
  }
  time_t t = curl_getdate(v, NULL);
  if (t < 0) return -1;
  time_t now = time(NULL);
  return t > now ? (long)(t - now) * 1000 : 0;
}

static void ev_head(gxfer *x, struct evhttp_request *req) {
  if (x->status) return;
  x->status = evhttp_request_get_response_code(req);
  struct evkeyvalq *h = evhttp_request_get_input_headers(req);
  const char *ct = evhttp_find_header(h, "Content-Type");
  if (ct) snprintf(x->content_type, sizeof x->content_type, "%s", ct);
  x->retry_after_ms = retry_after_ms(evhttp_find_header(h, "Retry-After"));
}

static void ev_error(enum evhttp_request_error e, void *arg) { ((gxfer *)arg)->everr = (int)e; }

/* Answer bytes (evhttp drains the buffer after this returns). */
static void ev_chunk(struct evhttp_request *req, void *arg) {
  gxfer *x = arg;
  if (x->cancel || x->fail || x->req != req) return;
  ev_head(x, req);
  x->got = 1;
  struct evbuffer *b = evhttp_request_get_input_buffer(req);
  struct evbuffer_iovec v;
  while (x->data && evbuffer_peek(b, -1, NULL, &v, 1) > 0 && v.iov_len) {
    if (x->data(x, v.iov_base, v.iov_len, x->ud)) { /* refused (too large): abort */
      x->fail = CURLE_WRITE_ERROR;
      sweep_add(x);
      return;
    }
    evbuffer_drain(b, v.iov_len);
  }
  if (x->conn && x->conn->peek) { /* the next bytes get a stamp of their own */
    x->conn->arrival_ns = 0;
    peek_arm(x->u, x->conn);
  }
}

/* evhttp is done with the request: answered (req), failed (req NULL, error in everr), or
 * never connected (req without a status). req is freed by evhttp after this returns. */
static void ev_done(struct evhttp_request *req, void *arg) {
  gxfer *x = arg;
  gconn *c = x->conn;
  int reused = x->reused;
  x->req = NULL;
  x->conn = NULL;
  if (req) ev_head(x, req);
  int code = !req ? ev_code(x) : x->status <= 0 ? CURLE_COULDNT_CONNECT : 0;
  /* A connection refused at once (a local address) is reported by evhttp as an end of
   * file: ev_send saw it. */
  if (code && code != CURLE_OPERATION_TIMEDOUT && !x->got && x->refused) code = CURLE_COULDNT_CONNECT;
  if (c) {
    if (!code) c->served = 1;
    peek_disarm(c);
    conn_put(c);
  }
  if (x->cancel || x->fail) return; /* the sweep has it */
  if (code && reused && !x->got && !x->retried && code != CURLE_OPERATION_TIMEDOUT) {
    x->retried = 1; /* a pooled connection the upstream had closed: once more, fresh */
    x->resend = 1;
    sweep_add(x);
    return;
  }
  if (x->in_send) { /* evhttp failed inside evhttp_make_request: report from the sweep */
    x->fail = code ? code : CURLE_COULDNT_CONNECT;
    sweep_add(x);
    return;
  }
  if (x->timer) event_del(x->timer);
  x->code = code;
  if (x->done) x->done(x, code, x->status, x->ud);
  xfer_free(x);
}

/* Queues the request on a pooled connection and writes it at once when connected. */
static int ev_send(gxfer *x) {
  gup *u = x->u;
  gtarget *t = x->t;
  gconn *c = conn_get(u, t->pool);
  if (!c) return AL_ENOMEM;
  struct evhttp_request *r = evhttp_request_new(ev_done, x);
  if (!r) {
    conn_put(c);
    return AL_ENOMEM;
  }
  evhttp_request_set_chunked_cb(r, ev_chunk);
  evhttp_request_set_error_cb(r, ev_error);
  struct evkeyvalq *h = evhttp_request_get_output_headers(r);
  int bad = evhttp_add_header(h, "Host", t->pool->hosthdr);
  if (!bad && x->body)
    bad = evhttp_add_header(h, "Content-Type", "application/json") ||
          evbuffer_add(evhttp_request_get_output_buffer(r), x->body, x->body_len);
  if (!bad && x->auth) bad = evhttp_add_header(h, "Authorization", x->auth);
  for (const char *const *e = x->headers_extra; !bad && e && e[0] && e[1]; e += 2)
    bad = evhttp_add_header(h, e[0], e[1]);
  if (bad) {
    evhttp_request_free(r);
    conn_put(c);
    return AL_ENOMEM;
  }
  if (c->timeout_ms < x->timeout_ms + 1000) { /* evhttp's I/O timeout: never before ours */
    struct timeval tv = {(time_t)((x->timeout_ms + 1000) / 1000), (suseconds_t)((x->timeout_ms + 1000) % 1000 * 1000)};
    evhttp_connection_set_timeout_tv(c->evcon, &tv);
    c->timeout_ms = x->timeout_ms + 1000;
  }
  x->conn = c;
  x->req = r;
  x->reused = c->served;
  x->refused = 0;
  x->got = 0;
  x->everr = -1;
  x->status = 0;
  x->retry_after_ms = -1;
  x->content_type[0] = '\0';
  x->in_send = 1;
  int rc = evhttp_make_request(c->evcon, r, x->body ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, t->path);
  x->in_send = 0;
  if (x->in_sweep) return 0; /* evhttp already ended it (inside the call): the sweep reports */
  if (rc) { /* not queued: the request is still ours */
    x->req = NULL;
    x->conn = NULL;
    evhttp_request_free(r);
    conn_put(c);
    return AL_ECONN;
  }
  struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
  evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
  struct tcp_info ti;
  socklen_t tl = sizeof ti;
  if (!x->reused && fd >= 0 && !getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) && ti.tcpi_state == TCP_CLOSE)
    x->refused = 1; /* the connect evhttp just made failed already */
  if (bev && evbuffer_get_length(bufferevent_get_output(bev)) && al_gbev_write(bev))
    bufferevent_trigger(bev, EV_WRITE, 0); /* evhttp's "request written" step */
  if (x->conn == c && x->req == r) {
    c->arrival_ns = 0;
    peek_arm(u, c);
  }
  x->connecting = !x->reused && x->connect_ms > 0 && x->connect_ms < x->timeout_ms;
  ev_arm(x);
  return 0;
}

/* Drops the request (outside evhttp's callbacks), if evhttp still has it. */
static void ev_drop(gxfer *x) {
  struct evhttp_request *r = x->req;
  gconn *c = x->conn;
  if (!r) return;
  x->req = NULL;
  x->conn = NULL;
  peek_disarm(c);
  evhttp_cancel_request(r); /* no callback but the error one; resets the connection */
  conn_put(c);
}

static void ev_fail(gxfer *x, int code) {
  ev_drop(x);
  if (x->timer) event_del(x->timer);
  x->code = code;
  if (x->done) x->done(x, code, x->status, x->ud);
  xfer_free(x);
}

static void ev_timeout(evutil_socket_t fd, short kind, void *arg) {
  gxfer *x = arg;
  if (x->cancel || x->fail || x->resend) return;
  if (x->connecting) { /* connected by now? then the rest of the whole-transfer timeout */
    x->connecting = 0;
    struct bufferevent *bev = x->conn ? evhttp_connection_get_bufferevent(x->conn->evcon) : NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    evutil_socket_t s = bev ? bufferevent_getfd(bev) : -1;
    if (x->got || (s >= 0 && getpeername(s, (struct sockaddr *)&ss, &sl) == 0)) {
      long long left = x->timeout_ms - x->connect_ms;
      struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000 * 1000)};
      evtimer_add(x->timer, &tv);
      return;
    }
  }
  ev_fail(x, CURLE_OPERATION_TIMEDOUT);
}

static void ev_arm(gxfer *x) {
  long long ms = x->connecting ? x->connect_ms : x->timeout_ms;
  if (ms <= 0) return;
  struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
  evtimer_add(x->timer, &tv);
}

/* A transfer on the sweep list: cancelled, failed by its data callback, or to resend. */
static void ev_sweep(gxfer *x) {
  x->in_sweep = 0;
  if (x->cancel) {
    ev_drop(x);
    xfer_free(x);
    return;
  }
  if (x->resend && !x->fail) {
    x->resend = 0;
    if (ev_send(x) == 0) return;
    x->fail = CURLE_COULDNT_CONNECT;
  }
  ev_fail(x, x->fail);
}

static void pools_free(gup *u) {
  while (u->pools) {
    gpool *p = u->pools;
    u->pools = p->next;
    for (size_t i = 0; i < p->n; i++) {
      evhttp_connection_set_closecb(p->conns[i]->evcon, NULL, NULL);
      if (p->conns[i]->peek) event_free(p->conns[i]->peek);
      evhttp_connection_free(p->conns[i]->evcon); /* frees queued requests, no callbacks */
      al_free(p->conns[i]);
    }
    al_free(p->conns);
    al_free(p);
  }
  while (u->targets) {
    gtarget *t = u->targets;
    u->targets = t->next;
    al_free(t->url);
    al_free(t->path);
    al_free(t);
  }
}

int al_gbev_write(struct bufferevent *bev) {
  struct evbuffer *out = bufferevent_get_output(bev);
  evutil_socket_t fd = bufferevent_getfd(bev);
  int all = fd >= 0;
  /* a socket bufferevent keeps the front of its output frozen and thaws it around its own
   * writes (bufferevent_writecb); so does this */
  evbuffer_unfreeze(out, 1);
  while (all && evbuffer_get_length(out)) {
    struct evbuffer_iovec v[16];
    int n = evbuffer_peek(out, -1, NULL, v, 16);
    if (n > 16) n = 16;
    struct iovec iov[16];
    for (int i = 0; i < n; i++) {
      iov[i].iov_base = v[i].iov_base;
      iov[i].iov_len = v[i].iov_len;
    }
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
    if (w <= 0 || evbuffer_drain(out, (size_t)w)) all = 0;
  }
  evbuffer_freeze(out, 1);
  return all;
}

static void sweep_cb(evutil_socket_t fd, short kind, void *arg) {
  gup *u = arg;
  while (u->cancelled) {
    gxfer *x = u->cancelled;
    u->cancelled = x->next_cancelled;
    if (x->t) {
      ev_sweep(x);
      continue;
    }
    curl_multi_remove_handle(u->multi, x->easy);
    xfer_free(x);
  }
}

gup *al_gup_new(struct event_base *base, long max_connections) {
  gup *u = al_calloc(1, sizeof *u);
  if (!u) return NULL;
  u->base = base;
  u->max_connections = max_connections;
  u->timer = evtimer_new(base, timer_cb, u);
  u->sweep = event_new(base, -1, 0, sweep_cb, u);
  if (!u->timer || !u->sweep) {
    al_gup_free(u);
    return NULL;
  }
  return u;
}

/* libcurl's multi handle, made with the first transfer that needs libcurl (loading it:
 * http/curl.h); NULL when out of memory. */
static CURLM *multi_get(gup *u) {
  if (u->multi) return u->multi;
  if (!(u->multi = curl_multi_init())) return NULL;
  curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
  curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
  curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
  curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
  curl_multi_setopt(u->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, u->max_connections);
  curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, u->max_connections);
  return u->multi;
}

void al_gup_free(gup *u) {
  if (!u) return;
  sweep_cb(-1, 0, u);
  /* abort what is still running: no callbacks (evhttp's requests go with their connections) */
  while (u->all) {
    gxfer *x = u->all;
    if (!x->t && u->multi) curl_multi_remove_handle(u->multi, x->easy);
    xfer_free(x);
  }
  pools_free(u);
  al_free(u->ev_auth);
  if (u->multi) {
    curl_multi_cleanup(u->multi);
    while (u->n_easy) curl_easy_cleanup(u->easy_pool[--u->n_easy]);
  }
  for (size_t i = 0; i < u->n_socks; i++) sock_drop(u, (curl_socket_t)i);
  al_free(u->socks);
  for (int i = 0; i < 4; i++)
    if (u->hdrs[i / 2][i % 2]) curl_slist_free_all(u->hdrs[i / 2][i % 2]);
  al_free(u->bearer);
  if (u->timer) event_free(u->timer);
  if (u->sweep) event_free(u->sweep);
  al_free(u);
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud) {
  gxfer *x = ud;
  if (x->cancel) return 0;
  if (x->data && x->data(x, p, size * n, x->ud)) return 0;
  return size * n;
}

static size_t header_cb(char *p, size_t size, size_t n, void *ud) {
  gxfer *x = ud;
  size_t len = size * n;
  if (len > 13 && !strncasecmp(p, "content-type:", 13)) {
    const char *v = p + 13;
    size_t vl = len - 13;
    while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
    snprintf(x->content_type, sizeof x->content_type, "%.*s", (int)vl, v);
  }
  return len;
}

/* A transfer's common part, either engine (NULL: out of memory). */
static gxfer *xfer_new(gup *u, gxfer_data_cb data, gxfer_done_cb done, void *ud) {
  gxfer *x = al_calloc(1, sizeof *x);
  if (!x) return NULL;
  x->u = u;
  x->data = data;
  x->done = done;
  x->ud = ud;
  x->retry_after_ms = -1;
  return x;
}

static int ev_start(gup *u, gtarget *t, const gxfer_opts *o, gxfer_data_cb data, gxfer_done_cb done,
                    void *ud, gxfer **out) {
  int rc = AL_ENOMEM;
  gxfer *x = xfer_new(u, data, done, ud);
  if (!x) return AL_ENOMEM;
  x->t = t;
  x->headers_extra = o->headers;
  x->timeout_ms = o->timeout_ms;
  x->connect_ms = o->connect_timeout_ms;
  x->body_len = o->body_len;
  if (o->body && !(x->body = al_strndup(o->body, o->body_len))) goto fail;
  if (o->bearer && o->bearer[0]) {
    if (!u->bearer && !(u->bearer = al_strdup(o->bearer))) goto fail; /* the first bearer is cached */
    char **slot = !strcmp(u->bearer, o->bearer) ? &u->ev_auth : &x->auth;
    if (!*slot) {
      al_buf b;
      al_buf_init(&b, 4096);
      if (al_buf_printf(&b, "Bearer %s", o->bearer)) {
        al_buf_cleanup(&b);
        goto fail;
      }
      *slot = b.data;
      x->own_auth = slot == &x->auth;
    }
    x->auth = *slot;
  }
  if (!(x->timer = evtimer_new(u->base, ev_timeout, x))) goto fail;
  x->next = u->all;
  if (u->all) u->all->prev = x;
  u->all = x;
  if ((rc = ev_send(x))) goto fail;
  *out = x;
  return 0;
fail:
  xfer_free(x);
  return rc;
}

int al_gup_start(gup *u, const gxfer_opts *o, gxfer_data_cb data, gxfer_done_cb done, void *ud,
                 gxfer **out) {
  gtarget *t = target_get(u, o->url);
  *out = NULL;
  if (!t) return AL_ENOMEM;
  if (t->pool) return ev_start(u, t, o, data, done, ud, out);
  if (!multi_get(u)) return AL_ENOMEM;
  gxfer *x = xfer_new(u, data, done, ud);
  if (!x) return AL_ENOMEM;
  int fresh = !u->n_easy;
  x->easy = fresh ? curl_easy_init() : u->easy_pool[--u->n_easy];
  if (!x->easy) goto fail;
  if (o->body && !(x->body = al_strndup(o->body, o->body_len))) goto fail;
  int with_bearer = o->bearer && o->bearer[0];
  if (with_bearer && !u->bearer) u->bearer = al_strdup(o->bearer); /* the first bearer is cached */
  int shared = !with_bearer || (u->bearer && !strcmp(u->bearer, o->bearer));
  struct curl_slist **slot = &u->hdrs[o->body != NULL][with_bearer];
  if (o->headers && o->headers[0]) shared = 0; /* a list of its own */
  if (!shared || !*slot) {
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    if (h && o->body) h = curl_slist_append(h, "Content-Type: application/json");
    if (h && with_bearer) {
      char line[1024];
      snprintf(line, sizeof line, "Authorization: Bearer %s", o->bearer);
      h = curl_slist_append(h, line);
    }
    for (const char *const *e = o->headers; h && e && e[0] && e[1]; e += 2) {
      char line[4096];
      snprintf(line, sizeof line, "%s: %s", e[0], e[1]);
      h = curl_slist_append(h, line);
    }
    if (!h) goto fail;
    if (shared) *slot = h;
    else x->own_headers = 1;
    x->headers = h;
  } else {
    x->headers = *slot;
  }
  CURL *e = x->easy;
  if (fresh) { /* the same for every transfer */
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* no proxy: no environment look-ups per transfer */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, u);
  }
  curl_easy_setopt(e, CURLOPT_URL, o->url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
  if (o->body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
  } else {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(e, CURLOPT_PRIVATE, x);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
  if (curl_multi_add_handle(u->multi, e) != CURLM_OK) goto fail;
  x->next = u->all;
  if (u->all) u->all->prev = x;
  u->all = x;
  *out = x;
  return 0;
fail:
  xfer_free(x);
  return AL_ENOMEM;
}

long al_gxfer_status(gxfer *x) {
  if (x->t) return x->status;
  long s = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &s);
  return s;
}

const char *al_gxfer_content_type(gxfer *x) { return x->content_type; }

long al_gxfer_retry_after_ms(gxfer *x) { return x->retry_after_ms; }

long long al_gxfer_arrival_ns(gxfer *x) { return x->conn ? x->conn->arrival_ns : 0; }

const char *al_gxfer_error(gxfer *x) {
  if (!x->t) return x->errbuf[0] ? x->errbuf : curl_easy_strerror((CURLcode)x->code);
  snprintf(x->errbuf, sizeof x->errbuf, "%s (%s port %d)", curl_easy_strerror((CURLcode)x->code),
           x->t->pool->host, x->t->pool->port);
  return x->errbuf;
}

void al_gup_stamps(gup *u, int priority) {
  u->stamps = 1;
  u->stamp_prio = priority;
}

int al_gup_direct(gup *u, const char *url) {
  gtarget *t = target_get(u, url);
  return t && t->pool;
}

void al_gup_cancel(gxfer *x) {
  if (!x || x->cancel) return;
  x->cancel = 1;
  sweep_add(x);
}

const char *al_gup_error_kind(int c) {
  switch (c) {
    case CURLE_OK: return "ok";
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST: return "connect";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: return "reset";
    case CURLE_WRITE_ERROR: return "aborted";
    default: return "error";
  }
}
