/* Jail policies in memory: the safe defaults, the setters the API offers, validation and
 * the names of the mechanisms a policy may allow to be missing.
 *
 * The defaults are the strictest setting that still runs an ordinary dynamically linked
 * program: every namespace, system folders read-only, a 64 MiB scratch /tmp, no network
 * but loopback, Landlock with TCP denied, the seccomp deny-list, 1 GiB memory, 256 tasks,
 * 256 open files, 64 MiB files, 5 minutes of CPU and of wall time, no core dumps, and no
 * mechanism allowed to be missing. YAML loading (policy_yaml.c) starts from these.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "jail/jail_int.h"

static const char *const mech_names[AL_JAIL_MECH_COUNT] = {
    "userns", "landlock", "cgroup", "seccomp", "netns",
    "timens", "scratch_size", "landlock_net", "landlock_scope",
};

const char *al_mech_name(unsigned bit) {
  for (int i = 0; i < AL_JAIL_MECH_COUNT; i++)
    if (bit == (1u << i)) return mech_names[i];
  return "?";
}

unsigned al_mech_from_name(const char *name) {
  for (int i = 0; i < AL_JAIL_MECH_COUNT; i++)
    if (!strcmp(name, mech_names[i])) return 1u << i;
  return 0;
}

int al_jail_policy_new_default(al_jail_policy **out) {
  al_jail_policy *p = al_calloc(1, sizeof *p);
  if (!p) return AL_ENOMEM;
  pthread_mutex_init(&p->bpf_mu, NULL);
  p->hostname = al_strdup("airlock");
  p->cwd = al_strdup("/tmp");
  if (!p->hostname || !p->cwd) goto fail;
  p->uid = p->gid = 1000;
  p->system_binds = 1;
  p->scratch_mb = 64;
  p->wall_ms = 300000;
  p->cpu_s = 300;
  p->memory_mb = 1024;
  p->pids = 256;
  p->nofile = 256;
  p->fsize_mb = 64;
  p->as_mb = 0;
  p->landlock_tcp_deny = 1;
  p->seccomp_mode = AL_SECCOMP_DENYLIST;
  if (al_jail_policy_set_env(p, "PATH", "/usr/local/bin:/usr/bin:/bin") ||
      al_jail_policy_set_env(p, "HOME", "/tmp") || al_jail_policy_set_env(p, "TMPDIR", "/tmp") ||
      al_jail_policy_set_env(p, "LANG", "C.UTF-8"))
    goto fail;
  *out = p;
  return 0;
fail:
  al_jail_policy_free(p);
  return AL_ENOMEM;
}

static int path_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n >= AL_JAIL_PATH_MAX || s[0] != '/') return 0;
  /* no ".." component: inside paths are created under the new root */
  for (const char *c = s; (c = strstr(c, "..")); c += 2)
    if ((c == s || c[-1] == '/') && (c[2] == '\0' || c[2] == '/')) return 0;
  return 1;
}

int al_jail_policy_add_bind(al_jail_policy *p, const char *host, const char *inside,
                            int writable) {
  if (!p || !path_ok(host)) return AL_EINVAL;
  if (!inside) inside = host;
  if (!path_ok(inside) || !strcmp(inside, "/")) return AL_EINVAL;
  /* the jail mounts its own /proc and /dev over anything bound there */
  static const char *const reserved[] = {"/proc", "/dev"};
  for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
    size_t n = strlen(reserved[i]);
    if (!strncmp(inside, reserved[i], n) && (inside[n] == '\0' || inside[n] == '/'))
      return AL_EINVAL;
  }
  if (p->n_binds >= AL_JAIL_MAX_BINDS) return AL_ELIMIT;
  al_jail_bind *nb = al_realloc(p->binds, (p->n_binds + 1) * sizeof *nb);
  if (!nb) return AL_ENOMEM;
  p->binds = nb;
  al_jail_bind *b = &nb[p->n_binds];
  memset(b, 0, sizeof *b);
  b->host = al_strdup(host);
  b->inside = al_strdup(inside);
  b->writable = !!writable;
  if (!b->host || !b->inside) {
    al_free(b->host);
    al_free(b->inside);
    return AL_ENOMEM;
  }
  p->n_binds++;
  return 0;
}

static int env_name_ok(const char *n) {
  if (!n || !*n || strlen(n) > 255) return 0;
  for (const char *c = n; *c; c++)
    if (!(*c == '_' || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
          (c != n && *c >= '0' && *c <= '9')))
      return 0;
  return 1;
}

int al_jail_policy_set_env(al_jail_policy *p, const char *name, const char *value) {
  if (!p || !env_name_ok(name)) return AL_EINVAL;
  size_t nl = strlen(name);
  for (size_t i = 0; i < p->n_env; i++) {
    if (!strncmp(p->env[i], name, nl) && p->env[i][nl] == '=') {
      al_free(p->env[i]);
      p->env[i] = p->env[--p->n_env];
      break;
    }
  }
  if (!value) return 0;
  if (strlen(value) + nl + 2 > AL_JAIL_MAX_ENV_BYTES) return AL_ELIMIT;
  if (p->n_env >= AL_JAIL_MAX_ENV) return AL_ELIMIT;
  char **ne = al_realloc(p->env, (p->n_env + 1) * sizeof *ne);
  if (!ne) return AL_ENOMEM;
  p->env = ne;
  size_t len = nl + strlen(value) + 2;
  char *s = al_malloc(len);
  if (!s) return AL_ENOMEM;
  memcpy(s, name, nl);
  s[nl] = '=';
  memcpy(s + nl + 1, value, len - nl - 1);
  p->env[p->n_env++] = s;
  return 0;
}

int al_jail_policy_set_wall_ms(al_jail_policy *p, int64_t ms) {
  if (!p || ms < 0) return AL_EINVAL;
  p->wall_ms = ms;
  return 0;
}

int al_jail_policy_validate(const al_jail_policy *p, al_error *err) {
  if (!p) return al_error_set(err, AL_EINVAL, "no policy");
  if (!path_ok(p->cwd)) return al_error_set(err, AL_EINVAL, "cwd must be an absolute path");
  if (p->uid == 0 || p->gid == 0)
    return al_error_set(err, AL_EINVAL, "uid/gid inside the jail must not be 0");
  if (p->scratch_mb < 1) return al_error_set(err, AL_EINVAL, "scratch_mb must be >= 1");
  if (p->pids < 0 || p->memory_mb < 0 || p->nofile < 0 || p->fsize_mb < 0 || p->cpu_s < 0 ||
      p->as_mb < 0 || p->wall_ms < 0)
    return al_error_set(err, AL_EINVAL, "limits must be >= 0");
  return 0;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) al_free(v[i]);
  al_free(v);
}

void al_jail_policy_free(al_jail_policy *p) {
  if (!p) return;
  al_free(p->hostname);
  al_free(p->cwd);
  for (size_t i = 0; i < p->n_binds; i++) {
    al_free(p->binds[i].host);
    al_free(p->binds[i].inside);
  }
  al_free(p->binds);
  free_strv(p->env, p->n_env);
  free_strv(p->sys_deny, p->n_sys_deny);
  free_strv(p->sys_allow, p->n_sys_allow);
  al_jail_seccomp_release(p->bpf, p->n_bpf);
  pthread_mutex_destroy(&p->bpf_mu);
  al_free(p);
}
