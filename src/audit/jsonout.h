/* Fast JSON text output for the audit writer's hot path: a string escaper that always
 * yields valid UTF-8 (invalid bytes become U+FFFD, so every line parses), and an unsigned
 * decimal formatter. Serialising only; all JSON parsing is jansson's. */
#ifndef AIRLOCK_AUDIT_JSONOUT_H
#define AIRLOCK_AUDIT_JSONOUT_H

#include <stddef.h>
#include <stdint.h>

#include "airlock/buf.h"

#include "airlock/util.h" /* al_utf8_check */
/* Appends "text" (with quotes) to b. */
int al_json_put_str(al_buf *b, const char *s, size_t n);
/* Appends the decimal form of v. */
int al_json_put_u64(al_buf *b, uint64_t v);
int al_json_put_i64(al_buf *b, int64_t v);

#endif
