/* Upstream transfers: libcurl's multi interface driven by the guard's libevent loop (the
 * shape of curl's docs/examples/hiperfifo.c). Connections are pooled by the multi handle
 * and kept alive between requests. */
#ifndef AIRLOCK_GUARD_UPSTREAM_H
#define AIRLOCK_GUARD_UPSTREAM_H

#include <stddef.h>

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

#endif
