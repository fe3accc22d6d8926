/* Shared libraries loaded on first use (libcurl: src/http/curl.h; Hyperscan:
 * src/scan/hyperscan.h): a table of entry points filled from one dlopen(). */
#ifndef AIRLOCK_CORE_DL_H
#define AIRLOCK_CORE_DL_H

#include <stddef.h>

typedef struct al_dl_sym {
  const char *name; /* the symbol */
  size_t off;       /* where its address goes in the table (offsetof) */
} al_dl_sym;

/* dlopen(soname) (RTLD_NOW, kept loaded for the process) and every symbol of syms[0..n)
 * into table. Either the table is complete or the process ends: the failure is reported,
 * naming what to install (package), and the exit status is 70 (an installation error). */
void al_dl_load(const char *soname, const char *package, const al_dl_sym *syms, size_t n,
                void *table);

#endif
