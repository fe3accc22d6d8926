/* Unit tests of src/llama/text.c and logits.c: UTF-8 streaming across token boundaries,
 * replacement of ill-formed bytes, stop-string search, and the softmax statistics checked
 * against a naive double-precision reference. No libllama needed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "llama/logits.h"
#include "llama/text.h"

#define REPL "\xEF\xBF\xBD"

/* Push s in pieces of `step` bytes; return the streamed output (flushed). */
static char *stream_in_steps(const char *s, size_t n, size_t step) {
  al_utf8_stream u = {0};
  al_buf out;
  al_buf_init(&out, 1 << 16);
  for (size_t i = 0; i < n; i += step) {
    size_t k = n - i < step ? n - i : step;
    assert_int_equal(al_utf8_stream_push(&u, s + i, k, &out), 0);
  }
  assert_int_equal(al_utf8_stream_flush(&u, &out), 0);
  return al_buf_steal(&out, NULL);
}

static void utf8_split_everywhere(void **state) {
  const char *s = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9D\x84\x9E end"; /* é € 𝄞 */
  for (size_t step = 1; step <= 5; step++) {
    char *o = stream_in_steps(s, strlen(s), step);
    assert_string_equal(o, s);
    al_free(o);
  }
}

static void utf8_holds_partial_tail(void **state) {
  al_utf8_stream u = {0};
  al_buf out;
  al_buf_init(&out, 256);
  assert_int_equal(al_utf8_stream_push(&u, "ab\xE2\x82", 4, &out), 0);
  assert_string_equal(out.data, "ab"); /* the euro sign is not complete yet */
  assert_int_equal(u.n, 2);
  al_buf_reset(&out);
  assert_int_equal(al_utf8_stream_push(&u, "\xAC!", 2, &out), 0);
  assert_string_equal(out.data, "\xE2\x82\xAC!");
  assert_int_equal(u.n, 0);
  /* a tail that never completes becomes one U+FFFD at the end */
  al_buf_reset(&out);
  assert_int_equal(al_utf8_stream_push(&u, "x\xF0\x9D", 3, &out), 0);
  assert_int_equal(al_utf8_stream_flush(&u, &out), 0);
  assert_string_equal(out.data, "x" REPL);
  al_buf_cleanup(&out);
}

static void utf8_replaces_ill_formed(void **state) {
  struct {
    const char *in, *want;
  } cases[] = {
      {"a\xC0\x80z", "a" REPL REPL "z"},         /* overlong NUL */
      {"\xED\xA0\x80", REPL REPL REPL},          /* surrogate D800 */
      {"\xF4\x90\x80\x80", REPL REPL REPL REPL}, /* past U+10FFFF */
      {"\x80x", REPL "x"},                       /* stray continuation */
      {"\xE2\x82z", REPL "z"},                   /* truncated, then ASCII */
      {"\xFF", REPL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    al_buf out;
    al_buf_init(&out, 256);
    assert_int_equal(al_utf8_sanitize(cases[i].in, strlen(cases[i].in), &out), 0);
    assert_string_equal(out.data, cases[i].want);
    al_buf_cleanup(&out);
    char *o = stream_in_steps(cases[i].in, strlen(cases[i].in), 1);
    assert_string_equal(o, cases[i].want); /* byte-by-byte streaming agrees */
    al_free(o);
  }
}

static void stop_find_only_new_part(void **state) {
  char *stop[] = {"END", "\n\n"};
  const char *t = "story END more\n\n";
  assert_int_equal(al_stop_find(t, strlen(t), 0, stop, 2), 6);
  /* text grew from byte 7: "END" straddles the old part and still counts */
  assert_int_equal(al_stop_find(t, strlen(t), 7, stop, 2), 6);
  /* from past the first hit: only the later one */
  assert_int_equal(al_stop_find(t, strlen(t), 10, stop, 2), 14);
  assert_int_equal(al_stop_find("abc", 3, 0, stop, 2), -1);
}

/* Naive reference in double. */
static void reference(const float *l, int n, int chosen, double *lp, double *h) {
  double m = -INFINITY, s = 0, e = 0;
  for (int i = 0; i < n; i++)
    m = l[i] > m ? l[i] : m;
  for (int i = 0; i < n; i++)
    s += exp(l[i] - m);
  for (int i = 0; i < n; i++) {
    double p = exp(l[i] - m) / s;
    if (p > 0) e -= p * log(p);
  }
  *lp = l[chosen] - m - log(s);
  *h = e;
}

static void logits_match_reference(void **state) {
  al_rng r;
  al_rng_seed(&r, 7);
  for (int round = 0; round < 20; round++) {
    int n = 1 + (int)al_rng_below(&r, 32000);
    float *l = al_malloc(sizeof *l * (size_t)n);
    for (int i = 0; i < n; i++)
      l[i] = (float)(al_rng_double(&r) * 30.0 - 15.0);
    int chosen = (int)al_rng_below(&r, (uint64_t)n);
    al_llama_alt top[20];
    al_llama_logit_stats st;
    assert_int_equal(al_llama_logit_stats_compute(l, n, chosen, 20, top, &st), 0);
    double lp, h;
    reference(l, n, chosen, &lp, &h);
    assert_true(fabs(st.logprob - lp) < 1e-3);
    assert_true(fabs(st.entropy - h) < 1e-3 * (1 + h));
    assert_true(st.logprob <= 0);
    assert_true(st.entropy >= 0);
    assert_int_equal(st.n_top, n < 20 ? n : 20);
    for (int j = 0; j < st.n_top; j++) {
      assert_true(top[j].logprob <= 0);
      if (j) assert_true(top[j - 1].logprob >= top[j].logprob);
      double rl, rh;
      reference(l, n, top[j].token, &rl, &rh);
      assert_true(fabs(top[j].logprob - rl) < 1e-3);
    }
    /* nothing outside the top list beats its last entry */
    int greater = 0;
    for (int i = 0; i < n; i++)
      greater += l[i] > l[top[st.n_top - 1].token];
    assert_true(greater <= st.n_top - 1);
    al_free(l);
  }
}

static void logits_edge_cases(void **state) {
  float uni[256];
  for (int i = 0; i < 256; i++)
    uni[i] = 1.5f;
  al_llama_alt top[4];
  al_llama_logit_stats st;
  assert_int_equal(al_llama_logit_stats_compute(uni, 256, 3, 4, top, &st), 0);
  assert_true(fabs(st.entropy - log(256.0)) < 1e-4);
  assert_true(fabs(st.logprob + log(256.0)) < 1e-4);
  assert_int_equal(top[0].token, 0); /* ties: lower id first */
  assert_int_equal(top[3].token, 3);

  float masked[4] = {-INFINITY, 2.0f, NAN, -INFINITY};
  assert_int_equal(al_llama_logit_stats_compute(masked, 4, 1, 4, top, &st), 0);
  assert_true(fabs(st.logprob) < 1e-6);
  assert_true(st.entropy < 1e-6);
  assert_int_equal(st.n_top, 1);
  assert_int_equal(al_llama_logit_stats_compute(masked, 4, 0, 0, top, &st), 0);
  assert_true(isinf(st.logprob) && st.logprob < 0);

  float none[2] = {-INFINITY, NAN};
  assert_int_equal(al_llama_logit_stats_compute(none, 2, 0, 2, top, &st), -2);
  assert_int_equal(al_llama_logit_stats_compute(uni, 256, 256, 2, top, &st), -2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(utf8_split_everywhere),    cmocka_unit_test(utf8_holds_partial_tail),
      cmocka_unit_test(utf8_replaces_ill_formed), cmocka_unit_test(stop_find_only_new_part),
      cmocka_unit_test(logits_match_reference),   cmocka_unit_test(logits_edge_cases),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
