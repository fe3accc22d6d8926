/* One exec-protocol request line (docs/design/exec-protocol.md), parsed and checked.
 *
 * The llama worker reads requests from its stdin, one JSON object per line. This module
 * turns a line into an al_llama_request with every field validated and bounded (limits.h),
 * the messages flattened to role/content pairs ready for a chat template, and the
 * json_schema, when present, already converted to a GBNF grammar. Bad input yields an
 * al_error whose message says which field and what was expected; JSON syntax errors carry
 * the column. Pure code (jansson only): the fuzz target fuzz_llama_request links it
 * without libllama.
 */
#ifndef AL_LLAMA_REQUEST_H
#define AL_LLAMA_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/error.h"
#include "llama/schema_gbnf.h"

typedef struct al_llama_msg {
  char *role;    /* system, user, assistant, tool ("developer" is read as system) */
  char *content; /* text; tool calls of assistant turns are rendered into it as JSON */
} al_llama_msg;

typedef struct al_llama_request {
  char *id;
  al_llama_msg *msgs;
  size_t n_msgs;
  int max_tokens;     /* default AL_LLAMA_DEFAULT_MAX_TOKENS */
  double temperature; /* default 1.0; 0 = greedy */
  double top_p;       /* default 1.0 (off) */
  int top_k;          /* default 0 (off) */
  bool has_seed;
  uint32_t seed;
  int top_logprobs; /* -1 = the worker's --top-k-log */
  char **stop;
  size_t n_stop;
  char *tools_json; /* compact JSON of "tools", or NULL */
  char *grammar;    /* GBNF derived from json_schema, or NULL */
} al_llama_request;

/* Parse one line (no trailing newline needed; len bytes, need not be NUL-terminated).
 * lineno is the 1-based request line, used in error locations ("<stdin>":lineno:col).
 * On failure req is left cleaned up, except req->id, which is kept when the line had a
 * readable string id so that the error event can carry it. */
int al_llama_request_parse(const char *line, size_t len, int lineno, al_llama_request *req,
                           al_error *err);
/* Same, with the grammar caps for json_schema (NULL = defaults; see schema_gbnf.h). */
int al_llama_request_parse_caps(const char *line, size_t len, int lineno,
                                const al_schema_caps *caps, al_llama_request *req, al_error *err);
void al_llama_request_cleanup(al_llama_request *req);

#endif
