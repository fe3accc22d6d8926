/* The `exec` and `llama` targets: a model process speaking the JSON-lines protocol of
 * docs/design/exec-protocol.md over its stdin/stdout. `exec` runs any command; `llama`
 * runs Airlock's own llama.cpp worker on a GGUF file. Both are jailed by the runner
 * unless the suite opts out. Bytes only here: the request line and the event lines. */
#include <limits.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "al_config.h"
#include "airlock/target.h"
#include "airlock/util.h"
#include "core/limits.h"

int al_target_argv(const al_ydoc *d, const json_t *obj, const char *key, char ***out, al_error *e);

static const char *const exec_keys[] = {"command", "workers", "model", "top_logprobs", NULL};
static const char *const llama_keys[] = {"model", "threads", "ctx", "chat_template", "worker",
                                         "workers", "top_logprobs", NULL};

static int parse_common(const al_ydoc *d, const json_t *n, al_target_config *c, al_error *e) {
  int rc;
  long long w = 1, tl = 0;
  if ((rc = al_ydoc_get_int(d, e, n, "workers", 1, 256, &w)) < 0) return rc;
  c->workers = (int)w;
  if ((rc = al_ydoc_get_int(d, e, n, "top_logprobs", 0, AL_MAX_TOP_LOGPROBS, &tl)) < 0) return rc;
  c->top_logprobs = (int)tl;
  c->stream = 1;
  if (c->max_in_flight > c->workers) c->max_in_flight = c->workers;
  return 0;
}

static int exec_config(const al_ydoc *d, const json_t *n, const char *dir, al_target_config *c,
                       al_error *e) {
  int rc;
  if ((rc = al_target_argv(d, n, "command", &c->command, e)) <= 0)
    return rc ? rc : al_ydoc_err(d, e, n, AL_EPARSE, "an exec target needs 'command: [program, args...]'");
  const char *m = NULL;
  if ((rc = al_ydoc_get_str(d, e, n, "model", &m)) < 0) return rc;
  c->model = al_strdup(m ? m : c->command[0]);
  return parse_common(d, n, c, e);
}

/* Where the worker binary is: $AIRLOCK_LLAMA_WORKER, the build tree, or beside airlock. */
static char *find_worker(void) {
  const char *env = getenv("AIRLOCK_LLAMA_WORKER");
  if (env && access(env, X_OK) == 0) return al_strdup(env);
  char p[PATH_MAX + 64];
  snprintf(p, sizeof p, "%s/src/llama/airlock-llama-worker", AL_BUILD_ROOT);
  if (access(p, X_OK) == 0) return al_strdup(p);
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    snprintf(p, sizeof p, "%s/airlock-llama-worker", dirname(self));
    if (access(p, X_OK) == 0) return al_strdup(p);
  }
  return NULL;
}

static int llama_config(const al_ydoc *d, const json_t *n, const char *dir, al_target_config *c,
                        al_error *e) {
  int rc;
  const char *m = NULL, *tmpl = NULL, *worker = NULL;
  long long threads = 1, ctx = 2048;
  if ((rc = al_ydoc_get_str(d, e, n, "model", &m)) <= 0)
    return rc ? rc : al_ydoc_err(d, e, n, AL_EPARSE, "a llama target needs 'model: PATH.gguf'");
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s%s%s", m[0] == '/' ? "" : dir, m[0] == '/' ? "" : "/", m);
  char real[PATH_MAX];
  if (!realpath(path, real))
    return al_ydoc_err_member(d, e, n, "model", AL_EPARSE, "model file %s not found", path);
  c->model_path = al_strdup(real);
  char *base = al_strdup(real);
  c->model = al_strdup(basename(base));
  al_free(base);
  if ((rc = al_ydoc_get_int(d, e, n, "threads", 1, 256, &threads)) < 0) return rc;
  if ((rc = al_ydoc_get_int(d, e, n, "ctx", 64, 1 << 20, &ctx)) < 0) return rc;
  if ((rc = al_ydoc_get_str(d, e, n, "chat_template", &tmpl)) < 0) return rc;
  if ((rc = al_ydoc_get_str(d, e, n, "worker", &worker)) < 0) return rc;
  const char *ld = getenv("AIRLOCK_LLAMA_LIBDIR");
  char libdir[PATH_MAX];
  if (ld && *ld) snprintf(libdir, sizeof libdir, "%s", ld);
  else snprintf(libdir, sizeof libdir, "%s/lib", AL_LLAMA_DIR);
  if (AL_LLAMA_DIR[0] || (ld && *ld)) {
    char rl[PATH_MAX];
    if (realpath(libdir, rl)) c->lib_dir = al_strdup(rl);
  }
  char *w = worker ? al_strdup(worker) : find_worker();
  if (!w) return al_ydoc_err(d, e, n, AL_ENOTFOUND, "airlock-llama-worker not found (build it: scripts/llama.sh, then rebuild; or set worker:)");
  c->command = al_calloc(12, sizeof(char *));
  if (!c->command) {
    al_free(w);
    return AL_ENOMEM;
  }
  char num[32];
  int k = 0;
  c->command[k++] = w;
  c->command[k++] = al_strdup("--model");
  c->command[k++] = al_strdup(real);
  snprintf(num, sizeof num, "%lld", threads);
  c->command[k++] = al_strdup("--threads");
  c->command[k++] = al_strdup(num);
  snprintf(num, sizeof num, "%lld", ctx);
  c->command[k++] = al_strdup("--ctx");
  c->command[k++] = al_strdup(num);
  if (tmpl) {
    c->command[k++] = al_strdup("--chat-template");
    c->command[k++] = al_strdup(tmpl);
  }
  return parse_common(d, n, c, e);
}

static int build_request(const al_target_config *c, const al_gen_request *r, al_buf *body,
                         al_buf *path) {
  json_t *req = json_pack("{s:s, s:O}", "id", r->id ? r->id : "", "messages", r->messages);
  if (!req) return AL_ENOMEM;
  if (r->params) json_object_update(req, (json_t *)r->params);
  if (r->tools && json_array_size(r->tools)) json_object_set(req, "tools", (json_t *)r->tools);
  if (r->response_schema) json_object_set(req, "json_schema", (json_t *)r->response_schema);
  if (c->top_logprobs) json_object_set_new(req, "top_logprobs", json_integer(c->top_logprobs));
  char *s = json_dumps(req, JSON_COMPACT);
  int rc = s ? al_buf_puts(body, s) : AL_ENOMEM;
  free(s);
  json_decref(req);
  return rc;
}

static int parse_event(const al_target_config *c, const char *data, size_t len, al_gen_output *o,
                       int64_t now, al_error *e) {
  int rc = 0;
  json_error_t je;
  json_t *ev = json_loadb(data, len, 0, &je);
  if (!ev || !json_is_object(ev)) {
    json_decref(ev);
    return al_error_set(e, AL_EPARSE, "model process sent a line that is not a JSON object: %s",
                        ev ? "not an object" : je.text);
  }
  const char *type = json_string_value(json_object_get(ev, "type"));
  if (!type) {
    rc = al_error_set(e, AL_EPARSE, "event without a type");
  } else if (!strcmp(type, "ready")) {
    /* start-up line: nothing to record */
  } else if (!strcmp(type, "token")) {
    const char *tx = json_string_value(json_object_get(ev, "text"));
    al_token *t = al_gen_output_add_token(o, tx ? tx : "", tx ? strlen(tx) : 0, now);
    if (!t) {
      rc = AL_ENOMEM;
      goto out;
    }
    json_t *v;
    if (json_is_integer(v = json_object_get(ev, "token_id"))) t->id = (int32_t)json_integer_value(v);
    if (json_is_number(v = json_object_get(ev, "logprob"))) t->has_logprob = 1, t->logprob = json_number_value(v);
    if (json_is_number(v = json_object_get(ev, "entropy"))) t->entropy = json_number_value(v);
    json_t *top = json_object_get(ev, "top");
    size_t n = json_is_array(top) ? json_array_size(top) : 0;
    if (n > AL_MAX_TOP_LOGPROBS) n = AL_MAX_TOP_LOGPROBS;
    if (n && (t->top = al_calloc(n, sizeof *t->top))) {
      for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(top, i);
        const char *at = json_string_value(json_object_get(a, "text"));
        t->top[i].text = al_strdup(at ? at : "");
        json_t *id = json_object_get(a, "token_id");
        t->top[i].id = json_is_integer(id) ? (int32_t)json_integer_value(id) : -1;
        t->top[i].logprob = json_number_value(json_object_get(a, "logprob"));
        t->n_top++;
      }
    }
  } else if (!strcmp(type, "done")) {
    json_t *tx = json_object_get(ev, "text");
    if (json_is_string(tx)) {
      al_buf_reset(&o->text);
      if ((rc = al_buf_append(&o->text, json_string_value(tx), json_string_length(tx)))) goto out;
    }
    const char *fr = json_string_value(json_object_get(ev, "finish_reason"));
    snprintf(o->finish_reason, sizeof o->finish_reason, "%s", fr ? fr : "stop");
    const char *m = json_string_value(json_object_get(ev, "model"));
    if (m) snprintf(o->model, sizeof o->model, "%s", m);
    json_t *u = json_object_get(ev, "usage");
    json_t *p = json_object_get(u, "prompt_tokens"), *ct = json_object_get(u, "completion_tokens");
    if (json_is_integer(p)) o->prompt_tokens = (int)json_integer_value(p);
    if (json_is_integer(ct)) o->completion_tokens = (int)json_integer_value(ct);
    json_t *tc = json_object_get(ev, "tool_calls");
    if (json_is_array(tc) && json_array_size(tc)) {
    json_decref(o->tool_calls);
    o->tool_calls = json_incref(tc);
  }
    o->done = 1;
  } else if (!strcmp(type, "error")) {
    const char *m = json_string_value(json_object_get(ev, "message"));
    rc = al_error_set(e, AL_EPARSE, "model process: %s", m ? m : "error");
  } else {
    rc = al_error_set(e, AL_EPARSE, "unknown event type '%s'", type);
  }
out:
  json_decref(ev);
  return rc;
}

static int should_retry(int status, int transport) { return transport != 0; }

const al_target_ops al_target_exec = {
    .name = "exec",
    .description = "a jailed command speaking JSON lines on stdin/stdout",
    .transport = AL_TRANSPORT_EXEC,
    .keys = exec_keys,
    .parse_config = exec_config,
    .build_request = build_request,
    .parse_event = parse_event,
    .should_retry = should_retry,
};

const al_target_ops al_target_llama = {
    .name = "llama",
    .description = "a local GGUF model in Airlock's jailed llama.cpp worker",
    .transport = AL_TRANSPORT_EXEC,
    .keys = llama_keys,
    .parse_config = llama_config,
    .build_request = build_request,
    .parse_event = parse_event,
    .should_retry = should_retry,
};
