/* Limits and defaults of the guard proxy (policy values may lower or raise the defaults
 * within the hard limits). */
#ifndef AIRLOCK_GUARD_LIMITS_H
#define AIRLOCK_GUARD_LIMITS_H

#define AL_GUARD_MAX_POLICY_BYTES (1u << 20)
#define AL_GUARD_DEFAULT_REQUEST_BYTES (1u << 20)   /* client request body */
#define AL_GUARD_MAX_REQUEST_BYTES (64u << 20)
#define AL_GUARD_DEFAULT_RESPONSE_BYTES (16u << 20) /* upstream response body / stream */
#define AL_GUARD_MAX_RESPONSE_BYTES (256u << 20)
#define AL_GUARD_DEFAULT_TIMEOUT_MS 60000           /* whole upstream transfer */
#define AL_GUARD_DEFAULT_CONNECT_MS 5000
#define AL_GUARD_DEFAULT_CLIENT_TIMEOUT_S 120       /* a request must arrive within it (h1srv) */
#define AL_GUARD_DEFAULT_MAX_CONNECTIONS 256        /* pooled upstream connections */
#define AL_GUARD_STREAM_SCAN_BATCH 128              /* streamed text scanned at least this often */
#define AL_GUARD_DEFAULT_WINDOW 32                  /* extra bytes held back in streams */
#define AL_GUARD_MAX_WINDOW (1u << 20)
#define AL_GUARD_MAX_STAGES 32
#define AL_GUARD_MAX_CLIENTS 4096
#define AL_GUARD_MAX_RETRIES 5
#define AL_GUARD_SCAN_CACHE_ENTRIES 4096            /* input texts remembered as clean (scache.c) */
#define AL_GUARD_SCAN_CACHE_BYTES (16u << 20)       /* their copies together */
#define AL_GUARD_MAX_SLOTS 4096                     /* text fields scanned in one request */
#define AL_GUARD_MAX_CLIENT_BACKLOG (8u << 20)      /* bytes queued to a slow client */
#define AL_GUARD_KEY_CACHE 8                      /* accepted client keys remembered (no SHA-256 per request) */
#define AL_GUARD_KEY_CACHE_LEN 128                /* longest key remembered, bytes + 1 */
#define AL_GUARD_MAX_CLIENT_PENDING (256u << 10)    /* bytes read ahead from a client whose request waits upstream */
#define AL_GUARD_MAX_PLACEHOLDERS 1024              /* per request */
#define AL_GUARD_MAX_DETECTOR_METRICS 128
#define AL_GUARD_TEMPLATE_TRIES 4                   /* stream templates verified in vain (no event
                                                       served) before a stream stops learning them,
                                                       plus one per 4 events templates served */

#endif
