/* `airlock audit`: key generation, verification and display of an audit log folder.
 *
 *   airlock audit keygen --out KEYFILE        writes KEYFILE (0600) and KEYFILE.pub
 *   airlock audit verify DIR --pub KEY.pub    OK with counts (exit 0) or the first bad
 *                                             record as file:line: seq N: what (exit 1)
 *   airlock audit show DIR [--type T] [--json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/audit.h"
#include "airlock/util.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: airlock audit keygen --out KEYFILE\n"
          "       airlock audit verify DIR --pub KEYFILE.pub\n"
          "       airlock audit show DIR [--type TYPE] [--json]\n");
}

static int cmd_keygen(int argc, char **argv) {
  const char *out = NULL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else {
      usage(stderr);
      return 2;
    }
  }
  if (!out) {
    usage(stderr);
    return 2;
  }
  al_error e = {0};
  char pub[2 * AL_AUDIT_PK_BYTES + 1], msg[1024];
  if (al_audit_keygen(out, pub, &e)) {
    fprintf(stderr, "airlock audit keygen: %s\n", al_error_format(&e, msg, sizeof msg));
    return 2;
  }
  printf("secret key: %s (mode 0600)\npublic key: %s.pub\n%s\n", out, out, pub);
  return 0;
}

static int cmd_verify(int argc, char **argv) {
  const char *dir = NULL, *pub = NULL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--pub") && i + 1 < argc) pub = argv[++i];
    else if (argv[i][0] != '-' && !dir) dir = argv[i];
    else {
      usage(stderr);
      return 2;
    }
  }
  if (!dir || !pub) {
    usage(stderr);
    return 2;
  }
  al_error e = {0};
  char msg[1024];
  unsigned char pk[AL_AUDIT_PK_BYTES];
  if (al_audit_load_public(pub, pk, &e)) {
    fprintf(stderr, "airlock audit verify: %s\n", al_error_format(&e, msg, sizeof msg));
    return 2;
  }
  al_audit_report r;
  int rc = al_audit_verify(dir, pk, &r, &e);
  if (rc) {
    printf("FAIL %s\n", al_error_format(&e, msg, sizeof msg));
    return rc == AL_EINTEGRITY || rc == AL_EPARSE ? 1 : 2;
  }
  printf("OK %llu records (%llu tokens) in %llu segments, %llu signed checkpoints, %s chain; "
         "last seq %llu, last checkpoint at seq %llu\n",
         (unsigned long long)r.records, (unsigned long long)r.tokens,
         (unsigned long long)r.segments, (unsigned long long)r.checkpoints, r.hash_name,
         (unsigned long long)r.last_seq, (unsigned long long)r.last_checkpoint_seq);
  if (r.unanchored)
    printf("warning: the last %llu records come after the last checkpoint: their deletion "
           "from the tail would not be detected\n",
           (unsigned long long)r.unanchored);
  return 0;
}

typedef struct show_ctx {
  const char *type;
  int json;
} show_ctx;

static int show_one(const json_t *rec, const char *file, int line, void *ud) {
  show_ctx *c = ud;
  const char *type = json_string_value(json_object_get(rec, "type"));
  if (c->type && (!type || strcmp(type, c->type))) return 0;
  if (c->json) {
    char *s = json_dumps(rec, JSON_COMPACT);
    if (s) puts(s);
    free(s);
    return 0;
  }
  char ts[40];
  al_iso8601((int64_t)json_integer_value(json_object_get(rec, "ts")), ts, sizeof ts);
  char *data = json_dumps(json_object_get(rec, "data"), JSON_COMPACT);
  printf("%8lld %s %-10s %s\n", (long long)json_integer_value(json_object_get(rec, "seq")), ts,
         type ? type : "?", data ? data : "{}");
  free(data);
  return 0;
}

static int cmd_show(int argc, char **argv) {
  show_ctx c = {0};
  const char *dir = NULL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--type") && i + 1 < argc) c.type = argv[++i];
    else if (!strcmp(argv[i], "--json")) c.json = 1;
    else if (argv[i][0] != '-' && !dir) dir = argv[i];
    else {
      usage(stderr);
      return 2;
    }
  }
  if (!dir) {
    usage(stderr);
    return 2;
  }
  al_error e = {0};
  char msg[1024];
  if (al_audit_read(dir, show_one, &c, &e)) {
    fprintf(stderr, "airlock audit show: %s\n", al_error_format(&e, msg, sizeof msg));
    return 2;
  }
  return 0;
}

int al_cmd_audit(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "keygen")) return cmd_keygen(argc, argv);
  if (!strcmp(argv[1], "verify")) return cmd_verify(argc, argv);
  if (!strcmp(argv[1], "show")) return cmd_show(argc, argv);
  fprintf(stderr, "airlock audit: unknown subcommand '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
