/* File descriptors, session and exec: the steps that bracket the program's own setup.
 *
 * The jail's init first moves the caller's three stdio fds to 0, 1, 2 (or /dev/null for
 * -1), its channel to fd 3, and closes every other inherited descriptor with close_range()
 * -- a caller's other jails, sockets and files never cross into the jail. The program
 * then closes the channel and the init's signalfd too. setsid() puts the program in its
 * own session with no controlling terminal (with the seccomp rule on TIOCSTI, no input can
 * be pushed into a terminal). The environment is exactly the policy's list.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/jail_int.h"

#define AL_CLOSE_RANGE_ALL (~0U)

static int closefrom_except(int lo, int keep) {
  if (keep >= lo) {
    if (keep > lo && syscall(SYS_close_range, lo, keep - 1, 0) != 0) return -1;
    return (int)syscall(SYS_close_range, keep + 1, AL_CLOSE_RANGE_ALL, 0);
  }
  return (int)syscall(SYS_close_range, lo, AL_CLOSE_RANGE_ALL, 0);
}

/* Init step: stdio to 0..2, channel to 3, nothing else. */
int al_jail_fds_setup(al_jail_plan *pl) {
  int tmp[4];
  for (int i = 0; i < 3; i++) {
    int src = pl->io[i];
    if (src < 0) src = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
    if (src < 0) return -1;
    /* park above the range we are about to fill so no source is overwritten */
    if ((tmp[i] = fcntl(src, F_DUPFD_CLOEXEC, 10)) < 0) return -1;
  }
  if ((tmp[3] = fcntl(pl->chan, F_DUPFD_CLOEXEC, 10)) < 0) return -1;
  for (int i = 0; i < 3; i++)
    if (dup2(tmp[i], i) != i) return -1; /* dup2 clears close-on-exec */
  if (dup3(tmp[3], 3, O_CLOEXEC) != 3) return -1;
  pl->chan = 3;
  return closefrom_except(4, -1);
}

/* Program step: only stdio remains. */
int al_jail_fds_close(al_jail_plan *pl) {
  (void)pl;
  return closefrom_except(3, -1);
}

int al_jail_session(al_jail_plan *pl) {
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < 64; s++) /* the caller's ignored signals stop here */
    if (pl->sig_ignored & (1ull << s)) signal(s, SIG_DFL);
  if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) return -1;
  if (setsid() < 0) return -1;
  /* after the last uid change (none follow in the program): die with the jail's init */
  return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

int al_jail_chdir(al_jail_plan *pl) {
  return chdir(pl->pol->cwd);
}

/* The end of the program's step list. Returns only on failure. */
int al_jail_exec(al_jail_plan *pl) {
  execve(pl->argv[0], pl->argv, pl->envp);
  return -1;
}
