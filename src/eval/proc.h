/* Processes the runner starts for a target -- a launched server, or an exec/llama worker --
 * jailed by default (src/jail), or plain when the suite opts out (logged). */
#ifndef AIRLOCK_EVAL_PROC_H
#define AIRLOCK_EVAL_PROC_H

#include <sys/types.h>

#include "airlock/error.h"
#include "airlock/jail.h"
#include "airlock/target.h"

typedef struct al_proc {
  pid_t pid;
  al_jail_proc *jail;
  int in_fd;   /* write end of the child's stdin, or -1 */
  int out_fd;  /* read end of the child's stdout, or -1 */
  char scratch[512]; /* host path of the jail's /tmp ("" when not jailed) */
  char socket[600];  /* host path that "{{socket}}" in argv became ("" when unused) */
  char sockdir[512]; /* our own temp folder for it when not jailed */
} al_proc;

/* argv: as configured; an argument "{{socket}}" becomes the path of a unix socket the program
 * should listen on (inside the jail's /tmp when jailed), and p->socket is where Airlock
 * connects from the host. pipes: give the child stdin/stdout pipes (exec protocol); otherwise
 * stdin is /dev/null and stdout goes to our stderr. extra_bind: a host path bound read-only
 * at the same place (the model file), or NULL. log_fd: where the program's stderr (and, without
 * pipes, stdout) goes; -1 for our stderr. */
int al_proc_start(const al_target_config *cfg, char *const argv[], int pipes,
                  const char *extra_bind, int log_fd, al_proc **out, al_error *err);
int al_proc_alive(al_proc *p);
/* SIGTERM, wait up to grace_ms, then SIGKILL; frees. */
void al_proc_stop(al_proc *p, int grace_ms);

#endif
