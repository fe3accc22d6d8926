/* A running jail seen from the parent: waiting (with the wall-clock limit enforced here),
 * signalling, the outcome and its JSON form, and cleanup.
 *
 * The init reports the program's wait status and resource usage ('X') just before it
 * exits; when it cannot (the whole jail was killed: wall limit, al_jail_kill(SIGKILL), or
 * the OOM killer chose the init) the init's own status stands. Which limit was hit is
 * decided from evidence, most specific first: the parent's wall deadline, the memory
 * cgroup's oom_kill count, SIGXCPU or CPU time at the limit, SIGXFSZ, the pids cgroup's
 * max count.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "airlock/util.h"
#include "jail/jail_int.h"

void al_jail_plan_release(al_jail_plan *pl);

pid_t al_jail_pid(const al_jail_proc *j) { return j ? j->pid : -1; }
const char *al_jail_scratch(const al_jail_proc *j) { return j ? j->plan.scratch : NULL; }
int al_jail_fd(const al_jail_proc *j) { return j ? j->pidfd : -1; }

int64_t al_jail_wall_left_ms(const al_jail_proc *j) {
  if (!j || !j->deadline_ns || j->done) return -1;
  int64_t left = (j->deadline_ns - al_now_ns()) / 1000000;
  return left < 0 ? 0 : left;
}

static int send_sig(al_jail_proc *j, int sig) {
  if (syscall(SYS_pidfd_send_signal, j->pidfd, sig, NULL, 0) == 0) return 0;
  return errno == ESRCH ? 0 : AL_ESYS;
}

int al_jail_kill(al_jail_proc *j, int sig) {
  if (!j || sig <= 0 || sig >= NSIG) return AL_EINVAL;
  if (j->done || j->pidfd < 0) return 0;
  return send_sig(j, sig); /* SIGKILL ends the init and so the namespace */
}

static void decide_limit(al_jail_proc *j, const al_jail_exitmsg *x, int have_x) {
  al_jail_outcome *o = &j->outcome;
  int oom = 0, pids_hits = 0;
  al_jail_cgroup_read(&j->cg, &oom, &pids_hits);
  int64_t cpu_us = have_x ? x->utime_us + x->stime_us : 0;
  if (j->wall_hit) o->limit = "wall";
  else if (oom > 0) o->limit = "memory", o->oom_killed = 1;
  else if (o->signaled && o->signal == SIGXCPU) o->limit = "cpu";
  else if (o->signaled && o->signal == SIGKILL && j->cpu_s > 0 && cpu_us >= j->cpu_s * 1000000)
    o->limit = "cpu";
  else if (o->signaled && o->signal == SIGXFSZ) o->limit = "fsize";
  else if (pids_hits > 0) o->limit = "pids";
}

int al_jail_reap(al_jail_proc *j, int status, const struct rusage *ru) {
  al_jail_outcome *o = &j->outcome;
  al_jail_exitmsg x;
  memset(&x, 0, sizeof x);
  ssize_t n = recv(j->chan, &x, sizeof x, MSG_DONTWAIT);
  int have_x = n == (ssize_t)sizeof x && x.tag == AL_JCH_EXIT;
  int st = have_x ? x.status : status;
  memset(o, 0, sizeof *o);
  o->wall_ns = al_now_ns() - j->start_ns;
  o->max_rss_kb = ru->ru_maxrss;
  if (have_x && x.maxrss_kb > o->max_rss_kb) o->max_rss_kb = x.maxrss_kb;
  if (WIFEXITED(st)) {
    o->exited = 1;
    o->exit_code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    o->signaled = 1;
    o->signal = WTERMSIG(st);
  }
  decide_limit(j, &x, have_x);
  if (o->exited)
    snprintf(o->detail, sizeof o->detail, "exited with code %d%s%s", o->exit_code,
             o->limit ? "; limit hit: " : "", o->limit ? o->limit : "");
  else
    snprintf(o->detail, sizeof o->detail, "killed by signal %d (%s)%s%s%s", o->signal,
             strsignal(o->signal), o->limit ? "; limit hit: " : "", o->limit ? o->limit : "",
             o->oom_killed ? " (OOM kill)" : "");
  j->done = 1;
  al_jail_cgroup_remove(&j->cg);
  return 1;
}

int al_jail_wait(al_jail_proc *j, int nohang, al_jail_outcome *out) {
  if (!j) return AL_EINVAL;
  while (!j->done) {
    int timeout = nohang ? 0 : -1;
    if (j->deadline_ns && !j->wall_hit) {
      int64_t left = (j->deadline_ns - al_now_ns()) / 1000000 + 1;
      if (left <= 0) {
        j->wall_hit = 1;
        send_sig(j, SIGKILL);
        timeout = -1; /* the jail ends promptly now */
      } else if (!nohang) {
        timeout = left > 1000000 ? 1000000 : (int)left;
      }
    }
    struct pollfd p = {.fd = j->pidfd, .events = POLLIN};
    int n = poll(&p, 1, timeout);
    if (n < 0 && errno != EINTR) return AL_ESYS;
    if (n <= 0) {
      if (nohang && !(j->deadline_ns && al_now_ns() >= j->deadline_ns)) return 0;
      continue;
    }
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    pid_t w = wait4(j->pid, &st, WNOHANG, &ru);
    if (w == 0) continue;
    if (w < 0) return AL_ESYS;
    al_jail_reap(j, st, &ru);
  }
  if (out) *out = j->outcome;
  return 1;
}

void al_jail_proc_free(al_jail_proc *j) {
  if (!j) return;
  if (j->pid > 0 && !j->done) {
    send_sig(j, SIGKILL);
    int st;
    struct rusage ru;
    while (wait4(j->pid, &st, 0, &ru) < 0 && errno == EINTR) {
    }
    j->done = 1;
  }
  al_jail_cgroup_remove(&j->cg);
  if (j->pidfd >= 0) close(j->pidfd);
  if (j->chan >= 0) close(j->chan);
  al_jail_plan_release(&j->plan);
  al_free(j);
}

int al_jail_outcome_json(const al_jail_outcome *o, char *buf, size_t n) {
  if (!o || !buf) return AL_EINVAL;
  json_t *obj = json_pack("{s:b,s:i,s:b,s:i,s:b,s:s?,s:I,s:I,s:s}", "exited", o->exited,
                          "exit_code", o->exit_code, "signaled", o->signaled, "signal",
                          o->signal, "oom_killed", o->oom_killed, "limit", o->limit,
                          "wall_ns", (json_int_t)o->wall_ns, "max_rss_kb",
                          (json_int_t)o->max_rss_kb, "detail", o->detail);
  if (!obj) return AL_ENOMEM;
  if (!o->limit) json_object_set_new(obj, "limit", json_null());
  size_t need = json_dumpb(obj, NULL, 0, JSON_COMPACT);
  int rc = AL_ELIMIT;
  if (need + 1 <= n) {
    json_dumpb(obj, buf, n, JSON_COMPACT);
    buf[need] = '\0';
    rc = (int)need;
  }
  json_decref(obj);
  return rc;
}
