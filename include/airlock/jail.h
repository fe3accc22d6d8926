/* The jail: run one untrusted program (a model server, a tool, a hostile test program)
 * inside fresh user, pid, mount, network, ipc, uts, cgroup and time namespaces, with a
 * tmpfs root holding read-only binds, Landlock, cgroup v1 limits, rlimits, no capabilities,
 * no_new_privs and a seccomp filter -- and report how it ended as structured data.
 *
 * Two phases, YARA-style: a policy (immutable once spawned from; load it from YAML or
 * build it from the safe defaults) and any number of spawns from it. The child's only ways
 * back are the three stdio fds the caller passes and a scratch folder (the jail's /tmp)
 * whose host path al_jail_scratch() gives, so the caller can connect() to a unix socket the
 * jailed program creates there. The library never prints; errors go to al_error.
 *
 * Threads: al_jail_spawn may be called from several threads at once, also with the same
 * policy (its compiled seccomp filter is cached inside it, under a lock); one al_jail_proc
 * must be used by one thread at a time. A policy may be freed once the spawns using it
 * have returned; do not change it while a spawn from it is in progress.
 */
#ifndef AIRLOCK_JAIL_H
#define AIRLOCK_JAIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "airlock/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct al_jail_policy al_jail_policy;

/* A policy with the safe defaults (docs/design/jail.md lists them). */
int al_jail_policy_new_default(al_jail_policy **out);
/* YAML policy; errors are "file:line:col: what was expected"; unknown keys are errors. */
int al_jail_policy_load(const char *path, al_jail_policy **out, al_error *err);
int al_jail_policy_load_text(const char *text, size_t len, const char *name,
                             al_jail_policy **out, al_error *err);
/* Read-only (writable = 0) or read-write bind of a host file or folder at `inside`
 * (an absolute path; NULL means the same path as on the host). */
int al_jail_policy_add_bind(al_jail_policy *p, const char *host, const char *inside,
                            int writable);
/* Set (or, with value NULL, remove) one environment variable of the jailed program. */
int al_jail_policy_set_env(al_jail_policy *p, const char *name, const char *value);
/* Wall-clock limit in milliseconds (0: none). */
int al_jail_policy_set_wall_ms(al_jail_policy *p, int64_t ms);
void al_jail_policy_free(al_jail_policy *p);

typedef struct al_jail_io {
  int stdin_fd, stdout_fd, stderr_fd; /* -1 = /dev/null */
} al_jail_io;

typedef struct al_jail_proc al_jail_proc;

/* Start argv[0] (an absolute path inside the jail) jailed. Returns once the program has
 * been exec'd (0), or with AL_EJAIL naming the mechanism that is missing or failed. */
int al_jail_spawn(const al_jail_policy *p, char *const argv[], const al_jail_io *io,
                  al_jail_proc **out, al_error *err);
pid_t al_jail_pid(const al_jail_proc *j);          /* host pid of the jail's init */
const char *al_jail_scratch(const al_jail_proc *j); /* host path of the jail's /tmp */
/* A pidfd that becomes readable when the jail has ended (for event loops). Borrowed. */
int al_jail_fd(const al_jail_proc *j);
/* Milliseconds left before the wall-clock limit (-1: none). Event loops must call
 * al_jail_wait(nohang) at that point so the limit is enforced. */
int64_t al_jail_wall_left_ms(const al_jail_proc *j);

typedef struct al_jail_outcome {
  int exited, exit_code, signaled, signal, oom_killed;
  const char *limit; /* NULL, "wall", "cpu", "fsize", "memory", "pids", "nofile" */
  int64_t wall_ns;
  int64_t max_rss_kb;
  char detail[256];
} al_jail_outcome;

/* 1 = ended (outcome filled), 0 = still running (nohang), < 0 = error. Enforces the
 * wall-clock limit: past it the jail is killed and the outcome says limit "wall". */
int al_jail_wait(al_jail_proc *j, int nohang, al_jail_outcome *out);
/* Signal the jailed program (through the jail's init); SIGKILL ends the whole jail. */
int al_jail_kill(al_jail_proc *j, int sig);
void al_jail_proc_free(al_jail_proc *j); /* kills if still running, removes scratch */
/* One JSON object, no newline. Returns the length, or AL_ELIMIT when n is too small. */
int al_jail_outcome_json(const al_jail_outcome *o, char *buf, size_t n);
/* One line per mechanism: "name: available|missing (why)". Returns the number missing. */
int al_jail_probe(char *report, size_t n);

#ifdef __cplusplus
}
#endif
#endif
