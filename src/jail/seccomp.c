/* seccomp: the last wall, compiled with libseccomp in the parent and applied as the very
 * last step in the child before exec (with no_new_privs already set).
 *
 * The deny-list filter (always installed) allows everything except the families a jailed
 * model server never needs and that widen the kernel's attack surface or reach outside the
 * jail; those fail with EPERM so tests can tell seccomp from Landlock (EACCES) and the
 * network namespace (ENETUNREACH):
 *   ptrace & process_vm_*, pidfd_getfd, kcmp; mount/umount/pivot_root/chroot and the new
 *   mount API; unshare, setns and clone with any namespace flag (clone3 -> ENOSYS, so libc
 *   falls back to clone, whose flags can be checked); kexec_*, bpf, perf_event_open,
 *   keyctl/add_key/request_key, io_uring_*, userfaultfd, open_by_handle_at and
 *   name_to_handle_at, *_module, swapon/off, reboot, acct, quotactl*, syslog, clock and
 *   time setting, iopl/ioperm, fanotify_init, sethostname; TIOCSTI and TIOCLINUX ioctls
 *   (compared on the low 32 bits, as the kernel reads the command); memfd exec: memfd_create
 *   with MFD_EXEC or without MFD_NOEXEC_SEAL, and execveat with AT_EMPTY_PATH (fexecve).
 * Other architectures' system calls (32-bit int 0x80, x32) kill the process.
 *
 * In allowlist mode a second filter is stacked on the first: it fails every system call
 * not listed with EPERM. The kernel runs both and the stricter answer wins, so the dangerous
 * families stay denied even when an allowlist names them.
 *
 * The compiled programs are exported (seccomp_export_bpf) into memory owned by the plan,
 * so the child only calls prctl(): no allocation after clone().
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "airlock/util.h"
#include "jail/jail_int.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const char *const deny_always[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "unshare", "setns",
    "kexec_load", "kexec_file_load", "bpf", "perf_event_open", "keyctl", "add_key",
    "request_key", "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd",
    "open_by_handle_at", "name_to_handle_at", "init_module", "finit_module",
    "delete_module", "swapon", "swapoff", "reboot", "acct", "quotactl", "quotactl_fd",
    "lookup_dcookie", "syslog", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "uselib", "vhangup", "iopl", "ioperm", "fanotify_init", "nfsservctl",
    "sethostname", "setdomainname", "_sysctl",
};

static const unsigned long ns_flags[] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID,
                                         CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
                                         CLONE_NEWCGROUP, CLONE_NEWTIME};

int al_jail_seccomp_name_ok(const char *name) {
  return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

static int deny_name(scmp_filter_ctx ctx, const char *name) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return 0; /* not on this architecture */
  int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  return rc == -EDOM || rc == -EFAULT ? 0 : rc; /* pseudo syscall: nothing to deny */
}

static int denylist_rules(scmp_filter_ctx ctx, const al_jail_policy *p) {
  int rc = 0;
  for (size_t i = 0; !rc && i < sizeof deny_always / sizeof *deny_always; i++)
    rc = deny_name(ctx, deny_always[i]);
  for (size_t i = 0; !rc && i < p->n_sys_deny; i++) rc = deny_name(ctx, p->sys_deny[i]);
  for (size_t i = 0; !rc && i < sizeof ns_flags / sizeof *ns_flags; i++)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
  if (!rc) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (!rc)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCSTI));
  if (!rc)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCLINUX));
  if (!rc)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(memfd_create), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, MFD_EXEC, MFD_EXEC));
  if (!rc)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(memfd_create), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, MFD_NOEXEC_SEAL, 0));
  if (!rc)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execveat), 1,
                          SCMP_A4(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
  return rc;
}

static int allowlist_rules(scmp_filter_ctx ctx, const al_jail_policy *p) {
  static const char *const needed[] = {"execve", "exit", "exit_group"};
  int rc = 0;
  for (size_t i = 0; !rc && i < sizeof needed / sizeof *needed; i++)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(needed[i]), 0);
  for (size_t i = 0; !rc && i < p->n_sys_allow; i++) {
    int nr = seccomp_syscall_resolve_name(p->sys_allow[i]);
    if (nr == __NR_SCMP_ERROR) continue;
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc == -EDOM || rc == -EFAULT || rc == -EEXIST) rc = 0;
  }
  return rc;
}

/* Export ctx as BPF into memory owned by out. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *out) {
  int fd = memfd_create("al-seccomp", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = seccomp_export_bpf(ctx, fd);
  off_t size = rc ? 0 : lseek(fd, 0, SEEK_END);
  if (!rc && (size <= 0 || size % sizeof(struct sock_filter) || size > (1 << 20))) rc = -EINVAL;
  struct sock_filter *insns = rc ? NULL : al_malloc((size_t)size);
  if (!rc && !insns) rc = -ENOMEM;
  if (!rc && pread(fd, insns, (size_t)size, 0) != size) rc = -EIO;
  close(fd);
  if (rc) {
    al_free(insns);
    return rc;
  }
  out->filter = insns;
  out->len = (unsigned short)(size / sizeof(struct sock_filter));
  return 0;
}

static int build(const al_jail_policy *p, int allowlist, struct sock_fprog *out) {
  scmp_filter_ctx ctx = seccomp_init(allowlist ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_ALLOW);
  if (!ctx) return -ENOMEM;
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (!rc) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (!rc) rc = allowlist ? allowlist_rules(ctx, p) : denylist_rules(ctx, p);
  if (!rc) rc = export_bpf(ctx, out);
  seccomp_release(ctx);
  return rc;
}

int al_jail_seccomp_compile(const al_jail_policy *p, struct sock_fprog out[2], int *n,
                            al_error *err) {
  *n = 0;
  int rc = build(p, 0, &out[0]);
  if (rc) goto fail;
  *n = 1;
  if (p->seccomp_mode == AL_SECCOMP_ALLOWLIST) {
    if ((rc = build(p, 1, &out[1]))) goto fail;
    *n = 2;
  }
  return 0;
fail:
  al_jail_seccomp_release(out, *n);
  *n = 0;
  return al_error_set(err, AL_EJAIL, "seccomp: compiling the filter: %s", strerror(-rc));
}

void al_jail_seccomp_release(struct sock_fprog *f, int n) {
  for (int i = 0; i < n; i++) {
    al_free(f[i].filter);
    f[i].filter = NULL;
    f[i].len = 0;
  }
}

/* Child step, the last before exec. */
int al_jail_seccomp_apply(al_jail_plan *pl) {
  for (int i = 0; i < pl->n_bpf; i++)
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &pl->bpf[i], 0, 0) != 0) return -1;
  return 0;
}
