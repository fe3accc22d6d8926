/* A minimal OpenAI-compatible upstream for the proxy benchmark: evhttp, one thread, a
 * canned chat completion for every POST (or an SSE stream of it in 4-byte deltas when the
 * body asks for "stream":true), so that the measured CPU is the proxy's, not a model's.
 * Usage: bench_upstream PORT_FILE  (listens on 127.0.0.1, any free port, writes it). */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const char answer[] =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"bench\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"The capital of France is Paris. It has been the capital since the tenth "
    "century and is the largest city of the country, on the river Seine.\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":32,"
    "\"total_tokens\":72}}";
static const char text[] =
    "The capital of France is Paris. It has been the capital since the tenth century and is "
    "the largest city of the country, on the river Seine.";

static void handle(struct evhttp_request *req, void *arg) {
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  const char *body = (const char *)evbuffer_pullup(in, -1);
  int stream = body && memmem(body, len, "\"stream\":true", 13);
  struct evbuffer *b = evbuffer_new();
  if (!stream) {
    evbuffer_add(b, answer, sizeof answer - 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
  } else {
    for (size_t i = 0; i < sizeof text - 1; i += 4)
      evbuffer_add_printf(b, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                             "\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%.4s\"},"
                             "\"finish_reason\":null}]}\n\n", text + i);
    evbuffer_add_printf(b, "data: [DONE]\n\n");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/event-stream");
  }
  evhttp_send_reply(req, 200, "OK", b);
  evbuffer_free(b);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT_FILE\n", argv[0]);
    return 2;
  }
  struct event_base *base = event_base_new();
  struct evhttp *http = evhttp_new(base);
  evhttp_set_gencb(http, handle, NULL);
  struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
  if (!s) return 1;
  struct sockaddr_in sin;
  socklen_t sl = sizeof sin;
  getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sin, &sl);
  FILE *f = fopen(argv[1], "w");
  if (!f) return 1;
  fprintf(f, "%d\n", ntohs(sin.sin_port));
  fclose(f);
  event_base_dispatch(base);
  return 0;
}
