/* Baseline for the llama worker benchmark: the plainest libllama generation loop.
 *
 *   llama-raw-loop --model PATH [--threads N] [--seed N] [--max-tokens N] [--reps N]
 *                  [--prompt TEXT] [--libdir DIR] [--flash-attn on|off|auto]
 *
 * Same work as airlock-llama-worker per request -- clear memory, tokenize the prompt
 * (plain template), decode it, then sample with the same chain (top_k 40, top_p 0.95,
 * temperature 0.8, seeded dist) and decode one token at a time until end-of-generation or
 * max_tokens -- but no statistics, no text, no events. Prints one line:
 *   tokens=N gen_s=S tok_per_s=R
 * where gen_s counts only the generation phase, as the worker's done.timing.gen_ms does.
 */
#include <ggml-backend.h>
#include <llama.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"

static void quiet(enum ggml_log_level l, const char *t, void *u) { (void)l, (void)t, (void)u; }

int main(int argc, char **argv) {
  const char *model_path = NULL, *prompt = "Once upon a time", *libdir = AL_LLAMA_LIBDIR;
  int threads = 1, max_tokens = 256, reps = 20;
  enum llama_flash_attn_type flash_attn = LLAMA_FLASH_ATTN_TYPE_DISABLED; /* as the worker */
  unsigned seed = 42;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--model"))
      model_path = argv[i + 1];
    else if (!strcmp(argv[i], "--threads"))
      threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--seed"))
      seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--max-tokens"))
      max_tokens = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--reps"))
      reps = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--prompt"))
      prompt = argv[i + 1];
    else if (!strcmp(argv[i], "--libdir"))
      libdir = argv[i + 1];
    else if (!strcmp(argv[i], "--flash-attn"))
      flash_attn = !strcmp(argv[i + 1], "on")    ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                   : !strcmp(argv[i + 1], "off") ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                                                 : LLAMA_FLASH_ATTN_TYPE_AUTO;
    else {
      fprintf(stderr, "llama-raw-loop: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (!model_path || threads < 1 || max_tokens < 1 || reps < 1) {
    fprintf(stderr, "usage: llama-raw-loop --model PATH [--threads N] [--seed N] [--max-tokens N] "
                    "[--reps N]\n");
    return 2;
  }
  llama_log_set(quiet, NULL);
  ggml_backend_load_all_from_path(libdir);
  llama_backend_init();
  struct llama_model *model = llama_model_load_from_file(model_path, llama_model_default_params());
  if (!model) {
    fprintf(stderr, "llama-raw-loop: cannot load %s\n", model_path);
    return 1;
  }
  const struct llama_vocab *vocab = llama_model_get_vocab(model);
  struct llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 2048;
  cp.n_batch = 2048;
  cp.n_ubatch = 512;
  cp.n_seq_max = 1;
  cp.n_threads = cp.n_threads_batch = threads;
  cp.no_perf = true;
  cp.flash_attn_type = flash_attn;
  struct llama_context *ctx = llama_init_from_model(model, cp);
  llama_token toks[512];
  int n_prompt = llama_tokenize(vocab, prompt, (int32_t)strlen(prompt), toks, 512, true, true);
  if (!ctx || n_prompt <= 0) {
    fprintf(stderr, "llama-raw-loop: cannot set up the context or the prompt\n");
    return 1;
  }
  long total = 0;
  int64_t gen_ns = 0;
  for (int r = 0; r < reps; r++) {
    struct llama_sampler_chain_params sp = llama_sampler_chain_default_params();
    sp.no_perf = true;
    struct llama_sampler *ch = llama_sampler_chain_init(sp);
    llama_sampler_chain_add(ch, llama_sampler_init_top_k(40));
    llama_sampler_chain_add(ch, llama_sampler_init_top_p(0.95f, 1));
    llama_sampler_chain_add(ch, llama_sampler_init_temp(0.8f));
    llama_sampler_chain_add(ch, llama_sampler_init_dist(seed));
    llama_memory_clear(llama_get_memory(ctx), true);
    if (llama_decode(ctx, llama_batch_get_one(toks, n_prompt)) != 0) return 1;
    int64_t t0 = al_now_ns();
    for (int i = 0; i < max_tokens && n_prompt + i < 2048; i++) {
      llama_token t = llama_sampler_sample(ch, ctx, -1);
      if (llama_vocab_is_eog(vocab, t)) break;
      total++;
      if (llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0) return 1;
    }
    gen_ns += al_now_ns() - t0;
    llama_sampler_free(ch);
  }
  double s = (double)gen_ns / 1e9;
  printf("tokens=%ld gen_s=%.4f tok_per_s=%.0f\n", total, s, s > 0 ? (double)total / s : 0.0);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
