/* Exec-protocol events written by the llama worker (docs/design/exec-protocol.md): ready,
 * token, done, error -- one compact JSON object per line on the given stream, flushed at
 * once so the runner sees tokens as they are generated. jansson writes the JSON; floats
 * are rounded to 7 significant digits and non-finite ones are written as null.
 * Each function returns 0 or AL_EIO (the stream failed) / AL_ENOMEM. */
#ifndef AL_LLAMA_EVENTS_H
#define AL_LLAMA_EVENTS_H

#include <stdio.h>

#include "llama/engine.h"

int al_llama_emit_ready(FILE *f, const al_llama_engine *e);

/* Token events are the hot path: a writer keeps one event object (and one per top-k
 * alternative) alive and updates it in place, then dumps it into a reused buffer and
 * writes the line with one fwrite -- no allocation per token in the steady state. */
typedef struct al_llama_token_writer al_llama_token_writer;
al_llama_token_writer *al_llama_token_writer_new(void);
void al_llama_token_writer_free(al_llama_token_writer *w);
int al_llama_emit_token(FILE *f, al_llama_token_writer *w, const char *id,
                        const al_llama_token_event *ev);
/* tool_calls: an array in OpenAI shape or NULL (borrowed). */
int al_llama_emit_done(FILE *f, const char *id, const char *model, const al_llama_result *r,
                       const void *tool_calls);
/* id may be NULL (the request had no readable id). */
int al_llama_emit_error(FILE *f, const char *id, const char *message);

/* When the request offered tools and text is {"tool_calls": [{"name", "arguments"}...]},
 * return a new array of OpenAI-shaped calls (json_t *, caller json_decref's), else NULL. */
void *al_llama_parse_tool_calls(const char *text, size_t len);

#endif
