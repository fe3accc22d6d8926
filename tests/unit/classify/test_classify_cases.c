/* Case files of the text-classifying detectors: every file under
 * tests/cases/classify/<detector>/pos/ must give at least one finding of that detector, every
 * file under neg/ none. The leak cases use
 * tests/cases/classify/leak/system_prompt.txt as the configured system prompt. Detectors are
 * driven directly (init / scan_full / fini), so this test does not depend on the engine. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airlock/util.h"
#include "scan/detectors/cls_detectors.h"

static char cases_dir[4096];

typedef struct seen {
  unsigned n;
  int bad_span; /* a finding outside [0,len) or with end < start */
  size_t len;
  const char *name;
} seen;

static int on_finding(const al_finding *f, void *ud) {
  seen *s = ud;
  s->n++;
  if (f->end < f->start || f->end > s->len || strcmp(f->detector, s->name) != 0 || f->score < 0 ||
      f->score > 1)
    s->bad_span = 1;
  return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

/* Runs every file of <dir>/<sub>; returns how many files were checked. */
static unsigned run_dir(const al_detector *d, void *state, const char *dir, const char *sub, int want) {
  char path[8192];
  struct dirent **names = NULL;
  snprintf(path, sizeof path, "%s/%s", dir, sub);
  int n = scandir(path, &names, NULL, by_name);
  assert_true(n > 0);
  unsigned checked = 0;
  for (int i = 0; i < n; i++) {
    if (names[i]->d_name[0] != '.') {
      char file[8448];
      char *text = NULL;
      size_t len = 0;
      snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
      assert_int_equal(al_read_file(file, 1u << 20, &text, &len, NULL), 0);
      seen s = {0, 0, len, d->name};
      d->scan_full(state, text, len, on_finding, &s);
      if ((s.n > 0) != want || s.bad_span)
        print_message("# %s %s: %u finding(s)%s\n", d->name, file, s.n, s.bad_span ? " (bad span)" : "");
      assert_false(s.bad_span);
      assert_int_equal(s.n > 0, want);
      al_free(text);
      checked++;
    }
    free(names[i]);
  }
  free(names);
  return checked;
}

static void run_detector(const al_detector *d, const char *folder, const char *system_prompt) {
  char dir[4200];
  void *state = NULL;
  al_error err = {0};
  al_scan_config cfg = {0};
  cfg.system_prompt = system_prompt;
  snprintf(dir, sizeof dir, "%s/%s", cases_dir, folder);
  assert_int_equal(d->init(&cfg, &state, &err), 0);
  unsigned pos = run_dir(d, state, dir, "pos", 1);
  unsigned neg = run_dir(d, state, dir, "neg", 0);
  assert_true(pos >= 3 && neg >= 3);
  d->fini(state);
}

static void refusal_cases(void **st) { run_detector(&al_det_refusal, "refusal", NULL); }
static void toxicity_cases(void **st) { run_detector(&al_det_toxicity, "toxicity", NULL); }
static void injection_cases(void **st) { run_detector(&al_det_injection, "injection", NULL); }

static void leak_cases(void **st) {
  char path[4300];
  char *prompt = NULL;
  size_t len;
  snprintf(path, sizeof path, "%s/leak/system_prompt.txt", cases_dir);
  assert_int_equal(al_read_file(path, 1u << 20, &prompt, &len, NULL), 0);
  run_detector(&al_det_leak_system_prompt, "leak", prompt);
  al_free(prompt);
}

int main(void) {
  const char *src = getenv("AIRLOCK_SRC");
  snprintf(cases_dir, sizeof cases_dir, "%s/tests/cases/classify", src ? src : ".");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(refusal_cases),
      cmocka_unit_test(toxicity_cases),
      cmocka_unit_test(injection_cases),
      cmocka_unit_test(leak_cases),
  };
  return cmocka_run_group_tests_name("classify-cases", tests, NULL, NULL);
}
