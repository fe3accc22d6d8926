/* finbot_load: a closed-loop HTTP load generator for finbot (or any OpenAI-compatible
 * server on 127.0.0.1). C keep-alive connections each send a chat request, wait for the
 * answer and send the next, for S seconds; prints requests/s, errors and latency
 * percentiles. One thread, libevent's evhttp client.
 *
 *   finbot_load PORT CONNECTIONS SECONDS [BODY_JSON]
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"

#define MAX_SAMPLES (1u << 22)

static struct event_base *base;
static const char *body;
static long n_ok, n_err;
static int64_t t_end;
static double *lat_ms;
static size_t n_lat;

typedef struct conn {
  struct evhttp_connection *evcon;
  int64_t t_sent;
} conn;

static void send_one(conn *c);

static void on_done(struct evhttp_request *req, void *arg) {
  conn *c = arg;
  int64_t now = al_now_ns();
  if (!req || evhttp_request_get_response_code(req) != 200) {
    n_err++;
  } else {
    n_ok++;
    if (n_lat < MAX_SAMPLES) lat_ms[n_lat++] = (double)(now - c->t_sent) / 1e6;
  }
  if (now < t_end) send_one(c);
}

static void send_one(conn *c) {
  struct evhttp_request *r = evhttp_request_new(on_done, c);
  if (!r) return;
  struct evkeyvalq *h = evhttp_request_get_output_headers(r);
  evhttp_add_header(h, "Host", "127.0.0.1");
  evhttp_add_header(h, "Content-Type", "application/json");
  evbuffer_add(evhttp_request_get_output_buffer(r), body, strlen(body));
  c->t_sent = al_now_ns();
  evhttp_make_request(c->evcon, r, EVHTTP_REQ_POST, "/v1/chat/completions");
}

static void on_stop(evutil_socket_t fd, short what, void *arg) { event_base_loopexit(base, NULL); }

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: finbot_load PORT CONNECTIONS SECONDS [BODY_JSON]\n");
    return 2;
  }
  int port = atoi(argv[1]), nconn = atoi(argv[2]);
  double secs = atof(argv[3]);
  body = argc > 4 ? argv[4]
                  : "{\"model\":\"finbot\",\"messages\":[{\"role\":\"user\",\"content\":"
                    "\"What are your opening hours?\"}]}";
  if (port <= 0 || nconn <= 0 || secs <= 0) return 2;
  base = event_base_new();
  lat_ms = malloc(MAX_SAMPLES * sizeof *lat_ms);
  conn *cs = calloc((size_t)nconn, sizeof *cs);
  if (!base || !lat_ms || !cs) return 1;
  t_end = al_now_ns() + (int64_t)(secs * 1e9);
  for (int i = 0; i < nconn; i++) {
    cs[i].evcon = evhttp_connection_base_new(base, NULL, "127.0.0.1", (unsigned short)port);
    if (cs[i].evcon) send_one(&cs[i]);
  }
  struct timeval tv = {(long)secs + 2, 0};
  struct event *stop = evtimer_new(base, on_stop, NULL);
  evtimer_add(stop, &tv);
  event_base_dispatch(base);
  qsort(lat_ms, n_lat, sizeof *lat_ms, cmp);
  double p50 = n_lat ? lat_ms[n_lat / 2] : 0, p99 = n_lat ? lat_ms[(size_t)(n_lat * 0.99)] : 0;
  printf("%d connections, %.1f s: %ld ok, %ld errors, %.0f req/s, p50 %.2f ms, p99 %.2f ms\n",
         nconn, secs, n_ok, n_err, (double)n_ok / secs, p50, p99);
  for (int i = 0; i < nconn; i++)
    if (cs[i].evcon) evhttp_connection_free(cs[i].evcon);
  event_free(stop);
  event_base_free(base);
  free(cs);
  free(lat_ms);
  return n_err ? 1 : 0;
}
