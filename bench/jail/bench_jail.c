/* bench_jail: start-up cost of running /bin/true, N times each (default 200), as
 *   fork+exec      plain fork + execve + waitpid (the floor)
 *   bwrap          bwrap --unshare-all --die-with-parent with read-only /usr, /lib*, /bin
 *                  binds, a tmpfs /tmp, /proc and /dev, then waitpid
 *   airlock        al_jail_spawn + al_jail_wait with the default policy (all namespaces,
 *                  Landlock, seccomp, cgroup v1 memory+pids, scratch tmpfs)
 *   airlock-nocg   the same without cgroup limits (memory_mb: 0, pids: 0)
 * For the jail it reports both start-to-exec (al_jail_spawn returns once the program was
 * exec'd) and start-to-exit. Prints median and p99 wall time in ms, one line per variant,
 * and the mean CPU time (user+sys of this process and its children) per run, which a
 * busy machine inflates much less than wall time.
 * usage: bench_jail [N]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "airlock/jail.h"
#include "airlock/util.h"

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *name, int64_t *ns, int n, int64_t cpu) {
  qsort(ns, (size_t)n, sizeof *ns, cmp);
  int p99 = (int)(n * 0.99);
  if (p99 >= n) p99 = n - 1;
  printf("%-28s median %6.2f ms   p99 %6.2f ms", name, ns[n / 2] / 1e6, ns[p99] / 1e6);
  if (cpu >= 0) printf("   cpu %5.2f ms/run", cpu / 1e6 / n);
  printf("   (n=%d)\n", n);
}

/* CPU time (user+sys) of this process and its reaped children, ns: a measure of cost
 * that a busy machine does not inflate the way it inflates wall time. */
static int64_t cpu_ns(void) {
  struct rusage a, b;
  getrusage(RUSAGE_SELF, &a);
  getrusage(RUSAGE_CHILDREN, &b);
  int64_t us = 0;
  us += a.ru_utime.tv_sec * 1000000LL + a.ru_utime.tv_usec + a.ru_stime.tv_sec * 1000000LL + a.ru_stime.tv_usec;
  us += b.ru_utime.tv_sec * 1000000LL + b.ru_utime.tv_usec + b.ru_stime.tv_sec * 1000000LL + b.ru_stime.tv_usec;
  return us * 1000;
}
static int64_t cpu_total[6];

static int64_t run_exec(char *const argv[]) {
  int64_t t0 = al_now_ns();
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(argv[0], argv);
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
  return al_now_ns() - t0;
}

static int run_jail(al_jail_policy *p, int64_t *to_exec, int64_t *to_exit) {
  char *argv[] = {"/bin/true", NULL};
  al_jail_proc *j = NULL;
  al_error e;
  int64_t t0 = al_now_ns();
  if (al_jail_spawn(p, argv, NULL, &j, &e)) {
    fprintf(stderr, "spawn: %s\n", e.msg);
    return -1;
  }
  *to_exec = al_now_ns() - t0;
  al_jail_outcome o;
  al_jail_wait(j, 0, &o);
  *to_exit = al_now_ns() - t0;
  al_jail_proc_free(j);
  return o.exited && o.exit_code == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  if (n < 1) n = 200;
  /* the variants run interleaved, one round at a time, so a busy machine weighs on all */
  int64_t *t[6];
  for (int k = 0; k < 6; k++) t[k] = calloc((size_t)n, sizeof **t);
  char *plain[] = {"/bin/true", NULL};
  char *bwrap[] = {"/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr",
                   "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                   "--symlink", "usr/bin", "/bin", "--tmpfs", "/tmp", "--proc", "/proc",
                   "--dev", "/dev", "/bin/true", NULL};
  int have_bwrap = access(bwrap[0], X_OK) == 0;
  const char *yaml[2] = {"", "limits: {memory_mb: 0, pids: 0}\n"};
  al_jail_policy *pol[2] = {NULL, NULL};
  for (int v = 0; v < 2; v++) {
    al_error e;
    if (al_jail_policy_load_text(yaml[v], strlen(yaml[v]), "bench", &pol[v], &e))
      return fprintf(stderr, "policy: %s\n", e.msg), 1;
  }
  for (int i = 0; i < n; i++) {
    int64_t c0 = cpu_ns();
    if ((t[0][i] = run_exec(plain)) < 0) return fprintf(stderr, "fork+exec failed\n"), 1;
    int64_t c1 = cpu_ns();
    if (have_bwrap && (t[1][i] = run_exec(bwrap)) < 0) return fprintf(stderr, "bwrap failed\n"), 1;
    int64_t c2 = cpu_ns();
    cpu_total[0] += c1 - c0;
    cpu_total[1] += c2 - c1;
    for (int v = 0; v < 2; v++) {
      int64_t c3 = cpu_ns();
      if (run_jail(pol[v], &t[2 + 2 * v][i], &t[3 + 2 * v][i]))
        return fprintf(stderr, "jail run failed\n"), 1;
      cpu_total[2 + v] += cpu_ns() - c3;
    }
  }
  report("fork+exec /bin/true", t[0], n, cpu_total[0]);
  if (have_bwrap) report("bwrap --unshare-all", t[1], n, cpu_total[1]);
  report("airlock start-to-exec", t[2], n, -1);
  report("airlock start-to-exit", t[3], n, cpu_total[2]);
  report("airlock-nocg start-to-exec", t[4], n, -1);
  report("airlock-nocg start-to-exit", t[5], n, cpu_total[3]);
  for (int k = 0; k < 6; k++) free(t[k]);
  for (int v = 0; v < 2; v++) al_jail_policy_free(pol[v]);
  return 0;
}
