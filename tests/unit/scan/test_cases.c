/* Data-driven detector tests: tests/cases/scan/<detector>/{positive,negative}.txt (format
 * in tests/cases/scan/README.md). For every detector folder: each positive line gives the
 * marked finding (with only that detector enabled, and again with the default set, so no
 * other detector swallows it); each negative line gives no finding of that detector; and
 * stream mode with random chunking agrees with block mode on every line. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "scan_test_util.h"

typedef struct dcase {
  char det[64];
  char dir[1024];
} dcase;

/* Unescape \n and \t, cut out [[ ]] markers; returns marked span (or -1). */
static void prepare(const char *line, char *out, size_t *n, long *ms, long *me) {
  size_t k = 0;
  *ms = *me = -1;
  for (size_t i = 0; line[i]; i++) {
    if (line[i] == '\\' && line[i + 1] == 'n') {
      out[k++] = '\n';
      i++;
    } else if (line[i] == '\\' && line[i + 1] == 't') {
      out[k++] = '\t';
      i++;
    } else if (line[i] == '[' && line[i + 1] == '[') {
      *ms = (long)k;
      i++;
    } else if (line[i] == ']' && line[i + 1] == ']' && *ms >= 0 && *me < 0) {
      *me = (long)k;
      i++;
    } else {
      out[k++] = line[i];
    }
  }
  out[k] = '\0';
  *n = k;
}

static bool has(const gotlist *g, const char *det, long ms, long me) {
  for (size_t i = 0; i < g->n; i++)
    if (!strcmp(g->v[i].det, det) &&
        (ms < 0 || (g->v[i].start == (uint64_t)ms && g->v[i].end == (uint64_t)me)))
      return true;
  return false;
}

static void run_file(const dcase *dc, const char *which, bool positive, unsigned *lines) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", dc->dir, which);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  const char *canaries[8];
  size_t n_can = 0;
  char canbuf[8][160];
  char line[8192], text[8192];
  al_scan_db *one = NULL, *all = NULL, *one_pcre = NULL;
  al_scanner *sp = NULL;
  const al_scan_db *all_borrowed = NULL;
  al_scanner *s1 = NULL, *sa = NULL;
  unsigned lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    size_t L = strlen(line);
    while (L && (line[L - 1] == '\n' || line[L - 1] == '\r')) line[--L] = '\0';
    if (!strncmp(line, "#!canary ", 9) && n_can < 8) {
      snprintf(canbuf[n_can], sizeof canbuf[n_can], "%.150s", line + 9);
      canaries[n_can] = canbuf[n_can];
      n_can++;
      continue;
    }
    if (!L || line[0] == '#') continue;
    if (!one) {
      const char *dets[1] = {dc->det};
      al_scan_config c1 = {.detectors = dets, .n_detectors = 1, .canaries = canaries,
                           .n_canaries = n_can};
      al_scan_config ca = {.canaries = canaries, .n_canaries = n_can};
      al_error err = {0};
      if (al_scan_db_new(&c1, &one, &err)) fail_msg("%s: %s", dc->det, err.msg);
      /* the same detector with every start found by PCRE2 (the engine's fallback path) */
      al_scan_config cp = c1;
      cp.pcre2_starts = 1;
      if (al_scan_db_new(&cp, &one_pcre, &err)) fail_msg("%s: %s", dc->det, err.msg);
      assert_int_equal(al_scanner_new(one_pcre, &sp), 0);
      /* the default set compiles slowly: share one for files without canaries */
      static al_scan_db *shared_all;
      if (n_can == 0 && !shared_all && al_scan_db_new(&ca, &shared_all, &err))
        fail_msg("%s: %s", dc->det, err.msg);
      if (n_can && al_scan_db_new(&ca, &all, &err)) fail_msg("%s: %s", dc->det, err.msg);
      if (!n_can) all_borrowed = shared_all;
      assert_int_equal(al_scanner_new(one, &s1), 0);
      assert_int_equal(al_scanner_new(all ? all : all_borrowed, &sa), 0);
    }
    size_t n;
    long ms, me;
    prepare(line, text, &n, &ms, &me);
    gotlist g1 = {0}, ga = {0}, gs = {0}, gp = {0};
    assert_int_equal(scan_block(s1, text, n, &g1), 0);
    assert_int_equal(scan_block(sp, text, n, &gp), 0);
    if (!same_findings(&g1, &gp))
      fail_msg("%s:%u: PCRE2 start finder found %zu, Hyperscan SOM %zu", path, lineno, gp.n,
               g1.n);
    gotlist_free(&gp);
    assert_int_equal(scan_block(sa, text, n, &ga), 0);
    assert_int_equal(scan_stream(s1, text, n, lineno, 7, &gs), 0);
    bool ok1 = has(&g1, dc->det, ms, me), oka = has(&ga, dc->det, ms, me);
    if (positive && (!ok1 || !oka))
      fail_msg("%s:%u: expected a %s finding%s in \"%s\" (alone: %s, with all: %s)", path,
               lineno, dc->det, ms >= 0 ? " on the marked span" : "", text, ok1 ? "yes" : "no",
               oka ? "yes" : "no");
    if (!positive && has(&g1, dc->det, -1, -1))
      fail_msg("%s:%u: unexpected %s finding [%llu,%llu) \"%.*s\" (%s)", path, lineno, dc->det,
               (unsigned long long)g1.v[0].start, (unsigned long long)g1.v[0].end,
               (int)(g1.v[0].end - g1.v[0].start), text + g1.v[0].start, g1.v[0].note);
    const al_detector *d = al_detector_find(dc->det);
    if (d && (d->flags & AL_DET_STREAMABLE) && !same_findings(&g1, &gs))
      fail_msg("%s:%u: stream mode found %zu, block mode %zu", path, lineno, gs.n, g1.n);
    assert_false(g1.unordered || ga.unordered);
    gotlist_free(&g1);
    gotlist_free(&ga);
    gotlist_free(&gs);
    (*lines)++;
  }
  fclose(f);
  al_scanner_free(s1);
  al_scanner_free(sa);
  al_scanner_free(sp);
  al_scan_db_free(one_pcre);
  al_scan_db_free(one);
  al_scan_db_free(all);
}

static void test_detector(void **state) {
  const dcase *dc = *state;
  unsigned pos = 0, neg = 0;
  assert_non_null(al_detector_find(dc->det));
  run_file(dc, "positive.txt", true, &pos);
  run_file(dc, "negative.txt", false, &neg);
  assert_true(pos >= 2);
  assert_true(neg >= 2);
}

int main(void) {
  const char *src = getenv("AIRLOCK_SRC");
  char root[1024];
  snprintf(root, sizeof root, "%s/tests/cases/scan", src ? src : ".");
  DIR *d = opendir(root);
  if (!d) {
    printf("not ok 1 - open %s\n1..1\n", root);
    return 1;
  }
  static dcase cases[128];
  static struct CMUnitTest tests[128];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 128) {
    if (e->d_name[0] == '.' || !strchr(e->d_name, '.') || strstr(e->d_name, ".md")) continue;
    snprintf(cases[n].det, sizeof cases[n].det, "%.60s", e->d_name);
    snprintf(cases[n].dir, sizeof cases[n].dir, "%.900s/%.100s", root, e->d_name);
    n++;
  }
  closedir(d);
  /* sorted for stable TAP output */
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(cases[i].det, cases[j].det) > 0) {
        dcase t = cases[i];
        cases[i] = cases[j];
        cases[j] = t;
      }
  for (size_t i = 0; i < n; i++)
    tests[i] = (struct CMUnitTest){.name = cases[i].det, .test_func = test_detector,
                                   .initial_state = &cases[i]};
  /* every registered detector of this subsystem has a case folder */
  for (size_t i = 0; i < al_detector_count(); i++) {
    const char *name = al_detector_get(i)->name;
    bool found = false;
    for (size_t k = 0; k < n; k++) found = found || !strcmp(cases[k].det, name);
    if (!found && (!strncmp(name, "pii.", 4) || !strncmp(name, "secret.", 7) ||
                   !strncmp(name, "canary.", 7)))
      fprintf(stderr, "# detector %s has no case folder\n", name);
  }
  return _cmocka_run_group_tests("scan_cases", tests, n, NULL, NULL);
}
