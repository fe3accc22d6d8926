/* Upstream transfers on the guard's libevent loop: plain http:// to an IPv4 address with
 * libevent's HTTP client (pooled evhttp connections), anything else (https://, host names)
 * with libcurl's multi interface (the shape of curl's docs/examples/hiperfifo.c). Either
 * way connections are pooled and kept alive between requests, and results carry libcurl's
 * error codes. */
#ifndef AIRLOCK_GUARD_UPSTREAM_H
#define AIRLOCK_GUARD_UPSTREAM_H

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

typedef struct gxfer_opts {
  const char *url;
  const char *body; /* NULL: GET */
  size_t body_len;
  const char *bearer; /* upstream API key, or NULL */
  long long timeout_ms, connect_timeout_ms;
} gxfer_opts;

int al_gup_start(gup *u, const gxfer_opts *o, gxfer_data_cb data, gxfer_done_cb done, void *ud,
                 gxfer **out);
/* HTTP status once headers arrived (0 before). */
long al_gxfer_status(gxfer *x);
const char *al_gxfer_content_type(gxfer *x);
/* Abort; no callback is called for x afterwards. Safe inside any callback. */
void al_gup_cancel(gxfer *x);
/* "timeout", "connect", "reset", ... for a curl code. */
const char *al_gup_error_kind(int curl_code);
/* Writes what is queued on bev's output now (sendmsg, MSG_NOSIGNAL) instead of waiting for
 * the socket to be reported writable; 1 when all of it went, 0 when some is left (a full
 * socket, an error: libevent writes or reports it as without this). */
int al_gbev_write(struct bufferevent *bev);

#endif
