/* The alert worker: one thread, one reused curl easy handle, deliveries in queue order.
 *
 * Webhook: JSON POST with the configured headers; success is a 2xx answer. On a transport
 * error or any other status it retries `retries` times, waiting backoff, 2*backoff, ...
 * (capped at 10 s); the wait and the transfer itself end early when al_alerts_free() asks
 * the worker to stop (a progress callback aborts the transfer).
 * Command: posix_spawnp with the JSON on stdin, stdout to /dev/null, stderr inherited;
 * success is exit status 0 within command_timeout (after it the child is killed).
 * SIGPIPE is blocked in this thread so a command that does not read stdin cannot kill the
 * process. */
#include "http/curl.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "airlock/util.h"
#include "alerts/alerts_internal.h"

extern char **environ;

bool al__alerts_sleep(al_alerts *a, long long ms) {
  struct timespec dl;
  bool stop;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += ms / 1000;
  dl.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&a->mu);
  while (!a->stop && pthread_cond_timedwait(&a->cv, &a->mu, &dl) != ETIMEDOUT) {
  }
  stop = a->stop;
  pthread_mutex_unlock(&a->mu);
  return stop;
}

static int progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
  al_alerts *a = ud;
  pthread_mutex_lock(&a->mu);
  bool stop = a->stop;
  pthread_mutex_unlock(&a->mu);
  return stop ? 1 : 0;
}

static size_t discard(char *p, size_t sz, size_t n, void *ud) { return sz * n; }

int al__alerts_post(al_alerts *a, void *handle, const char *json) {
  CURL *c = handle;
  struct curl_slist *h = NULL, *t;
  int rc = AL_ECONN;
  if (!(h = curl_slist_append(NULL, "Content-Type: application/json"))) return AL_ENOMEM;
  for (int i = 0; i < a->n_headers; i++) {
    if (!(t = curl_slist_append(h, a->headers[i]))) {
      curl_slist_free_all(h);
      return AL_ENOMEM;
    }
    h = t;
  }
  long long wait = a->backoff_ms;
  for (int attempt = 0; attempt <= a->retries; attempt++) {
    if (attempt) {
      if (al__alerts_sleep(a, wait)) break;
      wait = wait * 2 > AL_ALERTS_MAX_BACKOFF_MS ? AL_ALERTS_MAX_BACKOFF_MS : wait * 2;
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, a->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "airlock-alerts");
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK &&
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status >= 200 &&
        status < 300) {
      rc = 0;
      break;
    }
  }
  curl_slist_free_all(h);
  return rc;
}

int al__alerts_command(al_alerts *a, const char *json) {
  int p[2] = {-1, -1}, rc = AL_ESYS, status = 0;
  pid_t pid = -1;
  posix_spawn_file_actions_t fa;
  if (pipe2(p, O_CLOEXEC)) return AL_ESYS;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[0], 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (posix_spawnp(&pid, a->argv[0], &fa, NULL, a->argv, environ)) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  close(p[0]);
  if (pid < 0) {
    close(p[1]);
    return AL_ENOTFOUND;
  }
  size_t n = strlen(json), off = 0;
  while (off < n) {
    ssize_t w = write(p[1], json + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break; /* EPIPE: the command does not read; its exit status decides */
    off += (size_t)w;
  }
  close(p[1]);
  /* consume a SIGPIPE raised by the write, which is blocked in this thread */
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE) {
  }
  int64_t deadline = al_now_ns() + a->command_timeout_ms * 1000000LL;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : AL_EIO;
      break;
    }
    if (w < 0 && errno != EINTR) break;
    bool stop = false;
    pthread_mutex_lock(&a->mu);
    stop = a->stop;
    pthread_mutex_unlock(&a->mu);
    if (stop || al_now_ns() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      rc = AL_ETIMEOUT;
      break;
    }
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return rc;
}

void *al__alerts_worker(void *arg) {
  al_alerts *a = arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  CURL *c = a->url ? curl_easy_init() : NULL;
  pthread_mutex_lock(&a->mu);
  for (;;) {
    while (!a->stop && !a->q_len)
      pthread_cond_wait(&a->cv, &a->mu);
    if (a->stop) break;
    char *job = a->q[a->q_head];
    a->q[a->q_head] = NULL;
    a->q_head = (a->q_head + 1) % a->queue_max;
    a->q_len--;
    a->busy = true;
    pthread_mutex_unlock(&a->mu);
    int ok = 0, bad = 0;
    if (a->url) (c && !al__alerts_post(a, c, job)) ? ok++ : bad++;
    if (a->argv[0]) (!al__alerts_command(a, job)) ? ok++ : bad++;
    al_free(job);
    pthread_mutex_lock(&a->mu);
    a->sent += ok;
    a->failed += bad;
    a->busy = false;
    if (!a->q_len) pthread_cond_broadcast(&a->idle_cv);
  }
  a->busy = false;
  pthread_cond_broadcast(&a->idle_cv);
  pthread_mutex_unlock(&a->mu);
  if (c) curl_easy_cleanup(c);
  return NULL;
}
