/* Reading an audit folder: its segments in order, and their lines one at a time with a
 * bounded line length (a hostile file cannot make the reader hold more than one record). */
#ifndef AIRLOCK_AUDIT_READER_H
#define AIRLOCK_AUDIT_READER_H

#include <stddef.h>
#include <stdint.h>

#include "airlock/buf.h"
#include "airlock/error.h"

/* Segment numbers found in dir, sorted ascending (caller frees *out). */
int al_audit_list_segments(const char *dir, unsigned **out, size_t *n, al_error *err);

typedef struct al_line_reader {
  int fd;
  char block[65536];
  size_t pos, have;
  int eof;
  al_buf line;
  uint64_t offset; /* bytes consumed up to the end of the last line returned */
  int lineno;
} al_line_reader;

int al_line_reader_open(al_line_reader *r, const char *path, size_t max_line, al_error *err);
/* 1: a line in r->line (without its '\n'; *complete = 0 when the file ended before a
 * newline), 0: end of file, <0: error (AL_ELIMIT for an overlong line, AL_EIO). */
int al_line_reader_next(al_line_reader *r, int *complete);
void al_line_reader_close(al_line_reader *r);

#endif
