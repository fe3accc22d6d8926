/* Row readers for tests_from (see rows.h). CSV goes through libcsv's push parser in strict
 * mode: bytes are fed in blocks and completed rows queue up until the caller takes them, so
 * a file of any size is read with memory bounded by its longest row. */
#include <csv.h>
#include <stdio.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "core/limits.h"
#include "rows.h"

#define MAX_ROW_BYTES (16u << 20)

struct al_rows {
  FILE *f;
  char *path;
  int format;
  int line;          /* physical lines read so far (1-based of the next line) */
  /* CSV */
  struct csv_parser csv;
  int csv_inited;
  json_t *header;    /* array of column names */
  json_t *cur;       /* fields of the row being built */
  int cur_line;
  json_t *queue;     /* completed rows: [ [line, row], ... ] */
  size_t qhead;
  int eof;
  int cb_err;
  size_t row_bytes;
  /* JSONL */
  char *lbuf;
  size_t lcap;
};

int al_rows_format_of(const char *path) {
  const char *dot = strrchr(path, '.');
  if (!dot) return 0;
  if (!strcmp(dot, ".csv")) return AL_ROWS_CSV;
  if (!strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson")) return AL_ROWS_JSONL;
  return 0;
}

static void field_cb(void *s, size_t len, void *ud) {
  al_rows *r = ud;
  if (r->cb_err) return;
  if (!r->cur) {
    r->cur = json_array();
    r->cur_line = r->line;
    r->row_bytes = 0;
  }
  r->row_bytes += len;
  if (r->row_bytes > MAX_ROW_BYTES) {
    r->cb_err = AL_ELIMIT;
    return;
  }
  json_t *v = json_stringn(s ? s : "", s ? len : 0);
  if (!v) {
    r->cb_err = AL_EPARSE; /* not UTF-8 */
    return;
  }
  json_array_append_new(r->cur, v);
}

static void row_cb(int c, void *ud) {
  al_rows *r = ud;
  if (r->cb_err) return;
  if (!r->cur) r->cur = json_array(), r->cur_line = r->line;
  json_t *item = json_pack("[i,o]", r->cur_line, r->cur);
  r->cur = NULL;
  json_array_append_new(r->queue, item);
}

int al_rows_open(const char *path, int format, al_rows **out, al_error *err) {
  int rc = 0;
  al_rows *r = al_calloc(1, sizeof *r);
  *out = NULL;
  if (!r) return AL_ENOMEM;
  r->format = format ? format : al_rows_format_of(path);
  r->path = al_strdup(path);
  r->line = 1;
  if (r->format != AL_ROWS_CSV && r->format != AL_ROWS_JSONL) {
    rc = al_error_at(err, AL_EPARSE, path, 0, 0, "unknown format (expected a .csv or .jsonl file, or format: csv|jsonl)");
    goto out;
  }
  r->f = fopen(path, "re");
  if (!r->f) {
    rc = al_error_at(err, AL_EIO, path, 0, 0, "cannot open: %m");
    goto out;
  }
  if (r->format == AL_ROWS_CSV) {
    if (csv_init(&r->csv, CSV_STRICT | CSV_APPEND_NULL | CSV_STRICT_FINI)) {
      rc = AL_ENOMEM;
      goto out;
    }
    r->csv_inited = 1;
    r->queue = json_array();
  }
  *out = r;
  r = NULL;
out:
  al_rows_close(r);
  return rc;
}

void al_rows_close(al_rows *r) {
  if (!r) return;
  if (r->f) fclose(r->f);
  if (r->csv_inited) csv_free(&r->csv);
  json_decref(r->header);
  json_decref(r->cur);
  json_decref(r->queue);
  al_free(r->lbuf);
  al_free(r->path);
  al_free(r);
}

static int csv_fill(al_rows *r, al_error *err) {
  char buf[65536];
  while (json_array_size(r->queue) <= r->qhead && !r->eof) {
    size_t n = fread(buf, 1, sizeof buf, r->f);
    if (n == 0) {
      r->eof = 1;
      if (csv_fini(&r->csv, field_cb, row_cb, r) != 0)
        return al_error_at(err, AL_EPARSE, r->path, r->line, 0,
                           "CSV: unterminated quoted field at end of file");
      break;
    }
    /* feed line by line so rows know their starting line */
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
      if (buf[i] != '\n') continue;
      if (csv_parse(&r->csv, buf + start, i + 1 - start, field_cb, row_cb, r) != i + 1 - start)
        return al_error_at(err, AL_EPARSE, r->path, r->line, 0, "CSV: %s (expected RFC 4180 quoting)",
                           csv_strerror(csv_error(&r->csv)));
      r->line++;
      start = i + 1;
    }
    if (start < n && csv_parse(&r->csv, buf + start, n - start, field_cb, row_cb, r) != n - start)
      return al_error_at(err, AL_EPARSE, r->path, r->line, 0, "CSV: %s (expected RFC 4180 quoting)",
                         csv_strerror(csv_error(&r->csv)));
    if (r->cb_err == AL_ELIMIT)
      return al_error_at(err, AL_ELIMIT, r->path, r->line, 0, "CSV row larger than %u bytes", MAX_ROW_BYTES);
    if (r->cb_err)
      return al_error_at(err, AL_EPARSE, r->path, r->line, 0, "CSV field is not valid UTF-8");
  }
  return 0;
}

static int csv_next(al_rows *r, json_t **row, int *line, al_error *err) {
  for (;;) {
    if (r->qhead && r->qhead >= json_array_size(r->queue)) {
      json_array_clear(r->queue); /* drained: drop the taken rows */
      r->qhead = 0;
    }
    int rc = csv_fill(r, err);
    if (rc) return rc;
    if (json_array_size(r->queue) <= r->qhead) return 0;
    json_t *item = json_array_get(r->queue, r->qhead++);
    int l = (int)json_integer_value(json_array_get(item, 0));
    json_t *fields = json_array_get(item, 1);
    if (!r->header) {
      r->header = json_incref(fields);
      json_t *v;
      size_t i;
      json_array_foreach(r->header, i, v) {
        if (!json_string_length(v))
          return al_error_at(err, AL_EPARSE, r->path, l, 0, "CSV header: column %zu has no name", i + 1);
      }
      continue;
    }
    if (json_array_size(fields) == 1 && json_string_length(json_array_get(fields, 0)) == 0) continue;
    if (json_array_size(fields) != json_array_size(r->header))
      return al_error_at(err, AL_EPARSE, r->path, l, 0, "CSV: row has %zu fields, expected %zu (as in the header)",
                         json_array_size(fields), json_array_size(r->header));
    json_t *obj = json_object();
    for (size_t i = 0; i < json_array_size(fields); i++)
      json_object_set(obj, json_string_value(json_array_get(r->header, i)), json_array_get(fields, i));
    *row = obj;
    *line = l;
    return 1;
  }
}

static int jsonl_next(al_rows *r, json_t **row, int *line, al_error *err) {
  for (;;) {
    ssize_t n = getline(&r->lbuf, &r->lcap, r->f);
    if (n < 0) return 0;
    int l = r->line++;
    if ((size_t)n > AL_MAX_LINE_BYTES)
      return al_error_at(err, AL_ELIMIT, r->path, l, 0, "line longer than %u bytes", AL_MAX_LINE_BYTES);
    size_t k = (size_t)n;
    while (k && (r->lbuf[k - 1] == '\n' || r->lbuf[k - 1] == '\r' || r->lbuf[k - 1] == ' ')) k--;
    if (k == 0) continue;
    json_error_t je;
    json_t *v = json_loadb(r->lbuf, k, 0, &je);
    if (!v) return al_error_at(err, AL_EPARSE, r->path, l, je.column, "JSONL: %s", je.text);
    if (!json_is_object(v)) {
      json_decref(v);
      return al_error_at(err, AL_EPARSE, r->path, l, 1, "JSONL: expected a JSON object per line");
    }
    *row = v;
    *line = l;
    return 1;
  }
}

int al_rows_next(al_rows *r, json_t **row, int *line, al_error *err) {
  *row = NULL;
  return r->format == AL_ROWS_CSV ? csv_next(r, row, line, err) : jsonl_next(r, row, line, err);
}
