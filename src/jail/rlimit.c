/* Resource limits, set in the program's process right before exec and inherited by all it
 * forks: NOFILE, FSIZE (SIGXFSZ past it), CPU (SIGXCPU at the limit, SIGKILL one second
 * later), CORE = 0 always, NPROC = the pids limit (each jail has its own user namespace, so
 * the count is per jail; the pids cgroup is the main fence, so NPROC sits 8 above it), and AS only when the policy
 * asks (llama.cpp mmaps the whole model, so an address-space limit breaks it; the memory
 * cgroup limits what is really used).
 */
#include <sys/resource.h>

#include "jail/jail_int.h"

static int set(int res, rlim_t soft, rlim_t hard) {
  struct rlimit r = {soft, hard};
  return setrlimit(res, &r);
}

int al_jail_rlimits(al_jail_plan *pl) {
  const al_jail_policy *p = pl->pol;
  if (set(RLIMIT_CORE, 0, 0)) return -1;
  if (p->nofile > 0 && set(RLIMIT_NOFILE, (rlim_t)p->nofile, (rlim_t)p->nofile)) return -1;
  if (p->fsize_mb > 0) {
    rlim_t b = (rlim_t)p->fsize_mb << 20;
    if (set(RLIMIT_FSIZE, b, b)) return -1;
  }
  if (p->cpu_s > 0 && set(RLIMIT_CPU, (rlim_t)p->cpu_s, (rlim_t)p->cpu_s + 1)) return -1;
  if (p->pids > 0) { /* a backstop a little above the pids cgroup, which should fire first */
    rlim_t n = (rlim_t)p->pids + (pl->use_cgroup ? 8 : 0);
    if (set(RLIMIT_NPROC, n, n)) return -1;
  }
  if (p->as_mb > 0) {
    rlim_t b = (rlim_t)p->as_mb << 20;
    if (set(RLIMIT_AS, b, b)) return -1;
  }
  return 0;
}
