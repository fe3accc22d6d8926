/* The guard end to end on loopback: a fake OpenAI-compatible upstream (evhttp) and five
 * guards run on one event loop in a background thread; the tests drive them with libcurl.
 * Guards A, B, C and E name the upstream by IPv4 address (libevent's HTTP client), guard D
 * by host name (libcurl).
 * The upstream's behaviour is chosen by the request's "model": echo, card, secret,
 * json-retry, never-json, error500, garbage, slow, reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <unistd.h>

#include "airlock/audit.h"
#include "airlock/guard.h"
#include "airlock/util.h"

static struct event_base *base;
static pthread_t loop_thread;
static atomic_int stop_loop;
static int up_port, port_a, port_b, port_c, port_d, port_e;
static al_guard *ga, *gb, *gc, *gd, *ge;
static al_guard_policy *pa, *pb, *pc, *pd, *pe;
static char tmpdir[64];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char last_body[1 << 16];
static char last_trace[1 << 16];
static char last_auth[256];
static int json_retry_count;
static atomic_int hangups;

/* ---- the fake upstream ---- */

static void answer_json(struct evhttp_request *req, int code, const char *s) {
  struct evbuffer *b = evbuffer_new();
  evbuffer_add(b, s, strlen(s));
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
  evhttp_send_reply(req, code, NULL, b);
  evbuffer_free(b);
}

static void drop_conn(evutil_socket_t fd, short ev, void *arg) {
  evhttp_connection_free(arg);
}

static void upstream(struct evhttp_request *req, void *arg) {
  const char *uri = evhttp_request_get_uri(req);
  if (!strcmp(uri, "/v1/models")) {
    answer_json(req, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"fake\",\"object\":\"model\"}]}");
    return;
  }
  if (!strcmp(uri, "/v1/traces")) { /* the OTLP collector */
    struct evbuffer *tb = evhttp_request_get_input_buffer(req);
    size_t tl = evbuffer_get_length(tb);
    const char *t = (const char *)evbuffer_pullup(tb, -1);
    pthread_mutex_lock(&mu);
    snprintf(last_trace, sizeof last_trace, "%.*s", (int)tl, t ? t : "");
    pthread_mutex_unlock(&mu);
    answer_json(req, 200, "{}");
    return;
  }
  int chat = !strcmp(uri, "/v1/chat/completions");
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  const char *body = (const char *)evbuffer_pullup(in, -1);
  const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  pthread_mutex_lock(&mu);
  snprintf(last_body, sizeof last_body, "%.*s", (int)len, body ? body : "");
  snprintf(last_auth, sizeof last_auth, "%s", auth ? auth : "");
  pthread_mutex_unlock(&mu);
  json_t *o = json_loadb(body ? body : "", len, 0, NULL);
  const char *model = json_string_value(json_object_get(o, "model"));
  int stream = json_is_true(json_object_get(o, "stream"));
  const char *content = chat ? json_string_value(json_object_get(
                                   json_array_get(json_object_get(o, "messages"), 0), "content"))
                             : json_string_value(json_object_get(o, "prompt"));
  char text[4096];
  if (!model) model = "?";
  if (!strcmp(model, "echo")) snprintf(text, sizeof text, "echo: %s", content ? content : "");
  else if (!strcmp(model, "card")) snprintf(text, sizeof text, "%s", "Your card 4111 1111 1111 1111 is on file with us, and this answer goes on for long enough to pass the hold-back window of the output detectors.");
  else if (!strcmp(model, "secret")) snprintf(text, sizeof text, "%s", "Certainly. First a long preamble of harmless words so that some text flows before the key: the key is AKIAIOSFODNN7EXAMPLE, keep it safe.");
  else if (!strcmp(model, "json-retry")) snprintf(text, sizeof text, "%s", ++json_retry_count % 2 ? "not json" : "{\"answer\": 4}");
  else if (!strcmp(model, "never-json")) snprintf(text, sizeof text, "%s", "still not json");
  else if (!strcmp(model, "error500")) {
    answer_json(req, 500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
    json_decref(o);
    return;
  } else if (!strcmp(model, "garbage")) {
    answer_json(req, 200, "this is not json");
    json_decref(o);
    return;
  } else if (!strcmp(model, "hangup")) { /* read, then the connection is closed unanswered */
    atomic_fetch_add(&hangups, 1);
    struct timeval tv = {0, 1000};
    event_base_once(base, -1, EV_TIMEOUT, drop_conn, evhttp_request_get_connection(req), &tv);
    json_decref(o);
    return;
  } else if (!strcmp(model, "slow")) {
    json_decref(o); /* never answered: the guard's upstream timeout fires */
    return;
  } else snprintf(text, sizeof text, "%s", "ok");
  if (!strcmp(model, "drop") && !stream) { /* answered, then the idle connection is closed */
    struct timeval tv = {0, 50000};
    event_base_once(base, -1, EV_TIMEOUT, drop_conn, evhttp_request_get_connection(req), &tv);
  }
  if (!stream) {
    json_t *a = chat ? json_pack("{s:s, s:s, s:i, s:s, s:[{s:i, s:{s:s, s:s}, s:s}]}", "id", "c1", "object",
                                 "chat.completion", "created", 1, "model", model, "choices", "index", 0,
                                 "message", "role", "assistant", "content", text, "finish_reason", "stop")
                     : json_pack("{s:s, s:s, s:i, s:s, s:[{s:i, s:s, s:s}]}", "id", "c1", "object",
                                 "text_completion", "created", 1, "model", model, "choices", "index", 0,
                                 "text", text, "finish_reason", "stop");
    char *s = json_dumps(a, JSON_COMPACT);
    answer_json(req, 200, s);
    free(s);
    json_decref(a);
    json_decref(o);
    return;
  }
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/event-stream");
  evhttp_send_reply_start(req, 200, "OK");
  struct evbuffer *b = evbuffer_new();
  if (chat) evbuffer_add_printf(b, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n", model);
  size_t n = strlen(text);
  int reset = !strcmp(model, "reset");
  for (size_t i = 0; i < n; i += 3) {
    char piece[4];
    snprintf(piece, sizeof piece, "%.3s", text + i);
    json_t *c = chat ? json_pack("{s:s, s:s, s:i, s:s, s:[{s:i, s:{s:s}, s:n}]}", "id", "c1", "object", "chat.completion.chunk",
                                 "created", 1, "model", model, "choices", "index", 0, "delta", "content", piece, "finish_reason")
                     : json_pack("{s:s, s:s, s:i, s:s, s:[{s:i, s:s, s:n}]}", "id", "c1", "object", "text_completion",
                                 "created", 1, "model", model, "choices", "index", 0, "text", piece, "finish_reason");
    char *s = json_dumps(c, JSON_COMPACT);
    evbuffer_add_printf(b, "data: %s\n\n", s);
    free(s);
    json_decref(c);
    if (reset) break;
  }
  if (!reset) evbuffer_add_printf(b, "data: [DONE]\n\n");
  evhttp_send_reply_chunk(req, b);
  evbuffer_free(b);
  if (reset) {
    struct timeval tv = {0, 50000};
    event_base_once(base, -1, EV_TIMEOUT, drop_conn, evhttp_request_get_connection(req), &tv);
  } else {
    evhttp_send_reply_end(req);
  }
  json_decref(o);
}

/* ---- loop thread ---- */

static void check_stop(evutil_socket_t fd, short ev, void *arg) {
  if (atomic_load(&stop_loop)) event_base_loopbreak(base);
}

static void *run_loop(void *arg) {
  struct event *t = event_new(base, -1, EV_PERSIST, check_stop, NULL);
  struct timeval tv = {0, 10000};
  event_add(t, &tv);
  event_base_dispatch(base);
  event_free(t);
  return NULL;
}

static al_guard_policy *policy(const char *text) {
  al_guard_policy *p = NULL;
  al_error e = {0};
  char name[128];
  snprintf(name, sizeof name, "%s/policy.yaml", tmpdir);
  if (al_guard_policy_load_text(text, strlen(text), name, &p, &e)) {
    fprintf(stderr, "policy: %s:%d:%d: %s\n", e.file, e.line, e.col, e.msg);
    return NULL;
  }
  return p;
}

static int setup(void **state) {
  char k1[65], k2[65], text[4096], pub[65], path[256];
  snprintf(tmpdir, sizeof tmpdir, "/tmp/al_guard_test_XXXXXX");
  if (!mkdtemp(tmpdir)) return -1;
  snprintf(path, sizeof path, "%s/audit.key", tmpdir);
  if (al_audit_keygen(path, pub, NULL)) return -1;
  snprintf(path, sizeof path, "%s/answer.schema.json", tmpdir);
  const char *schema = "{\"type\":\"object\",\"required\":[\"answer\"],\"properties\":{\"answer\":{\"type\":\"integer\"}}}";
  if (al_write_file(path, schema, strlen(schema), NULL)) return -1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  base = event_base_new();
  struct evhttp *up = evhttp_new(base);
  evhttp_set_gencb(up, upstream, NULL);
  struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(up, "127.0.0.1", 0);
  if (!s) return -1;
  struct sockaddr_in sin;
  socklen_t sl = sizeof sin;
  getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sin, &sl);
  up_port = ntohs(sin.sin_port);
  al_guard_hash_key("k1", k1);
  al_guard_hash_key("k2", k2);
  snprintf(text, sizeof text,
           "listen: 127.0.0.1:0\n"
           "upstream: {base_url: 'http://127.0.0.1:%d/v1', timeout: 1s}\n"
           "clients:\n"
           "  - {name: fast, key_sha256: %s, rate_per_second: 1000, burst: 1000}\n"
           "  - {name: limited, key_sha256: %s, rate_per_second: 0.001, burst: 1}\n"
           "limits: {max_request_bytes: 65536, client_timeout: 1s}\n"
           "stream: {window: 4}\n"
           "otlp: {endpoint: 'http://127.0.0.1:%d', service_name: guard-test}\n"
           "input:\n"
           "  - {detectors: [pii.ipv4], action: redact, reversible: true}\n"
           "  - {detectors: [secret.aws_access_key], action: block}\n"
           "output:\n"
           "  - {detectors: [pii.credit_card], action: redact}\n"
           "  - {detectors: [secret.aws_access_key], action: block}\n",
           up_port, k1, k2, up_port);
  if (!(pa = policy(text))) return -1;
  snprintf(text, sizeof text,
           "listen: 127.0.0.1:0\n"
           "upstream: {base_url: 'http://127.0.0.1:%d/v1', api_key_env: AL_TEST_UPSTREAM_KEY}\n"
           "audit: {dir: audit, key: audit.key, fsync: none, checkpoint_every: 5}\n"
           "output:\n"
           "  - {schema: answer.schema.json, action: retry, max_retries: 2}\n",
           up_port);
  if (!(pb = policy(text))) return -1;
  if (!(pc = policy("listen: 127.0.0.1:0\nupstream: {base_url: 'http://127.0.0.1:1/v1', connect_timeout: 1s}\n"))) return -1;
  snprintf(text, sizeof text,
           "listen: 127.0.0.1:0\n"
           "upstream: {base_url: 'http://localhost:%d/v1', timeout: 1s, api_key_env: AL_TEST_UPSTREAM_KEY}\n"
           "output:\n"
           "  - {detectors: [pii.credit_card], action: redact}\n",
           up_port);
  if (!(pd = policy(text))) return -1;
  snprintf(text, sizeof text,
           "listen: 127.0.0.1:0\n"
           "upstream: {base_url: 'http://127.0.0.1:%d/v1', max_connections: 1}\n"
           "limits: {max_response_bytes: 200}\n",
           up_port);
  if (!(pe = policy(text))) return -1;
  al_error e = {0};
  setenv("AL_TEST_UPSTREAM_KEY", "up-secret", 1);
  if (al_guard_new(base, pa, &ga, &e) || al_guard_new(base, pb, &gb, &e) || al_guard_new(base, pc, &gc, &e) ||
      al_guard_new(base, pd, &gd, &e) || al_guard_new(base, pe, &ge, &e)) {
    fprintf(stderr, "guard: %s\n", e.msg);
    return -1;
  }
  port_a = al_guard_port(ga);
  port_b = al_guard_port(gb);
  port_c = al_guard_port(gc);
  port_d = al_guard_port(gd);
  port_e = al_guard_port(ge);
  pthread_create(&loop_thread, NULL, run_loop, NULL);
  *state = up;
  return 0;
}

static int teardown(void **state) {
  atomic_store(&stop_loop, 1);
  pthread_join(loop_thread, NULL);
  al_guard_free(ga);
  al_guard_free(gb);
  al_guard_free(gc);
  al_guard_free(gd);
  al_guard_free(ge);
  /* the audit log of guard B, closed above, verifies */
  char dir[128], pubp[128];
  unsigned char pk[AL_AUDIT_PK_BYTES];
  snprintf(dir, sizeof dir, "%s/audit", tmpdir);
  snprintf(pubp, sizeof pubp, "%s/audit.key.pub", tmpdir);
  al_audit_report r;
  al_error e = {0};
  int bad = al_audit_load_public(pubp, pk, &e) || al_audit_verify(dir, pk, &r, &e) || r.records < 6;
  if (bad) fprintf(stderr, "audit verify failed: %s (records %llu)\n", e.msg, (unsigned long long)r.records);
  al_guard_policy_free(pa);
  al_guard_policy_free(pb);
  al_guard_policy_free(pc);
  al_guard_policy_free(pd);
  al_guard_policy_free(pe);
  evhttp_free(*state);
  event_base_free(base);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd)) return -1;
  curl_global_cleanup();
  return bad ? -1 : 0;
}

/* ---- the client ---- */

typedef struct reply {
  long status;
  al_buf body;
  char retry_after[16];
} reply;

static size_t on_body(char *p, size_t s, size_t n, void *ud) {
  reply *r = ud;
  return al_buf_append(&r->body, p, s * n) ? 0 : s * n;
}

static size_t on_header(char *p, size_t s, size_t n, void *ud) {
  reply *r = ud;
  if (!strncasecmp(p, "Retry-After:", 12)) snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)strcspn(p + 13, "\r\n"), p + 13);
  return s * n;
}

static void call(int port, const char *path, const char *key, const char *body, size_t blen, reply *r) {
  char url[256], auth[128];
  memset(r, 0, sizeof *r);
  al_buf_init(&r->body, 1 << 22);
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  if (key) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    h = curl_slist_append(h, auth);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) fail_msg("curl: %s", curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

static void chat(int port, const char *key, const char *model, const char *content, int stream, reply *r) {
  json_t *o = json_pack("{s:s, s:b, s:[{s:s, s:s}]}", "model", model, "stream", stream, "messages", "role", "user", "content", content);
  char *s = json_dumps(o, JSON_COMPACT);
  call(port, "/v1/chat/completions", key, s, strlen(s), r);
  free(s);
  json_decref(o);
}

static const char *error_code(reply *r, char *out, size_t n) {
  json_t *o = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
  json_t *e = json_object_get(o, "error");
  snprintf(out, n, "%s/%s", json_string_value(json_object_get(e, "type")) ?: "", json_string_value(json_object_get(e, "code")) ?: "");
  json_decref(o);
  return out;
}

static const char *content_of(reply *r, char *out, size_t n) {
  json_t *o = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
  const char *c = json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(o, "choices"), 0), "message"), "content"));
  snprintf(out, n, "%s", c ? c : "(none)");
  json_decref(o);
  return out;
}

/* Joined content of an SSE answer; *done when it ended with [DONE]; code of an error event. */
static void sse_join(reply *r, char *text, size_t n, int *done, char *code, size_t cn) {
  *done = 0;
  text[0] = code[0] = '\0';
  const char *p = r->body.data ? r->body.data : "";
  while ((p = strstr(p, "data: "))) {
    p += 6;
    size_t l = strcspn(p, "\n");
    if (l == 6 && !memcmp(p, "[DONE]", 6)) *done = 1;
    json_t *o = json_loadb(p, l, 0, NULL);
    json_t *e = json_object_get(o, "error");
    if (e) snprintf(code, cn, "%s", json_string_value(json_object_get(e, "code")));
    const char *c = json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(o, "choices"), 0), "delta"), "content"));
    if (c) strncat(text, c, n - strlen(text) - 1);
    json_decref(o);
    p += l;
  }
}

/* ---- tests ---- */

static void test_health_and_auth(void **state) {
  reply r;
  char code[128];
  call(port_a, "/healthz", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  al_buf_cleanup(&r.body);
  chat(port_a, NULL, "echo", "hi", 0, &r);
  assert_int_equal(r.status, 401);
  assert_string_equal(error_code(&r, code, sizeof code), "invalid_request_error/invalid_api_key");
  al_buf_cleanup(&r.body);
  chat(port_a, "wrong", "echo", "hi", 0, &r);
  assert_int_equal(r.status, 401);
  al_buf_cleanup(&r.body);
  chat(port_a, "k2", "echo", "hi", 0, &r);
  assert_int_equal(r.status, 200);
  al_buf_cleanup(&r.body);
  chat(port_a, "k2", "echo", "hi", 0, &r);
  assert_int_equal(r.status, 429);
  assert_string_equal(error_code(&r, code, sizeof code), "airlock_policy/rate_limited");
  assert_true(atoi(r.retry_after) >= 1);
  al_buf_cleanup(&r.body);
  call(port_a, "/v1/nothing", "k1", "{}", 2, &r);
  assert_int_equal(r.status, 404);
  al_buf_cleanup(&r.body);
  call(port_a, "/v1/chat/completions", "k1", NULL, 0, &r); /* GET */
  assert_int_equal(r.status, 405);
  al_buf_cleanup(&r.body);
  call(port_a, "/v1/models", "k1", NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body.data, "\"fake\""));
  al_buf_cleanup(&r.body);
}

static void test_reversible_redaction(void **state) {
  reply r;
  char text[512];
  chat(port_a, "k1", "echo", "my server is 10.20.30.40, fix it", 0, &r);
  assert_int_equal(r.status, 200);
  pthread_mutex_lock(&mu);
  int model_saw_placeholder = strstr(last_body, "my server is [IPV4_1], fix it") != NULL;
  int model_saw_value = strstr(last_body, "10.20.30.40") != NULL;
  pthread_mutex_unlock(&mu);
  assert_true(model_saw_placeholder);
  assert_false(model_saw_value);
  assert_string_equal(content_of(&r, text, sizeof text), "echo: my server is 10.20.30.40, fix it");
  al_buf_cleanup(&r.body);
}

static void test_input_block_and_bad_requests(void **state) {
  reply r;
  char code[128];
  chat(port_a, "k1", "echo", "here is AKIAIOSFODNN7EXAMPLE", 0, &r);
  assert_int_equal(r.status, 400);
  assert_string_equal(error_code(&r, code, sizeof code), "airlock_policy/input_blocked");
  assert_non_null(strstr(r.body.data, "secret.aws_access_key found in messages[0].content"));
  al_buf_cleanup(&r.body);
  const char *bad[] = {"{", "[1,2]", "{\"model\":\"echo\"}", "{\"model\":\"echo\",\"messages\":[{\"content\":{}}]}", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    call(port_a, "/v1/chat/completions", "k1", bad[i], strlen(bad[i]), &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(error_code(&r, code, sizeof code), "invalid_request_error/invalid_request");
    al_buf_cleanup(&r.body);
  }
  size_t big = 200000;
  char *huge = malloc(big);
  memset(huge, 'a', big);
  call(port_a, "/v1/chat/completions", "k1", huge, big, &r);
  assert_int_equal(r.status, 413);
  al_buf_cleanup(&r.body);
  free(huge);
}

static void test_output_actions(void **state) {
  reply r;
  char text[512], code[128];
  chat(port_a, "k1", "card", "card?", 0, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(content_of(&r, text, sizeof text), "Your card [CREDIT_CARD_1] is on file"));
  al_buf_cleanup(&r.body);
  chat(port_a, "k1", "secret", "key?", 0, &r);
  assert_int_equal(r.status, 422);
  assert_string_equal(error_code(&r, code, sizeof code), "airlock_policy/output_blocked");
  assert_null(strstr(r.body.data, "AKIA"));
  al_buf_cleanup(&r.body);
}

static void test_streaming(void **state) {
  reply r;
  char text[4096], code[64];
  int done;
  chat(port_a, "k1", "echo", "stream back 10.1.1.1 please, and then some more words to fill the window up", 1, &r);
  assert_int_equal(r.status, 200);
  sse_join(&r, text, sizeof text, &done, code, sizeof code);
  assert_true(done);
  assert_string_equal(code, "");
  assert_string_equal(text, "echo: stream back 10.1.1.1 please, and then some more words to fill the window up");
  al_buf_cleanup(&r.body);

  chat(port_a, "k1", "card", "card?", 1, &r);
  assert_int_equal(r.status, 200);
  sse_join(&r, text, sizeof text, &done, code, sizeof code);
  assert_true(done);
  assert_non_null(strstr(text, "Your card [CREDIT_CARD_1] is on file"));
  assert_null(strstr(r.body.data, "4111"));
  al_buf_cleanup(&r.body);

  chat(port_a, "k1", "secret", "key?", 1, &r);
  assert_int_equal(r.status, 200);
  sse_join(&r, text, sizeof text, &done, code, sizeof code);
  assert_true(done);
  assert_string_equal(code, "output_blocked");
  assert_null(strstr(r.body.data, "AKIA"));
  assert_non_null(strstr(text, "Certainly."));
  al_buf_cleanup(&r.body);
}

static void test_upstream_failures(void **state) {
  reply r;
  char code[128], text[256];
  int done;
  chat(port_a, "k1", "error500", "x", 0, &r);
  assert_int_equal(r.status, 500);
  assert_non_null(strstr(r.body.data, "boom"));
  al_buf_cleanup(&r.body);
  chat(port_a, "k1", "garbage", "x", 0, &r);
  assert_int_equal(r.status, 502);
  assert_string_equal(error_code(&r, code, sizeof code), "airlock_upstream/upstream_bad_response");
  al_buf_cleanup(&r.body);
  chat(port_a, "k1", "slow", "x", 0, &r);
  assert_int_equal(r.status, 504);
  assert_string_equal(error_code(&r, code, sizeof code), "airlock_upstream/upstream_timeout");
  al_buf_cleanup(&r.body);
  chat(port_a, "k1", "reset", "a long enough text to stream", 1, &r);
  assert_int_equal(r.status, 200);
  sse_join(&r, text, sizeof text, &done, code, sizeof code);
  assert_true(done);
  assert_string_equal(code, "upstream_error");
  al_buf_cleanup(&r.body);
  chat(port_c, NULL, "echo", "x", 0, &r);
  assert_int_equal(r.status, 502);
  assert_string_equal(error_code(&r, code, sizeof code), "airlock_upstream/upstream_error");
  al_buf_cleanup(&r.body);
}

/* A client that sends half a request and stalls is disconnected after client_timeout, and
 * the guard keeps serving others meanwhile. */
static void test_slow_client(void **state) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port_a),
                            .sin_addr.s_addr = htonl(0x7f000001)};
  assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
  const char *part = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"mo";
  assert_true(write(fd, part, strlen(part)) > 0);
  reply r;
  chat(port_a, "k1", "echo", "still served", 0, &r);
  assert_int_equal(r.status, 200);
  al_buf_cleanup(&r.body);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int64_t t0 = al_now_ns();
  char buf[512];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
  }
  double waited = (double)(al_now_ns() - t0) / 1e9;
  close(fd);
  assert_int_equal(n, 0); /* closed by the guard, not by our 5 s receive timeout */
  assert_true(waited < 4.0);

  /* a client that leaves while its request waits upstream (and one mid-stream): the guard
   * drops them and nothing stays in flight */
  const char *models[] = {"slow", "card"};
  for (int k = 0; k < 2; k++) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    char body[160], reqs[512];
    int bl = snprintf(body, sizeof body, "{\"model\":\"%s\",\"stream\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                      models[k], k ? "true" : "false");
    int rl = snprintf(reqs, sizeof reqs, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\n"
                      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", bl, body);
    assert_int_equal(write(fd, reqs, (size_t)rl), rl);
    usleep(100000);
    close(fd);
  }
  int idle = 0;
  for (int i = 0; i < 300 && !idle; i++) {
    reply m;
    call(port_a, "/metrics", NULL, NULL, 0, &m);
    idle = strstr(m.body.data, "airlock_guard_in_flight 0") != NULL;
    al_buf_cleanup(&m.body);
    if (!idle) usleep(10000);
  }
  assert_true(idle);
}

static int raw_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(0x7f000001)};
  assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static int raw_request(char *out, size_t cap, const char *model, const char *content) {
  char body[256];
  int bl = snprintf(body, sizeof body, "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", model, content);
  return snprintf(out, cap, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\n"
                  "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", bl, body);
}

static long verdict_count(const char *verdict) {
  reply m;
  char key[128];
  call(port_a, "/metrics", NULL, NULL, 0, &m);
  snprintf(key, sizeof key, "airlock_guard_requests_total{verdict=\"%s\"} ", verdict);
  const char *p = m.body.data ? strstr(m.body.data, key) : NULL;
  long n = p ? atol(p + strlen(key)) : 0;
  al_buf_cleanup(&m.body);
  return n;
}

/* The guard keeps reading a client whose request waits upstream: a client that leaves is
 * noticed at once (well before the 1 s upstream timeout), and bytes the client sends
 * meanwhile (a pipelined request) wait for their turn and are answered in order. */
static void test_client_watch(void **state) {
  char reqs[1024];
  long gone0 = verdict_count("client_gone");
  int fd = raw_connect(port_a);
  int rl = raw_request(reqs, sizeof reqs, "slow", "x");
  assert_int_equal(write(fd, reqs, (size_t)rl), rl);
  usleep(50000);
  int64_t t0 = al_now_ns();
  close(fd);
  long gone = gone0;
  while (gone == gone0 && al_now_ns() - t0 < 3000000000ll) {
    usleep(5000);
    gone = verdict_count("client_gone");
  }
  assert_int_equal(gone, gone0 + 1);
  assert_true(al_now_ns() - t0 < 900000000ll); /* not at the upstream timeout (1 s) */

  fd = raw_connect(port_a);
  int n1 = raw_request(reqs, sizeof reqs, "echo", "first");
  int n2 = raw_request(reqs + n1, sizeof reqs - (size_t)n1, "echo", "second");
  assert_int_equal(write(fd, reqs, (size_t)(n1 + n2)), n1 + n2);
  char got[8192];
  size_t have = 0;
  while (have < sizeof got - 1) {
    ssize_t k = read(fd, got + have, sizeof got - 1 - have);
    if (k <= 0) break;
    have += (size_t)k;
    got[have] = '\0';
    if (strstr(got, "echo: second")) break;
  }
  got[have] = '\0';
  const char *a = strstr(got, "echo: first"), *b = strstr(got, "echo: second");
  assert_non_null(a);
  assert_non_null(b);
  assert_true(a < b);
  /* answered: the idle connection has client_timeout (1 s) again, not the unlimited wait */
  int64_t t1 = al_now_ns();
  char rest[256];
  ssize_t k;
  while ((k = read(fd, rest, sizeof rest)) > 0) {
  }
  close(fd);
  assert_int_equal(k, 0); /* closed by the guard, not by our 5 s receive timeout */
  assert_true(al_now_ns() - t1 < 3000000000ll);
}

/* Answers written at once must not outlive their connection: an HTTP/1.0 client (no
 * chunked encoding: evhttp ends the request inside evhttp_send_reply_end and closes) and
 * "Connection: close", streamed and not; the guard keeps serving afterwards. */
static void test_http10_and_close(void **state) {
  const char *heads[] = {"HTTP/1.0", "HTTP/1.1\r\nConnection: close"};
  for (int h = 0; h < 2; h++) {
    for (int st = 0; st < 2; st++) {
      char body[200], reqs[1024], got[16384];
      int bl = snprintf(body, sizeof body, "{\"model\":\"echo\",\"stream\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"hi %d%d\"}]}",
                        st ? "true" : "false", h, st);
      int rl = snprintf(reqs, sizeof reqs, "POST /v1/chat/completions %s\r\nHost: x\r\nAuthorization: Bearer k1\r\n"
                        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", heads[h], bl, body);
      int fd = raw_connect(port_a);
      assert_int_equal(write(fd, reqs, (size_t)rl), rl);
      size_t have = 0;
      ssize_t k;
      while (have < sizeof got - 1 && (k = read(fd, got + have, sizeof got - 1 - have)) > 0) have += (size_t)k;
      got[have] = '\0';
      close(fd);
      assert_non_null(strstr(got, " 200 "));
      if (st) assert_non_null(strstr(got, "data: [DONE]"));
      else assert_non_null(strstr(got, "echo: hi"));
      reply r;
      call(port_a, "/healthz", NULL, NULL, 0, &r);
      assert_int_equal(r.status, 200);
      al_buf_cleanup(&r.body);
    }
  }
  /* a request larger than the read-ahead bound (256 KiB) after one that waited upstream,
   * on the same connection (guard B: max_request_bytes 1 MiB) */
  size_t big = 600u << 10;
  char *reqs = malloc(big + 4096);
  assert_non_null(reqs);
  int fd = raw_connect(port_b);
  for (int i = 0; i < 2; i++) {
    size_t cl = i ? big : 80;
    int hl = snprintf(reqs, 4096, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n{\"model\":\"error500\",\"messages\":[{\"role\":\"user\",\"content\":\"", cl);
    size_t at = (size_t)hl, end = (size_t)hl + cl - (sizeof "{\"model\":\"error500\",\"messages\":[{\"role\":\"user\",\"content\":\"" - 1);
    while (at < end - 4) reqs[at++] = 'x';
    memcpy(reqs + at, "\"}]}", 4);
    at += 4;
    size_t off = 0;
    while (off < at) {
      ssize_t w = write(fd, reqs + off, at - off);
      assert_true(w > 0);
      off += (size_t)w;
    }
    char got[4096];
    size_t have = 0;
    got[0] = '\0';
    while (have < sizeof got - 1 && !strstr(got, "server_error\"}}")) {
      ssize_t k = read(fd, got + have, sizeof got - 1 - have);
      assert_true(k > 0); /* not our 5 s receive timeout */
      have += (size_t)k;
      got[have] = '\0';
    }
    assert_non_null(strstr(got, "HTTP/1.1 500 ")); /* the upstream's own error, passed on */
  }
  close(fd);
  free(reqs);
}

/* Pooled upstream connections stay registered with the loop between transfers; when the
 * upstream closes an idle one, the guard neither spins on it nor fails the next request. */
static void test_upstream_drops_idle(void **state) {
  reply r;
  char text[256];
  for (int i = 0; i < 3; i++) {
    chat(port_a, "k1", "drop", "hello", 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(content_of(&r, text, sizeof text), "ok");
    al_buf_cleanup(&r.body);
    struct rusage u0, u1;
    getrusage(RUSAGE_SELF, &u0);
    usleep(300000); /* the upstream closes the connection after 50 ms */
    getrusage(RUSAGE_SELF, &u1);
    double cpu = (double)(u1.ru_utime.tv_sec - u0.ru_utime.tv_sec + u1.ru_stime.tv_sec - u0.ru_stime.tv_sec) +
                 (double)(u1.ru_utime.tv_usec - u0.ru_utime.tv_usec + u1.ru_stime.tv_usec - u0.ru_stime.tv_usec) / 1e6;
    assert_true(cpu < 0.15); /* a loop spinning on the closed socket would use ~0.3 s */
  }
  chat(port_a, "k1", "echo", "after drops", 0, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(content_of(&r, text, sizeof text), "echo: after drops");
  al_buf_cleanup(&r.body);
}

static void test_schema_retry(void **state) {
  reply r;
  char text[256], code[128];
  int done;
  json_retry_count = 0;
  chat(port_b, NULL, "json-retry", "answer in JSON", 0, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(content_of(&r, text, sizeof text), "{\"answer\": 4}");
  assert_int_equal(json_retry_count, 2);
  al_buf_cleanup(&r.body);
  pthread_mutex_lock(&mu);
  assert_string_equal(last_auth, "Bearer up-secret"); /* the upstream key, on every attempt */
  last_auth[0] = '\0';
  pthread_mutex_unlock(&mu);
  chat(port_a, "k1", "echo", "no upstream key here", 0, &r);
  al_buf_cleanup(&r.body);
  pthread_mutex_lock(&mu);
  assert_string_equal(last_auth, ""); /* guard A has none: the client's key is not passed on */
  pthread_mutex_unlock(&mu);
  json_retry_count = 0;
  chat(port_b, NULL, "json-retry", "answer in JSON", 1, &r); /* a stream through a schema stage */
  assert_int_equal(r.status, 200);
  sse_join(&r, text, sizeof text, &done, code, sizeof code);
  assert_true(done);
  assert_string_equal(text, "{\"answer\": 4}");
  al_buf_cleanup(&r.body);
  chat(port_b, NULL, "never-json", "answer in JSON", 0, &r);
  assert_int_equal(r.status, 422);
  assert_string_equal(error_code(&r, code, sizeof code), "airlock_policy/output_invalid");
  al_buf_cleanup(&r.body);
}

static void test_otlp_span(void **state) {
  reply r;
  pthread_mutex_lock(&mu);
  last_trace[0] = '\0';
  pthread_mutex_unlock(&mu);
  chat(port_a, "k1", "echo", "span me", 0, &r);
  assert_int_equal(r.status, 200);
  al_buf_cleanup(&r.body);
  int got = 0;
  for (int i = 0; i < 200 && !got; i++) {
    pthread_mutex_lock(&mu);
    got = last_trace[0] != '\0';
    pthread_mutex_unlock(&mu);
    if (!got) usleep(10000);
  }
  assert_true(got);
  json_t *o = json_loads(last_trace, 0, NULL);
  assert_non_null(o);
  json_t *span = json_array_get(json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(o, "resourceSpans"), 0), "scopeSpans"), 0), "spans"), 0);
  assert_string_equal(json_string_value(json_object_get(span, "name")), "chat echo");
  assert_int_equal(strlen(json_string_value(json_object_get(span, "traceId"))), 32);
  char *attrs = json_dumps(json_object_get(span, "attributes"), JSON_COMPACT);
  assert_non_null(strstr(attrs, "{\"key\":\"gen_ai.request.model\",\"value\":{\"stringValue\":\"echo\"}}"));
  assert_non_null(strstr(attrs, "{\"key\":\"gen_ai.system\",\"value\":{\"stringValue\":\"openai\"}}"));
  assert_non_null(strstr(attrs, "{\"key\":\"airlock.verdict\",\"value\":{\"stringValue\":\"allow\"}}"));
  free(attrs);
  json_decref(o);
}

/* Guard D names its upstream by host name: libcurl carries its transfers (as it does
 * https:// upstreams); answers, streams, redaction, the upstream key, the upstream's own
 * errors and the timeout behave as through libevent's client. */
static void test_curl_upstream(void **state) {
  reply r;
  char text[512], code[128];
  int done;
  pthread_mutex_lock(&mu);
  last_auth[0] = '\0';
  pthread_mutex_unlock(&mu);
  chat(port_d, NULL, "echo", "through curl", 0, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(content_of(&r, text, sizeof text), "echo: through curl");
  al_buf_cleanup(&r.body);
  pthread_mutex_lock(&mu);
  assert_string_equal(last_auth, "Bearer up-secret");
  pthread_mutex_unlock(&mu);
  chat(port_d, NULL, "card", "card?", 1, &r);
  assert_int_equal(r.status, 200);
  sse_join(&r, text, sizeof text, &done, code, sizeof code);
  assert_true(done);
  assert_non_null(strstr(text, "Your card [CREDIT_CARD_1] is on file"));
  assert_null(strstr(r.body.data, "4111"));
  al_buf_cleanup(&r.body);
  chat(port_d, NULL, "error500", "x", 0, &r);
  assert_int_equal(r.status, 500);
  assert_non_null(strstr(r.body.data, "boom"));
  al_buf_cleanup(&r.body);
  chat(port_d, NULL, "slow", "x", 0, &r);
  assert_int_equal(r.status, 504);
  assert_string_equal(error_code(&r, code, sizeof code), "airlock_upstream/upstream_timeout");
  al_buf_cleanup(&r.body);
  call(port_d, "/v1/models", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body.data, "\"fake\""));
  al_buf_cleanup(&r.body);
}

/* Guard E: one pooled connection (requests queue on it) and max_response_bytes 200: an
 * answer past it is refused (the transfer is aborted, the connection reset) and the
 * next requests are served on a fresh connection; a stream past it ends with an error
 * event. */
static void test_response_limit(void **state) {
  reply r;
  char text[512], code[128], long_prompt[300];
  int done;
  memset(long_prompt, 'w', 260);
  long_prompt[260] = '\0';
  for (int i = 0; i < 2; i++) {
    chat(port_e, NULL, "echo", long_prompt, 0, &r);
    assert_int_equal(r.status, 502);
    assert_string_equal(error_code(&r, code, sizeof code), "airlock_upstream/upstream_response_too_large");
    al_buf_cleanup(&r.body);
    chat(port_e, NULL, "ok", "short", 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(content_of(&r, text, sizeof text), "ok");
    al_buf_cleanup(&r.body);
  }
  /* a pooled connection that dies under a request before any answer byte: sent once more
   * on a fresh connection (as libcurl does), then reported; the guard goes on serving */
  atomic_store(&hangups, 0);
  chat(port_e, NULL, "hangup", "x", 0, &r);
  assert_int_equal(r.status, 502);
  assert_string_equal(error_code(&r, code, sizeof code), "airlock_upstream/upstream_error");
  assert_int_equal(atomic_load(&hangups), 2);
  al_buf_cleanup(&r.body);
  chat(port_e, NULL, "ok", "short", 0, &r);
  assert_int_equal(r.status, 200);
  al_buf_cleanup(&r.body);
  chat(port_e, NULL, "echo", long_prompt, 1, &r);
  assert_int_equal(r.status, 200);
  sse_join(&r, text, sizeof text, &done, code, sizeof code);
  assert_true(done);
  assert_string_equal(code, "upstream_response_too_large");
  al_buf_cleanup(&r.body);
}

static void test_metrics(void **state) {
  reply r;
  call(port_a, "/metrics", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  const char *m = r.body.data;
  assert_non_null(strstr(m, "airlock_guard_requests_total{verdict=\"block_input\"} 1"));
  assert_non_null(strstr(m, "airlock_guard_requests_total{verdict=\"unauthorized\"} 2"));
  assert_non_null(strstr(m, "airlock_guard_detector_hits_total{detector=\"pii.credit_card\"}"));
  assert_non_null(strstr(m, "airlock_guard_request_duration_seconds_bucket{le=\"+Inf\"}"));
  assert_non_null(strstr(m, "airlock_guard_upstream_total{outcome=\"timeout\"} ")); /* 1, or 2 when the abandoned slow request also timed out */
  al_buf_cleanup(&r.body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_health_and_auth),
      cmocka_unit_test(test_reversible_redaction),
      cmocka_unit_test(test_input_block_and_bad_requests),
      cmocka_unit_test(test_output_actions),
      cmocka_unit_test(test_streaming),
      cmocka_unit_test(test_upstream_failures),
      cmocka_unit_test(test_slow_client),
      cmocka_unit_test(test_client_watch),
      cmocka_unit_test(test_http10_and_close),
      cmocka_unit_test(test_upstream_drops_idle),
      cmocka_unit_test(test_schema_retry),
      cmocka_unit_test(test_otlp_span),
      cmocka_unit_test(test_curl_upstream),
      cmocka_unit_test(test_response_limit),
      cmocka_unit_test(test_metrics),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
