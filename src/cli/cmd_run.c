/* `airlock run SUITE`: evaluate a target, store every result, report, and gate.
 *
 * Exit codes: 0 the gate passed; 1 it failed; 2 usage or suite error (the message names
 * file:line:col); 3 too many errors reaching the target. SIGINT/SIGTERM stop taking new
 * cases, let the ones in flight finish and store them; `--resume RUN_ID` continues. */
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "al_config.h"
#include "airlock/alerts.h"
#include "airlock/report.h"
#include "airlock/runner.h"
#include "airlock/store.h"
#include "airlock/suite.h"
#include "airlock/util.h"
#include "cli.h"

const char *al_cli_db_path(const char *given) {
  if (given) return given;
  const char *env = getenv("AIRLOCK_DB");
  return env && *env ? env : ".airlock/airlock.db";
}

static void on_signal(int sig) { al_run_request_stop(); }

/* Alerts fire during the run, from the loop, as soon as a matching failure is stored; the
 * alerts module queues them to its own thread so the run never waits for a webhook. */
static void fire_alert(const char *run_id, const al_case_result *r, void *ud) {
  al_alerts_fire(ud, run_id, r);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: airlock run SUITE.yaml [options]\n"
          "       airlock run --suite NAME TARGET.yaml [options]   (built-in suites: data/suites/NAME.yaml;\n"
          "         pre-release, finance-advice, pii-leak, prompt-injection, over-refusal, structured-output)\n"
          "  --var NAME=VALUE       set a suite variable (repeatable; also used in target:)\n"
          "  --resume RUN_ID        continue a run that was killed or interrupted\n"
          "  --db PATH              results database (default $AIRLOCK_DB or .airlock/airlock.db)\n"
          "  --concurrency N        cases in flight (default: the target's max_in_flight, 64)\n"
          "  --format FMT           report on stdout: text (default), json, junit, sarif, markdown\n"
          "  --report FMT=PATH      also write a report to a file (repeatable)\n"
          "  --no-progress          no progress output\n"
          "  --events FILE|-        stream every token (text, logprob, alternatives, entropy) and result live as JSON lines\n"
          "  --target-log           show the target processes' output (default: DB folder/target.log)\n"
          "  --no-launch            do not start the target's launch: command (it is running)\n"
          "  --check                load and validate the suite, print the case count, exit\n");
}

static int write_report(al_store *st, const json_t *run, const json_t *summary, const char *spec) {
  char fmt[32];
  const char *eq = strchr(spec, '=');
  if (!eq || (size_t)(eq - spec) >= sizeof fmt) {
    fprintf(stderr, "airlock: --report expects FMT=PATH, got '%s'\n", spec);
    return 2;
  }
  memcpy(fmt, spec, (size_t)(eq - spec));
  fmt[eq - spec] = '\0';
  FILE *f = fopen(eq + 1, "we");
  if (!f) {
    fprintf(stderr, "airlock: cannot write %s: %m\n", eq + 1);
    return 2;
  }
  al_error e = {0};
  int rc = al_report_render_store(st, run, summary, 0, fmt, f, &e);
  fclose(f);
  if (rc) {
    fprintf(stderr, "airlock: report %s: %s\n", fmt, e.msg);
    return 2;
  }
  return 0;
}

int al_cmd_run(int argc, char **argv) {
  const char *suite_path = NULL, *builtin = NULL, *resume = NULL, *db = NULL, *format = "text", *v, *events_path = NULL;
  FILE *events = NULL;
  const char *reports[16];
  int nreports = 0, verbose_target = 0, conc = 0, progress = AL_PROGRESS_AUTO, no_launch = 0, check = 0;
  int exit_code = 2;
  al_suite *s = NULL;
  al_store *st = NULL;
  json_t *run = NULL, *stored_summary = NULL, *summary = NULL, *vars = json_object();
  al_report_ahead *ahead = NULL;
  al_error e = {0};
  char msg[1200];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (al_cli_opt(argc, argv, &i, "--suite", &builtin)) {
    } else if (al_cli_opt(argc, argv, &i, "--resume", &resume) || al_cli_opt(argc, argv, &i, "--db", &db) ||
               al_cli_opt(argc, argv, &i, "--format", &format)) {
    } else if (al_cli_opt(argc, argv, &i, "--concurrency", &v)) {
      conc = atoi(v);
      if (conc <= 0) {
        fprintf(stderr, "airlock: --concurrency expects a positive number\n");
        return 2;
      }
    } else if (al_cli_opt(argc, argv, &i, "--var", &v)) {
      const char *eq = strchr(v, '=');
      if (!eq || eq == v) {
        fprintf(stderr, "airlock: --var expects NAME=VALUE, got '%s'\n", v);
        json_decref(vars);
        return 2;
      }
      char name[128];
      snprintf(name, sizeof name, "%.*s", (int)(eq - v), v);
      json_object_set_new(vars, name, json_string(eq + 1));
    } else if (al_cli_opt(argc, argv, &i, "--report", &v)) {
      if (nreports < 16) reports[nreports++] = v;
    } else if (!strcmp(argv[i], "--no-progress")) {
      progress = AL_PROGRESS_NONE;
    } else if (al_cli_opt(argc, argv, &i, "--events", &events_path)) {
    } else if (!strcmp(argv[i], "--target-log")) {
      verbose_target = 1;
    } else if (!strcmp(argv[i], "--no-launch")) {
      no_launch = 1;
    } else if (!strcmp(argv[i], "--check")) {
      check = 1;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "airlock run: unknown option %s\n", argv[i]);
      usage(stderr);
      return 2;
    } else if (!suite_path) {
      suite_path = argv[i];
    } else {
      fprintf(stderr, "airlock run: one suite at a time\n");
      return 2;
    }
  }
  if (!suite_path) {
    usage(stderr);
    json_decref(vars);
    return 2;
  }
  /* --suite NAME TARGET.yaml: a built-in suite (or a suite path) with the target from a file */
  char builtin_path[4096];
  const char *target_path = NULL;
  if (builtin) {
    if (strchr(builtin, '/')) snprintf(builtin_path, sizeof builtin_path, "%s", builtin);
    else snprintf(builtin_path, sizeof builtin_path, "%s/suites/%s.yaml", al_data_dir(), builtin);
    target_path = suite_path;
    suite_path = builtin_path;
    if (access(suite_path, R_OK)) {
      fprintf(stderr, "airlock: no built-in suite '%s' (%s: %m)\n", builtin, suite_path);
      json_decref(vars);
      return 2;
    }
  }
  /* A run frees and allocates the same few sizes thousands of times a second: keep freed
   * memory in the heap instead of giving it back to the kernel and faulting it in again
   * (brk/munmap and page faults were a third of the CPU time at 100 in flight). For glibc's
   * malloc (-Dallocator=system); jemalloc, the default, keeps per-thread caches and ignores
   * these. */
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 4 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  if (al_suite_load_opts(suite_path, vars, target_path, &s, &e)) {
    fprintf(stderr, "airlock: %s\n", al_error_format(&e, msg, sizeof msg));
    goto out;
  }
  if (check) {
    printf("%s: %lld cases, digest %s\n", suite_path, (long long)al_suite_case_count(s), al_suite_digest(s));
    exit_code = 0;
    goto out;
  }
  if (al_store_open(al_cli_db_path(db), &st, &e)) {
    fprintf(stderr, "airlock: %s\n", al_error_format(&e, msg, sizeof msg));
    goto out;
  }
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* the target processes' own output goes to a log beside the database */
  char logpath[1100];
  snprintf(logpath, sizeof logpath, "%s", al_cli_db_path(db));
  char *slash = strrchr(logpath, '/');
  snprintf(slash ? slash + 1 : logpath, sizeof logpath - (size_t)(slash ? slash + 1 - logpath : 0), "target.log");
  int log_fd = verbose_target ? -1 : open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (events_path) {
    events = strcmp(events_path, "-") ? fopen(events_path, "we") : stdout;
    if (!events) {
      fprintf(stderr, "airlock: cannot write %s: %m\n", events_path);
      goto out;
    }
  }
  al_run_opts o = {.resume_run_id = resume, .max_in_flight = conc, .progress = progress,
                   .no_launch = no_launch, .log_fd = log_fd, .events = events};
  if (al_suite_alerts(s)) {
    o.on_result = fire_alert;
    o.ud = al_suite_alerts(s);
  }
  char run_id[40] = "";
  al_run_stats stats;
  int rc = al_run_suite(s, st, &o, run_id, &stats, &e);
  if (log_fd >= 0) close(log_fd);
  /* A long json report renders most of its cases on a thread of its own, from now until the
   * gate is computed (al_report_ahead_start); the WAL goes into the database file meanwhile
   * (another thread) */
  if (run_id[0]) ahead = al_report_ahead_start(st, run_id, format, 0);
  al_store_checkpoint_start(st, NULL);
  if (al_suite_alerts(s)) {
    int sent = 0, failed = 0;
    al_alerts_drain(al_suite_alerts(s), 15000, &sent, &failed);
    if (sent || failed) fprintf(stderr, "alerts: %d delivered, %d failed\n", sent, failed);
  }
  if (events && events != stdout) fclose(events);
  if (rc && !run_id[0]) {
    fprintf(stderr, "airlock: %s\n", al_error_format(&e, msg, sizeof msg));
    exit_code = e.code == AL_ECONN || e.code == AL_ETIMEOUT ? 3 : 2;
    goto out;
  }
  if (rc) fprintf(stderr, "airlock: run %s stopped: %s\n", run_id, al_error_format(&e, msg, sizeof msg));
  /* the gate from the store's aggregates; the report streams the cases from the store:
   * neither holds the run in memory */
  if (al_store_run_head(st, run_id, &run, &stored_summary, &e) ||
      al_gate_compute_store(st, run_id, al_suite_thresholds(s), &summary, &e)) {
    fprintf(stderr, "airlock: cannot read back run %s: %s\n", run_id, e.msg);
    goto out;
  }
  exit_code = (int)json_integer_value(json_object_get(summary, "exit_code"));
  int complete = !strcmp(stats.status, "completed");
  if (!strcmp(stats.status, "aborted")) exit_code = 3;
  else if (!complete && exit_code == 0) exit_code = rc ? 3 : 1; /* an unfinished run never passes */
  json_object_set_new(run, "status", json_string(complete ? "completed" : "interrupted"));
  json_object_set_new(run, "exit_code", json_integer(exit_code));
  if (al_store_run_end(st, run_id, complete ? "completed" : "interrupted", exit_code, summary, &e)) {
    fprintf(stderr, "airlock: cannot record the end of run %s: %s\n", run_id, e.msg);
  } else { /* the run as stored now (its end time too): what `airlock report` will show */
    json_t *fresh = NULL, *fresh_sum = NULL;
    if (!al_store_run_head(st, run_id, &fresh, &fresh_sum, NULL)) {
      json_decref(run);
      run = fresh;
    }
    json_decref(fresh_sum);
  }
  if (al_report_render_store_ahead(st, run, summary, 0, format, stdout, ahead, &e)) {
    fprintf(stderr, "airlock: report: %s\n", e.msg);
    exit_code = 2;
  }
  for (int i = 0; i < nreports; i++)
    if (write_report(st, run, summary, reports[i])) exit_code = 2;
  fprintf(stderr, "run %s: %s, %lld cases (%lld resumed from before) in %.2fs; gate exit code %d\n", run_id,
          stats.status, (long long)stats.done, (long long)stats.skipped, stats.wall_s, exit_code);
  if (!complete) fprintf(stderr, "continue it with: airlock run %s --resume %s\n", suite_path, run_id);
out:
  al_report_ahead_free(ahead);
  json_decref(run);
  json_decref(stored_summary);
  json_decref(summary);
  json_decref(vars);
  al_store_close(st);
  al_suite_free(s);
  return exit_code;
}
