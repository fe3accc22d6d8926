/* HTTP transfers on a libevent loop, for the guard's upstreams and the runner's targets:
 * plain http:// to an IPv4 address with our own HTTP/1.1 client (h1cli.h: pooled
 * keep-alive connections, answers parsed by http_parser), anything else (https://, host names) with libcurl's multi interface (the
 * shape of curl's docs/examples/hiperfifo.c). Either way connections are pooled and kept
 * alive between requests, and results carry libcurl's error codes. */
#ifndef AIRLOCK_HTTP_UPSTREAM_H
#define AIRLOCK_HTTP_UPSTREAM_H

#include <stddef.h>

struct bufferevent;
struct event_base;
typedef struct gup gup;
typedef struct gxfer gxfer;

/* Body bytes as they arrive; return non-zero to abort the transfer. */
typedef int (*gxfer_data_cb)(gxfer *x, const char *p, size_t n, void *ud);
/* The transfer ended: curl_code 0 on success; status is the HTTP status (0 if none).
 * The transfer is freed after this returns. */
typedef void (*gxfer_done_cb)(gxfer *x, int curl_code, long status, void *ud);

gup *al_gup_new(struct event_base *base, long max_connections);
void al_gup_free(gup *u);
/* Receive stamps for direct transfers (the runner's latency): their sockets get
 * SO_TIMESTAMPNS and the kernel's receive time of an answer's bytes comes with the read
 * that takes them (recvmsg, al_gxfer_arrival_ns); their events run at this loop priority.
 * Call before the first transfer. */
void al_gup_stamps(gup *u, int priority);
/* 1 when url would go through the direct client (plain http:// to an IPv4 address). */
int al_gup_direct(gup *u, const char *url);

typedef struct gxfer_opts {
  const char *url;
  const char *body; /* NULL: GET */
  size_t body_len;
  const char *bearer; /* upstream API key, or NULL */
  const char *const *headers; /* more request headers: name, value, ..., NULL (or NULL) */
  long long timeout_ms, connect_timeout_ms;
} gxfer_opts;

int al_gup_start(gup *u, const gxfer_opts *o, gxfer_data_cb data, gxfer_done_cb done, void *ud,
                 gxfer **out);
/* HTTP status once headers arrived (0 before). */
long al_gxfer_status(gxfer *x);
const char *al_gxfer_content_type(gxfer *x);
/* The answer's Retry-After in milliseconds (delay seconds or an HTTP date), -1 if none;
 * valid in the done callback. */
long al_gxfer_retry_after_ms(gxfer *x);
/* With al_gup_stamps, inside the data callback: when the kernel received the bytes being
 * delivered (CLOCK_MONOTONIC ns); 0 when not known. */
long long al_gxfer_arrival_ns(gxfer *x);
/* What went wrong, for the done callback of a failed transfer (curl's message, or one
 * naming the address for direct ones). */
const char *al_gxfer_error(gxfer *x);
/* Abort; no callback is called for x afterwards. Safe inside any callback. */
void al_gup_cancel(gxfer *x);
/* "timeout", "connect", "reset", ... for a curl code. */
const char *al_gup_error_kind(int curl_code);
/* The kernel's receive time of the next unread byte of socket fd (SO_TIMESTAMPNS set on
 * it), on the monotonic clock, peeked with recvmsg(MSG_PEEK); 0 when there is none (no
 * data yet, not TCP, or no stamp). */
long long al_peek_arrival_ns(int fd);
/* Writes what is queued on bev's output now (sendmsg, MSG_NOSIGNAL) instead of waiting for
 * the socket to be reported writable; 1 when all of it went, 0 when some is left (a full
 * socket, an error: libevent writes or reports it as without this). */
int al_gbev_write(struct bufferevent *bev);

#endif
