/* Errors in libairlock.
 *
 * Every function that can fail returns 0 or a negative AL_E* code (libuv's shape). Where a
 * user needs context -- a suite, a policy, a schema -- the caller passes an al_error that the
 * function fills with the code, the file, line and column, and a sentence saying what was
 * expected. al_error_format() renders it as "file:line:col: message", the form every CLI
 * command prints before exiting non-zero.
 */
#ifndef AIRLOCK_ERROR_H
#define AIRLOCK_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  AL_OK = 0,
  AL_ENOMEM = -1,       /* allocation failed */
  AL_EINVAL = -2,       /* bad argument or bad input */
  AL_EIO = -3,          /* read/write failed */
  AL_EPARSE = -4,       /* input did not parse */
  AL_ENOTFOUND = -5,    /* a named thing does not exist */
  AL_EUNSUPPORTED = -6, /* valid input using something Airlock refuses to handle */
  AL_ELIMIT = -7,       /* a hard limit (limits.h) was hit */
  AL_ETIMEOUT = -8,     /* a deadline passed */
  AL_ESTATE = -9,       /* call not valid in the current state */
  AL_EJAIL = -10,       /* a jail mechanism is unavailable or failed */
  AL_ESYS = -11,        /* a system call failed; errno kept in al_error.sys_errno */
  AL_ECONN = -12,       /* could not reach a peer */
  AL_EINTEGRITY = -13,  /* a checksum, hash chain or signature did not verify */
};

typedef struct al_error {
  int code;
  int line;   /* 1-based; 0 when unknown */
  int col;    /* 1-based; 0 when unknown */
  int sys_errno;
  char file[256];
  char msg[512];
} al_error;

const char *al_strerror(int code);

/* Fill *e (when e is not NULL) and return code. fmt is printf-style. */
int al_error_set(al_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with a location. file may be NULL. */
int al_error_at(al_error *e, int code, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void al_error_clear(al_error *e);
/* "file:line:col: message" (parts that are unknown are left out). Returns out. */
char *al_error_format(const al_error *e, char *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
