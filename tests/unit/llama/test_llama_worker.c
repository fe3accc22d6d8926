/* airlock-llama-worker end to end: spawn the real worker on the tiny GGUF models of
 * ../shared/models, speak the exec protocol over pipes, and check the events -- streaming,
 * log-probabilities, entropy, top-k, seeded determinism, JSON-schema-constrained output
 * (validated here), stop strings, context limits, bad requests, tool calls, and the
 * 32k-vocabulary model through a chat template. Every event line must parse as JSON,
 * which also checks that streamed text is valid UTF-8. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

typedef struct worker {
  pid_t pid;
  int to;     /* worker's stdin */
  FILE *from; /* worker's stdout */
  json_t *ready;
} worker;

static char model_dir[4096];

static json_t *read_event(worker *w) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, w->from);
  if (n <= 0) {
    free(line);
    fail_msg("worker closed its output");
  }
  json_error_t je;
  json_t *ev = json_loadb(line, (size_t)n, 0, &je);
  if (!ev) fail_msg("event is not JSON (%s): %.200s", je.text, line);
  free(line);
  return ev;
}

static void start(worker *w, const char *model, const char *extra1, const char *extra2) {
  int in[2], out[2];
  char path[4200];
  const char *exe = getenv("AIRLOCK_LLAMA_WORKER");
  assert_non_null(exe);
  snprintf(path, sizeof path, "%s/%s", model_dir, model);
  assert_int_equal(pipe2(in, O_CLOEXEC), 0); /* no other worker may inherit these */
  assert_int_equal(pipe2(out, O_CLOEXEC), 0);
  w->pid = fork();
  assert_true(w->pid >= 0);
  if (w->pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 2); /* llama.cpp's load warnings */
    close(in[1]);
    close(out[0]);
    const char *argv[] = {exe, "--model", path, "--threads", "1", extra1, extra2, NULL};
    execv(exe, (char **)argv);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  w->to = in[1];
  w->from = fdopen(out[0], "r");
  w->ready = read_event(w);
  assert_string_equal(json_string_value(json_object_get(w->ready, "type")), "ready");
}

static void stop_worker(worker *w) {
  int status = 0;
  if (!w->pid) return;
  close(w->to);
  fclose(w->from);
  waitpid(w->pid, &status, 0);
  json_decref(w->ready);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* EOF on stdin: clean exit */
  memset(w, 0, sizeof *w);
}

static void send_line(worker *w, const char *s) {
  size_t n = strlen(s);
  while (n) {
    ssize_t k = write(w->to, s, n);
    if (k < 0 && errno == EINTR) continue;
    assert_true(k > 0);
    s += k;
    n -= (size_t)k;
  }
  assert_int_equal(write(w->to, "\n", 1), 1);
}

/* Send a request; collect its token events in *tokens (may be NULL); return done/error. */
static json_t *run(worker *w, const char *req, json_t **tokens) {
  json_t *toks = json_array();
  send_line(w, req);
  for (;;) {
    json_t *ev = read_event(w);
    const char *type = json_string_value(json_object_get(ev, "type"));
    assert_non_null(type);
    if (strcmp(type, "token") == 0) {
      json_array_append_new(toks, ev);
      continue;
    }
    if (tokens)
      *tokens = toks;
    else
      json_decref(toks);
    return ev;
  }
}

static const char *type_of(const json_t *ev) {
  return json_string_value(json_object_get(ev, "type"));
}
static const char *str_of(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}
static long long int_of(const json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

#define STORY "{\"role\":\"user\",\"content\":\"Once upon a time\"}"

static worker stories;

static int group_setup(void **state) {
  const char *shared = getenv("AIRLOCK_SHARED");
  if (!shared || !getenv("AIRLOCK_LLAMA_WORKER")) return -1;
  snprintf(model_dir, sizeof model_dir, "%s/models", shared);
  signal(SIGPIPE, SIG_IGN);
  return 0;
}

static int group_teardown(void **state) {
  stop_worker(&stories);
  return 0;
}

static void ready_line(void **state) {
  start(&stories, "stories260K.gguf", "--seed", "5");
  assert_string_equal(str_of(stories.ready, "model"), "stories260K");
  assert_int_equal(int_of(stories.ready, "n_vocab"), 512);
  assert_int_equal(int_of(stories.ready, "n_ctx"), 2048);
  assert_string_equal(str_of(stories.ready, "chat_template"), "plain");
}

static void streaming_events(void **state) {
  json_t *toks = NULL;
  json_t *done = run(&stories,
                     "{\"id\":\"s1\",\"messages\":[" STORY
                     "],\"max_tokens\":30,\"temperature\":0,\"top_logprobs\":5}",
                     &toks);
  assert_string_equal(type_of(done), "done");
  assert_string_equal(str_of(done, "id"), "s1");
  json_t *usage = json_object_get(done, "usage");
  assert_int_equal(int_of(usage, "completion_tokens"), json_array_size(toks));
  assert_true(int_of(usage, "prompt_tokens") > 1);
  assert_true(json_array_size(toks) > 0);
  if (json_array_size(toks) == 30) assert_string_equal(str_of(done, "finish_reason"), "length");
  char text[8192] = "";
  size_t i;
  json_t *t;
  json_array_foreach(toks, i, t) {
    assert_string_equal(str_of(t, "id"), "s1");
    strncat(text, str_of(t, "text"), sizeof text - strlen(text) - 1);
    double lp = json_number_value(json_object_get(t, "logprob"));
    assert_true(lp <= 0);
    assert_true(json_number_value(json_object_get(t, "entropy")) >= 0);
    json_t *top = json_object_get(t, "top");
    assert_int_equal(json_array_size(top), 5);
    for (size_t j = 0; j < 5; j++) {
      json_t *a = json_array_get(top, j);
      assert_non_null(str_of(a, "text"));
      double alp = json_number_value(json_object_get(a, "logprob"));
      assert_true(alp <= 0);
      if (j)
        assert_true(json_number_value(json_object_get(json_array_get(top, j - 1), "logprob")) >=
                    alp);
    }
    /* greedy: the chosen token is the most likely one */
    assert_int_equal(int_of(json_array_get(top, 0), "token_id"), int_of(t, "token_id"));
    assert_true(fabs(json_number_value(json_object_get(json_array_get(top, 0), "logprob")) - lp) <
                1e-5);
  }
  assert_string_equal(text, str_of(done, "text"));
  assert_string_equal(str_of(done, "model"), "stories260K");
  json_decref(toks);
  json_decref(done);
}

/* Token ids of a sampled completion, as a JSON text for comparison. */
static char *sample_ids(worker *w, int seed) {
  char req[512];
  snprintf(req, sizeof req,
           "{\"id\":\"r%d\",\"messages\":[" STORY
           "],\"max_tokens\":40,\"temperature\":0.9,\"seed\":%d,"
           "\"top_logprobs\":0}",
           seed, seed);
  json_t *toks = NULL, *done = run(w, req, &toks);
  assert_string_equal(type_of(done), "done");
  json_t *ids = json_array();
  size_t i;
  json_t *t;
  json_array_foreach(toks, i, t) {
    assert_null(json_object_get(t, "top")); /* top_logprobs 0: no alternatives */
    json_array_append_new(ids, json_integer(int_of(t, "token_id")));
  }
  char *s = json_dumps(ids, JSON_COMPACT);
  json_decref(ids);
  json_decref(toks);
  json_decref(done);
  return s;
}

static void seed_determinism(void **state) {
  char *a = sample_ids(&stories, 123);
  char *b = sample_ids(&stories, 123);
  assert_string_equal(a, b);
  int differs = 0;
  for (int s = 124; s < 128; s++) {
    char *c = sample_ids(&stories, s);
    differs += strcmp(a, c) != 0;
    free(c);
  }
  assert_true(differs > 0);
  free(a);
  free(b);
}

/* A validator for the schema used below (the worker's output is checked, not trusted). */
static void check_person(const char *text) {
  json_error_t je;
  json_t *o = json_loads(text, 0, &je);
  if (!o) fail_msg("constrained output is not JSON (%s): %s", je.text, text);
  assert_true(json_is_object(o));
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    if (strcmp(k, "name") == 0) {
      assert_true(json_is_string(v) && json_string_length(v) <= 20);
    } else if (strcmp(k, "age") == 0) {
      assert_true(json_is_integer(v) && json_integer_value(v) >= 0);
    } else if (strcmp(k, "mood") == 0) {
      assert_true(json_is_string(v));
      assert_true(strcmp(json_string_value(v), "happy") == 0 ||
                  strcmp(json_string_value(v), "sad") == 0);
    } else if (strcmp(k, "friends") == 0) {
      assert_true(json_is_array(v) && json_array_size(v) <= 3);
      size_t i;
      json_t *f;
      json_array_foreach(v, i, f) assert_true(json_is_string(f));
    } else {
      fail_msg("unexpected key %s in %s", k, text);
    }
  }
  assert_non_null(json_object_get(o, "name"));
  assert_non_null(json_object_get(o, "age"));
  assert_non_null(json_object_get(o, "mood"));
  json_decref(o);
}

static void json_schema_constrained(void **state) {
  const char *schema =
      "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":20},"
      "\"age\":{\"type\":\"integer\",\"minimum\":0},\"mood\":{\"enum\":[\"happy\",\"sad\"]},"
      "\"friends\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":3}},"
      "\"required\":[\"name\",\"age\",\"mood\"],\"additionalProperties\":false}";
  for (int seed = 1; seed <= 6; seed++) {
    char req[2048];
    snprintf(req, sizeof req,
             "{\"id\":\"j%d\",\"messages\":[" STORY
             "],\"max_tokens\":400,\"temperature\":0.8,\"seed\":%d,"
             "\"json_schema\":%s}",
             seed, seed, schema);
    json_t *done = run(&stories, req, NULL);
    assert_string_equal(type_of(done), "done");
    assert_string_equal(str_of(done, "finish_reason"), "stop");
    check_person(str_of(done, "text"));
    json_decref(done);
  }
}

/* --json-string-cap / --json-array-cap bound what a schema leaves open. */
static void json_caps(void **state) {
  worker w = {0};
  start(&w, "stories260K.gguf", "--json-string-cap", "4");
  for (int seed = 1; seed <= 4; seed++) {
    char req[512];
    snprintf(req, sizeof req,
             "{\"id\":\"c%d\",\"messages\":[" STORY
             "],\"temperature\":1.0,\"seed\":%d,\"max_tokens\":200,"
             "\"json_schema\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1}}",
             seed, seed);
    json_t *done = run(&w, req, NULL);
    assert_string_equal(type_of(done), "done");
    json_t *arr = json_loads(str_of(done, "text"), 0, NULL);
    if (!json_is_array(arr)) fail_msg("not an array: %s", str_of(done, "text"));
    assert_true(json_array_size(arr) >= 1 && json_array_size(arr) <= 8);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) assert_true(json_is_string(v) && json_string_length(v) <= 4);
    json_decref(arr);
    json_decref(done);
  }
  stop_worker(&w);
}

static void stop_strings(void **state) {
  json_t *toks = NULL;
  json_t *free_run =
      run(&stories, "{\"id\":\"f\",\"messages\":[" STORY "],\"temperature\":0}", NULL);
  const char *full = str_of(free_run, "text");
  const char *hit = strstr(full, " named");
  assert_non_null(hit); /* the greedy story names its hero */
  json_t *done = run(&stories,
                     "{\"id\":\"st\",\"messages\":[" STORY
                     "],\"temperature\":0,\"stop\":[\"zzz\",\" named\"]}",
                     &toks);
  assert_string_equal(str_of(done, "finish_reason"), "stop");
  assert_int_equal(strlen(str_of(done, "text")), (size_t)(hit - full));
  assert_int_equal(strncmp(str_of(done, "text"), full, (size_t)(hit - full)), 0);
  char text[8192] = "";
  size_t i;
  json_t *t;
  json_array_foreach(toks, i, t) strncat(text, str_of(t, "text"), sizeof text - strlen(text) - 1);
  assert_string_equal(text, str_of(done, "text"));
  json_decref(toks);
  json_decref(done);
  json_decref(free_run);
}

static void bad_requests(void **state) {
  json_t *ev = run(&stories, "{\"id\": \"x\", oops}", NULL);
  assert_string_equal(type_of(ev), "error");
  assert_true(json_is_null(json_object_get(ev, "id")));
  assert_non_null(strstr(str_of(ev, "message"), "<stdin>:"));
  json_decref(ev);
  ev = run(&stories, "{\"id\":\"m\"}", NULL);
  assert_string_equal(type_of(ev), "error");
  assert_string_equal(str_of(ev, "id"), "m");
  assert_non_null(strstr(str_of(ev, "message"), "messages"));
  json_decref(ev);
  ev = run(&stories,
           "{\"id\":\"p\",\"messages\":[" STORY
           "],\"json_schema\":{\"type\":\"string\",\"pattern\":\"x\"}}",
           NULL);
  assert_string_equal(type_of(ev), "error");
  assert_non_null(strstr(str_of(ev, "message"), "'pattern'"));
  json_decref(ev);
  send_line(&stories, "   "); /* blank lines are skipped silently */
  ev = run(&stories, "{\"id\":\"ok\",\"messages\":[" STORY "],\"max_tokens\":3}", NULL);
  assert_string_equal(type_of(ev), "done"); /* still serving */
  assert_int_equal(int_of(json_object_get(ev, "usage"), "completion_tokens"), 3);
  json_decref(ev);
}

static void long_line(void **state) {
  size_t n = (16u << 20) + 100;
  char *big = malloc(n + 1);
  memset(big, 'a', n);
  big[n] = '\0';
  json_t *ev = run(&stories, big, NULL);
  free(big);
  assert_string_equal(type_of(ev), "error");
  assert_non_null(strstr(str_of(ev, "message"), "longer than"));
  json_decref(ev);
  ev = run(&stories, "{\"id\":\"after\",\"messages\":[" STORY "],\"max_tokens\":2}", NULL);
  assert_string_equal(type_of(ev), "done");
  json_decref(ev);
}

static void tool_calls(void **state) {
  const char *req =
      "{\"id\":\"t\",\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}],\"seed\":3,"
      "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{}}}"
      "],"
      "\"json_schema\":{\"type\":\"object\",\"required\":[\"tool_calls\"],\"properties\":{\"tool_"
      "calls\":"
      "{\"type\":\"array\",\"minItems\":1,\"maxItems\":1,\"items\":{\"type\":\"object\","
      "\"required\":[\"name\","
      "\"arguments\"],\"properties\":{\"name\":{\"const\":\"get_weather\"},\"arguments\":{\"type\":"
      "\"object\","
      "\"required\":[\"city\"],\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":10}}}}}}"
      "}}}";
  json_t *done = run(&stories, req, NULL);
  assert_string_equal(type_of(done), "done");
  assert_string_equal(str_of(done, "finish_reason"), "tool_calls");
  json_t *call = json_array_get(json_object_get(done, "tool_calls"), 0);
  assert_string_equal(str_of(call, "type"), "function");
  json_t *fn = json_object_get(call, "function");
  assert_string_equal(str_of(fn, "name"), "get_weather");
  json_t *args = json_loads(str_of(fn, "arguments"), 0, NULL);
  assert_true(json_is_string(json_object_get(args, "city")));
  json_decref(args);
  json_decref(done);
}

static void context_limits(void **state) {
  worker w = {0};
  start(&w, "stories260K.gguf", "--ctx", "256"); /* llama.cpp pads n_ctx to 256 */
  assert_int_equal(int_of(w.ready, "n_ctx"), 256);
  char req[8192];
  int off =
      snprintf(req, sizeof req, "{\"id\":\"big\",\"messages\":[{\"role\":\"user\",\"content\":\"");
  for (int i = 0; i < 100; i++)
    off += snprintf(req + off, sizeof req - (size_t)off, "the cat sat. ");
  snprintf(req + off, sizeof req - (size_t)off, "\"}]}");
  json_t *ev = run(&w, req, NULL);
  assert_string_equal(type_of(ev), "error");
  assert_string_equal(str_of(ev, "id"), "big");
  assert_non_null(strstr(str_of(ev, "message"), "context window exceeded"));
  json_decref(ev);
  ev = run(&w,
           "{\"id\":\"fill\",\"messages\":[" STORY
           "],\"max_tokens\":500,\"temperature\":0.7,\"seed\":1}",
           NULL);
  assert_string_equal(type_of(ev), "done");
  json_t *u = json_object_get(ev, "usage");
  if (strcmp(str_of(ev, "finish_reason"), "length") == 0)
    assert_int_equal(int_of(u, "prompt_tokens") + int_of(u, "completion_tokens"), 256);
  else
    assert_true(int_of(u, "prompt_tokens") + int_of(u, "completion_tokens") < 256);
  json_decref(ev);
  stop_worker(&w);
}

static void big_vocab_chat_template(void **state) {
  worker plain = {0}, tmpl = {0};
  const char *req = "{\"id\":\"c\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                    "{\"role\":\"user\",\"content\":\"Caf\\u00e9 "
                    "\\u20ac?\"}],\"max_tokens\":12,\"seed\":9,\"top_logprobs\":20}";
  start(&plain, "llama-2-tiny-random.gguf", "--chat-template", "plain");
  start(&tmpl, "llama-2-tiny-random.gguf", "--chat-template", "llama2");
  assert_int_equal(int_of(tmpl.ready, "n_vocab"), 32000);
  assert_string_equal(str_of(tmpl.ready, "chat_template"), "llama2");
  json_t *toks = NULL;
  json_t *a = run(&plain, req, NULL), *b = run(&tmpl, req, &toks);
  assert_string_equal(type_of(a), "done");
  assert_string_equal(type_of(b), "done");
  /* [INST] <<SYS>> ... <</SYS>> ... [/INST] makes the templated prompt longer */
  assert_true(int_of(json_object_get(b, "usage"), "prompt_tokens") >
              int_of(json_object_get(a, "usage"), "prompt_tokens") + 5);
  size_t i;
  json_t *t;
  json_array_foreach(toks, i, t) {
    json_t *top = json_object_get(t, "top");
    assert_int_equal(json_array_size(top), 20);
    assert_true(json_number_value(json_object_get(t, "entropy")) >
                5); /* random weights: near uniform */
    for (size_t j = 1; j < 20; j++)
      assert_true(json_number_value(json_object_get(json_array_get(top, j - 1), "logprob")) >=
                  json_number_value(json_object_get(json_array_get(top, j), "logprob")));
  }
  json_decref(toks);
  json_decref(a);
  json_decref(b);
  stop_worker(&plain);
  stop_worker(&tmpl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ready_line),
      cmocka_unit_test(streaming_events),
      cmocka_unit_test(seed_determinism),
      cmocka_unit_test(json_schema_constrained),
      cmocka_unit_test(json_caps),
      cmocka_unit_test(stop_strings),
      cmocka_unit_test(bad_requests),
      cmocka_unit_test(long_line),
      cmocka_unit_test(tool_calls),
      cmocka_unit_test(context_limits),
      cmocka_unit_test(big_vocab_chat_template),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
