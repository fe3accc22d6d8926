/* Row readers for tests_from: CSV (libcsv; the first row names the columns) and JSONL (one
 * JSON object per line). Rows come one at a time as JSON objects of strings (CSV) or of any
 * JSON values (JSONL), each with the 1-based line it started on. */
#ifndef AIRLOCK_SUITE_ROWS_H
#define AIRLOCK_SUITE_ROWS_H

#include <jansson.h>

#include "airlock/error.h"

typedef struct al_rows al_rows;
enum { AL_ROWS_CSV = 1, AL_ROWS_JSONL = 2 };

int al_rows_open(const char *path, int format, al_rows **out, al_error *err);
/* 1 = a row (*row owned by the caller), 0 = end, <0 = error with file:line. */
int al_rows_next(al_rows *r, json_t **row, int *line, al_error *err);
void al_rows_close(al_rows *r);
/* Guess the format from the file name: .csv, .jsonl/.ndjson; 0 if unknown. */
int al_rows_format_of(const char *path);

#endif
