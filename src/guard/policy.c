/* The guard policy loader: YAML (libfyaml via al_ydoc) into an al_guard_policy.
 *
 * Every key is checked against the list of keys its section allows (unknown keys are
 * errors naming file:line:col and the expected keys); every value is type- and
 * range-checked with its location. Detector names are checked against the scan registry
 * (a name or a prefix of names: "pii", "pii.email"), schemas are read relative to the
 * policy file and compiled, and each pipeline's detectors are compiled into one scan
 * database here, so a policy that loads is a policy that runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "airlock/yaml.h"
#include "audit/jsonout.h"
#include "guard/guard_int.h"

const char *al_guard_act_name(gact a) {
  static const char *n[] = {"allow", "redact", "retry", "block"};
  return a >= G_ALLOW && a <= G_BLOCK ? n[a] : "?";
}

static void stage_cleanup(gstage *s) {
  for (size_t i = 0; i < s->n_detectors; i++) al_free(s->detectors[i]);
  al_free(s->detectors);
  al_schema_free(s->schema);
  al_free(s->schema_path);
}

static void pipe_cleanup(gpipe *p) {
  for (size_t i = 0; i < p->n; i++) stage_cleanup(&p->st[i]);
  al_free(p->st);
  al_scan_db_free(p->db);
}

void al_guard_policy_free(al_guard_policy *p) {
  if (!p) return;
  al_free(p->name);
  al_free(p->upstream_base);
  al_free(p->upstream_key_env);
  for (size_t i = 0; i < p->n_clients; i++) al_free(p->clients[i].name);
  al_free(p->clients);
  pipe_cleanup(&p->in);
  pipe_cleanup(&p->out);
  al_free(p->audit_dir);
  al_free(p->audit_key);
  al_scan_db_free(p->audit_db);
  al_free(p->otlp_endpoint);
  al_free(p->otlp_service);
  al_free(p->system_prompt);
  for (size_t i = 0; i < p->n_canaries; i++) al_free(p->canaries[i]);
  al_free(p->canaries);
  json_decref(p->scan_options);
  al_free(p);
}

void al_guard_hash_key(const char *key, char out[65]) { al_sha256_hex(key, strlen(key), out); }

/* A detector name or prefix known to the registry. */
static int known_detector(const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < al_detector_count(); i++) {
    const char *d = al_detector_get(i)->name;
    if (!strcmp(d, name) || (!strncmp(d, name, n) && d[n] == '.')) return 1;
  }
  return 0;
}

/* Joins a path relative to the policy file's folder. */
static char *relative_path(const char *policy, const char *p) {
  if (p[0] == '/' || !strchr(policy, '/')) return al_strdup(p);
  const char *slash = strrchr(policy, '/');
  size_t dl = (size_t)(slash - policy);
  char *out = al_malloc(dl + 1 + strlen(p) + 1);
  if (!out) return NULL;
  memcpy(out, policy, dl);
  out[dl] = '/';
  strcpy(out + dl + 1, p);
  return out;
}

static int parse_stage(const al_ydoc *d, al_error *e, json_t *o, int output, gstage *s) {
  static const char *const keys[] = {"name", "detectors", "action", "reversible", "max_retries",
                                     "schema", NULL};
  int rc = al_ydoc_check_keys(d, e, o, output ? "output stage" : "input stage", keys);
  if (rc) return rc;
  const char *name = NULL, *action = NULL, *schema = NULL;
  if ((rc = al_ydoc_get_str(d, e, o, "name", &name)) < 0) return rc;
  if ((rc = al_ydoc_get_str(d, e, o, "action", &action)) < 0) return rc;
  if (rc == 0) return al_ydoc_err(d, e, o, AL_EPARSE, "a stage needs an action: allow, redact, retry or block");
  if (!strcmp(action, "allow")) s->action = G_ALLOW;
  else if (!strcmp(action, "redact")) s->action = G_REDACT;
  else if (!strcmp(action, "retry")) s->action = G_RETRY;
  else if (!strcmp(action, "block")) s->action = G_BLOCK;
  else return al_ydoc_err_member(d, e, o, "action", AL_EPARSE, "action must be allow, redact, retry or block, not '%s'", action);
  if (!output && s->action == G_RETRY)
    return al_ydoc_err_member(d, e, o, "action", AL_EPARSE, "retry is an output action (input can allow, redact or block)");
  if ((rc = al_ydoc_get_bool(d, e, o, "reversible", &s->reversible)) < 0) return rc;
  if (rc == 1 && (s->action != G_REDACT || output))
    return al_ydoc_err_member(d, e, o, "reversible", AL_EPARSE, "reversible applies to input stages with action redact");
  long long mr = 1;
  if ((rc = al_ydoc_get_int(d, e, o, "max_retries", 1, AL_GUARD_MAX_RETRIES, &mr)) < 0) return rc;
  if (rc == 1 && s->action != G_RETRY)
    return al_ydoc_err_member(d, e, o, "max_retries", AL_EPARSE, "max_retries applies to stages with action retry");
  s->max_retries = (int)mr;
  json_t *dets = json_object_get(o, "detectors");
  if ((rc = al_ydoc_get_str(d, e, o, "schema", &schema)) < 0) return rc;
  if (schema && !output) return al_ydoc_err_member(d, e, o, "schema", AL_EPARSE, "schema applies to output stages");
  if (schema && dets) return al_ydoc_err_member(d, e, o, "schema", AL_EPARSE, "a stage has either detectors or a schema, not both");
  if (!schema && !dets) return al_ydoc_err(d, e, o, AL_EPARSE, "a stage needs detectors (a list of names) or a schema");
  if (schema && (s->action == G_REDACT || s->action == G_ALLOW))
    return al_ydoc_err_member(d, e, o, "action", AL_EPARSE, "a schema stage's action is retry or block");
  if (dets) {
    if (!json_is_array(dets) || json_array_size(dets) == 0)
      return al_ydoc_err_member(d, e, o, "detectors", AL_EPARSE, "detectors must be a non-empty list of detector names");
    s->detectors = al_calloc(json_array_size(dets), sizeof *s->detectors);
    if (!s->detectors) return AL_ENOMEM;
    size_t i;
    json_t *v;
    json_array_foreach(dets, i, v) {
      if (!json_is_string(v)) return al_ydoc_err_item(d, e, dets, i, AL_EPARSE, "expected a detector name");
      if (!known_detector(json_string_value(v)))
        return al_ydoc_err_item(d, e, dets, i, AL_ENOTFOUND, "unknown detector '%s' (see `airlock scan --list`)", json_string_value(v));
      if (!(s->detectors[s->n_detectors++] = al_strdup(json_string_value(v)))) return AL_ENOMEM;
    }
  }
  if (schema) {
    char *path = relative_path(al_ydoc_name(d), schema), *text = NULL;
    size_t len = 0;
    al_error se = {0};
    if (!path) return AL_ENOMEM;
    s->schema_path = path;
    rc = al_read_file(path, 1u << 24, &text, &len, &se);
    if (!rc) rc = al_schema_compile_text(text, len, AL_SCHEMA_DRAFT_AUTO, &s->schema, &se);
    al_free(text);
    if (rc) return al_ydoc_err_member(d, e, o, "schema", rc, "schema %s: %s", path, se.msg);
  }
  (void)name;
  return 0;
}

static int compile_pipe(al_guard_policy *p, gpipe *pipe, const char *what, al_error *e) {
  size_t n = 0;
  for (size_t i = 0; i < pipe->n; i++) n += pipe->st[i].n_detectors;
  for (size_t i = 0; i < pipe->n; i++) {
    if (pipe->st[i].schema) pipe->has_schema = 1;
    if (pipe->st[i].action == G_RETRY && pipe->st[i].max_retries > pipe->max_retries)
      pipe->max_retries = pipe->st[i].max_retries;
  }
  if (n == 0) return 0;
  const char **names = al_calloc(n, sizeof *names);
  if (!names) return AL_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < pipe->n; i++)
    for (size_t j = 0; j < pipe->st[i].n_detectors; j++) names[k++] = pipe->st[i].detectors[j];
  al_scan_config cfg = {.detectors = names, .n_detectors = n, .system_prompt = p->system_prompt,
                        .canaries = (const char *const *)p->canaries, .n_canaries = p->n_canaries,
                        .options = p->scan_options};
  al_error se = {0};
  int rc = al_scan_db_new(&cfg, &pipe->db, &se);
  al_free(names);
  if (rc) return al_error_at(e, rc, p->name, 0, 0, "%s detectors do not compile: %s", what, se.msg);
  return 0;
}

static int parse_pipe(const al_ydoc *d, al_error *e, json_t *root, const char *key, int output,
                      gpipe *pipe) {
  json_t *a = json_object_get(root, key);
  if (!a) return 0;
  if (!json_is_array(a)) return al_ydoc_err_member(d, e, root, key, AL_EPARSE, "%s must be a list of stages", key);
  if (json_array_size(a) > AL_GUARD_MAX_STAGES)
    return al_ydoc_err_member(d, e, root, key, AL_ELIMIT, "at most %d stages", AL_GUARD_MAX_STAGES);
  pipe->st = al_calloc(json_array_size(a) + 1, sizeof *pipe->st);
  if (!pipe->st) return AL_ENOMEM;
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    if (!json_is_object(v)) return al_ydoc_err_item(d, e, a, i, AL_EPARSE, "expected a stage (a mapping with detectors and action)");
    pipe->n++;
    int rc = parse_stage(d, e, v, output, &pipe->st[i]);
    if (rc) return rc;
  }
  return 0;
}

static int parse_listen(const al_ydoc *d, al_error *e, json_t *root, al_guard_policy *p) {
  const char *s = NULL;
  int rc = al_ydoc_get_str(d, e, root, "listen", &s);
  if (rc <= 0) return rc ? rc : al_ydoc_err(d, e, root, AL_EPARSE, "the policy needs listen: HOST:PORT");
  const char *colon = strrchr(s, ':');
  char *end = NULL;
  long port = colon ? strtol(colon + 1, &end, 10) : -1;
  if (!colon || colon == s || !end || *end || port < 0 || port > 65535 ||
      (size_t)(colon - s) >= sizeof p->listen_host)
    return al_ydoc_err_member(d, e, root, "listen", AL_EPARSE, "listen must be HOST:PORT (port 0: any free port), not '%s'", s);
  memcpy(p->listen_host, s, (size_t)(colon - s));
  p->listen_port = (int)port;
  return 0;
}

static int parse_upstream(const al_ydoc *d, al_error *e, json_t *root, al_guard_policy *p) {
  static const char *const keys[] = {"base_url", "api_key_env", "timeout", "connect_timeout", "max_connections", NULL};
  json_t *u = json_object_get(root, "upstream");
  if (!json_is_object(u)) return al_ydoc_err(d, e, u ? u : root, AL_EPARSE, "the policy needs an upstream mapping with base_url");
  int rc = al_ydoc_check_keys(d, e, u, "upstream", keys);
  const char *base = NULL, *env = NULL;
  if (!rc && (rc = al_ydoc_get_str(d, e, u, "base_url", &base)) == 0)
    rc = al_ydoc_err(d, e, u, AL_EPARSE, "upstream needs base_url (e.g. http://127.0.0.1:8000/v1)");
  if (rc < 0) return rc;
  if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
    return al_ydoc_err_member(d, e, u, "base_url", AL_EPARSE, "base_url must start with http:// or https://");
  if (!(p->upstream_base = al_strdup(base))) return AL_ENOMEM;
  size_t bl = strlen(p->upstream_base);
  while (bl && p->upstream_base[bl - 1] == '/') p->upstream_base[--bl] = '\0';
  if ((rc = al_ydoc_get_str(d, e, u, "api_key_env", &env)) < 0) return rc;
  if (env && !(p->upstream_key_env = al_strdup(env))) return AL_ENOMEM;
  if ((rc = al_ydoc_get_ms(d, e, u, "timeout", &p->timeout_ms)) < 0) return rc;
  if ((rc = al_ydoc_get_ms(d, e, u, "connect_timeout", &p->connect_timeout_ms)) < 0) return rc;
  long long mc = p->max_connections;
  if ((rc = al_ydoc_get_int(d, e, u, "max_connections", 1, 100000, &mc)) < 0) return rc;
  p->max_connections = (long)mc;
  return 0;
}

static int parse_clients(const al_ydoc *d, al_error *e, json_t *root, al_guard_policy *p) {
  static const char *const keys[] = {"name", "key_sha256", "rate_per_second", "burst", NULL};
  json_t *a = json_object_get(root, "clients");
  if (!a) return 0;
  if (!json_is_array(a)) return al_ydoc_err_member(d, e, root, "clients", AL_EPARSE, "clients must be a list");
  if (json_array_size(a) > AL_GUARD_MAX_CLIENTS) return al_ydoc_err_member(d, e, root, "clients", AL_ELIMIT, "too many clients");
  p->clients = al_calloc(json_array_size(a) + 1, sizeof *p->clients);
  if (!p->clients) return AL_ENOMEM;
  size_t i;
  json_t *c;
  json_array_foreach(a, i, c) {
    gclient *g = &p->clients[i];
    const char *name = NULL, *key = NULL;
    int rc;
    if (!json_is_object(c)) return al_ydoc_err_item(d, e, a, i, AL_EPARSE, "expected a client (name, key_sha256)");
    p->n_clients++;
    if ((rc = al_ydoc_check_keys(d, e, c, "client", keys))) return rc;
    if ((rc = al_ydoc_get_str(d, e, c, "name", &name)) <= 0)
      return rc ? rc : al_ydoc_err(d, e, c, AL_EPARSE, "a client needs a name");
    if ((rc = al_ydoc_get_str(d, e, c, "key_sha256", &key)) <= 0)
      return rc ? rc : al_ydoc_err(d, e, c, AL_EPARSE, "a client needs key_sha256 (`airlock guard hash-key KEY` prints it)");
    int ok = strlen(key) == 64;
    for (int k = 0; ok && k < 64; k++) ok = (key[k] >= '0' && key[k] <= '9') || (key[k] >= 'a' && key[k] <= 'f');
    if (!ok) return al_ydoc_err_member(d, e, c, "key_sha256", AL_EPARSE, "key_sha256 must be 64 lowercase hex digits");
    for (size_t j = 0; j < i; j++)
      if (!strcmp(p->clients[j].key_sha256, key)) return al_ydoc_err_member(d, e, c, "key_sha256", AL_EPARSE, "the same key is given to two clients");
    memcpy(g->key_sha256, key, 65);
    if (!(g->name = al_strdup(name))) return AL_ENOMEM;
    if ((rc = al_ydoc_get_num(d, e, c, "rate_per_second", 0, 1e9, &g->rate)) < 0) return rc;
    g->burst = g->rate > 0 ? (g->rate < 1 ? 1 : g->rate) : 0;
    if ((rc = al_ydoc_get_num(d, e, c, "burst", 1, 1e9, &g->burst)) < 0) return rc;
    if (rc == 1 && g->rate <= 0) return al_ydoc_err_member(d, e, c, "burst", AL_EPARSE, "burst needs rate_per_second");
  }
  return 0;
}

static int parse_limits(const al_ydoc *d, al_error *e, json_t *root, al_guard_policy *p) {
  static const char *const keys[] = {"max_request_bytes", "max_response_bytes", "client_timeout", NULL};
  static const char *const skeys[] = {"window", NULL};
  json_t *l = json_object_get(root, "limits"), *s = json_object_get(root, "stream");
  int rc = 0;
  long long v;
  if (l) {
    if (!json_is_object(l)) return al_ydoc_err_member(d, e, root, "limits", AL_EPARSE, "limits must be a mapping");
    if ((rc = al_ydoc_check_keys(d, e, l, "limits", keys))) return rc;
    v = (long long)p->max_request_bytes;
    if ((rc = al_ydoc_get_int(d, e, l, "max_request_bytes", 1, AL_GUARD_MAX_REQUEST_BYTES, &v)) < 0) return rc;
    p->max_request_bytes = (size_t)v;
    v = (long long)p->max_response_bytes;
    if ((rc = al_ydoc_get_int(d, e, l, "max_response_bytes", 1, AL_GUARD_MAX_RESPONSE_BYTES, &v)) < 0) return rc;
    p->max_response_bytes = (size_t)v;
    if ((rc = al_ydoc_get_ms(d, e, l, "client_timeout", &p->client_timeout_ms)) < 0) return rc;
  }
  if (s) {
    if (!json_is_object(s)) return al_ydoc_err_member(d, e, root, "stream", AL_EPARSE, "stream must be a mapping");
    if ((rc = al_ydoc_check_keys(d, e, s, "stream", skeys))) return rc;
    v = (long long)p->window;
    if ((rc = al_ydoc_get_int(d, e, s, "window", 0, AL_GUARD_MAX_WINDOW, &v)) < 0) return rc;
    p->window = (size_t)v;
  }
  return 0;
}

static int parse_audit(const al_ydoc *d, al_error *e, json_t *root, al_guard_policy *p) {
  static const char *const keys[] = {"dir", "key", "fsync", "pii", "checkpoint_every", NULL};
  json_t *a = json_object_get(root, "audit");
  if (!a) return 0;
  if (!json_is_object(a)) return al_ydoc_err_member(d, e, root, "audit", AL_EPARSE, "audit must be a mapping");
  int rc = al_ydoc_check_keys(d, e, a, "audit", keys);
  const char *dir = NULL, *key = NULL, *fs = NULL, *pii = NULL;
  if (rc) return rc;
  if ((rc = al_ydoc_get_str(d, e, a, "dir", &dir)) <= 0) return rc ? rc : al_ydoc_err(d, e, a, AL_EPARSE, "audit needs dir");
  if ((rc = al_ydoc_get_str(d, e, a, "key", &key)) <= 0)
    return rc ? rc : al_ydoc_err(d, e, a, AL_EPARSE, "audit needs key (a file from `airlock audit keygen`)");
  p->audit_dir = relative_path(al_ydoc_name(d), dir);
  p->audit_key = relative_path(al_ydoc_name(d), key);
  if (!p->audit_dir || !p->audit_key) return AL_ENOMEM;
  if ((rc = al_ydoc_get_str(d, e, a, "fsync", &fs)) < 0) return rc;
  if (fs) {
    if (!strcmp(fs, "none")) p->audit_fsync = AL_AUDIT_FSYNC_NONE;
    else if (!strcmp(fs, "checkpoint")) p->audit_fsync = AL_AUDIT_FSYNC_CHECKPOINT;
    else if (!strcmp(fs, "every")) p->audit_fsync = AL_AUDIT_FSYNC_EVERY;
    else return al_ydoc_err_member(d, e, a, "fsync", AL_EPARSE, "fsync must be none, checkpoint or every");
  }
  if ((rc = al_ydoc_get_str(d, e, a, "pii", &pii)) < 0) return rc;
  if (pii) {
    if (!strcmp(pii, "keep")) p->audit_pii = AL_AUDIT_PII_KEEP;
    else if (!strcmp(pii, "hash")) p->audit_pii = AL_AUDIT_PII_HASH;
    else if (!strcmp(pii, "redact")) p->audit_pii = AL_AUDIT_PII_REDACT;
    else return al_ydoc_err_member(d, e, a, "pii", AL_EPARSE, "pii must be keep, hash or redact");
  }
  if ((rc = al_ydoc_get_int(d, e, a, "checkpoint_every", 1, 1ll << 32, &p->audit_checkpoint_every)) < 0) return rc;
  return 0;
}

static int parse_scan(const al_ydoc *d, al_error *e, json_t *root, al_guard_policy *p) {
  static const char *const keys[] = {"system_prompt", "canaries", "options", NULL};
  json_t *s = json_object_get(root, "scan");
  if (!s) return 0;
  if (!json_is_object(s)) return al_ydoc_err_member(d, e, root, "scan", AL_EPARSE, "scan must be a mapping");
  int rc = al_ydoc_check_keys(d, e, s, "scan", keys);
  const char *sp = NULL;
  if (rc) return rc;
  if ((rc = al_ydoc_get_str(d, e, s, "system_prompt", &sp)) < 0) return rc;
  if (sp && !(p->system_prompt = al_strdup(sp))) return AL_ENOMEM;
  json_t *c = json_object_get(s, "canaries"), *o = json_object_get(s, "options");
  if (c) {
    if (!json_is_array(c)) return al_ydoc_err_member(d, e, s, "canaries", AL_EPARSE, "canaries must be a list of strings");
    p->canaries = al_calloc(json_array_size(c) + 1, sizeof *p->canaries);
    if (!p->canaries) return AL_ENOMEM;
    size_t i;
    json_t *v;
    json_array_foreach(c, i, v) {
      if (!json_is_string(v) || json_string_length(v) == 0) return al_ydoc_err_item(d, e, c, i, AL_EPARSE, "expected a non-empty string");
      if (!(p->canaries[p->n_canaries++] = al_strdup(json_string_value(v)))) return AL_ENOMEM;
    }
  }
  if (o) {
    if (!json_is_object(o)) return al_ydoc_err_member(d, e, s, "options", AL_EPARSE, "options must be a mapping of detector -> options");
    p->scan_options = json_incref(o);
  }
  return 0;
}

static int parse_otlp(const al_ydoc *d, al_error *e, json_t *root, al_guard_policy *p) {
  static const char *const keys[] = {"endpoint", "service_name", "timeout", NULL};
  json_t *o = json_object_get(root, "otlp");
  if (!o) return 0;
  if (!json_is_object(o)) return al_ydoc_err_member(d, e, root, "otlp", AL_EPARSE, "otlp must be a mapping (endpoint, service_name, timeout)");
  int rc = al_ydoc_check_keys(d, e, o, "otlp", keys);
  const char *ep = NULL, *svc = NULL;
  if (rc) return rc;
  if ((rc = al_ydoc_get_str(d, e, o, "endpoint", &ep)) <= 0)
    return rc ? rc : al_ydoc_err(d, e, o, AL_EPARSE, "otlp needs endpoint (e.g. http://127.0.0.1:4318)");
  if (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))
    return al_ydoc_err_member(d, e, o, "endpoint", AL_EPARSE, "endpoint must start with http:// or https://");
  if ((rc = al_ydoc_get_str(d, e, o, "service_name", &svc)) < 0) return rc;
  p->otlp_timeout_ms = 2000;
  if ((rc = al_ydoc_get_ms(d, e, o, "timeout", &p->otlp_timeout_ms)) < 0) return rc;
  if (!(p->otlp_endpoint = al_strdup(ep)) || !(p->otlp_service = al_strdup(svc ? svc : "airlock-guard"))) return AL_ENOMEM;
  size_t l = strlen(p->otlp_endpoint);
  while (l && p->otlp_endpoint[l - 1] == '/') p->otlp_endpoint[--l] = '\0';
  return 0;
}

static int parse_routes(const al_ydoc *d, al_error *e, json_t *root, al_guard_policy *p) {
  static const char *const keys[] = {"enabled", "stream", "timeout", NULL};
  static const char *const paths[G_ROUTE_N] = {"/v1/chat/completions", "/v1/completions", "/v1/models"};
  json_t *r = json_object_get(root, "routes");
  if (!r) return 0;
  if (!json_is_object(r)) return al_ydoc_err_member(d, e, root, "routes", AL_EPARSE, "routes must be a mapping of path -> settings");
  const char *k;
  json_t *v;
  json_object_foreach(r, k, v) {
    int idx = -1, rc;
    for (int i = 0; i < G_ROUTE_N; i++)
      if (!strcmp(k, paths[i])) idx = i;
    if (idx < 0)
      return al_ydoc_err_member(d, e, r, k, AL_EPARSE, "unknown route '%s' (expected one of: %s, %s, %s)", k, paths[0], paths[1], paths[2]);
    if (!json_is_object(v)) return al_ydoc_err_member(d, e, r, k, AL_EPARSE, "a route's settings are a mapping");
    if ((rc = al_ydoc_check_keys(d, e, v, "route", keys))) return rc;
    groute *g = &p->routes[idx];
    if ((rc = al_ydoc_get_bool(d, e, v, "enabled", &g->enabled)) < 0) return rc;
    if ((rc = al_ydoc_get_bool(d, e, v, "stream", &g->allow_stream)) < 0) return rc;
    if ((rc = al_ydoc_get_ms(d, e, v, "timeout", &g->timeout_ms)) < 0) return rc;
  }
  return 0;
}

static int load_doc(al_ydoc *d, al_guard_policy **out, al_error *e) {
  static const char *const keys[] = {"listen", "upstream", "clients", "limits", "stream", "audit",
                                     "scan", "input", "output", "routes", "otlp", NULL};
  int rc = 0;
  json_t *root = al_ydoc_root(d);
  al_guard_policy *p = al_calloc(1, sizeof *p);
  if (!p) return AL_ENOMEM;
  p->timeout_ms = AL_GUARD_DEFAULT_TIMEOUT_MS;
  p->connect_timeout_ms = AL_GUARD_DEFAULT_CONNECT_MS;
  p->client_timeout_ms = AL_GUARD_DEFAULT_CLIENT_TIMEOUT_S * 1000ll;
  p->max_connections = AL_GUARD_DEFAULT_MAX_CONNECTIONS;
  p->max_request_bytes = AL_GUARD_DEFAULT_REQUEST_BYTES;
  p->max_response_bytes = AL_GUARD_DEFAULT_RESPONSE_BYTES;
  p->window = AL_GUARD_DEFAULT_WINDOW;
  p->audit_fsync = AL_AUDIT_FSYNC_CHECKPOINT;
  for (int i = 0; i < G_ROUTE_N; i++) p->routes[i] = (groute){.enabled = 1, .allow_stream = 1};
  if (!(p->name = al_strdup(al_ydoc_name(d)))) {
    rc = AL_ENOMEM;
    goto out;
  }
  if (!json_is_object(root)) {
    rc = al_error_at(e, AL_EPARSE, p->name, 1, 1, "a policy is a mapping (listen, upstream, input, output, ...)");
    goto out;
  }
  if ((rc = al_ydoc_check_keys(d, e, root, "policy", keys))) goto out;
  if ((rc = parse_listen(d, e, root, p))) goto out;
  if ((rc = parse_upstream(d, e, root, p))) goto out;
  if ((rc = parse_clients(d, e, root, p))) goto out;
  if ((rc = parse_limits(d, e, root, p))) goto out;
  if ((rc = parse_audit(d, e, root, p))) goto out;
  if ((rc = parse_scan(d, e, root, p))) goto out;
  if ((rc = parse_pipe(d, e, root, "input", 0, &p->in))) goto out;
  if ((rc = parse_pipe(d, e, root, "output", 1, &p->out))) goto out;
  if ((rc = parse_routes(d, e, root, p))) goto out;
  if ((rc = parse_otlp(d, e, root, p))) goto out;
  if ((rc = compile_pipe(p, &p->in, "input", e))) goto out;
  if ((rc = compile_pipe(p, &p->out, "output", e))) goto out;
  if (p->audit_dir && p->audit_pii != AL_AUDIT_PII_KEEP) {
    const char *names[] = {"pii", "secret"};
    al_scan_config cfg = {.detectors = names, .n_detectors = 2};
    al_error se = {0};
    if ((rc = al_scan_db_new(&cfg, &p->audit_db, &se))) {
      al_error_at(e, rc, p->name, 0, 0, "audit pii detectors do not compile: %s", se.msg);
      goto out;
    }
  }
  *out = p;
  p = NULL;
out:
  al_guard_policy_free(p);
  return rc;
}

int al_guard_policy_load_text(const char *text, size_t len, const char *name, al_guard_policy **out,
                              al_error *err) {
  al_ydoc *d = NULL;
  *out = NULL;
  if (len > AL_GUARD_MAX_POLICY_BYTES) return al_error_at(err, AL_ELIMIT, name, 0, 0, "policy larger than %u bytes", AL_GUARD_MAX_POLICY_BYTES);
  /* libfyaml 0.7.12 can loop forever on invalid UTF-8 in a directive: refuse it first */
  size_t bad = al_utf8_check(text, len);
  const char *nul = memchr(text, '\0', len);
  if (nul && (size_t)(nul - text) < bad) bad = (size_t)(nul - text);
  if (bad < len) {
    int line = 1, col = 1;
    for (size_t i = 0; i < bad; i++) {
      if (text[i] == '\n') line++, col = 1;
      else col++;
    }
    return al_error_at(err, AL_EPARSE, name, line, col, "a policy is UTF-8 text (invalid byte or NUL here)");
  }
  int rc = al_ydoc_load_text(text, len, name, &d, err);
  if (!rc) rc = load_doc(d, out, err);
  al_ydoc_free(d);
  return rc;
}

int al_guard_policy_load(const char *path, al_guard_policy **out, al_error *err) {
  char *text = NULL;
  size_t len = 0;
  *out = NULL;
  int rc = al_read_file(path, AL_GUARD_MAX_POLICY_BYTES, &text, &len, err);
  if (!rc) rc = al_guard_policy_load_text(text, len, path, out, err);
  al_free(text);
  return rc;
}
