/* Unit tests of the guard's parts that need no network: the policy loader (good policy,
 * each kind of error with its location), placeholders (redact, restore, partial), request
 * parsing and the input pipeline, non-streaming output checks, and the SSE re-framing with
 * its hold-back window (no byte of a secret split across chunks is released). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/guard.h"
#include "airlock/util.h"
#include "guard/guard_int.h"
#include "guard_jfast_diff.h"

/* libfyaml 0.7.12 leaks the diagnostics it collects for a YAML syntax error (inside the
 * library, after fy_diag_unref): not ours to fix, suppressed for LeakSanitizer. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfyaml.so\n"; }

static const char *base_policy =
    "listen: 127.0.0.1:0\n"
    "upstream:\n"
    "  base_url: http://127.0.0.1:9/v1/\n"
    "input:\n"
    "  - detectors: [pii.ipv4]\n"
    "    action: redact\n"
    "    reversible: true\n"
    "  - detectors: [secret.aws_access_key]\n"
    "    action: block\n"
    "output:\n"
    "  - detectors: [pii.credit_card]\n"
    "    action: redact\n"
    "  - detectors: [secret.aws_access_key]\n"
    "    action: block\n";

static al_guard_policy *load(const char *text, al_error *e) {
  al_guard_policy *p = NULL;
  memset(e, 0, sizeof *e);
  al_guard_policy_load_text(text, strlen(text), "p.yaml", &p, e);
  return p;
}

static void test_policy_ok(void **state) {
  al_error e;
  al_guard_policy *p = load(base_policy, &e);
  if (!p) fail_msg("%s:%d:%d: %s", e.file, e.line, e.col, e.msg);
  assert_string_equal(p->upstream_base, "http://127.0.0.1:9/v1");
  assert_int_equal(p->listen_port, 0);
  assert_int_equal(p->in.n, 2);
  assert_int_equal(p->out.n, 2);
  assert_non_null(p->in.db);
  assert_int_equal(p->in.st[0].action, G_REDACT);
  assert_true(p->in.st[0].reversible);
  assert_int_equal(p->out.st[1].action, G_BLOCK);
  al_guard_policy_free(p);
}

typedef struct bad_case {
  const char *yaml;
  int line, col;
  const char *msg;
} bad_case;

static void test_policy_errors(void **state) {
  static const bad_case cases[] = {
      {"listen: 127.0.0.1:0\nupstream: {base_url: http://x/v1}\nbogus: 1\n", 3, 1, "unknown key 'bogus'"},
      {"listen: nowhere\nupstream: {base_url: http://x/v1}\n", 1, 1, "HOST:PORT"},
      {"listen: 127.0.0.1:0\n", 1, 1, "upstream"},
      {"listen: 127.0.0.1:0\nupstream: {base_url: ftp://x}\n", 2, 0, "http://"},
      {"listen: 127.0.0.1:0\nupstream: {base_url: http://x}\ninput:\n  - detectors: [pii.nope]\n    action: block\n", 4, 0, "unknown detector 'pii.nope'"},
      {"listen: 127.0.0.1:0\nupstream: {base_url: http://x}\ninput:\n  - detectors: [pii]\n    action: zap\n", 5, 0, "allow, redact, retry or block"},
      {"listen: 127.0.0.1:0\nupstream: {base_url: http://x}\ninput:\n  - detectors: [pii]\n    action: retry\n", 5, 0, "output action"},
      {"listen: 127.0.0.1:0\nupstream: {base_url: http://x}\noutput:\n  - schema: /nonexistent.json\n    action: retry\n", 4, 0, "nonexistent"},
      {"listen: 127.0.0.1:0\nupstream: {base_url: http://x}\nclients:\n  - name: a\n    key_sha256: abc\n", 5, 0, "64 lowercase hex"},
      {"listen: 127.0.0.1:0\nupstream: {base_url: http://x}\nroutes:\n  /v2/x: {}\n", 4, 0, "unknown route"},
      {"listen: 127.0.0.1:0\nupstream: {base_url: http://x, timeout: soon}\n", 2, 0, "duration"},
      {"listen: 127.0.0.1:0\nupstream: {base_url: http://x}\naudit: {dir: /tmp/x}\n", 3, 0, "key"},
      {"listen: [1\n", -1, 0, "closing bracket"},
      {"listen: 127.0.0.1:0\nupstream: {base_url: http://x}\notlp: {service_name: s}\n", 3, 0, "endpoint"},
      {"listen: 127.0.0.1:0\n%\x99x\n", 2, 2, "UTF-8"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    al_error e;
    al_guard_policy *p = load(cases[i].yaml, &e);
    if (p) fail_msg("case %zu loaded", i);
    assert_string_equal(e.file, "p.yaml");
    if (cases[i].line >= 0 && e.line != cases[i].line) fail_msg("case %zu: line %d, expected %d (%s)", i, e.line, cases[i].line, e.msg);
    if (cases[i].col && e.col != cases[i].col) fail_msg("case %zu: col %d (%s)", i, e.col, e.msg);
    if (!strstr(e.msg, cases[i].msg)) fail_msg("case %zu: message '%s'", i, e.msg);
  }
}

static void test_placeholders(void **state) {
  gmap m = {0};
  gfinds f = {0};
  al_buf out;
  al_buf_init(&out, 1 << 20);
  const char *t = "a 10.0.0.1 b 10.0.0.2 c 10.0.0.1";
  gfind g1 = {2, 10, "pii.ipv4", G_REDACT, 1}, g2 = {13, 21, "pii.ipv4", G_REDACT, 1},
        g3 = {24, 32, "pii.ipv4", G_REDACT, 1};
  al_gfinds_push(&f, &g3);
  al_gfinds_push(&f, &g1);
  al_gfinds_push(&f, &g2);
  assert_int_equal(al_guard_redact(t, strlen(t), 0, &f, &m, &out), 0);
  assert_string_equal(out.data, "a [IPV4_1] b [IPV4_2] c [IPV4_1]");
  al_buf back;
  al_buf_init(&back, 1 << 20);
  const char *answer = "saw [IPV4_2] and [IPV4_1], not [IPV4_3] or [IPV4_";
  assert_int_equal(al_guard_restore(answer, strlen(answer), &m, &back), 0);
  assert_string_equal(back.data, "saw 10.0.0.2 and 10.0.0.1, not [IPV4_3] or [IPV4_");
  assert_int_equal(al_guard_partial_placeholder("x [IPV4_", 8), 6);
  assert_int_equal(al_guard_partial_placeholder("x [IPV4_1]", 10), 0);
  assert_int_equal(al_guard_partial_placeholder("x [ip", 5), 0);
  assert_int_equal(al_guard_partial_placeholder("x [", 3), 1);
  al_buf_cleanup(&out);
  al_buf_cleanup(&back);
  al_gfinds_cleanup(&f);
  al_gmap_cleanup(&m);
}

static void test_request_and_input(void **state) {
  al_error e;
  al_guard_policy *p = load(base_policy, &e);
  assert_non_null(p);
  al_scanner *s = NULL;
  assert_int_equal(al_scanner_new(p->in.db, &s), 0);
  char why[256];
  greq r;
  const char *bad[] = {"{", "[]", "{\"model\":1}", "{\"model\":\"m\"}", "{\"model\":\"m\",\"messages\":[]}",
                       "{\"model\":\"m\",\"messages\":[1]}", "{\"model\":\"m\",\"messages\":[{\"content\":5}]}",
                       "{\"model\":\"m\",\"stream\":\"yes\",\"messages\":[{\"content\":\"x\"}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(al_guard_request_parse(G_ROUTE_CHAT, bad[i], strlen(bad[i]), &r, why, sizeof why), AL_EPARSE);
    assert_true(strlen(why) > 5);
  }
  const char *ok = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"host 10.1.2.3 ok\"},"
                   "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"and 10.9.9.9\"}]}]}";
  assert_int_equal(al_guard_request_parse(G_ROUTE_CHAT, ok, strlen(ok), &r, why, sizeof why), 0);
  assert_int_equal(r.n, 2);
  assert_true(r.stream);
  assert_string_equal(r.slots[1].where, "messages[1].content[0].text");
  gmap m = {0};
  gfinds all = {0};
  const gfind *blocked = NULL;
  const char *where = NULL;
  int changed = 0;
  assert_int_equal(al_guard_input(&p->in, s, &r, &m, &all, &blocked, &where, &changed, NULL), 0);
  assert_null(blocked);
  assert_true(changed);
  assert_string_equal(json_string_value(r.slots[0].str), "host [IPV4_1] ok");
  assert_string_equal(json_string_value(r.slots[1].str), "and [IPV4_2]");
  assert_int_equal(all.n, 2);
  al_guard_request_cleanup(&r);

  const char *sec = "{\"model\":\"m\",\"prompt\":[\"fine\",\"key AKIAIOSFODNN7EXAMPLE here\"]}";
  assert_int_equal(al_guard_request_parse(G_ROUTE_COMPLETIONS, sec, strlen(sec), &r, why, sizeof why), 0);
  assert_int_equal(al_guard_input(&p->in, s, &r, &m, &all, &blocked, &where, &changed, NULL), 0);
  assert_non_null(blocked);
  assert_string_equal(blocked->detector, "secret.aws_access_key");
  assert_string_equal(where, "prompt[1]");
  al_guard_request_cleanup(&r);
  al_gmap_cleanup(&m);
  al_gfinds_cleanup(&all);
  al_scanner_free(s);
  al_guard_policy_free(p);
}

static void test_output(void **state) {
  al_error e;
  al_guard_policy *p = load(base_policy, &e);
  al_scanner *s = NULL;
  assert_int_equal(al_scanner_new(p->out.db, &s), 0);
  gmap m = {0};
  gfinds all = {0};
  gfind g = {0, 8, "pii.ipv4", G_REDACT, 1};
  al_gfinds_push(&all, &g);
  al_buf tmp;
  al_buf_init(&tmp, 1024);
  al_guard_redact("10.1.2.3", 8, 0, &all, &m, &tmp); /* registers [IPV4_1] */
  al_buf_cleanup(&tmp);
  gout_result res;
  char *body = NULL;
  size_t len = 0;
  const char *ans = "{\"choices\":[{\"message\":{\"content\":\"[IPV4_1] paid with 4111 1111 1111 1111.\"}}]}";
  assert_int_equal(al_guard_output(&p->out, s, G_ROUTE_CHAT, ans, strlen(ans), &m, &all, &res, &body, &len, NULL), 0);
  assert_int_equal(res.verdict, G_ALLOW);
  assert_false(res.unchanged);
  assert_non_null(strstr(body, "10.1.2.3 paid with [CREDIT_CARD_1]."));
  free(body);
  const char *clean = "{\"choices\":[{\"message\":{\"content\":\"nothing here\"}}]}";
  assert_int_equal(al_guard_output(&p->out, s, G_ROUTE_CHAT, clean, strlen(clean), &m, &all, &res, &body, &len, NULL), 0);
  assert_int_equal(res.verdict, G_ALLOW);
  assert_true(res.unchanged);
  assert_null(body);
  const char *leak = "{\"choices\":[{\"text\":\"use AKIAIOSFODNN7EXAMPLE\"}]}";
  assert_int_equal(al_guard_output(&p->out, s, G_ROUTE_COMPLETIONS, leak, strlen(leak), &m, &all, &res, &body, &len, NULL), 0);
  assert_int_equal(res.verdict, G_BLOCK);
  assert_null(body);
  assert_non_null(strstr(res.why, "choices[0].text"));
  assert_int_equal(al_guard_output(&p->out, s, G_ROUTE_CHAT, "nope", 4, &m, &all, &res, &body, &len, NULL), AL_EPARSE);
  al_gmap_cleanup(&m);
  al_gfinds_cleanup(&all);
  al_scanner_free(s);
  al_guard_policy_free(p);
}

/* ---- the JSON fast path against jansson (src/guard/jfast.c) ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned)(rng_state % n);
}

static const char *const frag_text[] = {
    "hello", "host 10.1.2.3 ok", "key AKIAIOSFODNN7EXAMPLE here", "card 4111 1111 1111 1111",
    "[IPV4_1] back", "line\\nbreak", "quote \\\" and \\\\ slash \\/", "caf\\u00e9", "nul \\u0000 x",
    "lone \\ud800 x", "pair \\ud83d\\ude00", "tab\\there", "", "\xc3\xa9t\xc3\xa9", "\xc0\x80 overlong",
    "\x7f del", "[IPV4_", "mixed 10.9.9.9 and [IPV4_1]"};
static const char *const frag_num[] = {"1", "2", "-0", "1.5", "1e5", "1E-400", "99999999999999999999",
                                       "123456789012345678", "0.000000000000000001", "01", "-"};
static const char *const frag_key[] = {"model", "stream", "n", "messages", "prompt", "content", "tool_calls",
                                       "choices", "message", "text", "role", "x", "mod\\u0065l", "content"};

static void gen_value(al_buf *b, int depth);

static void gen_string(al_buf *b) {
  al_buf_printf(b, "\"%s\"", frag_text[rnd(sizeof frag_text / sizeof frag_text[0])]);
}

static void gen_ws(al_buf *b) {
  static const char *const ws[] = {"", "", "", " ", "\n  ", "\t", "\r\n", "\f"};
  al_buf_puts(b, ws[rnd(8)]);
}

static void gen_object(al_buf *b, int depth, const char *const *keys, size_t nkeys) {
  al_buf_putc(b, '{');
  unsigned n = rnd(5);
  for (unsigned i = 0; i < n; i++) {
    if (i) al_buf_putc(b, ',');
    gen_ws(b);
    al_buf_printf(b, "\"%s\":", keys[rnd((unsigned)nkeys)]);
    gen_ws(b);
    gen_value(b, depth + 1);
  }
  al_buf_putc(b, '}');
}

static void gen_value(al_buf *b, int depth) {
  unsigned k = depth > 5 ? rnd(5) : rnd(8);
  switch (k) {
  case 0: case 1: gen_string(b); break;
  case 2: al_buf_puts(b, frag_num[rnd(sizeof frag_num / sizeof frag_num[0])]); break;
  case 3: al_buf_puts(b, rnd(3) == 0 ? "null" : rnd(2) ? "true" : "false"); break;
  case 4: gen_string(b); break;
  case 5: case 6: gen_object(b, depth, frag_key, sizeof frag_key / sizeof frag_key[0]); break;
  default: {
    al_buf_putc(b, '[');
    unsigned n = rnd(4);
    for (unsigned i = 0; i < n; i++) {
      if (i) al_buf_putc(b, ',');
      gen_value(b, depth + 1);
    }
    al_buf_putc(b, ']');
  }
  }
}

/* A body shaped like a request or an answer most of the time, with random detours. */
static void gen_body(al_buf *b) {
  al_buf_reset(b);
  unsigned shape = rnd(4);
  if (shape == 0) {
    gen_value(b, 0);
    return;
  }
  gen_ws(b);
  al_buf_puts(b, "{");
  if (shape == 1 || shape == 2) {
    if (rnd(8)) al_buf_puts(b, "\"model\":\"m\",");
    if (rnd(3) == 0) al_buf_printf(b, "\"stream\":%s,", rnd(4) ? (rnd(2) ? "true" : "false") : "null");
    if (rnd(4) == 0) al_buf_printf(b, "\"n\":%s,", frag_num[rnd(sizeof frag_num / sizeof frag_num[0])]);
    if (shape == 1) {
      al_buf_puts(b, "\"messages\":[");
      unsigned n = rnd(4);
      for (unsigned i = 0; i < n; i++) {
        if (i) al_buf_putc(b, ',');
        if (rnd(10) == 0) gen_value(b, 2);
        else {
          al_buf_puts(b, "{\"role\":\"user\",\"content\":");
          if (rnd(8) == 0) gen_value(b, 3);
          else gen_string(b);
          if (rnd(8) == 0) al_buf_puts(b, ",\"content\":\"again\"");
          al_buf_putc(b, '}');
        }
      }
      al_buf_putc(b, ']');
    } else {
      al_buf_puts(b, "\"prompt\":");
      if (rnd(2)) gen_string(b);
      else {
        al_buf_putc(b, '[');
        unsigned n = rnd(4);
        for (unsigned i = 0; i < n; i++) {
          if (i) al_buf_putc(b, ',');
          if (rnd(8) == 0) gen_value(b, 2);
          else gen_string(b);
        }
        al_buf_putc(b, ']');
      }
    }
  } else {
    al_buf_puts(b, "\"id\":\"x\",\"choices\":[");
    unsigned n = rnd(3);
    for (unsigned i = 0; i < n; i++) {
      if (i) al_buf_putc(b, ',');
      if (rnd(2)) {
        al_buf_puts(b, "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
        if (rnd(8) == 0) gen_value(b, 4);
        else gen_string(b);
        al_buf_puts(b, "}}");
      } else {
        al_buf_puts(b, "{\"text\":");
        if (rnd(8) == 0) gen_value(b, 3);
        else gen_string(b);
        al_buf_puts(b, "}");
      }
    }
    al_buf_puts(b, "],\"usage\":{\"prompt_tokens\":3}");
  }
  if (rnd(6) == 0) {
    al_buf_putc(b, ',');
    gen_object(b, 1, frag_key, sizeof frag_key / sizeof frag_key[0]);
  }
  al_buf_putc(b, '}');
  gen_ws(b);
  if (rnd(10) == 0 && b->len) b->len = rnd((unsigned)b->len); /* cut short */
  if (rnd(10) == 0 && b->len) b->data[rnd((unsigned)b->len)] = (char)rnd(256); /* one byte changed */
}

static void test_fast_json(void **state) {
  al_error e;
  al_guard_policy *p = load(base_policy, &e);
  assert_non_null(p);
  al_scanner *in = NULL, *out = NULL;
  assert_int_equal(al_scanner_new(p->in.db, &in), 0);
  assert_int_equal(al_scanner_new(p->out.db, &out), 0);
  char why[400];
  int taken = 0;
  /* traps: each is where yajl and jansson part ways, or a shape the fast path leaves alone */
  static const char *const traps[] = {
      "{\"model\":\"m\",\"messages\":[{\"content\":\"a\\u0000b\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"\\ud800\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}],\"t\":1e400}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}],\"t\":99999999999999999999}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}],\"model\":\"m\"}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"x\",\"content\":\"y\"}]}",
      "{\"model\":\"m\",\f\"messages\":[{\"content\":\"x\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"\xc0\x80\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"\xed\xa0\x80\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]} x",
      "{\"mod\\u0065l\":\"m\",\"messages\":[{\"content\":\"x\"}]}",
      "{\"model\":\"m\",\"stream\":true,\"n\":2,\"messages\":[{\"content\":\"line\\nbreak \\\"q\\\"\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"host 10.1.2.3\"},{\"content\":\"fine\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"AKIAIOSFODNN7EXAMPLE\"}]}",
      "{\"model\":\"m\",\"messages\":[{\"content\":[{\"type\":\"text\",\"text\":\"10.1.2.3\"}]}]}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"function\":{\"arguments\":\"{}\"}}]}]}",
      "{\"model\":\"m\",\"prompt\":[]}",
      "{\"model\":\"m\",\"prompt\":[\"a\",1]}",
      "{\"choices\":[{\"message\":{\"content\":\"[IPV4_1] is back\"}}]}",
      "{\"choices\":[{\"message\":{\"content\":\"card 4111 1111 1111 1111\"}}]}",
      "{\"choices\":[{\"message\":{\"content\":\"fine\\ntext\"}},{\"message\":{\"content\":null}}]}",
      "{\"choices\":[{\"text\":\"use AKIAIOSFODNN7EXAMPLE\"}]}",
      "{\"choices\":{}}",
      "{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}\"}]}",
      "{\"choices\":[{\"text\":\"x\"}]} \"",
      "[]", "", "   ", "{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}\n"};
  for (size_t i = 0; i < sizeof traps / sizeof traps[0]; i++) {
    int rc = al_test_jfast_diff(p, in, out, traps[i], strlen(traps[i]), why, sizeof why, &taken);
    if (rc) fail_msg("trap %zu: %s", i, why);
  }
  assert_int_equal(taken, 3); /* the three plain requests (11, 13 and the last) went the fast way */
  al_buf b;
  al_buf_init(&b, 1u << 20);
  taken = 0;
  for (int i = 0; i < 4000; i++) {
    gen_body(&b);
    int rc = al_test_jfast_diff(p, in, out, b.data ? b.data : "", b.len, why, sizeof why, &taken);
    if (rc) fail_msg("body %d (%.*s): %s", i, (int)b.len, b.data, why);
  }
  assert_true(taken > 200); /* the generator reaches the fast path often */
  al_buf_cleanup(&b);
  al_scanner_free(in);
  al_scanner_free(out);
  al_guard_policy_free(p);
}

/* ---- the clean-text cache of the input pipeline (scache.c) ---- */

static void input_text(const al_guard_policy *p, al_scanner *s, gscache *cache, const char *body, al_buf *o) {
  greq r;
  char why[256];
  gmap m = {0};
  gfinds all = {0};
  const gfind *blocked = NULL;
  const char *where = NULL;
  int changed = 0;
  assert_int_equal(al_guard_request_parse(G_ROUTE_CHAT, body, strlen(body), &r, why, sizeof why), 0);
  assert_int_equal(al_guard_input(&p->in, s, &r, &m, &all, &blocked, &where, &changed, cache), 0);
  al_buf_printf(o, "changed %d blocked %s %s finds %zu map %zu |", changed, blocked ? blocked->detector : "-",
                where ? where : "-", all.n, m.n);
  for (size_t i = 0; i < all.n; i++)
    al_buf_printf(o, " %s %llu-%llu", all.v[i].detector, (unsigned long long)all.v[i].start,
                  (unsigned long long)all.v[i].end);
  for (size_t i = 0; i < r.n; i++) {
    al_buf_putc(o, ' ');
    al_buf_append(o, r.slots[i].text, r.slots[i].len);
  }
  al_buf_putc(o, '\n');
  al_guard_request_cleanup(&r);
  al_gmap_cleanup(&m);
  al_gfinds_cleanup(&all);
}

static void test_scan_cache(void **state) {
  al_error e;
  al_guard_policy *p = load(base_policy, &e);
  assert_non_null(p);
  al_scanner *s = NULL;
  assert_int_equal(al_scanner_new(p->in.db, &s), 0);
  /* a conversation that grows turn by turn, with clean turns, one to redact and one to
   * block: the same results with and without the cache, and the clean turns come back */
  static const char *const turns[] = {"You are a terse assistant.", "What is a route table?", "host 10.1.2.3 is down",
                                      "It maps prefixes to next hops.", "key AKIAIOSFODNN7EXAMPLE", "thanks",
                                      "and 10.9.9.9?", "You are a terse assistant."};
  /* 4,096 buckets for 5 clean texts: two sharing a bucket (the key is random) would only
   * cost hits, and is rare enough that the bound below holds */
  gscache *cache = al_gscache_new(4096, 1 << 20);
  assert_non_null(cache);
  al_buf with, without, body;
  al_buf_init(&with, 1 << 20);
  al_buf_init(&without, 1 << 20);
  al_buf_init(&body, 1 << 16);
  for (int round = 0; round < 3; round++) {
    for (size_t n = 1; n <= sizeof turns / sizeof turns[0]; n++) {
      al_buf_reset(&body);
      al_buf_puts(&body, "{\"model\":\"m\",\"messages\":[");
      for (size_t i = 0; i < n; i++) al_buf_printf(&body, "%s{\"role\":\"user\",\"content\":\"%s\"}", i ? "," : "", turns[i]);
      al_buf_puts(&body, "]}");
      input_text(p, s, cache, body.data, &with);
      input_text(p, s, NULL, body.data, &without);
    }
  }
  assert_int_equal(with.len, without.len);
  assert_memory_equal(with.data, without.data, with.len);
  uint64_t hits, misses;
  al_gscache_stats(cache, &hits, &misses);
  assert_true(hits > 30);   /* the clean turns were found again (~60 without a shared bucket) */
  assert_true(misses >= 8); /* every text at least once; the three with findings every time */
  al_gscache_free(cache);

  /* bounds: a text over max_bytes / 16 is not kept; the copies stay under max_bytes */
  gscache *small = al_gscache_new(4, 160);
  uint64_t h;
  assert_false(al_gscache_clean(small, "0123456789abc", 13, &h)); /* 13 > 160 / 16 */
  al_gscache_put(small, "0123456789abc", 13, h);
  assert_false(al_gscache_clean(small, "0123456789abc", 13, &h));
  assert_false(al_gscache_clean(small, "short", 5, &h));
  al_gscache_put(small, "short", 5, h);
  assert_true(al_gscache_clean(small, "short", 5, &h));
  assert_false(al_gscache_clean(small, "shorT", 5, &h)); /* exact bytes only */
  al_gscache_free(small);
  al_buf_cleanup(&with);
  al_buf_cleanup(&without);
  al_buf_cleanup(&body);
  al_scanner_free(s);
  al_guard_policy_free(p);
}

/* ---- streams ---- */

typedef struct sink {
  al_buf out;
  size_t first_unsafe; /* bytes emitted when the test checks */
} sink;

static int sink_emit(const char *b, size_t n, void *ud) { return al_buf_append(&((sink *)ud)->out, b, n); }

static void sse_chunk(al_buf *b, const char *text) {
  json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:[{s:i, s:{s:s}, s:n}]}", "id", "c1", "object",
                        "chat.completion.chunk", "created", 7, "model", "m", "choices", "index", 0,
                        "delta", "content", text, "finish_reason");
  char *s = json_dumps(o, JSON_COMPACT);
  al_buf_printf(b, "data: %s\n\n", s);
  free(s);
  json_decref(o);
}

/* Joins the content deltas of an SSE text. Returns 1 when it ended with [DONE]. */
typedef struct joined {
  al_buf text;
  int done, error, chunks;
  char code[64];
} joined;

static int join_cb(const char *ev, const char *data, size_t len, void *ud) {
  joined *j = ud;
  if (len == 6 && !memcmp(data, "[DONE]", 6)) {
    j->done = 1;
    return 0;
  }
  json_t *o = json_loadb(data, len, 0, NULL);
  assert_non_null(o);
  json_t *err = json_object_get(o, "error");
  if (err) {
    j->error = 1;
    snprintf(j->code, sizeof j->code, "%s", json_string_value(json_object_get(err, "code")));
  }
  json_t *c = json_object_get(json_object_get(json_array_get(json_object_get(o, "choices"), 0), "delta"), "content");
  if (json_is_string(c)) al_buf_puts(&j->text, json_string_value(c));
  j->chunks++;
  json_decref(o);
  return 0;
}

static void join(const al_buf *sse, joined *j) {
  al_sse p;
  memset(j, 0, sizeof *j);
  al_buf_init(&j->text, 1 << 20);
  al_sse_init(&p, join_cb, j, 1 << 20);
  assert_int_equal(al_sse_feed(&p, sse->data ? sse->data : "", sse->len), 0);
  al_sse_finish(&p);
  al_sse_cleanup(&p);
}

static void run_stream(const char *text, size_t piece, size_t window, sink *out, int *feed_rc,
                       size_t *max_ahead_leak, const char *secret) {
  al_error e;
  al_guard_policy *p = load(base_policy, &e);
  al_scanner *s = NULL;
  assert_int_equal(al_scanner_new(p->out.db, &s), 0);
  gmap m = {0};
  gfinds all = {0};
  gstream *g = NULL;
  al_buf_init(&out->out, 1 << 22);
  assert_int_equal(al_gstream_new(&p->out, s, G_ROUTE_CHAT, window, 1 << 20, &m, &all, sink_emit, NULL, out, &g), 0);
  *feed_rc = 0;
  size_t n = strlen(text);
  for (size_t i = 0; i < n && !*feed_rc; i += piece) {
    char part[128];
    size_t k = n - i < piece ? n - i : piece;
    memcpy(part, text + i, k);
    part[k] = '\0';
    al_buf b;
    al_buf_init(&b, 1 << 16);
    sse_chunk(&b, part);
    /* feed the SSE bytes themselves in two halves: framing split too */
    size_t half = b.len / 2;
    *feed_rc = al_gstream_feed(g, b.data, half);
    if (!*feed_rc) *feed_rc = al_gstream_feed(g, b.data + half, b.len - half);
    al_buf_cleanup(&b);
    if (secret) { /* no prefix of the secret longer than 3 bytes may be out yet */
      joined j;
      join(&out->out, &j);
      char pre[8];
      snprintf(pre, sizeof pre, "%.4s", secret);
      if (j.text.data && strstr(j.text.data, pre)) (*max_ahead_leak)++;
      al_buf_cleanup(&j.text);
    }
  }
  if (!*feed_rc) {
    const char *done = "data: [DONE]\n\n";
    *feed_rc = al_gstream_feed(g, done, strlen(done));
    if (!*feed_rc) *feed_rc = al_gstream_finish(g);
  }
  al_gstream_free(g);
  al_gmap_cleanup(&m);
  al_gfinds_cleanup(&all);
  al_scanner_free(s);
  al_guard_policy_free(p);
}

static void test_stream_clean(void **state) {
  sink out;
  int rc;
  size_t leaks = 0;
  const char *t = "Hello there, this is a perfectly ordinary answer with nothing to hide. It goes on "
                  "for a while so that the hold-back window (the widest pattern of the output "
                  "detectors, about ninety bytes here, plus the policy window) is passed several "
                  "times and text flows to the client while the model is still writing.";
  run_stream(t, 3, 8, &out, &rc, &leaks, NULL);
  assert_int_equal(rc, 0);
  joined j;
  join(&out.out, &j);
  assert_string_equal(j.text.data, t);
  assert_true(j.done);
  assert_false(j.error);
  assert_true(j.chunks > 3); /* released progressively, not all at the end */
  al_buf_cleanup(&j.text);
  al_buf_cleanup(&out.out);
}

static void test_stream_block_split_secret(void **state) {
  sink out;
  int rc;
  size_t leaks = 0;
  const char *t = "Sure. Here is a long preamble that says nothing much at all, only words to pass "
                  "the hold-back window before the secret arrives. The key is AKIAIOSFODNN7EXAMPLE "
                  "and that is all you need to know.";
  run_stream(t, 2, 0, &out, &rc, &leaks, "AKIA");
  assert_int_equal(rc, AL_EINTEGRITY);
  assert_int_equal(leaks, 0);
  joined j;
  join(&out.out, &j);
  assert_true(j.error);
  assert_string_equal(j.code, "output_blocked");
  assert_true(j.done);
  assert_null(j.text.data ? strstr(j.text.data, "AKIA") : NULL);
  assert_non_null(j.text.data ? strstr(j.text.data, "Sure.") : NULL); /* text before it flowed */
  al_buf_cleanup(&j.text);
  al_buf_cleanup(&out.out);
}

static void test_stream_redact_split_card(void **state) {
  sink out;
  int rc;
  size_t leaks = 0;
  const char *t = "Your card 4111 1111 1111 1111 is on file. Nothing else is stored, and this "
                  "sentence runs on for a while so that text is released before the end.";
  run_stream(t, 3, 4, &out, &rc, &leaks, "4111");
  assert_int_equal(rc, 0);
  assert_int_equal(leaks, 0);
  joined j;
  join(&out.out, &j);
  assert_string_equal(j.text.data, "Your card [CREDIT_CARD_1] is on file. Nothing else is stored, and this "
                                   "sentence runs on for a while so that text is released before the end.");
  assert_true(j.done);
  al_buf_cleanup(&j.text);
  al_buf_cleanup(&out.out);
}

static void test_stream_bad_upstream(void **state) {
  al_error e;
  al_guard_policy *p = load(base_policy, &e);
  al_scanner *s = NULL;
  assert_int_equal(al_scanner_new(p->out.db, &s), 0);
  gmap m = {0};
  gfinds all = {0};
  sink out;
  gstream *g = NULL;
  al_buf_init(&out.out, 1 << 20);
  assert_int_equal(al_gstream_new(&p->out, s, G_ROUTE_CHAT, 0, 1 << 20, &m, &all, sink_emit, NULL, &out, &g), 0);
  const char *junk = "data: {not json\n\n";
  assert_int_not_equal(al_gstream_feed(g, junk, strlen(junk)), 0);
  joined j;
  join(&out.out, &j);
  assert_true(j.error);
  assert_string_equal(j.code, "upstream_bad_stream");
  assert_true(j.done);
  al_buf_cleanup(&j.text);
  al_gstream_free(g);
  al_buf_cleanup(&out.out);
  al_gmap_cleanup(&m);
  al_gfinds_cleanup(&all);
  al_scanner_free(s);
  al_guard_policy_free(p);
}

/* jarena.c: trees parsed into the arena, nested in stack order, each intact until its own
 * release; nodes added later and json_dumps strings come from malloc (free() works). */
static void test_json_arena(void **state) {
  al_jarena_install();
  for (int round = 0; round < 200; round++) {
    size_t m1 = 0, m2 = 0;
    json_t *outer = al_jarena_loadb("{\"a\":[1,2,{\"b\":\"outer text\"}],\"c\":\"x\"}", 38, 0, NULL, &m1);
    assert_non_null(outer);
    json_t *inner = al_jarena_loadb("{\"z\":\"inner\"}", 13, 0, NULL, &m2);
    assert_non_null(inner);
    assert_true(m2 >= m1);
    assert_int_equal(json_object_set_new(outer, "added", json_string("later")), 0);
    assert_int_equal(json_object_set_new(outer, "c", json_string("replaced")), 0);
    al_jarena_release(inner, m2);
    json_t *again = al_jarena_loadb("{\"y\":\"reuses the inner space\"}", 30, 0, NULL, &m2);
    assert_string_equal(json_string_value(json_object_get(again, "y")), "reuses the inner space");
    char *s = json_dumps(outer, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"a\":[1,2,{\"b\":\"outer text\"}],\"added\":\"later\",\"c\":\"replaced\"}");
    free(s);
    al_jarena_release(again, m2);
    al_jarena_release(outer, m1);
  }
  size_t m = 0;
  assert_null(al_jarena_loadb("{\"broken\":", 10, 0, NULL, &m));
  al_jarena_release(NULL, m);
  /* larger than the arena: the rest of the tree comes from malloc, all of it stays valid */
  al_buf big;
  al_buf_init(&big, 1u << 24);
  assert_int_equal(al_buf_puts(&big, "["), 0);
  for (int i = 0; i < 20000; i++) assert_int_equal(al_buf_printf(&big, "%s{\"k%d\":\"value number %d\"}", i ? "," : "", i, i), 0);
  assert_int_equal(al_buf_puts(&big, "]"), 0);
  json_t *a = al_jarena_loadb(big.data, big.len, 0, NULL, &m);
  assert_int_equal(json_array_size(a), 20000);
  assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "k0")), "value number 0");
  assert_string_equal(json_string_value(json_object_get(json_array_get(a, 19999), "k19999")), "value number 19999");
  al_jarena_release(a, m);
  /* read-only trees dropped without a walk, the spilled one included (it is released) */
  for (int round = 0; round < 3; round++) {
    size_t m1 = 0, m2 = 0;
    json_t *outer = al_jarena_loadb("{\"a\":[1,2,{\"b\":\"outer text\"}],\"c\":\"x\"}", 38, 0, NULL, &m1);
    json_t *inner = al_jarena_loadb("{\"z\":\"inner\"}", 13, 0, NULL, &m2);
    assert_string_equal(json_string_value(json_object_get(inner, "z")), "inner");
    al_jarena_drop(inner, m2);
    json_t *again = al_jarena_loadb("{\"y\":\"reuses the inner space\"}", 30, 0, NULL, &m2);
    assert_string_equal(json_string_value(json_object_get(again, "y")), "reuses the inner space");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(outer, "a"), 2), "b")), "outer text");
    al_jarena_drop(again, m2);
    al_jarena_drop(outer, m1);
    a = al_jarena_loadb(big.data, big.len, 0, NULL, &m);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 19999), "k19999")), "value number 19999");
    al_jarena_drop(a, m);
  }
  al_buf_cleanup(&big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_policy_ok),
      cmocka_unit_test(test_json_arena),
      cmocka_unit_test(test_policy_errors),
      cmocka_unit_test(test_placeholders),
      cmocka_unit_test(test_request_and_input),
      cmocka_unit_test(test_output),
      cmocka_unit_test(test_fast_json),
      cmocka_unit_test(test_scan_cache),
      cmocka_unit_test(test_stream_clean),
      cmocka_unit_test(test_stream_block_split_secret),
      cmocka_unit_test(test_stream_redact_split_card),
      cmocka_unit_test(test_stream_bad_upstream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
