/* The HTTP/1.1 client engine of src/http (see h1cli.h): answer parsing on http_parser,
 * connection pools, requests and their timeouts on libevent's raw events.
 *
 * A transfer takes an idle connection of its pool, or opens one while fewer than
 * max_connections exist (a pool's first connection always), or else waits in its pool's
 * FIFO until a connection is free. Its request goes out with one send() when the
 * connection is open (a partial write continues on EV_WRITE). Each read event reads once
 * into the engine's buffer and feeds the parser, whose body callback hands the bytes on.
 * A complete answer that allows keep-alive and had no bytes after it returns its
 * connection to the idle list; otherwise the connection is closed. A failure before any
 * answer byte on a connection that had answered before (the server closed it while it was
 * idle) sends the request once more on a fresh connection, as libcurl does.
 *
 * Callbacks are only called from the loop's events: failures found while a transfer is
 * being started (a refused connect, a failed write) are queued and reported by a
 * zero-delay event. One timer per transfer: the whole transfer, or first the connect
 * timeout when it opens a connection (extended to the whole when it fires on an open
 * connection, so nothing is re-armed in the common path). */
#include "http/h1cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "airlock/error.h"
#include "airlock/util.h"
#include "http/curl.h"

enum { H1C_CONNECTING = 1, H1C_OPEN, H1C_FAILED };

/* ---- the answer parser ---- */

static int on_header_field(http_parser *p, const char *at, size_t n) {
  al_h1resp *r = p->data;
  if (r->in_value) { /* a new header */
    r->in_value = 0;
    r->name_len = 0;
    r->field = 0;
  }
  if (r->name_len < sizeof r->name) {
    size_t room = sizeof r->name - r->name_len;
    memcpy(r->name + r->name_len, at, n < room ? n : room);
  }
  r->name_len += n; /* may pass sizeof name: then it is no header we read */
  return 0;
}

static void value_add(char *dst, size_t cap, size_t *len, const char *at, size_t n) {
  if (*len + 1 >= cap) return;
  size_t k = cap - 1 - *len < n ? cap - 1 - *len : n;
  memcpy(dst + *len, at, k);
  *len += k;
  dst[*len] = '\0';
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
  al_h1resp *r = p->data;
  if (!r->in_value) {
    r->in_value = 1;
    if (r->name_len == 12 && !strncasecmp(r->name, "Content-Type", 12)) r->field = r->ct_len ? 0 : 1;
    else if (r->name_len == 11 && !strncasecmp(r->name, "Retry-After", 11)) r->field = r->ra_len ? 0 : 2;
    else r->field = 0;
  }
  if (r->field == 1) value_add(r->content_type, sizeof r->content_type, &r->ct_len, at, n);
  else if (r->field == 2) value_add(r->retry_after, sizeof r->retry_after, &r->ra_len, at, n);
  return 0;
}

static int on_headers_complete(http_parser *p) {
  al_h1resp *r = p->data;
  if (p->status_code < 100) { /* http_parser takes any three digits */
    r->state = AL_H1_BAD;
    return -1;
  }
  r->interim = p->status_code >= 100 && p->status_code < 200 && p->status_code != 101;
  if (!r->interim) r->status = p->status_code;
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  al_h1resp *r = p->data;
  if (r->body && r->body(r->ud, at, n)) {
    r->state = AL_H1_ABORT;
    return -1;
  }
  return 0;
}

static int on_message_complete(http_parser *p) {
  al_h1resp *r = p->data;
  if (r->interim) { /* 100 Continue and the like: the answer follows */
    r->interim = 0;
    r->ct_len = r->ra_len = 0;
    r->content_type[0] = r->retry_after[0] = '\0';
    r->in_value = 0;
    r->name_len = 0;
    return 0;
  }
  r->state = AL_H1_DONE;
  r->keep_alive = http_should_keep_alive(p);
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void al_h1resp_init(al_h1resp *r, al_h1_body_cb body, void *ud) {
  http_parser_init(&r->p, HTTP_RESPONSE);
  r->p.data = r;
  r->body = body;
  r->ud = ud;
  r->status = 0;
  r->state = AL_H1_MORE;
  r->keep_alive = r->interim = r->field = r->in_value = 0;
  r->name_len = r->ct_len = r->ra_len = 0;
  r->content_type[0] = r->retry_after[0] = '\0';
}

int al_h1resp_feed(al_h1resp *r, const char *p, size_t n, size_t *used) {
  *used = 0;
  if (r->state != AL_H1_MORE) return r->state;
  size_t k = http_parser_execute(&r->p, &settings, p, n);
  enum http_errno e = HTTP_PARSER_ERRNO(&r->p);
  if (r->state == AL_H1_DONE) {
    *used = k < n ? k : n;
  } else if (r->state == AL_H1_MORE && e != HPE_OK) {
    r->state = n == 0 && e == HPE_INVALID_EOF_STATE ? AL_H1_EOF : AL_H1_BAD;
  } else if (r->state == AL_H1_MORE && n == 0) {
    r->state = AL_H1_EOF; /* closed before the answer began */
  } else {
    *used = k;
  }
  return r->state;
}

/* ---- the engine ---- */

static void conn_read_cb(evutil_socket_t fd, short kind, void *arg);
static void conn_write_cb(evutil_socket_t fd, short kind, void *arg);
static void x_attach(al_h1x *x, al_h1conn *c);

long long al_h1_cmsg_ns(struct msghdr *mh) {
  for (struct cmsghdr *m = CMSG_FIRSTHDR(mh); m; m = CMSG_NXTHDR(mh, m)) {
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

/* A new connection of p, connecting (or connected, or failed at once: state). NULL when
 * out of memory. */
static al_h1conn *conn_open(al_h1pool *p) {
  al_h1 *h = p->h;
  al_h1conn *c = al_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->pool = p;
  c->state = H1C_FAILED;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  c->next = p->all;
  if (p->all) p->all->prev = c;
  p->all = c;
  p->n++;
  h->n_conns++;
  event_assign(&c->rev, h->base, c->fd, EV_READ | EV_PERSIST, conn_read_cb, c);
  event_assign(&c->wev, h->base, c->fd, EV_WRITE, conn_write_cb, c);
  if (c->fd < 0) goto out;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (h->stamps) {
    setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    event_priority_set(&c->rev, h->prio);
    event_priority_set(&c->wev, h->prio);
  }
  if (connect(c->fd, (struct sockaddr *)&p->sa, sizeof p->sa) == 0) c->state = H1C_OPEN;
  else if (errno == EINPROGRESS) c->state = H1C_CONNECTING;
  else goto out;
  event_add(&c->rev, NULL);
  if (c->state == H1C_CONNECTING) event_add(&c->wev, NULL);
out:
  return c;
}

static void conn_close(al_h1conn *c) {
  al_h1pool *p = c->pool;
  if (c->fd >= 0) {
    event_del(&c->rev);
    event_del(&c->wev);
    close(c->fd);
  }
  if (c->prev) c->prev->next = c->next;
  else p->all = c->next;
  if (c->next) c->next->prev = c->prev;
  for (al_h1conn **pp = &p->idle; *pp; pp = &(*pp)->next_idle)
    if (*pp == c) {
      *pp = c->next_idle;
      break;
    }
  p->n--;
  p->h->n_conns--;
  al_free(c);
}

/* Serves waiting transfers with idle or new connections. */
static void pool_kick(al_h1pool *p) {
  al_h1 *h = p->h;
  while (p->wait_head && !h->closing) {
    al_h1conn *c = p->idle;
    if (c) p->idle = c->next_idle;
    else if (h->n_conns < h->max_connections || !p->n) c = conn_open(p);
    if (!c) break;
    al_h1x *x = p->wait_head;
    p->wait_head = x->next;
    if (!p->wait_head) p->wait_tail = NULL;
    x->next = NULL;
    x->queued = 0;
    x_attach(x, c);
  }
}

/* x's connection is done with (keep: back to the idle list, else closed). */
static void conn_release(al_h1x *x, int keep) {
  al_h1conn *c = x->conn;
  al_h1pool *p;
  if (!c) return;
  p = c->pool;
  x->conn = NULL;
  c->x = NULL;
  if (keep) {
    c->served = 1;
    c->next_idle = p->idle;
    p->idle = c;
  } else {
    conn_close(c);
  }
  pool_kick(p);
}

static void x_finish(al_h1x *x, int code) {
  if (x->armed) {
    event_del(&x->timer);
    x->armed = 0;
  }
  x->done(x, code);
}

static void x_fail(al_h1x *x, int code) {
  conn_release(x, 0);
  x_finish(x, code);
}

/* A failure while starting (inside al_h1x_send or a pool kick): reported from the loop. */
static void x_defer(al_h1x *x, int code) {
  al_h1 *h = x->pool->h;
  conn_release(x, 0);
  if (x->armed) { /* the timer must not end it while it waits */
    event_del(&x->timer);
    x->armed = 0;
  }
  x->fail = code;
  x->deferred = 1;
  x->next = h->deferred;
  h->deferred = x;
  event_active(&h->sweep, 0, 0);
}

/* Once more on a fresh connection (the pooled one was closed by the server). */
static void x_retry(al_h1x *x, int code, int now) {
  conn_release(x, 0);
  x->retried = 1;
  al_h1conn *c = x->pool->h->closing ? NULL : conn_open(x->pool);
  if (c) {
    x_attach(x, c);
  } else if (now) {
    x_finish(x, code);
  } else {
    x_defer(x, code);
  }
}

/* The connection failed under x before the answer was complete. now: called from x's own
 * event (a callback may be called). */
static void x_broken(al_h1x *x, int code, int now) {
  if (!x->got && x->reused && !x->retried && code != CURLE_OPERATION_TIMEDOUT) x_retry(x, code, now);
  else if (now) x_fail(x, code);
  else x_defer(x, code);
}

static void x_write(al_h1x *x) {
  al_h1conn *c = x->conn;
  ssize_t w = send(c->fd, x->req + x->sent, x->req_len - x->sent, MSG_NOSIGNAL);
  if (w > 0) x->sent += (size_t)w;
  if (x->sent == x->req_len) return;
  if (w < 0 && errno != EAGAIN && errno != EINTR) {
    x_broken(x, errno == ECONNREFUSED ? CURLE_COULDNT_CONNECT : CURLE_SEND_ERROR, 0);
    return;
  }
  event_add(&c->wev, NULL);
}

static void x_attach(al_h1x *x, al_h1conn *c) {
  c->x = x;
  x->conn = c;
  x->reused = c->served;
  x->sent = 0;
  x->got = 0;
  x->arrival_ns = 0;
  al_h1resp_init(&x->r, x->r.body, x->r.ud);
  if (c->state == H1C_OPEN) x_write(x);
  else if (c->state == H1C_FAILED) x_defer(x, CURLE_COULDNT_CONNECT);
}

/* The connect of c ended (writable, or readable: an error). */
static void conn_connected(al_h1conn *c) {
  int err = 0;
  socklen_t l = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) || err) {
    c->state = H1C_FAILED;
    if (c->x) x_fail(c->x, CURLE_COULDNT_CONNECT);
    else conn_close(c);
    return;
  }
  c->state = H1C_OPEN;
  event_del(&c->wev);
  if (c->x) x_write(c->x);
}

static void conn_write_cb(evutil_socket_t fd, short kind, void *arg) {
  al_h1conn *c = arg;
  if (c->state == H1C_CONNECTING) conn_connected(c);
  else if (c->x && c->x->sent < c->x->req_len) x_write(c->x);
}

static void conn_read_cb(evutil_socket_t fd, short kind, void *arg) {
  al_h1conn *c = arg;
  al_h1 *h = c->pool->h;
  al_h1x *x = c->x;
  ssize_t n;
  if (c->state == H1C_CONNECTING) {
    conn_connected(c);
    return;
  }
  if (!x) { /* idle and readable: closed by the server (or junk) */
    al_h1pool *p = c->pool;
    conn_close(c);
    pool_kick(p);
    return;
  }
  if (h->stamps) {
    struct iovec iov = {h->rbuf, sizeof h->rbuf};
    union {
      char buf[CMSG_SPACE(sizeof(struct timespec))];
      struct cmsghdr align;
    } ctl;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    n = recvmsg(fd, &mh, 0);
    if (n > 0) x->arrival_ns = al_h1_cmsg_ns(&mh);
  } else {
    n = read(fd, h->rbuf, sizeof h->rbuf);
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    x_broken(x, CURLE_RECV_ERROR, 1);
    return;
  }
  size_t used;
  if (n > 0) x->got = 1;
  int st = al_h1resp_feed(&x->r, h->rbuf, (size_t)n, &used);
  switch (st) {
    case AL_H1_MORE: break;
    case AL_H1_DONE:
      conn_release(x, x->r.keep_alive && n > 0 && used == (size_t)n && x->sent == x->req_len);
      x_finish(x, 0);
      break;
    case AL_H1_EOF: x_broken(x, x->got ? CURLE_PARTIAL_FILE : CURLE_GOT_NOTHING, 1); break;
    case AL_H1_ABORT: x_fail(x, CURLE_WRITE_ERROR); break;
    default: x_fail(x, CURLE_WEIRD_SERVER_REPLY); break;
  }
}

static void x_timeout(evutil_socket_t fd, short kind, void *arg) {
  al_h1x *x = arg;
  x->armed = 0;
  if (x->connecting) {
    x->connecting = 0;
    if (x->conn && x->conn->state == H1C_OPEN) { /* connected: the rest of the whole */
      long long left = x->timeout_ms - x->connect_ms;
      struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000 * 1000)};
      evtimer_add(&x->timer, &tv);
      x->armed = 1;
      return;
    }
  }
  if (x->queued) {
    al_h1pool *p = x->pool;
    al_h1x *prev = NULL;
    for (al_h1x *w = p->wait_head; w; prev = w, w = w->next)
      if (w == x) {
        if (prev) prev->next = x->next;
        else p->wait_head = x->next;
        if (p->wait_tail == x) p->wait_tail = prev;
        break;
      }
    x->queued = 0;
    x->next = NULL;
  }
  x_fail(x, CURLE_OPERATION_TIMEDOUT);
}

static void sweep_cb(evutil_socket_t fd, short kind, void *arg) {
  al_h1 *h = arg;
  while (h->deferred) {
    al_h1x *x = h->deferred;
    h->deferred = x->next;
    x->next = NULL;
    x->deferred = 0;
    x_finish(x, x->fail);
  }
}

al_h1 *al_h1_new(struct event_base *base, long max_connections) {
  al_h1 *h = al_calloc(1, sizeof *h);
  if (!h) return NULL;
  h->base = base;
  h->max_connections = max_connections > 0 ? max_connections : 1;
  event_assign(&h->sweep, base, -1, 0, sweep_cb, h);
  return h;
}

void al_h1_free(al_h1 *h) {
  if (!h) return;
  h->closing = 1;
  event_del(&h->sweep);
  while (h->pools) {
    al_h1pool *p = h->pools;
    h->pools = p->next;
    while (p->all) {
      if (p->all->x) p->all->x->conn = NULL;
      conn_close(p->all);
    }
    al_free(p);
  }
  al_free(h);
}

void al_h1_stamps(al_h1 *h, int priority) {
  h->stamps = 1;
  h->prio = priority;
}

al_h1pool *al_h1_pool(al_h1 *h, const char *host, int port) {
  al_h1pool *p;
  for (p = h->pools; p; p = p->next)
    if (p->port == port && !strcmp(p->host, host)) return p;
  struct in_addr a;
  size_t hl = strlen(host);
  if (hl >= sizeof p->host || port <= 0 || port > 65535 || inet_pton(AF_INET, host, &a) != 1) return NULL;
  if (!(p = al_calloc(1, sizeof *p))) return NULL;
  p->h = h;
  p->sa.sin_family = AF_INET;
  p->sa.sin_port = htons((uint16_t)port);
  p->sa.sin_addr = a;
  memcpy(p->host, host, hl + 1);
  p->port = port;
  memcpy(p->hosthdr, host, hl);
  p->hosthdr_len = hl;
  if (port != 80) { /* ":port", digits written backwards */
    char d[8];
    int nd = 0;
    for (int v = port; v; v /= 10) d[nd++] = (char)('0' + v % 10);
    p->hosthdr[p->hosthdr_len++] = ':';
    while (nd) p->hosthdr[p->hosthdr_len++] = d[--nd];
  }
  p->next = h->pools;
  h->pools = p;
  return p;
}

static int x_body(void *ud, const char *p, size_t n) {
  al_h1x *x = ud;
  return x->data ? x->data(x, p, n) : 0;
}

void al_h1x_init(al_h1x *x, al_h1pool *p, al_h1x_data_cb data, al_h1x_done_cb done) {
  memset(x, 0, sizeof *x);
  x->pool = p;
  x->data = data;
  x->done = done;
  x->r.body = x_body;
  x->r.ud = x;
  evtimer_assign(&x->timer, p->h->base, x_timeout, x);
}

static char *put(char *o, const char *s, size_t n) {
  memcpy(o, s, n);
  return o + n;
}

#define PUT_LIT(o, s) put(o, s, sizeof s - 1)

int al_h1x_request(al_h1x *x, const char *path, const char *bearer, const char *const *extra,
                   const char *body, size_t body_len) {
  al_h1pool *p = x->pool;
  size_t path_len = strlen(path), bearer_len = bearer ? strlen(bearer) : 0;
  char cl[24];
  size_t cl_len = 0;
  for (size_t v = body_len;; v /= 10) { /* Content-Length, backwards */
    cl[cl_len++] = (char)('0' + v % 10);
    if (v < 10) break;
  }
  size_t len = 5 + path_len + 11 + 6 + p->hosthdr_len + 2 + 2;
  if (body) len += 32 + 16 + cl_len + 2 + body_len;
  if (bearer) len += 22 + bearer_len + 2;
  for (const char *const *e = extra; e && e[0] && e[1]; e += 2) len += strlen(e[0]) + 2 + strlen(e[1]) + 2;
  char *o = al_malloc(len);
  if (!o) return AL_ENOMEM;
  x->req = o;
  o = body ? PUT_LIT(o, "POST ") : PUT_LIT(o, "GET ");
  o = put(o, path, path_len);
  o = PUT_LIT(o, " HTTP/1.1\r\nHost: ");
  o = put(o, p->hosthdr, p->hosthdr_len);
  o = PUT_LIT(o, "\r\n");
  if (body) {
    o = PUT_LIT(o, "Content-Type: application/json\r\nContent-Length: ");
    while (cl_len) *o++ = cl[--cl_len];
    o = PUT_LIT(o, "\r\n");
  }
  if (bearer) {
    o = PUT_LIT(o, "Authorization: Bearer ");
    o = put(o, bearer, bearer_len);
    o = PUT_LIT(o, "\r\n");
  }
  for (const char *const *e = extra; e && e[0] && e[1]; e += 2) {
    o = put(o, e[0], strlen(e[0]));
    o = PUT_LIT(o, ": ");
    o = put(o, e[1], strlen(e[1]));
    o = PUT_LIT(o, "\r\n");
  }
  o = PUT_LIT(o, "\r\n");
  if (body) o = put(o, body, body_len);
  x->req_len = (size_t)(o - x->req);
  return 0;
}

int al_h1x_send(al_h1x *x) {
  al_h1pool *p = x->pool;
  al_h1 *h = p->h;
  int rc = 0;
  al_h1conn *c = p->idle;
  if (c) p->idle = c->next_idle;
  else if (!p->wait_head && (h->n_conns < h->max_connections || !p->n) && !(c = conn_open(p))) {
    rc = AL_ENOMEM;
    goto out;
  }
  long long ms = x->timeout_ms;
  x->connecting = c && c->state == H1C_CONNECTING && x->connect_ms > 0 && x->connect_ms < ms;
  if (x->connecting) ms = x->connect_ms;
  if (ms > 0) {
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
    evtimer_add(&x->timer, &tv);
    x->armed = 1;
  }
  if (c) {
    x_attach(x, c);
  } else {
    x->queued = 1;
    x->next = NULL;
    if (p->wait_tail) p->wait_tail->next = x;
    else p->wait_head = x;
    p->wait_tail = x;
  }
out:
  return rc;
}

void al_h1x_drop(al_h1x *x) {
  if (x->queued || x->deferred) {
    al_h1x **pp = x->queued ? &x->pool->wait_head : &x->pool->h->deferred, *prev = NULL;
    for (; *pp; prev = *pp, pp = &(*pp)->next)
      if (*pp == x) {
        *pp = x->next;
        if (x->queued && x->pool->wait_tail == x) x->pool->wait_tail = prev;
        break;
      }
    x->queued = x->deferred = 0;
    x->next = NULL;
  }
  if (x->conn) conn_release(x, 0);
  if (x->armed) {
    event_del(&x->timer);
    x->armed = 0;
  }
  al_free(x->req);
  x->req = NULL;
}
