/* Audit log append throughput: token events per second through the full path (escape,
 * hash chain, buffered write, periodic signed checkpoints, rotation), for each hash and
 * fsync policy. Usage: bench_audit [EVENTS] [THREADS] [CONFIG-INDEX]. Writes to a temporary folder under
 * /tmp and removes it. Prints one line per configuration. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "airlock/audit.h"
#include "airlock/util.h"

typedef struct job {
  al_audit_writer *w;
  long n;
  int id;
} job;

static const char *words[] = {" the", " model", " answered", " with", " a", " short", " token", "."};

static void *run(void *p) {
  job *j = p;
  char req[32];
  snprintf(req, sizeof req, "g%d", j->id);
  for (long i = 0; i < j->n; i++) {
    const char *t = words[i & 7];
    if (al_audit_token(j->w, req, t, strlen(t))) return (void *)1;
  }
  return NULL;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* Returns events per wall-clock second; *cpu gets events per CPU second (user + system),
 * the figure that does not depend on what else the machine is running. */
static double bench(const char *key, al_audit_hash h, al_audit_fsync fs, long n, int threads,
                    double *mb, double *cpu) {
  char dir[64], cmd[128];
  snprintf(dir, sizeof dir, "/tmp/al_bench_audit_%d", (int)getpid());
  al_audit_options o = {.dir = dir, .secret_key_path = key, .hash = h, .fsync = fs};
  al_audit_writer *w = NULL;
  al_error e;
  if (al_audit_open(&o, &w, &e)) {
    fprintf(stderr, "open: %s\n", e.msg);
    exit(1);
  }
  pthread_t t[64];
  job j[64];
  int64_t t0 = al_now_ns();
  double c0 = cpu_s();
  for (int i = 0; i < threads; i++) {
    j[i] = (job){w, n / threads, i};
    pthread_create(&t[i], NULL, run, &j[i]);
  }
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  al_audit_close(w);
  double s = (double)(al_now_ns() - t0) / 1e9;
  *cpu = (double)n / (cpu_s() - c0);
  snprintf(cmd, sizeof cmd, "du -sm %s", dir);
  FILE *p = popen(cmd, "r");
  *mb = 0;
  if (p) {
    if (fscanf(p, "%lf", mb) != 1) *mb = 0;
    pclose(p);
  }
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) return 0;
  return (double)n / s;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 3000000;
  int threads = argc > 2 ? atoi(argv[2]) : 1;
  if (threads < 1 || threads > 64) threads = 1;
  char key[64], hex[65];
  snprintf(key, sizeof key, "/tmp/al_bench_audit_key_%d", (int)getpid());
  if (al_audit_keygen(key, hex, NULL)) return 1;
  struct {
    const char *name;
    al_audit_hash h;
    al_audit_fsync fs;
  } cfg[] = {{"blake2b-256, fsync none", AL_AUDIT_BLAKE2B, AL_AUDIT_FSYNC_NONE},
             {"blake2b-256, fsync checkpoint", AL_AUDIT_BLAKE2B, AL_AUDIT_FSYNC_CHECKPOINT},
             {"sha256, fsync none", AL_AUDIT_SHA256, AL_AUDIT_FSYNC_NONE}};
  int only = argc > 3 ? atoi(argv[3]) : -1;
  for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
    if (only >= 0 && (size_t)only != i) continue;
    double mb, cpu, r = bench(key, cfg[i].h, cfg[i].fs, n, threads, &mb, &cpu);
    printf("%-30s %ld events, %d thread(s): %.0f events/s wall, %.0f events per CPU-second "
           "(%.0f ns CPU/event), %.0f MB\n",
           cfg[i].name, n, threads, r, cpu, 1e9 / cpu, mb);
  }
  char pub[80];
  snprintf(pub, sizeof pub, "%s.pub", key);
  unlink(key);
  unlink(pub);
  return 0;
}
