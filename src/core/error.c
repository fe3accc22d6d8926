/* Error codes and the located error record used by every loader (suites, policies,
 * schemas) so that a user always reads "file:line:col: what was expected". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "airlock/error.h"

const char *al_strerror(int code) {
  switch (code) {
  case AL_OK: return "ok";
  case AL_ENOMEM: return "out of memory";
  case AL_EINVAL: return "invalid input";
  case AL_EIO: return "input/output error";
  case AL_EPARSE: return "parse error";
  case AL_ENOTFOUND: return "not found";
  case AL_EUNSUPPORTED: return "unsupported";
  case AL_ELIMIT: return "limit exceeded";
  case AL_ETIMEOUT: return "timed out";
  case AL_ESTATE: return "invalid state";
  case AL_EJAIL: return "jail mechanism unavailable";
  case AL_ESYS: return "system call failed";
  case AL_ECONN: return "connection failed";
  case AL_EINTEGRITY: return "integrity check failed";
  default: return "unknown error";
  }
}

static int verror(al_error *e, int code, const char *file, int line, int col, const char *fmt,
                  va_list ap) {
  if (!e) return code;
  e->code = code;
  e->line = line;
  e->col = col;
  if (file) snprintf(e->file, sizeof e->file, "%s", file);
  else e->file[0] = '\0';
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  return code;
}

int al_error_set(al_error *e, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verror(e, code, NULL, 0, 0, fmt, ap);
  va_end(ap);
  return code;
}

int al_error_at(al_error *e, int code, const char *file, int line, int col, const char *fmt,
                ...) {
  va_list ap;
  va_start(ap, fmt);
  verror(e, code, file, line, col, fmt, ap);
  va_end(ap);
  return code;
}

void al_error_clear(al_error *e) {
  if (e) memset(e, 0, sizeof *e);
}

char *al_error_format(const al_error *e, char *out, size_t n) {
  if (!n) return out;
  if (!e) {
    snprintf(out, n, "unknown error");
  } else if (e->file[0] && e->line > 0 && e->col > 0) {
    snprintf(out, n, "%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
  } else if (e->file[0] && e->line > 0) {
    snprintf(out, n, "%s:%d: %s", e->file, e->line, e->msg);
  } else if (e->file[0]) {
    snprintf(out, n, "%s: %s", e->file, e->msg);
  } else {
    snprintf(out, n, "%s", e->msg[0] ? e->msg : al_strerror(e->code));
  }
  return out;
}
