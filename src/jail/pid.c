/* PID namespace: the jail's init (pid 1 inside) and its reaper loop.
 *
 * The process created by clone() is pid 1 of the new pid namespace. After its own steps
 * (jail.c) it forks the program, which runs the program's steps and exec()s. The init then
 *  - tells the parent whether the exec succeeded (the program shares the init's memory
 *    until exec, vfork-style, and leaves its errno and failed step there otherwise),
 *  - drops its own capabilities, sets no_new_privs and stays non-dumpable,
 *  - reaps every orphan re-parented to it (so no zombie piles up),
 *  - forwards the signals the parent sends it (TERM, INT, HUP, QUIT, USR1, USR2, ALRM,
 *    WINCH, CONT) to the program,
 *  - watches its channel to the parent: a hang-up means the parent is gone, so the jail
 *    ends (PDEATHSIG SIGKILL is set too, after the last uid change),
 *  - when the program ends, sends its wait status and resource usage ('X') and exits; the
 *    kernel then kills whatever is left in the namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail/jail_int.h"

static const int forwarded[] = {SIGTERM, SIGINT,  SIGHUP,   SIGQUIT, SIGUSR1,
                                SIGUSR2, SIGALRM, SIGWINCH, SIGCONT};

static void send_fail(int chan, const char *step, int err) {
  al_jail_failmsg m;
  memset(&m, 0, sizeof m);
  m.tag = AL_JCH_FAIL;
  size_t n = strlen(step);
  if (n >= sizeof m.step) n = sizeof m.step - 1;
  memcpy(m.step, step, n);
  m.err = err;
  (void)!send(chan, &m, sizeof m, MSG_NOSIGNAL);
}

void al_jail_init_fail(al_jail_plan *pl, const char *step, int err) {
  send_fail(pl->chan, pl->err_step[0] ? pl->err_step : step, err);
}

static int64_t tv_us(struct timeval tv) { return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec; }

static void report_exit(int chan, int status, const struct rusage *ru) {
  al_jail_exitmsg m;
  memset(&m, 0, sizeof m);
  m.tag = AL_JCH_EXIT;
  m.status = status;
  m.utime_us = tv_us(ru->ru_utime);
  m.stime_us = tv_us(ru->ru_stime);
  m.maxrss_kb = ru->ru_maxrss;
  (void)!send(chan, &m, sizeof m, MSG_NOSIGNAL);
}

/* The program's process: its step list, then exec. It shares the init's memory until exec
 * (CLONE_VM | CLONE_VFORK, posix_spawn's shape: no page-table copy, and the init resumes
 * exactly when the exec succeeded or the program gave up), so a failure is reported by
 * writing the plan and exiting. */
static int program(void *arg) {
  al_jail_plan *pl = arg;
  al_jail_run_steps(al_jail_prog_steps, pl); /* returns only on failure */
  pl->prog_errno = errno ? errno : EINVAL;
  _exit(127);
}

int al_jail_init_main(al_jail_plan *pl) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    sigaddset(&mask, forwarded[i]);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) return -1;
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return -1;
  size_t stack_size = 256 * 1024;
  void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -1;
  pl->prog_errno = 0;
  pl->err_step[0] = '\0';
  /* glibc's clone() wrapper runs no atfork handlers and takes no locks */
  pid_t prog = clone(program, (char *)stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, pl);
  if (prog < 0) return -1;
  munmap(stack, stack_size); /* the program has exec'd or exited: its stack is free */
  if (pl->prog_errno) {
    send_fail(pl->chan, pl->err_step[0] ? pl->err_step : "exec", pl->prog_errno);
    _exit(1);
  }
  char ready = AL_JCH_READY;
  if (send(pl->chan, &ready, 1, MSG_NOSIGNAL) != 1) _exit(1);
  /* The init keeps nothing it does not need. */
  if (al_jail_caps_drop(pl) != 0 || al_jail_nnp(pl) != 0) _exit(1);

  struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = pl->chan, .events = POLLIN}};
  for (;;) {
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (pfd[1].revents) { /* the parent hung up (or wrote out of turn): end the jail */
      char c;
      if (pfd[1].revents & (POLLHUP | POLLERR) || recv(pl->chan, &c, 1, MSG_DONTWAIT) <= 0) {
        kill(-1, SIGKILL);
        _exit(1);
      }
    }
    if (!(pfd[0].revents & POLLIN)) continue;
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
      if ((int)si.ssi_signo != SIGCHLD) kill(prog, (int)si.ssi_signo);
    }
    for (;;) {
      int st;
      struct rusage ru;
      pid_t w = wait4(-1, &st, WNOHANG, &ru);
      if (w <= 0) break;
      if (w == prog) {
        struct rusage all;
        getrusage(RUSAGE_CHILDREN, &all);
        if (all.ru_maxrss > ru.ru_maxrss) ru.ru_maxrss = all.ru_maxrss;
        report_exit(pl->chan, st, &ru);
        _exit(0);
      }
    }
  }
}
