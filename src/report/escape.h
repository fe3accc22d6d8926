/* Escaping of untrusted text for each output medium, in one place (src/report/escape.c).
 *
 * Everything a model wrote, and everything from a suite, is untrusted: it may hold invalid
 * UTF-8, terminal control sequences, bidirectional overrides ("Trojan Source"), XML or
 * Markdown syntax. Renderers never write such text except through these functions.
 */
#ifndef AL_REPORT_ESCAPE_H
#define AL_REPORT_ESCAPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/buf.h"

/* Decode one code point of s[0..n); returns its length, or 0 for an invalid sequence
 * (then *cp is U+FFFD and the caller skips one byte). n must be > 0. */
size_t al_utf8_next(const char *s, size_t n, uint32_t *cp);
/* The longest prefix of s[0..n) of at most max bytes that ends on a character boundary. */
size_t al_utf8_prefix(const char *s, size_t n, size_t max);
/* A JSON string of s[0..n), invalid UTF-8 replaced by U+FFFD. NULL only without memory. */
json_t *al_json_text(const char *s, size_t n);

/* Terminal / plain text: control characters as \n \t \r \xNN, bidi controls as \u{...},
 * invalid UTF-8 as U+FFFD. */
int al_esc_term(al_buf *b, const char *s, size_t n);
/* XML 1.0 character data or attribute values: & < > " ' as entities, tab/newline kept in
 * text and as character references in attributes, other C0 controls (not allowed in
 * XML 1.0) as the visible text \xNN, C1 controls and bidi controls as \u{...}, invalid
 * UTF-8 as U+FFFD. */
int al_esc_xml(al_buf *b, const char *s, size_t n, int attr);
/* Markdown inline text (tables, lists): what al_esc_term does, plus HTML entities for
 * & < > and a backslash before the characters \ ` * _ [ ] | ~ */
int al_esc_md(al_buf *b, const char *s, size_t n);

#endif
