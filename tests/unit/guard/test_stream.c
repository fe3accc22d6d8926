/* Unit tests of the streamed path's template fast path (src/guard/stream.c): every stream
 * here is run twice, with templates on and off (al_gstream_set_template), and the two runs
 * must give the client the same bytes, the audit log the same token deltas and text, and
 * the request the same findings and return codes. Hand-written streams cover what could
 * fool a template (escaped slashes, \u escapes, raw UTF-8, empty text, a text equal to
 * another string of the event, a new id mid-stream, whitespace, duplicate keys, a middle
 * that is not one JSON string) and check the fast path did run where it should; then
 * seeded random streams mix all of it (the differential test). Every run is also compared
 * with the scan stream fed at every delta instead of in batches (al_gstream_set_scan_batch):
 * the client's bytes after each piece fed, so the release schedule, must be the same. */
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

/* libfyaml 0.7.12 leaks the diagnostics it collects for a YAML syntax error (inside the
 * library, after fy_diag_unref): not ours to fix, suppressed for LeakSanitizer. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfyaml.so\n"; }

static const char *policy_text =
    "listen: 127.0.0.1:0\n"
    "upstream:\n"
    "  base_url: http://127.0.0.1:9/v1/\n"
    "output:\n"
    "  - detectors: [pii.credit_card, pii.email]\n"
    "    action: redact\n"
    "  - detectors: [secret.aws_access_key]\n"
    "    action: block\n";

static al_guard_policy *pol;
static al_scanner *scn;

static int setup(void **state) {
  al_jarena_install(); /* as the guard does: events parsed into the arena */
  if (al_guard_policy_load_text(policy_text, strlen(policy_text), "p.yaml", &pol, NULL)) return -1;
  return al_scanner_new(pol->out.db, &scn);
}

static int teardown(void **state) {
  al_scanner_free(scn);
  al_guard_policy_free(pol);
  return 0;
}

/* ---- one run of a stream, everything observable kept ---- */
typedef struct result {
  al_buf out;    /* bytes for the client */
  al_buf tokens; /* token callback: each delta as "<len>:" + bytes */
  al_buf text;   /* al_gstream_text (the audit's response text) */
  al_buf finds;  /* the request's findings, one line each */
  al_buf sched;  /* bytes for the client after each piece fed: the release schedule */
  int feed_rc, finish_rc, done;
  const char *blocked;
  uint64_t fast;
} result;

static int emit(const char *b, size_t n, void *ud) { return al_buf_append(&((result *)ud)->out, b, n); }

static void token(const char *t, size_t n, void *ud) {
  result *r = ud;
  al_buf_printf(&r->tokens, "%zu:", n);
  al_buf_append(&r->tokens, t, n);
}

/* The scan batch of the next runs ((size_t)-1: the stream's default). */
static size_t run_batch = (size_t)-1;

/* Feeds stream (len bytes) in pieces of 1..maxpiece bytes (sizes from seed). */
static void run(int route, const char *stream, size_t len, uint64_t seed, size_t maxpiece, int tpl, result *r) {
  memset(r, 0, sizeof *r);
  al_buf_init(&r->out, 1u << 24);
  al_buf_init(&r->tokens, 1u << 24);
  al_buf_init(&r->text, 1u << 24);
  al_buf_init(&r->finds, 1u << 24);
  al_buf_init(&r->sched, 1u << 24);
  gmap m = {0};
  gfinds all = {0};
  gstream *g = NULL;
  assert_int_equal(al_gstream_new(&pol->out, scn, route, 8, 1u << 20, &m, &all, emit, token, r, &g), 0);
  al_gstream_set_template(g, tpl);
  if (run_batch != (size_t)-1) al_gstream_set_scan_batch(g, run_batch);
  uint64_t x = seed | 1;
  for (size_t i = 0; i < len && !r->feed_rc;) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t k = 1 + (size_t)(x % maxpiece);
    if (k > len - i) k = len - i;
    r->feed_rc = al_gstream_feed(g, stream + i, k);
    al_buf_printf(&r->sched, "%zu,", r->out.len);
    i += k;
  }
  if (!r->feed_rc) r->finish_rc = al_gstream_finish(g);
  size_t tl = 0;
  const char *t = al_gstream_text(g, &tl);
  al_buf_append(&r->text, t, tl);
  r->blocked = al_gstream_blocked_by(g);
  r->done = al_gstream_done(g);
  r->fast = al_gstream_fast_events(g);
  al_gstream_free(g);
  for (size_t i = 0; i < all.n; i++)
    al_buf_printf(&r->finds, "%llu-%llu %s %d %d\n", (unsigned long long)all.v[i].start,
                  (unsigned long long)all.v[i].end, all.v[i].detector, (int)all.v[i].action, all.v[i].reversible);
  al_gmap_cleanup(&m);
  al_gfinds_cleanup(&all);
}

static void result_free(result *r) {
  al_buf_cleanup(&r->out);
  al_buf_cleanup(&r->tokens);
  al_buf_cleanup(&r->text);
  al_buf_cleanup(&r->finds);
  al_buf_cleanup(&r->sched);
}

static int buf_eq(const al_buf *a, const al_buf *b) {
  return a->len == b->len && (!a->len || !memcmp(a->data, b->data, a->len));
}

static int same(const result *a, const result *b) {
  return buf_eq(&a->out, &b->out) && buf_eq(&a->sched, &b->sched) && buf_eq(&a->tokens, &b->tokens) && buf_eq(&a->text, &b->text) &&
         buf_eq(&a->finds, &b->finds) && a->feed_rc == b->feed_rc && a->finish_rc == b->finish_rc &&
         a->done == b->done && (a->blocked == NULL) == (b->blocked == NULL) &&
         (!a->blocked || !strcmp(a->blocked, b->blocked));
}

/* Runs a stream with templates on and off (a few piece sizes): the results must be the
 * same. Returns the fewest events the fast path took over the piece sizes; *on (when not
 * NULL) receives the last run with templates on. */
static uint64_t both(int route, const char *stream, size_t len, result *on) {
  static const size_t pieces[] = {1, 7, 64, 1u << 20};
  uint64_t fewest = UINT64_MAX;
  for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
    result a, b;
    run(route, stream, len, 0x9e3779b97f4a7c15ull + i, pieces[i], 1, &a);
    run(route, stream, len, 0x9e3779b97f4a7c15ull + i, pieces[i], 0, &b);
    if (!same(&a, &b)) {
      fprintf(stderr, "# differ (piece %zu): on %zu bytes rc %d/%d fast %llu, off %zu bytes rc %d/%d\n# on:  %.*s\n# off: %.*s\n",
              pieces[i], a.out.len, a.feed_rc, a.finish_rc, (unsigned long long)a.fast, b.out.len, b.feed_rc,
              b.finish_rc, (int)(a.out.len < 2000 ? a.out.len : 2000), a.out.data ? a.out.data : "",
              (int)(b.out.len < 2000 ? b.out.len : 2000), b.out.data ? b.out.data : "");
      fail_msg("templates on and off differ");
    }
    assert_int_equal(b.fast, 0);
    /* the scan stream fed at every delta: the same bytes, released at the same points */
    result c;
    run_batch = 0;
    run(route, stream, len, 0x9e3779b97f4a7c15ull + i, pieces[i], 1, &c);
    run_batch = (size_t)-1;
    if (!same(&a, &c)) fail_msg("scanning in batches and at every delta differ (piece %zu): %zu vs %zu bytes, schedule %.*s vs %.*s",
                                pieces[i], a.out.len, c.out.len, (int)(a.sched.len < 300 ? a.sched.len : 300), a.sched.data,
                                (int)(c.sched.len < 300 ? c.sched.len : 300), c.sched.data);
    result_free(&c);
    if (a.fast < fewest) fewest = a.fast;
    result_free(&b);
    if (on && i + 1 == sizeof pieces / sizeof *pieces) *on = a;
    else result_free(&a);
  }
  return fewest;
}

/* The text deltas a client got (chat: delta.content, completions: text), concatenated,
 * and the error code if the stream ended with one. */
typedef struct seen {
  al_buf text;
  char code[64];
  int done;
} seen;

static int seen_cb(const char *ev, const char *data, size_t len, void *ud) {
  seen *s = ud;
  if (len == 6 && !memcmp(data, "[DONE]", 6)) {
    s->done = 1;
    return 0;
  }
  json_t *o = json_loadb(data, len, 0, NULL);
  assert_true(json_is_object(o));
  json_t *err = json_object_get(o, "error");
  if (err) snprintf(s->code, sizeof s->code, "%s", json_string_value(json_object_get(err, "code")));
  json_t *c = json_array_get(json_object_get(o, "choices"), 0);
  json_t *t = json_object_get(json_object_get(c, "delta"), "content");
  if (!t) t = json_object_get(c, "text");
  if (json_is_string(t)) al_buf_append(&s->text, json_string_value(t), json_string_length(t));
  json_decref(o);
  return 0;
}

static void client_saw(const result *r, seen *s) {
  al_sse p;
  memset(s, 0, sizeof *s);
  al_buf_init(&s->text, 1u << 24);
  al_sse_init(&p, seen_cb, s, 1u << 24);
  assert_int_equal(al_sse_feed(&p, r->out.data ? r->out.data : "", r->out.len), 0);
  al_sse_finish(&p);
  al_sse_cleanup(&p);
  al_buf_puts(&s->text, ""); /* data never NULL */
}

/* A chat stream: a role event, then one event per line of body (printf-style %s = the
 * standard event head with id), then [DONE]. */
#define HEAD(id) "{\"id\":\"" id "\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"gpt\",\"choices\":[{\"index\":0,"
#define TEXT(id, lit) "data: " HEAD(id) "\"delta\":{\"content\":" lit "},\"finish_reason\":null}]}\n\n"
#define ROLE(id) "data: " HEAD(id) "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
#define STOP(id) "data: " HEAD(id) "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"

/* Checks a hand-written chat stream: same on and off, the client saw want (text) and code
 * ("" for none), and the fast path took at least min_fast events. */
static void check(int route, const char *stream, const char *want, const char *code, uint64_t min_fast) {
  result on;
  uint64_t fast = both(route, stream, strlen(stream), &on);
  seen s;
  client_saw(&on, &s);
  assert_string_equal(s.text.data, want);
  assert_string_equal(s.code, code);
  assert_true(s.done);
  if (fast < min_fast) fail_msg("the fast path took %llu events, expected at least %llu", (unsigned long long)fast,
                                (unsigned long long)min_fast);
  al_buf_cleanup(&s.text);
  result_free(&on);
}

static void test_plain(void **state) {
  check(G_ROUTE_CHAT,
        ROLE("c") TEXT("c", "\"The \"") TEXT("c", "\"capi\"") TEXT("c", "\"tal \"") TEXT("c", "\"is P\"")
            TEXT("c", "\"aris\"") STOP("c"),
        "The capital is Paris", "", 4);
  /* the completions route */
  check(G_ROUTE_COMPLETIONS,
        "data: {\"id\":\"x\",\"object\":\"text_completion\",\"choices\":[{\"text\":\"one \",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n"
        "data: {\"id\":\"x\",\"object\":\"text_completion\",\"choices\":[{\"text\":\"two \",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n"
        "data: {\"id\":\"x\",\"object\":\"text_completion\",\"choices\":[{\"text\":\"three\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n"
        "data: {\"id\":\"x\",\"object\":\"text_completion\",\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"length\"}]}\n\n"
        "data: [DONE]\n\n",
        "one two three", "", 2);
}

static void test_escapes(void **state) {
  /* slashes escaped: the first text's literal as jansson writes it ("a/b") is not in the
   * bytes, so no template from it; the next one learns, later "\/" middles parse fine */
  check(G_ROUTE_CHAT,
        ROLE("c") TEXT("c", "\"a\\/b \"") TEXT("c", "\"x \"") TEXT("c", "\"c\\/d \"") TEXT("c", "\"\\/\\/\"")
            TEXT("c", "\"end\"") STOP("c"),
        "a/b x c/d //end", "", 3);
  /* \u escapes, surrogate pairs, raw UTF-8, quotes, backslashes, control characters */
  check(G_ROUTE_CHAT,
        ROLE("c") TEXT("c", "\"caf\\u00e9 \"") TEXT("c", "\"caf\xc3\xa9 \"") TEXT("c", "\"\\ud83d\\ude00 \"")
            TEXT("c", "\"\xf0\x9f\x98\x80 \"") TEXT("c", "\"\\\"q\\\" \"") TEXT("c", "\"\\\\ \"")
                TEXT("c", "\"\\n\\t\\u0001\"") TEXT("c", "\"\\u65e5\\u672c\"") STOP("c"),
        "caf\xc3\xa9 caf\xc3\xa9 \xf0\x9f\x98\x80 \xf0\x9f\x98\x80 \"q\" \\ \n\t\x01\xe6\x97\xa5\xe6\x9c\xac", "", 6);
  /* empty texts: learned from and served like any other */
  check(G_ROUTE_CHAT, ROLE("c") TEXT("c", "\"\"") TEXT("c", "\"a\"") TEXT("c", "\"\"") TEXT("c", "\"b\"") TEXT("c", "\"\"") STOP("c"),
        "ab", "", 3);
}

static void test_equal_strings(void **state) {
  /* a text equal to the model's name ("gpt") or the id ("c"): its literal occurs twice, no
   * template from that event; served by a template learned from another one */
  check(G_ROUTE_CHAT,
        ROLE("c") TEXT("c", "\"gpt\"") TEXT("c", "\"c\"") TEXT("c", "\" is \"") TEXT("c", "\"gpt\"") TEXT("c", "\"c\"")
            TEXT("c", "\"chat.completion.chunk\"") STOP("c"),
        "gptc is gptcchat.completion.chunk", "", 3);
  /* the text's literal occurs once, but not where the text is: the id is "a/b" and the
   * text "a\/b" (the same string, escaped). A template cut at the id would serve the next
   * event's id as its text; the probe finds the text elsewhere, so there is no template */
  check(G_ROUTE_CHAT,
        ROLE("a/b") TEXT("a/b", "\"a\\/b\"") "data: " HEAD("zz") "\"delta\":{\"content\":\"a\\/b\"},\"finish_reason\":null}]}\n\n"
            TEXT("a/b", "\"a\\/b\"") STOP("a/b"),
        "a/ba/ba/b", "", 0);
  /* duplicate keys: jansson keeps the last; the template is cut at the one that counts */
  check(G_ROUTE_CHAT,
        "data: " HEAD("c") "\"delta\":{\"content\":\"x\",\"content\":\"one \"},\"finish_reason\":null}]}\n\n"
        "data: " HEAD("c") "\"delta\":{\"content\":\"x\",\"content\":\"two \"},\"finish_reason\":null}]}\n\n"
        "data: " HEAD("c") "\"delta\":{\"content\":\"x\",\"content\":\"x\"},\"finish_reason\":null}]}\n\n"
        "data: " HEAD("c") "\"delta\":{\"content\":\"one \",\"content\":\"x\"},\"finish_reason\":null}]}\n\n" STOP("c"),
        "one two xx", "", 2);
}

static void test_new_id(void **state) {
  /* a new id mid-stream: the old template stops matching, a new one is learned (the
   * re-framed chunks keep the first id, as without templates) */
  check(G_ROUTE_CHAT,
        ROLE("a") TEXT("a", "\"1\"") TEXT("a", "\"2\"") TEXT("a", "\"3\"") TEXT("b", "\"4\"") TEXT("b", "\"5\"")
            TEXT("b", "\"6\"") TEXT("a", "\"7\"") TEXT("a", "\"8\"") STOP("b"),
        "12345678", "", 4);
}

static void test_whitespace(void **state) {
  /* spaced JSON; later events with more whitespace around the literal: a middle with
   * whitespace around one string is still that string */
  check(G_ROUTE_CHAT,
        "data: { \"id\" : \"c\", \"choices\" : [ { \"index\" : 0, \"delta\" : { \"content\" : \"a\" } } ] }\n\n"
        "data: { \"id\" : \"c\", \"choices\" : [ { \"index\" : 0, \"delta\" : { \"content\" : \"b\" } } ] }\n\n"
        "data: { \"id\" : \"c\", \"choices\" : [ { \"index\" : 0, \"delta\" : { \"content\" :   \"c\"\t  } } ] }\n\n"
        "data: { \"id\" : \"c\", \"choices\" : [ { \"index\" : 0, \"delta\" : { \"content\" :\"d\"} } ] }\n\n"
        "data: { \"id\" : \"c\", \"choices\" : [ { \"index\" : 0, \"delta\" : { \"content\" : \"e\" } } ] }\n\n"
        "data: [DONE]\n\n",
        "abcde", "", 2);
}

static void test_bad_middles(void **state) {
  /* P and Q match, the middle is not one JSON string: parsed whole, as without templates */
  check(G_ROUTE_CHAT,
        ROLE("c") TEXT("c", "\"a\"") TEXT("c", "\"b\"") TEXT("c", "1") TEXT("c", "null") TEXT("c", "\"c\",\"x\":\"y\"")
            TEXT("c", "[\"d\"]") TEXT("c", "{\"content\":\"e\"}") TEXT("c", "\"f\"") STOP("c"),
        "abcf", "", 2);
  /* two tokens that make the whole event invalid JSON; and a middle that closes the
   * delta and opens a tool call */
  check(G_ROUTE_CHAT, ROLE("c") TEXT("c", "\"a\"") TEXT("c", "\"b\"") TEXT("c", "\"c\" \"d\"") TEXT("c", "\"e\"") STOP("c"),
        "", "upstream_bad_stream", 1); /* held text is not released after an error */
  check(G_ROUTE_CHAT,
        ROLE("c") TEXT("c", "\"a\"") TEXT("c", "\"b\"")
            TEXT("c", "\"c\",\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]") TEXT("c", "\"d\"")
                STOP("c"),
        "abcd", "", 2); /* the held tool-call event is passed on without its content (sent as text) */
  /* text and a tool call in one event: the text is redacted like any other, and the held
   * tool-call event must not carry it again as it came */
  check(G_ROUTE_CHAT,
        ROLE("c") TEXT("c", "\"card \"")
            TEXT("c", "\"4111 1111 1111 1111 ok\",\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]")
                TEXT("c", "\" done\"") STOP("c"),
        "card [CREDIT_CARD_1] ok done", "", 0);
  /* a middle that is a string with \u0000 (jansson refuses it, whole or alone) or invalid
   * UTF-8 */
  check(G_ROUTE_CHAT, ROLE("c") TEXT("c", "\"a\"") TEXT("c", "\"b\"") TEXT("c", "\"\\u0000\"") STOP("c"), "",
        "upstream_bad_stream", 1);
  check(G_ROUTE_CHAT, ROLE("c") TEXT("c", "\"a\"") TEXT("c", "\"b\"") TEXT("c", "\"\xff\"") STOP("c"), "",
        "upstream_bad_stream", 1);
}

static void test_finish(void **state) {
  /* finish events with a text are never templates: a later one must still set the reason
   * the final chunk carries ("stop" here, after a "length" in between) */
  const char *stream =
       ROLE("c") TEXT("c", "\"a\"") "data: " HEAD("c") "\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\n\n"
       "data: " HEAD("c") "\"delta\":{},\"finish_reason\":\"length\"}]}\n\n"
       "data: " HEAD("c") "\"delta\":{\"content\":\"c\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
  result on;
  both(G_ROUTE_CHAT, stream, strlen(stream), &on);
  assert_non_null(strstr(on.out.data, "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]"));
  result_free(&on);
}

static void test_findings(void **state) {
  /* a card split across events is redacted, a key split across events blocks: the same
   * with templates (the scan sees the same text) */
  check(G_ROUTE_CHAT,
        ROLE("c") TEXT("c", "\"card 4111 \"") TEXT("c", "\"1111 1111\"") TEXT("c", "\" 1111 is \"") TEXT("c", "\"on file\"")
            STOP("c"),
        "card [CREDIT_CARD_1] is on file", "", 2);
  check(G_ROUTE_CHAT,
        ROLE("c") TEXT("c", "\"key AKIA\"") TEXT("c", "\"IOSFODNN\"") TEXT("c", "\"7EXAMPLE\"") TEXT("c", "\" ok\"")
            STOP("c"),
        "", "output_blocked", 1);
}

/* ---- the differential test: seeded random streams ---- */
static uint64_t rs;
static uint32_t rnd(uint32_t n) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return (uint32_t)((rs >> 11) % n);
}

static const char *frags[] = {"Hel", "lo ", "a/b", "\"q\"", "back\\slash", "\t", "\n", "caf\xc3\xa9", "\xf0\x9f\x98\x80",
                              "\xe6\x97\xa5", "4111 ", "1111 ", "AKIA", "IOSFODNN7EXAMPLE", "gpt", "c", "", " ",
                              "x@example.com ", "[CRE", "DIT_CARD_1]", "\x01", "chat.completion.chunk", "null", "0"};

/* Writes t as a JSON string literal; style bits: 1 escape '/', 2 non-ASCII as \u,
 * 4 some letters as \u00XX. */
static void put_lit(al_buf *b, const char *t, int style) {
  al_buf_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)t; *p;) {
    unsigned c = *p;
    if (c == '"' || c == '\\') al_buf_printf(b, "\\%c", c), p++;
    else if (c == '/' && (style & 1)) al_buf_puts(b, "\\/"), p++;
    else if (c == '\n') al_buf_puts(b, "\\n"), p++;
    else if (c == '\t') al_buf_puts(b, "\\t"), p++;
    else if (c < 0x20) al_buf_printf(b, "\\u%04x", c), p++;
    else if (c < 0x80) {
      if ((style & 4) && c >= 'a' && c <= 'z' && rnd(3) == 0) al_buf_printf(b, "\\u%04X", c);
      else al_buf_putc(b, (char)c);
      p++;
    } else {
      int n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      if (style & 2) {
        uint32_t cp = n == 4 ? c & 7 : n == 3 ? c & 15 : c & 31;
        for (int i = 1; i < n; i++) cp = cp << 6 | (p[i] & 63);
        if (cp >= 0x10000) al_buf_printf(b, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
        else al_buf_printf(b, "\\u%04x", cp);
      } else {
        al_buf_append(b, p, (size_t)n);
      }
      p += n;
    }
  }
  al_buf_putc(b, '"');
}

/* Middles that are not one JSON string, or strings jansson refuses. */
static const char *bad_lits[] = {"1", "null", "\"a\",\"x\":\"y\"", "\"a\" \"b\"", "[]", "{}", "\"\\u0000\"", "\"\xff\"",
                                 " \"sp\" ", "\"a\"}", "true", "\"\\ud800\""};

typedef struct style {
  const char *id, *model;
  int spaced, id_last, route, lit;
} style;

static void put_event(al_buf *b, const style *st, const char *kind, const char *lit) {
  const char *c = st->spaced ? ", " : ",", *k = st->spaced ? "\": " : "\":";
  al_buf e;
  al_buf_init(&e, 1u << 20);
  al_buf_putc(&e, '{');
  if (!st->id_last) al_buf_printf(&e, "\"id%s\"%s\"%s", k, st->id, c);
  if (st->route == G_ROUTE_CHAT)
    al_buf_printf(&e, "\"object%s\"chat.completion.chunk\"%s\"created%s1%s\"model%s\"%s\"%s\"choices%s[{\"index%s0%s", k, c, k, c,
                  k, st->model, c, k, k, c);
  else
    al_buf_printf(&e, "\"object%s\"text_completion\"%s\"model%s\"%s\"%s\"choices%s[{\"index%s0%s", k, c, k, st->model, c, k, k, c);
  if (!strcmp(kind, "text")) {
    if (st->route == G_ROUTE_CHAT) al_buf_printf(&e, "\"delta%s{\"content%s%s}%s\"finish_reason%snull}]", k, k, lit, c, k);
    else al_buf_printf(&e, "\"text%s%s%s\"logprobs%snull%s\"finish_reason%snull}]", k, lit, c, k, c, k);
  } else if (!strcmp(kind, "dup")) {
    al_buf_printf(&e, "\"delta%s{\"content%s\"zz\"%s\"content%s%s}}]", k, k, c, k, lit);
  } else if (!strcmp(kind, "role")) {
    al_buf_printf(&e, "\"delta%s{\"role%s\"assistant\"%s\"content%s\"\"}}]", k, k, c, k);
  } else if (!strcmp(kind, "tool")) {
    al_buf_printf(&e, "\"delta%s{\"tool_calls%s[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]}}]", k, k);
  } else if (!strcmp(kind, "stop")) { /* with a text (lit) or none, one of two reasons */
    const char *why = rnd(2) ? "stop" : "length";
    if (st->route == G_ROUTE_CHAT && lit) al_buf_printf(&e, "\"delta%s{\"content%s%s}%s\"finish_reason%s\"%s\"}]", k, k, lit, c, k, why);
    else if (st->route == G_ROUTE_CHAT) al_buf_printf(&e, "\"delta%s{}%s\"finish_reason%s\"%s\"}]", k, c, k, why);
    else al_buf_printf(&e, "\"text%s%s%s\"finish_reason%s\"%s\"}]", k, lit ? lit : "\"\"", c, k, why);
  }
  if (st->id_last) al_buf_printf(&e, "%s\"id%s\"%s\"", c, k, st->id);
  al_buf_putc(&e, '}');
  if (!strcmp(kind, "usage")) {
    al_buf_reset(&e);
    al_buf_printf(&e, "{\"id\":\"%s\",\"choices\":[],\"usage\":{\"total_tokens\":9}}", st->id);
  } else if (!strcmp(kind, "error")) {
    al_buf_reset(&e);
    al_buf_puts(&e, "{\"error\":{\"message\":\"overloaded\"}}");
  }
  /* framing: usually one data line; sometimes no space, CRLF, or split in two data lines
   * (the parser joins them with a newline: whitespace inside the JSON) */
  const char *nl = rnd(10) == 0 ? "\r\n" : "\n";
  al_buf_puts(b, rnd(8) == 0 ? "data:" : "data: ");
  const char *cut = rnd(25) == 0 ? strchr(e.data, ',') : NULL;
  if (cut) {
    al_buf_append(b, e.data, (size_t)(cut + 1 - e.data));
    al_buf_printf(b, "%sdata: %s%s%s", nl, cut + 1, nl, nl);
  } else {
    al_buf_printf(b, "%s%s%s", e.data, nl, nl);
  }
  if (rnd(20) == 0) al_buf_printf(b, ": keep-alive%s%s", nl, nl);
  al_buf_cleanup(&e);
}

static void random_stream(al_buf *b, int *route, uint64_t *texts) {
  static const char *ids[] = {"chatcmpl-1", "c", "gpt", "a/b", "caf\xc3\xa9"};
  static const char *models[] = {"gpt", "llama", "c", "Hel"};
  style st = {ids[rnd(5)], models[rnd(4)], (int)rnd(2), rnd(4) == 0, rnd(4) == 0 ? G_ROUTE_COMPLETIONS : G_ROUTE_CHAT,
              rnd(3) == 0 ? (int)rnd(8) : 0};
  int churn = rnd(8) == 0 ? 60 : 6; /* per 200 events: a new id */
  char text[256] = "";
  *route = st.route;
  if (st.route == G_ROUTE_CHAT && rnd(4)) put_event(b, &st, "role", NULL);
  int n = 1 + (int)rnd(40);
  for (int i = 0; i < n; i++) {
    unsigned r = rnd(200);
    if (rnd(200) < (unsigned)churn) st.id = ids[rnd(5)]; /* a new id from here on */
    al_buf lit;
    al_buf_init(&lit, 1u << 16);
    if (rnd(5)) { /* else the previous text again */
      text[0] = '\0';
      for (int f = (int)rnd(3); f >= 0; f--) strcat(text, frags[rnd(sizeof frags / sizeof *frags)]);
    }
    if (rnd(12) == 0) snprintf(text, sizeof text, "%s", rnd(2) ? st.id : st.model); /* equal to another string */
    put_lit(&lit, text, rnd(10) == 0 ? (int)rnd(8) : st.lit);
    if (r < 166) put_event(b, &st, "text", lit.data), (*texts)++;
    else if (r < 170) put_event(b, &st, "text", bad_lits[rnd(sizeof bad_lits / sizeof *bad_lits)]);
    else if (r < 176 && st.route == G_ROUTE_CHAT) put_event(b, &st, "dup", lit.data);
    else if (r < 182 && st.route == G_ROUTE_CHAT) put_event(b, &st, "tool", NULL);
    else if (r < 186) put_event(b, &st, "usage", NULL);
    else if (r < 190) put_event(b, &st, "stop", rnd(2) ? lit.data : NULL);
    else if (r < 193 && st.route == G_ROUTE_CHAT) put_event(b, &st, "role", NULL);
    else if (r < 194) put_event(b, &st, "error", NULL);
    else put_event(b, &st, "text", lit.data);
    al_buf_cleanup(&lit);
  }
  if (rnd(8)) al_buf_puts(b, "data: [DONE]\n\n");
}

static void test_differential(void **state) {
  uint64_t fast = 0, streams = 0, texts = 0;
  for (uint64_t seed = 1; seed <= 300; seed++) {
    rs = seed * 0x2545f4914f6cdd1dull;
    al_buf b;
    al_buf_init(&b, 1u << 22);
    int route = G_ROUTE_CHAT;
    random_stream(&b, &route, &texts);
    result a, o;
    size_t piece = 1 + rnd(200);
    run(route, b.data, b.len, seed, piece, 1, &a);
    run(route, b.data, b.len, seed, piece, 0, &o);
    if (!same(&a, &o)) {
      fprintf(stderr, "# seed %llu: templates on and off differ; stream:\n%s\n# on:\n%.*s\n# off:\n%.*s\n",
              (unsigned long long)seed, b.data, (int)a.out.len, a.out.data ? a.out.data : "", (int)o.out.len,
              o.out.data ? o.out.data : "");
      fail_msg("seed %llu differs", (unsigned long long)seed);
    }
    fast += a.fast;
    streams++;
    result_free(&a);
    result_free(&o);
    al_buf_cleanup(&b);
  }
  /* the fast path must have carried a good part of the text events, or this compared
   * the full path with itself */
  fprintf(stderr, "# %llu random streams, %llu text events, %llu by template\n", (unsigned long long)streams,
          (unsigned long long)texts, (unsigned long long)fast);
  assert_true(fast * 2 > texts);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain),        cmocka_unit_test(test_escapes),     cmocka_unit_test(test_equal_strings),
      cmocka_unit_test(test_new_id),       cmocka_unit_test(test_whitespace),  cmocka_unit_test(test_bad_middles),
      cmocka_unit_test(test_finish),       cmocka_unit_test(test_findings),    cmocka_unit_test(test_differential),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
