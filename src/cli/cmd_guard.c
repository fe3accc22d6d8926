/* `airlock guard`: run the guard proxy, check a policy, or hash a client key.
 *
 *   airlock guard --policy policy.yaml [--port-file F]   serve until SIGINT/SIGTERM
 *   airlock guard check --policy policy.yaml             load the policy and exit
 *   airlock guard hash-key KEY                           print the sha256 for key_sha256
 *
 * On SIGINT/SIGTERM the loop stops, transfers in flight are aborted and the audit log is
 * closed with a final signed checkpoint. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "airlock/guard.h"
#include "airlock/log.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: airlock guard --policy POLICY.yaml [--port-file FILE]\n"
          "       airlock guard check --policy POLICY.yaml\n"
          "       airlock guard hash-key KEY\n");
}

static void on_signal(evutil_socket_t sig, short events, void *arg) {
  event_base_loopexit(arg, NULL);
}

int al_cmd_guard(int argc, char **argv) {
  const char *policy = NULL, *port_file = NULL;
  int check = 0;
  if (argc >= 2 && !strcmp(argv[1], "hash-key")) {
    if (argc != 3) {
      usage(stderr);
      return 2;
    }
    char hex[65];
    al_guard_hash_key(argv[2], hex);
    printf("%s\n", hex);
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--policy") && i + 1 < argc) policy = argv[++i];
    else if (!strcmp(argv[i], "--port-file") && i + 1 < argc) port_file = argv[++i];
    else if (!strcmp(argv[i], "check") && i == 1) check = 1;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (!policy) {
    usage(stderr);
    return 2;
  }
  al_error e = {0};
  char msg[1024];
  al_guard_policy *p = NULL;
  if (al_guard_policy_load(policy, &p, &e)) {
    fprintf(stderr, "airlock guard: %s\n", al_error_format(&e, msg, sizeof msg));
    return 2;
  }
  if (check) {
    printf("%s: OK\n", policy);
    al_guard_policy_free(p);
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  int rc = 0;
  /* The changelist folds the add/remove pairs that bufferevents and curl make within one
   * loop turn into at most one epoll_ctl (fewer syscalls per request). */
  struct event_config *cfg = event_config_new();
  if (cfg) event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
  struct event_base *base = cfg ? event_base_new_with_config(cfg) : NULL;
  if (cfg) event_config_free(cfg);
  struct event *sint = NULL, *sterm = NULL;
  al_guard *g = NULL;
  if (!base || al_guard_new(base, p, &g, &e)) {
    fprintf(stderr, "airlock guard: %s\n", base ? al_error_format(&e, msg, sizeof msg) : "no event base");
    rc = 2;
    goto out;
  }
  sint = evsignal_new(base, SIGINT, on_signal, base);
  sterm = evsignal_new(base, SIGTERM, on_signal, base);
  if (sint) evsignal_add(sint, NULL);
  if (sterm) evsignal_add(sterm, NULL);
  if (port_file) {
    FILE *f = fopen(port_file, "w");
    if (!f || fprintf(f, "%d\n", al_guard_port(g)) < 0 || fclose(f)) {
      fprintf(stderr, "airlock guard: cannot write %s\n", port_file);
      rc = 2;
      goto out;
    }
  }
  al_info("guard listening on port %d", al_guard_port(g));
  event_base_dispatch(base);
out:
  al_guard_free(g);
  if (sint) event_free(sint);
  if (sterm) event_free(sterm);
  if (base) event_base_free(base);
  al_guard_policy_free(p);
  return rc;
}
