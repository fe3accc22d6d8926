/* airlock-llama-worker: a GGUF model behind the exec protocol.
 *
 *   airlock-llama-worker --model PATH [--threads N] [--ctx N] [--seed N]
 *                        [--chat-template NAME|auto|plain] [--top-k-log N] [--libdir DIR]
 *                        [--flash-attn on|off|auto] [--json-string-cap N]
 *                        [--json-array-cap N] [--verbose]
 *
 * Reads one JSON request per line on stdin, writes events (one JSON object per line) on
 * stdout, diagnostics on stderr (docs/design/exec-protocol.md, docs/design/llama.md). It
 * prints a "ready" line once the model is loaded, answers requests in order, and exits 0
 * at end of input. A bad request gets an "error" event and the worker goes on; a line
 * longer than AL_MAX_LINE_BYTES is skipped with an error event. The runner starts it
 * inside the jail; nothing here needs the network or any file but the model and the
 * llama.cpp libraries (--libdir, default: the folder the build linked against).
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "core/limits.h"
#include "llama/engine.h"
#include "llama/events.h"
#include "llama/limits.h"
#include "llama/request.h"

#ifndef AL_LLAMA_LIBDIR
#define AL_LLAMA_LIBDIR NULL
#endif

static const char usage[] =
    "usage: airlock-llama-worker --model PATH [--threads N] [--ctx N] [--seed N]\n"
    "         [--chat-template NAME|auto|plain] [--top-k-log N] [--libdir DIR]\n"
    "         [--flash-attn on|off|auto] [--json-string-cap N] [--json-array-cap N]\n"
    "         [--verbose]\n";

static int quiet_llama = 1;
/* Grammar caps where a json_schema sets no maxLength / maxItems. */
static al_schema_caps caps = {AL_LLAMA_SCHEMA_STRING_CAP, AL_LLAMA_SCHEMA_ARRAY_CAP};

static void log_to_stderr(int level, const char *text, void *ud) {
  (void)ud;
  /* ggml levels: 1 debug, 2 info, 3 warn, 4 error, 5 cont */
  if (quiet_llama && level != 3 && level != 4) return;
  fputs(text, stderr);
}

static int parse_int(const char *flag, const char *s, long lo, long hi, long *out) {
  char *end = NULL;
  errno = 0;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || errno || end == s || *end || v < lo || v > hi) {
    fprintf(stderr, "airlock-llama-worker: %s expects an integer from %ld to %ld, got '%s'\n", flag,
            lo, hi, s ? s : "");
    return -1;
  }
  *out = v;
  return 0;
}

static int parse_args(int argc, char **argv, al_llama_opts *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    long n = 0;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      exit(0);
    } else if (strcmp(a, "--verbose") == 0) {
      quiet_llama = 0;
      continue;
    } else if (!v) {
      fprintf(stderr, "airlock-llama-worker: unknown option or missing value: '%s'\n%s", a, usage);
      return -1;
    } else if (strcmp(a, "--model") == 0) {
      o->model_path = v;
    } else if (strcmp(a, "--libdir") == 0) {
      o->libdir = v;
    } else if (strcmp(a, "--flash-attn") == 0) {
      if (strcmp(v, "on") && strcmp(v, "off") && strcmp(v, "auto")) {
        fprintf(stderr, "airlock-llama-worker: --flash-attn expects on, off or auto, got '%s'\n",
                v);
        return -1;
      }
      o->flash_attn = !strcmp(v, "on") ? 1 : !strcmp(v, "off") ? 0 : -1;
    } else if (strcmp(a, "--chat-template") == 0) {
      o->chat_template = v;
    } else if (strcmp(a, "--threads") == 0) {
      if (parse_int(a, v, 1, AL_LLAMA_MAX_THREADS, &n)) return -1;
      o->threads = (int)n;
    } else if (strcmp(a, "--ctx") == 0) {
      if (parse_int(a, v, 0, AL_LLAMA_MAX_CTX, &n)) return -1;
      o->n_ctx = (int)n;
    } else if (strcmp(a, "--seed") == 0) {
      if (parse_int(a, v, 0, 0xfffffffeL, &n)) return -1;
      o->seed = (uint32_t)n;
    } else if (strcmp(a, "--json-string-cap") == 0) {
      if (parse_int(a, v, 1, AL_LLAMA_SCHEMA_MAX_REPEAT, &n)) return -1;
      caps.string_cap = (int)n;
    } else if (strcmp(a, "--json-array-cap") == 0) {
      if (parse_int(a, v, 1, AL_LLAMA_SCHEMA_MAX_REPEAT, &n)) return -1;
      caps.array_cap = (int)n;
    } else if (strcmp(a, "--top-k-log") == 0) {
      if (parse_int(a, v, 0, AL_MAX_TOP_LOGPROBS, &n)) return -1;
      o->top_k_log = (int)n;
    } else {
      fprintf(stderr, "airlock-llama-worker: unknown option '%s'\n%s", a, usage);
      return -1;
    }
    i++;
  }
  if (!o->model_path) {
    fprintf(stderr, "airlock-llama-worker: --model PATH is required\n%s", usage);
    return -1;
  }
  return 0;
}

typedef struct tok_ctx {
  const char *id;
  al_llama_token_writer *w;
  int io_failed;
} tok_ctx;

static int on_token(void *ud, const al_llama_token_event *ev) {
  tok_ctx *t = ud;
  if (al_llama_emit_token(stdout, t->w, t->id, ev) != 0) t->io_failed = 1;
  return t->io_failed;
}

/* Read one line into b (without the newline). Returns 1 for a line, 0 at EOF, AL_ELIMIT
 * for a line past b's maximum (the rest of it is consumed). */
static int read_line(FILE *in, al_buf *b) {
  char chunk[65536];
  int too_long = 0, any = 0;
  al_buf_reset(b);
  while (fgets(chunk, sizeof chunk, in)) {
    any = 1;
    size_t n = strlen(chunk);
    int end = n > 0 && chunk[n - 1] == '\n';
    if (end) n--;
    if (!too_long && al_buf_append(b, chunk, n) != 0) too_long = 1;
    if (end) break;
  }
  if (too_long) return AL_ELIMIT;
  return any ? 1 : 0;
}

static int handle(al_llama_engine *e, al_llama_token_writer *w, const char *line, size_t len,
                  int lineno) {
  al_llama_request req;
  al_llama_result res = {0};
  al_error err = {0};
  char msg[1024];
  json_t *calls = NULL;
  int rc = al_llama_request_parse_caps(line, len, lineno, &caps, &req, &err);
  if (rc) {
    al_llama_emit_error(stdout, req.id, al_error_format(&err, msg, sizeof msg));
    goto out;
  }
  tok_ctx t = {.id = req.id, .w = w};
  rc = al_llama_generate(e, &req, on_token, &t, &res, &err);
  if (t.io_failed) {
    rc = AL_EIO;
    goto out;
  }
  if (rc) {
    al_llama_emit_error(stdout, req.id, al_error_format(&err, msg, sizeof msg));
    goto out;
  }
  if (req.tools_json) calls = al_llama_parse_tool_calls(res.text, res.text_len);
  rc = al_llama_emit_done(stdout, req.id, al_llama_engine_model_name(e), &res, calls);
out:
  json_decref(calls);
  al_llama_result_cleanup(&res);
  al_llama_request_cleanup(&req);
  return rc == AL_EIO ? rc : 0;
}

int main(int argc, char **argv) {
  al_llama_opts o = {
      .threads = 1, .top_k_log = AL_LLAMA_DEFAULT_TOP_LOGPROBS, .chat_template = "auto"};
  al_llama_engine *e = NULL;
  al_llama_token_writer *tw = NULL;
  al_error err = {0};
  al_buf line;
  char msg[1024];
  int status = 0, lineno = 0;
  al_buf_init(&line, AL_MAX_LINE_BYTES);
  if (parse_args(argc, argv, &o)) return 2;
  if (!o.libdir) o.libdir = getenv("AIRLOCK_LLAMA_LIBDIR");
  if (!o.libdir) o.libdir = AL_LLAMA_LIBDIR;
  al_llama_set_log(log_to_stderr, NULL);
  if (al_llama_engine_new(&o, &e, &err) != 0) {
    fprintf(stderr, "airlock-llama-worker: %s\n", al_error_format(&err, msg, sizeof msg));
    return 1;
  }
  tw = al_llama_token_writer_new();
  if (!tw || al_llama_emit_ready(stdout, e) != 0) {
    status = 1;
    goto out;
  }
  for (;;) {
    int r = read_line(stdin, &line);
    if (r == 0) break;
    lineno++;
    if (r == AL_ELIMIT) {
      snprintf(msg, sizeof msg, "<stdin>:%d: request line longer than %u bytes", lineno,
               (unsigned)AL_MAX_LINE_BYTES);
      if (al_llama_emit_error(stdout, NULL, msg) != 0) break;
      continue;
    }
    size_t i = 0;
    while (i < line.len && (line.data[i] == ' ' || line.data[i] == '\t' || line.data[i] == '\r'))
      i++;
    if (i == line.len) continue; /* blank line */
    if (handle(e, tw, line.data, line.len, lineno) != 0) {
      status = 1; /* stdout is gone: nobody is listening */
      break;
    }
  }
out:
  al_llama_token_writer_free(tw);
  al_llama_engine_free(e);
  al_buf_cleanup(&line);
  return status;
}
