/* Server-sent events framing (the text/event-stream format used by OpenAI-compatible
 * streaming). A push parser: feed bytes as they arrive, in any chunking; a callback gets
 * each complete event (its `event:` name, or "message", and the joined `data:` lines).
 * Handles CRLF/LF/CR line ends, comments (":" lines), multi-line data, a BOM at the start,
 * and bounds every event at max_event bytes (AL_ELIMIT past it). */
#ifndef AIRLOCK_SSE_H
#define AIRLOCK_SSE_H

#include <stddef.h>

#include "airlock/buf.h"

/* Return 0 to continue, non-zero to stop (al_sse_feed returns that value). */
typedef int (*al_sse_cb)(const char *event, const char *data, size_t len, void *ud);

typedef struct al_sse {
  al_buf line;
  al_buf data;
  char event[64];
  int has_data;
  int started; /* bytes of a leading byte-order mark seen (0-2); 4 once past it */
  int last_cr;
  al_sse_cb cb;
  void *ud;
} al_sse;

void al_sse_init(al_sse *p, al_sse_cb cb, void *ud, size_t max_event);
int al_sse_feed(al_sse *p, const char *bytes, size_t n);
/* End of stream: dispatches a last event not followed by a blank line. */
int al_sse_finish(al_sse *p);
void al_sse_cleanup(al_sse *p);

#endif
