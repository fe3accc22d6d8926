/* Leftovers of jails whose supervisor died without freeing them (SIGKILL, crash): the
 * host-side scratch tmpfs stays mounted and the cgroups stay behind. Every jail folder and
 * cgroup carries its supervisor's pid in its name (jail.<pid>-XXXXXX, jail-<pid>-<id>);
 * the first spawn in a process sweeps those whose supervisor no longer exists. A reused
 * pid only delays the sweep, it never removes a live jail's state.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "jail/jail_int.h"

static int owner_dead(const char *name, const char *prefix) {
  size_t pl = strlen(prefix);
  if (strncmp(name, prefix, pl)) return 0;
  char *end = NULL;
  long pid = strtol(name + pl, &end, 10);
  if (pid <= 0 || !end || *end != '-') return 0;
  return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void sweep_dir(const char *base, const char *prefix, int jail_dirs) {
  DIR *d = opendir(base);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!owner_dead(e->d_name, prefix)) continue;
    char path[AL_JAIL_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", base, e->d_name) >= (int)sizeof path) continue;
    if (jail_dirs) {
      al_jail_plan pl;
      memset(&pl, 0, sizeof pl);
      snprintf(pl.jail_dir, sizeof pl.jail_dir, "%s", path);
      snprintf(pl.scratch, sizeof pl.scratch, "%.400s/tmp", path);
      pl.scratch_mounted = geteuid() == 0;
      al_jail_mount_scratch_release(&pl);
    } else {
      rmdir(path);
    }
  }
  closedir(d);
}

static void sweep(void) {
  char base[64];
  if (geteuid() == 0) snprintf(base, sizeof base, "/tmp/airlock-jails");
  else snprintf(base, sizeof base, "/tmp/airlock-jails-%u", (unsigned)geteuid());
  sweep_dir(base, "jail.", 1);
  sweep_dir("/sys/fs/cgroup/memory/airlock", "jail-", 0);
  sweep_dir("/sys/fs/cgroup/pids/airlock", "jail-", 0);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

void al_jail_sweep_stale(void) { pthread_once(&once, sweep); }
