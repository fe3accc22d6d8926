/* What this machine offers the jail, found once per process by trying each mechanism:
 * namespaces by unshare() in a short-lived child, Landlock by asking its syscall for the
 * ABI version (securityfs may not be mounted), seccomp by prctl, cgroup v1 by looking for
 * writable memory and pids hierarchies. al_jail_spawn refuses to start when the policy
 * needs a mechanism that is missing, unless the policy's allow_missing names it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail/jail_int.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static al_jail_caps caps;
static pthread_once_t caps_once = PTHREAD_ONCE_INIT;

static void setwhy(int mech_bit, const char *why) {
  for (int i = 0; i < AL_JAIL_MECH_COUNT; i++)
    if (mech_bit == (1 << i)) snprintf(caps.why[i], sizeof caps.why[i], "%s", why);
}

/* Child: exit code bit 0 userns, 1 netns+others, 2 timens. Only system calls. */
static int probe_ns(void) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int bits = 0;
    if (unshare(CLONE_NEWUSER) == 0) {
      bits |= 1;
      if (unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID |
                  CLONE_NEWCGROUP) == 0)
        bits |= 2;
      if (unshare(CLONE_NEWTIME) == 0) bits |= 4;
    }
    _exit(bits);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 0;
}

static int cgroup_ok(const char *ctl) {
  char path[128];
  snprintf(path, sizeof path, "/sys/fs/cgroup/%s/cgroup.procs", ctl);
  if (access(path, W_OK) != 0) return 0;
  snprintf(path, sizeof path, "/sys/fs/cgroup/%s/airlock", ctl);
  if (mkdir(path, 0700) != 0 && errno != EEXIST) return 0;
  return access(path, W_OK) == 0;
}

static void probe_once(void) {
  caps.root = geteuid() == 0;
  int ns = probe_ns();
  if (ns < 0) ns = 0;
  caps.userns = ns & 1;
  caps.netns = (ns & 3) == 3;
  caps.timens = (ns & 5) == 5;
  if (!caps.userns) setwhy(AL_MECH_USERNS, "unshare(CLONE_NEWUSER) failed");
  if (!caps.netns) setwhy(AL_MECH_NETNS, "unshare of net/mount/ipc/uts/pid/cgroup failed");
  if (!caps.timens) setwhy(AL_MECH_TIMENS, "unshare(CLONE_NEWTIME) failed");
  caps.landlock_abi = al_jail_landlock_abi();
  if (caps.landlock_abi <= 0) {
    caps.landlock_abi = 0;
    setwhy(AL_MECH_LANDLOCK, "landlock_create_ruleset: not supported or disabled");
  }
  if (caps.landlock_abi < 4) setwhy(AL_MECH_LANDLOCK_NET, "Landlock ABI < 4 (no TCP rules)");
  if (caps.landlock_abi < 6) setwhy(AL_MECH_LANDLOCK_SCOPE, "Landlock ABI < 6 (no scoping)");
  caps.seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  if (!caps.seccomp) setwhy(AL_MECH_SECCOMP, "prctl(PR_GET_SECCOMP) failed");
  caps.cgroup_memory = cgroup_ok("memory");
  caps.cgroup_pids = cgroup_ok("pids");
  if (!caps.cgroup_memory || !caps.cgroup_pids)
    setwhy(AL_MECH_CGROUP, "cgroup v1 memory/pids hierarchy not writable here");
  if (!caps.root) setwhy(AL_MECH_SCRATCH_SIZE, "mounting the sized scratch tmpfs needs root");
}

const al_jail_caps *al_jail_caps_get(void) {
  pthread_once(&caps_once, probe_once);
  return &caps;
}

int al_jail_probe(char *report, size_t n) {
  const al_jail_caps *c = al_jail_caps_get();
  int have[AL_JAIL_MECH_COUNT] = {
      c->userns, c->landlock_abi > 0, c->cgroup_memory && c->cgroup_pids, c->seccomp,
      c->netns, c->timens, c->root, c->landlock_abi >= 4, c->landlock_abi >= 6,
  };
  int missing = 0;
  size_t used = 0;
  if (report && n) report[0] = '\0';
  for (int i = 0; i < AL_JAIL_MECH_COUNT; i++) {
    if (!have[i]) missing++;
    if (!report || used >= n) continue;
    int w;
    if (i == 1 && have[i])
      w = snprintf(report + used, n - used, "%s: available (ABI %d)\n", al_mech_name(1u << i),
                   c->landlock_abi);
    else
      w = snprintf(report + used, n - used, "%s: %s%s%s%s\n", al_mech_name(1u << i),
                   have[i] ? "available" : "missing", have[i] ? "" : " (", c->why[i],
                   have[i] ? "" : ")");
    used += w > 0 ? (size_t)w : 0;
  }
  return missing;
}
