/* Store throughput: how many case results per second al_store_put_result() takes, the
 * way the runner calls it (one thread, a flush every 100 ms and at the end), with and
 * without streamed tokens; then how long al_store_load_run() takes to read the run back.
 *
 * Usage: bench_store [N_RESULTS] [TOKENS_PER_RESULT] [DB_PATH]
 * (defaults 50000, 32, /tmp/airlock-bench-store/bench.db, removed first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "airlock/store.h"
#include "airlock/util.h"

/* CPU time of the process: on a shared machine wall time measures the neighbours. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 50000;
  int ntok = argc > 2 ? atoi(argv[2]) : 32;
  const char *path = argc > 3 ? argv[3] : "/tmp/airlock-bench-store/bench.db";
  char side[1100];
  unlink(path);
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);

  al_store *s = NULL;
  al_error err = {0};
  if (al_store_open(path, &s, &err) < 0) {
    fprintf(stderr, "bench_store: %s\n", err.msg);
    return 1;
  }
  al_run_manifest m = {0};
  snprintf(m.suite_path, sizeof m.suite_path, "bench.yaml");
  m.suite_name = "bench";
  m.total_cases = n;
  if (al_store_run_begin(s, &m, &err) < 0) return 1;

  al_token *tok = calloc((size_t)(ntok ? ntok : 1), sizeof *tok);
  al_top_logprob top[3] = {{"a", 1, -0.1}, {"b", 2, -1.5}, {"c", 3, -3.0}};
  for (int i = 0; i < ntok; i++)
    tok[i] = (al_token){1000000LL * i, "tok ", i, 1, -0.25, 0.7, 3, top};
  al_assert_result as[2] = {{"contains", "contains \"x\"", 1, 1.0, NULL},
                            {"not-contains", "not-contains \"bomb\"", 0, 0.0, "found bomb"}};
  al_attempt att = {1, 200, NULL, NULL, 1, 1000000, 5000000};
  al_case_result r = {0};
  r.name = "bench case";
  r.category = "safety";
  r.severity = "high";
  r.tags_json = "[\"bench\"]";
  r.meta_json = "{\"family\":\"jailbreak\"}";
  r.request_json = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}";
  r.output = "A model answer of a typical length, a sentence or two long, nothing more.";
  r.finish_reason = "stop";
  r.model = "bench";
  r.ttft_ns = r.ttfb_ns = 1000000;
  r.total_ns = 5000000;
  r.prompt_tokens = 12;
  r.completion_tokens = ntok;
  r.n_attempts = 1;
  r.attempts = &att;
  r.n_asserts = 2;
  r.asserts = as;
  r.n_tokens = (size_t)ntok;
  r.tokens = tok;

  double c0 = cpu_s();
  int64_t t0 = al_now_ns(), last_flush = t0;
  for (long i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof id, "%ld", i);
    al_sha256_hex(id, strlen(id), r.case_id);
    r.index = i;
    r.verdict = i % 10 == 0 ? AL_FAIL : AL_PASS;
    if (al_store_put_result(s, m.run_id, &r, &err) != 0) {
      fprintf(stderr, "bench_store: put: %s\n", err.msg);
      return 1;
    }
    int64_t now = al_now_ns();
    if (now - last_flush > 100000000LL) {
      al_store_flush(s, NULL);
      last_flush = now;
    }
  }
  al_store_flush(s, NULL);
  int64_t t1 = al_now_ns();
  double c1 = cpu_s();
  al_store_run_end(s, m.run_id, "completed", 0, NULL, NULL);

  json_t *doc = NULL;
  int64_t t2 = al_now_ns();
  double c2 = cpu_s();
  if (al_store_load_run(s, m.run_id, 0, &doc, &err) < 0) return 1;
  int64_t t3 = al_now_ns();
  double c3 = cpu_s();
  size_t loaded = json_array_size(json_object_get(doc, "cases"));
  json_decref(doc);
  al_store_close(s);
  double put_s = (double)(t1 - t0) / 1e9, load_s = (double)(t3 - t2) / 1e9;
  printf("results %ld, tokens/result %d: put %.0f results/s wall (%.2f s), %.0f results/s per "
         "CPU-second (%.2f s CPU); load_run (no tokens) of %zu cases %.2f s wall, %.2f s CPU\n",
         n, ntok, n / put_s, put_s, n / (c1 - c0), c1 - c0, loaded, load_s, c3 - c2);
  free(tok);
  return 0;
}
