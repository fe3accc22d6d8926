/* Bounded, growable byte buffers (curl's dynbuf shape).
 *
 * Every buffer has a maximum size set at init; an append that would pass it fails with
 * AL_ELIMIT and leaves the buffer as it was. Data is always NUL-terminated so text can be
 * handed to C string functions, but lengths are authoritative (data may hold NUL bytes).
 */
#ifndef AIRLOCK_BUF_H
#define AIRLOCK_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct al_buf {
  char *data;
  size_t len;
  size_t cap;
  size_t max;
} al_buf;

void al_buf_init(al_buf *b, size_t max);
void al_buf_cleanup(al_buf *b);
void al_buf_reset(al_buf *b); /* len = 0, keeps memory */
int al_buf_append(al_buf *b, const void *p, size_t n);
/* Room for extra more bytes (and the terminating NUL) without changing len: AL_ELIMIT past
 * the maximum, AL_ENOMEM. data + len may then be written up to extra bytes. */
int al_buf_reserve(al_buf *b, size_t extra);
int al_buf_puts(al_buf *b, const char *s);
int al_buf_putc(al_buf *b, char c);
int al_buf_printf(al_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int al_buf_vprintf(al_buf *b, const char *fmt, va_list ap);
/* Remove the first n bytes. */
void al_buf_consume(al_buf *b, size_t n);
/* Hand the data out (caller frees); the buffer is left empty. */
char *al_buf_steal(al_buf *b, size_t *len);

#endif
