/* Hyperscan loaded on first use (see hyperscan.h): dlopen() once, under pthread_once, every
 * entry point resolved with dlsym(); the table is filled completely or the process ends. */
#include <pthread.h>
#include <stddef.h>

#include "core/dl.h"
#include "scan/hyperscan.h"

static al_hs_api api;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;

static const al_dl_sym syms[] = {
#define S(f, n) {n, offsetof(al_hs_api, f)}
    S(compile_multi, "hs_compile_multi"),
    S(free_compile_error, "hs_free_compile_error"),
    S(expression_info, "hs_expression_info"),
    S(free_database, "hs_free_database"),
    S(alloc_scratch, "hs_alloc_scratch"),
    S(clone_scratch, "hs_clone_scratch"),
    S(free_scratch, "hs_free_scratch"),
    S(scan, "hs_scan"),
    S(open_stream, "hs_open_stream"),
    S(scan_stream, "hs_scan_stream"),
    S(close_stream, "hs_close_stream"),
#undef S
};

static void load(void) {
  al_dl_load("libhs.so.5", "libhyperscan5", syms, sizeof syms / sizeof syms[0], &api);
  loaded = 1;
}

const al_hs_api *al_hs(void) {
  pthread_once(&once, load);
  return &api;
}

int al_hs_loaded(void) { return loaded; }
