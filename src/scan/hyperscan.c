/* Hyperscan loaded on first use (see hyperscan.h): dlopen() once, under pthread_once, every
 * entry point resolved with dlsym(); the table is filled completely or the process ends. */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "airlock/log.h"
#include "scan/hyperscan.h"

static al_hs_api api;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;

static const struct {
  const char *name;
  size_t off;
} syms[] = {
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
  void *h = dlopen("libhs.so.5", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!h) {
    al_error_log("cannot load Hyperscan (the libhyperscan5 package): %s", dlerror());
    exit(70);
  }
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    void *f = dlsym(h, syms[i].name);
    if (!f) {
      al_error_log("libhs.so.5 has no %s: %s", syms[i].name, dlerror());
      exit(70);
    }
    *(void **)((char *)&api + syms[i].off) = f;
  }
  loaded = 1;
}

const al_hs_api *al_hs(void) {
  pthread_once(&once, load);
  return &api;
}

int al_hs_loaded(void) { return loaded; }
