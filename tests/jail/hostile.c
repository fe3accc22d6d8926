/* hostile: the escape attempts the jail must stop, one per mode (`hostile MODE [ARGS]`).
 *
 * Built without sanitizers (they would need ptrace, big mappings and /proc) and run inside
 * the jail by escape.c. Each mode tries one thing and prints one line "RESULT <what>",
 * usually the errno name of the failed call ("RESULT EPERM"), so the driver can tell which
 * mechanism stopped it: EPERM from seccomp, EACCES from Landlock, ENETUNREACH/ECONNREFUSED
 * from the network namespace, ENOENT/ESRCH from the mount/pid namespaces, EROFS from a
 * read-only bind. A mode that unexpectedly succeeds prints "RESULT ESCAPED". Modes that
 * test limits (fork, memory, cpu, wall, fsize) are ended by the jail instead.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

static const char *ename(int e) {
  static char buf[32];
  switch (e) {
  case 0: return "OK";
  case EPERM: return "EPERM";
  case EACCES: return "EACCES";
  case ENOENT: return "ENOENT";
  case ESRCH: return "ESRCH";
  case EROFS: return "EROFS";
  case ENETUNREACH: return "ENETUNREACH";
  case ECONNREFUSED: return "ECONNREFUSED";
  case EAGAIN: return "EAGAIN";
  case ENOSYS: return "ENOSYS";
  case EBADF: return "EBADF";
  case EINVAL: return "EINVAL";
  case EFBIG: return "EFBIG";
  case EXDEV: return "EXDEV";
  case ELOOP: return "ELOOP";
  case ENOTDIR: return "ENOTDIR";
  case EEXIST: return "EEXIST";
  default: snprintf(buf, sizeof buf, "errno%d", e); return buf;
  }
}

/* Print RESULT <errno name> for a call that should fail (rc < 0), ESCAPED otherwise. */
static int result(long rc) {
  printf("RESULT %s\n", rc < 0 ? ename(errno) : "ESCAPED");
  return 0;
}

static int tcp_connect(const char *ip, int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  return result(connect(s, (struct sockaddr *)&a, sizeof a));
}

static int udp_host(int port) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) return result(-1);
  if (send(s, "leak", 4, 0) < 0) return result(-1);
  struct timeval tv = {1, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char b[8];
  return result(recv(s, b, sizeof b, 0)); /* ICMP port unreachable on the jail's lo */
}

static int udp_offnet(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
  inet_pton(AF_INET, "192.0.2.1", &a.sin_addr); /* TEST-NET-1: never a real host */
  return result(connect(s, (struct sockaddr *)&a, sizeof a));
}

static int dns(void) {
  struct addrinfo *ai = NULL;
  int rc = getaddrinfo("example.com", "80", NULL, &ai);
  if (rc == 0) return printf("RESULT ESCAPED\n"), 0;
  printf("RESULT %s\n", rc == EAI_AGAIN ? "EAI_AGAIN" : rc == EAI_NONAME ? "EAI_NONAME"
                        : rc == EAI_FAIL ? "EAI_FAIL" : "EAI_OTHER");
  return 0;
}

static int unix_connect(const char *path, int abstract) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  socklen_t len;
  if (abstract) {
    a.sun_path[0] = '\0';
    snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "%s", path);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path));
  } else {
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    len = sizeof a;
  }
  return result(connect(s, (struct sockaddr *)&a, len));
}

static int fork_bomb(void) {
  for (int i = 0; i < 100000; i++) {
    pid_t p = fork();
    if (p == 0) {
      pause();
      _exit(0);
    }
    if (p < 0) return result(-1);
  }
  return printf("RESULT ESCAPED\n"), 0;
}

static int mem_bomb(void) {
  for (size_t total = 0; total < ((size_t)8 << 30); total += 16 << 20) {
    char *p = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return result(-1);
    memset(p, 0x5a, 16 << 20);
  }
  return printf("RESULT ESCAPED\n"), 0;
}

static int cpu_burn(void) {
  volatile uint64_t x = 0;
  for (;;) x++;
  return 0;
}

static int fsize(void) {
  int fd = open("/tmp/big", O_WRONLY | O_CREAT | O_TRUNC, 0600);
  static char block[65536];
  for (int i = 0; i < 1024; i++)
    if (write(fd, block, sizeof block) < 0) return result(-1);
  return printf("RESULT ESCAPED\n"), 0;
}

static int inherited_fds(void) {
  for (int fd = 3; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) >= 0) return printf("RESULT ESCAPED fd %d open\n", fd), 0;
  return printf("RESULT closed\n"), 0;
}

static int tiocsti(void) {
  char c = 'x';
  long a = syscall(SYS_ioctl, 0, TIOCSTI, &c);
  int e1 = errno;
  /* the kernel reads the command as 32 bits: high bits must not slip past the filter */
  long b = syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | (1UL << 32), &c);
  int e2 = errno;
  if (a >= 0 || b >= 0) return printf("RESULT ESCAPED\n"), 0;
  printf("RESULT %s", ename(e1));
  printf(" %s\n", ename(e2));
  return 0;
}

static int memfd_exec(void) {
  int e1 = syscall(SYS_memfd_create, "x", MFD_CLOEXEC) < 0 ? errno : 0;
  int e2 = syscall(SYS_memfd_create, "x", MFD_CLOEXEC | MFD_EXEC) < 0 ? errno : 0;
  int fd = (int)syscall(SYS_memfd_create, "x", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
  if (fd < 0) return result(-1);
  /* copy /bin/true into it, then try both ways of running it */
  int src = open("/bin/true", O_RDONLY);
  char buf[65536];
  ssize_t n;
  while (src >= 0 && (n = read(src, buf, sizeof buf)) > 0) (void)!write(fd, buf, (size_t)n);
  char *argv[] = {"true", NULL}, *envp[] = {NULL};
  syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
  int e3 = errno;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  execve(path, argv, envp);
  int e4 = errno;
  printf("RESULT %s", ename(e1));
  printf(" %s", ename(e2));
  printf(" %s", ename(e3));
  printf(" %s\n", ename(e4));
  return 0;
}

static int int80(void) {
  long ret;
  /* a 32-bit system call (getpid = 20 on i386): not this filter's architecture */
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
  printf("RESULT ESCAPED %ld\n", ret);
  return 0;
}

static int positive(void) {
  /* read a bound file, write scratch, echo stdin, serve one client on /tmp/x.sock */
  char buf[256] = "";
  int fd = open("/data/in.txt", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (n <= 0) return printf("RESULT no-bound-file %s\n", ename(errno)), 1;
  buf[n] = '\0';
  FILE *f = fopen("/tmp/out.txt", "w");
  if (!f) return printf("RESULT no-scratch %s\n", ename(errno)), 1;
  fprintf(f, "copied:%s", buf);
  fclose(f);
  char line[256];
  if (!fgets(line, sizeof line, stdin)) return printf("RESULT no-stdin\n"), 1;
  printf("echo:%s", line);
  fflush(stdout);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "/tmp/x.sock.tmp"};
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0 ||
      rename("/tmp/x.sock.tmp", "/tmp/x.sock") < 0)
    return printf("RESULT no-socket %s\n", ename(errno)), 1;
  int c = accept(s, NULL, NULL);
  if (c < 0) return printf("RESULT no-accept %s\n", ename(errno)), 1;
  n = read(c, line, sizeof line);
  (void)!write(c, "pong", 4);
  close(c);
  printf("RESULT ok\n");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return 2;
  const char *m = argv[1];
  const char *arg = argc > 2 ? argv[2] : "";
  int port = atoi(arg);
  if (!strcmp(m, "tcp_host")) return tcp_connect("127.0.0.1", port);
  if (!strcmp(m, "tcp_offnet")) return tcp_connect("192.0.2.1", 80);
  if (!strcmp(m, "tcp_listen")) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080)};
    return result(bind(s, (struct sockaddr *)&a, sizeof a));
  }
  if (!strcmp(m, "udp_host")) return udp_host(port);
  if (!strcmp(m, "udp_offnet")) return udp_offnet();
  if (!strcmp(m, "dns")) return dns();
  if (!strcmp(m, "abstract_unix")) return unix_connect(arg, 1);
  if (!strcmp(m, "path_unix")) return unix_connect(arg, 0);
  if (!strcmp(m, "read")) return result(open(arg, O_RDONLY));
  if (!strcmp(m, "write")) return result(open(arg, O_WRONLY | O_CREAT, 0644));
  if (!strcmp(m, "opendir")) return result(open(arg, O_RDONLY | O_DIRECTORY));
  if (!strcmp(m, "symlink_write")) { /* a link in scratch pointing at a system file */
    if (symlink(arg, "/tmp/link") < 0) return result(-1);
    return result(open("/tmp/link", O_WRONLY | O_TRUNC));
  }
  if (!strcmp(m, "hardlink")) return result(link(arg, "/tmp/hard"));
  if (!strcmp(m, "fork_bomb")) return fork_bomb();
  if (!strcmp(m, "mem_bomb")) return mem_bomb();
  if (!strcmp(m, "cpu")) return cpu_burn();
  if (!strcmp(m, "sleep")) return sleep(30), 0;
  if (!strcmp(m, "fsize")) return fsize();
  if (!strcmp(m, "ptrace_parent")) return result(ptrace(PTRACE_ATTACH, getppid(), 0, 0));
  if (!strcmp(m, "mount")) return result(mount("none", "/tmp", "tmpfs", 0, NULL));
  if (!strcmp(m, "unshare")) return result(unshare(CLONE_NEWUSER));
  if (!strcmp(m, "setns")) return result(setns(0, CLONE_NEWNET));
  if (!strcmp(m, "clone_ns"))
    return result(syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0));
  if (!strcmp(m, "clone3")) return result(syscall(SYS_clone3, NULL, 0));
  if (!strcmp(m, "keyctl")) return result(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0));
  if (!strcmp(m, "add_key")) return result(syscall(SYS_add_key, "user", "x", "y", 1, -3));
  if (!strcmp(m, "bpf")) {
    union bpf_attr at;
    memset(&at, 0, sizeof at);
    return result(syscall(SYS_bpf, BPF_MAP_CREATE, &at, sizeof at));
  }
  if (!strcmp(m, "perf")) {
    struct perf_event_attr pa;
    memset(&pa, 0, sizeof pa);
    pa.size = sizeof pa;
    pa.type = PERF_TYPE_SOFTWARE;
    pa.config = PERF_COUNT_SW_CPU_CLOCK;
    return result(syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0));
  }
  if (!strcmp(m, "io_uring")) {
    char params[120];
    memset(params, 0, sizeof params);
    return result(syscall(SYS_io_uring_setup, 4, params));
  }
  if (!strcmp(m, "userfaultfd")) return result(syscall(SYS_userfaultfd, 0));
  if (!strcmp(m, "open_by_handle")) {
    char h[64];
    memset(h, 0, sizeof h);
    return result(syscall(SYS_open_by_handle_at, AT_FDCWD, h, O_RDONLY));
  }
  if (!strcmp(m, "init_module")) return result(syscall(SYS_init_module, NULL, 0, ""));
  if (!strcmp(m, "finit_module")) return result(syscall(SYS_finit_module, 0, "", 0));
  if (!strcmp(m, "kexec")) return result(syscall(SYS_kexec_load, 0, 0, NULL, 0));
  if (!strcmp(m, "reboot")) return result(reboot(RB_POWER_OFF));
  if (!strcmp(m, "swapon")) return result(syscall(SYS_swapon, "/tmp/x", 0));
  if (!strcmp(m, "chroot")) return result(chroot("/tmp"));
  if (!strcmp(m, "kill")) return result(kill(port, SIGKILL));
  if (!strcmp(m, "inherited_fds")) return inherited_fds();
  if (!strcmp(m, "tiocsti")) return tiocsti();
  if (!strcmp(m, "memfd_exec")) return memfd_exec();
  if (!strcmp(m, "int80")) return int80();
  if (!strcmp(m, "getpid")) return result(syscall(SYS_getpid));
  if (!strcmp(m, "euid")) return printf("RESULT euid=%d\n", (int)geteuid()), 0;
  if (!strcmp(m, "exec")) {
    char *av[] = {(char *)arg, "euid", NULL};
    execv(arg, av);
    return result(-1);
  }
  if (!strcmp(m, "positive")) return positive();
  printf("RESULT unknown-mode\n");
  return 2;
}
