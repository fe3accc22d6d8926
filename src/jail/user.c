/* User namespace: the jail's ids. The parent writes the child's uid_map and gid_map with a
 * single line each, mapping the jail's uid/gid (1000 by default) to one unprivileged host
 * id -- unique per jail when run as root (AL_JAIL_HOST_ID_BASE + slot), so jails cannot
 * signal or ptrace each other and RLIMIT_NPROC counts exactly one jail's tasks. Host root
 * (uid 0) is not mapped at all: files owned by root on read-only binds stay foreign.
 * Unprivileged callers can only map their own ids (setgroups is then denied).
 *
 * The child switches to the mapped ids (al_jail_user_switch) right after the parent says
 * the maps are written; it keeps its capabilities inside the namespace for the mount steps
 * and drops them later (caps.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/jail_int.h"

static int write_proc(pid_t pid, const char *file, const char *text, al_error *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) goto fail;
  ssize_t n = write(fd, text, strlen(text));
  int e = errno;
  close(fd);
  errno = e;
  if (n == (ssize_t)strlen(text)) return 0;
fail:
  if (err) err->sys_errno = errno;
  return al_error_set(err, AL_EJAIL, "userns: writing %s: %s", path, strerror(errno));
}

int al_jail_user_write_maps(pid_t pid, uint32_t inside_uid, uint32_t inside_gid,
                            uint32_t host_id, al_error *err) {
  char line[64];
  int rc;
  uint32_t host_uid = host_id, host_gid = host_id;
  if (geteuid() != 0) {
    host_uid = (uint32_t)geteuid();
    host_gid = (uint32_t)getegid();
    if ((rc = write_proc(pid, "setgroups", "deny", err))) return rc;
  }
  snprintf(line, sizeof line, "%u %u 1\n", inside_uid, host_uid);
  if ((rc = write_proc(pid, "uid_map", line, err))) return rc;
  snprintf(line, sizeof line, "%u %u 1\n", inside_gid, host_gid);
  return write_proc(pid, "gid_map", line, err);
}

/* Child step: become the mapped uid/gid, with no supplementary groups. */
/* Raw system calls on purpose: glibc's wrappers broadcast the change to every thread it
 * knows of, and a child cloned from a multi-threaded caller would wait for them forever. */
int al_jail_user_switch(al_jail_plan *pl) {
  const al_jail_policy *p = pl->pol;
  if (syscall(SYS_setgroups, 0, NULL) != 0 && errno != EPERM) return -1; /* EPERM: denied */
  if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) != 0) return -1;
  if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) != 0) return -1;
  return 0;
}
