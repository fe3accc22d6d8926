/* Internals of the jail shared by its mechanism files (one file per mechanism, nsjail's
 * shape) and jail.c, which holds the ordered step list.
 *
 * Everything the child needs is computed in the parent before clone(): paths, the
 * environment array, the compiled seccomp BPF program, the capability state. The child
 * (the jail's init and the program it forks) then only makes system calls: no allocation,
 * so a multi-threaded caller cannot leave it holding a malloc lock.
 */
#ifndef AL_JAIL_INT_H
#define AL_JAIL_INT_H

#include <linux/filter.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "airlock/error.h"
#include "airlock/jail.h"
#include "jail/limits.h"

/* Mechanisms a policy may allow to be missing (allow_missing: [...]). */
enum {
  AL_MECH_USERNS = 1 << 0,
  AL_MECH_LANDLOCK = 1 << 1,
  AL_MECH_CGROUP = 1 << 2,
  AL_MECH_SECCOMP = 1 << 3,
  AL_MECH_NETNS = 1 << 4,
  AL_MECH_TIMENS = 1 << 5,
  AL_MECH_SCRATCH_SIZE = 1 << 6, /* size-limited tmpfs scratch (needs host root) */
  AL_MECH_LANDLOCK_NET = 1 << 7, /* Landlock TCP rules (ABI >= 4) */
  AL_MECH_LANDLOCK_SCOPE = 1 << 8, /* Landlock signal/abstract-socket scoping (ABI >= 6) */
};
const char *al_mech_name(unsigned bit);
unsigned al_mech_from_name(const char *name);

typedef struct al_jail_bind {
  char *host;
  char *inside;
  int writable;
  int optional; /* system binds: skip when missing on the host */
} al_jail_bind;

enum { AL_SECCOMP_DENYLIST = 0, AL_SECCOMP_ALLOWLIST = 1, AL_SECCOMP_OFF = 2 };

struct al_jail_policy {
  char *hostname;
  char *cwd;
  uint32_t uid, gid;        /* ids inside the jail */
  uint32_t host_id;         /* host uid/gid the jail maps to; 0 = unique per jail */
  int system_binds;         /* /usr, /lib*, /bin, /sbin, a few /etc files */
  size_t n_binds;
  al_jail_bind *binds;
  size_t n_env;
  char **env;               /* "NAME=value" */
  int64_t scratch_mb;       /* size of the jail's /tmp */
  int64_t wall_ms, cpu_s, memory_mb, pids, nofile, fsize_mb, as_mb;
  int landlock_tcp_deny;    /* deny all TCP bind/connect with Landlock */
  int seccomp_mode;
  size_t n_sys_deny, n_sys_allow;
  char **sys_deny, **sys_allow;
  unsigned allow_missing;   /* AL_MECH_* bits */
  /* compiled seccomp filters, built at the first spawn and reused (policy is immutable
   * from then on as far as seccomp is concerned) */
  pthread_mutex_t bpf_mu;
  int bpf_ready, n_bpf;
  struct sock_fprog bpf[2];
};

/* policy.c */
int al_jail_policy_validate(const al_jail_policy *p, al_error *err);

/* What the machine offers (probe.c), computed once per process. */
typedef struct al_jail_caps {
  int userns, netns, timens, cgroup_memory, cgroup_pids, seccomp, root;
  int landlock_abi; /* 0: none */
  char why[AL_MECH_COUNT][96];
} al_jail_caps;
const al_jail_caps *al_jail_caps_get(void);

/* The child's plan, built by the parent (jail.c) before clone. */
enum { AL_JM_BIND = 0, AL_JM_DIR = 1, AL_JM_LINK = 2, AL_JM_FILE = 3, AL_JM_PROC = 4 };
typedef struct al_jail_mount {
  int kind;
  int writable, is_dir, dev; /* dev: a device node bind (no nodev) */
  int fd;                     /* BIND, in the child: O_PATH fd of src, or -1 */
  char src[AL_JAIL_PATH_MAX]; /* BIND: host path; LINK: link target */
  char dst[AL_JAIL_PATH_MAX]; /* absolute path inside the jail */
  const char *content;        /* FILE: synthetic contents */
} al_jail_mount;

typedef struct al_jail_plan {
  const al_jail_policy *pol;
  char jail_dir[AL_JAIL_PATH_MAX];  /* private host folder of this jail */
  char root_dir[AL_JAIL_PATH_MAX];  /* jail_dir/root: mount point of the new root */
  char scratch[AL_JAIL_PATH_MAX];   /* jail_dir/tmp: the jail's /tmp */
  size_t n_mounts;
  al_jail_mount *mounts;
  uint32_t host_id;
  char *const *argv;
  char **envp;
  int io[3];
  int chan;                         /* child's end of the socketpair */
  int prog_errno;                   /* program -> init (shared memory until exec) */
  struct sock_fprog bpf[2];         /* compiled seccomp filters (borrowed from the policy) */
  int n_bpf;
  uint64_t sig_ignored;             /* signals the caller ignores: reset before exec */
  int use_landlock, landlock_abi, use_netns, use_timens;
  int use_cgroup;
  int scratch_mounted;
  void *caps_empty;                 /* cap_t from cap_init(), prepared in the parent */
  char etc_passwd[192], etc_group[96];
  char err_step[32];
} al_jail_plan;

/* One containment step: returns 0, or -1 with errno set. Steps run in the child. */
typedef struct al_jail_step {
  const char *name;
  int (*run)(al_jail_plan *pl);
} al_jail_step;

/* user.c */
int al_jail_user_write_maps(pid_t pid, uint32_t inside_uid, uint32_t inside_gid,
                            uint32_t host_id, al_error *err);
int al_jail_user_switch(al_jail_plan *pl);
/* mount.c */
int al_jail_mount_plan(al_jail_plan *pl, al_error *err);
int al_jail_mount_root(al_jail_plan *pl);
int al_jail_mount_scratch_host(al_jail_plan *pl, al_error *err); /* parent side */
void al_jail_mount_scratch_release(al_jail_plan *pl);
void al_jail_mount_close_fds(al_jail_plan *pl);
int al_jail_mount_open_sources(al_jail_plan *pl);
/* net.c */
int al_jail_net_loopback(al_jail_plan *pl);
/* uts.c */
int al_jail_uts_hostname(al_jail_plan *pl);
/* landlock.c */
int al_jail_landlock_abi(void);
int al_jail_landlock_apply(al_jail_plan *pl);
/* sweep.c */
void al_jail_sweep_stale(void);
/* cgroup.c */
typedef struct al_jail_cgroup {
  char mem[AL_JAIL_PATH_MAX], pids[AL_JAIL_PATH_MAX];
  int have_mem, have_pids;
} al_jail_cgroup;
int al_jail_cgroup_create(const al_jail_policy *p, const char *name, al_jail_cgroup *cg,
                          al_error *err);
int al_jail_cgroup_attach(al_jail_cgroup *cg, pid_t pid, al_error *err);
void al_jail_cgroup_read(const al_jail_cgroup *cg, int *oom_kills, int *pids_max_hits);
void al_jail_cgroup_remove(al_jail_cgroup *cg);
/* rlimit.c */
int al_jail_rlimits(al_jail_plan *pl);
/* caps.c */
int al_jail_caps_drop(al_jail_plan *pl);
int al_jail_nnp(al_jail_plan *pl);
/* seccomp.c */
int al_jail_seccomp_compile(const al_jail_policy *p, struct sock_fprog out[2], int *n,
                            al_error *err);
void al_jail_seccomp_release(struct sock_fprog *f, int n);
int al_jail_seccomp_name_ok(const char *name);
int al_jail_seccomp_apply(al_jail_plan *pl);
/* pid.c: the jail's init */
int al_jail_init_main(al_jail_plan *pl);
/* exec.c: the program's own steps */
int al_jail_fds_setup(al_jail_plan *pl);
int al_jail_fds_close(al_jail_plan *pl);
int al_jail_session(al_jail_plan *pl);
int al_jail_exec(al_jail_plan *pl);
int al_jail_chdir(al_jail_plan *pl);
void al_jail_init_fail(al_jail_plan *pl, const char *step, int err);
/* jail.c: the step lists */
extern const al_jail_step al_jail_init_steps[];
extern const al_jail_step al_jail_prog_steps[];
int al_jail_run_steps(const al_jail_step *steps, al_jail_plan *pl);

/* A running (or ended) jail, owned by the caller (proc.c). */
struct al_jail_proc {
  pid_t pid;       /* the jail's init, host pid */
  int pidfd;
  int chan;        /* parent's end of the socketpair */
  int64_t start_ns, deadline_ns; /* deadline 0: no wall limit */
  int64_t cpu_s;
  int done, wall_hit;
  al_jail_outcome outcome;
  al_jail_cgroup cg;
  al_jail_plan plan; /* for cleanup: scratch and jail folder */
};
int al_jail_reap(al_jail_proc *j, int status, const struct rusage *ru);

/* Channel bytes (one byte each; parent <-> init). */
#define AL_JCH_MAPPED 'M' /* parent: uid/gid maps written */
#define AL_JCH_GO 'G'     /* parent: cgroups attached, start the program */
#define AL_JCH_READY 'R'  /* init: the program was exec'd */
#define AL_JCH_FAIL 'E'   /* init: a step failed: 'E' + al_jail_failmsg */
#define AL_JCH_EXIT 'X'   /* init: the program ended: 'X' + al_jail_exitmsg */

typedef struct al_jail_failmsg {
  char tag;
  char step[32];
  int err;
} al_jail_failmsg;

typedef struct al_jail_exitmsg {
  char tag;
  int status;
  int64_t utime_us, stime_us, maxrss_kb;
} al_jail_exitmsg;

#endif
