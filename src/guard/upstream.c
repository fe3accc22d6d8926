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
 * descriptor can be reused for another socket. */
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>

#include "airlock/util.h"
#include "guard/upstream.h"

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
  gxfer *next_cancelled;
  gxfer *prev, *next; /* in u->all */
  char content_type[128];
  char errbuf[CURL_ERROR_SIZE];
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
  u->multi = curl_multi_init();
  u->timer = evtimer_new(base, timer_cb, u);
  u->sweep = event_new(base, -1, 0, sweep_cb, u);
  if (!u->multi || !u->timer || !u->sweep) {
    al_gup_free(u);
    return NULL;
  }
  curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
  curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
  curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
  curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
  curl_multi_setopt(u->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_connections);
  curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, max_connections);
  return u;
}

void al_gup_free(gup *u) {
  if (!u) return;
  sweep_cb(-1, 0, u);
  if (u->multi) {
    /* abort what is still running: no callbacks */
    while (u->all) {
      gxfer *x = u->all;
      curl_multi_remove_handle(u->multi, x->easy);
      xfer_free(x);
    }
    curl_multi_cleanup(u->multi);
    while (u->n_easy) curl_easy_cleanup(u->easy_pool[--u->n_easy]);
  }
  for (size_t i = 0; i < u->n_socks; i++) sock_drop(u, (curl_socket_t)i);
  al_free(u->socks);
  for (int i = 0; i < 4; i++) curl_slist_free_all(u->hdrs[i / 2][i % 2]);
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

int al_gup_start(gup *u, const gxfer_opts *o, gxfer_data_cb data, gxfer_done_cb done, void *ud,
                 gxfer **out) {
  gxfer *x = al_calloc(1, sizeof *x);
  *out = NULL;
  if (!x) return AL_ENOMEM;
  x->u = u;
  x->data = data;
  x->done = done;
  x->ud = ud;
  int fresh = !u->n_easy;
  x->easy = fresh ? curl_easy_init() : u->easy_pool[--u->n_easy];
  if (!x->easy) goto fail;
  if (o->body && !(x->body = al_strndup(o->body, o->body_len))) goto fail;
  int with_bearer = o->bearer && o->bearer[0];
  if (with_bearer && !u->bearer) u->bearer = al_strdup(o->bearer); /* the first bearer is cached */
  int shared = !with_bearer || (u->bearer && !strcmp(u->bearer, o->bearer));
  struct curl_slist **slot = &u->hdrs[o->body != NULL][with_bearer];
  if (!shared || !*slot) {
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    if (h && o->body) h = curl_slist_append(h, "Content-Type: application/json");
    if (h && with_bearer) {
      char line[1024];
      snprintf(line, sizeof line, "Authorization: Bearer %s", o->bearer);
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
  long s = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &s);
  return s;
}

const char *al_gxfer_content_type(gxfer *x) { return x->content_type; }

void al_gup_cancel(gxfer *x) {
  if (!x || x->cancel) return;
  x->cancel = 1;
  x->next_cancelled = x->u->cancelled;
  x->u->cancelled = x;
  event_active(x->u->sweep, 0, 0);
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
