/* Unit tests of jail policies: the defaults, YAML loading, and the errors a user reads
 * (file:line:column and what was expected) for unknown keys, wrong types, bad numbers,
 * unknown mechanisms and system calls, bad paths and YAML syntax. Each case is one line:
 * policy text -> expected code and location (or success). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airlock/jail.h"
#include "jail/jail_int.h"

static al_jail_policy *load_ok(const char *text) {
  al_jail_policy *p = NULL;
  al_error e;
  al_error_clear(&e);
  int rc = al_jail_policy_load_text(text, strlen(text), "t.yaml", &p, &e);
  if (rc) fail_msg("unexpected error %d: %s:%d:%d: %s", rc, e.file, e.line, e.col, e.msg);
  return p;
}

static void load_err(const char *text, int code, int line, int col, const char *needle) {
  al_jail_policy *p = NULL;
  al_error e;
  al_error_clear(&e);
  int rc = al_jail_policy_load_text(text, strlen(text), "t.yaml", &p, &e);
  assert_null(p);
  if (rc != code) fail_msg("text %s: code %d, want %d (%s)", text, rc, code, e.msg);
  assert_string_equal(e.file, "t.yaml");
  if ((line && e.line != line) || (col && e.col != col))
    fail_msg("text %s: at %d:%d, want %d:%d (%s)", text, e.line, e.col, line, col, e.msg);
  if (!strstr(e.msg, needle)) fail_msg("message '%s' lacks '%s'", e.msg, needle);
}

static void defaults(void **state) {
  al_jail_policy *p = NULL;
  assert_int_equal(al_jail_policy_new_default(&p), 0);
  assert_int_equal(p->uid, 1000);
  assert_int_equal(p->system_binds, 1);
  assert_int_equal(p->landlock_tcp_deny, 1);
  assert_int_equal(p->seccomp_mode, AL_SECCOMP_DENYLIST);
  assert_true(p->memory_mb > 0 && p->pids > 0 && p->wall_ms > 0 && p->nofile > 0);
  assert_int_equal(p->as_mb, 0); /* llama.cpp mmaps the model */
  assert_int_equal(p->allow_missing, 0);
  assert_int_equal(p->n_env, 4);
  al_jail_policy_free(p);
  al_jail_policy_free(NULL);
}

static void full_policy(void **state) {
  al_jail_policy *p = load_ok("hostname: box\n"
                              "cwd: /tmp\n"
                              "uid: 2000\n"
                              "binds:\n"
                              "  - {host: /etc/hostname, inside: /model/m.gguf}\n"
                              "  - /usr/share:/share\n"
                              "  - {host: /var/tmp, writable: true}\n"
                              "env: {PATH: /usr/bin, OMP_NUM_THREADS: '2'}\n"
                              "limits: {wall_ms: 1000, memory_mb: 512, pids: 8, as_mb: 0}\n"
                              "landlock: {tcp: allow}\n"
                              "seccomp: {mode: denylist, deny: [getpid]}\n"
                              "allow_missing: [cgroup, timens]\n");
  assert_string_equal(p->hostname, "box");
  assert_int_equal(p->uid, 2000);
  assert_int_equal(p->n_binds, 3);
  assert_string_equal(p->binds[0].inside, "/model/m.gguf");
  assert_string_equal(p->binds[1].host, "/usr/share");
  assert_string_equal(p->binds[1].inside, "/share");
  assert_string_equal(p->binds[2].inside, "/var/tmp");
  assert_int_equal(p->binds[2].writable, 1);
  assert_int_equal(p->n_env, 2); /* env replaces the defaults */
  assert_int_equal(p->wall_ms, 1000);
  assert_int_equal(p->pids, 8);
  assert_int_equal(p->landlock_tcp_deny, 0);
  assert_int_equal(p->n_sys_deny, 1);
  assert_int_equal(p->allow_missing, AL_MECH_CGROUP | AL_MECH_TIMENS);
  al_jail_policy_free(p);
}

static void empty_is_defaults(void **state) {
  al_jail_policy *p = load_ok("");
  assert_int_equal(p->pids, 256);
  al_jail_policy_free(p);
  p = load_ok("# only a comment\n");
  al_jail_policy_free(p);
}

static void errors(void **state) {
  load_err("hostname: a\nbogus: 1\n", AL_EPARSE, 2, 1, "unknown key 'bogus'");
  load_err("limits:\n  pids: many\n", AL_EINVAL, 2, 9, "'pids': expected a whole number");
  load_err("limits:\n  wall_ms: -5\n", AL_EINVAL, 2, 12, "expected a whole number");
  load_err("limits: {memroy_mb: 5}\n", AL_EPARSE, 1, 10, "unknown key 'memroy_mb' in limits");
  load_err("limits: 5\n", AL_EPARSE, 1, 9, "expected a mapping");
  load_err("binds: /usr\n", AL_EPARSE, 1, 8, "expected a list");
  load_err("binds:\n  - {host: usr}\n", AL_EINVAL, 2, 0, "absolute paths");
  load_err("binds:\n  - {host: /usr, inside: /a/../b}\n", AL_EINVAL, 2, 0, "without '..'");
  load_err("binds:\n  - {inside: /x}\n", AL_EPARSE, 2, 0, "needs 'host:'");
  load_err("binds:\n  - {host: /usr, mode: rw}\n", AL_EPARSE, 2, 18, "unknown key 'mode' in a bind");
  load_err("allow_missing: [landlock, magic]\n", AL_EINVAL, 1, 27, "unknown mechanism 'magic'");
  load_err("seccomp: {deny: [getpid, notacall]}\n", AL_EINVAL, 1, 26, "unknown system call 'notacall'");
  load_err("seccomp: {mode: allowlist}\n", AL_EINVAL, 0, 0, "needs an 'allow:' list");
  load_err("seccomp: {mode: lax}\n", AL_EINVAL, 1, 17, "expected denylist or allowlist");
  load_err("landlock: {tcp: maybe}\n", AL_EINVAL, 1, 17, "expected deny or allow");
  load_err("system_binds: perhaps\n", AL_EINVAL, 1, 15, "expected true or false");
  load_err("env: {'1BAD': x}\n", AL_EINVAL, 1, 8, "not a valid variable name");
  load_err("uid: 0\n", AL_EINVAL, 1, 6, "whole number in 1..65533");
  load_err("cwd: tmp\n", AL_EINVAL, 1, 6, "absolute path");
  load_err("hostname: [a, b]\n", AL_EPARSE, 1, 12, "expected a plain value");
  load_err("a: b: c\n", AL_EPARSE, 1, 5, "YAML syntax error");
  load_err("x: 1\na: b: c\n", AL_EPARSE, 2, 5, "YAML syntax error");
  load_err("key: 1\nkey: 2\n", AL_EPARSE, 0, 0, "YAML syntax error"); /* duplicate key */
  load_err("- a\n- b\n", AL_EPARSE, 1, 3, "expected a mapping");
}

static void api_setters(void **state) {
  al_jail_policy *p = NULL;
  assert_int_equal(al_jail_policy_new_default(&p), 0);
  assert_int_equal(al_jail_policy_add_bind(p, "relative", NULL, 0), AL_EINVAL);
  assert_int_equal(al_jail_policy_add_bind(p, "/usr", "/", 0), AL_EINVAL);
  assert_int_equal(al_jail_policy_add_bind(p, "/usr", "/x/..", 0), AL_EINVAL);
  assert_int_equal(al_jail_policy_add_bind(p, "/usr/..x", NULL, 0), 0); /* not a '..' part */
  assert_int_equal(al_jail_policy_add_bind(p, "/usr", "/proc", 0), AL_EINVAL);
  assert_int_equal(al_jail_policy_add_bind(p, "/usr", "/dev/sda", 0), AL_EINVAL);
  assert_int_equal(al_jail_policy_add_bind(p, "/usr", "/tmpx", 0), 0);
  assert_int_equal(al_jail_policy_set_env(p, "A=B", "x"), AL_EINVAL);
  assert_int_equal(al_jail_policy_set_env(p, "HOME", "/data"), 0);
  assert_int_equal(p->n_env, 4); /* replaced, not added */
  assert_int_equal(al_jail_policy_set_env(p, "HOME", NULL), 0);
  assert_int_equal(p->n_env, 3);
  for (int i = 0; i < AL_JAIL_MAX_BINDS - 2; i++)
    assert_int_equal(al_jail_policy_add_bind(p, "/usr", "/u", 0), 0);
  assert_int_equal(al_jail_policy_add_bind(p, "/usr", "/u", 0), AL_ELIMIT);
  assert_int_equal(al_jail_policy_set_wall_ms(p, -1), AL_EINVAL);
  al_jail_policy_free(p);
}

static void file_errors(void **state) {
  al_jail_policy *p = NULL;
  al_error e;
  al_error_clear(&e);
  assert_int_not_equal(al_jail_policy_load("/nonexistent/policy.yaml", &p, &e), 0);
  assert_null(p);
  assert_string_equal(e.file, "/nonexistent/policy.yaml");
}

/* The sample policies the project ships must load. */
static void examples_load(void **state) {
  const char *src = getenv("AIRLOCK_SRC");
  if (!src) skip();
  const char *names[] = {"default.yaml", "llama-server.yaml", "hostile-tests.yaml"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/policies/%s", src, names[i]);
    al_jail_policy *p = NULL;
    al_error e;
    al_error_clear(&e);
    if (al_jail_policy_load(path, &p, &e))
      fail_msg("%s:%d:%d: %s", e.file, e.line, e.col, e.msg);
    al_jail_policy_free(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults),    cmocka_unit_test(full_policy),
      cmocka_unit_test(empty_is_defaults), cmocka_unit_test(errors),
      cmocka_unit_test(api_setters), cmocka_unit_test(file_errors),
      cmocka_unit_test(examples_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
