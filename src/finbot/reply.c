/* Rendering finbot's answer as an OpenAI chat-completions response.
 *
 * Non-streaming: one chat.completion object. Streaming: server-sent events, one
 * chat.completion.chunk per token (a first chunk carries the role, a last one the
 * finish_reason and usage), then "data: [DONE]". Tool calls are sent as one chunk.
 *
 * Tokens are "word-ish" (fb_tokenize): leading whitespace plus a word, or plus a single
 * punctuation character. max_tokens cuts the answer after that many tokens
 * (finish_reason "length").
 *
 * Pseudo-logprobs are a pure function of (token text, seed): the chosen token gets a
 * probability p in [0.40, 0.9999) from a hash; the alternatives share what is left,
 * halving each time (scaled by a hashed factor in [0.6, 1)), so the list is strictly
 * decreasing and the chosen token is always first -- what a greedy sampler would report.
 * Alternative texts are drawn from a small vocabulary, keep the token's leading space and
 * never repeat the chosen text.
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "finbot/finbot.h"

/* Logprobs are printed with 10 significant digits: plenty, and cheaper than 17. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

static const char *const vocab[] = {
    "the",   "a",    "your",  "account", "card", "bank",  "please", "we",   "you",  "can",
    "will",  "to",   "of",    "and",     "is",   "it",    "for",    "this", "that", "our",
    "money", "help", "today", "now",     "here", "there", "first",  "then", "also", "only",
    "more",  "any",  ".",     ",",       "!",    "?",     ":",      "I",    "so",   "if",
    "all",   "each", "one",   "two",     "time", "day",   "open",   "fee",
};
#define N_VOCAB (sizeof vocab / sizeof vocab[0])

static int is_word_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}
static int is_space(unsigned char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

size_t fb_tokenize(const char *text, size_t len, size_t *ends, size_t max) {
  size_t i = 0, n = 0;
  const unsigned char *t = (const unsigned char *)text;
  while (i < len) {
    while (i < len && is_space(t[i]))
      i++;
    if (i < len) {
      if (is_word_char(t[i]))
        while (i < len && is_word_char(t[i]))
          i++;
      else
        i++;
    }
    if (ends && n < max) ends[n] = i;
    n++;
  }
  return n;
}

static uint64_t mix(uint64_t x) { /* splitmix64 finaliser */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
static double unit(uint64_t h) { return (double)(h >> 11) * 0x1.0p-53; }

/* "bytes" of a token: the UTF-8 bytes when the token has non-ASCII bytes (where they are
 * needed to rebuild split characters), null for plain ASCII (OpenAI allows null). */
static json_t *bytes_of(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && (unsigned char)s[i] < 0x80)
    i++;
  if (i == n) return json_null();
  json_t *a = json_array();
  for (i = 0; a && i < n; i++)
    json_array_append_new(a, json_integer((unsigned char)s[i]));
  return a;
}

static json_t *top_entry(const char *s, size_t n, double lp) {
  return json_pack("{s:s%, s:f, s:o}", "token", s, n, "logprob", lp, "bytes", bytes_of(s, n));
}

/* One element of logprobs.content for token [tok, tok+n). */
static json_t *logprob_entry(const char *tok, size_t n, uint64_t seed, int k) {
  uint64_t h = mix(fb_hash(tok, n, FB_HASH_INIT) ^ mix(seed));
  double p = 0.40 + 0.5999 * unit(h);
  json_t *e = top_entry(tok, n, log(p));
  json_t *tops = json_array();
  if (!e || !tops) goto fail;
  if (k > 0 && json_array_append_new(tops, top_entry(tok, n, log(p)))) goto fail;
  size_t lead = 0;
  while (lead < n && is_space((unsigned char)tok[lead]))
    lead++;
  double rest = 1.0 - p, share = 0.5;
  const char *used[FB_MAX_TOP_LOGPROBS];
  int nused = 0;
  for (int i = 1; i < k; i++) {
    uint64_t hi = mix(h + (uint64_t)i);
    const char *w = NULL;
    for (size_t step = 0; step < N_VOCAB && !w; step++) {
      const char *cand = vocab[(hi + step) % N_VOCAB];
      int dup = strlen(cand) == n - lead && memcmp(cand, tok + lead, n - lead) == 0;
      for (int j = 0; j < nused && !dup; j++)
        dup = used[j] == cand;
      if (!dup) w = cand;
    }
    if (!w) break;
    used[nused++] = w;
    char alt[96];
    int m = snprintf(alt, sizeof alt, "%.*s%s", (int)(lead < 8 ? lead : 8), tok, w);
    double pi = rest * share * (0.6 + 0.4 * unit(mix(hi)));
    share *= 0.5;
    if (json_array_append_new(tops, top_entry(alt, (size_t)m, log(pi)))) goto fail;
  }
  if (json_object_set_new(e, "top_logprobs", tops)) {
    tops = NULL;
    goto fail;
  }
  return e;
fail:
  json_decref(e);
  json_decref(tops);
  return NULL;
}

char *fb_error_json(const char *message, const char *type, const char *param, const char *code) {
  json_t *o = json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", message, "type", type,
                        "param", param, "code", code);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}

typedef struct render {
  const fb_request *rq;
  const fb_answer *a;
  char id[40], model[16], fp[24];
  uint64_t seed;
  size_t n_tok, n_emit;
  size_t *ends;
  const char *finish;
  fb_emit_fn emit;
  void *ctx;
  al_buf prefix; /* streaming: "data: " + chunk envelope up to choices[0].delta */
} render;

static json_t *usage_of(const render *r) {
  long long c = (long long)r->n_emit;
  return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)r->rq->prompt_tokens,
                   "completion_tokens", (json_int_t)c, "total_tokens",
                   (json_int_t)(r->rq->prompt_tokens + c));
}

static json_t *tool_calls_of(const render *r, int with_index) {
  const fb_answer *a = r->a;
  json_t *tc = json_pack("{s:s, s:s, s:{s:s, s:s%}}", "id", a->tool_call_id, "type", "function",
                         "function", "name", a->tool_name, "arguments", a->text.data, a->text.len);
  if (tc && with_index) json_object_set_new(tc, "index", json_integer(0));
  return tc ? json_pack("[o]", tc) : NULL;
}

static json_t *envelope(const render *r, const char *object) {
  return json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", r->id, "object", object, "created",
                   (json_int_t)FB_CREATED, "model", r->model, "system_fingerprint", r->fp);
}

static size_t tok_start(const render *r, size_t i) { return i ? r->ends[i - 1] : 0; }

static int put_json(al_buf *b, const json_t *v);

void fb_choices_cache_free(fb_choices_cache *c) {
  if (!c) return;
  al_free(c->text);
  free(c->json);
  free(c->env);
  al_free(c);
}

/* The "choices" of a plain text answer (no tool call, no logprobs), dumped by jansson. */
static char *choices_json(const render *r) {
  size_t len = r->n_emit ? r->ends[r->n_emit - 1] : 0;
  json_t *choices = json_pack("[{s:i, s:{s:s, s:s%}, s:n, s:s}]", "index", 0, "message", "role",
                              "assistant", "content", r->a->text.data ? r->a->text.data : "", len,
                              "logprobs", "finish_reason", r->finish);
  char *s = choices ? json_dumps(choices, DUMP_FLAGS) : NULL;
  json_decref(choices);
  return s;
}

/* A plain text answer from cached pieces: the envelope (dumped once by jansson with a zero
 * id of the same length, the id's 16 hex digits written over it), the "choices" text (dumped
 * once per answer text), and the usage (three integers). Same bytes as render_full's single
 * dump of the whole object. */
static int render_cached(render *r, fb_choices_cache *c) {
  int rc = AL_ENOMEM;
  const char *text = r->a->text.data ? r->a->text.data : "";
  size_t tlen = r->a->text.len;
  al_buf b;
  al_buf_init(&b, SIZE_MAX);
  if (!c->json || c->len != tlen || c->n_emit != r->n_emit || c->finish != r->finish ||
      memcmp(c->text, text, tlen) != 0) {
    char *t = al_malloc(tlen + 1), *j = choices_json(r);
    if (!t || !j) {
      al_free(t);
      free(j);
      goto out;
    }
    memcpy(t, text, tlen);
    t[tlen] = '\0';
    al_free(c->text);
    free(c->json);
    c->text = t, c->len = tlen, c->n_emit = r->n_emit, c->finish = r->finish, c->json = j;
  }
  static const char zero_id[] = "chatcmpl-0000000000000000";
  if (!c->env || c->env_version != atoi(r->model + 8)) { /* model is "finbot-vN" */
    render z = *r;
    snprintf(z.id, sizeof z.id, "%s", zero_id);
    json_t *env = envelope(&z, "chat.completion");
    char *e = env ? json_dumps(env, DUMP_FLAGS) : NULL;
    json_decref(env);
    static const char head[] = "{\"id\":\"chatcmpl-0000000000000000\",";
    if (!e || strncmp(e, head, sizeof head - 1) != 0) {
      free(e);
      goto out;
    }
    free(c->env);
    c->env = e;
    c->env_version = atoi(r->model + 8);
  }
  size_t n = strlen(c->env);
  char usage[160];
  long long comp = (long long)r->n_emit, prompt = (long long)r->rq->prompt_tokens;
  int un = snprintf(usage, sizeof usage,
                    ",\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"total_tokens\":%lld}}",
                    prompt, comp, prompt + comp);
  if (strlen(r->id) != sizeof zero_id - 1 || un <= 0 || (size_t)un >= sizeof usage ||
      al_buf_append(&b, c->env, n - 1) || al_buf_puts(&b, ",\"choices\":") ||
      al_buf_puts(&b, c->json) || al_buf_append(&b, usage, (size_t)un))
    goto out;
  memcpy(b.data + 7, r->id, sizeof zero_id - 1); /* after {"id":" */
  rc = r->emit(r->ctx, b.data, b.len);
out:
  al_buf_cleanup(&b);
  return rc;
}

static int render_full(render *r) {
  int rc = AL_ENOMEM;
  char *s = NULL;
  json_t *resp = envelope(r, "chat.completion");
  json_t *msg = NULL, *lp = json_null();
  if (!resp) goto out;
  if (r->a->is_tool_call) {
    msg = json_pack("{s:s, s:n, s:o}", "role", "assistant", "content", "tool_calls",
                    tool_calls_of(r, 0));
  } else {
    size_t len = r->n_emit ? r->ends[r->n_emit - 1] : 0;
    msg = json_pack("{s:s, s:s%}", "role", "assistant", "content",
                    r->a->text.data ? r->a->text.data : "", len);
    if (r->rq->logprobs) {
      json_t *content = json_array();
      for (size_t i = 0; content && i < r->n_emit; i++) {
        size_t b = tok_start(r, i);
        if (json_array_append_new(content, logprob_entry(r->a->text.data + b, r->ends[i] - b,
                                                         r->seed, r->rq->top_logprobs))) {
          json_decref(content);
          content = NULL;
        }
      }
      lp = content ? json_pack("{s:o}", "content", content) : NULL;
    }
  }
  if (!msg || !lp) goto out;
  json_t *choices = json_pack("[{s:i, s:o, s:o, s:s}]", "index", 0, "message", msg, "logprobs", lp,
                              "finish_reason", r->finish);
  msg = lp = NULL;
  if (!choices || json_object_set_new(resp, "choices", choices) ||
      json_object_set_new(resp, "usage", usage_of(r)))
    goto out;
  if (!(s = json_dumps(resp, DUMP_FLAGS))) goto out;
  rc = r->emit(r->ctx, s, strlen(s));
out:
  free(s);
  json_decref(msg);
  json_decref(lp);
  json_decref(resp);
  return rc;
}

/* Append the JSON text of v (borrowed) to b. */
static int put_json(al_buf *b, const json_t *v) {
  char stack[512];
  size_t n = json_dumpb(v, stack, sizeof stack, DUMP_FLAGS | JSON_ENCODE_ANY);
  if (n == 0) return AL_ENOMEM;
  if (n <= sizeof stack) return al_buf_append(b, stack, n);
  char *s = json_dumps(v, DUMP_FLAGS | JSON_ENCODE_ANY);
  int rc = s ? al_buf_puts(b, s) : AL_ENOMEM;
  free(s);
  return rc;
}

/* Emit one SSE event: the chunk envelope (dumped once per response into r->prefix, up to
 * the choice's "delta" key) + delta + logprobs + finish_reason (+ usage). Every piece is
 * JSON text produced by jansson; only the joints are literal. Takes ownership of delta,
 * lp and usage. */
static int emit_chunk(render *r, al_buf *ev, json_t *delta, json_t *lp, const char *finish,
                      json_t *usage) {
  int rc = AL_ENOMEM;
  json_t *fin = finish ? json_string(finish) : NULL;
  if (!delta && !(delta = json_object())) goto out;
  if (finish && !fin) goto out;
  al_buf_reset(ev);
  if ((rc = al_buf_append(ev, r->prefix.data, r->prefix.len)) || (rc = put_json(ev, delta)) ||
      (rc = al_buf_puts(ev, ",\"logprobs\":")) ||
      (rc = lp ? put_json(ev, lp) : al_buf_puts(ev, "null")) ||
      (rc = al_buf_puts(ev, ",\"finish_reason\":")) ||
      (rc = fin ? put_json(ev, fin) : al_buf_puts(ev, "null")) || (rc = al_buf_puts(ev, "}]")))
    goto out;
  if (usage && ((rc = al_buf_puts(ev, ",\"usage\":")) || (rc = put_json(ev, usage)))) goto out;
  if ((rc = al_buf_puts(ev, "}\n\n"))) goto out;
  rc = r->emit(r->ctx, ev->data, ev->len);
out:
  json_decref(delta);
  json_decref(lp);
  json_decref(usage);
  json_decref(fin);
  return rc;
}

static int render_stream(render *r) {
  int rc = 0;
  al_buf ev;
  al_buf_init(&ev, FB_MAX_OUTPUT_BYTES * 8);
  json_t *env = envelope(r, "chat.completion.chunk");
  if (!env) {
    rc = AL_ENOMEM;
    goto out;
  }
  /* {"id":...,"system_fingerprint":"..."} -> prefix without the closing brace. */
  al_buf_init(&r->prefix, 4096);
  if ((rc = al_buf_puts(&r->prefix, "data: ")) || (rc = put_json(&r->prefix, env))) goto out;
  r->prefix.len--;
  if ((rc = al_buf_puts(&r->prefix, ",\"choices\":[{\"index\":0,\"delta\":"))) goto out;
  if ((rc = emit_chunk(r, &ev, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL,
                       NULL, NULL)))
    goto out;
  if (r->a->is_tool_call) {
    rc =
        emit_chunk(r, &ev, json_pack("{s:o}", "tool_calls", tool_calls_of(r, 1)), NULL, NULL, NULL);
    if (rc) goto out;
  }
  for (size_t i = 0; !r->a->is_tool_call && i < r->n_emit; i++) {
    size_t b = tok_start(r, i), n = r->ends[i] - b;
    const char *t = r->a->text.data + b;
    json_t *lp = NULL;
    if (r->rq->logprobs)
      lp = json_pack("{s:[o]}", "content", logprob_entry(t, n, r->seed, r->rq->top_logprobs));
    if ((rc = emit_chunk(r, &ev, json_pack("{s:s%}", "content", t, n), lp, NULL, NULL))) goto out;
  }
  if ((rc = emit_chunk(r, &ev, NULL, NULL, r->finish, usage_of(r)))) goto out;
  rc = r->emit(r->ctx, "data: [DONE]\n\n", 14);
out:
  json_decref(env);
  al_buf_cleanup(&r->prefix);
  al_buf_cleanup(&ev);
  return rc;
}

int fb_render(const fb_request *rq, const fb_answer *a, const fb_config *cfg, uint64_t body_hash,
              fb_emit_fn emit, void *ctx) {
  int rc = 0;
  render r = {.rq = rq, .a = a, .emit = emit, .ctx = ctx, .finish = "stop"};
  snprintf(r.id, sizeof r.id, "chatcmpl-%016llx",
           (unsigned long long)mix(body_hash ^ (uint64_t)cfg->version));
  snprintf(r.model, sizeof r.model, "finbot-v%d", (int)cfg->version);
  snprintf(r.fp, sizeof r.fp, "fp_finbot_v%d", (int)cfg->version);
  r.seed = rq->has_seed ? rq->seed : cfg->seed;
  const char *text = a->text.data ? a->text.data : "";
  r.n_tok = fb_tokenize(text, a->text.len, NULL, 0);
  if (!(r.ends = al_malloc((r.n_tok ? r.n_tok : 1) * sizeof *r.ends))) return AL_ENOMEM;
  fb_tokenize(text, a->text.len, r.ends, r.n_tok);
  r.n_emit = r.n_tok;
  if (a->is_tool_call) {
    r.finish = "tool_calls";
  } else if (rq->max_tokens > 0 && (unsigned long long)rq->max_tokens < r.n_tok) {
    r.n_emit = (size_t)rq->max_tokens;
    r.finish = "length";
  }
  if (rq->stream)
    rc = render_stream(&r);
  else if (cfg->cache && !a->is_tool_call && !rq->logprobs)
    rc = render_cached(&r, cfg->cache);
  else
    rc = render_full(&r);
  al_free(r.ends);
  return rc;
}
