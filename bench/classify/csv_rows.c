/* Collects libcsv's field callbacks into rows for the bench. */
#include "csv_rows.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

typedef struct rows_ctx {
  char *fields[CSV_ROWS_MAX_FIELDS];
  size_t n;
  long rows;
  int stop;
  csv_rows_cb cb;
  void *ud;
} rows_ctx;

static void on_field(void *s, size_t len, void *ud) {
  rows_ctx *c = ud;
  if (c->stop || c->n >= CSV_ROWS_MAX_FIELDS) return;
  char *f = malloc(len + 1);
  if (!f) return;
  memcpy(f, s ? s : "", len);
  f[len] = '\0';
  c->fields[c->n++] = f;
}

static void on_row(int term, void *ud) {
  rows_ctx *c = ud;
  (void)term;
  if (!c->stop) {
    c->rows++;
    if (c->cb(c->fields, c->n, c->ud)) c->stop = 1;
  }
  for (size_t i = 0; i < c->n; i++) free(c->fields[i]);
  c->n = 0;
}

long csv_rows(const char *data, size_t len, char delim, csv_rows_cb cb, void *ud) {
  struct csv_parser p;
  rows_ctx c = {.cb = cb, .ud = ud};
  if (csv_init(&p, CSV_APPEND_NULL) != 0) return -1;
  csv_set_delim(&p, (unsigned char)delim);
  long rc = 0;
  if (csv_parse(&p, data, len, on_field, on_row, &c) != len) rc = -1;
  csv_fini(&p, on_field, on_row, &c);
  csv_free(&p);
  return rc < 0 ? rc : c.rows;
}
