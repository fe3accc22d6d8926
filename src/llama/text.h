/* Text helpers of the llama worker: UTF-8 streaming and stop strings.
 *
 * A token's piece may end inside a multi-byte UTF-8 character (byte-fallback vocabularies
 * emit characters one byte per token). Token events must carry valid UTF-8 (they are
 * JSON), so al_utf8_stream holds back an incomplete tail until the next token completes
 * it; bytes that can never form a character (overlongs, surrogates, stray continuation
 * bytes) become U+FFFD. Pure code, unit-tested without libllama.
 */
#ifndef AL_LLAMA_TEXT_H
#define AL_LLAMA_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "airlock/buf.h"

typedef struct al_utf8_stream {
  unsigned char pend[4];
  size_t n;
} al_utf8_stream;

/* Append n bytes; write to out the complete characters (invalid bytes as U+FFFD) and hold
 * an incomplete tail. Returns 0 or the al_buf error. */
int al_utf8_stream_push(al_utf8_stream *u, const char *p, size_t n, al_buf *out);
/* End of stream: a held tail becomes U+FFFD. */
int al_utf8_stream_flush(al_utf8_stream *u, al_buf *out);
/* Valid UTF-8 copy of a complete string (invalid and incomplete bytes as U+FFFD). */
int al_utf8_sanitize(const char *p, size_t n, al_buf *out);

/* First occurrence of any of the stop strings in text that ends at or after byte `from`
 * (only the part of the text that grew needs searching). Returns its offset or -1. */
long al_stop_find(const char *text, size_t len, size_t from, char *const *stop, size_t n_stop);

#endif
