/* Target configuration: the keys every target shares (timeouts, concurrency, rate limits,
 * retries, launch, jail) are parsed here; an adapter's own keys go through its
 * parse_config. Unknown keys are errors naming file:line:col. Also the registry table and
 * the output accumulator the adapters fill. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/target.h"
#include "airlock/util.h"
#include "core/limits.h"

extern const al_target_ops al_target_openai, al_target_exec, al_target_llama;

static const al_target_ops *const registry[] = {&al_target_openai, &al_target_exec, &al_target_llama};

size_t al_target_count(void) { return sizeof registry / sizeof registry[0]; }
const al_target_ops *al_target_get(size_t i) { return i < al_target_count() ? registry[i] : NULL; }
const al_target_ops *al_target_find(const char *name) {
  for (size_t i = 0; i < al_target_count(); i++)
    if (!strcmp(registry[i]->name, name)) return registry[i];
  return NULL;
}

static const char *const common_keys[] = {
    "type", "params", "timeout", "connect_timeout", "max_in_flight", "rate_limit", "retries",
    "launch", "jail", "jail_policy", "env", "max_error_rate", NULL};

void al_target_config_free(al_target_config *c) {
  if (!c) return;
  al_free(c->base_url);
  al_free(c->unix_socket);
  al_free(c->model);
  al_free(c->api_key_env);
  json_decref(c->headers);
  al_free(c->ca_file);
  json_decref(c->params);
  for (char **p = c->launch_argv; p && *p; p++) al_free(*p);
  al_free(c->launch_argv);
  al_free(c->ready_url);
  al_free(c->jail_policy);
  json_decref(c->env);
  for (char **p = c->command; p && *p; p++) al_free(*p);
  al_free(c->command);
  al_free(c->model_path);
  al_free(c->lib_dir);
  json_decref(c->raw);
  al_free(c);
}

/* A list of strings (or one string split on spaces) into a NULL-terminated argv. */
int al_target_argv(const al_ydoc *d, const json_t *obj, const char *key, char ***out, al_error *e) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  size_t n = json_is_array(v) ? json_array_size(v) : 0;
  if (!n) return al_ydoc_err_member(d, e, obj, key, AL_EPARSE, "'%s' must be a non-empty list: [program, arg, ...]", key);
  char **argv = al_calloc(n + 1, sizeof *argv);
  if (!argv) return AL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    json_t *a = json_array_get(v, i);
    if (!json_is_string(a)) {
      for (size_t k = 0; k < i; k++) al_free(argv[k]);
      al_free(argv);
      return al_ydoc_err_item(d, e, v, i, AL_EPARSE, "arguments must be strings");
    }
    argv[i] = al_strdup(json_string_value(a));
  }
  *out = argv;
  return 1;
}

static int parse_launch(const al_ydoc *d, const json_t *l, al_target_config *c, al_error *e) {
  static const char *const keys[] = {"command", "ready", "ready_timeout", NULL};
  int rc;
  if (!json_is_object(l)) return al_ydoc_err(d, e, l, AL_EPARSE, "'launch' must be a mapping {command: [...], ready: URL}");
  if ((rc = al_ydoc_check_keys(d, e, l, "launch", keys))) return rc;
  if ((rc = al_target_argv(d, l, "command", &c->launch_argv, e)) <= 0)
    return rc ? rc : al_ydoc_err(d, e, l, AL_EPARSE, "'launch' needs 'command'");
  const char *ready = NULL;
  if ((rc = al_ydoc_get_str(d, e, l, "ready", &ready)) < 0) return rc;
  if (ready) c->ready_url = al_strdup(ready);
  c->ready_timeout_ms = 30000;
  if ((rc = al_ydoc_get_ms(d, e, l, "ready_timeout", &c->ready_timeout_ms)) < 0) return rc;
  return 0;
}

int al_target_config_parse(const al_ydoc *d, const json_t *node, const char *dir,
                           al_target_config **out, al_error *e) {
  int rc = 0;
  al_target_config *c = NULL;
  const char *keys[64];
  size_t nk = 0;
  *out = NULL;
  if (!json_is_object(node)) return al_ydoc_err(d, e, node, AL_EPARSE, "'target' must be a mapping with a type");
  const char *type = "openai";
  if ((rc = al_ydoc_get_str(d, e, node, "type", &type)) < 0) return rc;
  const al_target_ops *ops = al_target_find(type);
  if (!ops) {
    return al_ydoc_err_member(d, e, node, "type", AL_EPARSE, "unknown target type '%s' (expected openai, exec, llama)", type);
  }
  for (const char *const *k = common_keys; *k; k++) keys[nk++] = *k;
  for (const char *const *k = ops->keys; k && *k && nk < 63; k++) keys[nk++] = *k;
  keys[nk] = NULL;
  if ((rc = al_ydoc_check_keys(d, e, node, "target", keys))) return rc;
  c = al_calloc(1, sizeof *c);
  if (!c) return AL_ENOMEM;
  c->ops = ops;
  c->type = ops->name;
  c->timeout_ms = 60000;
  c->connect_timeout_ms = 10000;
  c->max_in_flight = 64;
  c->max_retries = 3;
  c->backoff_ms = 250;
  c->max_backoff_ms = 10000;
  c->max_error_rate = 0.5;
  c->jail = 1;
  c->workers = 1;
  json_t *params = json_object_get(node, "params");
  if (params && !json_is_object(params)) {
    rc = al_ydoc_err_member(d, e, node, "params", AL_EPARSE, "'params' must be a mapping (temperature, max_tokens, seed, ...)");
    goto out;
  }
  c->params = params ? json_deep_copy(params) : json_object();
  if ((rc = al_ydoc_get_ms(d, e, node, "timeout", &c->timeout_ms)) < 0) goto out;
  if ((rc = al_ydoc_get_ms(d, e, node, "connect_timeout", &c->connect_timeout_ms)) < 0) goto out;
  long long mif = c->max_in_flight;
  if ((rc = al_ydoc_get_int(d, e, node, "max_in_flight", 1, AL_MAX_IN_FLIGHT, &mif)) < 0) goto out;
  c->max_in_flight = (int)mif;
  if ((rc = al_ydoc_get_num(d, e, node, "max_error_rate", 0, 1, &c->max_error_rate)) < 0) goto out;
  json_t *rl = json_object_get(node, "rate_limit");
  if (rl) {
    static const char *const rk[] = {"requests_per_second", "tokens_per_minute", NULL};
    if (!json_is_object(rl)) {
      rc = al_ydoc_err_member(d, e, node, "rate_limit", AL_EPARSE, "'rate_limit' must be {requests_per_second: N, tokens_per_minute: N}");
      goto out;
    }
    if ((rc = al_ydoc_check_keys(d, e, rl, "rate_limit", rk))) goto out;
    if ((rc = al_ydoc_get_num(d, e, rl, "requests_per_second", 0, 1e9, &c->requests_per_second)) < 0) goto out;
    if ((rc = al_ydoc_get_num(d, e, rl, "tokens_per_minute", 0, 1e12, &c->tokens_per_minute)) < 0) goto out;
  }
  json_t *rt = json_object_get(node, "retries");
  if (rt) {
    static const char *const rk[] = {"max", "backoff", "max_backoff", NULL};
    if (!json_is_object(rt)) {
      rc = al_ydoc_err_member(d, e, node, "retries", AL_EPARSE, "'retries' must be {max: N, backoff: 250ms, max_backoff: 10s}");
      goto out;
    }
    if ((rc = al_ydoc_check_keys(d, e, rt, "retries", rk))) goto out;
    long long mx = c->max_retries;
    if ((rc = al_ydoc_get_int(d, e, rt, "max", 0, AL_MAX_RETRIES, &mx)) < 0) goto out;
    c->max_retries = (int)mx;
    if ((rc = al_ydoc_get_ms(d, e, rt, "backoff", &c->backoff_ms)) < 0) goto out;
    if ((rc = al_ydoc_get_ms(d, e, rt, "max_backoff", &c->max_backoff_ms)) < 0) goto out;
  }
  json_t *l = json_object_get(node, "launch");
  if (l && (rc = parse_launch(d, l, c, e))) goto out;
  if ((rc = al_ydoc_get_bool(d, e, node, "jail", &c->jail)) < 0) goto out;
  const char *jp = NULL;
  if ((rc = al_ydoc_get_str(d, e, node, "jail_policy", &jp)) < 0) goto out;
  if (jp) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", jp[0] == '/' ? "" : dir, jp[0] == '/' ? "" : "/", jp);
    c->jail_policy = al_strdup(path);
  }
  json_t *env = json_object_get(node, "env");
  if (env) {
    const char *k;
    json_t *v;
    if (!json_is_object(env)) {
      rc = al_ydoc_err_member(d, e, node, "env", AL_EPARSE, "'env' must map names to string values");
      goto out;
    }
    json_object_foreach(env, k, v) if (!json_is_string(v)) {
      rc = al_ydoc_err_member(d, e, env, k, AL_EPARSE, "environment values must be strings");
      goto out;
    }
    c->env = json_deep_copy(env);
  }
  if (ops->parse_config && (rc = ops->parse_config(d, node, dir, c, e))) goto out;
  c->raw = json_deep_copy(node);
  json_object_del(c->raw, "headers"); /* may carry credentials */
  *out = c;
  c = NULL;
  rc = 0;
out:
  al_target_config_free(c);
  return rc < 0 ? rc : 0;
}

json_t *al_target_params(const al_target_config *cfg, const json_t *case_params) {
  json_t *p = json_deep_copy(cfg->params);
  if (case_params) json_object_update(p, (json_t *)case_params);
  return p;
}

void al_gen_output_init(al_gen_output *o, int64_t t0_ns) {
  memset(o, 0, sizeof *o);
  al_buf_init(&o->text, AL_MAX_RESPONSE_BYTES);
  o->t0_ns = t0_ns;
  o->first_token_ns = -1;
  o->prompt_tokens = o->completion_tokens = -1;
}

void al_gen_output_cleanup(al_gen_output *o) {
  al_buf_cleanup(&o->text);
  for (size_t i = 0; i < o->n_tokens; i++) {
    al_free(o->tokens[i].text);
    for (int k = 0; k < o->tokens[i].n_top; k++) al_free(o->tokens[i].top[k].text);
    al_free(o->tokens[i].top);
  }
  al_free(o->tokens);
  json_decref(o->tool_calls);
  json_decref(o->tool_acc);
  memset(o, 0, sizeof *o);
}

al_token *al_gen_output_add_token(al_gen_output *o, const char *text, size_t len, int64_t now) {
  if (o->n_tokens == o->cap_tokens) {
    size_t nc = o->cap_tokens ? o->cap_tokens * 2 : 32;
    al_token *t = al_realloc(o->tokens, nc * sizeof *t);
    if (!t) return NULL;
    o->tokens = t;
    o->cap_tokens = nc;
  }
  al_token *t = &o->tokens[o->n_tokens];
  memset(t, 0, sizeof *t);
  t->text = al_strndup(text, len);
  if (!t->text) return NULL;
  t->t_ns = now - o->t0_ns;
  t->id = -1;
  t->entropy = NAN;
  if (o->first_token_ns < 0 && len) o->first_token_ns = now;
  if (al_buf_append(&o->text, text, len)) {
    al_free(t->text);
    return NULL;
  }
  o->n_tokens++;
  return t;
}
