/* The runner (see include/airlock/runner.h).
 *
 * Shape: curl's hiperfifo. One libevent base; libcurl's multi handle tells us which sockets
 * to watch (socket_cb) and when to wake (timer_cb); libevent tells curl what happened
 * (event_cb -> curl_multi_socket_action). Exec/llama targets use a pool of worker
 * processes whose stdout is a bufferevent read line by line. A 100 ms tick has the store
 * committed (by the writer thread when there is one) and redraws progress.
 *
 * Two libevent priorities keep the recorded times close to the wire: socket readiness and
 * curl's timer run at priority 0 (curl reads; the write callback stamps the bytes with the
 * time the loop woke up for them; finished transfers are only queued), completion work
 * (parse, assertions, hand-over to the writer) runs at priority 1 a few cases per callback,
 * and the base re-polls after every such callback. The send time is stamped by curl's
 * pre-request callback, right before the request is written. Easy
 * handles are kept and reused (their connections stay in the multi's cache).
 *
 * Storing: a judged result goes to a writer thread (a queue of at most AL_WRITER_QUEUE
 * results) that calls al_store_put_result, so SQLite's work overlaps the loop's on a
 * second core; it is woken per AL_WRITER_WAKE results or by the tick, which also has it
 * commit the batch. A store error stops the run as before (seen at the next completion or
 * tick). With an on_result hook (alerts) results are stored on the loop, before the hook,
 * as the hook's contract says. The writer also parses and judges finished HTTP transfers
 * while it keeps up (judge_by_writer), handing the jobs back in batches through a pipe.
 *
 * Life of a case: pulled from the suite when a slot is free (fill) -> queued until the rate
 * limiter allows (its queued time is measured) -> sent (attempt n) -> bytes arrive
 * (first byte, first token, last byte timestamps) -> parsed by the adapter -> on a
 * retryable failure, rescheduled with exponential backoff and full jitter -> judged by its
 * assertions -> stored -> freed. Errors (timeouts, refused connections, bad responses,
 * assertions that could not run) end as AL_ERROR, never as a pass or a fail. */
#include "http/curl.h"
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <math.h>
#include <pthread.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "al_config.h"
#include "airlock/assert.h"
#include "airlock/log.h"
#include "airlock/runner.h"
#include "airlock/sse.h"
#include "airlock/target.h"
#include "airlock/tools.h"
#include "airlock/util.h"
#include "core/jarena.h"
#include "core/limits.h"
#include "http/upstream.h"
#include "proc.h"

#define AL_TOOL_STEPS 8 /* model <-> tool rounds per case (AL_MAX_TOOL_STEPS is the hard cap) */

static volatile sig_atomic_t stop_requested;
void al_run_request_stop(void) { stop_requested = 1; }

typedef struct runner runner;
typedef struct worker worker;

typedef struct job {
  runner *r;
  al_case *c;
  al_case_result res;
  al_gen_output out;
  json_t *params;
  al_buf body, path, resp;
  al_sse sse;
  int streaming;
  CURL *easy;
  gxfer *xfer;         /* the transfer, with the runner's direct client (r->up) */
  CURLcode cc;         /* result of the finished transfer, until its completion runs */
  long retry_after_ms; /* r->up: the answer's Retry-After, -1 if none */
  char errbuf[CURL_ERROR_SIZE];
  int attempt;
  int64_t created_ns, sent_ns, first_byte_ns, last_byte_ns;
  int http_status;
  struct event *timer; /* rate-limit wait or retry backoff */
  worker *w;
  int parse_failed;
  al_error perr;
  struct job *next;    /* waiting list, or the list of finished transfers */
  /* mediated tools: the conversation grows by a step per round of tool calls */
  json_t *msgs;        /* NULL until the first tool call: then the case's messages + steps */
  int steps;
  int step_base;       /* attempts made before this step (attempt numbers run on) */
  json_t *tool_log;    /* every mediated call */
  int findings;
  int64_t first_sent_ns; /* first send of the case: stamped by send_job, refined on the wire */
  size_t emitted;      /* tokens already written to the live event stream */
  double tok_reserved; /* tokens_per_minute: estimate taken from the budget at send */
  int at_writer;       /* handed to the writer thread to judge (judge_by_writer); its slot
                        * already took the next case */
  int stored;          /* parsed, judged and stored by the writer thread */
} job;

struct worker {
  runner *r;
  al_proc *proc;
  struct bufferevent *bev;
  struct event *timeout;
  job *cur;
  int dead;
  int index;
};

typedef struct idset {
  char (*ids)[65];
  size_t cap, n;
} idset;

#define AL_WRITER_QUEUE 4096   /* results waiting for the writer thread before the loop waits */
#define AL_WRITER_WAKE 64      /* results queued before a sleeping writer is woken (else the tick) */
#define AL_WRITER_JUDGE_MAX 256 /* queued items past which the loop judges cases itself */

/* The writer thread's queue, in order: results handed over by finish_tail() to store, and
 * finished transfers handed over by judge_by_writer() to parse, judge and store. */
typedef struct wqitem {
  al_case_result res;
  job *job;               /* set: a job to parse, judge and store, then hand back */
  struct wqitem *next;
} wqitem;

typedef struct writer {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;      /* items arrived, a flush was asked for, or stop */
  pthread_cond_t room;    /* the queue went below its bound */
  wqitem *head, *tail;
  size_t n;
  int stop, failed, started;
  int flush;              /* the tick asks the writer to commit the pending batch */
  al_store *store;
  const char *run_id;
  al_error err;           /* the first store error */
  job *back_head, *back_tail; /* judged and stored, waiting for the loop (judged_cb) */
  int back_fd;            /* write end of the runner's judged_pipe: a NULL job pointer there
                           * tells the loop to take back_head */
} writer;

struct runner {
  struct event_base *base;
  CURLM *multi;
  struct event *curl_timer, *tick;
  const al_suite *s;
  const al_target_config *tc;
  al_store *store;
  const al_run_opts *o;
  char run_id[40];
  al_case_iter *it;
  int iter_done;
  idset done_ids;
  int in_flight, max_in_flight;
  int judging; /* cases with the writer to judge (judge_by_writer), not back yet */
  al_run_stats st;
  int64_t start_ns, last_plain_ns;
  /* rate limiting */
  double req_tokens, tok_tokens;
  int64_t last_refill_ns;
  job *waiting_head, *waiting_tail; /* jobs waiting for a rate-limit token or a worker */
  struct event *rate_ev;
  /* cases with a `command` assertion are judged on a thread of their own; the thread hands
   * the job back through this pipe (judge_thread, judged_cb) */
  int judged_pipe[2];
  struct event *judged_ev;
  /* exec pool */
  worker *workers;
  int n_workers;
  char *api_key_header;
  int fatal;
  al_error err;
  FILE *pout;
  int progress;
  int aborted;
  const char *sock; /* unix socket to connect to: the launched server's, or the target's */
  struct curl_slist *hdrs; /* request headers, the same for every case */
  gup *up;                 /* plain http:// to an IP address: libevent's HTTP client */
  const char **up_hdrs;    /* its extra request headers: name, value, ..., NULL */
  CURL **easy_pool;        /* idle easy handles, reused (options set once) */
  int n_easy, cap_easy;
  job *done_head, *done_tail; /* finished transfers waiting for their completion */
  writer wr;                  /* stores results off the loop (when started) */
  struct event *done_ev;      /* priority 1: runs those completions a few at a time */
  int64_t wake_ns;            /* when the loop woke up (first socket callback after a poll) */
  struct timeval wake_tv;     /* libevent's cached time of that poll */
  int in_socket_cb;           /* inside event_cb: reads are stamped with sock_arrival_ns */
  int64_t sock_arrival_ns;    /* the kernel's receive stamp of the socket being read, or wake_ns */
};

#define AL_DONE_PER_CALLBACK 4 /* completions per low-priority callback before re-polling */
#define AL_DONE_PER_CALLBACK_STAMPED 16 /* the same with the direct client: its bytes carry
                                        * the kernel's receive stamps, fewer re-polls */

/* ---- small helpers ------------------------------------------------------------------- */

static size_t idhash(const char *id) {
  size_t h = 0;
  for (int i = 0; i < 16; i++) h = h * 16 + (size_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
  return h;
}

static int idset_add(idset *s, const char *id) {
  if ((s->n + 1) * 2 > s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 1024;
    char(*n)[65] = al_calloc(nc, 65);
    if (!n) return AL_ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->ids[i][0]) continue;
      size_t k = idhash(s->ids[i]) & (nc - 1);
      while (n[k][0]) k = (k + 1) & (nc - 1);
      memcpy(n[k], s->ids[i], 65);
    }
    al_free(s->ids);
    s->ids = n;
    s->cap = nc;
  }
  size_t k = idhash(id) & (s->cap - 1);
  while (s->ids[k][0]) {
    if (!strcmp(s->ids[k], id)) return 0;
    k = (k + 1) & (s->cap - 1);
  }
  memcpy(s->ids[k], id, 65);
  s->n++;
  return 0;
}

static int idset_has(const idset *s, const char *id) {
  if (!s->cap) return 0;
  size_t k = idhash(id) & (s->cap - 1);
  while (s->ids[k][0]) {
    if (!strcmp(s->ids[k], id)) return 1;
    k = (k + 1) & (s->cap - 1);
  }
  return 0;
}

static int add_done(const char *id, void *ud) { return idset_add(ud, id); }

/* Compact JSON text of j (NULL for NULL); an empty array or object without json_dumps
 * (most cases have no tags). */
static char *dup_json(const json_t *j) {
  if (!j) return NULL;
  if (json_is_array(j) && !json_array_size(j)) return al_strdup("[]");
  if (json_is_object(j) && !json_object_size(j)) return al_strdup("{}");
  return json_dumps(j, JSON_COMPACT);
}

/* ---- the writer thread --------------------------------------------------------------- */

static void record_attempt(job *j, const char *kind, const char *msg);
static void judge(job *j);

/* A finished transfer handed over by judge_by_writer: parse the answer (a streamed one was
 * parsed by the loop as it came), judge and store it, and give the job back to the loop
 * for the rest (counting, freeing). An answer that does not parse goes back unjudged: the
 * loop ends it as an error like any failed attempt. Called without w->mu held. */
static int writer_judge(writer *w, job *j, al_error *e) {
  runner *r = j->r;
  const al_target_ops *ops = r->tc->ops;
  int rc = 0;
  if (!j->streaming &&
      ops->parse_response(r->tc, j->resp.data ? j->resp.data : "", j->resp.len, &j->out, &j->perr))
    j->parse_failed = 1;
  if (!j->parse_failed) {
    record_attempt(j, NULL, NULL);
    judge(j);
    j->stored = 1;
    if (!w->failed) rc = al_store_put_result(w->store, w->run_id, &j->res, e);
  }
  pthread_mutex_lock(&w->mu);
  int wake = !w->back_head;
  j->next = NULL;
  if (w->back_tail) w->back_tail->next = j;
  else w->back_head = j;
  w->back_tail = j;
  pthread_mutex_unlock(&w->mu);
  if (wake) { /* the loop takes the whole list per wake-up */
    job *none = NULL;
    ssize_t n;
    do n = write(w->back_fd, &none, sizeof none);
    while (n < 0 && errno == EINTR);
  }
  return rc;
}

static void *writer_main(void *arg) {
  writer *w = arg;
  /* The writer runs at the loop's priority: it parses and judges as well as stores
   * (judge_by_writer), and the kernel's receive stamps keep a local target's latency exact
   * whichever thread the CPU goes to. The bounded queue makes the loop wait if the writer
   * falls far behind on storing; judging it refuses once behind (AL_WRITER_JUDGE_MAX). */
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->head && !w->stop && !w->flush) pthread_cond_wait(&w->cv, &w->mu);
    if (w->flush && !w->head) { /* the tick's commit, once what is queued is stored */
      w->flush = 0;
      pthread_mutex_unlock(&w->mu);
      al_error e = {0};
      int rc = w->failed ? 0 : al_store_flush(w->store, &e);
      pthread_mutex_lock(&w->mu);
      if (rc < 0 && !w->failed) {
        w->failed = 1;
        w->err = e;
      }
      continue;
    }
    if (!w->head) break; /* stop, and nothing left */
    wqitem *it = w->head;
    w->head = it->next;
    if (!w->head) w->tail = NULL;
    w->n--;
    pthread_cond_signal(&w->room);
    pthread_mutex_unlock(&w->mu);
    al_error e = {0};
    int rc;
    if (it->job) rc = writer_judge(w, it->job, &e);
    else rc = w->failed ? 0 : al_store_put_result(w->store, w->run_id, &it->res, &e);
    al_case_result_cleanup(&it->res);
    al_free(it);
    pthread_mutex_lock(&w->mu);
    if (rc < 0 && !w->failed) {
      w->failed = 1;
      w->err = e;
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static int writer_start(writer *w, al_store *st, const char *run_id, int back_fd) {
  memset(w, 0, sizeof *w);
  w->back_fd = back_fd;
  w->store = st;
  w->run_id = run_id;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  pthread_cond_init(&w->room, NULL);
  if (pthread_create(&w->th, NULL, writer_main, w) != 0) return -1;
  w->started = 1;
  return 0;
}

/* Hand a result over (its fields move into the queue; *res is left empty). Waits while the
 * queue is full. Returns the writer's first error code, or 0. */
static int writer_put(writer *w, al_case_result *res, al_error *err) {
  wqitem *it = al_calloc(1, sizeof *it);
  if (!it) return al_error_set(err, AL_ENOMEM, "out of memory");
  it->res = *res;
  memset(res, 0, sizeof *res);
  pthread_mutex_lock(&w->mu);
  while (w->n >= AL_WRITER_QUEUE && !w->failed) pthread_cond_wait(&w->room, &w->mu);
  if (w->tail) w->tail->next = it;
  else w->head = it;
  w->tail = it;
  /* a sleeping writer is woken for a batch, not for each result (a futex call and a context
   * switch each); the tick's writer_flush wakes it for the rest */
  if (++w->n >= AL_WRITER_WAKE) pthread_cond_signal(&w->cv);
  int rc = w->failed ? (w->err.code ? w->err.code : AL_EIO) : 0;
  if (rc && err) *err = w->err;
  pthread_mutex_unlock(&w->mu);
  return rc;
}

/* Hand a finished transfer over to be parsed, judged and stored (writer_judge); it comes
 * back through judged_cb. The writer is woken as for results: per AL_WRITER_WAKE, by the
 * tick, or by writer_kick when nothing else is in flight. Refused (-1) while the writer has
 * AL_WRITER_JUDGE_MAX items waiting: the loop judges the case itself, so the work splits
 * between the two threads by what each keeps up with (a writer starved of CPU by a busy
 * machine never holds the run back). */
static int writer_put_job(writer *w, job *j) {
  wqitem *it = al_calloc(1, sizeof *it);
  if (!it) return -1;
  it->job = j;
  pthread_mutex_lock(&w->mu);
  if (w->n >= AL_WRITER_JUDGE_MAX || w->failed) { /* it is behind: the loop judges this one */
    pthread_mutex_unlock(&w->mu);
    al_free(it);
    return -1;
  }
  if (w->tail) w->tail->next = it;
  else w->head = it;
  w->tail = it;
  if (++w->n >= AL_WRITER_WAKE) pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return 0;
}

/* Wake the writer for what is queued (the last cases of a run). */
static void writer_kick(writer *w) {
  pthread_mutex_lock(&w->mu);
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* Ask the writer to commit what it has stored so far (the tick's batch commit). */
static void writer_flush(writer *w) {
  pthread_mutex_lock(&w->mu);
  w->flush = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* The writer's first error, if any (0: none). */
static int writer_failed(writer *w, al_error *err) {
  if (w->started) pthread_mutex_lock(&w->mu);
  int rc = w->failed ? (w->err.code ? w->err.code : AL_EIO) : 0;
  if (rc && err) *err = w->err;
  if (w->started) pthread_mutex_unlock(&w->mu);
  return rc;
}

/* Store what is queued, then end the thread. */
static void writer_stop(writer *w) {
  if (!w->started) return;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->th, NULL);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  pthread_cond_destroy(&w->room);
  w->started = 0;
}

static void fill(runner *r);
static void finish(job *j);
static void step_done(job *j);
static void enqueue(job *j);
static void send_job(job *j);
static void worker_start(runner *r, worker *w);

/* Detach a job's easy handle from the multi and keep it for the next request. */
static void easy_release(runner *r, CURL *e) {
  if (!e) return;
  curl_multi_remove_handle(r->multi, e);
  if (r->n_easy == r->cap_easy) {
    int nc = r->cap_easy ? r->cap_easy * 2 : 64;
    CURL **p = al_realloc(r->easy_pool, (size_t)nc * sizeof *p);
    if (!p) {
      curl_easy_cleanup(e);
      return;
    }
    r->easy_pool = p;
    r->cap_easy = nc;
  }
  r->easy_pool[r->n_easy++] = e;
}

static void job_free(job *j) {
  if (!j) return;
  easy_release(j->r, j->easy);
  if (j->xfer) al_gup_cancel(j->xfer);
  if (j->timer) event_free(j->timer);
  al_buf_cleanup(&j->body);
  al_buf_cleanup(&j->path);
  al_buf_cleanup(&j->resp);
  al_sse_cleanup(&j->sse);
  al_gen_output_cleanup(&j->out);
  al_case_result_cleanup(&j->res);
  json_decref(j->params);
  json_decref(j->msgs);
  json_decref(j->tool_log);
  al_case_free(j->c);
  al_free(j);
}

/* ---- progress ------------------------------------------------------------------------ */

static void progress(runner *r, int final) {
  if (r->progress == AL_PROGRESS_NONE) return;
  int64_t now = al_now_ns();
  double el = (now - r->start_ns) / 1e9;
  int64_t done = r->st.done, total = r->st.total - r->st.skipped;
  double rate = el > 0 ? done / el : 0;
  double eta = rate > 0 ? (total - done) / rate : 0;
  if (r->progress == AL_PROGRESS_TTY) {
    int w = 30, fillw = total > 0 ? (int)(w * done / total) : w;
    char bar[40];
    for (int i = 0; i < w; i++) bar[i] = i < fillw ? '=' : (i == fillw ? '>' : ' ');
    bar[w] = '\0';
    fprintf(r->pout, "\r[%s] %lld/%lld  %.0f/s  ETA %.0fs  fail %lld  error %lld  in flight %d ",
            bar, (long long)done, (long long)total, rate, eta, (long long)r->st.fail,
            (long long)r->st.error, r->in_flight);
    if (final) fputc('\n', r->pout);
    fflush(r->pout);
  } else if (final || now - r->last_plain_ns > 5000000000LL) {
    r->last_plain_ns = now;
    fprintf(r->pout, "progress: %lld/%lld done, %.0f/s, %lld fail, %lld error\n", (long long)done,
            (long long)total, rate, (long long)r->st.fail, (long long)r->st.error);
    fflush(r->pout);
  }
}

/* ---- rate limiting ------------------------------------------------------------------- */

static void refill(runner *r) {
  int64_t now = al_now_ns();
  double dt = (now - r->last_refill_ns) / 1e9;
  r->last_refill_ns = now;
  if (r->tc->requests_per_second > 0) {
    double cap = r->tc->requests_per_second < 1 ? 1 : r->tc->requests_per_second;
    r->req_tokens = fmin(cap, r->req_tokens + dt * r->tc->requests_per_second);
  }
  if (r->tc->tokens_per_minute > 0) {
    double cap = r->tc->tokens_per_minute;
    r->tok_tokens = fmin(cap, r->tok_tokens + dt * r->tc->tokens_per_minute / 60.0);
  }
}

/* 0 when a request may go now (and takes a token); else ms to wait. */
static long rate_wait_ms(runner *r) {
  refill(r);
  long wait = 0;
  if (r->tc->requests_per_second > 0 && r->req_tokens < 1) {
    wait = (long)ceil((1 - r->req_tokens) / r->tc->requests_per_second * 1000);
  }
  if (r->tc->tokens_per_minute > 0 && r->tok_tokens <= 0) {
    long w2 = (long)ceil(-r->tok_tokens / (r->tc->tokens_per_minute / 60.0) * 1000) + 1;
    if (w2 > wait) wait = w2;
  }
  if (wait) return wait < 1 ? 1 : wait;
  if (r->tc->requests_per_second > 0) r->req_tokens -= 1;
  return 0;
}

static worker *idle_worker(runner *r) {
  for (int i = 0; i < r->n_workers; i++)
    if (!r->workers[i].cur && !r->workers[i].dead && r->workers[i].proc) return &r->workers[i];
  return NULL;
}

static void dispatch_waiting(runner *r);

static void rate_cb(evutil_socket_t fd, short ev, void *arg) { dispatch_waiting(arg); }

static void dispatch_waiting(runner *r) {
  while (r->waiting_head) {
    if (r->tc->ops->transport == AL_TRANSPORT_EXEC && !idle_worker(r)) return;
    long w = rate_wait_ms(r);
    if (w) {
      struct timeval tv = {w / 1000, (w % 1000) * 1000};
      evtimer_add(r->rate_ev, &tv);
      return;
    }
    job *j = r->waiting_head;
    r->waiting_head = j->next;
    if (!r->waiting_head) r->waiting_tail = NULL;
    j->next = NULL;
    send_job(j);
  }
}

static void enqueue(job *j) {
  runner *r = j->r;
  if (r->waiting_tail) r->waiting_tail->next = j;
  else r->waiting_head = j;
  r->waiting_tail = j;
  dispatch_waiting(r);
}

/* ---- retries ------------------------------------------------------------------------- */

static void retry_cb(evutil_socket_t fd, short ev, void *arg) { enqueue(arg); }

static void record_attempt(job *j, const char *kind, const char *msg) {
  al_attempt *a = al_realloc(j->res.attempts, (size_t)(j->res.n_attempts + 1) * sizeof *a);
  if (!a) return;
  j->res.attempts = a;
  a = &a[j->res.n_attempts++];
  memset(a, 0, sizeof *a);
  a->n = j->attempt;
  a->http_status = j->http_status;
  a->error_kind = kind ? al_strdup(kind) : NULL;
  a->error_msg = msg ? al_strdup(msg) : NULL;
  a->start_wall_ns = al_wall_ns() - (al_now_ns() - j->sent_ns);
  a->ttfb_ns = j->first_byte_ns ? j->first_byte_ns - j->sent_ns : -1;
  a->total_ns = (j->last_byte_ns ? j->last_byte_ns : al_now_ns()) - j->sent_ns;
}

static void set_error(job *j, const char *kind, const char *msg) {
  al_free(j->res.error_kind);
  al_free(j->res.error_msg);
  j->res.error_kind = al_strdup(kind);
  j->res.error_msg = al_strdup(msg);
}

/* Drop what one attempt left behind (transfer, headers, output) before the next one. */
static void reset_transfer(job *j) {
  easy_release(j->r, j->easy);
  j->easy = NULL;
  if (j->xfer) al_gup_cancel(j->xfer);
  j->xfer = NULL;
  al_gen_output_cleanup(&j->out);
  al_buf_reset(&j->resp);
  al_buf_reset(&j->body);
  al_buf_reset(&j->path);
}

/* A failed attempt: retry with backoff if allowed, else end the case as an error. */
static void attempt_failed(job *j, int retryable, const char *kind, const char *msg,
                           long retry_after_ms) {
  runner *r = j->r;
  record_attempt(j, kind, msg);
  set_error(j, kind, msg);
  if (retryable && j->attempt - j->step_base <= r->tc->max_retries && !stop_requested) {
    /* exponential backoff with full jitter; Retry-After wins when longer */
    double cap = fmin((double)r->tc->max_backoff_ms, (double)r->tc->backoff_ms * pow(2, j->attempt - j->step_base - 1));
    static al_rng rng;
    static int seeded;
    if (!seeded) al_rng_seed(&rng, (uint64_t)al_now_ns()), seeded = 1;
    long ms = (long)(al_rng_double(&rng) * cap);
    if (retry_after_ms > ms) ms = retry_after_ms;
    reset_transfer(j);
    if (!j->timer) j->timer = evtimer_new(r->base, retry_cb, j);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(j->timer, &tv);
    return;
  }
  j->res.verdict = AL_ERROR;
  finish(j);
}

/* ---- HTTP transport ------------------------------------------------------------------ */

/* When the bytes being read arrived. On TCP sockets the kernel stamps each received packet
 * (SO_TIMESTAMPNS, set by sockopt_cb); event_cb peeks one byte with recvmsg(MSG_PEEK) to
 * learn the arrival of the data it is about to hand to curl, so a reply that waited in the
 * socket buffer while the loop was busy (or descheduled) is stamped when it arrived. Without
 * a kernel stamp: the time the loop woke up for the sockets it is reading (the first socket
 * callback after each poll stamps it). Never before the request was sent, never after now.
 * Outside socket callbacks: now. */
static int64_t arrival_ns(runner *r, int64_t sent_ns) {
  int64_t now = al_now_ns();
  int64_t t = r->in_socket_cb ? r->sock_arrival_ns : now;
  if (t > now) t = now;
  return t > sent_ns ? t : sent_ns;
}

static int sockopt_cb(void *ud, curl_socket_t fd, curlsocktype purpose) {
  int one = 1;
  if (purpose == CURLSOCKTYPE_IPCXN) setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  return CURL_SOCKOPT_OK;
}


/* Live observability: every new token as a JSON line on the events stream, as it arrives. */
static void emit_tokens(job *j) {
  FILE *f = j->r->o->events;
  if (!f) return;
  for (; j->emitted < j->out.n_tokens; j->emitted++) {
    const al_token *t = &j->out.tokens[j->emitted];
    json_t *ev = json_pack("{s:s, s:s, s:I, s:f, s:s}", "type", "token", "case", j->c->id, "seq",
                           (json_int_t)j->emitted, "t_ms", t->t_ns / 1e6, "text", t->text);
    if (!ev) continue;
    if (t->id >= 0) json_object_set_new(ev, "token_id", json_integer(t->id));
    if (t->has_logprob) json_object_set_new(ev, "logprob", json_real(t->logprob));
    if (t->entropy == t->entropy) json_object_set_new(ev, "entropy", json_real(t->entropy));
    if (t->n_top) {
      json_t *top = json_array();
      for (int k = 0; k < t->n_top; k++)
        json_array_append_new(top, json_pack("{s:s, s:f}", "text", t->top[k].text, "logprob", t->top[k].logprob));
      json_object_set_new(ev, "top", top);
    }
    json_dumpf(ev, f, JSON_COMPACT);
    fputc('\n', f);
    json_decref(ev);
  }
  fflush(f);
}

static int sse_event(const char *event, const char *data, size_t len, void *ud) {
  job *j = ud;
  if (j->parse_failed) return 1;
  if (j->r->tc->ops->parse_event(j->r->tc, data, len, &j->out, arrival_ns(j->r, j->sent_ns), &j->perr)) {
    j->parse_failed = 1;
    return 1;
  }
  emit_tokens(j);
  return 0;
}

/* Answer bytes that arrived at `at`, either client; the first ones come with the status and
 * content type. Non-zero: too large, abort the transfer. */
static int take_bytes(job *j, const char *p, size_t len, int64_t at, long code, const char *ct) {
  if (!j->first_byte_ns) {
    j->first_byte_ns = at;
    j->http_status = (int)code;
    j->streaming = code >= 200 && code < 300 && ct && strstr(ct, "text/event-stream");
    if (j->streaming) al_sse_init(&j->sse, sse_event, j, AL_MAX_SSE_EVENT_BYTES);
  }
  j->last_byte_ns = at;
  if (j->streaming) {
    if (j->parse_failed) return 0;
    int rc = al_sse_feed(&j->sse, p, len);
    if (rc == AL_ELIMIT) {
      j->parse_failed = 1;
      al_error_set(&j->perr, AL_ELIMIT, "stream event larger than %u bytes", AL_MAX_SSE_EVENT_BYTES);
    }
    return 0;
  }
  return al_buf_append(&j->resp, p, len) ? -1 : 0;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud) {
  job *j = ud;
  size_t len = size * n;
  long code = 0;
  char *ct = NULL;
  if (!j->first_byte_ns) {
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(j->easy, CURLINFO_CONTENT_TYPE, &ct);
  }
  return take_bytes(j, p, len, arrival_ns(j->r, j->sent_ns), code, ct) ? 0 : len; /* 0: curl aborts */
}

static size_t header_cb(char *p, size_t size, size_t n, void *ud) { return size * n; }

/* Right before curl writes the request: the send time of this attempt. A fresh connection's
 * TCP (and TLS) set-up is the target's time too, so it is counted in, while time spent
 * inside Airlock before the transfer started is not. */
static int prereq_cb(void *ud, char *primary_ip, char *local_ip, int primary_port, int local_port) {
  job *j = ud;
  int64_t now = al_now_ns();
  curl_off_t lookup = 0, conn = 0, app = 0;
  curl_easy_getinfo(j->easy, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
  curl_easy_getinfo(j->easy, CURLINFO_CONNECT_TIME_T, &conn);
  curl_easy_getinfo(j->easy, CURLINFO_APPCONNECT_TIME_T, &app);
  curl_off_t setup_us = (app > conn ? app : conn) - lookup;
  if (setup_us < 0) setup_us = 0;
  j->sent_ns = now - (int64_t)setup_us * 1000;
  j->out.t0_ns = j->sent_ns;
  if (j->attempt == 1) { /* the case's first request: it left Airlock now, not when queued */
    j->first_sent_ns = j->sent_ns;
    j->res.queued_ns = j->sent_ns > j->created_ns ? j->sent_ns - j->created_ns : 0;
  }
  return CURL_PREREQFUNC_OK;
}

/* A new easy handle with the options every request of this run shares. */
static CURL *easy_new(runner *r) {
  const al_target_config *tc = r->tc;
  CURL *e = curl_easy_init();
  if (!e) return NULL;
  if (r->sock) curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, r->sock);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq_cb);
  curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)tc->timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)tc->connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (tc->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, tc->ca_file);
  if (tc->insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  return e;
}

/* ---- the direct client (r->up) ----
 * Plain http:// to an IP address goes through the HTTP/1.1 client of src/http (h1cli.c),
 * which costs the loop a fraction of what libcurl does per request (no URL parsing, request
 * building or liveness poll() per transfer). The send time is taken right before the
 * request is queued: a connection that must be opened first counts in, as with curl. Its
 * sockets are stamped by the kernel and each read takes the stamp of its bytes
 * (al_gup_stamps), so the arrival times are the same as curl's. Completions are queued for done_cb as curl's
 * are. */
static int up_data(gxfer *x, const char *p, size_t n, void *ud) {
  job *j = ud;
  int64_t now = al_now_ns(), at = (int64_t)al_gxfer_arrival_ns(x);
  if (!at || at > now) at = now;
  if (at < j->sent_ns) at = j->sent_ns;
  return take_bytes(j, p, n, at, al_gxfer_status(x), al_gxfer_content_type(x));
}

static void up_done(gxfer *x, int code, long status, void *ud) {
  job *j = ud;
  runner *r = j->r;
  j->xfer = NULL;
  j->cc = (CURLcode)code;
  j->http_status = (int)status;
  j->retry_after_ms = al_gxfer_retry_after_ms(x);
  if (code) snprintf(j->errbuf, sizeof j->errbuf, "%s", al_gxfer_error(x));
  j->next = NULL;
  if (r->done_tail) r->done_tail->next = j;
  else r->done_head = j;
  r->done_tail = j;
  event_active(r->done_ev, EV_TIMEOUT, 0);
}

static void send_up(job *j, const char *url) {
  runner *r = j->r;
  const al_target_config *tc = r->tc;
  j->errbuf[0] = '\0';
  j->first_byte_ns = j->last_byte_ns = 0;
  j->http_status = 0;
  j->streaming = 0;
  j->parse_failed = 0;
  j->retry_after_ms = -1;
  j->emitted = 0;
  al_gen_output_init(&j->out, al_now_ns());
  j->sent_ns = j->out.t0_ns;
  if (j->attempt == 1) {
    j->first_sent_ns = j->sent_ns;
    j->res.queued_ns = j->sent_ns > j->created_ns ? j->sent_ns - j->created_ns : 0;
  }
  gxfer_opts o = {.url = url, .body = j->body.data ? j->body.data : "", .body_len = j->body.len,
                  .bearer = r->api_key_header ? r->api_key_header + strlen("Authorization: Bearer ") : NULL,
                  .headers = r->up_hdrs, .timeout_ms = tc->timeout_ms,
                  .connect_timeout_ms = tc->connect_timeout_ms};
  if (al_gup_start(r->up, &o, up_data, up_done, j, &j->xfer))
    attempt_failed(j, 0, "internal", "could not start the request", 0);
}

/* Whether this run's requests go through the direct client: plain http:// to an IPv4
 * address, no unix socket, no proxy in the environment (libcurl would use it), and not
 * turned off with AIRLOCK_HTTP_CLIENT=curl. Then r->up and its header list are set up. */
static int up_start(runner *r, al_error *err) {
  const char *want = getenv("AIRLOCK_HTTP_CLIENT");
  if (r->sock || (want && !strcmp(want, "curl")) || getenv("http_proxy") || getenv("all_proxy") ||
      getenv("ALL_PROXY"))
    return 0;
  if (!(r->up = al_gup_new(r->base, r->max_in_flight)))
    return al_error_set(err, AL_ENOMEM, "cannot create the HTTP client");
  if (!al_gup_direct(r->up, r->tc->base_url)) {
    al_gup_free(r->up);
    r->up = NULL;
    return 0;
  }
  al_gup_stamps(r->up, 0);
  size_t n = 2 * (1 + json_object_size(r->tc->headers)) + 1, k = 0;
  if (!(r->up_hdrs = al_calloc(n, sizeof *r->up_hdrs)))
    return al_error_set(err, AL_ENOMEM, "cannot create the HTTP client");
  r->up_hdrs[k++] = "Accept";
  r->up_hdrs[k++] = r->tc->stream ? "text/event-stream" : "application/json";
  const char *hk;
  json_t *hv;
  json_object_foreach(r->tc->headers, hk, hv) {
    r->up_hdrs[k++] = hk;
    r->up_hdrs[k++] = json_string_value(hv);
  }
  return 0;
}

static void send_http(job *j) {
  runner *r = j->r;
  const al_target_config *tc = r->tc;
  char url[4096];
  snprintf(url, sizeof url, "%s%s", tc->base_url, j->path.data ? j->path.data : "");
  if (r->up) {
    send_up(j, url);
    return;
  }
  CURL *e = r->n_easy ? r->easy_pool[--r->n_easy] : easy_new(r);
  if (!e) {
    attempt_failed(j, 0, "internal", "curl_easy_init failed", 0);
    return;
  }
  j->easy = e;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body.data);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body.len);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, j);
  curl_easy_setopt(e, CURLOPT_PRIVATE, j);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
  j->errbuf[0] = '\0';
  j->first_byte_ns = j->last_byte_ns = 0;
  j->http_status = 0;
  j->streaming = 0;
  j->parse_failed = 0;
  al_gen_output_init(&j->out, al_now_ns());
  j->sent_ns = j->out.t0_ns; /* until curl's pre-request callback stamps the real send */
  j->emitted = 0;
  CURLMcode mc = curl_multi_add_handle(r->multi, e);
  if (mc != CURLM_OK) attempt_failed(j, 0, "internal", curl_multi_strerror(mc), 0);
}

static const char *curl_kind(CURLcode c) {
  switch (c) {
  case CURLE_OPERATION_TIMEDOUT: return "timeout";
  case CURLE_COULDNT_CONNECT: return "connect";
  case CURLE_COULDNT_RESOLVE_HOST: return "resolve";
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE: return "reset";
  case CURLE_WRITE_ERROR: return "too-large";
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION: return "tls";
  default: return "transport";
  }
}

static int has_command(const al_case *c);

/* Parsing an answer and judging it are a third of a case's work on the loop; with a writer
 * thread they move there (writer_judge), and the case's slot takes the next case at once,
 * so the loop keeps to sockets, timestamps and building requests while the other core
 * parses, judges and stores. Not for cases whose answer may lead to more requests (mediated
 * tools), nor those with a `command` assertion (judged on a thread of their own), nor
 * without the pipe back. 0: handed over. */
static int judge_by_writer(job *j) {
  runner *r = j->r;
  if (!r->wr.started || !r->judged_ev || al_suite_toolset(r->s) || has_command(j->c)) return -1;
  CURL *e = j->easy;
  j->easy = NULL;
  j->at_writer = 1;
  if (writer_put_job(&r->wr, j) != 0) {
    j->easy = e;
    j->at_writer = 0;
    return -1;
  }
  easy_release(r, e);
  r->in_flight--;
  r->judging++;
  fill(r);
  return 0;
}

static void http_done(job *j, CURLcode cc) {
  runner *r = j->r;
  const al_target_ops *ops = r->tc->ops;
  char msg[512];
  long code = j->http_status;
  if (j->easy) {
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    j->http_status = (int)code;
  }
  if (!j->last_byte_ns) j->last_byte_ns = al_now_ns();
  if (cc != CURLE_OK) {
    snprintf(msg, sizeof msg, "%s", j->errbuf[0] ? j->errbuf : curl_easy_strerror(cc));
    attempt_failed(j, cc != CURLE_WRITE_ERROR && ops->should_retry(0, (int)cc), curl_kind(cc), msg, 0);
    return;
  }
  if (code < 200 || code >= 300) {
    char em[300] = "";
    if (ops->error_message) ops->error_message(j->resp.data, j->resp.len, em, sizeof em);
    snprintf(msg, sizeof msg, "HTTP %ld: %s", code, em);
    long ra_ms = j->retry_after_ms > 0 ? j->retry_after_ms : 0;
    if (j->easy) {
      curl_off_t ra = -1;
      curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &ra);
      ra_ms = ra > 0 ? (long)(ra * 1000) : 0;
    }
    attempt_failed(j, ops->should_retry((int)code, 0), "http", msg, ra_ms);
    return;
  }
  if (j->streaming) {
    if (!j->parse_failed) al_sse_finish(&j->sse);
    if (!j->parse_failed && !j->out.done) {
      j->parse_failed = 1;
      al_error_set(&j->perr, AL_EPARSE, "stream ended without [DONE]");
    }
  }
  if (!j->parse_failed && judge_by_writer(j) == 0) return;
  if (j->streaming) {
  } else if (ops->parse_response(r->tc, j->resp.data ? j->resp.data : "", j->resp.len, &j->out, &j->perr)) {
    j->parse_failed = 1;
  }
  if (j->parse_failed) {
    attempt_failed(j, 0, "parse", j->perr.msg, 0);
    return;
  }
  step_done(j);
}

/* Finished transfers are only queued here (priority 0, between socket reads); their
 * completion runs from done_cb at priority 1. */
static void check_multi(runner *r) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(r->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    job *j = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
    j->cc = m->data.result;
    j->next = NULL;
    if (r->done_tail) r->done_tail->next = j;
    else r->done_head = j;
    r->done_tail = j;
  }
  if (r->done_head) event_active(r->done_ev, EV_TIMEOUT, 0);
}

static void done_cb(evutil_socket_t fd, short kind, void *arg) {
  runner *r = arg;
  for (int n = 0; n < (r->up ? AL_DONE_PER_CALLBACK_STAMPED : AL_DONE_PER_CALLBACK) && r->done_head; n++) {
    job *j = r->done_head;
    r->done_head = j->next;
    if (!r->done_head) r->done_tail = NULL;
    j->next = NULL;
    http_done(j, j->cc);
  }
  if (r->done_head) event_active(r->done_ev, EV_TIMEOUT, 0);
  if (r->up || !r->multi) return; /* direct requests went out as they were made */
  /* Start the requests of the cases just pulled in now, in this loop iteration: they go out
   * without waiting for curl's 0 ms timer, and the socket interest curl drops and re-asks
   * for (a connection back to the cache, then reused) merges into one epoll change. */
  int running;
  curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_multi(r);
}

typedef struct sock_ctx {
  struct event ev;
  short kind;
} sock_ctx;

static void event_cb(evutil_socket_t fd, short kind, void *arg) {
  runner *r = arg;
  /* libevent caches the time once per poll: a new cached time is a new wake-up, and its
   * first socket callback stamps it for all the sockets of that poll */
  struct timeval tv;
  if (event_base_gettimeofday_cached(r->base, &tv) != 0 || tv.tv_sec != r->wake_tv.tv_sec ||
      tv.tv_usec != r->wake_tv.tv_usec) {
    r->wake_ns = al_now_ns();
    r->wake_tv = tv;
  }
  r->sock_arrival_ns = r->wake_ns;
  if (kind & EV_READ) {
    int64_t k = (int64_t)al_peek_arrival_ns(fd);
    if (k) r->sock_arrival_ns = k;
  }
  r->in_socket_cb = 1;
  int action = (kind & EV_READ ? CURL_CSELECT_IN : 0) | (kind & EV_WRITE ? CURL_CSELECT_OUT : 0);
  int running;
  curl_multi_socket_action(r->multi, fd, action, &running);
  r->in_socket_cb = 0;
  check_multi(r);
}

/* curl says which sockets to watch; the event is re-armed only when the interest changes. */
static int socket_cb(CURL *e, curl_socket_t s, int what, void *cbp, void *sockp) {
  runner *r = cbp;
  sock_ctx *sc = sockp;
  if (what == CURL_POLL_REMOVE) {
    if (sc) {
      event_del(&sc->ev);
      al_free(sc);
      curl_multi_assign(r->multi, s, NULL);
    }
    return 0;
  }
  short kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) | EV_PERSIST);
  if (!sc) {
    sc = al_calloc(1, sizeof *sc);
    if (!sc) return -1;
    curl_multi_assign(r->multi, s, sc);
  } else if (sc->kind == kind) {
    return 0;
  } else {
    event_del(&sc->ev);
  }
  sc->kind = kind;
  event_assign(&sc->ev, r->base, s, kind, event_cb, r);
  event_priority_set(&sc->ev, 0);
  event_add(&sc->ev, NULL);
  return 0;
}

static void curl_timer_cb(evutil_socket_t fd, short kind, void *arg) {
  runner *r = arg;
  int running;
  curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_multi(r);
}

static int multi_timer_cb(CURLM *m, long timeout_ms, void *arg) {
  runner *r = arg;
  if (timeout_ms < 0) {
    evtimer_del(r->curl_timer);
    return 0;
  }
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  evtimer_add(r->curl_timer, &tv);
  return 0;
}

/* ---- exec transport ------------------------------------------------------------------ */

static void worker_kill(worker *w) {
  if (w->bev) bufferevent_free(w->bev);
  w->bev = NULL;
  if (w->proc) {
    w->proc->out_fd = -1; /* owned by the bufferevent, closed above */
    al_proc_stop(w->proc, 200);
  }
  w->proc = NULL;
  if (w->timeout) evtimer_del(w->timeout);
}

static void exec_fail(worker *w, const char *kind, const char *msg) {
  job *j = w->cur;
  w->cur = NULL;
  worker_kill(w);
  if (!w->r->fatal) worker_start(w->r, w);
  if (j) {
    j->w = NULL;
    j->last_byte_ns = al_now_ns();
    attempt_failed(j, w->r->tc->ops->should_retry(0, 1), kind, msg, 0);
  }
  dispatch_waiting(w->r);
}

static void worker_read(struct bufferevent *bev, void *arg) {
  worker *w = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  for (;;) {
    size_t n = 0;
    char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
    if (!line) {
      if (evbuffer_get_length(in) > AL_MAX_LINE_BYTES) exec_fail(w, "parse", "line from the model process is too long");
      return;
    }
    job *j = w->cur;
    if (!j) { /* a line outside a request: only "ready" is fine */
      free(line);
      continue;
    }
    int64_t now = al_now_ns();
    if (!j->first_byte_ns) j->first_byte_ns = now;
    j->last_byte_ns = now;
    al_error e = {0};
    int rc = w->r->tc->ops->parse_event(w->r->tc, line, n, &j->out, now, &e);
    free(line);
    if (!rc) emit_tokens(j);
    if (rc) {
      exec_fail(w, "parse", e.msg);
      return;
    }
    if (j->out.done) {
      w->cur = NULL;
      evtimer_del(w->timeout);
      j->w = NULL;
      step_done(j);
      dispatch_waiting(w->r);
      return;
    }
  }
}

static void worker_event(struct bufferevent *bev, short what, void *arg) {
  worker *w = arg;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) exec_fail(w, "process", "the model process exited or closed its output");
}

static void worker_timeout(evutil_socket_t fd, short kind, void *arg) {
  exec_fail(arg, "timeout", "no answer from the model process before the timeout");
}

static void worker_start(runner *r, worker *w) {
  al_error e = {0};
  w->dead = 0;
  if (al_proc_start(r->tc, r->tc->command, 1, r->tc->model_path, r->o->log_fd, &w->proc, &e)) {
    char m[600];
    al_error_log("cannot start model process: %s", al_error_format(&e, m, sizeof m));
    w->dead = 1;
    r->fatal = 1;
    r->err = e;
    return;
  }
  evutil_make_socket_nonblocking(w->proc->out_fd);
  w->bev = bufferevent_socket_new(r->base, w->proc->out_fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(w->bev, worker_read, NULL, worker_event, w);
  bufferevent_enable(w->bev, EV_READ);
  if (!w->timeout) w->timeout = evtimer_new(r->base, worker_timeout, w);
}

static void send_exec(job *j) {
  runner *r = j->r;
  worker *w = idle_worker(r);
  if (!w) { /* cannot happen: dispatch checks; requeue defensively */
    enqueue(j);
    return;
  }
  w->cur = j;
  j->w = w;
  j->first_byte_ns = j->last_byte_ns = 0;
  al_gen_output_init(&j->out, al_now_ns());
  j->sent_ns = j->out.t0_ns;
  if (j->attempt == 1) {
    j->first_sent_ns = j->sent_ns;
    j->res.queued_ns = j->sent_ns - j->created_ns;
  }
  j->emitted = 0;
  al_buf_putc(&j->body, '\n');
  size_t off = 0;
  while (off < j->body.len) {
    ssize_t n = write(w->proc->in_fd, j->body.data + off, j->body.len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      exec_fail(w, "process", "cannot write the request to the model process");
      return;
    }
    off += (size_t)n;
  }
  struct timeval tv = {r->tc->timeout_ms / 1000, (r->tc->timeout_ms % 1000) * 1000};
  evtimer_add(w->timeout, &tv);
}

/* ---- case life ----------------------------------------------------------------------- */

/* tokens_per_minute: a request takes an estimate of its tokens from the budget when it is
 * sent (its body's bytes / 4 for the prompt, plus params.max_tokens when set), so a run
 * with many requests in flight cannot overspend the budget before any answer reports its
 * usage; the answer's real usage replaces the estimate (judge). A retry or a tool-call step
 * gives the previous estimate back first; a case that ends in an error keeps it spent. */
static void reserve_tokens(job *j) {
  runner *r = j->r;
  json_t *mt = j->params ? json_object_get(j->params, "max_tokens") : NULL;
  double est = (double)j->body.len / 4 + (json_is_integer(mt) ? (double)json_integer_value(mt) : 0);
  r->tok_tokens += j->tok_reserved - est;
  j->tok_reserved = est;
}

static void send_job(job *j) {
  runner *r = j->r;
  const al_target_config *tc = r->tc;
  j->attempt++;
  if (!j->first_sent_ns) { /* refined when the request really leaves (prereq_cb, send_exec) */
    j->first_sent_ns = al_now_ns();
    j->res.queued_ns = j->first_sent_ns - j->created_ns;
  }
  al_gen_request req = {j->c->id, j->msgs ? j->msgs : j->c->messages, j->c->tools, j->params,
                        j->c->response_schema, j->msgs ? NULL : j->c->messages_json};
  al_buf_reset(&j->body);
  al_buf_reset(&j->path);
  if (tc->ops->build_request(tc, &req, &j->body, &j->path)) {
    attempt_failed(j, 0, "internal", "could not build the request", 0);
    return;
  }
  if (!j->res.request_json) j->res.request_json = al_strndup(j->body.data, j->body.len);
  if (tc->tokens_per_minute > 0) reserve_tokens(j);
  if (tc->ops->transport == AL_TRANSPORT_HTTP) send_http(j);
  else send_exec(j);
}

/* An answer arrived. If it calls tools and the suite mediates tools, run each call through
 * the mediator, append the assistant turn and the tool results, and ask again (bounded);
 * otherwise the case is done. */
static void step_done(job *j) {
  runner *r = j->r;
  const al_toolset *ts = al_suite_toolset(r->s);
  record_attempt(j, NULL, NULL);
  if (!ts || !json_array_size(j->out.tool_calls) || j->steps >= AL_TOOL_STEPS) {
    finish(j);
    return;
  }
  if (!j->msgs) j->msgs = json_deep_copy(j->c->messages);
  if (!j->tool_log) j->tool_log = json_array();
  json_t *am = json_pack("{s:s, s:O}", "role", "assistant", "tool_calls", j->out.tool_calls);
  json_object_set_new(am, "content", j->out.text.len ? json_stringn(j->out.text.data, j->out.text.len) : json_null());
  json_array_append_new(j->msgs, am);
  size_t i;
  json_t *call;
  json_array_foreach(j->out.tool_calls, i, call) {
    json_t *log = NULL;
    char *content = NULL;
    int f = al_toolset_call(ts, j->c->allow_tools, j->c->off_limits, call, &log, &content);
    if (f > 0) j->findings++;
    json_object_set_new(log, "step", json_integer(j->steps + 1));
    json_array_append_new(j->tool_log, log);
    const char *id = json_string_value(json_object_get(call, "id"));
    json_array_append_new(j->msgs, json_pack("{s:s, s:s, s:s}", "role", "tool", "tool_call_id", id ? id : "",
                                             "content", content ? content : ""));
    free(content);
  }
  j->steps++;
  reset_transfer(j);
  j->step_base = j->attempt;
  enqueue(j);
}

/* Judge a finished case: its result fields and every assertion. Touches only the job and
 * read-only runner state (target config, suite), so it may run on a judging thread. */
static int has_command(const al_case *c);

static void judge(job *j) {
  runner *r = j->r;
  al_case_result *res = &j->res;
  res->output = al_strndup(j->out.text.data ? j->out.text.data : "", j->out.text.len);
  res->finish_reason = j->out.finish_reason[0] ? al_strdup(j->out.finish_reason) : NULL;
  res->model = al_strdup(j->out.model[0] ? j->out.model : (r->tc->model ? r->tc->model : ""));
  res->tool_calls_json = dup_json(j->tool_log ? j->tool_log : j->out.tool_calls);
  res->prompt_tokens = j->out.prompt_tokens;
  res->completion_tokens = j->out.completion_tokens;
  res->ttfb_ns = j->first_byte_ns ? j->first_byte_ns - j->sent_ns : -1;
  res->ttft_ns = j->out.first_token_ns >= 0 ? j->out.first_token_ns - j->sent_ns : -1;
  res->total_ns = j->last_byte_ns - (j->first_sent_ns ? j->first_sent_ns : j->sent_ns);
  res->tokens = j->out.tokens;
  res->n_tokens = j->out.n_tokens;
  j->out.tokens = NULL;
  j->out.n_tokens = j->out.cap_tokens = 0;
  /* the case as JSON is only for `command` assertions (their program gets it on stdin) */
  json_t *cj = has_command(j->c) ? json_pack("{s:s, s:s, s:O, s:O}", "id", j->c->id, "name", j->c->name,
                                             "messages", j->c->messages, "vars", j->c->vars)
                                 : NULL;
  res->asserts = al_calloc(j->c->n_asserts + 1, sizeof *res->asserts);
  int any_fail = 0, any_err = 0;
  char errmsg[600] = "";
  for (size_t i = 0; res->asserts && i < j->c->n_asserts; i++) {
    al_assert_input in = {res->output, strlen(res->output), res, cj, al_suite_system_prompt(r->s)};
    int rc = al_assert_eval(j->c->asserts[i], &in, &res->asserts[i]);
    res->n_asserts++;
    if (rc < 0) {
      any_err = 1;
      snprintf(errmsg, sizeof errmsg, "assertion %s could not run: %s", al_assert_type(j->c->asserts[i]),
               res->asserts[i].message ? res->asserts[i].message : "");
    } else if (!res->asserts[i].pass) {
      any_fail = 1;
    }
  }
  json_decref(cj);
  if (j->tool_log && res->asserts) { /* the mediator's verdict on the tool calls */
    al_assert_result *tr = &res->asserts[res->n_asserts++];
    al_buf m;
    al_buf_init(&m, 4096);
    size_t k;
    json_t *lg;
    json_array_foreach(j->tool_log, k, lg) {
      const char *f = json_string_value(json_object_get(lg, "finding"));
      if (f) al_buf_printf(&m, "%s%s", m.len ? "; " : "", f);
    }
    tr->type = al_strdup("tool-policy");
    tr->label = al_strdup("tool calls stay within the allowlist, schemas and data limits");
    tr->pass = j->findings == 0;
    tr->score = tr->pass;
    tr->message = m.len ? al_buf_steal(&m, NULL) : NULL;
    al_buf_cleanup(&m);
    if (!tr->pass) any_fail = 1;
  }
  if (any_err) {
    res->verdict = AL_ERROR;
    set_error(j, "assertion", errmsg);
  } else {
    res->verdict = any_fail ? AL_FAIL : AL_PASS;
    al_free(res->error_kind), res->error_kind = NULL;
    al_free(res->error_msg), res->error_msg = NULL;
  }
}

static void finish_tail(job *j);

static int has_command(const al_case *c) {
  for (size_t i = 0; i < c->n_asserts; i++)
    if (!strcmp(al_assert_type(c->asserts[i]), "command")) return 1;
  return 0;
}

static void *judge_thread(void *arg) {
  job *j = arg;
  judge(j);
  ssize_t n;
  do n = write(j->r->judged_pipe[1], &j, sizeof j); /* < PIPE_BUF: one atomic write */
  while (n < 0 && errno == EINTR);
  return NULL;
}

/* A judged job back from its thread: finish it on the loop. */
static void give_back_tokens(job *j);

/* Jobs the writer judged and stored (writer_judge), finished on the loop; one whose answer
 * did not parse ends as an error here, like any other failed attempt. */
static void judged_back(runner *r) {
  pthread_mutex_lock(&r->wr.mu);
  job *j = r->wr.back_head;
  r->wr.back_head = r->wr.back_tail = NULL;
  pthread_mutex_unlock(&r->wr.mu);
  while (j) {
    job *next = j->next;
    j->next = NULL;
    if (j->parse_failed) {
      attempt_failed(j, 0, "parse", j->perr.msg, 0);
    } else {
      give_back_tokens(j);
      finish_tail(j);
    }
    j = next;
  }
}

/* Judged jobs coming back: a pointer from a `command` judging thread, or NULL from the
 * writer thread (take its list). */
static void judged_cb(evutil_socket_t fd, short ev, void *arg) {
  job *j;
  while (read(fd, &j, sizeof j) == (ssize_t)sizeof j) {
    if (j) finish_tail(j);
    else judged_back(arg);
  }
}

/* Judge on a detached thread of its own: a `command` assertion runs a program and waits
 * for its verdict, which must not stall every other case on the loop. 0 when started. */
static int judge_off_loop(job *j) {
  runner *r = j->r;
  pthread_attr_t at;
  pthread_t t;
  int rc = -1;
  if (!r->judged_ev || pthread_attr_init(&at)) return -1;
  if (!pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) && !pthread_create(&t, &at, judge_thread, j))
    rc = 0;
  pthread_attr_destroy(&at);
  return rc;
}

/* tokens_per_minute: the answer's usage replaces the estimate taken at send (for a case that
 * got an answer; an error keeps it spent). */
static void give_back_tokens(job *j) {
  runner *r = j->r;
  if (r->tc->tokens_per_minute > 0) {
    int used = (j->out.prompt_tokens > 0 ? j->out.prompt_tokens : 0) +
               (j->out.completion_tokens > 0 ? j->out.completion_tokens : (int)j->out.n_tokens);
    r->tok_tokens += j->tok_reserved - used;
    j->tok_reserved = 0;
  }
}

static void finish(job *j) {
  al_case_result *res = &j->res;
  if (res->verdict != AL_ERROR) give_back_tokens(j);
  if (res->verdict != AL_ERROR) {
    if (has_command(j->c) && judge_off_loop(j) == 0) return; /* finish_tail when judged */
    judge(j);
  } else {
    res->ttfb_ns = j->first_byte_ns ? j->first_byte_ns - j->sent_ns : -1;
    res->ttft_ns = -1;
    res->total_ns = (j->last_byte_ns ? j->last_byte_ns : al_now_ns()) - j->sent_ns;
    if (!res->output) res->output = al_strndup(j->out.text.data ? j->out.text.data : "", j->out.text.len);
  }
  finish_tail(j);
}

/* Count, store and release a judged case, then take more. */
static void finish_tail(job *j) {
  runner *r = j->r;
  al_case_result *res = &j->res;
  al_error e = {0};
  al_verdict verdict = res->verdict;
  r->st.done++;
  if (verdict == AL_PASS) r->st.pass++;
  else if (verdict == AL_FAIL) r->st.fail++;
  else r->st.error++;
  int rc = 0;
  if (!r->wr.started) {
    rc = al_store_put_result(r->store, r->run_id, res, &e);
    if (r->o->on_result) r->o->on_result(r->run_id, res, r->o->ud);
  }
  if (r->o->events) {
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:f}", "type", "result", "case", res->case_id, "name",
                           res->name ? res->name : "", "verdict", al_verdict_name(res->verdict),
                           "total_ms", res->total_ns / 1e6);
    if (ev) {
      json_dumpf(ev, r->o->events, JSON_COMPACT);
      fputc('\n', r->o->events);
      fflush(r->o->events);
      json_decref(ev);
    }
  }
  if (rc >= 0 && r->wr.started && !j->stored) rc = writer_put(&r->wr, res, &e); /* res moves */
  if (rc < 0 && !r->fatal) {
    char m[600];
    al_error_log("cannot store a result: %s", al_error_format(&e, m, sizeof m));
    r->fatal = 1;
    r->err = e;
  }
  /* too many errors reaching the target: stop taking cases */
  if (r->st.done >= 20 && r->st.error > r->tc->max_error_rate * (double)r->st.done && !r->aborted) {
    r->aborted = 1;
    al_warn("stopping: %lld of %lld cases ended in errors (max_error_rate %.2f)",
            (long long)r->st.error, (long long)r->st.done, r->tc->max_error_rate);
  }
  if (j->at_writer) r->judging--;
  else r->in_flight--;
  job_free(j);
  fill(r);
  /* a finished case may have given tokens back (tokens_per_minute): waiting ones may go now */
  if (r->tc->tokens_per_minute > 0 && r->waiting_head) dispatch_waiting(r);
}

static void fill(runner *r) {
  while (!r->iter_done && !r->fatal && !r->aborted && !stop_requested && r->in_flight < r->max_in_flight) {
    al_case *c = NULL;
    al_error e = {0};
    if (al_case_next(r->it, &c, &e)) {
      r->fatal = 1;
      r->err = e;
      break;
    }
    if (!c) {
      r->iter_done = 1;
      break;
    }
    if (idset_has(&r->done_ids, c->id)) {
      r->st.skipped++;
      al_case_free(c);
      continue;
    }
    job *j = al_calloc(1, sizeof *j);
    if (!j) {
      al_case_free(c);
      r->fatal = 1;
      break;
    }
    j->r = r;
    j->c = c;
    j->created_ns = al_now_ns();
    al_buf_init(&j->body, AL_MAX_RESPONSE_BYTES);
    al_buf_init(&j->path, 4096);
    al_buf_init(&j->resp, AL_MAX_RESPONSE_BYTES);
    al_sse_init(&j->sse, sse_event, j, AL_MAX_SSE_EVENT_BYTES);
    j->params = al_target_params(r->tc, c->params);
    memcpy(j->res.case_id, c->id, 65);
    j->res.name = al_strdup(c->name);
    j->res.category = al_strdup(c->category);
    j->res.severity = al_strdup(c->severity);
    j->res.tags_json = dup_json(c->tags);
    j->res.meta_json = c->meta_json ? c->meta_json : dup_json(c->meta);
    c->meta_json = NULL;
    j->res.index = c->index;
    j->res.start_wall_ns = al_wall_ns();
    j->res.ttft_ns = -1;
    r->in_flight++;
    enqueue(j);
  }
  if ((r->iter_done || r->fatal || r->aborted || stop_requested) && r->in_flight == 0) {
    if (r->judging) writer_kick(&r->wr); /* the last ones: judge them now, not at the tick */
    else event_base_loopbreak(r->base);
  }
}

static void tick_cb(evutil_socket_t fd, short kind, void *arg) {
  runner *r = arg;
  al_error e = {0};
  if (r->wr.started) writer_flush(&r->wr); /* committed by the writer: no commit on the loop */
  if ((!r->wr.started && al_store_flush(r->store, &e) < 0) || writer_failed(&r->wr, &e)) {
    if (!r->fatal) {
      char m[600];
      al_error_log("cannot store a result: %s", al_error_format(&e, m, sizeof m));
    }
    r->fatal = 1;
    r->err = e;
  }
  progress(r, 0);
  for (int i = 0; i < r->n_workers; i++) {
    worker *w = &r->workers[i];
    if (w->proc && !w->cur && !al_proc_alive(w->proc)) {
      worker_kill(w);
      worker_start(r, w);
    }
  }
  if (stop_requested || r->fatal || r->aborted) fill(r); /* re-check the end condition */
}

/* ---- launch -------------------------------------------------------------------------- */

static int wait_ready(const al_target_config *tc, al_proc *p, const char *sock, al_error *err) {
  int64_t end = al_now_ns() + tc->ready_timeout_ms * 1000000LL;
  CURL *e = curl_easy_init();
  int rc = AL_ETIMEOUT;
  if (!e) return AL_ENOMEM;
  while (al_now_ns() < end) {
    if (!al_proc_alive(p)) {
      rc = al_error_set(err, AL_ECONN, "the launched server exited before it was ready");
      goto out;
    }
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, tc->ready_url);
    if (sock) curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(e) == CURLE_OK) {
      long code = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
      if (code >= 200 && code < 300) {
        rc = 0;
        goto out;
      }
    }
    usleep(20000);
  }
  rc = al_error_set(err, AL_ETIMEOUT, "the launched server was not ready at %s within %lld ms",
                    tc->ready_url, tc->ready_timeout_ms);
out:
  curl_easy_cleanup(e);
  return rc;
}

/* ---- entry --------------------------------------------------------------------------- */

int al_run_suite(const al_suite *s, al_store *st, const al_run_opts *o, char run_id[40],
                 al_run_stats *stats, al_error *err) {
  int rc = 0;
  runner r;
  al_jarena_install(); /* answers are parsed into the loop thread's arena (targets/openai.c) */
  al_proc *launched = NULL;
  al_run_manifest m;
  memset(&r, 0, sizeof r);
  r.judged_pipe[0] = r.judged_pipe[1] = -1;
  memset(&m, 0, sizeof m);
  memset(stats, 0, sizeof *stats);
  stop_requested = 0;
  r.s = s;
  r.tc = al_suite_target_config(s);
  r.store = st;
  r.o = o;
  r.pout = o->progress_out ? o->progress_out : stderr;
  r.sock = r.tc->unix_socket;
  r.progress = o->progress;
  if (r.progress == AL_PROGRESS_AUTO) r.progress = isatty(fileno(r.pout)) ? AL_PROGRESS_TTY : AL_PROGRESS_PLAIN;
  r.max_in_flight = o->max_in_flight > 0 ? o->max_in_flight : r.tc->max_in_flight;
  if (r.tc->ops->transport == AL_TRANSPORT_EXEC && o->max_in_flight > 0) r.max_in_flight = o->max_in_flight;
  r.st.total = al_suite_case_count(s);
  r.req_tokens = r.tc->requests_per_second > 0 ? 1 : 0;
  r.tok_tokens = r.tc->tokens_per_minute;
  r.last_refill_ns = al_now_ns();
  if (r.tc->api_key_env) {
    const char *key = getenv(r.tc->api_key_env);
    if (!key || !*key) {
      rc = al_error_set(err, AL_EINVAL, "the API key variable %s is not set", r.tc->api_key_env);
      goto out;
    }
    size_t n = strlen(key) + 32;
    r.api_key_header = al_malloc(n);
    snprintf(r.api_key_header, n, "Authorization: Bearer %s", key);
  }

  /* the run record: new, or resumed */
  if (o->resume_run_id) {
    json_t *man = NULL;
    if ((rc = al_store_run_manifest(st, o->resume_run_id, &man, err))) goto out;
    const char *dg = json_string_value(json_object_get(man, "suite_digest"));
    if (!dg || strcmp(dg, al_suite_digest(s))) {
      rc = al_error_set(err, AL_ESTATE, "run %s was made from a different suite (digest %.12s, this suite %.12s); "
                        "resume needs the same suite and data files", o->resume_run_id, dg ? dg : "?",
                        al_suite_digest(s));
      json_decref(man); /* after the message: dg points into it */
      goto out;
    }
    snprintf(r.run_id, sizeof r.run_id, "%s", json_string_value(json_object_get(man, "id")) ?
             json_string_value(json_object_get(man, "id")) : o->resume_run_id);
    json_decref(man);
    if ((rc = al_store_run_done_ids(st, r.run_id, add_done, &r.done_ids)) < 0) {
      rc = al_error_set(err, rc, "cannot read the stored results of run %s", r.run_id);
      goto out;
    }
    rc = 0;
  } else {
    snprintf(m.suite_path, sizeof m.suite_path, "%s", al_suite_path(s));
    memcpy(m.suite_digest, al_suite_digest(s), 65);
    m.suite_name = (char *)al_suite_name(s);
    m.target_json = dup_json(r.tc->raw);
    m.model = r.tc->model;
    m.seed = al_suite_seed(s);
    m.airlock_version = AL_VERSION;
    m.started_wall_ns = al_wall_ns();
    m.total_cases = r.st.total;
    m.thresholds_json = dup_json(al_suite_thresholds(s));
    rc = al_store_run_begin(st, &m, err);
    free(m.target_json);
    free(m.thresholds_json);
    if (rc) goto out;
    snprintf(r.run_id, sizeof r.run_id, "%s", m.run_id);
  }
  snprintf(run_id, 40, "%s", r.run_id);

  /* launch the target's server */
  if (r.tc->launch_argv && !o->no_launch) {
    if ((rc = al_proc_start(r.tc, r.tc->launch_argv, 0, r.tc->model_path, o->log_fd, &launched, err))) goto out;
    if (launched->socket[0]) r.sock = launched->socket;
    if (r.tc->ready_url && (rc = wait_ready(r.tc, launched, r.sock, err))) goto out;
  }

  /* priority 0: sockets and curl's timer; 1: completions, the tick, workers. The base
   * re-polls after each priority-1 callback, so replies are read (and stamped) as they
   * arrive rather than after a run of completions. */
  struct event_config *cfg = event_config_new();
  if (cfg) {
    struct timeval no_max = {0, 0};
    event_config_set_max_dispatch_interval(cfg, &no_max, 1, 1);
    /* the changelist folds the socket interest curl drops and takes back within one loop
     * turn (a connection back to the cache, then reused) into at most one epoll_ctl */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    r.base = event_base_new_with_config(cfg);
    event_config_free(cfg);
  }
  if (!r.base) r.base = event_base_new();
  if (!r.base || event_base_priority_init(r.base, 2)) {
    rc = al_error_set(err, AL_ENOMEM, "cannot create the event loop");
    goto out;
  }
  r.done_ev = event_new(r.base, -1, 0, done_cb, &r);
  event_priority_set(r.done_ev, 1);
  r.curl_timer = evtimer_new(r.base, curl_timer_cb, &r);
  event_priority_set(r.curl_timer, 0);
  r.rate_ev = evtimer_new(r.base, rate_cb, &r);
  if (pipe2(r.judged_pipe, O_CLOEXEC) == 0) {
    evutil_make_socket_nonblocking(r.judged_pipe[0]);
    r.judged_ev = event_new(r.base, r.judged_pipe[0], EV_READ | EV_PERSIST, judged_cb, &r);
    if (r.judged_ev) event_priority_set(r.judged_ev, 1);
    if (r.judged_ev && event_add(r.judged_ev, NULL)) {
      event_free(r.judged_ev);
      r.judged_ev = NULL;
    }
  }
  r.tick = event_new(r.base, -1, EV_PERSIST, tick_cb, &r);
  struct timeval tv = {0, 100000};
  event_add(r.tick, &tv);
  if (r.tc->ops->transport == AL_TRANSPORT_HTTP && (rc = up_start(&r, err))) goto out;
  if (r.tc->ops->transport == AL_TRANSPORT_HTTP && !r.up) { /* libcurl: loaded here (http/curl.h) */
    if (!(r.multi = curl_multi_init())) {
      rc = al_error_set(err, AL_ENOMEM, "cannot create the HTTP client");
      goto out;
    }
    curl_multi_setopt(r.multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(r.multi, CURLMOPT_SOCKETDATA, &r);
    curl_multi_setopt(r.multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
    curl_multi_setopt(r.multi, CURLMOPT_TIMERDATA, &r);
    curl_multi_setopt(r.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)r.max_in_flight);
    curl_multi_setopt(r.multi, CURLMOPT_MAXCONNECTS, (long)r.max_in_flight);
    r.hdrs = curl_slist_append(r.hdrs, "Content-Type: application/json");
    r.hdrs = curl_slist_append(r.hdrs, r.tc->stream ? "Accept: text/event-stream" : "Accept: application/json");
    if (r.api_key_header) r.hdrs = curl_slist_append(r.hdrs, r.api_key_header);
    {
      const char *hk;
      json_t *hv;
      json_object_foreach(r.tc->headers, hk, hv) {
        char h[2048];
        snprintf(h, sizeof h, "%s: %s", hk, json_string_value(hv));
        r.hdrs = curl_slist_append(r.hdrs, h);
      }
    }
  }
  if (r.tc->ops->transport == AL_TRANSPORT_EXEC) {
    r.n_workers = r.tc->workers;
    r.workers = al_calloc((size_t)r.n_workers, sizeof *r.workers);
    for (int i = 0; i < r.n_workers && !r.fatal; i++) {
      r.workers[i].r = &r;
      r.workers[i].index = i;
      worker_start(&r, &r.workers[i]);
    }
    if (r.max_in_flight > r.n_workers) r.max_in_flight = r.n_workers;
  }
  if ((rc = al_case_iter_new(s, &r.it, err))) goto out;
  if (!o->on_result && writer_start(&r.wr, st, r.run_id, r.judged_pipe[1]) != 0) {
    rc = al_error_set(err, AL_ESYS, "cannot start the store's writer thread");
    goto out;
  }
  r.start_ns = al_now_ns();
  r.last_plain_ns = r.start_ns;
  if (!r.fatal) {
    fill(&r);
    if (!(r.iter_done && r.in_flight == 0)) event_base_dispatch(r.base);
  }
  writer_stop(&r.wr); /* every queued result stored */
  {
    al_error we = {0};
    if (writer_failed(&r.wr, &we) && !r.fatal) {
      r.fatal = 1;
      r.err = we;
    }
  }
  progress(&r, 1);
  al_error fe = {0};
  al_store_flush(st, &fe);
  r.st.wall_s = (al_now_ns() - r.start_ns) / 1e9;
  snprintf(r.st.status, sizeof r.st.status, "%s",
           r.aborted ? "aborted" : (stop_requested || r.fatal) ? "interrupted" : "completed");
  *stats = r.st;
  if (r.fatal) {
    if (err) *err = r.err;
    rc = r.err.code ? r.err.code : AL_EIO;
  }
out:
  writer_stop(&r.wr);
  for (int i = 0; i < r.n_workers; i++) {
    worker_kill(&r.workers[i]);
    if (r.workers[i].timeout) event_free(r.workers[i].timeout);
  }
  al_free(r.workers);
  while (r.waiting_head) {
    job *j = r.waiting_head;
    r.waiting_head = j->next;
    job_free(j);
  }
  al_case_iter_free(r.it);
  for (int i = 0; i < r.n_easy; i++) {
    curl_multi_remove_handle(r.multi, r.easy_pool[i]);
    curl_easy_cleanup(r.easy_pool[i]);
  }
  al_free(r.easy_pool);
  if (r.multi) curl_multi_cleanup(r.multi);
  if (r.hdrs) curl_slist_free_all(r.hdrs);
  al_gup_free(r.up);
  al_free(r.up_hdrs);
  if (r.done_ev) event_free(r.done_ev);
  if (r.curl_timer) event_free(r.curl_timer);
  if (r.rate_ev) event_free(r.rate_ev);
  if (r.judged_ev) event_free(r.judged_ev);
  for (int i = 0; i < 2; i++)
    if (r.judged_pipe[i] >= 0) close(r.judged_pipe[i]);
  if (r.tick) event_free(r.tick);
  if (r.base) event_base_free(r.base);
  al_proc_stop(launched, 2000);
  al_free(r.done_ids.ids);
  al_free(r.api_key_header);
  return rc;
}
