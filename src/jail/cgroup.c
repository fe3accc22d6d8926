/* cgroup v1 memory and pids limits (this machine mounts v2 in hybrid mode with no
 * controllers delegated, so v1 is where the limits are).
 *
 * Each jail gets its own group under /sys/fs/cgroup/{memory,pids}/airlock/. The parent
 * creates and configures the groups before clone() and attaches the jail's init while the
 * child is building its root, so the cost of the attach (the cgroup threadgroup lock; a few
 * ms when cold) overlaps the mount work instead of adding to it: the child waits for the
 * "go" byte only right before it forks the program. Everything the init forks inherits the
 * groups. After the jail ends the parent reads memory.oom_control (oom_kill) and
 * pids.events (max) to say which limit was hit, then removes the groups.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jail/jail_int.h"

static int put(const char *dir, const char *file, const char *val) {
  char path[AL_JAIL_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, val, strlen(val));
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)strlen(val) ? 0 : -1;
}

static long long get_field(const char *dir, const char *file, const char *field) {
  char path[AL_JAIL_PATH_MAX + 64], buf[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  size_t fl = strlen(field);
  for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (!strncmp(line, field, fl) && line[fl] == ' ') return atoll(line + fl + 1);
  return 0;
}

int al_jail_cgroup_create(const al_jail_policy *p, const char *name, al_jail_cgroup *cg,
                          al_error *err) {
  char val[32];
  memset(cg, 0, sizeof *cg);
  if (p->memory_mb > 0) {
    snprintf(cg->mem, sizeof cg->mem, "/sys/fs/cgroup/memory/airlock/%s", name);
    if (mkdir(cg->mem, 0700) != 0) goto fail_mem;
    cg->have_mem = 1;
    snprintf(val, sizeof val, "%lld", (long long)p->memory_mb << 20);
    if (put(cg->mem, "memory.limit_in_bytes", val) != 0) goto fail_mem;
    put(cg->mem, "memory.memsw.limit_in_bytes", val); /* absent without swap accounting */
  }
  if (p->pids > 0) {
    snprintf(cg->pids, sizeof cg->pids, "/sys/fs/cgroup/pids/airlock/%s", name);
    if (mkdir(cg->pids, 0700) != 0) goto fail_pids;
    cg->have_pids = 1;
    snprintf(val, sizeof val, "%lld", (long long)p->pids);
    if (put(cg->pids, "pids.max", val) != 0) goto fail_pids;
  }
  return 0;
fail_mem:
  if (err) err->sys_errno = errno;
  al_error_set(err, AL_EJAIL, "cgroup: memory group %s: %s", cg->mem, strerror(errno));
  al_jail_cgroup_remove(cg);
  return AL_EJAIL;
fail_pids:
  if (err) err->sys_errno = errno;
  al_error_set(err, AL_EJAIL, "cgroup: pids group %s: %s", cg->pids, strerror(errno));
  al_jail_cgroup_remove(cg);
  return AL_EJAIL;
}

int al_jail_cgroup_attach(al_jail_cgroup *cg, pid_t pid, al_error *err) {
  char val[24];
  snprintf(val, sizeof val, "%d", (int)pid);
  if (cg->have_pids && put(cg->pids, "cgroup.procs", val) != 0)
    return al_error_set(err, AL_EJAIL, "cgroup: attaching to %s: %s", cg->pids, strerror(errno));
  if (cg->have_mem && put(cg->mem, "cgroup.procs", val) != 0)
    return al_error_set(err, AL_EJAIL, "cgroup: attaching to %s: %s", cg->mem, strerror(errno));
  return 0;
}

void al_jail_cgroup_read(const al_jail_cgroup *cg, int *oom_kills, int *pids_max_hits) {
  *oom_kills = cg->have_mem ? (int)get_field(cg->mem, "memory.oom_control", "oom_kill") : 0;
  *pids_max_hits = cg->have_pids ? (int)get_field(cg->pids, "pids.events", "max") : 0;
}

static void rmdir_retry(const char *dir) {
  for (int i = 0; i < 200; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) return;
    struct timespec ts = {0, 1000000}; /* the last tasks are still being reaped */
    nanosleep(&ts, NULL);
  }
}

void al_jail_cgroup_remove(al_jail_cgroup *cg) {
  if (!cg) return;
  if (cg->have_mem) rmdir_retry(cg->mem);
  if (cg->have_pids) rmdir_retry(cg->pids);
  cg->have_mem = cg->have_pids = 0;
}
