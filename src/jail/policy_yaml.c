/* Jail policies from YAML (libfyaml), redis-style: one table of rows names every key,
 * its type and where it lands in the policy, so the parser, the unknown-key check and the
 * sample policy (examples/policies/) all agree.
 *
 * Loading starts from the safe defaults and overrides only what the file says. Every error
 * names file:line:column and what was expected; unknown keys, duplicate keys, wrong types
 * and out-of-range numbers are errors, never ignored. `env:` replaces the default
 * environment entirely (the jail gets only what the policy lists).
 */
#include <errno.h>
#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "jail/jail_int.h"

typedef struct yctx {
  const char *name;
  al_error *err;
  al_jail_policy *p;
} yctx;

/* Line/column of a node: scalars by their token, collections by their first key/item. */
static void node_pos(struct fy_node *n, int *line, int *col) {
  *line = 1;
  *col = 1;
  for (int depth = 0; n && depth < 8; depth++) {
    if (fy_node_is_scalar(n)) {
      struct fy_token *t = fy_node_get_scalar_token(n);
      const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
      if (m) {
        *line = m->line + 1;
        *col = m->column + 1;
      }
      return;
    }
    void *it = NULL;
    if (fy_node_is_mapping(n)) {
      struct fy_node_pair *pr = fy_node_mapping_iterate(n, &it);
      n = pr ? fy_node_pair_key(pr) : NULL;
    } else if (fy_node_is_sequence(n)) {
      n = fy_node_sequence_iterate(n, &it);
    } else {
      return;
    }
  }
}

static int fail_at(yctx *c, struct fy_node *n, int code, const char *fmt, const char *a,
                   const char *b) {
  int line, col;
  node_pos(n, &line, &col);
  char msg[400];
  snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
  return al_error_at(c->err, code, c->name, line, col, "%s", msg);
}

/* The scalar text of n as a NUL-terminated copy in buf, or an error naming `what`. */
static int get_str(yctx *c, struct fy_node *n, const char *key, char *buf, size_t cap) {
  size_t len = 0;
  const char *s = (n && fy_node_is_scalar(n) && !fy_node_is_alias(n))
                      ? fy_node_get_scalar(n, &len) : NULL;
  if (!s) return fail_at(c, n, AL_EPARSE, "'%s': expected a plain value (a string)%s", key, NULL);
  if (len >= cap || memchr(s, '\0', len))
    return fail_at(c, n, AL_ELIMIT, "'%s': value too long or holds a NUL byte%s", key, NULL);
  memcpy(buf, s, len);
  buf[len] = '\0';
  return 0;
}

static int get_int(yctx *c, struct fy_node *n, const char *key, int64_t lo, int64_t hi,
                   int64_t *out) {
  char buf[32];
  int rc = get_str(c, n, key, buf, sizeof buf);
  if (rc) return rc;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(buf, &end, 10);
  if (errno || end == buf || *end || v < lo || v > hi) {
    char range[64];
    snprintf(range, sizeof range, "%lld..%lld", (long long)lo, (long long)hi);
    return fail_at(c, n, AL_EINVAL, "'%s': expected a whole number in %s", key, range);
  }
  *out = v;
  return 0;
}

static int get_bool(yctx *c, struct fy_node *n, const char *key, int *out) {
  char buf[8];
  int rc = get_str(c, n, key, buf, sizeof buf);
  if (rc) return rc;
  if (!strcmp(buf, "true") || !strcmp(buf, "yes")) *out = 1;
  else if (!strcmp(buf, "false") || !strcmp(buf, "no")) *out = 0;
  else return fail_at(c, n, AL_EINVAL, "'%s': expected true or false%s", key, NULL);
  return 0;
}

static int want_map(yctx *c, struct fy_node *n, const char *key) {
  if (n && fy_node_is_mapping(n)) return 0;
  return fail_at(c, n, AL_EPARSE, "'%s': expected a mapping (key: value lines)%s", key, NULL);
}

static int want_seq(yctx *c, struct fy_node *n, const char *key) {
  if (n && fy_node_is_sequence(n)) return 0;
  return fail_at(c, n, AL_EPARSE, "'%s': expected a list%s", key, NULL);
}

/* ---- sections ---------------------------------------------------------------------- */

static int parse_bind(yctx *c, struct fy_node *n) {
  char host[AL_JAIL_PATH_MAX] = "", inside[AL_JAIL_PATH_MAX] = "";
  int writable = 0, rc;
  if (fy_node_is_scalar(n)) { /* "HOST[:INSIDE]" */
    char spec[2 * AL_JAIL_PATH_MAX];
    if ((rc = get_str(c, n, "binds", spec, sizeof spec))) return rc;
    char *colon = strchr(spec, ':');
    if (colon) *colon = '\0';
    const char *in = colon ? colon + 1 : spec;
    if (strlen(spec) >= sizeof host || strlen(in) >= sizeof inside)
      return fail_at(c, n, AL_ELIMIT, "bind '%s': path too long%s", spec, NULL);
    memcpy(host, spec, strlen(spec) + 1);
    memcpy(inside, in, strlen(in) + 1);
  } else {
    if ((rc = want_map(c, n, "binds[]"))) return rc;
    void *it = NULL;
    struct fy_node_pair *pr;
    while ((pr = fy_node_mapping_iterate(n, &it))) {
      char key[32];
      struct fy_node *k = fy_node_pair_key(pr), *v = fy_node_pair_value(pr);
      if ((rc = get_str(c, k, "binds[] key", key, sizeof key))) return rc;
      if (!strcmp(key, "host")) rc = get_str(c, v, "host", host, sizeof host);
      else if (!strcmp(key, "inside")) rc = get_str(c, v, "inside", inside, sizeof inside);
      else if (!strcmp(key, "writable")) rc = get_bool(c, v, "writable", &writable);
      else return fail_at(c, k, AL_EPARSE, "unknown key '%s' in a bind (expected host, inside, writable)%s", key, NULL);
      if (rc) return rc;
    }
    if (!host[0]) return fail_at(c, n, AL_EPARSE, "a bind needs 'host:'%s%s", NULL, NULL);
    if (!inside[0]) snprintf(inside, sizeof inside, "%s", host);
  }
  rc = al_jail_policy_add_bind(c->p, host, inside, writable);
  if (rc == AL_EINVAL)
    return fail_at(c, n, rc, "bind '%s': host and inside must be absolute paths without '..' (inside not '/', nor under /proc or /dev)%s", host, NULL);
  if (rc == AL_ELIMIT) return fail_at(c, n, rc, "too many binds%s%s", NULL, NULL);
  return rc;
}

static int parse_binds(yctx *c, struct fy_node *n) {
  int rc = want_seq(c, n, "binds");
  void *it = NULL;
  struct fy_node *item;
  while (!rc && (item = fy_node_sequence_iterate(n, &it))) rc = parse_bind(c, item);
  return rc;
}

static int parse_env(yctx *c, struct fy_node *n) {
  int rc = want_map(c, n, "env");
  if (rc) return rc;
  while (c->p->n_env) al_free(c->p->env[--c->p->n_env]); /* replaces the defaults */
  void *it = NULL;
  struct fy_node_pair *pr;
  while ((pr = fy_node_mapping_iterate(n, &it))) {
    char name[256], *value = al_malloc(AL_JAIL_MAX_ENV_BYTES);
    if (!value) return AL_ENOMEM;
    rc = get_str(c, fy_node_pair_key(pr), "env name", name, sizeof name);
    if (!rc) rc = get_str(c, fy_node_pair_value(pr), name, value, AL_JAIL_MAX_ENV_BYTES);
    if (!rc) {
      rc = al_jail_policy_set_env(c->p, name, value);
      if (rc == AL_EINVAL)
        rc = fail_at(c, fy_node_pair_key(pr), rc, "env: '%s' is not a valid variable name%s", name, NULL);
      else if (rc == AL_ELIMIT)
        rc = fail_at(c, fy_node_pair_key(pr), rc, "env: too many variables or '%s' too long%s", name, NULL);
    }
    al_free(value);
    if (rc) return rc;
  }
  return 0;
}

static int parse_names(yctx *c, struct fy_node *n, const char *key, char ***v, size_t *nv) {
  int rc = want_seq(c, n, key);
  void *it = NULL;
  struct fy_node *item;
  while (!rc && (item = fy_node_sequence_iterate(n, &it))) {
    char name[64];
    if ((rc = get_str(c, item, key, name, sizeof name))) break;
    if (*nv >= AL_JAIL_MAX_SYSCALLS) return fail_at(c, item, AL_ELIMIT, "'%s': too many names%s", key, NULL);
    char **nvv = al_realloc(*v, (*nv + 1) * sizeof *nvv);
    if (!nvv) return AL_ENOMEM;
    *v = nvv;
    if (!(nvv[*nv] = al_strdup(name))) return AL_ENOMEM;
    (*nv)++;
  }
  return rc;
}

/* Syscall names are checked against libseccomp's table in seccomp.c. */
int al_jail_seccomp_name_ok(const char *name);

static int check_syscalls(yctx *c, struct fy_node *n, char **v, size_t nv) {
  void *it = NULL;
  for (size_t i = 0; i < nv; i++) {
    struct fy_node *item = fy_node_sequence_iterate(n, &it);
    if (!al_jail_seccomp_name_ok(v[i]))
      return fail_at(c, item, AL_EINVAL, "unknown system call '%s'%s", v[i], NULL);
  }
  return 0;
}

static int parse_seccomp(yctx *c, struct fy_node *n) {
  int rc = want_map(c, n, "seccomp");
  void *it = NULL;
  struct fy_node_pair *pr;
  while (!rc && (pr = fy_node_mapping_iterate(n, &it))) {
    char key[32], val[32];
    struct fy_node *k = fy_node_pair_key(pr), *v = fy_node_pair_value(pr);
    if ((rc = get_str(c, k, "seccomp key", key, sizeof key))) break;
    if (!strcmp(key, "mode")) {
      if ((rc = get_str(c, v, "mode", val, sizeof val))) break;
      if (!strcmp(val, "denylist")) c->p->seccomp_mode = AL_SECCOMP_DENYLIST;
      else if (!strcmp(val, "allowlist")) c->p->seccomp_mode = AL_SECCOMP_ALLOWLIST;
      else rc = fail_at(c, v, AL_EINVAL, "seccomp mode '%s': expected denylist or allowlist%s", val, NULL);
    } else if (!strcmp(key, "deny")) {
      rc = parse_names(c, v, "deny", &c->p->sys_deny, &c->p->n_sys_deny);
      if (!rc) rc = check_syscalls(c, v, c->p->sys_deny, c->p->n_sys_deny);
    } else if (!strcmp(key, "allow")) {
      rc = parse_names(c, v, "allow", &c->p->sys_allow, &c->p->n_sys_allow);
      if (!rc) rc = check_syscalls(c, v, c->p->sys_allow, c->p->n_sys_allow);
    } else {
      rc = fail_at(c, k, AL_EPARSE, "unknown key '%s' in seccomp (expected mode, deny, allow)%s", key, NULL);
    }
  }
  if (!rc && c->p->seccomp_mode == AL_SECCOMP_ALLOWLIST && !c->p->n_sys_allow)
    rc = fail_at(c, n, AL_EINVAL, "seccomp mode allowlist needs an 'allow:' list%s%s", NULL, NULL);
  return rc;
}

static int parse_landlock(yctx *c, struct fy_node *n) {
  int rc = want_map(c, n, "landlock");
  void *it = NULL;
  struct fy_node_pair *pr;
  while (!rc && (pr = fy_node_mapping_iterate(n, &it))) {
    char key[32], val[16];
    struct fy_node *k = fy_node_pair_key(pr), *v = fy_node_pair_value(pr);
    if ((rc = get_str(c, k, "landlock key", key, sizeof key))) break;
    if (strcmp(key, "tcp"))
      return fail_at(c, k, AL_EPARSE, "unknown key '%s' in landlock (expected tcp)%s", key, NULL);
    if ((rc = get_str(c, v, "tcp", val, sizeof val))) break;
    if (!strcmp(val, "deny")) c->p->landlock_tcp_deny = 1;
    else if (!strcmp(val, "allow")) c->p->landlock_tcp_deny = 0;
    else rc = fail_at(c, v, AL_EINVAL, "landlock tcp '%s': expected deny or allow%s", val, NULL);
  }
  return rc;
}

typedef struct limit_row {
  const char *key;
  size_t off;
  int64_t lo, hi;
} limit_row;

#define LROW(k, lo, hi) {#k, offsetof(al_jail_policy, k), lo, hi}
static const limit_row limit_rows[] = {
    LROW(wall_ms, 0, INT64_C(86400000)), LROW(cpu_s, 0, 86400),
    LROW(memory_mb, 0, INT64_C(1) << 30), LROW(pids, 0, 1 << 22),
    LROW(nofile, 0, 1 << 20), LROW(fsize_mb, 0, INT64_C(1) << 30),
    LROW(as_mb, 0, INT64_C(1) << 30),
};

static int parse_limits(yctx *c, struct fy_node *n) {
  int rc = want_map(c, n, "limits");
  void *it = NULL;
  struct fy_node_pair *pr;
  while (!rc && (pr = fy_node_mapping_iterate(n, &it))) {
    char key[32];
    struct fy_node *k = fy_node_pair_key(pr);
    if ((rc = get_str(c, k, "limits key", key, sizeof key))) break;
    const limit_row *r = NULL;
    for (size_t i = 0; i < sizeof limit_rows / sizeof *limit_rows; i++)
      if (!strcmp(key, limit_rows[i].key)) r = &limit_rows[i];
    if (!r)
      return fail_at(c, k, AL_EPARSE, "unknown key '%s' in limits (expected wall_ms, cpu_s, memory_mb, pids, nofile, fsize_mb, as_mb)%s", key, NULL);
    rc = get_int(c, fy_node_pair_value(pr), key, r->lo, r->hi,
                 (int64_t *)((char *)c->p + r->off));
  }
  return rc;
}

static int parse_allow_missing(yctx *c, struct fy_node *n) {
  int rc = want_seq(c, n, "allow_missing");
  void *it = NULL;
  struct fy_node *item;
  while (!rc && (item = fy_node_sequence_iterate(n, &it))) {
    char name[32];
    if ((rc = get_str(c, item, "allow_missing", name, sizeof name))) break;
    unsigned bit = al_mech_from_name(name);
    if (!bit)
      return fail_at(c, item, AL_EINVAL, "allow_missing: unknown mechanism '%s' (expected userns, landlock, landlock_net, landlock_scope, cgroup, seccomp, netns, timens, scratch_size)%s", name, NULL);
    c->p->allow_missing |= bit;
  }
  return rc;
}

static int parse_root(yctx *c, struct fy_node *root) {
  if (!root) return 0; /* empty file: the defaults */
  int rc = want_map(c, root, "policy");
  void *it = NULL;
  struct fy_node_pair *pr;
  while (!rc && (pr = fy_node_mapping_iterate(root, &it))) {
    char key[32], s[AL_JAIL_PATH_MAX];
    int64_t v;
    struct fy_node *k = fy_node_pair_key(pr), *val = fy_node_pair_value(pr);
    if ((rc = get_str(c, k, "key", key, sizeof key))) break;
    if (!strcmp(key, "hostname") || !strcmp(key, "cwd")) {
      if ((rc = get_str(c, val, key, s, key[0] == 'h' ? 65 : sizeof s))) break;
      if (key[0] == 'c' && s[0] != '/')
        return fail_at(c, val, AL_EINVAL, "cwd: expected an absolute path%s%s", NULL, NULL);
      char **dst = key[0] == 'h' ? &c->p->hostname : &c->p->cwd;
      al_free(*dst);
      if (!(*dst = al_strdup(s))) return AL_ENOMEM;
    } else if (!strcmp(key, "uid") || !strcmp(key, "gid")) {
      if ((rc = get_int(c, val, key, 1, 65533, &v))) break;
      *(key[0] == 'u' ? &c->p->uid : &c->p->gid) = (uint32_t)v;
    } else if (!strcmp(key, "host_id")) {
      if ((rc = get_int(c, val, key, 0, 0x7fffffff, &v))) break;
      c->p->host_id = (uint32_t)v;
    } else if (!strcmp(key, "system_binds")) {
      rc = get_bool(c, val, key, &c->p->system_binds);
    } else if (!strcmp(key, "scratch_mb")) {
      rc = get_int(c, val, key, 1, 1 << 20, &c->p->scratch_mb);
    } else if (!strcmp(key, "binds")) {
      rc = parse_binds(c, val);
    } else if (!strcmp(key, "env")) {
      rc = parse_env(c, val);
    } else if (!strcmp(key, "limits")) {
      rc = parse_limits(c, val);
    } else if (!strcmp(key, "landlock")) {
      rc = parse_landlock(c, val);
    } else if (!strcmp(key, "seccomp")) {
      rc = parse_seccomp(c, val);
    } else if (!strcmp(key, "allow_missing")) {
      rc = parse_allow_missing(c, val);
    } else {
      rc = fail_at(c, k, AL_EPARSE, "unknown key '%s' (expected hostname, cwd, uid, gid, host_id, system_binds, scratch_mb, binds, env, limits, landlock, seccomp, allow_missing)%s", key, NULL);
    }
  }
  return rc;
}

/* Only blank lines, comments and document markers: libfyaml builds no document. */
static int blank_yaml(const char *t, size_t len) {
  for (size_t i = 0; i < len;) {
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r')) i++;
    int skip = i < len && (t[i] == '#' || (len - i >= 3 && !memcmp(t + i, "---", 3)));
    if (i < len && t[i] != '\n' && !skip) return 0;
    while (i < len && t[i] != '\n') i++;
    i++;
  }
  return 1;
}

int al_jail_policy_load_text(const char *text, size_t len, const char *name,
                             al_jail_policy **out, al_error *err) {
  al_jail_policy *p = NULL;
  struct fy_diag *diag = NULL;
  struct fy_document *doc = NULL;
  int rc;
  if (!text || !out) return al_error_set(err, AL_EINVAL, "no policy text");
  if (!name) name = "<policy>";
  if (len > AL_JAIL_MAX_POLICY_BYTES)
    return al_error_at(err, AL_ELIMIT, name, 0, 0, "policy larger than %u bytes",
                       AL_JAIL_MAX_POLICY_BYTES);
  size_t bad = al_utf8_check(text, len);
  if (bad < len || memchr(text, '\0', len))
    return al_error_at(err, AL_EPARSE, name, 0, 0, "policy is not valid UTF-8 text (at byte %zu)",
                       bad < len ? bad : (size_t)((const char *)memchr(text, '\0', len) - text));
  if ((rc = al_jail_policy_new_default(&p))) return al_error_set(err, rc, "out of memory");

  struct fy_diag_cfg dcfg;
  fy_diag_cfg_default(&dcfg);
  dcfg.fp = NULL;
  dcfg.colorize = false;
  diag = fy_diag_create(&dcfg);
  if (!diag) {
    rc = al_error_set(err, AL_ENOMEM, "out of memory");
    goto out;
  }
  fy_diag_set_collect_errors(diag, true);
  struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_DISABLE_RECYCLING, .diag = diag};
  doc = len ? fy_document_build_from_string(&pcfg, text, len) : NULL;
  void *it = NULL;
  struct fy_diag_error *de = len && !doc ? fy_diag_errors_iterate(diag, &it) : NULL;
  if (len && !doc && (de || !blank_yaml(text, len))) {
    rc = al_error_at(err, AL_EPARSE, name, de ? de->line : 0, de ? de->column : 0, /* 1-based already */
                     "YAML syntax error: %s", de && de->msg ? de->msg : "cannot parse");
    goto out;
  }
  yctx c = {name, err, p};
  if ((rc = parse_root(&c, doc ? fy_document_root(doc) : NULL))) goto out;
  if ((rc = al_jail_policy_validate(p, err))) {
    err->line = err->col = 0;
    snprintf(err->file, sizeof err->file, "%s", name);
    goto out;
  }
  *out = p;
  p = NULL;
out:
  fy_document_destroy(doc);
  fy_diag_destroy(diag);
  al_jail_policy_free(p);
  return rc;
}

int al_jail_policy_load(const char *path, al_jail_policy **out, al_error *err) {
  char *text = NULL;
  size_t len = 0;
  int rc = al_read_file(path, AL_JAIL_MAX_POLICY_BYTES, &text, &len, err);
  if (rc) {
    if (err && !err->file[0]) snprintf(err->file, sizeof err->file, "%s", path);
    return rc;
  }
  rc = al_jail_policy_load_text(text, len, path, out, err);
  al_free(text);
  return rc;
}
