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
 * Plain http:// to an IPv4 address goes through our own HTTP/1.1 client instead (h1cli.c,
 * see "direct upstreams" below): libcurl costs ~90k instructions per transfer on the
 * guard's loop (URL parsing, request building, header parsing, a 16 KiB buffer) and two
 * liveness poll() per reused connection. h1cli writes a request with one send() and reads
 * an answer with one read() (no ioctl(FIONREAD) as libevent's evbuffer_read makes, no
 * epoll_ctl per request: a connection's read event stays added), parsing it with
 * http_parser. https:// (certificate checks, SNI) and host names (curl's threaded
 * resolver, happy eyeballs) stay with libcurl. Both engines deliver the same callbacks with
 * libcurl's error codes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "http/curl.h"
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <http_parser.h>
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
#include "http/h1cli.h"
#include "http/upstream.h"

#define EASY_POOL 256

struct gup {
  struct event_base *base;
  CURLM *multi;
  struct event *timer;
  struct event *sweep;
  int running;
  gxfer *cancelled; /* list of transfers to remove outside curl callbacks */
  gxfer *all;       /* every running transfer (either engine) */
  CURL *easy_pool[EASY_POOL]; /* reset handles kept for reuse (their buffers too) */
  int n_easy;
  struct sockinfo **socks; /* by descriptor: every socket curl opened and has not closed */
  size_t n_socks;
  /* request header lists, built once: [with body][with the bearer below] */
  struct curl_slist *hdrs[2][2];
  char *bearer;
  /* direct upstreams */
  struct gtarget *targets; /* parsed URLs, by text */
  al_h1 *h1;               /* their engine: pools by host:port */
  long max_connections;
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
  int in_cb;    /* direct: inside one of its caller's callbacks */
  gxfer *next_cancelled;
  gxfer *prev, *next; /* in u->all */
  char content_type[128];
  char errbuf[CURL_ERROR_SIZE];
  long retry_after_ms;     /* -1: none */
  int code;                /* the result handed to the done callback */
  /* direct transfers (x->t != NULL) */
  struct gtarget *t;
  al_h1x h;
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
  if (x->t) { /* direct: stopped (if still running) without callbacks */
    al_h1x_drop(&x->h);
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

/* Queues x for the sweep event (a cancel): outside curl's callbacks. */
static void sweep_add(gxfer *x) {
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

/* ---- direct upstreams (h1cli.c) ----
 *
 * A target is one URL the guard asks (a route, the OTLP collector), parsed once with
 * http_parser_parse_url; plain http:// to an IPv4 address gets a pool of h1cli.c and its
 * path, anything else goes to libcurl. A direct transfer embeds its h1cli transfer; the
 * wrappers below turn h1cli's callbacks into the caller's, and a cancel inside one of the
 * transfer's own callbacks is kept until h1cli reports the end (no callback then). */

typedef struct gtarget {
  char *url;
  al_h1pool *pool; /* NULL: libcurl */
  char *path;      /* path and query */
  struct gtarget *next;
} gtarget;

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
  return al_h1_cmsg_ns(&mh);
}

static gtarget *target_get(gup *u, const char *url) {
  gtarget *t;
  for (t = u->targets; t; t = t->next)
    if (!strcmp(t->url, url)) return t;
  size_t ul = strlen(url);
  struct http_parser_url pu;
  http_parser_url_init(&pu);
  if (!(t = al_calloc(1, sizeof *t)) || !(t->url = al_strdup(url))) goto fail;
  if (!http_parser_parse_url(url, ul, 0, &pu) && (pu.field_set & (1 << UF_SCHEMA)) && (pu.field_set & (1 << UF_HOST)) &&
      !(pu.field_set & ((1 << UF_USERINFO) | (1 << UF_FRAGMENT))) && pu.field_data[UF_SCHEMA].len == 4 &&
      !strncasecmp(url + pu.field_data[UF_SCHEMA].off, "http", 4) && pu.field_data[UF_HOST].len < 64) {
    char host[64];
    memcpy(host, url + pu.field_data[UF_HOST].off, pu.field_data[UF_HOST].len);
    host[pu.field_data[UF_HOST].len] = '\0';
    int port = pu.field_set & (1 << UF_PORT) ? pu.port : 80;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1) {
      /* the path and query as written: from the path (or "/") to the end or the fragment */
      size_t po = pu.field_set & (1 << UF_PATH) ? pu.field_data[UF_PATH].off
                  : pu.field_set & (1 << UF_QUERY) ? (size_t)pu.field_data[UF_QUERY].off - 1 : ul;
      al_buf b;
      al_buf_init(&b, 1u << 16);
      int rc = (po >= ul || url[po] != '/') && al_buf_append(&b, "/", 1);
      if (!rc) rc = al_buf_append(&b, url + po, ul - po) || al_buf_append(&b, "", 1);
      al_h1pool *p = rc ? NULL : al_h1_pool(u->h1, host, port);
      if (!p) {
        al_buf_cleanup(&b);
        goto fail;
      }
      t->path = b.data;
      t->pool = p;
    }
  }
  t->next = u->targets;
  u->targets = t;
  return t;
fail:
  if (t) al_free(t->url);
  al_free(t);
  return NULL;
}

/* Retry-After: delay seconds or an HTTP date (RFC 9110 10.2.3), in ms from now; -1 if none
 * or unreadable. */
static long retry_after_ms(const char *v) {
  if (!v || !v[0]) return -1;
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

#define XFER_OF(hx) ((gxfer *)((char *)(hx) - offsetof(gxfer, h)))

static int h1_data(al_h1x *hx, const char *p, size_t n) {
  gxfer *x = XFER_OF(hx);
  if (x->cancel) return 1;
  if (!x->data) return 0;
  x->in_cb = 1;
  int rc = x->data(x, p, n, x->ud);
  x->in_cb = 0;
  return rc || x->cancel;
}

static void h1_done(al_h1x *hx, int code) {
  gxfer *x = XFER_OF(hx);
  if (!x->cancel) {
    x->code = code;
    x->retry_after_ms = retry_after_ms(hx->r.retry_after);
    x->in_cb = 1;
    if (x->done) x->done(x, code, hx->r.status, x->ud);
  }
  xfer_free(x);
}

static void pools_free(gup *u) {
  while (u->targets) {
    gtarget *t = u->targets;
    u->targets = t->next;
    al_free(t->url);
    al_free(t->path);
    al_free(t);
  }
  al_h1_free(u->h1);
  u->h1 = NULL;
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
  u->h1 = al_h1_new(base, max_connections);
  if (!u->timer || !u->sweep || !u->h1) {
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
  /* abort what is still running: no callbacks */
  if (u->h1) u->h1->closing = 1;
  while (u->all) {
    gxfer *x = u->all;
    if (!x->t && u->multi) curl_multi_remove_handle(u->multi, x->easy);
    xfer_free(x);
  }
  pools_free(u);
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

static int direct_start(gup *u, gtarget *t, const gxfer_opts *o, gxfer_data_cb data, gxfer_done_cb done,
                        void *ud, gxfer **out) {
  int rc = AL_ENOMEM;
  gxfer *x = xfer_new(u, data, done, ud);
  if (!x) return AL_ENOMEM;
  x->t = t;
  al_h1x_init(&x->h, t->pool, h1_data, h1_done);
  x->h.timeout_ms = o->timeout_ms;
  x->h.connect_ms = o->connect_timeout_ms;
  if (al_h1x_request(&x->h, t->path, o->bearer && o->bearer[0] ? o->bearer : NULL, o->headers, o->body,
                     o->body_len))
    goto fail;
  x->next = u->all;
  if (u->all) u->all->prev = x;
  u->all = x;
  if ((rc = al_h1x_send(&x->h))) goto fail;
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
  if (t->pool) return direct_start(u, t, o, data, done, ud, out);
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
  if (x->t) return x->h.r.status;
  long s = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &s);
  return s;
}

const char *al_gxfer_content_type(gxfer *x) { return x->t ? x->h.r.content_type : x->content_type; }

long al_gxfer_retry_after_ms(gxfer *x) { return x->retry_after_ms; }

long long al_gxfer_arrival_ns(gxfer *x) { return x->t ? x->h.arrival_ns : 0; }

const char *al_gxfer_error(gxfer *x) {
  if (!x->t) return x->errbuf[0] ? x->errbuf : curl_easy_strerror((CURLcode)x->code);
  snprintf(x->errbuf, sizeof x->errbuf, "%s (%s port %d)", curl_easy_strerror((CURLcode)x->code),
           x->t->pool->host, x->t->pool->port);
  return x->errbuf;
}

void al_gup_stamps(gup *u, int priority) {
  al_h1_stamps(u->h1, priority);
}

int al_gup_direct(gup *u, const char *url) {
  gtarget *t = target_get(u, url);
  return t && t->pool;
}

void al_gup_cancel(gxfer *x) {
  if (!x || x->cancel) return;
  x->cancel = 1;
  if (!x->t) {
    sweep_add(x);
    return;
  }
  /* direct: inside its own callback h1cli ends it (h1_data refuses, h1_done frees); else
   * at once */
  if (x->in_cb) return;
  xfer_free(x);
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
