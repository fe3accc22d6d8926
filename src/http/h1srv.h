/* A small HTTP/1.1 server on a libevent loop, for the guard's clients (h1srv.c): requests
 * parsed by http_parser, answers written with one sendmsg from the caller, one persistent
 * read event per connection. A handler gets one request of a connection at a time (a
 * pipelined request waits until the answer of the one before went out) and answers it now
 * or later (al_h1_reply, or al_h1_stream_start / _chunk / _end). A request whose client
 * leaves before the answer is complete gets its close callback, once; the handle is not
 * valid after that callback, nor after the answer is complete.
 *
 * The parse and dispatch step takes a buffer (al_h1_conn_feed) so that a connection
 * without a socket (fd -1: answers are counted and dropped) can be driven by a fuzzer. */
#ifndef AIRLOCK_HTTP_H1SRV_H
#define AIRLOCK_HTTP_H1SRV_H

#include <stddef.h>

struct event_base;

typedef struct al_h1srv al_h1srv;
typedef struct al_h1conn al_h1conn;

/* A request as the handler sees it; strings are NUL-terminated, valid until the answer is
 * complete or the close callback ran (body: only during the handler call). */
typedef struct al_h1req {
  int method;                /* enum http_method of http_parser */
  const char *url;           /* request target as sent */
  size_t url_len;
  const char *authorization; /* NULL when absent (the first one) */
  const char *content_type;  /* NULL when absent */
  const char *body;
  size_t body_len;
  int http_minor;            /* 1.0 or 1.1 */
} al_h1req;

typedef void (*al_h1_handler)(al_h1req *r, void *ud);
typedef void (*al_h1_closecb)(al_h1req *r, void *ud);

typedef struct al_h1_opts {
  size_t max_body;       /* larger bodies: 413 before the handler, then close */
  size_t max_head;       /* request line + headers; larger: 431, then close */
  size_t max_read_ahead; /* bytes read from a client while its request is answered */
  long long timeout_ms;  /* a request must arrive within it (from the end of the last
                            answer, or the accept); a queued answer must make progress */
  al_h1_handler handler;
  void *ud;
} al_h1_opts;

typedef struct al_h1hdr {
  const char *name, *value;
} al_h1hdr;

/* base may be NULL for connections without sockets only (fuzzing). */
al_h1srv *al_h1srv_new(struct event_base *base, const al_h1_opts *o);
/* Listens on host:port (numeric; port 0 any); *port receives the bound port. Accepted
 * sockets inherit TCP_NODELAY from the listening one. */
int al_h1srv_listen(al_h1srv *s, const char *host, int port, int *bound_port);
/* Closes every connection (no close callbacks: the owner is going away) and the listener. */
void al_h1srv_free(al_h1srv *s);
/* accept() failures for want of descriptors or memory; each pauses accepting for 100 ms
 * instead of retrying at once (the listening socket stays readable). */
unsigned long al_h1srv_accept_errors(al_h1srv *s);

/* ---- answers ---- */
/* A whole answer: status line, hdrs, Content-Length, body (none for HEAD). Returns 0, or
 * AL_ECONN when the client is known to be gone (the request is over either way). */
int al_h1_reply(al_h1req *r, int status, const al_h1hdr *hdrs, size_t n, const char *body,
                size_t len);
/* A streamed answer: chunked for HTTP/1.1 clients, the raw bytes then a close for 1.0. */
int al_h1_stream_start(al_h1req *r, int status, const al_h1hdr *hdrs, size_t n);
int al_h1_stream_chunk(al_h1req *r, const char *p, size_t n);
/* The last bytes (may be empty) and the end of the stream, in one write. */
int al_h1_stream_end(al_h1req *r, const char *p, size_t n);
/* Bytes of this connection's answers not yet taken by the kernel. */
size_t al_h1_queued(const al_h1req *r);
void al_h1_set_closecb(al_h1req *r, al_h1_closecb cb, void *ud);

/* ---- connections without a socket (tests, fuzzing) ---- */
al_h1conn *al_h1_conn_new(al_h1srv *s);
/* Bytes from the client (n 0: only resume after an answer). Returns 0 while the
 * connection lives, -1 once it is closed (free it). */
int al_h1_conn_feed(al_h1conn *c, const char *p, size_t n);
size_t al_h1_conn_sent(const al_h1conn *c); /* answer bytes written so far */
/* Client gone: the close callback of a pending request runs, then the connection is freed. */
void al_h1_conn_free(al_h1conn *c);

#endif
