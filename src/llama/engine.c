/* The llama.cpp engine (see engine.h).
 *
 * Start-up order matters with the prebuilt libraries: the CPU backend is a plugin chosen by
 * micro-architecture (libggml-cpu-haswell.so, ...-zen4.so, ...), so the backends are loaded
 * from the library folder before the model; a model loaded with no backend fails.
 *
 * Per request: clear the KV memory, render and tokenize the prompt, decode it in batches of
 * n_batch, then generate one token at a time. The statistics of each token are taken from
 * the raw logits of llama_get_logits_ith before sampling touches anything; the sampler
 * chain works on its own copy. Cost per token beyond llama_decode: one pass over the
 * vocabulary for the softmax sums and top-k, and one llama_token_to_piece per reported
 * alternative.
 */
#include "llama/engine.h"

#include <ggml-backend.h>
#include <llama.h>
#include <math.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "core/limits.h"
#include "llama/limits.h"
#include "llama/prompt.h"
#include "llama/text.h"

struct al_llama_engine {
  struct llama_model *model;
  struct llama_context *ctx;
  const struct llama_vocab *vocab;
  char *name;
  char *tmpl; /* NULL = plain */
  const char *tmpl_label;
  int n_ctx, n_vocab, top_k_log;
  uint32_t seed;
  /* per-token scratch */
  al_llama_alt top[AL_MAX_TOP_LOGPROBS];
  const char *top_text[AL_MAX_TOP_LOGPROBS];
  al_buf alt_text;
};

static al_llama_log_fn log_fn;
static void *log_ud;

static void on_ggml_log(enum ggml_log_level level, const char *text, void *ud) {
  (void)ud;
  if (log_fn) log_fn((int)level, text, log_ud);
}

void al_llama_set_log(al_llama_log_fn fn, void *ud) {
  log_fn = fn;
  log_ud = ud;
  llama_log_set(on_ggml_log, NULL);
}

static char *model_name(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 5 && strcmp(base + n - 5, ".gguf") == 0) n -= 5;
  return al_strndup(base, n);
}

/* Pick the chat template: "plain", a built-in name, or (auto) the model's when usable. */
static int choose_template(al_llama_engine *e, const char *want, al_error *err) {
  if (want && strcmp(want, "plain") == 0) {
    e->tmpl_label = "plain";
    return 0;
  }
  const char *src = NULL;
  if (want && strcmp(want, "auto") != 0) {
    const char *names[128];
    int32_t n = llama_chat_builtin_templates(names, 128);
    bool known = false;
    for (int32_t i = 0; i < n && i < 128; i++)
      known |= strcmp(names[i], want) == 0;
    if (!known)
      return al_error_set(
          err, AL_EINVAL,
          "--chat-template: '%s' is not a llama.cpp built-in template (or auto, plain)", want);
    src = want;
  } else {
    src = llama_model_chat_template(e->model, NULL);
    if (!src) {
      e->tmpl_label = "plain";
      return 0;
    }
  }
  /* Probe: llama_chat_apply_template only knows a fixed list of templates. */
  struct llama_chat_message probe[2] = {{"system", "s"}, {"user", "u"}};
  char buf[512];
  if (llama_chat_apply_template(src, probe, 2, true, buf, sizeof buf) < 0) {
    if (want && strcmp(want, "auto") != 0)
      return al_error_set(err, AL_EUNSUPPORTED, "--chat-template '%s' cannot be applied", want);
    if (log_fn)
      log_fn(GGML_LOG_LEVEL_WARN, "llama: model chat template not supported; using plain\n",
             log_ud);
    e->tmpl_label = "plain";
    return 0;
  }
  e->tmpl = al_strdup(src);
  if (!e->tmpl) return al_error_set(err, AL_ENOMEM, "out of memory");
  e->tmpl_label = want && strcmp(want, "auto") != 0 ? want : "model";
  return 0;
}

int al_llama_engine_new(const al_llama_opts *o, al_llama_engine **out, al_error *err) {
  al_llama_engine *e = NULL;
  int rc = 0;
  *out = NULL;
  if (!o->model_path) return al_error_set(err, AL_EINVAL, "no model path");
  e = al_calloc(1, sizeof *e);
  if (!e) return al_error_set(err, AL_ENOMEM, "out of memory");
  al_buf_init(&e->alt_text, 64 * 1024);
  if (o->libdir) ggml_backend_load_all_from_path(o->libdir);
  if (ggml_backend_dev_count() == 0) {
    rc = al_error_set(err, AL_ENOTFOUND, "no ggml backend found in %s (libggml-cpu-*.so)",
                      o->libdir ? o->libdir : "(no library folder given)");
    goto out;
  }
  llama_backend_init();
  struct llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  e->model = llama_model_load_from_file(o->model_path, mp);
  if (!e->model) {
    rc = al_error_at(err, AL_EINVAL, o->model_path, 0, 0,
                     "cannot load the model (not a GGUF file llama.cpp reads)");
    goto out;
  }
  e->vocab = llama_model_get_vocab(e->model);
  e->n_vocab = llama_vocab_n_tokens(e->vocab);
  int threads = o->threads > 0 ? o->threads : 1;
  int n_ctx = o->n_ctx;
  if (n_ctx <= 0) {
    n_ctx = llama_model_n_ctx_train(e->model);
    if (n_ctx <= 0 || n_ctx > 4096) n_ctx = 4096;
  }
  struct llama_context_params cp = llama_context_default_params();
  cp.n_ctx = (uint32_t)n_ctx;
  cp.n_batch = (uint32_t)(n_ctx < 2048 ? n_ctx : 2048);
  cp.n_ubatch = cp.n_batch < 512 ? cp.n_batch : 512;
  cp.n_seq_max = 1;
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  cp.no_perf = true;
  cp.flash_attn_type = o->flash_attn > 0    ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                       : o->flash_attn == 0 ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                                            : LLAMA_FLASH_ATTN_TYPE_AUTO;
  e->ctx = llama_init_from_model(e->model, cp);
  if (!e->ctx) {
    rc = al_error_set(err, AL_ENOMEM, "cannot create a llama context of %d tokens", n_ctx);
    goto out;
  }
  e->n_ctx = (int)llama_n_ctx(e->ctx);
  e->name = model_name(o->model_path);
  e->seed = o->seed;
  e->top_k_log = o->top_k_log < 0                     ? 0
                 : o->top_k_log > AL_MAX_TOP_LOGPROBS ? AL_MAX_TOP_LOGPROBS
                                                      : o->top_k_log;
  if (!e->name) {
    rc = al_error_set(err, AL_ENOMEM, "out of memory");
    goto out;
  }
  rc = choose_template(e, o->chat_template, err);
out:
  if (rc) {
    al_llama_engine_free(e);
    return rc;
  }
  *out = e;
  return 0;
}

void al_llama_engine_free(al_llama_engine *e) {
  if (!e) return;
  if (e->ctx) llama_free(e->ctx);
  if (e->model) llama_model_free(e->model);
  al_free(e->name);
  al_free(e->tmpl);
  al_buf_cleanup(&e->alt_text);
  al_free(e);
}

const char *al_llama_engine_model_name(const al_llama_engine *e) { return e->name; }
int al_llama_engine_n_ctx(const al_llama_engine *e) { return e->n_ctx; }
int al_llama_engine_n_vocab(const al_llama_engine *e) { return e->n_vocab; }
const char *al_llama_engine_template(const al_llama_engine *e) { return e->tmpl_label; }

static struct llama_sampler *make_chain(al_llama_engine *e, const al_llama_request *req,
                                        al_error *err) {
  struct llama_sampler_chain_params sp = llama_sampler_chain_default_params();
  sp.no_perf = true;
  struct llama_sampler *ch = llama_sampler_chain_init(sp);
  if (!ch) return NULL;
  if (req->grammar) {
    struct llama_sampler *g = llama_sampler_init_grammar(e->vocab, req->grammar, "root");
    if (!g) {
      llama_sampler_free(ch);
      al_error_set(err, AL_EINVAL, "json_schema: llama.cpp rejected the derived grammar");
      return NULL;
    }
    llama_sampler_chain_add(ch, g);
  }
  if (req->temperature <= 0) {
    llama_sampler_chain_add(ch, llama_sampler_init_greedy());
    return ch;
  }
  if (req->top_k > 0) llama_sampler_chain_add(ch, llama_sampler_init_top_k(req->top_k));
  if (req->top_p < 1.0) llama_sampler_chain_add(ch, llama_sampler_init_top_p((float)req->top_p, 1));
  llama_sampler_chain_add(ch, llama_sampler_init_temp((float)req->temperature));
  llama_sampler_chain_add(ch, llama_sampler_init_dist(req->has_seed ? req->seed : e->seed));
  return ch;
}

/* Text of one token into b (raw bytes, possibly a partial UTF-8 character). */
static int piece(const struct llama_vocab *v, llama_token t, al_buf *b) {
  char tmp[AL_LLAMA_PIECE_BYTES];
  int32_t n = llama_token_to_piece(v, t, tmp, sizeof tmp, 0, false);
  if (n < 0) return AL_ELIMIT; /* a token longer than AL_LLAMA_PIECE_BYTES */
  return al_buf_append(b, tmp, (size_t)n);
}

/* Decode n tokens in batches of n_batch. */
static int decode_all(al_llama_engine *e, llama_token *t, int n, al_error *err) {
  int step = (int)llama_n_batch(e->ctx);
  for (int i = 0; i < n; i += step) {
    int k = n - i < step ? n - i : step;
    int32_t r = llama_decode(e->ctx, llama_batch_get_one(t + i, k));
    if (r != 0) return al_error_set(err, AL_EIO, "llama_decode failed (%d)", r);
  }
  return 0;
}

int al_llama_generate(al_llama_engine *e, const al_llama_request *req, al_llama_on_token on_token,
                      void *ud, al_llama_result *res, al_error *err) {
  char *prompt = NULL;
  size_t prompt_len = 0;
  llama_token *toks = NULL;
  int n_prompt = 0, rc = 0;
  struct llama_sampler *chain = NULL;
  al_buf text, raw, fresh;
  al_utf8_stream u = {0};
  memset(res, 0, sizeof *res);
  al_buf_init(&text, (size_t)AL_LLAMA_MAX_MAX_TOKENS * AL_LLAMA_PIECE_BYTES);
  al_buf_init(&raw, AL_LLAMA_PIECE_BYTES);
  al_buf_init(&fresh, AL_LLAMA_PIECE_BYTES + 8);
  int k_log = req->top_logprobs >= 0 ? req->top_logprobs : e->top_k_log;
  if (k_log > AL_MAX_TOP_LOGPROBS) k_log = AL_MAX_TOP_LOGPROBS;

  int64_t t0 = al_now_ns();
  rc = al_llama_render(e->tmpl, req, &prompt, &prompt_len, err);
  if (!rc) rc = al_llama_tokenize(e->vocab, prompt, prompt_len, &toks, &n_prompt, err);
  if (rc) goto out;
  if (n_prompt >= e->n_ctx) {
    rc = al_error_set(err, AL_ELIMIT,
                      "context window exceeded: the prompt is %d tokens, n_ctx is %d", n_prompt,
                      e->n_ctx);
    goto out;
  }
  if (n_prompt == 0) {
    rc = al_error_set(err, AL_EINVAL, "the prompt is empty");
    goto out;
  }
  chain = make_chain(e, req, err);
  if (!chain) {
    rc = err && err->code ? err->code
                          : al_error_set(err, AL_ENOMEM, "cannot create the sampler chain");
    goto out;
  }
  llama_memory_clear(llama_get_memory(e->ctx), true);
  rc = decode_all(e, toks, n_prompt, err);
  if (rc) goto out;
  int64_t t1 = al_now_ns();
  res->prompt_ms = (double)(t1 - t0) / 1e6;
  res->prompt_tokens = n_prompt;
  res->finish_reason = "length";

  int n_past = n_prompt;
  bool stop_string = false;
  for (int i = 0; i < req->max_tokens; i++) {
    if (n_past >= e->n_ctx) break; /* context full: finish_reason "length" */
    const float *logits = llama_get_logits_ith(e->ctx, -1);
    llama_token tok = llama_sampler_sample(chain, e->ctx, -1);
    if (tok == LLAMA_TOKEN_NULL || llama_vocab_is_eog(e->vocab, tok)) {
      res->finish_reason = "stop";
      break;
    }
    al_llama_logit_stats st;
    al_llama_logit_stats_compute(logits, e->n_vocab, tok, k_log, e->top, &st);
    al_buf_reset(&raw);
    al_buf_reset(&fresh);
    rc = piece(e->vocab, tok, &raw);
    if (!rc) rc = al_utf8_stream_push(&u, raw.data ? raw.data : "", raw.len, &fresh);
    size_t before = text.len;
    if (!rc) rc = al_buf_append(&text, fresh.data ? fresh.data : "", fresh.len);
    if (rc) {
      rc = al_error_set(err, rc, "generated text too large");
      goto out;
    }
    res->completion_tokens++;
    size_t ev_len = fresh.len;
    long hit = req->n_stop ? al_stop_find(text.data, text.len, before, req->stop, req->n_stop) : -1;
    if (hit >= 0) {
      ev_len = (size_t)hit > before ? (size_t)hit - before : 0;
      text.len = (size_t)hit;
      text.data[hit] = '\0';
      res->finish_reason = "stop";
      stop_string = true;
    }
    if (on_token) {
      al_buf_reset(&e->alt_text);
      size_t offs[AL_MAX_TOP_LOGPROBS];
      for (int j = 0; j < st.n_top && !rc; j++) {
        al_buf_reset(&raw);
        offs[j] = e->alt_text.len;
        rc = piece(e->vocab, e->top[j].token, &raw);
        if (!rc) rc = al_utf8_sanitize(raw.data ? raw.data : "", raw.len, &e->alt_text);
        if (!rc) rc = al_buf_putc(&e->alt_text, '\0');
      }
      if (rc) {
        rc = al_error_set(err, rc, "token text too large");
        goto out;
      }
      for (int j = 0; j < st.n_top; j++)
        e->top_text[j] = e->alt_text.data + offs[j];
      al_llama_token_event ev = {.token_id = tok,
                                 .text = fresh.data ? fresh.data : "",
                                 .text_len = ev_len,
                                 .logprob = st.logprob,
                                 .entropy = st.entropy,
                                 .top = e->top,
                                 .top_text = e->top_text,
                                 .n_top = st.n_top};
      if (on_token(ud, &ev) != 0) {
        res->finish_reason = "abort";
        break;
      }
    }
    if (hit >= 0) break;
    rc = decode_all(e, &tok, 1, err);
    if (rc) goto out;
    n_past++;
  }
  if (!stop_string) { /* a held partial character ends as U+FFFD */
    rc = al_utf8_stream_flush(&u, &text);
    if (rc) {
      rc = al_error_set(err, rc, "generated text too large");
      goto out;
    }
  }
  res->gen_ms = (double)(al_now_ns() - t1) / 1e6;
  res->text = al_buf_steal(&text, &res->text_len);
  if (!res->text) rc = al_error_set(err, AL_ENOMEM, "out of memory");
out:
  if (chain) llama_sampler_free(chain);
  al_free(prompt);
  al_free(toks);
  al_buf_cleanup(&text);
  al_buf_cleanup(&raw);
  al_buf_cleanup(&fresh);
  return rc;
}

void al_llama_result_cleanup(al_llama_result *r) {
  if (!r) return;
  al_free(r->text);
  memset(r, 0, sizeof *r);
}
