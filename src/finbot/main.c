/* finbot: command line, listening socket, signals. See finbot.h for the design and
 * examples/finbot/README.md for the planted flaws.
 *
 *   finbot [--version v1|v2] [--listen 127.0.0.1:PORT | --listen unix:/path.sock]
 *          [--fixed "TEXT"] [--seed N] [--port-file PATH] [--quiet]
 *   finbot --customer ID      print the synthetic customer record as JSON and exit
 *
 * Port 0 picks an ephemeral port; --port-file receives the bound port (or "unix:PATH")
 * once the socket listens, written atomically (temp file + rename). SIGTERM and SIGINT
 * end the event loop; the program then frees everything and exits 0.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "airlock/util.h"
#include "finbot/finbot.h"

#define LISTEN_BACKLOG 4096

static void usage(FILE *f) {
  fputs("usage: finbot [--version v1|v2] [--listen HOST:PORT | --listen unix:PATH]\n"
        "              [--fixed TEXT] [--seed N] [--port-file PATH] [--quiet]\n"
        "       finbot --customer ID\n"
        "A scripted OpenAI-compatible bank assistant with planted flaws in v1 (calibration\n"
        "fixture for Airlock). Default: --version v1 --listen 127.0.0.1:8088.\n",
        f);
}

/* Bound, listening, non-blocking socket for spec; *port gets the TCP port (0 for unix). */
static int open_listener(const char *spec, int *port, char *err, size_t errn) {
  int fd = -1;
  *port = 0;
  if (!strncmp(spec, "unix:", 5)) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *path = spec + 5;
    if (!*path || strlen(path) >= sizeof sa.sun_path) {
      snprintf(err, errn, "--listen %s: socket path empty or too long", spec);
      return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path); /* stale socket */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, LISTEN_BACKLOG)) {
      snprintf(err, errn, "--listen %s: %s", spec, strerror(errno));
      if (fd >= 0) close(fd);
      return -1;
    }
    return fd;
  }
  char host[256];
  const char *colon = strrchr(spec, ':');
  if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host || !colon[1]) {
    snprintf(err, errn, "--listen %s: expected HOST:PORT or unix:PATH", spec);
    return -1;
  }
  memcpy(host, spec, (size_t)(colon - spec));
  host[colon - spec] = '\0';
  if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:8080 */
    memmove(host, host + 1, strlen(host));
    host[strlen(host) - 1] = '\0';
  }
  char *end = NULL;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535) {
    snprintf(err, errn, "--listen %s: port must be 0..65535", spec);
    return -1;
  }
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai = NULL;
  int g = getaddrinfo(host, colon + 1, &hints, &ai);
  if (g) {
    snprintf(err, errn, "--listen %s: %s", spec, gai_strerror(g));
    return -1;
  }
  int one = 1;
  fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, LISTEN_BACKLOG)) {
    snprintf(err, errn, "--listen %s: %s", spec, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

static int write_port_file(const char *path, const char *text) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (al_write_file(tmp, text, strlen(text), NULL)) return -1;
  if (rename(tmp, path)) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  event_base_loopexit((struct event_base *)arg, NULL);
}

static int print_customer(const char *id) {
  fb_customer c;
  fb_customer_make(id, &c);
  json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "customer_id", c.id, "name", c.name, "card_number",
                        c.card, "balance", c.balance);
  char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
  if (s) puts(s);
  free(s);
  json_decref(o);
  return s ? 0 : 1;
}

int main(int argc, char **argv) {
  fb_config cfg = {.version = FB_V1, .fixed = NULL, .seed = 0};
  const char *listen_spec = "127.0.0.1:8088", *port_file = NULL;
  int quiet = 0, fd = -1, port = 0, status = 1;
  struct event_base *base = NULL;
  struct event *sigterm = NULL, *sigint = NULL;
  fb_server *srv = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--quiet")) {
      quiet = 1;
      continue;
    }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!v) {
      fprintf(stderr, "finbot: unknown option or missing value: %s\n", a);
      usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--version")) {
      if (!strcmp(v, "v1"))
        cfg.version = FB_V1;
      else if (!strcmp(v, "v2"))
        cfg.version = FB_V2;
      else {
        fprintf(stderr, "finbot: --version must be v1 or v2, not '%s'\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--listen")) {
      listen_spec = v;
    } else if (!strcmp(a, "--fixed")) {
      json_t *t = json_string(v); /* must be valid UTF-8 to go into JSON */
      if (!t) {
        fprintf(stderr, "finbot: --fixed text is not valid UTF-8\n");
        return 2;
      }
      json_decref(t);
      cfg.fixed = v;
    } else if (!strcmp(a, "--seed")) {
      char *end = NULL;
      errno = 0;
      cfg.seed = strtoull(v, &end, 10);
      if (errno || !*v || *end) {
        fprintf(stderr, "finbot: --seed must be an unsigned integer, not '%s'\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--port-file")) {
      port_file = v;
    } else if (!strcmp(a, "--customer")) {
      return print_customer(v);
    } else {
      fprintf(stderr, "finbot: unknown option %s\n", a);
      usage(stderr);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max; /* thousands of concurrent connections */
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  char err[512];
  if ((fd = open_listener(listen_spec, &port, err, sizeof err)) < 0) {
    fprintf(stderr, "finbot: %s\n", err);
    goto out;
  }
  /* The changelist folds the read/write interest evhttp drops and takes back around each
   * request (four epoll_ctl calls per request without it) into at most one per loop turn. */
  struct event_config *ec = event_config_new();
  if (ec) {
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(ec);
    event_config_free(ec);
  }
  if (!base) base = event_base_new();
  if (!base || fb_server_new(base, &cfg, &srv)) {
    fprintf(stderr, "finbot: cannot set up the event loop\n");
    goto out;
  }
  if (fb_server_accept(srv, fd)) {
    fprintf(stderr, "finbot: cannot serve on %s\n", listen_spec);
    goto out;
  }
  int own_fd = fd;
  fd = -1; /* owned by the server now */
  sigterm = evsignal_new(base, SIGTERM, on_signal, base);
  sigint = evsignal_new(base, SIGINT, on_signal, base);
  if (!sigterm || !sigint || evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL)) {
    fprintf(stderr, "finbot: cannot install signal handlers\n");
    goto out;
  }
  char where[300];
  if (!strncmp(listen_spec, "unix:", 5))
    snprintf(where, sizeof where, "%s\n", listen_spec);
  else
    snprintf(where, sizeof where, "%d\n", port);
  if (port_file && write_port_file(port_file, where)) {
    fprintf(stderr, "finbot: cannot write %s: %s\n", port_file, strerror(errno));
    goto out;
  }
  if (!quiet)
    fprintf(stderr, "finbot %s (%s) listening on %s port %d (fd %d)\n",
            cfg.version == FB_V1 ? "v1" : "v2", cfg.fixed ? "fixed" : "scripted", listen_spec, port,
            own_fd);
  event_base_dispatch(base);
  if (!quiet) fprintf(stderr, "finbot: shutting down\n");
  status = 0;
out:
  if (fd >= 0) close(fd);
  if (sigterm) event_free(sigterm);
  if (sigint) event_free(sigint);
  fb_server_free(srv);
  if (base) event_base_free(base);
  if (!strncmp(listen_spec, "unix:", 5) && status == 0) unlink(listen_spec + 5);
  return status;
}
