/* `airlock scan` and `airlock detectors`: the scan engine from the command line.
 *
 *   airlock scan [--detectors a,b,...] [--system-prompt FILE] [--canary TOKEN]... [--stream]
 *                FILE|-
 * prints one JSON object per finding ({"detector","kind","start","end","score","text",
 * "note"}) and exits 1 when there was any finding, 0 when none, 2 on usage or input errors.
 * --stream feeds the input through the streaming API in the chunks read() returns (from a
 * pipe: as they arrive), the way the guard scans model output.
 *
 *   airlock detectors [--json]
 * lists the registry: name, kind, flags, description. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock/scan.h"
#include "airlock/util.h"

#define SCAN_MAX_INPUT (1u << 30)
#define SCAN_MAX_ARGS 256

static void scan_usage(FILE *f) {
  fprintf(f,
          "usage: airlock scan [--detectors a,b,...] [--system-prompt FILE] [--canary TOKEN]...\n"
          "                    [--stream] FILE|-\n"
          "Scan text for PII, secrets, canaries and leaks; print findings as JSON lines.\n"
          "Detectors are names or prefixes (pii, secret.jwt); `airlock detectors` lists them.\n"
          "Exit status: 0 no finding, 1 findings, 2 usage or input error.\n");
}

typedef struct out_ctx {
  size_t n;
} out_ctx;

/* JSON needs UTF-8: invalid bytes are shown as U+FFFD. */
static json_t *utf8_string(const char *s, size_t n) {
  json_t *j = json_stringn(s, n);
  if (j) return j;
  char *copy = malloc(n * 3 + 1);
  if (!copy) return json_string("");
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    json_t *probe = len && i + len <= n ? json_stringn(s + i, len) : NULL;
    if (probe && c) {
      memcpy(copy + k, s + i, len);
      k += len;
      i += len;
    } else {
      memcpy(copy + k, "\xef\xbf\xbd", 3);
      k += 3;
      i++;
    }
    json_decref(probe);
  }
  j = json_stringn(copy, k);
  free(copy);
  return j ? j : json_string("");
}

static int print_finding(const al_finding *f, void *ud) {
  out_ctx *o = ud;
  json_t *j = json_object();
  json_object_set_new(j, "detector", json_string(f->detector));
  json_object_set_new(j, "kind", json_string(f->kind));
  json_object_set_new(j, "start", json_integer((json_int_t)f->start));
  json_object_set_new(j, "end", json_integer((json_int_t)f->end));
  json_object_set_new(j, "score", json_real(f->score));
  json_object_set_new(j, "text", utf8_string(f->text, (size_t)(f->end - f->start)));
  json_object_set_new(j, "note", utf8_string(f->note, strnlen(f->note, sizeof f->note)));
  char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4));
  if (line) {
    fputs(line, stdout);
    fputc('\n', stdout);
    free(line);
  }
  json_decref(j);
  o->n++;
  return 0;
}

static int read_fd_all(int fd, char **out, size_t *len) {
  size_t cap = 1 << 16, n = 0;
  char *b = al_malloc(cap + 1);
  if (!b) return AL_ENOMEM;
  for (;;) {
    if (n == cap) {
      if (cap >= SCAN_MAX_INPUT) {
        al_free(b);
        return AL_ELIMIT;
      }
      char *nb = al_realloc(b, cap * 2 + 1);
      if (!nb) {
        al_free(b);
        return AL_ENOMEM;
      }
      b = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, b + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      al_free(b);
      return AL_EIO;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  b[n] = '\0';
  *out = b;
  *len = n;
  return 0;
}

int al_cmd_scan(int argc, char **argv) {
  int status = 2, rc = 0;
  const char *dets[SCAN_MAX_ARGS], *canaries[SCAN_MAX_ARGS];
  size_t n_dets = 0, n_can = 0;
  const char *input = NULL, *sp_path = NULL;
  char *det_list = NULL, *sys_prompt = NULL, *text = NULL;
  bool stream = false;
  int fd = -1;
  al_scan_db *db = NULL;
  al_scanner *sc = NULL;
  al_error err = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      scan_usage(stdout);
      status = 0;
      goto out;
    } else if (!strcmp(a, "--detectors") && i + 1 < argc) {
      al_free(det_list);
      det_list = al_strdup(argv[++i]);
      n_dets = 0;
      for (char *save = NULL, *tok = strtok_r(det_list, ",", &save); tok && n_dets < SCAN_MAX_ARGS;
           tok = strtok_r(NULL, ",", &save))
        dets[n_dets++] = tok;
    } else if (!strcmp(a, "--system-prompt") && i + 1 < argc) {
      sp_path = argv[++i];
    } else if (!strcmp(a, "--canary") && i + 1 < argc) {
      if (n_can == SCAN_MAX_ARGS) {
        fprintf(stderr, "airlock scan: too many --canary options\n");
        goto out;
      }
      canaries[n_can++] = argv[++i];
    } else if (!strcmp(a, "--stream")) {
      stream = true;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "airlock scan: unknown or incomplete option %s\n", a);
      scan_usage(stderr);
      goto out;
    } else if (!input) {
      input = a;
    } else {
      fprintf(stderr, "airlock scan: one input only (got %s and %s)\n", input, a);
      goto out;
    }
  }
  if (!input) {
    scan_usage(stderr);
    goto out;
  }
  if (sp_path) {
    size_t n = 0;
    if (al_read_file(sp_path, 16u << 20, &sys_prompt, &n, &err) < 0) {
      char buf[1024];
      fprintf(stderr, "airlock scan: %s\n", al_error_format(&err, buf, sizeof buf));
      goto out;
    }
  }
  al_scan_config cfg = {.detectors = n_dets ? dets : NULL, .n_detectors = n_dets,
                        .system_prompt = sys_prompt, .canaries = n_can ? canaries : NULL,
                        .n_canaries = n_can};
  if ((rc = al_scan_db_new(&cfg, &db, &err)) < 0 || (rc = al_scanner_new(db, &sc)) < 0) {
    char buf[1024];
    if (!err.msg[0]) al_error_set(&err, rc, "%s", al_strerror(rc));
    fprintf(stderr, "airlock scan: %s\n", al_error_format(&err, buf, sizeof buf));
    goto out;
  }
  fd = strcmp(input, "-") ? open(input, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
  if (fd < 0) {
    fprintf(stderr, "airlock scan: %s: %s\n", input, strerror(errno));
    goto out;
  }
  out_ctx o = {0};
  if (stream) {
    al_scan_stream *st = NULL;
    char chunk[4096];
    if ((rc = al_scan_stream_open(sc, print_finding, &o, &st)) < 0) goto fail;
    for (;;) {
      ssize_t r = read(fd, chunk, sizeof chunk);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        rc = AL_EIO;
        break;
      }
      if (r == 0) break;
      if ((rc = al_scan_stream_feed(st, chunk, (size_t)r)) < 0) break;
      fflush(stdout);
    }
    int crc = al_scan_stream_close(st);
    if (rc == 0) rc = crc;
  } else {
    size_t len = 0;
    if ((rc = read_fd_all(fd, &text, &len)) == 0) rc = al_scan(sc, text, len, print_finding, &o);
  }
fail:
  if (rc < 0) {
    fprintf(stderr, "airlock scan: %s: %s\n", input, al_strerror(rc));
    goto out;
  }
  status = o.n ? 1 : 0;
out:
  if (fd > STDIN_FILENO) close(fd);
  al_scanner_free(sc);
  al_scan_db_free(db);
  al_free(text);
  al_free(sys_prompt);
  al_free(det_list);
  fflush(stdout);
  return status;
}

int al_cmd_detectors(int argc, char **argv) {
  bool as_json = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) {
      as_json = true;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf("usage: airlock detectors [--json]\nList the detectors of `airlock scan`.\n");
      return 0;
    } else {
      fprintf(stderr, "airlock detectors: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  json_t *arr = as_json ? json_array() : NULL;
  if (!as_json) printf("%-26s %-10s %-22s %s\n", "NAME", "KIND", "FLAGS", "DESCRIPTION");
  for (size_t i = 0; i < al_detector_count(); i++) {
    const al_detector *d = al_detector_get(i);
    char flags[64];
    snprintf(flags, sizeof flags, "%s%s%s%s", d->flags & AL_DET_DEFAULT ? "default," : "",
             d->flags & AL_DET_STREAMABLE ? "stream," : "", d->flags & AL_DET_INPUT ? "in," : "",
             d->flags & AL_DET_OUTPUT ? "out," : "");
    size_t fl = strlen(flags);
    if (fl) flags[fl - 1] = '\0';
    if (as_json) {
      json_t *o = json_object();
      json_object_set_new(o, "name", json_string(d->name));
      json_object_set_new(o, "kind", json_string(d->kind));
      json_t *fa = json_array();
      for (char *save = NULL, *t = strtok_r(flags, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(fa, json_string(t));
      json_object_set_new(o, "flags", fa);
      json_object_set_new(o, "description", json_string(d->description ? d->description : ""));
      json_array_append_new(arr, o);
    } else {
      printf("%-26s %-10s %-22s %s\n", d->name, d->kind, flags, d->description ? d->description : "");
    }
  }
  if (as_json) {
    char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) puts(s);
    free(s);
    json_decref(arr);
  }
  return 0;
}
