/* The runner: evaluates a suite against its target at high concurrency.
 *
 * libcurl's multi interface driven by libevent (curl's hiperfifo shape) for HTTP targets,
 * and a pool of (jailed) processes with bufferevents for exec/llama targets, on one event
 * loop. Cases are pulled from the suite lazily, so memory follows the cases in flight.
 * Each result streams to the store as it completes. A run killed at any point can be
 * resumed: cases whose results are stored are skipped, so every case ends exactly once.
 */
#ifndef AIRLOCK_RUNNER_H
#define AIRLOCK_RUNNER_H

#include <stdio.h>

#include "airlock/error.h"
#include "airlock/result.h"
#include "airlock/store.h"
#include "airlock/suite.h"

enum { AL_PROGRESS_AUTO = 0, AL_PROGRESS_TTY, AL_PROGRESS_PLAIN, AL_PROGRESS_NONE };

typedef struct al_run_opts {
  const char *resume_run_id; /* continue this run */
  int max_in_flight;         /* 0: the target's setting */
  int progress;              /* AL_PROGRESS_* */
  FILE *progress_out;        /* default stderr */
  int no_launch;             /* do not start the target's launch: command */
  int log_fd;                /* stderr of launched servers and workers; -1: ours */
  FILE *events;              /* live JSON lines: every token as it arrives, every result; or NULL */
  /* Called on the loop thread after each result is stored (alerts, live views). */
  void (*on_result)(const char *run_id, const al_case_result *r, void *ud);
  void *ud;
} al_run_opts;

typedef struct al_run_stats {
  int64_t total, done, skipped, pass, fail, error;
  double wall_s;
  char status[16]; /* completed, interrupted, aborted */
} al_run_stats;

/* Runs the suite; fills run_id (a new one, or the resumed one) and stats. The gate is not
 * computed here (see al_gate_compute). Returns 0, or <0 when the run could not proceed. */
int al_run_suite(const al_suite *s, al_store *st, const al_run_opts *o, char run_id[40],
                 al_run_stats *stats, al_error *err);

/* Ask a running al_run_suite (from a signal handler) to stop taking new cases and finish. */
void al_run_request_stop(void);

#endif
