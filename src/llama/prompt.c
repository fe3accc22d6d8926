/* Prompt rendering for the llama engine: messages -> chat-templated text -> tokens.
 *
 * The template is chosen once, at engine start (engine.c): the GGUF's own
 * tokenizer.chat_template when llama.cpp recognises it, a built-in one named on the command
 * line, or "plain" -- the message contents joined by newlines, which is what a completion
 * model such as stories260K expects ("Once upon a time" continues the story).
 * llama_chat_apply_template only copies pointers, so the messages are passed as they are;
 * tools, when the request has any, are announced in a leading system message.
 *
 * Special-token text in the rendered prompt is parsed as special tokens (as llama-server
 * does), so a message can smuggle control tokens: that is deliberate, the sandbox tests the
 * model the way it is deployed.
 */
#include "llama/prompt.h"

#include <string.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "llama/limits.h"

static int render_plain(const struct llama_chat_message *m, size_t n, al_buf *out) {
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    if (i) rc = al_buf_putc(out, '\n');
    if (!rc) rc = al_buf_puts(out, m[i].content);
  }
  return rc;
}

int al_llama_render(const char *tmpl, const al_llama_request *req, char **out, size_t *out_len,
                    al_error *err) {
  struct llama_chat_message *m = NULL;
  char *tools_msg = NULL;
  al_buf b;
  int rc = 0;
  size_t n = 0;
  al_buf_init(&b, AL_LLAMA_MAX_PROMPT_BYTES);
  *out = NULL;
  m = al_calloc(req->n_msgs + 1, sizeof *m);
  if (!m) {
    rc = al_error_set(err, AL_ENOMEM, "out of memory");
    goto out;
  }
  if (req->tools_json) {
    al_buf t;
    al_buf_init(&t, AL_LLAMA_MAX_PROMPT_BYTES);
    rc = al_buf_printf(&t,
                       "You can call these tools. To call one, reply with only "
                       "{\"tool_calls\": [{\"name\": \"...\", \"arguments\": {...}}]}.\nTools: %s",
                       req->tools_json);
    tools_msg = al_buf_steal(&t, NULL);
    if (rc || !tools_msg) {
      rc = al_error_set(err, rc ? rc : AL_ENOMEM, "tools do not fit in the prompt");
      goto out;
    }
    m[n].role = "system";
    m[n++].content = tools_msg;
  }
  for (size_t i = 0; i < req->n_msgs; i++) {
    m[n].role = req->msgs[i].role;
    m[n++].content = req->msgs[i].content;
  }
  if (!tmpl) {
    rc = render_plain(m, n, &b);
  } else {
    int32_t cap = 4096;
    for (;;) {
      char *tmp = al_malloc((size_t)cap);
      if (!tmp) {
        rc = AL_ENOMEM;
        break;
      }
      int32_t got = llama_chat_apply_template(tmpl, m, n, true, tmp, cap);
      if (got >= 0 && got <= cap) rc = al_buf_append(&b, tmp, (size_t)got);
      al_free(tmp);
      if (got < 0) {
        rc = al_error_set(err, AL_EINVAL, "the chat template could not render these messages");
        goto out;
      }
      if (got <= cap) break;
      if ((size_t)got > AL_LLAMA_MAX_PROMPT_BYTES) {
        rc = AL_ELIMIT;
        break;
      }
      cap = got;
    }
  }
  if (rc) {
    rc = al_error_set(err, rc, "prompt larger than %u bytes", (unsigned)AL_LLAMA_MAX_PROMPT_BYTES);
    goto out;
  }
  *out = al_buf_steal(&b, out_len);
  if (!*out) rc = al_error_set(err, AL_ENOMEM, "out of memory");
out:
  al_free(tools_msg);
  al_free(m);
  al_buf_cleanup(&b);
  return rc;
}

int al_llama_tokenize(const struct llama_vocab *vocab, const char *text, size_t len,
                      llama_token **out, int *n_out, al_error *err) {
  *out = NULL;
  *n_out = 0;
  if (len > (size_t)INT32_MAX / 2)
    return al_error_set(err, AL_ELIMIT, "prompt too large to tokenize");
  /* Add BOS unless the template already wrote its text. */
  bool add_special = true;
  llama_token bos = llama_vocab_bos(vocab);
  if (bos != LLAMA_TOKEN_NULL) {
    const char *bt = llama_vocab_get_text(vocab, bos);
    if (bt && *bt && strncmp(text, bt, strlen(bt)) == 0) add_special = false;
  }
  int32_t n = llama_tokenize(vocab, text, (int32_t)len, NULL, 0, add_special, true);
  if (n == INT32_MIN) return al_error_set(err, AL_ELIMIT, "prompt has too many tokens");
  if (n < 0) n = -n;
  llama_token *t = al_malloc(((size_t)n + 1) * sizeof *t);
  if (!t) return al_error_set(err, AL_ENOMEM, "out of memory");
  int32_t got = llama_tokenize(vocab, text, (int32_t)len, t, n + 1, add_special, true);
  if (got < 0) {
    al_free(t);
    return al_error_set(err, AL_EINVAL, "tokenization failed");
  }
  *out = t;
  *n_out = got;
  return 0;
}
