/* Start and stop target processes (see proc.h). Jailed: the default policy (or the suite's
 * jail_policy), plus read-only binds of the program's folder, the libraries it was built
 * against (the llama.cpp cache) and the model file. Not jailed: a plain fork/exec with the
 * same pipes, and a warning in the log, because the suite asked for it explicitly. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "airlock/log.h"
#include "airlock/util.h"
#include "proc.h"

static char *resolve_program(const char *prog) {
  if (strchr(prog, '/')) {
    char real[PATH_MAX];
    return realpath(prog, real) ? al_strdup(real) : al_strdup(prog);
  }
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  char *copy = al_strdup(path), *save = NULL, *res = NULL;
  for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", d, prog);
    if (access(p, X_OK) == 0) {
      res = al_strdup(p);
      break;
    }
  }
  al_free(copy);
  return res ? res : al_strdup(prog);
}

int al_proc_start(const al_target_config *cfg, char *const argv_in[], int pipes,
                  const char *extra_bind, int log_fd, al_proc **out, al_error *err) {
  int rc = 0, in[2] = {-1, -1}, outp[2] = {-1, -1};
  al_proc *p = NULL;
  al_jail_policy *pol = NULL;
  char **argv = NULL;
  size_t argc = 0;
  *out = NULL;
  while (argv_in[argc]) argc++;
  argv = al_calloc(argc + 1, sizeof *argv);
  p = al_calloc(1, sizeof *p);
  if (!argv || !p) {
    rc = AL_ENOMEM;
    goto out;
  }
  p->in_fd = p->out_fd = -1;
  argv[0] = resolve_program(argv_in[0]);
  const char *sock_inside = NULL;
  if (!cfg->jail) {
    snprintf(p->sockdir, sizeof p->sockdir, "/tmp/airlock-sock-XXXXXX");
  }
  for (size_t i = 1; i < argc; i++) {
    argv[i] = (char *)argv_in[i];
    if (strstr(argv_in[i], "{{socket}}")) {
      if (!sock_inside) {
        if (cfg->jail) {
          sock_inside = "/tmp/airlock-target.sock";
        } else {
          if (!mkdtemp(p->sockdir)) {
            rc = al_error_set(err, AL_ESYS, "mkdtemp: %s", strerror(errno));
            goto out;
          }
          snprintf(p->socket, sizeof p->socket, "%s/target.sock", p->sockdir);
          sock_inside = p->socket;
        }
      }
      /* replace the placeholder inside the argument (e.g. unix:{{socket}}) */
      const char *ph = strstr(argv_in[i], "{{socket}}");
      size_t n = strlen(argv_in[i]) - 10 + strlen(sock_inside) + 1;
      char *a = al_malloc(n);
      if (!a) {
        rc = AL_ENOMEM;
        goto out;
      }
      snprintf(a, n, "%.*s%s%s", (int)(ph - argv_in[i]), argv_in[i], sock_inside, ph + 10);
      argv[i] = a;
    }
  }
  if (pipes && (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC))) {
    rc = al_error_set(err, AL_ESYS, "pipe: %s", strerror(errno));
    goto out;
  }
  if (cfg->jail) {
    if (cfg->jail_policy) rc = al_jail_policy_load(cfg->jail_policy, &pol, err);
    else if ((rc = al_jail_policy_new_default(&pol)) == 0)
      rc = al_jail_policy_set_wall_ms(pol, 0); /* a target lives as long as the run; the run's own
                                                  timeouts bound each request */
    if (rc) goto out;
    char *dir = al_strdup(argv[0]);
    if ((rc = al_jail_policy_add_bind(pol, dirname(dir), NULL, 0))) {
      al_free(dir);
      rc = al_error_set(err, rc, "jail: cannot bind the program's folder");
      goto out;
    }
    al_free(dir);
    /* files the command names by absolute path (a script, a model) are bound read-only */
    for (size_t i = 1; i < argc; i++) {
      char real[PATH_MAX];
      if (argv[i][0] != '/' || argv[i] != argv_in[i] || !strncmp(argv[i], "/usr/", 5) ||
          !realpath(argv[i], real))
        continue;
      /* bind the canonical path (no "..", no links) and hand the program that path */
      if (strcmp(real, argv[i])) {
        argv[i] = al_strdup(real);
        if (!argv[i]) {
          argv[i] = (char *)argv_in[i];
          rc = AL_ENOMEM;
          goto out;
        }
      }
      if (!extra_bind || strcmp(real, extra_bind)) al_jail_policy_add_bind(pol, real, NULL, 0);
    }
    if (cfg->lib_dir && (rc = al_jail_policy_add_bind(pol, cfg->lib_dir, NULL, 0))) {
      rc = al_error_set(err, rc, "jail: cannot bind %s", cfg->lib_dir);
      goto out;
    }
    if (extra_bind && (rc = al_jail_policy_add_bind(pol, extra_bind, NULL, 0))) {
      rc = al_error_set(err, rc, "jail: cannot bind %s", extra_bind);
      goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(cfg->env, k, v) al_jail_policy_set_env(pol, k, json_string_value(v));
    if (log_fd < 0) log_fd = 2;
    al_jail_io io = {pipes ? in[0] : -1, pipes ? outp[1] : log_fd, log_fd};
    if ((rc = al_jail_spawn(pol, argv, &io, &p->jail, err))) goto out;
    p->pid = al_jail_pid(p->jail);
    snprintf(p->scratch, sizeof p->scratch, "%s", al_jail_scratch(p->jail));
    if (sock_inside) snprintf(p->socket, sizeof p->socket, "%s/airlock-target.sock", p->scratch);
  } else {
    al_warn("target process %s runs WITHOUT the jail (jail: false in the suite)", argv[0]);
    pid_t pid = fork();
    if (pid < 0) {
      rc = al_error_set(err, AL_ESYS, "fork: %s", strerror(errno));
      goto out;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      setpgid(0, 0);
      if (log_fd >= 0) dup2(log_fd, 2);
      if (pipes) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
      } else {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        dup2(2, 1);
      }
      const char *k;
      json_t *v;
      json_object_foreach(cfg->env, k, v) setenv(k, json_string_value(v), 1);
      execv(argv[0], argv);
      _exit(127);
    }
    p->pid = pid;
  }
  if (pipes) {
    p->in_fd = in[1], in[1] = -1;
    p->out_fd = outp[0], outp[0] = -1;
  }
  *out = p;
  p = NULL;
out:
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0) close(in[i]);
    if (outp[i] >= 0) close(outp[i]);
  }
  if (argv) {
    al_free(argv[0]);
    for (size_t i = 1; i < argc; i++)
      if (argv[i] != argv_in[i]) al_free(argv[i]);
  }
  al_free(argv);
  if (p && p->sockdir[0] && p->sockdir[strlen(p->sockdir) - 1] != 'X') rmdir(p->sockdir);
  al_jail_policy_free(pol);
  al_free(p);
  return rc;
}

int al_proc_alive(al_proc *p) {
  if (!p) return 0;
  if (p->jail) {
    al_jail_outcome o;
    return al_jail_wait(p->jail, 1, &o) == 0;
  }
  if (p->pid <= 0) return 0;
  int st;
  pid_t r = waitpid(p->pid, &st, WNOHANG);
  if (r == p->pid) p->pid = -1;
  return r == 0;
}

void al_proc_stop(al_proc *p, int grace_ms) {
  if (!p) return;
  if (p->in_fd >= 0) close(p->in_fd);
  if (p->out_fd >= 0) close(p->out_fd);
  if (p->jail) {
    al_jail_kill(p->jail, SIGTERM);
    al_jail_outcome o;
    int64_t end = al_now_ns() + (int64_t)grace_ms * 1000000;
    while (al_jail_wait(p->jail, 1, &o) == 0 && al_now_ns() < end) usleep(5000);
    al_jail_proc_free(p->jail); /* kills what is left, removes scratch */
  } else if (p->pid > 0) {
    kill(-p->pid, SIGTERM);
    kill(p->pid, SIGTERM);
    int64_t end = al_now_ns() + (int64_t)grace_ms * 1000000;
    int st;
    while (waitpid(p->pid, &st, WNOHANG) == 0) {
      if (al_now_ns() > end) {
        kill(-p->pid, SIGKILL);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &st, 0);
        break;
      }
      usleep(5000);
    }
  }
  if (p->sockdir[0] && p->socket[0]) {
    unlink(p->socket);
    rmdir(p->sockdir);
  }
  al_free(p);
}
