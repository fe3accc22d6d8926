/* Unit tests of src/alerts against a real HTTP listener on loopback (libevent evhttp in a
 * thread, started by the test): a critical failure is POSTed with its evidence, a listener
 * answering 500, 500, 200 receives three POSTs, exhausted retries count as failed, the
 * command variant gets the JSON on stdin, non-critical failures and passes fire nothing,
 * a full queue drops, and the `alerts:` mapping is checked with file:line errors. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "airlock/alerts.h"
#include "airlock/util.h"
#include "airlock/yaml.h"

typedef struct server {
  struct event_base *base;
  struct evhttp *http;
  int port;
  pthread_t th;
  atomic_int stop;
  pthread_mutex_t mu;
  int n_req;
  char *body[16];
  char token[64], ctype[64];
  int script[16], nscript; /* statuses to answer, then 200 */
} server;

static void on_req(struct evhttp_request *req, void *arg) {
  server *s = arg;
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t n = evbuffer_get_length(in);
  char *b = malloc(n + 1);
  evbuffer_remove(in, b, n);
  b[n] = 0;
  struct evkeyvalq *h = evhttp_request_get_input_headers(req);
  const char *tok = evhttp_find_header(h, "X-Token"), *ct = evhttp_find_header(h, "Content-Type");
  pthread_mutex_lock(&s->mu);
  int status = s->n_req < s->nscript ? s->script[s->n_req] : 200;
  if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) status = 405;
  if (s->n_req < 16)
    s->body[s->n_req] = b;
  else
    free(b);
  s->n_req++;
  snprintf(s->token, sizeof s->token, "%s", tok ? tok : "");
  snprintf(s->ctype, sizeof s->ctype, "%s", ct ? ct : "");
  pthread_mutex_unlock(&s->mu);
  evhttp_send_reply(req, status, status == 200 ? "OK" : "Error", NULL);
}

static void *serve(void *arg) {
  server *s = arg;
  while (!atomic_load(&s->stop)) {
    struct timeval tv = {0, 20000};
    event_base_loopexit(s->base, &tv);
    event_base_dispatch(s->base);
  }
  return NULL;
}

static server *server_start(const int *script, int n) {
  server *s = calloc(1, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  for (int i = 0; i < n; i++)
    s->script[i] = script[i];
  s->nscript = n;
  s->base = event_base_new();
  s->http = evhttp_new(s->base);
  evhttp_set_gencb(s->http, on_req, s);
  struct evhttp_bound_socket *h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
  assert_non_null(h);
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  getsockname(evconnlistener_get_fd(evhttp_bound_socket_get_listener(h)), (struct sockaddr *)&sa,
              &sl);
  s->port = ntohs(sa.sin_port);
  pthread_create(&s->th, NULL, serve, s);
  return s;
}

static void server_stop(server *s) {
  atomic_store(&s->stop, 1);
  pthread_join(s->th, NULL);
  evhttp_free(s->http);
  event_base_free(s->base);
  for (int i = 0; i < 16; i++)
    free(s->body[i]);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static int requests(server *s) {
  pthread_mutex_lock(&s->mu);
  int n = s->n_req;
  pthread_mutex_unlock(&s->mu);
  return n;
}

/* Parse `alerts:` from YAML text; returns the code. */
static int parse(const char *yaml, al_alerts **out, al_error *e) {
  al_ydoc *d = NULL;
  int rc = al_ydoc_load_text(yaml, strlen(yaml), "suite.yaml", &d, e);
  if (!rc) rc = al_alerts_parse(d, json_object_get(al_ydoc_root(d), "alerts"), out, e);
  al_ydoc_free(d);
  return rc;
}

static al_alerts *parse_ok(const char *fmt, ...) {
  char yaml[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(yaml, sizeof yaml, fmt, ap);
  va_end(ap);
  al_alerts *a = NULL;
  al_error e = {0};
  int rc = parse(yaml, &a, &e);
  if (rc) fprintf(stderr, "# %s:%d:%d: %s\n", e.file, e.line, e.col, e.msg);
  assert_int_equal(rc, 0);
  return a;
}

static al_assert_result asserts[2] = {
    {.type = "not-contains",
     .label = "no card number",
     .pass = 0,
     .message = "output contains 4242 4242 4242 4242"},
    {.type = "latency", .label = "under 2s", .pass = 1, .score = 1},
};

static void result(al_case_result *r, const char *severity, al_verdict v) {
  memset(r, 0, sizeof *r);
  snprintf(r->case_id, sizeof r->case_id, "%064d", 7);
  r->name = "pii leak: full card number";
  r->category = "safety";
  r->severity = (char *)severity;
  r->verdict = v;
  r->meta_json = "{\"probe_family\":\"pii_extraction\",\"owasp\":\"LLM02\"}";
  r->tags_json = "[\"pii\"]";
  r->output = "Sure, the card number is 4242 4242 4242 4242.";
  r->n_asserts = 2;
  r->asserts = asserts;
}

static void t_critical_post(void **st) {
  server *s = server_start(NULL, 0);
  setenv("AL_TEST_HOOK_TOKEN", "abc123", 1); /* ${VAR} keeps tokens out of suite files */
  al_alerts *a =
      parse_ok("alerts:\n  on: [critical]\n  webhook:\n    url: http://127.0.0.1:%d/hook\n"
               "    headers: {X-Token: \"${AL_TEST_HOOK_TOKEN}\"}\n    retries: 0\n"
               "    timeout: 2s\n",
               s->port);
  al_case_result r;
  result(&r, "critical", AL_FAIL);
  assert_int_equal(al_alerts_fire(a, "run-42", &r), 1);
  int sent = -1, failed = -1;
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(sent, 1);
  assert_int_equal(failed, 0);
  assert_int_equal(requests(s), 1);
  assert_string_equal(s->token, "abc123");
  assert_string_equal(s->ctype, "application/json");
  json_t *j = json_loads(s->body[0], 0, NULL);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "run_id")), "run-42");
  assert_string_equal(json_string_value(json_object_get(j, "case_id")), r.case_id);
  assert_string_equal(json_string_value(json_object_get(j, "name")), r.name);
  assert_string_equal(json_string_value(json_object_get(j, "category")), "safety");
  assert_string_equal(json_string_value(json_object_get(j, "severity")), "critical");
  assert_string_equal(json_string_value(json_object_get(j, "verdict")), "fail");
  json_t *fa = json_object_get(j, "failed_assertions");
  assert_int_equal(json_array_size(fa), 1); /* the passing one is left out */
  assert_string_equal(json_string_value(json_object_get(json_array_get(fa, 0), "message")),
                      asserts[0].message);
  assert_string_equal(json_string_value(json_object_get(j, "output_excerpt")), r.output);
  assert_string_equal(json_string_value(json_object_get(json_object_get(j, "meta"), "owasp")),
                      "LLM02");
  json_decref(j);
  al_alerts_free(a);
  server_stop(s);
}

static void t_retries(void **st) {
  static const int script[] = {500, 500};
  server *s = server_start(script, 2);
  al_alerts *a = parse_ok("alerts:\n  on: critical\n  webhook: {url: \"http://127.0.0.1:%d/h\", "
                          "retries: 3, backoff: 10ms}\n",
                          s->port);
  al_case_result r;
  result(&r, "critical", AL_FAIL);
  assert_int_equal(al_alerts_fire(a, "run-1", &r), 1);
  int sent = -1, failed = -1;
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(requests(s), 3);
  assert_int_equal(sent, 1);
  assert_int_equal(failed, 0);
  assert_string_equal(s->body[0], s->body[2]); /* the same evidence each time */
  al_alerts_free(a);
  server_stop(s);
}

static void t_retries_exhausted(void **st) {
  static const int script[] = {503, 503, 503, 503};
  server *s = server_start(script, 4);
  al_alerts *a = parse_ok(
      "alerts:\n  webhook: {url: \"http://127.0.0.1:%d/h\", retries: 1, backoff: 0}\n", s->port);
  al_case_result r;
  result(&r, "critical", AL_FAIL);
  assert_int_equal(al_alerts_fire(a, "run-1", &r), 1);
  int sent = -1, failed = -1;
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(requests(s), 2);
  assert_int_equal(sent, 0);
  assert_int_equal(failed, 1);
  al_alerts_free(a);
  server_stop(s);
  /* nobody listening: a connection error is a failure, not a hang */
  a = parse_ok("alerts:\n  webhook: {url: \"http://127.0.0.1:%d/h\", retries: 1, backoff: 5ms, "
               "timeout: 2s}\n",
               1);
  assert_int_equal(al_alerts_fire(a, "run-1", &r), 1);
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(failed, 1);
  al_alerts_free(a);
}

static void t_no_fire(void **st) {
  server *s = server_start(NULL, 0);
  al_alerts *a =
      parse_ok("alerts:\n  on: [critical]\n  webhook: {url: \"http://127.0.0.1:%d/h\"}\n", s->port);
  al_case_result r;
  result(&r, "high", AL_FAIL);
  assert_int_equal(al_alerts_fire(a, "run-1", &r), 0);
  result(&r, "critical", AL_PASS);
  assert_int_equal(al_alerts_fire(a, "run-1", &r), 0);
  result(&r, "critical", AL_ERROR);
  assert_int_equal(al_alerts_fire(a, "run-1", &r), 0);
  int sent = -1, failed = -1;
  assert_int_equal(al_alerts_drain(a, 1000, &sent, &failed), 0);
  assert_int_equal(sent + failed, 0);
  assert_int_equal(requests(s), 0);
  al_alerts_free(a);
  /* `on: [critical, high]` does fire for high */
  a = parse_ok("alerts:\n  on: [critical, high]\n  webhook: {url: \"http://127.0.0.1:%d/h\"}\n",
               s->port);
  result(&r, "high", AL_FAIL);
  assert_int_equal(al_alerts_fire(a, "run-1", &r), 1);
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(sent, 1);
  al_alerts_free(a);
  server_stop(s);
}

static void t_command(void **st) {
  char dir[] = "/tmp/al-alerts-XXXXXX", path[128];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/alert.json", dir);
  al_alerts *a = parse_ok("alerts:\n  command: [\"sh\", \"-c\", \"cat > %s\"]\n", path);
  al_case_result r;
  result(&r, "critical", AL_FAIL);
  assert_int_equal(al_alerts_fire(a, "run-7", &r), 1);
  int sent = -1, failed = -1;
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(sent, 1);
  assert_int_equal(failed, 0);
  json_t *j = json_load_file(path, 0, NULL);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "run_id")), "run-7");
  assert_string_equal(json_string_value(json_object_get(j, "name")), r.name);
  json_decref(j);
  al_alerts_free(a);
  /* a failing command, a command that ignores stdin, a missing program */
  a = parse_ok("alerts:\n  command: [\"sh\", \"-c\", \"exit 3\"]\n");
  assert_int_equal(al_alerts_fire(a, "run-7", &r), 1);
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(failed, 1);
  al_alerts_free(a);
  a = parse_ok("alerts:\n  command: [\"true\"]\n");
  assert_int_equal(al_alerts_fire(a, "run-7", &r), 1);
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(sent, 1);
  al_alerts_free(a);
  a = parse_ok("alerts:\n  command: [\"/nonexistent/notify\"]\n");
  assert_int_equal(al_alerts_fire(a, "run-7", &r), 1);
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(failed, 1);
  al_alerts_free(a);
  /* a command that outlives its timeout is killed and counted as failed */
  a = parse_ok("alerts:\n  command: [\"sleep\", \"5\"]\n  command_timeout: 50ms\n");
  assert_int_equal(al_alerts_fire(a, "run-7", &r), 1);
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(failed, 1);
  al_alerts_free(a);
  unlink(path);
  rmdir(dir);
}

static void t_queue_full(void **st) {
  al_alerts *a = parse_ok("alerts:\n  command: [\"sleep\", \"0.2\"]\n  queue: 1\n");
  al_case_result r;
  result(&r, "critical", AL_FAIL);
  int dropped = 0;
  for (int i = 0; i < 4; i++)
    dropped += al_alerts_fire(a, "run-1", &r) == AL_ELIMIT;
  assert_true(dropped >= 2);
  int sent = -1, failed = -1;
  assert_int_equal(al_alerts_drain(a, 10000, &sent, &failed), 0);
  assert_int_equal(failed, dropped);
  assert_int_equal(sent, 4 - dropped);
  /* freeing with an alert in flight returns (the child is killed) */
  al_alerts_fire(a, "run-1", &r);
  al_alerts_free(a);
}

static void t_parse_errors(void **st) {
  static const struct {
    const char *yaml, *want;
    int line;
  } bad[] = {
      {"alerts:\n  on: [critical, urgent]\n  command: [x]\n", "severity", 2},
      {"alerts:\n  on: []\n  command: [x]\n", "'on'", 2},
      {"alerts:\n  on: critical\n", "needs a 'webhook' or a 'command'", 2},
      {"alerts:\n  webhook: {url: \"ftp://x\"}\n", "http://", 2},
      {"alerts:\n  webhook:\n    url: \"http://x\"\n    retries: 99\n", "retries", 4},
      {"alerts:\n  webhook:\n    url: \"http://x\"\n    headers: {\"Bad Name\": v}\n",
       "not a token", 4},
      {"alerts:\n  webhook:\n    url: \"http://x\"\n    headers: {X-A: \"a\\nb\"}\n", "line break",
       4},
      {"alerts:\n  command: []\n", "'command'", 2},
      {"alerts:\n  command: [\"\"]\n", "expected a string", 2},
      {"alerts:\n  command: [x]\n  queue: 0\n", "queue", 3},
      {"alerts:\n  webhook:\n    url: \"http://x\"\n    headers: {A: \"${AL_TEST_UNSET_VAR}\"}\n",
       "AL_TEST_UNSET_VAR is not set", 4},
      {"alerts:\n  command: [x]\n  colour: red\n", "unknown key", 3},
      {"alerts: [1]\n", "mapping", 1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    al_alerts *a = NULL;
    al_error e = {0};
    int rc = parse(bad[i].yaml, &a, &e);
    if (!rc || !strstr(e.msg, bad[i].want) || e.line != bad[i].line)
      fprintf(stderr, "# case %zu: rc %d line %d: %s\n", i, rc, e.line, e.msg);
    assert_true(rc < 0);
    assert_null(a);
    assert_non_null(strstr(e.msg, bad[i].want));
    assert_int_equal(e.line, bad[i].line);
    assert_string_equal(e.file, "suite.yaml");
  }
  /* without a YAML document (a mapping built in code) */
  json_t *j = json_loads("{\"on\": \"high\", \"command\": [\"true\"]}", 0, NULL);
  al_alerts *a = NULL;
  al_error e = {0};
  assert_int_equal(al_alerts_parse(NULL, j, &a, &e), 0);
  al_alerts_free(a);
  json_object_set_new(j, "on", json_string("bad"));
  assert_int_equal(al_alerts_parse(NULL, j, &a, &e), AL_EPARSE);
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_critical_post),     cmocka_unit_test(t_retries),
      cmocka_unit_test(t_retries_exhausted), cmocka_unit_test(t_no_fire),
      cmocka_unit_test(t_command),           cmocka_unit_test(t_queue_full),
      cmocka_unit_test(t_parse_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
