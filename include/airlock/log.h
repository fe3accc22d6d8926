/* Diagnostics. Gated by level before any formatting; written to stderr. Findings, results
 * and audit events never go here: they have their own structured sinks.
 */
#ifndef AIRLOCK_LOG_H
#define AIRLOCK_LOG_H

enum { AL_LOG_ERROR = 0, AL_LOG_WARN = 1, AL_LOG_INFO = 2, AL_LOG_DEBUG = 3 };

extern int al_log_level;
void al_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define AL_LOG(lvl, ...)                          \
  do {                                            \
    if ((lvl) <= al_log_level) al_log_write((lvl), __VA_ARGS__); \
  } while (0)
#define al_error_log(...) AL_LOG(AL_LOG_ERROR, __VA_ARGS__)
#define al_warn(...) AL_LOG(AL_LOG_WARN, __VA_ARGS__)
#define al_info(...) AL_LOG(AL_LOG_INFO, __VA_ARGS__)
#define al_debug(...) AL_LOG(AL_LOG_DEBUG, __VA_ARGS__)

#endif
