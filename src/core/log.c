/* Diagnostics to stderr, one line each, prefixed with the level. */
#include <stdarg.h>
#include <stdio.h>

#include "airlock/log.h"

int al_log_level = AL_LOG_WARN;

void al_log_write(int level, const char *fmt, ...) {
  static const char *names[] = {"error", "warning", "info", "debug"};
  va_list ap;
  va_start(ap, fmt);
  flockfile(stderr);
  fprintf(stderr, "airlock: %s: ", names[level < 0 ? 0 : level > 3 ? 3 : level]);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  funlockfile(stderr);
  va_end(ap);
}
