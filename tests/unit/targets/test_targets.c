/* Unit tests of src/targets with canned bytes: the SSE framing under every chunking, the
 * openai adapter's request body, whole responses (content, tool calls, logprobs, usage),
 * streamed events (deltas, logprob tokens, tool-call deltas, [DONE]), error bodies, the
 * retry classification, and the exec adapter's JSON-lines events. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "airlock/sse.h"
#include "airlock/target.h"
#include "airlock/util.h"

typedef struct events {
  char buf[4096];
  int n;
} events;

static int collect(const char *ev, const char *data, size_t len, void *ud) {
  events *e = ud;
  size_t used = strlen(e->buf);
  snprintf(e->buf + used, sizeof e->buf - used, "[%s|%.*s]", ev, (int)len, data);
  e->n++;
  return 0;
}

static void sse_any_chunking(void **st) {
  const char *stream = "\xEF\xBB\xBF: comment\r\ndata: one\r\n\r\nevent: x\ndata: a\ndata: b\n\n"
                       "id: 7\nretry: 10\ndata:no-space\n\rdata: tail";
  const char *want = "[message|one][x|a\nb][message|no-space][message|tail]";
  size_t n = strlen(stream);
  for (size_t step = 1; step <= n; step++) {
    events e = {0};
    al_sse p;
    al_sse_init(&p, collect, &e, 1024);
    for (size_t i = 0; i < n; i += step) assert_int_equal(al_sse_feed(&p, stream + i, i + step > n ? n - i : step), 0);
    assert_int_equal(al_sse_finish(&p), 0);
    al_sse_cleanup(&p);
    assert_string_equal(e.buf, want);
  }
}

static void sse_limit(void **st) {
  events e = {0};
  al_sse p;
  al_sse_init(&p, collect, &e, 16);
  assert_int_equal(al_sse_feed(&p, "data: 0123456789abcdefghij\n\n", 28), AL_ELIMIT);
  al_sse_cleanup(&p);
}

static al_target_config *openai_cfg(int stream) {
  al_target_config *c = al_calloc(1, sizeof *c);
  c->ops = al_target_find("openai");
  c->model = al_strdup("m1");
  c->stream = stream;
  c->logprobs = 1;
  c->top_logprobs = 2;
  c->params = json_object();
  return c;
}

static void openai_request(void **st) {
  al_target_config *c = openai_cfg(1);
  json_t *msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", "hi");
  json_t *params = json_pack("{s:f, s:i}", "temperature", 0.0, "max_tokens", 5);
  json_t *schema = json_pack("{s:s}", "type", "object");
  al_gen_request r = {"id1", msgs, NULL, params, schema};
  al_buf body, path;
  al_buf_init(&body, 1 << 20);
  al_buf_init(&path, 256);
  assert_int_equal(c->ops->build_request(c, &r, &body, &path), 0);
  assert_string_equal(path.data, "/chat/completions");
  json_t *j = json_loads(body.data, 0, NULL);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "model")), "m1");
  assert_true(json_is_true(json_object_get(j, "stream")));
  assert_int_equal(json_integer_value(json_object_get(j, "max_tokens")), 5);
  assert_int_equal(json_integer_value(json_object_get(j, "top_logprobs")), 2);
  assert_string_equal(json_string_value(json_object_get(json_object_get(j, "response_format"), "type")), "json_schema");
  json_decref(j);
  json_decref(msgs);
  json_decref(params);
  json_decref(schema);
  al_buf_cleanup(&body);
  al_buf_cleanup(&path);
  al_target_config_free(c);
}

/* With the case's messages as text (al_case.messages_json), the body is the same document
 * as with the messages dumped again; "messages" in params wins over the text. */
static void openai_request_messages_text(void **st) {
  al_target_config *c = openai_cfg(1);
  json_t *msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", "hi \"there\"");
  char *text = json_dumps(msgs, JSON_COMPACT | JSON_SORT_KEYS);
  json_t *params = json_pack("{s:f, s:i}", "temperature", 0.5, "max_tokens", 5);
  for (int with_params = 0; with_params < 3; with_params++) {
    json_t *p = with_params == 1 ? params : NULL;
    if (with_params == 2) p = json_pack("{s:[{s:s,s:s}]}", "messages", "role", "user", "content", "override");
    al_gen_request plain = {"id1", msgs, NULL, p, NULL, NULL}, spliced = {"id1", msgs, NULL, p, NULL, text};
    al_buf a, b, path;
    al_buf_init(&a, 1 << 20);
    al_buf_init(&b, 1 << 20);
    al_buf_init(&path, 256);
    assert_int_equal(c->ops->build_request(c, &plain, &a, &path), 0);
    al_buf_reset(&path);
    assert_int_equal(c->ops->build_request(c, &spliced, &b, &path), 0);
    json_t *ja = json_loads(a.data, 0, NULL), *jb = json_loads(b.data, 0, NULL);
    assert_non_null(ja);
    assert_non_null(jb);
    assert_true(json_equal(ja, jb));
    assert_string_equal(json_string_value(json_object_get(jb, "model")), "m1");
    if (with_params == 1) assert_int_equal(json_integer_value(json_object_get(jb, "max_tokens")), 5);
    if (with_params == 2) {
      const char *m = json_string_value(json_object_get(json_array_get(json_object_get(jb, "messages"), 0), "content"));
      assert_string_equal(m, "override");
      json_decref(p);
    }
    json_decref(ja);
    json_decref(jb);
    al_buf_cleanup(&a);
    al_buf_cleanup(&b);
    al_buf_cleanup(&path);
  }
  free(text);
  json_decref(msgs);
  json_decref(params);
  al_target_config_free(c);
}

static void openai_response(void **st) {
  al_target_config *c = openai_cfg(0);
  const char *body =
      "{\"model\":\"m-9\",\"choices\":[{\"finish_reason\":\"tool_calls\",\"message\":{\"role\":\"assistant\","
      "\"content\":\"Hi there\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
      "\"arguments\":\"{}\"}}]},\"logprobs\":{\"content\":[{\"token\":\"Hi\",\"logprob\":-0.5,\"top_logprobs\":"
      "[{\"token\":\"Hi\",\"logprob\":-0.5},{\"token\":\"Hey\",\"logprob\":-1.5}]},{\"token\":\" there\","
      "\"logprob\":-0.1,\"top_logprobs\":[]}]}}],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}";
  al_gen_output o;
  al_error e = {0};
  al_gen_output_init(&o, al_now_ns());
  assert_int_equal(c->ops->parse_response(c, body, strlen(body), &o, &e), 0);
  assert_string_equal(o.text.data, "Hi there");
  assert_int_equal(o.n_tokens, 2);
  assert_string_equal(o.tokens[0].text, "Hi");
  assert_true(o.tokens[0].has_logprob);
  assert_true(fabs(o.tokens[0].logprob + 0.5) < 1e-9);
  assert_int_equal(o.tokens[0].n_top, 2);
  assert_true(o.tokens[0].entropy > 0 && o.tokens[0].entropy < log(2) + 1e-9);
  assert_string_equal(o.finish_reason, "tool_calls");
  assert_string_equal(o.model, "m-9");
  assert_int_equal(o.prompt_tokens, 7);
  assert_int_equal(json_array_size(o.tool_calls), 1);
  al_gen_output_cleanup(&o);
  /* malformed bodies are errors, never crashes */
  const char *bad[] = {"", "{", "[]", "{\"choices\":[]}", "{\"choices\":[{\"message\":{\"content\":5}}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    al_gen_output_init(&o, al_now_ns());
    assert_int_not_equal(c->ops->parse_response(c, bad[i], strlen(bad[i]), &o, &e), 0);
    al_gen_output_cleanup(&o);
  }
  al_target_config_free(c);
}

static void openai_stream(void **st) {
  al_target_config *c = openai_cfg(1);
  const char *events[] = {
      "{\"model\":\"m\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}",
      "{\"choices\":[{\"delta\":{\"content\":\"Hel\"},\"logprobs\":{\"content\":[{\"token\":\"Hel\",\"logprob\":-0.2,\"top_logprobs\":[]}]}}]}",
      "{\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}",
      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"a\\\":\"}}]}}]}",
      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]}}]}",
      "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}",
      "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}",
      "[DONE]"};
  al_gen_output o;
  al_error e = {0};
  int64_t t0 = al_now_ns();
  al_gen_output_init(&o, t0);
  for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
    assert_false(o.done);
    assert_int_equal(c->ops->parse_event(c, events[i], strlen(events[i]), &o, t0 + (int64_t)i * 1000, &e), 0);
  }
  assert_true(o.done);
  assert_string_equal(o.text.data, "Hello");
  assert_int_equal(o.n_tokens, 2);
  assert_true(o.tokens[0].has_logprob);
  assert_false(o.tokens[1].has_logprob);
  assert_int_equal(o.tokens[1].t_ns, 2000);
  assert_int_equal(o.first_token_ns, t0 + 1000);
  assert_string_equal(o.finish_reason, "stop");
  assert_int_equal(o.completion_tokens, 2);
  json_t *fn = json_object_get(json_array_get(o.tool_calls, 0), "function");
  assert_string_equal(json_string_value(json_object_get(fn, "arguments")), "{\"a\":1}");
  al_gen_output_cleanup(&o);
  al_gen_output_init(&o, t0);
  assert_int_not_equal(c->ops->parse_event(c, "{nope", 5, &o, t0, &e), 0);
  const char *err = "{\"error\":{\"message\":\"overloaded\"}}";
  assert_int_not_equal(c->ops->parse_event(c, err, strlen(err), &o, t0, &e), 0);
  assert_non_null(strstr(e.msg, "overloaded"));
  al_gen_output_cleanup(&o);
  al_target_config_free(c);
}

static void retry_classes(void **st) {
  const al_target_ops *o = al_target_find("openai");
  assert_true(o->should_retry(429, 0));
  assert_true(o->should_retry(503, 0));
  assert_true(o->should_retry(500, 0));
  assert_true(o->should_retry(0, 7)); /* connect failure */
  assert_false(o->should_retry(400, 0));
  assert_false(o->should_retry(401, 0));
  assert_false(o->should_retry(404, 0));
  char m[128];
  o->error_message("{\"error\":{\"message\":\"bad key\"}}", 31, m, sizeof m);
  assert_string_equal(m, "bad key");
}

static void exec_events(void **st) {
  al_target_config c = {0};
  c.ops = al_target_find("exec");
  al_gen_output o;
  al_error e = {0};
  al_gen_output_init(&o, 0);
  const char *lines[] = {
      "{\"type\":\"ready\",\"model\":\"x\"}",
      "{\"id\":\"a\",\"type\":\"token\",\"text\":\"Once\",\"token_id\":9,\"logprob\":-0.3,\"entropy\":1.2,"
      "\"top\":[{\"text\":\"Once\",\"token_id\":9,\"logprob\":-0.3},{\"text\":\"One\",\"token_id\":4,\"logprob\":-2}]}",
      "{\"id\":\"a\",\"type\":\"token\",\"text\":\" upon\"}",
      "{\"id\":\"a\",\"type\":\"done\",\"finish_reason\":\"length\",\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}"};
  for (size_t i = 0; i < 4; i++) assert_int_equal(c.ops->parse_event(&c, lines[i], strlen(lines[i]), &o, 10, &e), 0);
  assert_true(o.done);
  assert_string_equal(o.text.data, "Once upon");
  assert_int_equal(o.tokens[0].id, 9);
  assert_int_equal(o.tokens[0].n_top, 2);
  assert_true(fabs(o.tokens[0].entropy - 1.2) < 1e-9);
  assert_string_equal(o.finish_reason, "length");
  al_gen_output_cleanup(&o);
  al_gen_output_init(&o, 0);
  assert_int_not_equal(c.ops->parse_event(&c, "{\"type\":\"error\",\"message\":\"ctx\"}", 33, &o, 0, &e), 0);
  assert_int_not_equal(c.ops->parse_event(&c, "[1]", 3, &o, 0, &e), 0);
  assert_int_not_equal(c.ops->parse_event(&c, "{\"type\":\"bogus\"}", 16, &o, 0, &e), 0);
  al_gen_output_cleanup(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sse_any_chunking), cmocka_unit_test(sse_limit),
      cmocka_unit_test(openai_request),   cmocka_unit_test(openai_request_messages_text),
      cmocka_unit_test(openai_response),  cmocka_unit_test(openai_stream),
      cmocka_unit_test(retry_classes),
      cmocka_unit_test(exec_events),
  };
  return cmocka_run_group_tests_name("targets", tests, NULL, NULL);
}
