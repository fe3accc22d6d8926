/* The shared HTTP client (src/http/upstream.c) against a small evhttp server on loopback
 * that runs in a thread of its own, so that the client's loop can be kept busy while an
 * answer arrives. Both engines are driven: 127.0.0.1 goes through the direct client
 * (src/http/h1cli.c), "localhost" through libcurl. Checked: libcurl is not loaded until a
 * transfer needs it, extra request headers, Retry-After (seconds and HTTP dates), a
 * refused connection reported as one, which URLs go direct, and the kernel's receive
 * stamps of an answer that waited while the loop was busy.
 *
 * A second server, raw sockets with a thread per connection, answers the direct client in
 * ways evhttp's server would not: chunks with a pause between, a connection closed when
 * its second request arrives (a stale pooled connection), a reset in the middle of an
 * answer, no answer at all, a large body, a body delimited by the close. A listener with a
 * full accept queue makes a connect hang (the connect timeout). It counts the
 * connections it accepts, so keep-alive reuse and the retry on a fresh connection show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
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
static int raw_setup(void);
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
  if (raw_setup()) return -1;
  return pthread_create(&srv_thread, NULL, srv_main, NULL);
}

static int teardown(void **state) {
  atomic_store(&srv_stop, 1);
  pthread_join(srv_thread, NULL);
  return 0;
}

/* ---- the raw server: /ka, /chunked, /stale, /reset, /hang, /big, /eof ---- */

static int raw_port;
static atomic_int raw_accepts;
static int raw_listen = -1;

static void put_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

#define PUT(fd, s) put_all(fd, s, strlen(s))

/* One connection: requests in turn (head, then Content-Length body bytes). */
static void *raw_conn(void *arg) {
  int fd = (int)(intptr_t)arg, served = 0;
  char buf[8192];
  size_t have = 0;
  for (;;) {
    char *end;
    buf[have] = '\0';
    while (!(end = strstr(buf, "\r\n\r\n"))) {
      ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
      if (n <= 0) goto out;
      have += (size_t)n;
      buf[have] = '\0';
    }
    size_t head = (size_t)(end + 4 - buf), body = 0;
    const char *cl = strstr(buf, "Content-Length: ");
    if (cl && cl < end) body = strtoul(cl + 16, NULL, 10);
    while (have < head + body) {
      ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
      if (n <= 0) goto out;
      have += (size_t)n;
    }
    char path[64] = "";
    sscanf(buf, "%*s %63s", path);
    memmove(buf, buf + head + body, have - head - body);
    have -= head + body;
    if (!strcmp(path, "/ka")) {
      PUT(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    } else if (!strcmp(path, "/chunked")) {
      PUT(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n");
      usleep(20000);
      PUT(fd, "2\r\n1}\r\n0\r\n\r\n");
    } else if (!strcmp(path, "/stale")) {
      if (served) goto out; /* closed as the request on the pooled connection arrives */
      PUT(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    } else if (!strcmp(path, "/reset")) {
      PUT(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
      usleep(20000);
      struct linger l = {1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      goto out;
    } else if (!strcmp(path, "/hang")) {
      /* no answer: the next recv returns when the client gives up */
    } else if (!strcmp(path, "/big")) {
      static char big[100000];
      memset(big, 'x', sizeof big);
      PUT(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
      put_all(fd, big, sizeof big);
    } else if (!strcmp(path, "/eof")) {
      PUT(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"until\":");
      usleep(10000);
      PUT(fd, "\"close\"}");
      goto out;
    } else {
      PUT(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
    served++;
  }
out:
  close(fd);
  return NULL;
}

static void *raw_main(void *arg) {
  for (;;) {
    int fd = accept(raw_listen, NULL, NULL);
    if (fd < 0) return NULL;
    atomic_fetch_add(&raw_accepts, 1);
    pthread_t t;
    pthread_create(&t, NULL, raw_conn, (void *)(intptr_t)fd);
    pthread_detach(t);
  }
}

static int raw_setup(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  pthread_t t;
  raw_listen = socket(AF_INET, SOCK_STREAM, 0);
  if (raw_listen < 0 || bind(raw_listen, (struct sockaddr *)&sa, sizeof sa) || listen(raw_listen, 64) ||
      getsockname(raw_listen, (struct sockaddr *)&sa, &sl))
    return -1;
  raw_port = ntohs(sa.sin_port);
  if (pthread_create(&t, NULL, raw_main, NULL)) return -1;
  pthread_detach(t);
  return 0;
}

/* ---- the client side ---- */

typedef struct result {
  int done, ndone, code;
  int cancel_in_data, cancel_in_done; /* al_gup_cancel from inside the callbacks */
  size_t limit;                       /* refuse the body past this many bytes (0: no limit) */
  size_t body_len, total;
  char body[256];
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
  size_t k = n < sizeof r->body - 1 - r->body_len ? n : sizeof r->body - 1 - r->body_len;
  memcpy(r->body + r->body_len, p, k);
  r->body_len += k;
  r->body[r->body_len] = '\0';
  if (r->cancel_in_data) {
    al_gup_cancel(x);
    al_gup_cancel(x); /* twice: still nothing */
    event_base_loopbreak(r->base);
    return 0;
  }
  r->total += n;
  return r->limit && r->total >= r->limit;
}

static void on_done(gxfer *x, int code, long status, void *ud) {
  result *r = ud;
  r->done = 1;
  r->ndone++;
  r->code = code;
  r->status = status;
  r->retry_ms = al_gxfer_retry_after_ms(x);
  if (code) snprintf(r->err, sizeof r->err, "%s", al_gxfer_error(x));
  if (r->cancel_in_done) al_gup_cancel(x); /* the transfer ends anyway: no effect */
  event_base_loopbreak(r->base);
}

/* A transfer to the raw server, run until its done callback (or, with cancel_in_data, the
 * cancel); r's options as set by the caller. */
static void raw_fetch(gup *u, struct event_base *b, const char *path, long long timeout_ms, result *r) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", raw_port, path);
  result keep = *r;
  memset(r, 0, sizeof *r);
  r->base = b;
  r->cancel_in_data = keep.cancel_in_data;
  r->cancel_in_done = keep.cancel_in_done;
  r->limit = keep.limit;
  gxfer_opts o = {.url = url, .body = "{\"q\":1}", .body_len = 7, .timeout_ms = timeout_ms,
                  .connect_timeout_ms = 1000};
  gxfer *x;
  assert_int_equal(al_gup_start(u, &o, on_data, on_done, r, &x), 0);
  event_base_dispatch(b);
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

/* libcurl is loaded on first use (http/curl.h): transfers through the direct client that
 * succeed never load it. */
static void test_direct_needs_no_libcurl(void **state) {
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

/* Sequential requests share one connection; three at once with max_connections 1 wait
 * their turn on it. */
static void test_keepalive_reuse(void **state) {
  struct event_base *b = event_base_new();
  gup *u = al_gup_new(b, 1);
  int before = atomic_load(&raw_accepts);
  result r = {0};
  for (int i = 0; i < 3; i++) {
    raw_fetch(u, b, "/ka", 5000, &r);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{}");
    assert_string_equal(r.err, "");
  }
  result q[3] = {{0}};
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/ka", raw_port);
  for (int i = 0; i < 3; i++) {
    q[i].base = b;
    gxfer_opts o = {.url = url, .timeout_ms = 5000, .connect_timeout_ms = 1000};
    gxfer *x;
    assert_int_equal(al_gup_start(u, &o, on_data, on_done, &q[i], &x), 0);
  }
  for (int n = 0; n < 10 && !(q[0].done && q[1].done && q[2].done); n++) event_base_dispatch(b);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(q[i].ndone, 1);
    assert_int_equal(q[i].status, 200);
    assert_string_equal(q[i].body, "{}");
  }
  assert_int_equal(atomic_load(&raw_accepts) - before, 1);
  al_gup_free(u);
  event_base_free(b);
}

/* The server closes a pooled connection as the next request arrives: the request goes
 * once more on a fresh connection. */
static void test_stale_retry(void **state) {
  struct event_base *b = event_base_new();
  gup *u = al_gup_new(b, 4);
  int before = atomic_load(&raw_accepts);
  result r = {0};
  raw_fetch(u, b, "/stale", 5000, &r);
  assert_int_equal(r.code, 0);
  raw_fetch(u, b, "/stale", 5000, &r);
  assert_int_equal(r.code, 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{}");
  assert_int_equal(atomic_load(&raw_accepts) - before, 2);
  al_gup_free(u);
  event_base_free(b);
}

/* Chunks arriving apart, and a body that ends with the connection. */
static void test_chunked_and_close_delimited(void **state) {
  struct event_base *b = event_base_new();
  gup *u = al_gup_new(b, 4);
  result r = {0};
  raw_fetch(u, b, "/chunked", 5000, &r);
  assert_int_equal(r.code, 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"a\":1}");
  raw_fetch(u, b, "/eof", 5000, &r);
  assert_int_equal(r.code, 0);
  assert_string_equal(r.body, "{\"until\":\"close\"}");
  raw_fetch(u, b, "/ka", 5000, &r); /* the pool goes on after the closed one */
  assert_int_equal(r.code, 0);
  al_gup_free(u);
  event_base_free(b);
}

/* No answer: the whole-transfer timeout; a reset in the middle of an answer; an answer
 * larger than the caller takes. */
static void test_timeout_reset_oversized(void **state) {
  struct event_base *b = event_base_new();
  gup *u = al_gup_new(b, 4);
  result r = {0};
  long long t0 = al_now_ns();
  raw_fetch(u, b, "/hang", 150, &r);
  assert_int_equal(r.code, CURLE_OPERATION_TIMEDOUT);
  assert_true(al_now_ns() - t0 >= 140000000LL);
  assert_string_equal(al_gup_error_kind(r.code), "timeout");
  assert_non_null(strstr(r.err, "127.0.0.1"));
  int before = atomic_load(&raw_accepts);
  raw_fetch(u, b, "/reset", 5000, &r);
  assert_true(r.code == CURLE_RECV_ERROR || r.code == CURLE_PARTIAL_FILE);
  assert_string_equal(al_gup_error_kind(r.code), "reset");
  assert_string_equal(r.body, "0123456789");
  assert_int_equal(atomic_load(&raw_accepts) - before, 1); /* answer bytes came: no retry */
  r.limit = 1000;
  raw_fetch(u, b, "/big", 5000, &r);
  assert_int_equal(r.code, CURLE_WRITE_ERROR);
  assert_int_equal(r.status, 200);
  assert_true(r.total >= 1000 && r.total < 100000);
  r.limit = 0;
  raw_fetch(u, b, "/ka", 5000, &r);
  assert_int_equal(r.code, 0);
  al_gup_free(u);
  event_base_free(b);
}

/* A request larger than the socket buffer: written in parts as the socket drains (evhttp's
 * server answers only once the whole body arrived). */
static void test_large_request(void **state) {
  struct event_base *b = event_base_new();
  gup *u = al_gup_new(b, 4);
  size_t n = 8u << 20;
  char *body = malloc(n);
  assert_non_null(body);
  memset(body, ' ', n);
  body[0] = '{';
  body[n - 1] = '}';
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/plain", srv_port);
  result r = {.base = b};
  gxfer_opts o = {.url = url, .body = body, .body_len = n, .timeout_ms = 10000, .connect_timeout_ms = 2000};
  gxfer *x;
  assert_int_equal(al_gup_start(u, &o, on_data, on_done, &r, &x), 0);
  free(body); /* the transfer keeps its own copy */
  event_base_dispatch(b);
  assert_int_equal(r.code, 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"ok\":true}");
  al_gup_free(u);
  event_base_free(b);
}

static void stop_loop(evutil_socket_t fd, short kind, void *arg) { event_base_loopbreak(arg); }

/* A listener whose accept queue is full drops new SYNs: the connect hangs and the connect
 * timeout (100 ms), not the whole-transfer one (5 s), ends the transfer. */
static void test_connect_timeout(void **state) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  int l = socket(AF_INET, SOCK_STREAM, 0), fill[8];
  assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(l, 0), 0);
  getsockname(l, (struct sockaddr *)&sa, &sl);
  for (int i = 0; i < 8; i++) { /* fill the queue (never accepted) */
    fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fill[i], (struct sockaddr *)&sa, sizeof sa);
  }
  usleep(20000);
  struct event_base *b = event_base_new();
  gup *u = al_gup_new(b, 4);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(sa.sin_port));
  result r = {.base = b};
  gxfer_opts o = {.url = url, .timeout_ms = 5000, .connect_timeout_ms = 100};
  gxfer *x;
  long long t0 = al_now_ns();
  assert_int_equal(al_gup_start(u, &o, on_data, on_done, &r, &x), 0);
  event_base_dispatch(b);
  long long took = al_now_ns() - t0;
  assert_true(r.done);
  assert_int_equal(r.code, CURLE_OPERATION_TIMEDOUT);
  assert_true(took >= 90000000LL && took < 2000000000LL);
  al_gup_free(u);
  event_base_free(b);
  for (int i = 0; i < 8; i++) close(fill[i]);
  close(l);
}

/* A cancel inside the data callback: no done callback, the connection is not reused
 * half-read; a cancel inside the done callback changes nothing. */
static void test_cancel_in_callbacks(void **state) {
  struct event_base *b = event_base_new();
  gup *u = al_gup_new(b, 1);
  result r = {.cancel_in_data = 1};
  raw_fetch(u, b, "/chunked", 5000, &r);
  assert_true(r.data_ns > 0);
  struct timeval tv = {0, 60000};
  event_base_once(b, -1, EV_TIMEOUT, stop_loop, b, &tv);
  event_base_dispatch(b); /* the rest of the chunks would arrive now */
  assert_int_equal(r.ndone, 0);
  memset(&r, 0, sizeof r);
  r.cancel_in_done = 1;
  raw_fetch(u, b, "/chunked", 5000, &r);
  assert_int_equal(r.ndone, 1);
  assert_int_equal(r.code, 0);
  assert_string_equal(r.body, "{\"a\":1}");
  memset(&r, 0, sizeof r);
  raw_fetch(u, b, "/ka", 5000, &r);
  assert_int_equal(r.code, 0);
  /* cancelled before it ran: nothing at all */
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/ka", raw_port);
  gxfer_opts o = {.url = url, .timeout_ms = 5000, .connect_timeout_ms = 1000};
  gxfer *x;
  memset(&r, 0, sizeof r);
  r.base = b;
  assert_int_equal(al_gup_start(u, &o, on_data, on_done, &r, &x), 0);
  al_gup_cancel(x);
  event_base_once(b, -1, EV_TIMEOUT, stop_loop, b, &tv);
  event_base_dispatch(b);
  assert_int_equal(r.ndone, 0);
  al_gup_free(u);
  event_base_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_direct_needs_no_libcurl),
      cmocka_unit_test(test_headers_and_retry_after),
      cmocka_unit_test(test_direct_and_refused),
      cmocka_unit_test(test_arrival_stamps),
      cmocka_unit_test(test_keepalive_reuse),
      cmocka_unit_test(test_stale_retry),
      cmocka_unit_test(test_chunked_and_close_delimited),
      cmocka_unit_test(test_timeout_reset_oversized),
      cmocka_unit_test(test_cancel_in_callbacks),
      cmocka_unit_test(test_connect_timeout),
      cmocka_unit_test(test_large_request),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
