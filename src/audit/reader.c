/* Segment listing and a bounded line reader for audit folders (see reader.h), plus
 * al_audit_read(): every record in order, parsed by jansson, handed to a callback. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock/audit.h"
#include "airlock/util.h"
#include "audit/audit_int.h"
#include "audit/limits.h"
#include "audit/reader.h"

static int cmp_u(const void *a, const void *b) {
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
  return (x > y) - (x < y);
}

int al_audit_list_segments(const char *dir, unsigned **out, size_t *n, al_error *err) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return al_error_at(err, AL_EIO, dir, 0, 0, "cannot open folder: %s", strerror(errno));
  unsigned *v = NULL;
  size_t k = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *s = e->d_name;
    if (strlen(s) != 18 || strncmp(s, "audit-", 6) || strcmp(s + 12, ".jsonl")) continue;
    unsigned num = 0;
    int ok = 1;
    for (int i = 6; i < 12; i++) {
      if (s[i] < '0' || s[i] > '9') ok = 0;
      num = num * 10 + (unsigned)(s[i] - '0');
    }
    if (!ok || num == 0) continue;
    if (k == cap) {
      cap = cap ? cap * 2 : 16;
      unsigned *nv = al_realloc(v, cap * sizeof *nv);
      if (!nv) {
        rc = AL_ENOMEM;
        break;
      }
      v = nv;
    }
    v[k++] = num;
  }
  closedir(d);
  if (rc) {
    al_free(v);
    return rc;
  }
  if (k) qsort(v, k, sizeof *v, cmp_u);
  *out = v;
  *n = k;
  return 0;
}

int al_line_reader_open(al_line_reader *r, const char *path, size_t max_line, al_error *err) {
  r->pos = r->have = 0;
  r->eof = 0;
  r->offset = 0;
  r->lineno = 0;
  al_buf_init(&r->line, max_line);
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0) return al_error_at(err, AL_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
  return 0;
}

int al_line_reader_next(al_line_reader *r, int *complete) {
  al_buf_reset(&r->line);
  *complete = 0;
  for (;;) {
    if (r->pos == r->have) {
      if (r->eof) break;
      ssize_t got = read(r->fd, r->block, sizeof r->block);
      if (got < 0) {
        if (errno == EINTR) continue;
        return AL_EIO;
      }
      if (got == 0) {
        r->eof = 1;
        break;
      }
      r->pos = 0;
      r->have = (size_t)got;
    }
    const char *start = r->block + r->pos;
    const char *nl = memchr(start, '\n', r->have - r->pos);
    size_t take = nl ? (size_t)(nl - start) : r->have - r->pos;
    int rc = al_buf_append(&r->line, start, take);
    if (rc) return rc;
    r->pos += take;
    r->offset += take;
    if (nl) {
      r->pos++;
      r->offset++;
      r->lineno++;
      *complete = 1;
      return 1;
    }
  }
  if (r->line.len) {
    r->lineno++;
    return 1;
  }
  return 0;
}

void al_line_reader_close(al_line_reader *r) {
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  al_buf_cleanup(&r->line);
}

int al_audit_read(const char *dir, al_audit_record_cb cb, void *ud, al_error *err) {
  unsigned *segs = NULL;
  size_t nseg = 0;
  int rc = al_audit_list_segments(dir, &segs, &nseg, err);
  for (size_t i = 0; !rc && i < nseg; i++) {
    char name[64], path[4200];
    snprintf(name, sizeof name, AL_AUDIT_SEGMENT_FMT, segs[i]);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    al_line_reader r;
    rc = al_line_reader_open(&r, path, AL_AUDIT_MAX_RECORD_BYTES, err);
    if (rc) break;
    int complete, got;
    while (!rc && (got = al_line_reader_next(&r, &complete)) == 1) {
      json_error_t je;
      json_t *rec = json_loadb(r.line.data, r.line.len, 0, &je);
      if (!rec) {
        rc = al_error_at(err, AL_EPARSE, name, r.lineno, je.column, "record is not JSON: %s", je.text);
        break;
      }
      rc = cb(rec, name, r.lineno, ud);
      json_decref(rec);
    }
    if (!rc && got < 0) rc = al_error_at(err, got, name, r.lineno + 1, 0, "cannot read line: %s", al_strerror(got));
    al_line_reader_close(&r);
  }
  al_free(segs);
  return rc;
}
