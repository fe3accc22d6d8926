/* The shared HTTP client (src/http/upstream.c) against a small evhttp server on loopback
 * that runs in a thread of its own, so that the client's loop can be kept busy while an
 * answer arrives. Both engines are driven: 127.0.0.1 goes through libevent's client,
 * "localhost" through libcurl. Checked: libcurl is not loaded until a transfer needs it, extra request headers, Retry-After (seconds and
 * HTTP dates), a refused connection reported as one, which URLs go direct, and the
 * kernel's receive stamps of an answer that waited while the loop was busy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "airlock/util.h"
#include "http/curl.h"
#include "http/upstream.h"

static struct event_base *srv_base;
static pthread_t srv_thread;
static int srv_port;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char seen_hdr[256];       /* X-Test-Header of the last request */
static long long srv_answer_ns;  /* when the server sent its last delayed answer */

/* ---- the server: /plain, /retry-seconds, /retry-date, /delay (answers after 20 ms) ---- */

static void answer_later(evutil_socket_t fd, short kind, void *arg) {
  struct evhttp_request *req = arg;
  struct evbuffer *b = evbuffer_new();
  evbuffer_add_printf(b, "{\"late\":true}");
  pthread_mutex_lock(&mu);
  srv_answer_ns = al_now_ns();
  pthread_mutex_unlock(&mu);
  evhttp_send_reply(req, 200, "OK", b);
  evbuffer_free(b);
}

static void handle(struct evhttp_request *req, void *arg) {
  const char *uri = evhttp_request_get_uri(req);
  const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Test-Header");
  pthread_mutex_lock(&mu);
  snprintf(seen_hdr, sizeof seen_hdr, "%s", h ? h : "");
  pthread_mutex_unlock(&mu);
  struct evkeyvalq *out = evhttp_request_get_output_headers(req);
  evhttp_add_header(out, "Content-Type", "application/json");
  if (!strcmp(uri, "/delay")) {
    struct timeval tv = {0, 20000};
    event_base_once(srv_base, -1, EV_TIMEOUT, answer_later, req, &tv);
    return;
  }
  int code = 200;
  if (!strcmp(uri, "/retry-seconds")) {
    evhttp_add_header(out, "Retry-After", "7");
    code = 429;
  } else if (!strcmp(uri, "/retry-date")) {
    char date[64];
    time_t t = time(NULL) + 120;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
    evhttp_add_header(out, "Retry-After", date);
    code = 503;
  }
  struct evbuffer *b = evbuffer_new();
  evbuffer_add_printf(b, "{\"ok\":true}");
  evhttp_send_reply(req, code, code == 200 ? "OK" : "Busy", b);
  evbuffer_free(b);
}

static atomic_int srv_stop;

static void srv_check(evutil_socket_t fd, short kind, void *arg) {
  if (atomic_load(&srv_stop)) event_base_loopbreak(srv_base);
}

static void *srv_main(void *arg) {
  struct event *t = event_new(srv_base, -1, EV_PERSIST, srv_check, NULL);
  struct timeval tv = {0, 10000};
  event_add(t, &tv);
  event_base_dispatch(srv_base);
  event_free(t);
  return NULL;
}

static int setup(void **state) {
  srv_base = event_base_new();
  struct evhttp *http = evhttp_new(srv_base);
  struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
  if (!s) return -1;
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sa, &sl);
  srv_port = ntohs(sa.sin_port);
  evhttp_set_gencb(http, handle, NULL);
  return pthread_create(&srv_thread, NULL, srv_main, NULL);
}

static int teardown(void **state) {
  atomic_store(&srv_stop, 1);
  pthread_join(srv_thread, NULL);
  return 0;
}

/* ---- the client side ---- */

typedef struct result {
  int done, code;
  long status, retry_ms;
  long long arrival_ns, data_ns; /* the stamp seen in the data callback, and when it ran */
  char err[256];
  struct event_base *base;
} result;

static int on_data(gxfer *x, const char *p, size_t n, void *ud) {
  result *r = ud;
  if (!r->data_ns) {
    r->data_ns = al_now_ns();
    r->arrival_ns = al_gxfer_arrival_ns(x);
  }
  return 0;
}

static void on_done(gxfer *x, int code, long status, void *ud) {
  result *r = ud;
  r->done = 1;
  r->code = code;
  r->status = status;
  r->retry_ms = al_gxfer_retry_after_ms(x);
  if (code) snprintf(r->err, sizeof r->err, "%s", al_gxfer_error(x));
  event_base_loopbreak(r->base);
}

static void fetch(gup *u, struct event_base *b, const char *host, const char *path,
                  const char *const *headers, result *r) {
  char url[256];
  snprintf(url, sizeof url, "http://%s:%d%s", host, srv_port, path);
  memset(r, 0, sizeof *r);
  r->base = b;
  gxfer_opts o = {.url = url, .body = "{}", .body_len = 2, .headers = headers,
                  .timeout_ms = 5000, .connect_timeout_ms = 2000};
  gxfer *x;
  assert_int_equal(al_gup_start(u, &o, on_data, on_done, r, &x), 0);
  event_base_dispatch(b);
  assert_true(r->done);
}

/* libcurl is loaded on first use (http/curl.h): transfers through libevent's client that
 * succeed never load it. */
static void test_evhttp_needs_no_libcurl(void **state) {
  struct event_base *b = event_base_new();
  gup *u = al_gup_new(b, 4);
  result r;
  fetch(u, b, "127.0.0.1", "/plain", NULL, &r);
  assert_int_equal(r.status, 200);
  fetch(u, b, "127.0.0.1", "/retry-seconds", NULL, &r);
  assert_int_equal(r.retry_ms, 7000);
  assert_false(al_curl_loaded());
  al_gup_free(u);
  event_base_free(b);
}

static void test_headers_and_retry_after(void **state) {
  static const char *hosts[] = {"127.0.0.1", "localhost"};
  for (int e = 0; e < 2; e++) {
    struct event_base *b = event_base_new();
    gup *u = al_gup_new(b, 4);
    const char *const hdrs[] = {"X-Test-Header", hosts[e], NULL};
    result r;
    fetch(u, b, hosts[e], "/plain", hdrs, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.retry_ms, -1);
    pthread_mutex_lock(&mu);
    assert_string_equal(seen_hdr, hosts[e]);
    pthread_mutex_unlock(&mu);
    fetch(u, b, hosts[e], "/retry-seconds", NULL, &r);
    assert_int_equal(r.status, 429);
    assert_int_equal(r.retry_ms, 7000);
    fetch(u, b, hosts[e], "/retry-date", NULL, &r);
    assert_int_equal(r.status, 503);
    assert_in_range(r.retry_ms, 115000, 121000);
    al_gup_free(u);
    event_base_free(b);
  }
}

static void test_direct_and_refused(void **state) {
  struct event_base *b = event_base_new();
  gup *u = al_gup_new(b, 4);
  assert_true(al_gup_direct(u, "http://127.0.0.1:8080/v1"));
  assert_false(al_gup_direct(u, "https://127.0.0.1:8443/v1"));
  assert_false(al_gup_direct(u, "http://localhost:8080/v1"));
  /* a port nobody listens on: the one the server had, closed again */
  struct evhttp *h = evhttp_new(b);
  struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(h, "127.0.0.1", 0);
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sa, &sl);
  evhttp_free(h);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(sa.sin_port));
  result r = {.base = b};
  gxfer_opts o = {.url = url, .timeout_ms = 5000, .connect_timeout_ms = 2000};
  gxfer *x;
  assert_int_equal(al_gup_start(u, &o, on_data, on_done, &r, &x), 0);
  event_base_dispatch(b);
  assert_true(r.done);
  assert_int_equal(r.code, CURLE_COULDNT_CONNECT);
  assert_non_null(strstr(r.err, "127.0.0.1"));
  al_gup_free(u);
  event_base_free(b);
}

/* The loop sleeps 60 ms from 2 ms after the request went out; the answer comes at 20 ms.
 * The stamp is the answer's arrival, not the time the loop got to it. */
static void block_loop(evutil_socket_t fd, short kind, void *arg) { usleep(60000); }

static void test_arrival_stamps(void **state) {
  struct event_base *b = event_base_new();
  gup *u = al_gup_new(b, 1);
  al_gup_stamps(u, 0);
  result r;
  fetch(u, b, "127.0.0.1", "/plain", NULL, &r); /* opens the connection */
  struct timeval tv = {0, 2000};
  event_base_once(b, -1, EV_TIMEOUT, block_loop, NULL, &tv);
  long long t0 = al_now_ns();
  fetch(u, b, "127.0.0.1", "/delay", NULL, &r);
  assert_int_equal(r.status, 200);
  pthread_mutex_lock(&mu);
  long long answered = srv_answer_ns;
  pthread_mutex_unlock(&mu);
  assert_true(r.data_ns - t0 >= 60000000LL);     /* the loop read it late */
  assert_true(r.arrival_ns >= answered);          /* stamped on arrival */
  assert_true(r.arrival_ns - answered < 20000000LL);
  assert_true(r.arrival_ns < r.data_ns - 20000000LL);
  al_gup_free(u);
  event_base_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_evhttp_needs_no_libcurl),
      cmocka_unit_test(test_headers_and_retry_after),
      cmocka_unit_test(test_direct_and_refused),
      cmocka_unit_test(test_arrival_stamps),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
