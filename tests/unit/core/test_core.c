/* Unit tests of src/core: bounded buffers, errors, hashing, the seeded PRNG, torture. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airlock/buf.h"
#include "airlock/error.h"
#include "airlock/util.h"
#include "core/jarena.h"
#include "core/limits.h"
#include "core/sha256.h"

#include <sodium.h>

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

static void hex32(const unsigned char *h, char out[65]) {
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* al_sha256 (OpenSSL): FIPS 180-2 vectors, a copied midstate, and libsodium's digest of the
 * same bytes fed in uneven pieces, every length up to 300. */
static void sha256_openssl(void **state) {
  static const struct {
    const char *in;
    const char *want;
  } v[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  unsigned char h[AL_SHA256_BYTES], g[crypto_hash_sha256_BYTES];
  char hex[65];
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    al_sha256 s;
    al_sha256_init(&s);
    al_sha256_update(&s, v[i].in, strlen(v[i].in));
    al_sha256_final(&s, h);
    hex32(h, hex);
    assert_string_equal(hex, v[i].want);
  }
  al_sha256 m; /* a million 'a' through a midstate copied at 64 bytes */
  char a[1000];
  memset(a, 'a', sizeof a);
  al_sha256_init(&m);
  al_sha256_update(&m, a, 64);
  al_sha256 c = m;
  al_sha256_update(&c, a, 1000 - 64);
  for (int i = 1; i < 1000; i++) al_sha256_update(&c, a, sizeof a);
  al_sha256_final(&c, h);
  hex32(h, hex);
  assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  unsigned char buf[300];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 131 + 7);
  for (size_t n = 0; n <= sizeof buf; n++) {
    al_sha256 s;
    al_sha256_init(&s);
    size_t at = 0, step = 1;
    while (at < n) {
      size_t k = n - at < step ? n - at : step;
      al_sha256_update(&s, buf + at, k);
      at += k;
      step = step * 3 + 1;
    }
    al_sha256_final(&s, h);
    crypto_hash_sha256(g, buf, n);
    assert_memory_equal(h, g, sizeof g);
  }
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

/* The JSON arena: trees parse the same as with json_loadb, nest in stack order, a tree too
 * big for the block comes from malloc, a parse error leaves nothing behind, and a thread
 * gets its own block (freed when it ends). Under ASan the arena is off and the same holds. */
static void *jarena_thread(void *arg) {
  size_t m;
  json_t *o = al_jarena_loadb("{\"t\": [1, 2, 3]}", 16, 0, NULL, &m);
  *(int *)arg = o && json_array_size(json_object_get(o, "t")) == 3;
  al_jarena_release(o, m);
  return NULL;
}

static void jarena(void **state) {
  (void)state;
  al_jarena_install();
  al_jarena_install(); /* idempotent */
  size_t m1, m2, m3;
  const char *a = "{\"choices\": [{\"message\": {\"content\": \"hi\"}}], \"n\": 3}";
  json_t *t1 = al_jarena_loadb(a, strlen(a), 0, NULL, &m1);
  assert_non_null(t1);
  json_t *t2 = al_jarena_loadb("[true, null, \"x\"]", 17, 0, NULL, &m2);
  assert_non_null(t2);
  assert_true(m2 >= m1);
  json_t *ref = json_loads(a, 0, NULL);
  assert_true(json_equal(t1, ref));
  json_decref(ref);
  /* nodes added to an arena tree come from malloc and go with it */
  json_object_set_new(t1, "added", json_string("later"));
  assert_string_equal(json_string_value(json_object_get(t1, "added")), "later");
  /* a copy made out of the tree outlives it */
  json_t *copy = json_deep_copy(json_array_get(json_object_get(t1, "choices"), 0));
  al_jarena_release(t2, m2);
  al_jarena_release(t1, m1);
  assert_string_equal(json_string_value(json_object_get(json_object_get(copy, "message"), "content")), "hi");
  json_decref(copy);
  /* a parse error: NULL, the error filled, the block rewound */
  json_error_t je;
  assert_null(al_jarena_loadb("{\"a\": [1, 2", 11, 0, &je, &m3));
  assert_true(je.line >= 1);
  al_jarena_release(NULL, m3);
  assert_int_equal(m3, m1);
  /* bigger than the block: parsed all the same */
  size_t n = AL_JSON_ARENA_BYTES / 4;
  char *big = malloc(n * 6 + 16);
  assert_non_null(big);
  size_t k = 0;
  big[k++] = '[';
  for (size_t i = 0; i < n; i++) k += (size_t)sprintf(big + k, "%s1", i ? ", " : "");
  big[k++] = ']';
  json_t *tb = al_jarena_loadb(big, k, 0, NULL, &m3);
  assert_non_null(tb);
  assert_int_equal(json_array_size(tb), n);
  al_jarena_release(tb, m3);
  /* dropped (only read): a tree in the block, and one that spilled out of it */
  size_t m4, m5;
  json_t *td = al_jarena_loadb(a, strlen(a), 0, NULL, &m4);
  assert_int_equal(json_integer_value(json_object_get(td, "n")), 3);
  al_jarena_drop(td, m4);
  tb = al_jarena_loadb(big, k, 0, NULL, &m5);
  assert_int_equal(json_array_size(tb), n);
  al_jarena_drop(tb, m5);
  td = al_jarena_loadb(a, strlen(a), 0, NULL, &m4);
  assert_int_equal(m4, m1); /* rewound to where it was */
  al_jarena_drop(td, m4);
  free(big);
  /* another thread */
  int ok = 0;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, jarena_thread, &ok), 0);
  pthread_join(th, NULL);
  assert_true(ok);
}

/* al_hex against printf's %02x for every byte value. */
static void hex_all_bytes(void **state) {
  (void)state;
  unsigned char in[256];
  char got[513], want[513];
  for (int i = 0; i < 256; i++) {
    in[i] = (unsigned char)i;
    snprintf(want + 2 * i, 3, "%02x", i);
  }
  al_hex(in, sizeof in, got);
  assert_string_equal(got, want);
  al_hex(in + 200, 19, got); /* sixteen at once, then three one by one */
  want[400 + 38] = '\0';
  assert_string_equal(got, want + 400);
  al_hex(in, 0, got);
  assert_string_equal(got, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buf_limits),    cmocka_unit_test(error_format),
      cmocka_unit_test(sha256_known),  cmocka_unit_test(sha256_openssl),
      cmocka_unit_test(hex_all_bytes),
      cmocka_unit_test(rng_deterministic),
      cmocka_unit_test(torture_fails_nth), cmocka_unit_test(jarena),
  };
  return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
