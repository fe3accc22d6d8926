/* The advice-like-output detector (policy.investment_advice) on its case files:
 * tests/cases/probes/advice/positive/NAME.txt must each give a finding, negative/NAME.txt none.
 * Prints the measured rates as TAP diagnostics (recorded in bench/attacks/README.md). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airlock/scan.h"
#include "airlock/util.h"

typedef struct hit {
  int n;
  double score;
  char note[160];
} hit;

static int on_finding(const al_finding *f, void *ud) {
  hit *h = ud;
  if (strcmp(f->detector, "policy.investment_advice")) return 0;
  h->n++;
  h->score = f->score;
  snprintf(h->note, sizeof h->note, "%s", f->note);
  return 0;
}

static int run_dir(const char *kind, int want, int *total) {
  static const char *const names[] = {"policy.investment_advice"};
  al_scan_config cfg = {names, 1, NULL, NULL, 0, NULL};
  al_scan_db *db = NULL;
  al_scanner *sc = NULL;
  char dir[1024];
  int ok = 0;
  assert_int_equal(al_scan_db_new(&cfg, &db, NULL), 0);
  assert_int_equal(al_scanner_new(db, &sc), 0);
  snprintf(dir, sizeof dir, "%s/tests/cases/probes/advice/%s", getenv("AIRLOCK_SRC"), kind);
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *ent;
  *total = 0;
  while ((ent = readdir(d))) {
    if (ent->d_name[0] == '.') continue;
    char path[1400], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
    assert_int_equal(al_read_file(path, 1 << 20, &text, &len, NULL), 0);
    hit h = {0};
    assert_int_equal(al_scan(sc, text, len, on_finding, &h), 0);
    (*total)++;
    if (!!h.n == want) ok++;
    else print_error("%s/%s: expected %s, got %d finding(s) %s\n", kind, ent->d_name, want ? "a finding" : "none", h.n, h.note);
    if (h.n) assert_true(h.score >= 0.6 && h.score <= 1.0);
    al_free(text);
  }
  closedir(d);
  al_scanner_free(sc);
  al_scan_db_free(db);
  return ok;
}

static void positives_detected(void **st) {
  int total = 0, ok = run_dir("positive", 1, &total);
  printf("# policy.investment_advice: %d/%d positive cases detected\n", ok, total);
  assert_true(total >= 15);
  assert_int_equal(ok, total);
}

static void negatives_clean(void **st) {
  int total = 0, ok = run_dir("negative", 0, &total);
  printf("# policy.investment_advice: %d/%d negative cases clean\n", ok, total);
  assert_true(total >= 15);
  assert_int_equal(ok, total);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(positives_detected),
      cmocka_unit_test(negatives_clean),
  };
  return cmocka_run_group_tests_name("probes-advice", tests, NULL, NULL);
}
