/* `airlock report RUN_ID` re-renders a stored run; `airlock runs` lists stored runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/report.h"
#include "airlock/store.h"
#include "cli.h"

int al_cmd_report(int argc, char **argv) {
  const char *run = NULL, *db = NULL, *format = "text", *out = NULL;
  int tokens = 0, rc = 2;
  al_store *st = NULL;
  json_t *run_obj = NULL, *summary = NULL;
  al_error e = {0};
  FILE *f = stdout;
  char msg[1200];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf("usage: airlock report RUN_ID|latest [--format text|json|junit|sarif|markdown] [--output FILE] [--tokens] [--db PATH]\n");
      return 0;
    } else if (al_cli_opt(argc, argv, &i, "--format", &format) || al_cli_opt(argc, argv, &i, "--db", &db) ||
               al_cli_opt(argc, argv, &i, "--output", &out)) {
    } else if (!strcmp(argv[i], "--tokens")) {
      tokens = 1;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "airlock report: unknown option %s\n", argv[i]);
      return 2;
    } else {
      run = argv[i];
    }
  }
  if (!run) {
    fprintf(stderr, "usage: airlock report RUN_ID|latest [--format FMT]\n");
    return 2;
  }
  /* the cases stream from the store: memory does not grow with the run */
  if (al_store_open(al_cli_db_path(db), &st, &e) || al_store_run_head(st, run, &run_obj, &summary, &e)) {
    fprintf(stderr, "airlock: %s\n", al_error_format(&e, msg, sizeof msg));
    goto out;
  }
  if (out && !(f = fopen(out, "we"))) {
    fprintf(stderr, "airlock: cannot write %s: %m\n", out);
    goto out;
  }
  if (al_report_render_store(st, run_obj, summary, tokens, format, f, &e)) {
    fprintf(stderr, "airlock: %s\n", al_error_format(&e, msg, sizeof msg));
    goto out;
  }
  rc = 0;
out:
  if (f && f != stdout) fclose(f);
  json_decref(run_obj);
  json_decref(summary);
  al_store_close(st);
  return rc;
}

int al_cmd_runs(int argc, char **argv) {
  const char *db = NULL, *v;
  int limit = 20, as_json = 0, rc = 2;
  al_store *st = NULL;
  json_t *runs = NULL;
  al_error e = {0};
  char msg[1200];
  for (int i = 1; i < argc; i++) {
    if (al_cli_opt(argc, argv, &i, "--db", &db)) {
    } else if (al_cli_opt(argc, argv, &i, "--limit", &v)) {
      limit = atoi(v);
    } else if (!strcmp(argv[i], "--json")) {
      as_json = 1;
    } else {
      fprintf(stderr, "usage: airlock runs [--limit N] [--json] [--db PATH]\n");
      return 2;
    }
  }
  if (al_store_open(al_cli_db_path(db), &st, &e) || al_store_list_runs(st, limit, &runs, &e)) {
    fprintf(stderr, "airlock: %s\n", al_error_format(&e, msg, sizeof msg));
    goto out;
  }
  if (as_json) {
    json_dumpf(runs, stdout, JSON_INDENT(2));
    putchar('\n');
  } else {
    printf("%-22s %-11s %4s %7s %-24s %s\n", "RUN", "STATUS", "EXIT", "CASES", "SUITE", "STARTED");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r) {
      json_t *ec = json_object_get(r, "exit_code");
      char exit_s[8] = "-";
      if (json_is_integer(ec)) snprintf(exit_s, sizeof exit_s, "%lld", (long long)json_integer_value(ec));
      const char *started = json_string_value(json_object_get(r, "started"));
      printf("%-22s %-11s %4s %7lld %-24.24s %s\n", json_string_value(json_object_get(r, "id")),
             json_string_value(json_object_get(r, "status")), exit_s,
             (long long)json_integer_value(json_object_get(r, "total_cases")),
             json_string_value(json_object_get(r, "suite_name")) ? json_string_value(json_object_get(r, "suite_name")) : "",
             started ? started : "");
    }
  }
  rc = 0;
out:
  json_decref(runs);
  al_store_close(st);
  return rc;
}
