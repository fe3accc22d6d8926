/* escape: the jail's escape suite. Runs tests/jail/hostile in the jail once per case and
 * asserts the specific mechanism that stopped it -- the errno the hostile program saw
 * (EPERM from seccomp, EACCES from Landlock, ENETUNREACH/ECONNREFUSED from the network
 * namespace, ENOENT/ESRCH from the mount and pid namespaces, EROFS from read-only binds),
 * or the signal and limit of the outcome (SIGKILL + OOM flag, "wall", "cpu", ...) -- plus
 * host-side evidence where there is any (listeners the driver opened on the host's
 * 127.0.0.1 must see nothing). Prints TAP, one line per case; the last lines are the
 * positive test (a normal program reads its bound file, writes scratch, talks over
 * stdin/stdout and serves a unix socket in scratch that the host reaches).
 *
 * With AIRLOCK_JAIL_STRICT=1 (CI sets it) a case whose mechanism is unavailable here is a
 * failure, not a skip. usage: escape PATH-OF-hostile
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "airlock/jail.h"

static int tcp_fd, udp_fd, abs_fd, path_fd, tcp_port, udp_port, n_test, n_fail;
static char abs_name[64], path_sock[128], suid_dir[128], work_dir[128], hostile_dir[512];
static const char *hostile;
static char probe_report[2048];

typedef struct escase {
  const char *name;
  const char *yaml;    /* policy text on top of the defaults ("" = defaults) */
  const char *mode;
  const char *arg;     /* "%tcp" "%udp" "%abs" "%path" "%pid": filled in by the driver */
  const char *expect;  /* RESULT text; a trailing '*' matches a prefix; NULL: no check */
  const char *limit;   /* expected outcome limit, or NULL for none */
  int signal;          /* expected terminating signal, or 0 for a normal exit */
  int oom;
  const char *needs;   /* mechanism (al_jail_probe name) that must be available */
  int host_check;      /* 1: the host listeners must have seen nothing */
} escase;

#define TCP_ALLOW "landlock: {tcp: allow}\n"
static const escase cases[] = {
    {"TCP connect to a host 127.0.0.1 listener: Landlock TCP rule", "", "tcp_host", "%tcp", "EACCES", NULL, 0, 0, "landlock_net", 1},
    {"TCP connect to a host 127.0.0.1 listener (Landlock TCP off): net namespace", TCP_ALLOW, "tcp_host", "%tcp", "ECONNREFUSED", NULL, 0, 0, "netns", 1},
    {"TCP connect to 192.0.2.1 (Landlock TCP off): no route, net namespace", TCP_ALLOW, "tcp_offnet", "", "ENETUNREACH", NULL, 0, 0, "netns", 0},
    {"TCP connect to 192.0.2.1: Landlock TCP rule", "", "tcp_offnet", "", "EACCES", NULL, 0, 0, "landlock_net", 0},
    {"TCP bind inside the jail: Landlock TCP rule", "", "tcp_listen", "", "EACCES", NULL, 0, 0, "landlock_net", 0},
    {"UDP to a host 127.0.0.1 listener: net namespace (jail's own lo refuses)", "", "udp_host", "%udp", "ECONNREFUSED", NULL, 0, 0, "netns", 1},
    {"UDP connect to 192.0.2.1: no route, net namespace", "", "udp_offnet", "", "ENETUNREACH", NULL, 0, 0, "netns", 0},
    {"DNS lookup fails: no resolver, net namespace", "", "dns", "", "EAI_*", NULL, 0, 0, "netns", 0},
    {"abstract unix socket to a host listener: net namespace", "", "abstract_unix", "%abs", "ECONNREFUSED", NULL, 0, 0, "netns", 1},
    {"pathname unix socket of the host: not in the jail's root", "", "path_unix", "%path", "ENOENT", NULL, 0, 0, NULL, 1},
    {"read /etc/shadow: not in the jail's root", "", "read", "/etc/shadow", "ENOENT", NULL, 0, 0, NULL, 0},
    {"open /root: not in the jail's root", "", "opendir", "/root", "ENOENT", NULL, 0, 0, NULL, 0},
    {"read the host's /proc/PID/environ: pid namespace", "", "read", "%procenv", "ENOENT", NULL, 0, 0, NULL, 0},
    {"read /proc/1/environ (the jail's init): non-dumpable", "", "read", "/proc/1/environ", "EACCES", NULL, 0, 0, NULL, 0},
    {"write /proc/sys/kernel/hostname: Landlock", "", "write", "/proc/sys/kernel/hostname", "EACCES", NULL, 0, 0, "landlock", 0},
    {"write /proc/self/comm (allowed by DAC): Landlock", "", "write", "/proc/self/comm", "EACCES", NULL, 0, 0, "landlock", 0},
    {"create a file in /usr: read-only bind", "", "write", "/usr/airlock-escape", "EROFS", NULL, 0, 0, NULL, 0},
    {"create a file in /etc: read-only root", "", "write", "/etc/airlock-escape", "EROFS", NULL, 0, 0, NULL, 0},
    {"symlink in scratch to /etc/passwd, open for write: read-only root", "", "symlink_write", "/etc/passwd", "EROFS", NULL, 0, 0, NULL, 0},
    {"'..' out of scratch to /etc/shadow: not in the jail's root", "", "read", "/tmp/../../../etc/shadow", "ENOENT", NULL, 0, 0, NULL, 0},
    {"hard link of /etc/passwd into scratch: separate mounts", "", "hardlink", "/etc/passwd", "EXDEV", NULL, 0, 0, NULL, 0},
    {"fork bomb: pids cgroup", "limits: {pids: 16}\n", "fork_bomb", "", "EAGAIN", "pids", 0, 0, "cgroup", 0},
    {"memory bomb: memory cgroup OOM kill", "limits: {memory_mb: 64}\n", "mem_bomb", "", NULL, "memory", SIGKILL, 1, "cgroup", 0},
    {"CPU burn: RLIMIT_CPU", "limits: {cpu_s: 1}\n", "cpu", "", NULL, "cpu", SIGXCPU, 0, NULL, 0},
    {"sleep past the wall-clock limit: killed by the parent", "limits: {wall_ms: 300}\n", "sleep", "", NULL, "wall", SIGKILL, 0, NULL, 0},
    {"write past the file-size limit: RLIMIT_FSIZE", "limits: {fsize_mb: 1}\n", "fsize", "", NULL, "fsize", SIGXFSZ, 0, NULL, 0},
    {"ptrace the parent: seccomp", "", "ptrace_parent", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"mount a tmpfs: seccomp", "", "mount", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"unshare(CLONE_NEWUSER): seccomp", "", "unshare", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"setns: seccomp", "", "setns", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"clone with namespace flags: seccomp", "", "clone_ns", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"clone3 (flags unreadable): seccomp ENOSYS", "", "clone3", "", "ENOSYS", NULL, 0, 0, "seccomp", 0},
    {"keyctl: seccomp", "", "keyctl", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"add_key: seccomp", "", "add_key", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"bpf: seccomp", "", "bpf", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"perf_event_open: seccomp", "", "perf", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"io_uring_setup: seccomp", "", "io_uring", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"userfaultfd: seccomp", "", "userfaultfd", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"open_by_handle_at: seccomp", "", "open_by_handle", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"init_module: seccomp", "", "init_module", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"finit_module: seccomp", "", "finit_module", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"kexec_load: seccomp", "", "kexec", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"reboot: seccomp", "", "reboot", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"swapon: seccomp", "", "swapon", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"chroot: seccomp", "", "chroot", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"a system call the policy denies (seccomp deny: [getpid])", "seccomp: {deny: [getpid]}\n", "getpid", "", "EPERM", NULL, 0, 0, "seccomp", 0},
    {"bind under /proc is refused: the jail mounts its own /proc there", "binds: [{host: /usr, inside: /proc/usr}]\n", NULL, "", NULL, NULL, 0, 0, NULL, 0},
    {"TIOCSTI, also with high bits set: seccomp masked compare", "", "tiocsti", "", "EPERM EPERM", NULL, 0, 0, "seccomp", 0},
    {"memfd exec: memfd_create plain/MFD_EXEC and fexecve denied by seccomp, /proc/self/fd exec of a sealed memfd refused", "", "memfd_exec", "", "EPERM EPERM EPERM EACCES", NULL, 0, 0, "seccomp", 0},
    {"32-bit int 0x80 system call: seccomp kills (bad arch)", "", "int80", "", NULL, NULL, SIGSYS, 0, "seccomp", 0}, /* see int80_host */
    {"signal a host process: pid namespace", "", "kill", "%pid", "ESRCH", NULL, 0, 0, NULL, 0},
    {"SIGKILL the jail's init: Landlock signal scoping", "", "kill", "1", "EPERM", NULL, 0, 0, "landlock_scope", 0},
    {"inherited file descriptors: closed", "", "inherited_fds", "", "closed", NULL, 0, 0, NULL, 0},
    {"exec a setuid-root binary: nosuid + no_new_privs keep euid 1000", "", "exec", "/suid/hostile", "euid=1000", NULL, 0, 0, NULL, 0},
};

static int mech_available(const char *name) {
  if (!name) return 1;
  char key[64];
  snprintf(key, sizeof key, "%s: available", name);
  for (const char *l = probe_report; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (!strncmp(l, key, strlen(key))) return 1;
  return 0;
}

static void tap(int ok, const char *name, const char *why) {
  n_test++;
  if (!ok) n_fail++;
  printf("%s %d - %s%s%s\n", ok ? "ok" : "not ok", n_test, name, why && *why ? " # " : "",
         why ? why : "");
  fflush(stdout);
}

/* Host side: nothing may have reached the listeners. */
static int listeners_quiet(char *why, size_t n) {
  int c = accept4(tcp_fd, NULL, NULL, SOCK_NONBLOCK);
  if (c >= 0) {
    close(c);
    snprintf(why, n, "the host TCP listener got a connection");
    return 0;
  }
  char b[16];
  if (recv(udp_fd, b, sizeof b, MSG_DONTWAIT) >= 0) {
    snprintf(why, n, "the host UDP socket got a datagram");
    return 0;
  }
  if ((c = accept4(abs_fd, NULL, NULL, SOCK_NONBLOCK)) >= 0 ||
      (c = accept4(path_fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
    close(c);
    snprintf(why, n, "a host unix listener got a connection");
    return 0;
  }
  return 1;
}

static const char *fill_arg(const char *arg, char *buf, size_t n) {
  if (!strcmp(arg, "%tcp")) snprintf(buf, n, "%d", tcp_port);
  else if (!strcmp(arg, "%udp")) snprintf(buf, n, "%d", udp_port);
  else if (!strcmp(arg, "%abs")) snprintf(buf, n, "%s", abs_name);
  else if (!strcmp(arg, "%path")) snprintf(buf, n, "%s", path_sock);
  else if (!strcmp(arg, "%pid")) snprintf(buf, n, "%d", (int)getpid());
  else if (!strcmp(arg, "%procenv")) snprintf(buf, n, "/proc/%d/environ", (int)getpid());
  else snprintf(buf, n, "%s", arg);
  return buf;
}

static int make_policy(const char *yaml, al_jail_policy **p, char *why, size_t n) {
  al_error err;
  al_error_clear(&err);
  int rc = al_jail_policy_load_text(yaml, strlen(yaml), "case", p, &err);
  if (!rc) rc = al_jail_policy_add_bind(*p, hostile_dir, "/hostile", 0);
  if (!rc) rc = al_jail_policy_add_bind(*p, suid_dir, "/suid", 0);
  if (!rc) rc = al_jail_policy_set_wall_ms(*p, 20000) ? -1 : 0;
  if (!rc && strstr(yaml, "wall_ms")) al_jail_policy_set_wall_ms(*p, 300);
  if (rc) snprintf(why, n, "policy: %s", err.msg);
  return rc;
}

/* Without the kernel's 32-bit entry (IA32 emulation off) int 0x80 faults with SIGSEGV on
 * the host too: there is no 32-bit system call for the filter to stop. */
static int int80_signal(void) {
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl(hostile, "hostile", "int80", (char *)NULL);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? SIGSEGV : SIGSYS;
}

static void run_case(const escase *c0) {
  char why[512] = "", arg[256], out[4096] = "";
  escase cc = *c0;
  const escase *c = &cc;
  if (cc.mode && !strcmp(cc.mode, "int80") && int80_signal() == SIGSEGV) {
    cc.signal = SIGSEGV;
    cc.name = "32-bit int 0x80 system call: the kernel has no 32-bit entry here (SIGSEGV on the host too)";
  }
  al_jail_policy *p = NULL;
  al_jail_proc *j = NULL;
  int pfd[2] = {-1, -1}, ok = 0;
  if (!mech_available(c->needs)) {
    const char *strict = getenv("AIRLOCK_JAIL_STRICT");
    if (strict && !strcmp(strict, "1")) {
      snprintf(why, sizeof why, "skipped: mechanism unavailable (%s) under AIRLOCK_JAIL_STRICT=1", c->needs);
      tap(0, c->name, why);
    } else {
      snprintf(why, sizeof why, "SKIP mechanism unavailable: %s", c->needs);
      n_test++;
      printf("ok %d - %s # %s\n", n_test, c->name, why);
    }
    return;
  }
  if (!c->mode) { /* the policy itself must be refused, with its location */
    al_error err;
    al_error_clear(&err);
    ok = al_jail_policy_load_text(c->yaml, strlen(c->yaml), "case", &p, &err) == AL_EINVAL &&
         err.line == 1;
    snprintf(why, sizeof why, "case:%d:%d: %s", err.line, err.col, err.msg);
    goto done;
  }
  if (make_policy(c->yaml, &p, why, sizeof why)) goto done;
  char *argv[] = {"/hostile/hostile", (char *)c->mode, (char *)fill_arg(c->arg, arg, sizeof arg), NULL};
  if (pipe2(pfd, O_CLOEXEC) != 0) goto done;
  al_jail_io io = {-1, pfd[1], 2};
  al_error err;
  al_error_clear(&err);
  if (al_jail_spawn(p, argv, &io, &j, &err)) {
    snprintf(why, sizeof why, "spawn: %s", err.msg);
    goto done;
  }
  close(pfd[1]);
  pfd[1] = -1;
  size_t used = 0;
  for (;;) { /* read stdout while the wall-clock limit is enforced (event-loop style) */
    int64_t left = al_jail_wall_left_ms(j);
    struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
    int pn = poll(&pf, 1, left < 0 ? -1 : (int)left + 1);
    if (pn == 0) {
      al_jail_wait(j, 1, NULL);
      continue;
    }
    ssize_t r = read(pfd[0], out + used, sizeof out - 1 - used);
    if (r <= 0 || (used += (size_t)r) >= sizeof out - 1) break;
  }
  out[used] = '\0';
  al_jail_outcome o;
  if (al_jail_wait(j, 0, &o) != 1) {
    snprintf(why, sizeof why, "wait failed");
    goto done;
  }
  char *res = strstr(out, "RESULT ");
  char got[128] = "";
  if (res) {
    snprintf(got, sizeof got, "%s", res + 7);
    got[strcspn(got, "\n")] = '\0';
  }
  if (c->expect) {
    size_t el = strlen(c->expect);
    int match = c->expect[el - 1] == '*' ? !strncmp(got, c->expect, el - 1) : !strcmp(got, c->expect);
    if (!match) {
      snprintf(why, sizeof why, "expected RESULT %s, got '%s' (%s)", c->expect, got, o.detail);
      goto done;
    }
  }
  if (c->signal ? !(o.signaled && o.signal == c->signal) : !(o.exited && o.exit_code == 0)) {
    snprintf(why, sizeof why, "expected %s %d, outcome: %s", c->signal ? "signal" : "exit", c->signal, o.detail);
    goto done;
  }
  if ((c->limit == NULL) != (o.limit == NULL) || (c->limit && strcmp(c->limit, o.limit))) {
    snprintf(why, sizeof why, "expected limit %s, got %s", c->limit ? c->limit : "none", o.limit ? o.limit : "none");
    goto done;
  }
  if (c->oom && !o.oom_killed) {
    snprintf(why, sizeof why, "expected the OOM flag: %s", o.detail);
    goto done;
  }
  if (c->host_check && !listeners_quiet(why, sizeof why)) goto done;
  ok = 1;
  snprintf(why, sizeof why, "%s%s%s", c->expect ? got : o.detail, o.limit ? ", limit " : "", o.limit ? o.limit : "");
done:
  tap(ok, c->name, why);
  if (pfd[0] >= 0) close(pfd[0]);
  if (pfd[1] >= 0) close(pfd[1]);
  al_jail_proc_free(j);
  al_jail_policy_free(p);
}

/* ---- positive test ------------------------------------------------------------------ */

static void positive(void) {
  char why[512] = "", data[160], path[700], buf[512] = "";
  al_jail_policy *p = NULL;
  al_jail_proc *j = NULL;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, s = -1;
  int ok_run = 0, ok_scratch = 0, ok_sock = 0;
  snprintf(data, sizeof data, "%s/data", work_dir);
  mkdir(data, 0755);
  snprintf(path, sizeof path, "%s/in.txt", data);
  FILE *f = fopen(path, "w");
  if (f) fputs("model-bytes\n", f), fclose(f);
  if (make_policy("", &p, why, sizeof why) || al_jail_policy_add_bind(p, data, "/data", 0)) goto done;
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) goto done;
  char *argv[] = {"/hostile/hostile", "positive", NULL};
  al_jail_io io = {in[0], out[1], 2};
  al_error err;
  al_error_clear(&err);
  if (al_jail_spawn(p, argv, &io, &j, &err)) {
    snprintf(why, sizeof why, "spawn: %s", err.msg);
    goto done;
  }
  close(in[0]);
  close(out[1]);
  in[0] = out[1] = -1;
  if (write(in[1], "hello\n", 6) != 6) goto done;
  /* the host reaches the jail's unix socket through the scratch folder */
  snprintf(path, sizeof path, "%s/x.sock", al_jail_scratch(j));
  for (int i = 0; i < 500 && access(path, F_OK) != 0; i++) usleep(2000);
  s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  char pong[8] = "";
  if (connect(s, (struct sockaddr *)&a, sizeof a) == 0 && write(s, "ping", 4) == 4 &&
      read(s, pong, 4) == 4 && !memcmp(pong, "pong", 4))
    ok_sock = 1;
  size_t used = 0;
  ssize_t r;
  while (used < sizeof buf - 1 && (r = read(out[0], buf + used, sizeof buf - 1 - used)) > 0)
    used += (size_t)r;
  buf[used] = '\0';
  snprintf(path, sizeof path, "%s/out.txt", al_jail_scratch(j));
  char copied[64] = "";
  FILE *g = fopen(path, "r");
  if (g) {
    if (!fgets(copied, sizeof copied, g)) copied[0] = '\0';
    fclose(g);
  }
  ok_scratch = !strcmp(copied, "copied:model-bytes\n");
  al_jail_outcome o;
  ok_run = al_jail_wait(j, 0, &o) == 1 && o.exited && o.exit_code == 0 && !o.limit &&
           strstr(buf, "echo:hello\n") && strstr(buf, "RESULT ok");
  if (!ok_run) snprintf(why, sizeof why, "stdout '%.100s', %s", buf, o.detail);
done:
  tap(ok_run, "positive: a normal program runs, reads its bound file and echoes stdin", why);
  tap(ok_scratch, "positive: its scratch file is visible at the host path", NULL);
  tap(ok_sock, "positive: the host connects to its unix socket in scratch", NULL);
  if (s >= 0) close(s);
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0) close(in[i]);
    if (out[i] >= 0) close(out[i]);
  }
  /* the scratch folder is gone after free */
  char scratch[600] = "";
  if (j) snprintf(scratch, sizeof scratch, "%s", al_jail_scratch(j));
  al_jail_proc_free(j);
  tap(scratch[0] && access(scratch, F_OK) != 0, "positive: the scratch folder is removed after free", NULL);
  al_jail_policy_free(p);
}

/* ---- setup -------------------------------------------------------------------------- */

static int listen_inet(int type, int *port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &len))
    return -1;
  if (type == SOCK_STREAM && listen(fd, 8)) return -1;
  *port = ntohs(a.sin_port);
  return fd;
}

static int listen_unix(const char *name, int abstract) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  socklen_t len = sizeof a;
  if (abstract) {
    snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "%s", name);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
  } else {
    snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
  }
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) || listen(fd, 8)) return -1;
  return fd;
}

static int copy_file(const char *from, const char *to, mode_t mode) {
  int a = open(from, O_RDONLY | O_CLOEXEC), b = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
  char buf[65536];
  ssize_t n;
  int rc = a < 0 || b < 0 ? -1 : 0;
  while (!rc && (n = read(a, buf, sizeof buf)) > 0)
    if (write(b, buf, (size_t)n) != n) rc = -1;
  if (a >= 0) close(a);
  if (b >= 0) close(b);
  if (!rc && (chown(to, 0, 0) || chmod(to, mode))) rc = -1;
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: escape PATH-OF-hostile\n");
    return 2;
  }
  hostile = argv[1];
  snprintf(hostile_dir, sizeof hostile_dir, "%s", hostile);
  char *slash = strrchr(hostile_dir, '/');
  if (!slash || strcmp(slash, "/hostile")) {
    fprintf(stderr, "escape: the hostile program must be named 'hostile'\n");
    return 2;
  }
  *slash = '\0';
  signal(SIGPIPE, SIG_IGN);
  al_jail_probe(probe_report, sizeof probe_report);
  snprintf(work_dir, sizeof work_dir, "/tmp/airlock-escape-%d", (int)getpid());
  snprintf(suid_dir, sizeof suid_dir, "%s/suid", work_dir);
  snprintf(path_sock, sizeof path_sock, "%s/host.sock", work_dir);
  snprintf(abs_name, sizeof abs_name, "airlock-escape-%d", (int)getpid());
  char suid_bin[256];
  snprintf(suid_bin, sizeof suid_bin, "%s/hostile", suid_dir);
  if (mkdir(work_dir, 0755) || mkdir(suid_dir, 0755) || copy_file(hostile, suid_bin, 04755)) {
    printf("Bail out! cannot prepare %s: %s\n", work_dir, strerror(errno));
    return 1;
  }
  tcp_fd = listen_inet(SOCK_STREAM, &tcp_port);
  udp_fd = listen_inet(SOCK_DGRAM, &udp_port);
  abs_fd = listen_unix(abs_name, 1);
  path_fd = listen_unix(path_sock, 0);
  /* a secret the jail must not inherit: open without close-on-exec */
  int secret = open("/etc/hostname", O_RDONLY);
  if (tcp_fd < 0 || udp_fd < 0 || abs_fd < 0 || path_fd < 0 || secret < 0) {
    printf("Bail out! cannot open the host listeners\n");
    return 1;
  }
  size_t n = sizeof cases / sizeof *cases;
  printf("1..%zu\n", n + 4);
  for (size_t i = 0; i < n; i++) run_case(&cases[i]);
  positive();
  close(secret);
  unlink(path_sock);
  unlink(suid_bin);
  rmdir(suid_dir);
  char in_txt[300];
  snprintf(in_txt, sizeof in_txt, "%s/data/in.txt", work_dir);
  unlink(in_txt);
  snprintf(in_txt, sizeof in_txt, "%s/data", work_dir);
  rmdir(in_txt);
  rmdir(work_dir);
  return n_fail ? 1 : 0;
}
