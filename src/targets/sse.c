/* Server-sent events push parser (see include/airlock/sse.h). Lines are accumulated in a
 * bounded buffer; a blank line dispatches the event. Field handling follows the
 * text/event-stream rules: "data" lines are joined with '\n', "event" names the event,
 * "id" and "retry" are accepted and ignored, unknown fields are ignored, ":" starts a comment. */
#include <string.h>

#include "airlock/error.h"
#include "airlock/sse.h"

void al_sse_init(al_sse *p, al_sse_cb cb, void *ud, size_t max_event) {
  memset(p, 0, sizeof *p);
  al_buf_init(&p->line, max_event);
  al_buf_init(&p->data, max_event);
  p->cb = cb;
  p->ud = ud;
}

void al_sse_cleanup(al_sse *p) {
  al_buf_cleanup(&p->line);
  al_buf_cleanup(&p->data);
}

static int dispatch(al_sse *p) {
  int rc = 0;
  if (p->has_data) {
    rc = p->cb(p->event[0] ? p->event : "message", p->data.data ? p->data.data : "", p->data.len,
               p->ud);
  }
  al_buf_reset(&p->data);
  p->has_data = 0;
  p->event[0] = '\0';
  return rc;
}

static int process_line(al_sse *p, const char *l, size_t n) {
  if (n == 0) return dispatch(p);
  if (l[0] == ':') return 0;
  const char *colon = memchr(l, ':', n);
  size_t fl = colon ? (size_t)(colon - l) : n;
  const char *v = colon ? colon + 1 : l + n;
  size_t vl = colon ? n - fl - 1 : 0;
  if (vl && *v == ' ') v++, vl--;
  if (fl == 4 && !memcmp(l, "data", 4)) {
    int rc = 0;
    if (p->has_data) rc = al_buf_putc(&p->data, '\n');
    if (!rc) rc = al_buf_append(&p->data, v, vl);
    p->has_data = 1;
    return rc;
  }
  if (fl == 5 && !memcmp(l, "event", 5)) {
    size_t k = vl < sizeof p->event - 1 ? vl : sizeof p->event - 1;
    memcpy(p->event, v, k);
    p->event[k] = '\0';
  }
  return 0;
}

int al_sse_feed(al_sse *p, const char *bytes, size_t n) {
  static const char bom[] = "\xEF\xBB\xBF";
  size_t i = 0;
  /* a byte-order mark opening the stream is dropped, however the stream is cut */
  while (p->started < 3 && i < n) {
    if (bytes[i] == bom[p->started]) {
      i++;
      if (++p->started == 3) p->started = 4;
      continue;
    }
    int k = p->started; /* not a mark after all: what matched of it is text */
    p->started = 4;
    if (k) {
      int rc = al_buf_append(&p->line, bom, (size_t)k);
      if (rc) return rc;
    }
  }
  while (i < n) {
    char c = bytes[i];
    if (p->last_cr && c == '\n') {
      p->last_cr = 0;
      i++;
      continue;
    }
    p->last_cr = 0;
    const char *start = bytes + i;
    /* the line's end: the first LF, or a CR before it (memchr: both are rare bytes) */
    const char *lf = memchr(start, '\n', n - i);
    const char *cr = memchr(start, '\r', lf ? (size_t)(lf - start) : n - i);
    const char *eol = cr ? cr : lf;
    size_t k = eol ? (size_t)(eol - start) : n - i;
    if (eol && !p->line.len) { /* a whole line in this chunk: read in place */
      if (k > p->line.max) return AL_ELIMIT; /* as the line buffer would say */
      p->last_cr = *eol == '\r';
      i += k + 1;
      int rc = process_line(p, start, k);
      if (rc) return rc;
      continue;
    }
    if (k) {
      int rc = al_buf_append(&p->line, start, k);
      if (rc) return rc;
    }
    i += k;
    if (i < n) {
      p->last_cr = bytes[i] == '\r';
      i++;
      int rc = process_line(p, p->line.data ? p->line.data : "", p->line.len);
      al_buf_reset(&p->line);
      if (rc) return rc;
    }
  }
  return 0;
}

int al_sse_finish(al_sse *p) {
  int rc = 0;
  if (p->started > 0 && p->started < 3) rc = al_buf_append(&p->line, "\xEF\xBB", (size_t)p->started);
  p->started = 4;
  if (rc) return rc;
  if (p->line.len) rc = process_line(p, p->line.data, p->line.len);
  al_buf_reset(&p->line);
  if (!rc) rc = dispatch(p);
  return rc;
}
