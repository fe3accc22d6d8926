/* Unit tests of the jail's process API with ordinary programs (/bin/sh, /bin/cat, ...):
 * exit codes, stdio, the clean environment, signal forwarding, nohang waits, setup
 * failures reported with the step that failed, the seccomp allowlist, the outcome's JSON
 * and the probe report. The hostile cases live in tests/jail/. */
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "airlock/jail.h"

/* Run argv jailed with text on stdin; stdout into out. Returns the outcome. */
static al_jail_outcome run(al_jail_policy *p, char *const argv[], const char *in, char *out,
                           size_t n) {
  int ip[2], op[2];
  assert_int_equal(pipe(ip), 0);
  assert_int_equal(pipe(op), 0);
  al_jail_io io = {ip[0], op[1], 2};
  al_jail_proc *j = NULL;
  al_error e;
  al_error_clear(&e);
  int rc = al_jail_spawn(p, argv, &io, &j, &e);
  if (rc) fail_msg("spawn: %s", e.msg);
  close(ip[0]);
  close(op[1]);
  if (in) assert_int_equal(write(ip[1], in, strlen(in)), (ssize_t)strlen(in));
  close(ip[1]);
  size_t used = 0;
  ssize_t r;
  while (used + 1 < n && (r = read(op[0], out + used, n - 1 - used)) > 0) used += (size_t)r;
  out[used] = '\0';
  close(op[0]);
  al_jail_outcome o;
  assert_int_equal(al_jail_wait(j, 0, &o), 1);
  assert_int_equal(al_jail_wait(j, 1, &o), 1); /* stays ended */
  al_jail_proc_free(j);
  return o;
}

static al_jail_policy *policy(const char *yaml) {
  al_jail_policy *p = NULL;
  al_error e;
  if (al_jail_policy_load_text(yaml, strlen(yaml), "t", &p, &e)) fail_msg("%s", e.msg);
  return p;
}

static void exit_code_and_stdio(void **state) {
  al_jail_policy *p = policy("");
  char out[256];
  char *sh[] = {"/bin/sh", "-c", "read x; echo got:$x; exit 3", NULL};
  al_jail_outcome o = run(p, sh, "hello\n", out, sizeof out);
  assert_string_equal(out, "got:hello\n");
  assert_true(o.exited);
  assert_int_equal(o.exit_code, 3);
  assert_null(o.limit);
  assert_true(o.wall_ns > 0);
  assert_true(o.max_rss_kb > 0);
  al_jail_policy_free(p);
}

static void clean_environment(void **state) {
  setenv("AIRLOCK_TEST_SECRET", "leak", 1);
  al_jail_policy *p = policy("");
  assert_int_equal(al_jail_policy_set_env(p, "FOO", "bar"), 0);
  char out[256];
  char *sh[] = {"/bin/sh", "-c", "echo \"$FOO|$HOME|$AIRLOCK_TEST_SECRET|$(id -u)|$(hostname)\"", NULL};
  al_jail_outcome o = run(p, sh, NULL, out, sizeof out);
  assert_true(o.exited && o.exit_code == 0);
  assert_string_equal(out, "bar|/tmp||1000|airlock\n");
  al_jail_policy_free(p);
}

/* A bind under /tmp lands on top of the scratch (a test's mktemp folder, say). */
static void bind_under_tmp(void **state) {
  char dir[] = "/tmp/airlock-jail-test-XXXXXX", file[64];
  assert_non_null(mkdtemp(dir));
  assert_int_equal(chmod(dir, 0755), 0); /* binds keep host permissions */
  snprintf(file, sizeof file, "%s/in.txt", dir);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fputs("bound\n", f);
  fclose(f);
  al_jail_policy *p = policy("");
  assert_int_equal(al_jail_policy_add_bind(p, dir, NULL, 0), 0);
  char out[128], script[160];
  snprintf(script, sizeof script, "cat %s; echo x > /tmp/ok && echo scratch-ok", file);
  char *sh[] = {"/bin/sh", "-c", script, NULL};
  al_jail_outcome o = run(p, sh, NULL, out, sizeof out);
  assert_true(o.exited && o.exit_code == 0);
  assert_string_equal(out, "bound\nscratch-ok\n");
  al_jail_policy_free(p);
  unlink(file);
  rmdir(dir);
}

static void setup_failures(void **state) {
  al_jail_policy *p = policy("");
  al_jail_proc *j = NULL;
  al_error e;
  al_error_clear(&e);
  char *missing[] = {"/no/such/program", NULL};
  assert_int_equal(al_jail_spawn(p, missing, NULL, &j, &e), AL_EJAIL);
  assert_null(j);
  assert_non_null(strstr(e.msg, "'exec'"));
  assert_non_null(strstr(e.msg, "No such file"));
  char *relative[] = {"sh", NULL};
  assert_int_equal(al_jail_spawn(p, relative, NULL, &j, &e), AL_EINVAL);
  al_jail_policy_free(p);
  /* a bind whose host path does not exist */
  p = policy("binds: [/no/such/dir]\n");
  char *t[] = {"/bin/true", NULL};
  assert_int_equal(al_jail_spawn(p, t, NULL, &j, &e), AL_ENOTFOUND);
  assert_non_null(strstr(e.msg, "/no/such/dir"));
  al_jail_policy_free(p);
}

static void signals_and_nohang(void **state) {
  al_jail_policy *p = policy("");
  char *sl[] = {"/bin/sleep", "10", NULL};
  al_jail_proc *j = NULL;
  al_error e;
  assert_int_equal(al_jail_spawn(p, sl, NULL, &j, &e), 0);
  assert_true(al_jail_pid(j) > 0);
  assert_true(al_jail_fd(j) >= 0);
  assert_non_null(strstr(al_jail_scratch(j), "/tmp/airlock-jails"));
  al_jail_outcome o;
  assert_int_equal(al_jail_wait(j, 1, &o), 0);
  assert_int_equal(al_jail_kill(j, SIGTERM), 0); /* forwarded by the jail's init */
  assert_int_equal(al_jail_wait(j, 0, &o), 1);
  assert_true(o.signaled);
  assert_int_equal(o.signal, SIGTERM);
  assert_null(o.limit);
  char scratch[600];
  snprintf(scratch, sizeof scratch, "%s", al_jail_scratch(j));
  assert_int_equal(access(scratch, F_OK), 0);
  al_jail_proc_free(j);
  assert_int_not_equal(access(scratch, F_OK), 0); /* removed */
  /* free while running kills the jail */
  assert_int_equal(al_jail_spawn(p, sl, NULL, &j, &e), 0);
  al_jail_proc_free(j);
  al_jail_policy_free(p);
}

/* The jail dies with its parent: a helper process spawns a jail, reports the init's pid
 * and is SIGKILLed; the init must be gone soon after (PDEATHSIG + channel hang-up). */
static void dies_with_parent(void **state) {
  int pp[2];
  assert_int_equal(pipe(pp), 0);
  pid_t helper = fork();
  if (helper == 0) {
    al_jail_policy *p = policy("");
    char *sl[] = {"/bin/sleep", "30", NULL};
    al_jail_proc *j = NULL;
    al_error e;
    if (al_jail_spawn(p, sl, NULL, &j, &e)) _exit(1);
    pid_t pid = al_jail_pid(j);
    (void)!write(pp[1], &pid, sizeof pid);
    pause();
    _exit(0);
  }
  close(pp[1]);
  pid_t init = 0;
  assert_int_equal(read(pp[0], &init, sizeof init), (ssize_t)sizeof init);
  close(pp[0]);
  assert_int_equal(kill(init, 0), 0);
  kill(helper, SIGKILL);
  waitpid(helper, NULL, 0);
  int gone = 0;
  for (int i = 0; i < 200 && !gone; i++) {
    gone = kill(init, 0) != 0 && errno == ESRCH;
    char path[64], stat[256] = "";
    snprintf(path, sizeof path, "/proc/%d/stat", (int)init);
    FILE *f = fopen(path, "r");
    if (f) { /* a zombie waiting for the host's init to reap it is gone too */
      if (fgets(stat, sizeof stat, f) && strstr(stat, ") Z ")) gone = 1;
      fclose(f);
    }
    if (!gone) usleep(5000);
  }
  assert_true(gone);
}

/* Without root there is no size-limited scratch: the jail refuses and names it. */
static void refuses_missing_mechanism(void **state) {
  if (geteuid() != 0) skip();
  pid_t pid = fork();
  if (pid == 0) {
    if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) _exit(3);
    al_jail_policy *p = policy("");
    char *t[] = {"/bin/true", NULL};
    al_jail_proc *j = NULL;
    al_error e;
    al_error_clear(&e);
    int rc = al_jail_spawn(p, t, NULL, &j, &e);
    _exit(rc == AL_EJAIL && strstr(e.msg, "'scratch_size'") ? 0 : 4);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

/* Several threads spawn at once (the runner's shape) while another thread keeps
 * allocating: each jail must end with its own exit code. */
static al_jail_policy *shared_policy;
static volatile int stop_alloc;

static void *spawner(void *arg) {
  intptr_t id = (intptr_t)arg;
  for (int k = 0; k < 3; k++) {
    char code[8], script[64];
    snprintf(code, sizeof code, "%d", (int)(id * 10 + k));
    snprintf(script, sizeof script, "exit %s", code);
    char *sh[] = {"/bin/sh", "-c", script, NULL};
    al_jail_proc *j = NULL;
    al_error e;
    if (al_jail_spawn(shared_policy, sh, NULL, &j, &e)) {
      fprintf(stderr, "# spawn: %s\n", e.msg);
      return (void *)1;
    }
    al_jail_outcome o;
    int rc = al_jail_wait(j, 0, &o);
    al_jail_proc_free(j);
    if (rc != 1 || !o.exited || o.exit_code != atoi(code)) {
      fprintf(stderr, "# jail %s: %s\n", code, o.detail);
      return (void *)1;
    }
  }
  return NULL;
}

static void *allocator(void *arg) {
  (void)arg;
  while (!stop_alloc) free(malloc(1 + (size_t)(rand() % 4096)));
  return NULL;
}

static void concurrent_spawns(void **state) {
  shared_policy = policy("");
  pthread_t t[4], a;
  stop_alloc = 0;
  assert_int_equal(pthread_create(&a, NULL, allocator, NULL), 0);
  for (intptr_t i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, spawner, (void *)i), 0);
  int bad = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += r != NULL;
  }
  stop_alloc = 1;
  pthread_join(a, NULL);
  assert_int_equal(bad, 0);
  al_jail_policy_free(shared_policy);
}

static void seccomp_allowlist(void **state) {
  /* only read/write/exit allowed: the dynamic loader's first mmap fails, no clean exit */
  al_jail_policy *p = policy("seccomp: {mode: allowlist, allow: [read, write]}\n");
  char out[64];
  char *t[] = {"/bin/true", NULL};
  al_jail_outcome o = run(p, t, NULL, out, sizeof out);
  assert_false(o.exited && o.exit_code == 0);
  al_jail_policy_free(p);
}

static void outcome_json(void **state) {
  al_jail_outcome o = {0};
  o.signaled = 1;
  o.signal = 9;
  o.oom_killed = 1;
  o.limit = "memory";
  o.wall_ns = 1500;
  o.max_rss_kb = 42;
  snprintf(o.detail, sizeof o.detail, "quote \" here");
  char buf[512];
  int n = al_jail_outcome_json(&o, buf, sizeof buf);
  assert_true(n > 0);
  assert_string_equal(buf, "{\"exited\":false,\"exit_code\":0,\"signaled\":true,\"signal\":9,"
                           "\"oom_killed\":true,\"limit\":\"memory\",\"wall_ns\":1500,"
                           "\"max_rss_kb\":42,\"detail\":\"quote \\\" here\"}");
  assert_int_equal(al_jail_outcome_json(&o, buf, 20), AL_ELIMIT);
  o.limit = NULL;
  assert_true(al_jail_outcome_json(&o, buf, sizeof buf) > 0);
  assert_non_null(strstr(buf, "\"limit\":null"));
}

static void probe_report(void **state) {
  char report[2048];
  int missing = al_jail_probe(report, sizeof report);
  assert_true(missing >= 0);
  assert_non_null(strstr(report, "landlock: "));
  assert_non_null(strstr(report, "seccomp: "));
  assert_non_null(strstr(report, "cgroup: "));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(exit_code_and_stdio), cmocka_unit_test(clean_environment),
      cmocka_unit_test(bind_under_tmp),
      cmocka_unit_test(setup_failures),      cmocka_unit_test(signals_and_nohang),
      cmocka_unit_test(seccomp_allowlist),   cmocka_unit_test(outcome_json),
      cmocka_unit_test(probe_report),        cmocka_unit_test(dies_with_parent),
      cmocka_unit_test(refuses_missing_mechanism), cmocka_unit_test(concurrent_spawns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
