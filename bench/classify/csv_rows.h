/* Row-at-a-time reading of the bench's labelled CSV files through libcsv: fields of a row
 * are collected (NUL-terminated copies) and handed to a callback. */
#ifndef BENCH_CSV_ROWS_H
#define BENCH_CSV_ROWS_H

#include <stddef.h>

#define CSV_ROWS_MAX_FIELDS 64

/* Called per row (the header row too); return non-zero to stop. */
typedef int (*csv_rows_cb)(char **fields, size_t n, void *ud);

/* Returns rows read, or -1 when libcsv reports a parse error. */
long csv_rows(const char *data, size_t len, char delim, csv_rows_cb cb, void *ud);

#endif
