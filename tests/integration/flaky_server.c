/* A misbehaving OpenAI-compatible server for the runner's integration tests (a calibration
 * fixture, scripted on purpose). The last user message decides what happens:
 *   "rate-limit-once N"  first request with this text gets 429 (Retry-After: 0), then 200
 *   "fail-once N"        first request gets 503, then 200
 *   "always-500"         always 500 with an OpenAI error body
 *   "bad-request"        400 (not retryable)
 *   "garbage"            200 with a body that is not JSON
 *   "hang"               never answers (the client's timeout must fire)
 *   "reset"              closes the connection without answering
 *   "headers"            200, answering with the Authorization and X-Suite headers it got
 *   anything else        200, echoing the text back as the answer
 * Usage: flaky_server --port-file PATH (listens on 127.0.0.1, ephemeral port). */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *seen;

static void reply(struct evhttp_request *req, int code, const char *body) {
  struct evbuffer *b = evbuffer_new();
  evbuffer_add(b, body, strlen(body));
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
  evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", b);
  evbuffer_free(b);
}

static void handle(struct evhttp_request *req, void *arg) {
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t n = evbuffer_get_length(in);
  char *body = malloc(n + 1);
  evbuffer_remove(in, body, n);
  body[n] = '\0';
  json_t *j = json_loads(body, 0, NULL);
  free(body);
  json_t *msgs = json_object_get(j, "messages");
  const char *text = json_string_value(json_object_get(json_array_get(msgs, json_array_size(msgs) - 1), "content"));
  if (!text) text = "";
  int first = !json_object_get(seen, text);
  json_object_set_new(seen, text, json_true());
  if (!strncmp(text, "rate-limit-once", 15) && first) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "0");
    reply(req, 429, "{\"error\":{\"message\":\"slow down\"}}");
  } else if (!strncmp(text, "fail-once", 9) && first) {
    reply(req, 503, "{\"error\":{\"message\":\"overloaded\"}}");
  } else if (!strcmp(text, "always-500")) {
    reply(req, 500, "{\"error\":{\"message\":\"internal failure\"}}");
  } else if (!strcmp(text, "bad-request")) {
    reply(req, 400, "{\"error\":{\"message\":\"you sent something wrong\"}}");
  } else if (!strcmp(text, "garbage")) {
    reply(req, 200, "<html>not json</html>");
  } else if (!strcmp(text, "hang")) {
    /* no reply: the request stays open */
  } else if (!strcmp(text, "headers")) {
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *auth = evhttp_find_header(h, "Authorization"), *xs = evhttp_find_header(h, "X-Suite");
    char buf[512];
    snprintf(buf, sizeof buf, "auth=%s suite=%s", auth ? auth : "-", xs ? xs : "-");
    json_t *out = json_pack("{s:[{s:{s:s}, s:s}]}", "choices", "message", "content", buf, "finish_reason", "stop");
    char *str = json_dumps(out, JSON_COMPACT);
    reply(req, 200, str);
    free(str);
    json_decref(out);
  } else if (!strcmp(text, "reset")) {
    evhttp_connection_free(evhttp_request_get_connection(req));
  } else {
    json_t *out = json_pack("{s:s, s:[{s:{s:s, s:s}, s:s}], s:{s:i, s:i}}", "model", "flaky", "choices",
                            "message", "role", "assistant", "content", text, "finish_reason", "stop",
                            "usage", "prompt_tokens", 1, "completion_tokens", 1);
    char *s = json_dumps(out, JSON_COMPACT);
    reply(req, 200, s);
    free(s);
    json_decref(out);
  }
  json_decref(j);
}

int main(int argc, char **argv) {
  const char *port_file = argc > 2 && !strcmp(argv[1], "--port-file") ? argv[2] : NULL;
  signal(SIGPIPE, SIG_IGN);
  seen = json_object();
  struct event_base *base = event_base_new();
  struct evhttp *http = evhttp_new(base);
  evhttp_set_gencb(http, handle, NULL);
  struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
  if (!s) return 1;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &len);
  int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (port_file) {
    FILE *f = fopen(port_file, "w");
    fprintf(f, "%d\n", port);
    fclose(f);
  } else {
    printf("%d\n", port);
    fflush(stdout);
  }
  event_base_dispatch(base);
  return 0;
}
