/* The llama.cpp engine of airlock-llama-worker: one model, one context, one request at a
 * time.
 *
 * al_llama_engine_new loads the CPU backend variants from the llama.cpp library folder
 * (ggml_backend_load_all_from_path: the prebuilt libggml-cpu-<arch>.so files are separate
 * plugins), the GGUF model and a context. al_llama_generate renders the messages with the
 * chat template, tokenizes, decodes and samples with a per-request sampler chain (grammar
 * from json_schema, top_k, top_p, temperature, seeded dist; greedy at temperature 0), and
 * calls on_token for every generated token with its text (complete UTF-8 only), the
 * log-probability of the chosen token under the full softmax, the entropy and the top-k
 * alternatives. The engine never prints: llama.cpp's own log is routed to a callback the
 * caller may set (al_llama_set_log), errors come back in al_error.
 */
#ifndef AL_LLAMA_ENGINE_H
#define AL_LLAMA_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "airlock/error.h"
#include "llama/logits.h"
#include "llama/request.h"

typedef struct al_llama_opts {
  const char *model_path;
  const char *libdir;        /* folder of libggml-cpu-*.so; NULL = backends already loaded */
  int threads;               /* generation and prompt threads; default 1 */
  int n_ctx;                 /* 0 = the model's training context, at most 4096 */
  uint32_t seed;             /* used when a request has no seed */
  const char *chat_template; /* NULL or "auto", "plain", or a llama.cpp built-in name */
  int top_k_log;             /* alternatives per token when the request does not say */
  int flash_attn;            /* 0 off (default: 2x faster on tiny CPU models), 1 on, -1 auto */
} al_llama_opts;

typedef struct al_llama_engine al_llama_engine;

typedef struct al_llama_token_event {
  int32_t token_id;
  const char *text; /* valid UTF-8 this token completes (may be empty) */
  size_t text_len;
  float logprob;
  float entropy;
  const al_llama_alt *top;
  const char *const *top_text; /* valid UTF-8 piece of each alternative */
  int n_top;
} al_llama_token_event;

/* Return nonzero to stop generating (the result then has finish_reason "abort"). */
typedef int (*al_llama_on_token)(void *ud, const al_llama_token_event *ev);

typedef struct al_llama_result {
  char *text; /* owned, valid UTF-8, stop string removed */
  size_t text_len;
  const char *finish_reason; /* "stop", "length" or "abort" */
  int prompt_tokens;
  int completion_tokens;
  double prompt_ms;
  double gen_ms;
} al_llama_result;

/* Route llama.cpp/ggml log lines (level: 2 info, 3 warn, 4 error as in ggml) to fn. */
typedef void (*al_llama_log_fn)(int level, const char *text, void *ud);
void al_llama_set_log(al_llama_log_fn fn, void *ud);

int al_llama_engine_new(const al_llama_opts *o, al_llama_engine **out, al_error *err);
void al_llama_engine_free(al_llama_engine *e);
const char *al_llama_engine_model_name(const al_llama_engine *e);
int al_llama_engine_n_ctx(const al_llama_engine *e);
int al_llama_engine_n_vocab(const al_llama_engine *e);
/* "plain", or the name/source of the template in use ("model" for the GGUF's own). */
const char *al_llama_engine_template(const al_llama_engine *e);

int al_llama_generate(al_llama_engine *e, const al_llama_request *req, al_llama_on_token on_token,
                      void *ud, al_llama_result *res, al_error *err);
void al_llama_result_cleanup(al_llama_result *r);

#endif
