/* Internal state of src/alerts shared by the parser/queue (alerts.c) and the delivery
 * worker (deliver.c). */
#ifndef AL_ALERTS_INTERNAL_H
#define AL_ALERTS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "airlock/alerts.h"

/* limits */
#define AL_ALERTS_MAX_HEADERS 32
#define AL_ALERTS_MAX_ARGV 64
#define AL_ALERTS_MAX_QUEUE 10000
#define AL_ALERTS_MAX_RETRIES 10
#define AL_ALERTS_MAX_BACKOFF_MS 10000
#define AL_ALERTS_EXCERPT 500 /* bytes of output in the evidence */

enum { SEV_CRITICAL = 1, SEV_HIGH = 2, SEV_MEDIUM = 4, SEV_LOW = 8, SEV_INFO = 16 };

struct al_alerts {
  /* configuration (immutable once parsed) */
  unsigned on;                          /* SEV_* bits */
  char *url;                            /* webhook, or NULL */
  char *headers[AL_ALERTS_MAX_HEADERS]; /* "Name: value" */
  int n_headers;
  int retries;
  long long timeout_ms, backoff_ms, command_timeout_ms;
  char *argv[AL_ALERTS_MAX_ARGV + 1]; /* command, NULL-terminated, or argv[0] NULL */
  int queue_max;

  /* worker */
  pthread_mutex_t mu;
  pthread_cond_t cv;      /* work arrived / stop */
  pthread_cond_t idle_cv; /* queue drained */
  pthread_t thread;
  bool started, stop, busy;
  char **q; /* ring of JSON payloads */
  int q_head, q_len;
  int sent, failed;
};

/* deliver.c: the worker thread body and one delivery of each kind (0 ok). */
void *al__alerts_worker(void *arg);
int al__alerts_post(al_alerts *a, void *curl, const char *json);
int al__alerts_command(al_alerts *a, const char *json);
/* Sleep ms unless stop is set; returns true when stopping. Called with a->mu unlocked. */
bool al__alerts_sleep(al_alerts *a, long long ms);

#endif
