/* `airlock synth`: synthetic data, canaries and anonymising import from the command line.
 *
 *   airlock synth --seed N --customers N --out DIR [--locale en_US,de_DE,...]
 *                 [--run-secret HEX | --run-secret-file F] [--data-dir D]
 *   airlock synth trace TOKEN (--run-secret HEX | --run-secret-file F)
 *                 [--dir DIR | --manifest FILE]
 *   airlock synth canary PLACE (--run-secret HEX | --run-secret-file F)
 *   airlock synth anonymize --in FILE.jsonl|.csv --out FILE [--seed N]
 *
 * Without a run secret, generation draws a random one and writes it to DIR/run-secret
 * (mode 0600): canaries can only be traced with it. Exit: 0 ok (trace: found), 1 trace:
 * not found, 2 usage or input error. */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock/synth.h"
#include "airlock/util.h"

static void synth_usage(FILE *f) {
  fprintf(f,
          "usage: airlock synth --seed N --customers N --out DIR [--locale en_US,en_GB,de_DE]\n"
          "                     [--run-secret HEX | --run-secret-file F] [--data-dir D]\n"
          "       airlock synth trace TOKEN (--run-secret HEX | --run-secret-file F)\n"
          "                     [--dir DIR | --manifest FILE]\n"
          "       airlock synth canary PLACE (--run-secret HEX | --run-secret-file F)\n"
          "       airlock synth anonymize --in FILE.jsonl|.csv --out FILE [--seed N]\n"
          "Generate a seeded synthetic bank (DIR/synth.sqlite and DIR/*.jsonl) with canary\n"
          "tokens; trace a leaked canary to where it was planted; anonymise your own records.\n");
}

static int fail(const al_error *e) {
  char msg[1024];
  fprintf(stderr, "airlock synth: %s\n", al_error_format(e, msg, sizeof msg));
  return 2;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end = NULL;
  if (!s || !*s || *s == '-') return -1;
  unsigned long long v = strtoull(s, &end, 0);
  if (*end) return -1;
  *out = v;
  return 0;
}

typedef struct args {
  const char *pos, *out, *in, *dir, *manifest, *secret_hex, *secret_file, *locales, *data_dir;
  const char *seed_s, *customers_s;
} args;

static int parse_args(int argc, char **argv, int first, args *a) {
  for (int i = first; i < argc; i++) {
    const char *o = argv[i];
    const char **dst = NULL;
    if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
      synth_usage(stdout);
      exit(0);
    }
    if (!strcmp(o, "--seed"))
      dst = &a->seed_s;
    else if (!strcmp(o, "--customers"))
      dst = &a->customers_s;
    else if (!strcmp(o, "--out"))
      dst = &a->out;
    else if (!strcmp(o, "--in"))
      dst = &a->in;
    else if (!strcmp(o, "--dir"))
      dst = &a->dir;
    else if (!strcmp(o, "--manifest"))
      dst = &a->manifest;
    else if (!strcmp(o, "--run-secret"))
      dst = &a->secret_hex;
    else if (!strcmp(o, "--run-secret-file"))
      dst = &a->secret_file;
    else if (!strcmp(o, "--locale"))
      dst = &a->locales;
    else if (!strcmp(o, "--data-dir"))
      dst = &a->data_dir;
    else if (o[0] != '-' && !a->pos) {
      a->pos = o;
      continue;
    } else {
      fprintf(stderr, "airlock synth: unexpected argument '%s'\n", o);
      return -1;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "airlock synth: %s needs a value\n", o);
      return -1;
    }
    *dst = argv[++i];
  }
  return 0;
}

/* 1: secret loaded, 0: none given, -1: error (printed). */
static int get_secret(const args *a, uint8_t s[32]) {
  al_error e = {0};
  if (a->secret_hex && a->secret_file) {
    fprintf(stderr, "airlock synth: give --run-secret or --run-secret-file, not both\n");
    return -1;
  }
  if (a->secret_hex) return al_synth_secret_parse(a->secret_hex, s, &e) ? (fail(&e), -1) : 1;
  if (a->secret_file) return al_synth_secret_load(a->secret_file, s, &e) ? (fail(&e), -1) : 1;
  return 0;
}

static int cmd_generate(const args *a) {
  al_synth_opts o = {0};
  al_synth_stats st = {0};
  al_error e = {0};
  uint64_t v = 0;
  const char *locs[8];
  char lbuf[256];
  if (!a->out || !a->customers_s) {
    synth_usage(stderr);
    return 2;
  }
  if (a->pos) {
    fprintf(stderr, "airlock synth: unknown subcommand '%s' (expected trace, canary, anonymize)\n",
            a->pos);
    return 2;
  }
  if (a->seed_s && parse_u64(a->seed_s, &o.seed)) {
    fprintf(stderr, "airlock synth: --seed expects a non-negative integer, got '%s'\n", a->seed_s);
    return 2;
  }
  if (parse_u64(a->customers_s, &v) || v < 1 || v > 1000000) {
    fprintf(stderr, "airlock synth: --customers expects 1..1000000, got '%s'\n", a->customers_s);
    return 2;
  }
  o.customers = (long)v;
  o.out_dir = a->out;
  o.data_dir = a->data_dir;
  o.stats = &st;
  if (a->locales) {
    snprintf(lbuf, sizeof lbuf, "%s", a->locales);
    for (char *save = NULL, *t = strtok_r(lbuf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      if (o.n_locales >= 8) {
        fprintf(stderr, "airlock synth: at most 8 locales\n");
        return 2;
      }
      locs[o.n_locales++] = t;
    }
    o.locales = locs;
  }
  int got = get_secret(a, o.secret);
  if (got < 0) return 2;
  if (!got) {
    if (sodium_init() < 0) return 2;
    randombytes_buf(o.secret, sizeof o.secret);
  }
  if (al_synth_generate(&o, &e)) return fail(&e);
  if (!got) {
    char path[4096], hex[66];
    al_hex(o.secret, sizeof o.secret, hex);
    hex[64] = '\n';
    snprintf(path, sizeof path, "%s/run-secret", a->out);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, hex, 65) != 65) {
      fprintf(stderr, "airlock synth: cannot write %s\n", path);
      if (fd >= 0) close(fd);
      return 2;
    }
    close(fd);
    fprintf(stderr,
            "airlock synth: no run secret given; a random one is in %s (needed to trace "
            "canaries)\n",
            path);
  }
  printf("wrote %s: %ld customers, %ld accounts, %ld cards, %ld transactions, %ld documents, "
         "%ld canaries\n",
         a->out, st.customers, st.accounts, st.cards, st.transactions, st.documents, st.canaries);
  return 0;
}

static int cmd_trace(const args *a) {
  uint8_t s[32];
  char place[512], path[4096];
  al_error e = {0};
  if (!a->pos) {
    synth_usage(stderr);
    return 2;
  }
  int got = get_secret(a, s);
  if (got <= 0) {
    if (!got) fprintf(stderr, "airlock synth trace: the run secret is required\n");
    return 2;
  }
  if (a->manifest)
    snprintf(path, sizeof path, "%s", a->manifest);
  else
    snprintf(path, sizeof path, "%s/canaries.jsonl", a->dir ? a->dir : ".");
  int rc = al_canary_trace(s, path, a->pos, place, sizeof place, &e);
  sodium_memzero(s, sizeof s);
  if (rc == AL_ENOTFOUND) {
    fprintf(stderr, "airlock synth trace: %s\n", e.msg);
    return 1;
  }
  if (rc) return fail(&e);
  printf("%s\n", place);
  return 0;
}

static int cmd_canary(const args *a) {
  uint8_t s[32];
  char tok[64];
  if (!a->pos) {
    synth_usage(stderr);
    return 2;
  }
  int got = get_secret(a, s);
  if (got <= 0) {
    if (!got) fprintf(stderr, "airlock synth canary: the run secret is required\n");
    return 2;
  }
  int rc = al_canary_make(s, a->pos, tok);
  sodium_memzero(s, sizeof s);
  if (rc) {
    fprintf(stderr, "airlock synth canary: a place is 1..255 bytes\n");
    return 2;
  }
  printf("%s\n", tok);
  return 0;
}

static int cmd_anonymize(const args *a) {
  uint64_t seed = 0;
  al_anon_stats st = {0};
  al_error e = {0};
  if (!a->in || !a->out || a->pos) {
    synth_usage(stderr);
    return 2;
  }
  if (a->seed_s && parse_u64(a->seed_s, &seed)) {
    fprintf(stderr, "airlock synth: --seed expects a non-negative integer, got '%s'\n", a->seed_s);
    return 2;
  }
  if (al_synth_anonymize(a->in, a->out, seed, &st, &e)) return fail(&e);
  printf("wrote %s: %ld records, %ld fields scanned, %ld values replaced (%ld distinct)\n", a->out,
         st.records, st.fields, st.replaced, st.distinct);
  return 0;
}

int al_cmd_synth(int argc, char **argv) {
  args a = {0};
  int first = 1;
  int (*fn)(const args *) = cmd_generate;
  if (argc > 1 && !strcmp(argv[1], "trace"))
    fn = cmd_trace, first = 2;
  else if (argc > 1 && !strcmp(argv[1], "canary"))
    fn = cmd_canary, first = 2;
  else if (argc > 1 && (!strcmp(argv[1], "anonymize") || !strcmp(argv[1], "anonymise")))
    fn = cmd_anonymize, first = 2;
  if (parse_args(argc, argv, first, &a)) {
    synth_usage(stderr);
    return 2;
  }
  return fn(&a);
}
