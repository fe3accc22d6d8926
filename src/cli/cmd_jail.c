/* `airlock jail`: run one command inside the jail with stdio passed through.
 *
 *   airlock jail [--policy FILE] [--bind HOST[:INSIDE]] [--bind-rw HOST[:INSIDE]]
 *                [--env NAME=VALUE] [--wall-ms N] [--status-fd N] [--probe] -- CMD ARGS
 *
 * Prints the outcome as one JSON line on stderr, or, with --status-fd, JSON lines on that
 * fd in bubblewrap's shape ({"child-pid": N} when started, then the outcome with
 * "exit-code"). Exits with the child's code, 128+signal when it was killed, 125 when the
 * jail could not start, 2 on a usage error. --probe prints which mechanisms are available.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock/jail.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: airlock jail [--policy FILE] [--bind HOST[:INSIDE]] [--bind-rw HOST[:INSIDE]]\n"
          "                    [--env NAME=VALUE] [--wall-ms N] [--status-fd N] -- CMD ARGS\n"
          "       airlock jail --probe\n");
}

static int add_bind(al_jail_policy *p, char *spec, int rw) {
  char *colon = strchr(spec, ':');
  if (colon) *colon = '\0';
  int rc = al_jail_policy_add_bind(p, spec, colon ? colon + 1 : NULL, rw);
  if (rc) fprintf(stderr, "airlock jail: bad --bind %s: %s\n", spec, al_strerror(rc));
  return rc;
}

static al_jail_policy *pol;
static al_jail_proc *running;

static void forward(int sig) {
  if (running) al_jail_kill(running, sig);
}

int al_cmd_jail(int argc, char **argv) {
  const char *policy_path = NULL;
  int status_fd = -1, i, rc, code = 125;
  char *binds[64];
  int bind_rw[64], n_binds = 0;
  char *envs[64];
  int n_env = 0;
  long long wall_ms = -1;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--probe")) {
      char report[2048];
      int missing = al_jail_probe(report, sizeof report);
      fputs(report, stdout);
      return missing ? 1 : 0;
    }
    if (i + 1 >= argc) break;
    if (!strcmp(a, "--policy")) policy_path = argv[++i];
    else if ((!strcmp(a, "--bind") || !strcmp(a, "--bind-rw")) && n_binds < 64) {
      bind_rw[n_binds] = a[6] == '-';
      binds[n_binds++] = argv[++i];
    } else if (!strcmp(a, "--env") && n_env < 64) envs[n_env++] = argv[++i];
    else if (!strcmp(a, "--status-fd")) status_fd = atoi(argv[++i]);
    else if (!strcmp(a, "--wall-ms")) wall_ms = atoll(argv[++i]);
    else {
      fprintf(stderr, "airlock jail: unknown option %s\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  al_error err;
  al_error_clear(&err);
  rc = policy_path ? al_jail_policy_load(policy_path, &pol, &err)
                   : al_jail_policy_new_default(&pol);
  if (rc) {
    char msg[1024];
    fprintf(stderr, "airlock jail: %s\n", al_error_format(&err, msg, sizeof msg));
    return 2;
  }
  for (int b = 0; b < n_binds; b++)
    if (add_bind(pol, binds[b], bind_rw[b])) goto usage_out;
  for (int e = 0; e < n_env; e++) {
    char *eq = strchr(envs[e], '=');
    if (!eq) goto usage_out;
    *eq = '\0';
    if (al_jail_policy_set_env(pol, envs[e], eq + 1)) goto usage_out;
  }
  if (wall_ms >= 0) al_jail_policy_set_wall_ms(pol, wall_ms);
  FILE *status = status_fd >= 0 ? fdopen(status_fd, "w") : stderr;
  if (!status) {
    fprintf(stderr, "airlock jail: bad --status-fd %d\n", status_fd);
    goto usage_out;
  }
  al_jail_io io = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
  rc = al_jail_spawn(pol, argv + i, &io, &running, &err);
  if (rc) {
    char msg[1024];
    fprintf(stderr, "airlock jail: %s\n", al_error_format(&err, msg, sizeof msg));
    goto out;
  }
  if (status_fd >= 0) {
    fprintf(status, "{\"child-pid\": %d}\n", (int)al_jail_pid(running));
    fflush(status);
  }
  signal(SIGINT, forward);
  signal(SIGTERM, forward);
  signal(SIGHUP, forward);
  al_jail_outcome o;
  rc = al_jail_wait(running, 0, &o);
  if (rc == 1) {
    char json[1024];
    code = o.exited ? o.exit_code : 128 + o.signal;
    if (al_jail_outcome_json(&o, json, sizeof json) > 0) {
      json[strlen(json) - 1] = '\0'; /* drop the closing brace to add exit-code */
      fprintf(status, "%s,\"exit-code\":%d}\n", json, code);
      fflush(status);
    }
  }
out:
  al_jail_proc_free(running);
  running = NULL;
  al_jail_policy_free(pol);
  return code;
usage_out:
  al_jail_policy_free(pol);
  return 2;
}
