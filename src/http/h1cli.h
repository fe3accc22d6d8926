/* A small HTTP/1.1 client on libevent's raw events, for plain http:// to an IPv4 address
 * (the guard's upstreams, the runner's targets; src/http/upstream.c puts it behind
 * upstream.h). Per host:port a pool of keep-alive connections; a request is built once
 * with memcpy and written with one send(); the answer is read with read() (recvmsg() when
 * the kernel's receive stamps are wanted) into one buffer of the engine and parsed with
 * http_parser (libhttp-parser), its body handed on as it arrives. A connection's read
 * event stays added for as long as the connection lives (an idle one that becomes
 * readable was closed by the server), so the common path makes no epoll_ctl per request.
 *
 * The answer parser (al_h1resp) takes buffers and knows no sockets: the fuzz target
 * (tests/fuzz/fuzz_h1cli.c) drives it directly. Results carry libcurl's error codes, as
 * libcurl's engine in upstream.c reports them. */
#ifndef AIRLOCK_HTTP_H1CLI_H
#define AIRLOCK_HTTP_H1CLI_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

/* ---- the answer parser ---- */

/* Body bytes; non-zero stops the parse (AL_H1_ABORT). */
typedef int (*al_h1_body_cb)(void *ud, const char *p, size_t n);

enum { AL_H1_MORE = 0, AL_H1_DONE, AL_H1_EOF, AL_H1_BAD, AL_H1_ABORT };

typedef struct al_h1resp {
  http_parser p;
  al_h1_body_cb body;
  void *ud;
  long status;          /* set when the head is complete, 0 before */
  int state;            /* AL_H1_MORE until the end (DONE, BAD, ABORT) */
  int keep_alive;       /* with DONE: the connection may carry another request */
  int interim;          /* the head read is a 1xx (not the answer) */
  int field;            /* the header whose value is read: 0 other, 1 Content-Type, 2 Retry-After */
  int in_value;
  size_t name_len;
  char name[16];        /* the start of the header name being read */
  size_t ct_len, ra_len;
  char content_type[128];
  char retry_after[64];
} al_h1resp;

void al_h1resp_init(al_h1resp *r, al_h1_body_cb body, void *ud);
/* Feeds n answer bytes; n == 0: the connection was closed. Returns AL_H1_MORE (the answer
 * goes on), AL_H1_DONE (complete: *used bytes were part of it, the rest is not),
 * AL_H1_EOF (closed before the end), AL_H1_BAD (malformed) or AL_H1_ABORT (the body
 * callback refused). After DONE, BAD or ABORT it returns the same without parsing. */
int al_h1resp_feed(al_h1resp *r, const char *p, size_t n, size_t *used);

/* ---- the engine ---- */

typedef struct al_h1 al_h1;
typedef struct al_h1pool al_h1pool;
typedef struct al_h1conn al_h1conn;
typedef struct al_h1x al_h1x;

/* Body bytes as they arrive; non-zero aborts the transfer (done with CURLE_WRITE_ERROR). */
typedef int (*al_h1x_data_cb)(al_h1x *x, const char *p, size_t n);
/* The transfer ended (curl code, 0 on success); the engine does not touch x afterwards. */
typedef void (*al_h1x_done_cb)(al_h1x *x, int curl_code);

struct al_h1conn {
  al_h1pool *pool;
  int fd;
  int state;       /* H1C_* in h1cli.c */
  int served;      /* answered a request before: a request on it may find it closed */
  struct event rev; /* EV_READ|EV_PERSIST, added while the connection lives */
  struct event wev; /* EV_WRITE, one-shot: connect, and the rest of a partial write */
  al_h1x *x;       /* the transfer on it, NULL when idle */
  al_h1conn *next_idle;
  al_h1conn *prev, *next; /* pool->all */
};

struct al_h1pool {
  al_h1 *h;
  struct sockaddr_in sa;
  char host[64];   /* the address as text, for messages */
  int port;
  char hosthdr[80]; /* the Host header's value */
  size_t hosthdr_len;
  size_t n;        /* connections */
  al_h1conn *all, *idle;
  al_h1x *wait_head, *wait_tail; /* transfers waiting for a connection */
  al_h1pool *next;
};

struct al_h1 {
  struct event_base *base;
  long max_connections, n_conns;
  int stamps, prio;  /* SO_TIMESTAMPNS on new sockets, their events at this priority */
  int closing;       /* being freed: no new connections */
  al_h1pool *pools;
  al_h1x *deferred;  /* failures found while starting, reported from the sweep event */
  struct event sweep;
  char rbuf[65536];
};

struct al_h1x {
  /* set by al_h1x_init / al_h1x_request */
  al_h1pool *pool;
  al_h1x_data_cb data;
  al_h1x_done_cb done;
  char *req;       /* head and body */
  size_t req_len, sent;
  long long timeout_ms, connect_ms;
  /* the engine's */
  al_h1resp r;
  al_h1conn *conn;
  al_h1x *next;    /* in a pool's wait list or h->deferred */
  struct event timer;
  long long arrival_ns; /* the kernel's receive stamp of the bytes being delivered */
  int fail;        /* the code a deferred transfer reports */
  int got, reused, retried, connecting, queued, deferred, armed;
};

al_h1 *al_h1_new(struct event_base *base, long max_connections);
/* Closes every connection; transfers must have been dropped (al_h1x_drop) before. */
void al_h1_free(al_h1 *h);
void al_h1_stamps(al_h1 *h, int priority);
/* The pool of host (dotted IPv4) and port, made on first use; NULL when out of memory or
 * host is not an IPv4 address. */
al_h1pool *al_h1_pool(al_h1 *h, const char *host, int port);

void al_h1x_init(al_h1x *x, al_h1pool *p, al_h1x_data_cb data, al_h1x_done_cb done);
/* Builds the request: POST with a JSON body when body is not NULL, else GET; bearer and
 * the extra headers (name, value, ..., NULL) optional. 0, or AL_ENOMEM. */
int al_h1x_request(al_h1x *x, const char *path, const char *bearer, const char *const *extra,
                   const char *body, size_t body_len);
/* Starts x (callbacks only from the loop, never inside this call): 0, or AL_ENOMEM. */
int al_h1x_send(al_h1x *x);
/* Stops x without callbacks; not inside x's own callbacks. Safe on a finished x. */
void al_h1x_drop(al_h1x *x);
/* The kernel's receive stamp in a message received with SO_TIMESTAMPNS, on the monotonic
 * clock; 0 when it has none. */
long long al_h1_cmsg_ns(struct msghdr *mh);

#endif
