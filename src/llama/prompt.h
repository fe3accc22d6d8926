/* Prompt rendering and tokenization for the llama engine (see prompt.c). */
#ifndef AL_LLAMA_PROMPT_H
#define AL_LLAMA_PROMPT_H

#include <llama.h>
#include <stddef.h>

#include "airlock/error.h"
#include "llama/request.h"

/* Render req's messages with tmpl (a template source or built-in name; NULL = plain). *out
 * is NUL-terminated, free with al_free. */
int al_llama_render(const char *tmpl, const al_llama_request *req, char **out, size_t *out_len,
                    al_error *err);
/* Tokenize prompt text (BOS added unless the text starts with it; special tokens parsed).
 * *out freed with al_free. */
int al_llama_tokenize(const struct llama_vocab *vocab, const char *text, size_t len,
                      llama_token **out, int *n_out, al_error *err);

#endif
