/* Conformance run of src/schema against the JSON-Schema-Test-Suite (read from
 * $AIRLOCK_SHARED/data/json-schema-test-suite): every required file of tests/draft2020-12 and
 * tests/draft7 (not optional/), every case. One TAP line per file, ok when every case in it
 * passes; failing cases are listed as "# group / case: expected X, got Y (why)". Totals per
 * draft go to stderr. Remote references to http://localhost:1234/ are served from the suite's
 * remotes/ folder through an al_schema_registry, as the suite's README asks. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "airlock/schema.h"

static int tap_n, tap_fail;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of cases; *passed gets how many passed. */
static int run_file(const char *path, const char *name, al_schema_draft draft,
                    const al_schema_registry *reg, int *passed) {
  json_error_t je;
  int cases = 0, ok = 0;
  char diag[64 * 1024];
  size_t dn = 0;
  diag[0] = '\0';
  json_t *doc = json_load_file(path, JSON_ALLOW_NUL, &je);
  if (!doc) {
    printf("not ok %d - %s\n# cannot parse: %s line %d\n", ++tap_n, name, je.text, je.line);
    tap_fail++;
    return 0;
  }
  size_t gi;
  json_t *g;
  json_array_foreach(doc, gi, g) {
    const char *gd = json_string_value(json_object_get(g, "description"));
    json_t *tests = json_object_get(g, "tests");
    al_schema *s = NULL;
    al_error err;
    int crc = al_schema_compile(json_object_get(g, "schema"), draft, reg, &s, &err);
    size_t ti;
    json_t *t;
    json_array_foreach(tests, ti, t) {
      const char *td = json_string_value(json_object_get(t, "description"));
      int want = json_is_true(json_object_get(t, "valid"));
      char why[1024] = "";
      int got = crc < 0 ? crc : al_schema_validate(s, json_object_get(t, "data"), why, sizeof why);
      cases++;
      if (got == want) {
        ok++;
        continue;
      }
      if (crc < 0) snprintf(why, sizeof why, "compile: %s", err.msg);
      if (dn < sizeof diag - 1)
        dn += (size_t)snprintf(diag + dn, sizeof diag - dn, "# %s / %s: expected %s, got %s (%s)\n",
                               gd, td, want ? "valid" : "invalid",
                               got == 1   ? "valid"
                               : got == 0 ? "invalid"
                                          : "error",
                               why);
    }
    al_schema_free(s);
  }
  json_decref(doc);
  if (ok == cases) {
    printf("ok %d - %s (%d cases)\n", ++tap_n, name, cases);
  } else {
    printf("not ok %d - %s (%d of %d cases failed)\n%s", ++tap_n, name, cases - ok, cases, diag);
    tap_fail++;
  }
  *passed += ok;
  return cases;
}

static void run_draft(const char *root, const char *dname, al_schema_draft draft,
                      const al_schema_registry *reg) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/tests/%s", root, dname);
  DIR *d = opendir(dir);
  if (!d) {
    printf("not ok %d - %s: cannot open %s\n", ++tap_n, dname, dir);
    tap_fail++;
    return;
  }
  char *names[512];
  size_t k = 0;
  struct dirent *e;
  while ((e = readdir(d)) && k < 512) {
    size_t n = strlen(e->d_name);
    if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0) names[k++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, k, sizeof *names, cmp_str);
  int total = 0, passed = 0;
  for (size_t i = 0; i < k; i++) {
    char path[8192], name[1024];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    snprintf(name, sizeof name, "%s/%s", dname, names[i]);
    total += run_file(path, name, draft, reg, &passed);
    free(names[i]);
  }
  fprintf(stderr, "%s: %d/%d cases passed (%zu files)\n", dname, passed, total, k);
}

int main(int argc, char **argv) {
  /* --optional: run the optional/ folders instead (informative, not part of the test) */
  int optional = argc > 1 && strcmp(argv[1], "--optional") == 0;
  const char *shared = getenv("AIRLOCK_SHARED");
  if (!shared) {
    printf("1..0 # SKIP AIRLOCK_SHARED is not set\n");
    return 0;
  }
  char root[4096], remotes[4200];
  snprintf(root, sizeof root, "%s/data/json-schema-test-suite", shared);
  snprintf(remotes, sizeof remotes, "%s/remotes", root);
  al_schema_registry *reg = al_schema_registry_new();
  int rc = reg ? al_schema_registry_add_dir(reg, remotes, "http://localhost:1234/") : -1;
  if (rc < 0) {
    printf("not ok 1 - load remotes from %s (%d)\n1..1\n", remotes, rc);
    al_schema_registry_free(reg);
    return 1;
  }
  if (optional) {
    run_draft(root, "draft2020-12/optional", AL_SCHEMA_DRAFT2020, reg);
    run_draft(root, "draft2020-12/optional/format", AL_SCHEMA_DRAFT2020, reg);
    run_draft(root, "draft7/optional", AL_SCHEMA_DRAFT7, reg);
    run_draft(root, "draft7/optional/format", AL_SCHEMA_DRAFT7, reg);
  } else {
    run_draft(root, "draft2020-12", AL_SCHEMA_DRAFT2020, reg);
    run_draft(root, "draft7", AL_SCHEMA_DRAFT7, reg);
  }
  al_schema_registry_free(reg);
  printf("1..%d\n", tap_n);
  return tap_fail ? 1 : 0;
}
