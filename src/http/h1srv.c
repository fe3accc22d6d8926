/* The guard's HTTP/1.1 server (h1srv.h): libevent raw events and http_parser instead of
 * evhttp, to keep the client side of a request at two system calls (one read, one
 * sendmsg) and no epoll_ctl. Each connection has one persistent read event, added at
 * accept and kept while its requests are answered: bytes are read with recv() into the
 * connection's buffer (no FIONREAD) and parsed there; a client that closes while its
 * request waits is seen at once (read of 0 or an error: the request's close callback).
 * Only a client that pipelines more than max_read_ahead bytes behind a request waiting
 * for its answer has its read event removed, until that answer is out.
 *
 * The parser is paused at the end of every request: the handler gets one request of a
 * connection at a time, and the next pipelined one is parsed once the answer of the one
 * before was taken by the kernel. Answers are written by the caller with one sendmsg
 * (status line and headers assembled with memcpy, the body as a second iovec); only what
 * the socket did not take is copied to the connection's output queue, with a write event
 * until it drains. A stream's head is held back and leaves with its first chunk.
 *
 * Time limits use one timer per connection (no system call): a request must arrive
 * within timeout_ms of the accept or of the end of the answer before (slow clients and
 * idle keep-alive connections alike), and an answer the client does not take must make
 * progress within it; while a request waits for its answer there is none.
 *
 * Connections are freed only from their own event callbacks once nothing on the stack
 * uses them (a depth count); the answer functions never free, they mark and defer. */
#include "http/h1srv.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>
#include <http_parser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "airlock/error.h"
#include "airlock/util.h"

#define H1_READ (16u << 10) /* first size of a connection's input buffer, and least room per read */
#define H1_HEAD_STACK 1024  /* answer heads up to this size are built on the stack */

enum { H_OTHER = 0, H_AUTH, H_CTYPE, H_EXPECT, H_N };

struct al_h1conn {
  al_h1req req; /* first: a request handle is its connection */
  al_h1srv *s;
  int fd;       /* -1: no socket (al_h1_conn_new) */
  int sock;     /* has a socket and events */
  http_parser p;
  struct event rd, wr, tmo, defer;
  char *in; /* unparsed bytes: in[in_off, in_len) */
  size_t in_off, in_len, in_cap;
  char *out; /* answer bytes the kernel has not taken: out[out_off, out_len) */
  size_t out_off, out_len, out_cap;
  size_t sent;
  /* the request being read: URL then the kept header values, NUL-terminated, in head */
  char *head;
  size_t head_len, head_cap, head_bytes, url_len;
  size_t hv_off[H_N];
  int hv_set[H_N];
  char fname[16];
  size_t fname_len;
  int in_value, keep, url_done;
  char *body;
  size_t body_len, body_cap;
  int ready;      /* a request is complete, not yet dispatched */
  int err_status; /* set by a parser callback that refused the request */
  /* the request being answered */
  int pending;    /* with the handler, answer not complete */
  int streaming, head_only, keep_alive;
  int closing;    /* close once the answer is out */
  int dead;       /* client gone or closed; freed when depth is 0 */
  int depth;      /* calls on the stack that use the connection */
  int reading, wr_on, tmo_on;
  long long deadline; /* ms (now_ms) by which the client must have acted; 0: no limit */
  al_h1_closecb closecb;
  void *close_ud;
  al_h1conn *prev, *next;
};

enum { AL_H1_ACCEPT_PAUSE_MS = 100 }; /* accepting pauses this long after EMFILE & co. */

struct al_h1srv {
  struct event_base *base;
  al_h1_opts o;
  struct timeval tv;
  struct evconnlistener *lis;
  struct event resume;          /* accepting again after a pause (on_accept_error) */
  atomic_ulong accept_errors;
  al_h1conn *conns;
  time_t date_t;
  char date[48];
  size_t date_len;
};

static void conn_process(al_h1conn *c);

/* ---- small helpers ---- */

static int grow(char **p, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : 256;
  while (n < need) n *= 2;
  char *q = al_realloc(*p, n);
  if (!q) return AL_ENOMEM;
  *p = q;
  *cap = n;
  return 0;
}

static size_t put_dec(char *b, unsigned long long v) {
  char t[24];
  size_t k = 0, n = 0;
  do {
    t[k++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (k) b[n++] = t[--k];
  return n;
}

static size_t put_hex(char *b, size_t v) {
  char t[24];
  size_t k = 0, n = 0;
  do {
    t[k++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  while (k) b[n++] = t[--k];
  return n;
}

static const char *reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Entity";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: break;
  }
  return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
}

/* "Date: ...\r\n", formatted once a second. */
static void date_line(al_h1srv *s) {
  time_t now = time(NULL);
  if (now == s->date_t && s->date_len) return;
  struct tm tm;
  gmtime_r(&now, &tm);
  s->date_len = strftime(s->date, sizeof s->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  s->date_t = now;
}

/* ---- timer, write queue ---- */

/* The timer is lazy: starting or lifting the limit only sets the deadline (a coarse
 * clock read, no timer heap work per request); when the timer fires it looks at the
 * deadline and, when it moved, goes to sleep again until then. */
static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void timer_at(al_h1conn *c, long long ms) {
  struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000 * 1000)};
  event_add(&c->tmo, &tv);
  c->tmo_on = 1;
}

static void timer_on(al_h1conn *c) {
  if (!c->sock || !c->s->o.timeout_ms || c->dead) return;
  c->deadline = now_ms() + c->s->o.timeout_ms;
  if (!c->tmo_on) timer_at(c, c->s->o.timeout_ms);
}

static void timer_off(al_h1conn *c) { c->deadline = 0; }

static size_t queued(const al_h1conn *c) { return c->out_len - c->out_off; }

static int queue_add(al_h1conn *c, const char *p, size_t n) {
  if (c->out_off && c->out_off == c->out_len) c->out_off = c->out_len = 0;
  if (c->out_off && c->out_len + n > c->out_cap) {
    memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
    c->out_len -= c->out_off;
    c->out_off = 0;
  }
  if (grow(&c->out, &c->out_cap, c->out_len + n)) return AL_ENOMEM;
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
  return 0;
}

/* The client is gone (or the connection is to be closed): the close callback of a
 * request still with the handler, once; the socket is closed at once, the memory when
 * nothing uses it (conn_release). */
static void conn_gone(al_h1conn *c) {
  if (c->dead) return;
  c->dead = 1;
  if (c->sock) {
    event_del(&c->rd);
    event_del(&c->wr);
    event_del(&c->tmo);
    c->reading = c->wr_on = c->tmo_on = 0;
    close(c->fd);
    c->fd = -1;
  }
  if (c->pending && c->closecb) {
    al_h1_closecb cb = c->closecb;
    c->pending = 0;
    c->closecb = NULL;
    cb(&c->req, c->close_ud);
  }
}

static void conn_free(al_h1conn *c) {
  al_h1srv *s = c->s;
  if (c->sock) {
    if (!c->dead) {
      event_del(&c->rd);
      event_del(&c->wr);
      event_del(&c->tmo);
      close(c->fd);
    }
    event_del(&c->defer);
  }
  if (c->prev) c->prev->next = c->next;
  else if (s->conns == c) s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  al_free(c->in);
  al_free(c->out);
  al_free(c->head);
  al_free(c->body);
  al_free(c);
}

/* At the end of an event callback: a dead socket connection no request handle points
 * to is freed. */
static void conn_release(al_h1conn *c) {
  if (--c->depth == 0 && c->dead && c->sock && !c->pending) conn_free(c);
}

/* Runs on_defer in this loop iteration (no system call). */
static void defer(al_h1conn *c) {
  if (c->sock) event_active(&c->defer, EV_TIMEOUT, 0);
}

/* Writes iov after what is queued, at once unless the head is held (hold) or the socket
 * is known to be full; what the kernel does not take is queued. */
static int conn_write(al_h1conn *c, const struct iovec *iov, int n, int hold) {
  size_t total = 0, done = 0;
  for (int i = 0; i < n; i++) total += iov[i].iov_len;
  if (c->dead) return AL_ECONN;
  if (!c->sock) {
    c->sent += total;
    return 0;
  }
  if (!hold && !c->wr_on) {
    struct iovec v[8];
    int k = 0;
    size_t q = queued(c);
    if (q) v[k++] = (struct iovec){.iov_base = c->out + c->out_off, .iov_len = q};
    for (int i = 0; i < n && k < 8; i++) v[k++] = iov[i];
    struct msghdr m = {.msg_iov = v, .msg_iovlen = (size_t)k};
    ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        c->out_off = c->out_len = 0;
        defer(c); /* the close callback runs from the loop, not inside this call */
        c->closing = 1;
        return AL_ECONN;
      }
      w = 0;
    }
    c->sent += (size_t)w;
    size_t from_q = (size_t)w < q ? (size_t)w : q;
    c->out_off += from_q;
    done = (size_t)w - from_q;
  }
  for (int i = 0; i < n; i++) { /* the rest of iov goes to the queue */
    size_t l = iov[i].iov_len;
    if (done >= l) {
      done -= l;
      continue;
    }
    if (queue_add(c, (const char *)iov[i].iov_base + done, l - done)) {
      c->closing = 1;
      defer(c);
      return AL_ENOMEM;
    }
    done = 0;
  }
  if (!hold && queued(c) && !c->wr_on) {
    event_add(&c->wr, NULL);
    c->wr_on = 1;
    timer_on(c);
  }
  return 0;
}

/* The answer of the request with the handler is complete. */
static void req_done(al_h1conn *c) {
  c->pending = 0;
  c->closecb = NULL;
  c->streaming = 0;
  if (!c->keep_alive) c->closing = 1;
  if (c->dead) {
    defer(c); /* to be freed */
    return;
  }
  if (queued(c)) return; /* on_write goes on once it drained */
  if (c->closing) {
    if (!c->sock) conn_gone(c);
    else defer(c);
    return;
  }
  timer_on(c); /* the next request must come within timeout_ms */
  if (c->depth == 0 && c->in_off < c->in_len) defer(c); /* a pipelined request is waiting */
  if (c->sock && !c->reading) defer(c);
}

/* ---- answer heads ---- */

static size_t head_size(const al_h1hdr *h, size_t n) {
  size_t need = 64 + 48 + 64 + 64; /* status line, Date, Content-Length / Transfer-Encoding, Connection */
  for (size_t i = 0; i < n; i++) need += strlen(h[i].name) + strlen(h[i].value) + 4;
  return need;
}

/* Status line and headers; clen < 0: a stream. */
static size_t put_head(al_h1conn *c, char *b, int status, const al_h1hdr *h, size_t n, long long clen,
                       int chunked) {
  size_t k = 0;
  memcpy(b, "HTTP/1.1 ", 9);
  k = 9;
  if (status < 100 || status > 999) status = 500;
  b[k++] = (char)('0' + status / 100);
  b[k++] = (char)('0' + status / 10 % 10);
  b[k++] = (char)('0' + status % 10);
  b[k++] = ' ';
  const char *rs = reason(status);
  size_t rl = strlen(rs);
  memcpy(b + k, rs, rl);
  k += rl;
  b[k++] = '\r';
  b[k++] = '\n';
  date_line(c->s);
  memcpy(b + k, c->s->date, c->s->date_len);
  k += c->s->date_len;
  for (size_t i = 0; i < n; i++) {
    size_t nl = strlen(h[i].name), vl = strlen(h[i].value);
    memcpy(b + k, h[i].name, nl);
    k += nl;
    b[k++] = ':';
    b[k++] = ' ';
    memcpy(b + k, h[i].value, vl);
    k += vl;
    b[k++] = '\r';
    b[k++] = '\n';
  }
  if (clen >= 0) {
    memcpy(b + k, "Content-Length: ", 16);
    k += 16;
    k += put_dec(b + k, (unsigned long long)clen);
    b[k++] = '\r';
    b[k++] = '\n';
  } else if (chunked) {
    memcpy(b + k, "Transfer-Encoding: chunked\r\n", 28);
    k += 28;
  }
  if (!c->keep_alive) {
    memcpy(b + k, "Connection: close\r\n", 19);
    k += 19;
  } else if (c->req.http_minor == 0) {
    memcpy(b + k, "Connection: keep-alive\r\n", 24);
    k += 24;
  }
  b[k++] = '\r';
  b[k++] = '\n';
  return k;
}

static int answer(al_h1conn *c, int status, const al_h1hdr *h, size_t n, const char *body, size_t len,
                  int stream) {
  char stackb[H1_HEAD_STACK];
  size_t need = head_size(h, n);
  char *b = need <= sizeof stackb ? stackb : al_malloc(need);
  if (!b) return AL_ENOMEM;
  int chunked = stream && c->req.http_minor >= 1;
  if (stream && !chunked) c->keep_alive = 0; /* HTTP/1.0: the end of the stream is the close */
  size_t hl = put_head(c, b, status, h, n, stream ? -1 : (long long)len, chunked);
  struct iovec iov[2] = {{.iov_base = b, .iov_len = hl}, {.iov_base = (void *)body, .iov_len = len}};
  int rc = conn_write(c, iov, !stream && len && !c->head_only ? 2 : 1, stream);
  if (b != stackb) al_free(b);
  return rc;
}

/* ---- public answers ---- */

int al_h1_reply(al_h1req *r, int status, const al_h1hdr *hdrs, size_t n, const char *body, size_t len) {
  al_h1conn *c = (al_h1conn *)r;
  if (!c->pending || c->streaming) return AL_ESTATE;
  int rc = answer(c, status, hdrs, n, body ? body : "", len, 0);
  req_done(c);
  return rc ? AL_ECONN : 0;
}

int al_h1_stream_start(al_h1req *r, int status, const al_h1hdr *hdrs, size_t n) {
  al_h1conn *c = (al_h1conn *)r;
  if (!c->pending || c->streaming) return AL_ESTATE;
  c->streaming = 1;
  return answer(c, status, hdrs, n, NULL, 0, 1) ? AL_ECONN : 0;
}

static int chunk(al_h1conn *c, const char *p, size_t n, int last) {
  char pre[24], post[] = "\r\n0\r\n\r\n";
  struct iovec iov[3];
  int k = 0;
  if (c->head_only) n = 0;
  if (c->req.http_minor >= 1) {
    if (n) {
      size_t pl = put_hex(pre, n);
      pre[pl++] = '\r';
      pre[pl++] = '\n';
      iov[k++] = (struct iovec){.iov_base = pre, .iov_len = pl};
      iov[k++] = (struct iovec){.iov_base = (void *)p, .iov_len = n};
      iov[k++] = (struct iovec){.iov_base = post, .iov_len = last ? 7 : 2};
    } else if (last) {
      iov[k++] = (struct iovec){.iov_base = post + 2, .iov_len = 5};
    }
  } else if (n) {
    iov[k++] = (struct iovec){.iov_base = (void *)p, .iov_len = n};
  }
  if (!k) { /* nothing to add: still send a held head */
    if (!queued(c) || c->wr_on) return c->dead ? AL_ECONN : 0;
    return conn_write(c, NULL, 0, 0) ? AL_ECONN : 0;
  }
  return conn_write(c, iov, k, 0) ? AL_ECONN : 0;
}

int al_h1_stream_chunk(al_h1req *r, const char *p, size_t n) {
  al_h1conn *c = (al_h1conn *)r;
  if (!c->pending || !c->streaming) return AL_ESTATE;
  if (!n) return 0;
  return chunk(c, p, n, 0);
}

int al_h1_stream_end(al_h1req *r, const char *p, size_t n) {
  al_h1conn *c = (al_h1conn *)r;
  if (!c->pending || !c->streaming) return AL_ESTATE;
  int rc = chunk(c, p, n, 1);
  req_done(c);
  return rc;
}

size_t al_h1_queued(const al_h1req *r) { return queued((const al_h1conn *)r); }

void al_h1_set_closecb(al_h1req *r, al_h1_closecb cb, void *ud) {
  al_h1conn *c = (al_h1conn *)r;
  if (!c->pending) return;
  c->closecb = cb;
  c->close_ud = ud;
}

/* ---- parsing ---- */

static int head_add(al_h1conn *c, const char *p, size_t n) {
  if (grow(&c->head, &c->head_cap, c->head_len + n + 1)) return -1;
  memcpy(c->head + c->head_len, p, n);
  c->head_len += n;
  return 0;
}

static int head_count(al_h1conn *c, size_t n) {
  c->head_bytes += n;
  if (c->head_bytes <= c->s->o.max_head) return 0;
  c->err_status = 431;
  return -1;
}

static void end_url(al_h1conn *c) {
  if (c->url_done) return;
  c->url_done = 1;
  c->url_len = c->head_len;
  c->head[c->head_len++] = '\0'; /* head_add kept room for it */
}

/* Ends the header value being read: trailing blanks off, NUL-terminated when kept. */
static void end_value(al_h1conn *c) {
  if (c->in_value && c->keep) {
    size_t start = c->hv_off[c->keep];
    while (c->head_len > start && (c->head[c->head_len - 1] == ' ' || c->head[c->head_len - 1] == '\t')) c->head_len--;
    c->head[c->head_len++] = '\0';
    c->hv_set[c->keep] = 1;
  }
  c->in_value = 0;
  c->keep = 0;
  c->fname_len = 0;
}

static int on_begin(http_parser *p) {
  al_h1conn *c = p->data;
  c->head_len = c->head_bytes = c->url_len = 0;
  c->url_done = c->in_value = c->keep = 0;
  c->fname_len = 0;
  memset(c->hv_set, 0, sizeof c->hv_set);
  c->body_len = 0;
  c->err_status = 0;
  if (c->body_cap > (64u << 10)) { /* a large body before: its memory goes */
    al_free(c->body);
    c->body = NULL;
    c->body_cap = 0;
  }
  if (grow(&c->head, &c->head_cap, 1)) return -1;
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  al_h1conn *c = p->data;
  return head_count(c, n) || head_add(c, at, n) ? -1 : 0;
}

static int on_field(http_parser *p, const char *at, size_t n) {
  al_h1conn *c = p->data;
  if (head_count(c, n)) return -1;
  end_url(c);
  if (c->in_value) end_value(c);
  if (c->fname_len + n < sizeof c->fname) memcpy(c->fname + c->fname_len, at, n);
  c->fname_len += n;
  return 0;
}

static int header_kind(const char *name, size_t n) {
  if (n == 13 && !strncasecmp(name, "authorization", 13)) return H_AUTH;
  if (n == 12 && !strncasecmp(name, "content-type", 12)) return H_CTYPE;
  if (n == 6 && !strncasecmp(name, "expect", 6)) return H_EXPECT;
  return H_OTHER;
}

static int on_value(http_parser *p, const char *at, size_t n) {
  al_h1conn *c = p->data;
  if (head_count(c, n)) return -1;
  if (!c->in_value) {
    c->in_value = 1;
    int k = c->fname_len < sizeof c->fname ? header_kind(c->fname, c->fname_len) : H_OTHER;
    c->keep = k != H_OTHER && !c->hv_set[k] ? k : 0; /* the first of each */
    if (c->keep) c->hv_off[k] = c->head_len;
  }
  if (c->keep && head_add(c, at, n)) return -1;
  return 0;
}

static int on_headers(http_parser *p) {
  al_h1conn *c = p->data;
  end_url(c);
  if (c->in_value) end_value(c);
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->s->o.max_body) {
    c->err_status = 413;
    return -1;
  }
  if (c->hv_set[H_EXPECT] && !strcasecmp(c->head + c->hv_off[H_EXPECT], "100-continue") && p->http_major == 1 &&
      p->http_minor >= 1 && ((p->flags & F_CHUNKED) || p->content_length > 0)) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct iovec iov = {.iov_base = (void *)cont, .iov_len = sizeof cont - 1};
    conn_write(c, &iov, 1, 0);
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  al_h1conn *c = p->data;
  if (c->body_len + n > c->s->o.max_body) {
    c->err_status = 413;
    return -1;
  }
  if (grow(&c->body, &c->body_cap, c->body_len + n + 1)) return -1;
  memcpy(c->body + c->body_len, at, n);
  c->body_len += n;
  return 0;
}

static int on_complete(http_parser *p) {
  al_h1conn *c = p->data;
  c->ready = 1;
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin, .on_url = on_url, .on_header_field = on_field, .on_header_value = on_value,
    .on_headers_complete = on_headers, .on_body = on_body, .on_message_complete = on_complete};

/* An answer of the server itself (the request never reached the handler), then close. */
static void refuse(al_h1conn *c, int status) {
  const char *msg = status == 413   ? "request body too large\",\"type\":\"invalid_request_error\",\"code\":\"request_too_large"
                    : status == 431 ? "request headers too large\",\"type\":\"invalid_request_error\",\"code\":\"headers_too_large"
                    : status == 503 ? "out of memory\",\"type\":\"server_error\",\"code\":\"out_of_memory"
                                    : "malformed HTTP request\",\"type\":\"invalid_request_error\",\"code\":\"bad_http_request";
  char body[200];
  int bl = snprintf(body, sizeof body, "{\"error\":{\"message\":\"%s\"}}", msg);
  static const al_h1hdr h[] = {{"Content-Type", "application/json"}};
  c->keep_alive = 0;
  c->head_only = 0;
  c->req.http_minor = 1;
  answer(c, status, h, 1, body, (size_t)bl, 0);
  c->closing = 1;
  c->in_off = c->in_len;
}

static void dispatch(al_h1conn *c) {
  al_h1req *r = &c->req;
  c->ready = 0;
  r->method = (int)c->p.method;
  r->url = c->head;
  r->url_len = c->url_len;
  r->authorization = c->hv_set[H_AUTH] ? c->head + c->hv_off[H_AUTH] : NULL;
  r->content_type = c->hv_set[H_CTYPE] ? c->head + c->hv_off[H_CTYPE] : NULL;
  if (c->body) c->body[c->body_len] = '\0';
  r->body = c->body ? c->body : "";
  r->body_len = c->body_len;
  r->http_minor = c->p.http_major > 1 ? 1 : c->p.http_major < 1 ? 0 : (int)c->p.http_minor;
  c->keep_alive = http_should_keep_alive(&c->p) && !c->p.upgrade;
  c->head_only = r->method == HTTP_HEAD;
  c->pending = 1;
  c->streaming = 0;
  c->closecb = NULL;
  c->s->o.handler(r, c->s->o.ud);
  if (c->pending && !queued(c)) timer_off(c); /* waits for its answer: no time limit here */
}

/* Parses buffered bytes and hands complete requests to the handler, one at a time. */
static void conn_process(al_h1conn *c) {
  c->depth++;
  if (c->sock && !c->reading && !c->dead) {
    event_add(&c->rd, NULL);
    c->reading = 1;
  }
  while (!c->dead && !c->pending && !c->closing && !queued(c) && c->in_off < c->in_len) {
    size_t n = http_parser_execute(&c->p, &settings, c->in + c->in_off, c->in_len - c->in_off);
    c->in_off += n;
    enum http_errno e = HTTP_PARSER_ERRNO(&c->p);
    if (e == HPE_PAUSED) http_parser_pause(&c->p, 0);
    if (c->ready) {
      dispatch(c);
      if (c->p.upgrade) c->in_off = c->in_len; /* whatever follows is not HTTP: closed after the answer */
      continue;
    }
    if (c->p.upgrade) { /* ended before its message did: not ours to serve */
      refuse(c, 400);
      break;
    }
    if (e != HPE_OK && e != HPE_PAUSED) {
      refuse(c, c->err_status ? c->err_status : e == HPE_CB_message_begin || e == HPE_CB_url || e == HPE_CB_header_value ? 503 : 400);
      break;
    }
    if (n == 0) break;
  }
  if (c->in_off == c->in_len) {
    c->in_off = c->in_len = 0;
    if (c->in_cap > 4 * H1_READ) {
      al_free(c->in);
      c->in = NULL;
      c->in_cap = 0;
    }
  }
  if (c->closing && !c->pending && !queued(c)) conn_gone(c);
  c->depth--;
}

/* ---- events ---- */

static void on_read(evutil_socket_t fd, short what, void *arg) {
  al_h1conn *c = arg;
  c->depth++;
  if (c->in_off == c->in_len) c->in_off = c->in_len = 0;
  if (c->in_cap - c->in_len < H1_READ / 4) {
    size_t have = c->in_len - c->in_off;
    if ((c->pending || queued(c)) && have >= c->s->o.max_read_ahead) { /* enough read ahead: stop until answered */
      event_del(&c->rd);
      c->reading = 0;
      goto out;
    }
    if (c->in_off) {
      memmove(c->in, c->in + c->in_off, have);
      c->in_len = have;
      c->in_off = 0;
    }
    if (c->in_cap - c->in_len < H1_READ / 4 && grow(&c->in, &c->in_cap, c->in_cap ? c->in_cap * 2 : H1_READ)) {
      conn_gone(c);
      goto out;
    }
  }
  ssize_t n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
  if (n > 0) {
    c->in_len += (size_t)n;
    if (c->closing) c->in_off = c->in_len; /* an error answer is going out: ignored */
    else if (!c->pending) conn_process(c);
  } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    conn_gone(c);
  }
out:
  conn_release(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
  al_h1conn *c = arg;
  c->depth++;
  ssize_t w = send(fd, c->out + c->out_off, queued(c), MSG_NOSIGNAL);
  if (w < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) conn_gone(c);
    goto out;
  }
  c->sent += (size_t)w;
  c->out_off += (size_t)w;
  if (queued(c)) {
    timer_on(c); /* progress: the limit starts again */
    goto out;
  }
  c->out_off = c->out_len = 0;
  event_del(&c->wr);
  c->wr_on = 0;
  if (c->pending) timer_off(c);
  else if (c->closing) conn_gone(c);
  else {
    timer_on(c);
    conn_process(c);
  }
out:
  conn_release(c);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg) {
  al_h1conn *c = arg;
  c->depth++;
  c->tmo_on = 0;
  long long now = now_ms();
  if (!c->deadline) {
    /* no limit now: the next timer_on starts the timer again */
  } else if (now < c->deadline) {
    timer_at(c, c->deadline - now);
  } else {
    conn_gone(c);
  }
  conn_release(c);
}

/* Deferred work of the answer functions: a close, or parsing what waits. */
static void on_defer(evutil_socket_t fd, short what, void *arg) {
  al_h1conn *c = arg;
  c->depth++;
  if (!c->dead && !c->pending && !queued(c)) {
    if (c->closing) conn_gone(c);
    else conn_process(c);
  } else if (!c->dead && c->closing && !c->wr_on) { /* a failed write */
    conn_gone(c);
  }
  conn_release(c);
}

static al_h1conn *conn_new(al_h1srv *s, int fd) {
  al_h1conn *c = al_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->s = s;
  c->fd = fd;
  http_parser_init(&c->p, HTTP_REQUEST);
  c->p.data = c;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  return c;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl, void *arg) {
  al_h1srv *s = arg;
  al_h1conn *c = conn_new(s, fd);
  if (!c) {
    close(fd);
    return;
  }
  c->sock = 1;
  event_assign(&c->rd, s->base, fd, EV_READ | EV_PERSIST, on_read, c);
  event_assign(&c->wr, s->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
  evtimer_assign(&c->tmo, s->base, on_timeout, c);
  event_assign(&c->defer, s->base, -1, 0, on_defer, c);
  event_add(&c->rd, NULL);
  c->reading = 1;
  timer_on(c);
}

/* accept() failed for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM;
 * libevent retries EAGAIN and ECONNABORTED itself): the pending connection stays queued
 * and the listening socket readable, so accepting again at once would spin the loop.
 * Accepting pauses for AL_H1_ACCEPT_PAUSE_MS, while connections already open go on (and
 * may close, giving descriptors back). */
static void on_accept_error(struct evconnlistener *l, void *arg) {
  al_h1srv *s = arg;
  struct timeval tv = {0, AL_H1_ACCEPT_PAUSE_MS * 1000};
  atomic_fetch_add(&s->accept_errors, 1);
  evconnlistener_disable(l);
  evtimer_add(&s->resume, &tv);
}

static void on_resume(evutil_socket_t fd, short what, void *arg) {
  al_h1srv *s = arg;
  if (s->lis) evconnlistener_enable(s->lis);
}

unsigned long al_h1srv_accept_errors(al_h1srv *s) { return atomic_load(&s->accept_errors); }

/* ---- server ---- */

al_h1srv *al_h1srv_new(struct event_base *base, const al_h1_opts *o) {
  al_h1srv *s = al_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->base = base;
  s->o = *o;
  if (!s->o.max_head) s->o.max_head = 65536;
  if (!s->o.max_read_ahead) s->o.max_read_ahead = 256u << 10;
  s->tv.tv_sec = (time_t)(o->timeout_ms / 1000);
  s->tv.tv_usec = (suseconds_t)(o->timeout_ms % 1000 * 1000);
  return s;
}

int al_h1srv_listen(al_h1srv *s, const char *host, int port, int *bound_port) {
  int rc = 0;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                  *ai = NULL;
  if (!s->base || s->lis || getaddrinfo(host && *host ? host : NULL, ps, &hints, &ai) || !ai) {
    rc = AL_ESYS;
    goto out;
  }
  s->lis = evconnlistener_new_bind(s->base, on_accept, s,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                   ai->ai_addr, (int)ai->ai_addrlen);
  if (!s->lis) {
    rc = AL_ESYS;
    goto out;
  }
  evconnlistener_set_error_cb(s->lis, on_accept_error);
  evtimer_assign(&s->resume, s->base, on_resume, s);
  int fd = evconnlistener_get_fd(s->lis), one = 1;
  /* accepted sockets inherit it: stream chunks are not held back by Nagle */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (bound_port && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
out:
  if (ai) freeaddrinfo(ai);
  return rc;
}

void al_h1srv_free(al_h1srv *s) {
  if (!s) return;
  if (s->lis) {
    event_del(&s->resume);
    evconnlistener_free(s->lis);
  }
  while (s->conns) conn_free(s->conns);
  al_free(s);
}

/* ---- connections without a socket ---- */

al_h1conn *al_h1_conn_new(al_h1srv *s) { return conn_new(s, -1); }

int al_h1_conn_feed(al_h1conn *c, const char *p, size_t n) {
  if (c->dead) return -1;
  c->depth++;
  if (n && !c->closing) {
    if (c->in_off == c->in_len) c->in_off = c->in_len = 0;
    if (grow(&c->in, &c->in_cap, c->in_len + n)) conn_gone(c);
    else {
      memcpy(c->in + c->in_len, p, n);
      c->in_len += n;
    }
  }
  if (!c->dead && !c->pending) {
    if (c->closing) conn_gone(c);
    else conn_process(c);
  }
  c->depth--;
  return c->dead ? -1 : 0;
}

size_t al_h1_conn_sent(const al_h1conn *c) { return c->sent; }

void al_h1_conn_free(al_h1conn *c) {
  if (!c) return;
  c->depth++;
  conn_gone(c);
  conn_free(c);
}
