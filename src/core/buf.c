/* Bounded growable buffers: every append checks the buffer's maximum first, so input
 * from outside can never grow memory past a limit chosen by the caller. */
#include <stdio.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/error.h"
#include "airlock/util.h"

void al_buf_init(al_buf *b, size_t max) {
  b->data = NULL;
  b->len = b->cap = 0;
  b->max = max;
}

void al_buf_cleanup(al_buf *b) {
  al_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void al_buf_reset(al_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

static int reserve(al_buf *b, size_t extra) {
  if (extra > b->max || b->len > b->max - extra) return AL_ELIMIT;
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = al_realloc(b->data, cap);
  if (!p) return AL_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int al_buf_reserve(al_buf *b, size_t extra) { return reserve(b, extra); }

int al_buf_append(al_buf *b, const void *p, size_t n) {
  int rc = reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int al_buf_puts(al_buf *b, const char *s) { return al_buf_append(b, s, strlen(s)); }

int al_buf_putc(al_buf *b, char c) { return al_buf_append(b, &c, 1); }

int al_buf_vprintf(al_buf *b, const char *fmt, va_list ap) {
  va_list cp;
  va_copy(cp, ap);
  int n = vsnprintf(NULL, 0, fmt, cp);
  va_end(cp);
  if (n < 0) return AL_EINVAL;
  int rc = reserve(b, (size_t)n);
  if (rc) return rc;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int al_buf_printf(al_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = al_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

void al_buf_consume(al_buf *b, size_t n) {
  if (n >= b->len) {
    al_buf_reset(b);
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
  b->data[b->len] = '\0';
}

char *al_buf_steal(al_buf *b, size_t *len) {
  char *p = b->data;
  if (len) *len = b->len;
  if (!p) p = al_strdup("");
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}
