/* The jail's containment sequence, as two flat ordered step lists (nsjail's shape), and
 * al_jail_spawn, which plans a jail in the parent and starts it.
 *
 * clone3(NEWUSER|NEWPID|NEWNS|NEWNET|NEWIPC|NEWUTS) creates the jail's init; the parent
 * writes its uid/gid maps, says 'M', attaches it to its cgroups (overlapping the child's
 * mount work), says 'G', and waits for 'R' (the program was exec'd) or 'E' (a named step
 * failed, with its errno). Parent and child talk over a SOCK_SEQPACKET socketpair, one byte
 * per message except the failure and exit reports.
 *
 * Reading the two lists below is reading the jail: the init's steps build the world, the
 * program's steps take away everything it does not need, seccomp last.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "airlock/util.h"
#include "jail/jail_int.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int recv_byte(al_jail_plan *pl, char want) {
  char c = 0;
  ssize_t n;
  while ((n = recv(pl->chan, &c, 1, 0)) < 0 && errno == EINTR) {
  }
  if (n == 1 && c == want) return 0;
  errno = n == 0 ? EPIPE : EPROTO;
  return -1;
}
static int wait_mapped(al_jail_plan *pl) { return recv_byte(pl, AL_JCH_MAPPED); }
static int wait_go(al_jail_plan *pl) { return recv_byte(pl, AL_JCH_GO); }

/* After the last uid change: die with the parent, and check it is still there. */
static int parent_death(al_jail_plan *pl) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return -1;
  struct pollfd p = {.fd = pl->chan, .events = 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR))) {
    errno = EPIPE;
    return -1;
  }
  return 0;
}

/* Once in its cgroups: a cgroup namespace rooted there, and a time namespace for the
 * program (it applies to the children forked after this). */
static int late_namespaces(al_jail_plan *pl) {
  return unshare(CLONE_NEWCGROUP | (pl->use_timens ? CLONE_NEWTIME : 0));
}

const al_jail_step al_jail_init_steps[] = {
    {"fds", al_jail_fds_setup},          /* stdio to 0-2, channel to 3, close the rest */
    {"wait uid map", wait_mapped},       /* parent wrote uid_map/gid_map */
    {"open binds", al_jail_mount_open_sources}, /* still the caller's host uid */
    {"user", al_jail_user_switch},       /* become the mapped uid/gid, no groups */
    {"parent death", parent_death},      /* PDEATHSIG after the last uid change */
    {"mount", al_jail_mount_root},       /* tmpfs root, binds, /proc, pivot_root */
    {"net", al_jail_net_loopback},       /* only lo, up */
    {"uts", al_jail_uts_hostname},       /* own hostname */
    {"wait cgroup", wait_go},            /* parent attached us to our cgroups */
    {"cgroup/time ns", late_namespaces}, /* cgroup ns at our group, time ns */
    {NULL, NULL},
};

const al_jail_step al_jail_prog_steps[] = {
    {"session", al_jail_session},     /* default signals, setsid, PDEATHSIG */
    {"close fds", al_jail_fds_close}, /* only stdio */
    {"rlimits", al_jail_rlimits},     /* NOFILE FSIZE CPU CORE=0 NPROC (AS) */
    {"cwd", al_jail_chdir},
    {"caps", al_jail_caps_drop},        /* bounding, ambient, all sets empty */
    {"no_new_privs", al_jail_nnp},      /* and non-dumpable */
    {"landlock", al_jail_landlock_apply}, /* fs, tcp, scoping */
    {"seccomp", al_jail_seccomp_apply}, /* last */
    {"exec", al_jail_exec},
    {NULL, NULL},
};

int al_jail_run_steps(const al_jail_step *steps, al_jail_plan *pl) {
  for (const al_jail_step *s = steps; s->name; s++) {
    if (s->run(pl) != 0) {
      if (!pl->err_step[0]) snprintf(pl->err_step, sizeof pl->err_step, "%s", s->name);
      return -1;
    }
  }
  return 0;
}

static _Noreturn void child_main(al_jail_plan *pl) {
  int rc = al_jail_run_steps(al_jail_init_steps, pl);
  if (rc == 0) al_jail_init_main(pl); /* returns only on failure */
  al_jail_init_fail(pl, pl->err_step[0] ? pl->err_step : "init", errno);
  _exit(1);
}

/* ---- parent ------------------------------------------------------------------------ */

/* Which mechanisms this jail uses; refuses when one is missing and not allowed. */
static int decide(al_jail_plan *pl, al_error *err) {
  const al_jail_caps *c = al_jail_caps_get();
  const al_jail_policy *p = pl->pol;
  struct {
    unsigned bit;
    int have, needed;
  } need[] = {
      {AL_MECH_USERNS, c->userns, 1},
      {AL_MECH_NETNS, c->netns, 1},
      {AL_MECH_TIMENS, c->timens, 1},
      {AL_MECH_LANDLOCK, c->landlock_abi > 0, 1},
      {AL_MECH_LANDLOCK_NET, c->landlock_abi >= 4, p->landlock_tcp_deny},
      {AL_MECH_LANDLOCK_SCOPE, c->landlock_abi >= 6, 1},
      {AL_MECH_SECCOMP, c->seccomp, 1},
      {AL_MECH_CGROUP, c->cgroup_memory && c->cgroup_pids, p->memory_mb > 0 || p->pids > 0},
  };
  for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
    if (need[i].have || !need[i].needed) continue;
    if (p->allow_missing & need[i].bit) continue;
    return al_error_set(err, AL_EJAIL,
                        "jail: mechanism '%s' is missing on this machine and the policy does "
                        "not allow it (allow_missing: [%s])",
                        al_mech_name(need[i].bit), al_mech_name(need[i].bit));
  }
  if (!c->userns || !c->netns)
    return al_error_set(err, AL_EJAIL, "jail: namespaces are unavailable here; cannot jail");
  pl->use_netns = 1;
  pl->use_timens = c->timens;
  pl->landlock_abi = c->landlock_abi;
  pl->use_landlock = c->landlock_abi > 0;
  pl->use_cgroup = c->cgroup_memory && c->cgroup_pids && (p->memory_mb > 0 || p->pids > 0);
  return 0;
}

static atomic_uint jail_counter;

static int make_dirs(al_jail_plan *pl, al_error *err) {
  const char *base = "/tmp/airlock-jails";
  char b[64];
  if (geteuid() != 0) {
    snprintf(b, sizeof b, "/tmp/airlock-jails-%u", (unsigned)geteuid());
    base = b;
  }
  if (mkdir(base, 0711) != 0 && errno != EEXIST) goto fail;
  struct stat st;
  if (lstat(base, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
    errno = EPERM;
    goto fail;
  }
  snprintf(pl->jail_dir, sizeof pl->jail_dir, "%s/jail.%d-XXXXXX", base, (int)getpid());
  if (!mkdtemp(pl->jail_dir)) {
    pl->jail_dir[0] = '\0';
    goto fail;
  }
  if (snprintf(pl->root_dir, sizeof pl->root_dir, "%.400s/root", pl->jail_dir) < 0 ||
      snprintf(pl->scratch, sizeof pl->scratch, "%.400s/tmp", pl->jail_dir) < 0)
    goto fail;
  if (mkdir(pl->root_dir, 0700) != 0 || mkdir(pl->scratch, 0700) != 0) goto fail;
  if (geteuid() == 0 && (chown(pl->jail_dir, pl->host_id, pl->host_id) != 0 ||
                         chown(pl->root_dir, pl->host_id, pl->host_id) != 0 ||
                         chown(pl->scratch, pl->host_id, pl->host_id) != 0))
    goto fail;
  return 0;
fail:
  if (err) err->sys_errno = errno;
  return al_error_set(err, AL_EJAIL, "jail: creating the jail folder under %s: %s", base,
                      strerror(errno));
}

static int plan(al_jail_plan *pl, const al_jail_policy *p, char *const argv[],
                const al_jail_io *io, al_error *err) {
  int rc;
  pl->pol = p;
  pl->argv = argv;
  pl->chan = -1;
  pl->io[0] = io ? io->stdin_fd : -1;
  pl->io[1] = io ? io->stdout_fd : -1;
  pl->io[2] = io ? io->stderr_fd : -1;
  unsigned slot = (atomic_fetch_add(&jail_counter, 1) * 40503u + (unsigned)getpid() * 2654435761u);
  pl->host_id = p->host_id ? p->host_id
                           : AL_JAIL_HOST_ID_BASE + slot % AL_JAIL_HOST_ID_SLOTS;
  if (geteuid() != 0) pl->host_id = (uint32_t)geteuid();
  if ((rc = decide(pl, err))) return rc;
  al_jail_sweep_stale();
  if ((rc = make_dirs(pl, err))) return rc;
  if ((rc = al_jail_mount_scratch_host(pl, err))) return rc;
  if ((rc = al_jail_mount_plan(pl, err))) return rc;
  pl->envp = al_calloc(p->n_env + 1, sizeof *pl->envp);
  if (!pl->envp) return al_error_set(err, AL_ENOMEM, "out of memory");
  for (size_t i = 0; i < p->n_env; i++) pl->envp[i] = p->env[i];
  if (!(pl->caps_empty = cap_init())) return al_error_set(err, AL_ENOMEM, "out of memory");
  if (al_jail_caps_get()->seccomp) {
    al_jail_policy *mp = (al_jail_policy *)p; /* the filter cache is the one mutable part */
    pthread_mutex_lock(&mp->bpf_mu);
    if (!mp->bpf_ready && !(rc = al_jail_seccomp_compile(p, mp->bpf, &mp->n_bpf, err)))
      mp->bpf_ready = 1;
    pthread_mutex_unlock(&mp->bpf_mu);
    if (rc) return rc;
    memcpy(pl->bpf, p->bpf, sizeof pl->bpf);
    pl->n_bpf = p->n_bpf;
  }
  for (int s = 1; s < 64; s++) { /* ignored signals stay ignored across exec: note them */
    struct sigaction sa;
    if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) pl->sig_ignored |= 1ull << s;
  }
  return 0;
}

void al_jail_plan_release(al_jail_plan *pl) {
  al_jail_mount_close_fds(pl);
  al_jail_mount_scratch_release(pl);
  al_free(pl->mounts);
  pl->mounts = NULL;
  al_free(pl->envp);
  pl->envp = NULL;
  if (pl->caps_empty) cap_free(pl->caps_empty);
  pl->caps_empty = NULL;
  pl->n_bpf = 0; /* the filters belong to the policy */
}

static int send_byte(int fd, char c) {
  return send(fd, &c, 1, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* Wait for 'R' or 'E' from the child (bounded: a stuck setup is an error). */
static int await_ready(al_jail_proc *j, al_error *err) {
  struct pollfd p = {.fd = j->chan, .events = POLLIN};
  int n = poll(&p, 1, 10000);
  if (n <= 0)
    return al_error_set(err, AL_EJAIL, "jail: the child did not finish its setup in 10 s");
  al_jail_failmsg m;
  memset(&m, 0, sizeof m);
  ssize_t got = recv(j->chan, &m, sizeof m, 0);
  if (got == 1 && m.tag == AL_JCH_READY) return 0;
  if (got == (ssize_t)sizeof m && m.tag == AL_JCH_FAIL) {
    m.step[sizeof m.step - 1] = '\0';
    if (err) err->sys_errno = m.err;
    return al_error_set(err, AL_EJAIL, "jail: step '%s' failed: %s", m.step, strerror(m.err));
  }
  return al_error_set(err, AL_EJAIL, "jail: the child ended during its setup");
}

int al_jail_spawn(const al_jail_policy *p, char *const argv[], const al_jail_io *io,
                  al_jail_proc **out, al_error *err) {
  int rc, sv[2] = {-1, -1};
  al_jail_proc *j = NULL;
  if (!p || !argv || !argv[0] || !out) return al_error_set(err, AL_EINVAL, "jail: bad arguments");
  if (argv[0][0] != '/')
    return al_error_set(err, AL_EINVAL, "jail: the program must be an absolute path, got %s",
                        argv[0]);
  if ((rc = al_jail_policy_validate(p, err))) return rc;
  if (!(j = al_calloc(1, sizeof *j))) return al_error_set(err, AL_ENOMEM, "out of memory");
  j->pid = -1;
  j->pidfd = j->chan = -1;
  if ((rc = plan(&j->plan, p, argv, io, err))) goto out;
  if (j->plan.use_cgroup) {
    char name[64];
    snprintf(name, sizeof name, "jail-%d-%u", (int)getpid(), j->plan.host_id);
    if ((rc = al_jail_cgroup_create(p, name, &j->cg, err))) goto out;
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    rc = al_error_set(err, AL_ESYS, "jail: socketpair: %s", strerror(errno));
    goto out;
  }
  j->plan.chan = sv[1];
  int pidfd = -1;
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC |
             CLONE_NEWUTS | CLONE_PIDFD;
  ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
  ca.exit_signal = SIGCHLD;
  j->start_ns = al_now_ns();
  long pid = syscall(SYS_clone3, &ca, sizeof ca);
  if (pid == 0) child_main(&j->plan);
  if (pid < 0) {
    rc = al_error_set(err, AL_EJAIL, "jail: clone3: %s", strerror(errno));
    goto out;
  }
  j->pid = (pid_t)pid;
  j->pidfd = pidfd;
  j->chan = sv[0];
  sv[0] = -1;
  close(sv[1]);
  sv[1] = -1;
  j->cpu_s = p->cpu_s;
  if (p->wall_ms > 0) j->deadline_ns = j->start_ns + p->wall_ms * 1000000;
  if ((rc = al_jail_user_write_maps(j->pid, p->uid, p->gid, j->plan.host_id, err))) goto out;
  if (send_byte(j->chan, AL_JCH_MAPPED) ||
      (j->plan.use_cgroup && (rc = al_jail_cgroup_attach(&j->cg, j->pid, err))) ||
      send_byte(j->chan, AL_JCH_GO)) {
    if (!rc) rc = await_ready(j, err); /* the child's own failure report, if it sent one */
    if (!rc) rc = al_error_set(err, AL_EJAIL, "jail: the child ended during its setup");
    goto out;
  }
  if ((rc = await_ready(j, err))) goto out;
  *out = j;
  j = NULL;
out:
  if (sv[0] >= 0) close(sv[0]);
  if (sv[1] >= 0) close(sv[1]);
  al_jail_proc_free(j);
  return rc;
}
