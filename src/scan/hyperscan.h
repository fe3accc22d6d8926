/* Hyperscan, loaded on first use (as libcurl is: src/http/curl.h).
 *
 * libhs and the C++ runtime it pulls in cost every airlock command ~1.6 ms before main()
 * on this machine, and only commands that scan (detectors, the guard's pipelines, `airlock
 * scan`) use it. libairlock does not link it: the first call of any hs_* function below
 * dlopen()s libhs.so.5 once and resolves the entry points Airlock uses. Include this header
 * (scan_internal.h does) instead of <hs/hs.h>; the calls read as usual. A missing libhs is
 * an installation error: it is reported and the process exits with 70. */
#ifndef AIRLOCK_SCAN_HYPERSCAN_H
#define AIRLOCK_SCAN_HYPERSCAN_H

#include <hs/hs.h>

typedef struct al_hs_api {
  __typeof__(&hs_compile_multi) compile_multi;
  __typeof__(&hs_free_compile_error) free_compile_error;
  __typeof__(&hs_expression_info) expression_info;
  __typeof__(&hs_free_database) free_database;
  __typeof__(&hs_alloc_scratch) alloc_scratch;
  __typeof__(&hs_clone_scratch) clone_scratch;
  __typeof__(&hs_free_scratch) free_scratch;
  __typeof__(&hs_scan) scan;
  __typeof__(&hs_open_stream) open_stream;
  __typeof__(&hs_scan_stream) scan_stream;
  __typeof__(&hs_close_stream) close_stream;
} al_hs_api;

/* The entry points (libhs loaded on the first call). */
const al_hs_api *al_hs(void);
/* 1 once libhs has been loaded (tests). */
int al_hs_loaded(void);

#define hs_compile_multi (al_hs()->compile_multi)
#define hs_free_compile_error (al_hs()->free_compile_error)
#define hs_expression_info (al_hs()->expression_info)
#define hs_free_database (al_hs()->free_database)
#define hs_alloc_scratch (al_hs()->alloc_scratch)
#define hs_clone_scratch (al_hs()->clone_scratch)
#define hs_free_scratch (al_hs()->free_scratch)
#define hs_scan (al_hs()->scan)
#define hs_open_stream (al_hs()->open_stream)
#define hs_scan_stream (al_hs()->scan_stream)
#define hs_close_stream (al_hs()->close_stream)

#endif
