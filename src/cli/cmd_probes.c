/* `airlock probes`: the probe packs and mutators from the command line.
 *
 *   airlock probes [list]                      built-in packs: probes per family and OWASP entry
 *   airlock probes mutators                    the mutator table
 *   airlock probes check PACK.yaml...          validate pack files (exit 2, file:line:col)
 *   airlock probes show PACK [--mutators a,b+c] [--max N] [--seed N]
 *                                              the tests a suite's probes: would expand to (JSON lines)
 *   airlock probes mutate CHAIN TEXT [--seed N] the conversation a chain makes of TEXT (JSON)
 *
 * PACK is a built-in name (data/probes/NAME.yaml, or $AIRLOCK_DATA/probes) or a path. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock/util.h"
#include "airlock/buf.h"
#include "airlock/probes.h"
#include "airlock/yaml.h"
#include "cli.h"

static void usage(FILE *f) {
  fprintf(f, "usage: airlock probes [list]\n"
             "       airlock probes mutators\n"
             "       airlock probes check PACK.yaml...\n"
             "       airlock probes show PACK [--mutators a,b+c] [--max N] [--seed N]\n"
             "       airlock probes mutate CHAIN TEXT [--seed N]\n");
}

static int list_packs(void) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/probes", al_data_dir());
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "airlock: cannot list %s: %m\n", dir);
    return 2;
  }
  int rc = 0;
  struct dirent *ent;
  printf("%-26s %-6s %-30s %s\n", "pack", "owasp", "family", "probes");
  while ((ent = readdir(d))) {
    size_t n = strlen(ent->d_name);
    if (n < 6 || strcmp(ent->d_name + n - 5, ".yaml")) continue;
    char path[4400], msg[1200];
    json_t *list = NULL;
    al_error e = {0};
    snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
    if (al_probes_load_pack(path, &list, &e)) {
      fprintf(stderr, "airlock: %s\n", al_error_format(&e, msg, sizeof msg));
      rc = 2;
      continue;
    }
    json_t *count = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
      char key[200];
      snprintf(key, sizeof key, "%s %s", json_string_value(json_object_get(p, "owasp")),
               json_string_value(json_object_get(p, "family")));
      json_object_set_new(count, key, json_integer(json_integer_value(json_object_get(count, key)) + 1));
    }
    const char *k;
    json_t *v;
    json_object_foreach(count, k, v) {
      printf("%-26.*s %.5s  %-30s %lld\n", (int)(n - 5), ent->d_name, k, k + 6, (long long)json_integer_value(v));
    }
    json_decref(count);
    json_decref(list);
  }
  closedir(d);
  return rc;
}

static int show(const char *pack, const char *muts, long long max, long long seed) {
  char node[8192], msg[1200];
  al_buf b;
  al_buf_init(&b, sizeof node);
  al_buf_puts(&b, "probes:\n  packs: ['");
  for (const char *q = pack; *q; q++) /* a YAML single-quoted scalar: ' doubles */
    al_buf_puts(&b, *q == '\'' ? "''" : (char[]){*q, 0});
  al_buf_printf(&b, "']\n  max_cases: %lld\n  seed: %lld\n", max, seed);
  if (muts && *muts) al_buf_printf(&b, "  mutators: [%s]\n", muts);
  al_ydoc *d = NULL;
  al_error e = {0};
  json_t *tests = NULL;
  char cwd[4096];
  int rc = al_ydoc_load_text(b.data, b.len, "(command line)", &d, &e);
  al_buf_cleanup(&b);
  if (!rc) rc = al_probes_expand(d, json_object_get(al_ydoc_root(d), "probes"), getcwd(cwd, sizeof cwd) ? cwd : ".",
                                 (uint64_t)seed, &tests, &e);
  al_ydoc_free(d);
  if (rc) {
    fprintf(stderr, "airlock: %s\n", al_error_format(&e, msg, sizeof msg));
    return 2;
  }
  size_t i;
  json_t *t;
  json_array_foreach(tests, i, t) {
    char *line = json_dumps(t, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (line) puts(line);
    free(line);
  }
  json_decref(tests);
  return 0;
}

int al_cmd_probes(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : "list", *v;
  if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(sub, "list")) return list_packs();
  if (!strcmp(sub, "mutators")) {
    for (size_t i = 0; i < al_mutator_count(); i++) {
      const al_mutator *m = al_mutator_get(i);
      printf("%-12s %-10s %s\n", m->name,
             m->flags & AL_MUT_TURNS ? "turns" : m->flags & AL_MUT_REVERSIBLE ? "reversible" : "", m->description);
    }
    return 0;
  }
  if (!strcmp(sub, "check")) {
    int rc = argc > 2 ? 0 : 2;
    for (int i = 2; i < argc; i++) {
      json_t *list = NULL;
      al_error e = {0};
      char msg[1200];
      if (al_probes_load_pack(argv[i], &list, &e)) {
        fprintf(stderr, "airlock: %s\n", al_error_format(&e, msg, sizeof msg));
        rc = 2;
      } else {
        printf("%s: %zu probes\n", argv[i], json_array_size(list));
      }
      json_decref(list);
    }
    if (argc <= 2) usage(stderr);
    return rc;
  }
  if (!strcmp(sub, "show") || !strcmp(sub, "mutate")) {
    const char *pos[2] = {NULL, NULL}, *muts = NULL;
    long long max = 2000, seed = 0;
    int np = 0;
    for (int i = 2; i < argc; i++) {
      if (al_cli_opt(argc, argv, &i, "--mutators", &muts)) {
      } else if (al_cli_opt(argc, argv, &i, "--max", &v)) {
        max = atoll(v);
      } else if (al_cli_opt(argc, argv, &i, "--seed", &v)) {
        seed = atoll(v);
      } else if (argv[i][0] == '-' && argv[i][1]) {
        fprintf(stderr, "airlock probes: unknown option %s\n", argv[i]);
        return 2;
      } else if (np < 2) {
        pos[np++] = argv[i];
      }
    }
    if (!strcmp(sub, "show")) {
      if (np != 1 || max < 1 || seed < 0) {
        usage(stderr);
        return 2;
      }
      return show(pos[0], muts, max, seed);
    }
    if (np != 2) {
      usage(stderr);
      return 2;
    }
    json_t *turns = json_pack("[{s:s, s:s}]", "role", "user", "content", pos[1]);
    al_error e = {0};
    if (al_mutate_turns(pos[0], turns, (uint64_t)seed, &e)) {
      fprintf(stderr, "airlock: %s\n", e.msg);
      json_decref(turns);
      return 2;
    }
    char *out = json_dumps(turns, JSON_INDENT(2));
    if (out) puts(out);
    free(out);
    json_decref(turns);
    return 0;
  }
  fprintf(stderr, "airlock probes: unknown subcommand '%s'\n", sub);
  usage(stderr);
  return 2;
}
