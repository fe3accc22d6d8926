/* Unit tests of src/core: bounded buffers, errors, hashing, the seeded PRNG, torture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "airlock/buf.h"
#include "airlock/error.h"
#include "airlock/util.h"

static void buf_limits(void **state) {
  al_buf b;
  al_buf_init(&b, 8);
  assert_int_equal(al_buf_puts(&b, "abcd"), 0);
  assert_int_equal(al_buf_printf(&b, "%d", 1234), 0);
  assert_string_equal(b.data, "abcd1234");
  assert_int_equal(al_buf_putc(&b, 'x'), AL_ELIMIT);
  assert_int_equal(b.len, 8);
  al_buf_consume(&b, 2);
  assert_string_equal(b.data, "cd1234");
  al_buf_cleanup(&b);
}

static void error_format(void **state) {
  al_error e;
  char out[600];
  al_error_at(&e, AL_EPARSE, "suite.yaml", 3, 7, "expected a mapping");
  assert_string_equal(al_error_format(&e, out, sizeof out), "suite.yaml:3:7: expected a mapping");
  al_error_set(&e, AL_EIO, "plain");
  assert_string_equal(al_error_format(&e, out, sizeof out), "plain");
}

static void sha256_known(void **state) {
  char h[65];
  al_sha256_hex("abc", 3, h);
  assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void rng_deterministic(void **state) {
  al_rng a, b;
  al_rng_seed(&a, 42);
  al_rng_seed(&b, 42);
  for (int i = 0; i < 100; i++) assert_true(al_rng_next(&a) == al_rng_next(&b));
  for (int i = 0; i < 1000; i++) assert_true(al_rng_below(&a, 7) < 7);
}

static void torture_fails_nth(void **state) {
  al_torture_set(2);
  void *p1 = al_malloc(10);
  void *p2 = al_malloc(10);
  void *p3 = al_malloc(10);
  al_torture_set(0);
  assert_non_null(p1);
  assert_null(p2);
  assert_non_null(p3);
  al_free(p1);
  al_free(p3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buf_limits),    cmocka_unit_test(error_format),
      cmocka_unit_test(sha256_known),  cmocka_unit_test(rng_deterministic),
      cmocka_unit_test(torture_fails_nth),
  };
  return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
