/* Loading a library on first use (see dl.h): one dlopen(), every entry point resolved with
 * dlsym(); a half-filled table would fail later in ways much harder to read, so a missing
 * library or symbol ends the process here with a message that says what to install. */
#include <dlfcn.h>
#include <stdlib.h>

#include "airlock/log.h"
#include "core/dl.h"

void al_dl_load(const char *soname, const char *package, const al_dl_sym *syms, size_t n,
                void *table) {
  /* RTLD_NODELETE: the library's own threads and exit handlers outlive any unload */
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!h) {
    al_error_log("cannot load %s (the %s package): %s", soname, package, dlerror());
    exit(70);
  }
  for (size_t i = 0; i < n; i++) {
    void *f = dlsym(h, syms[i].name);
    if (!f) {
      al_error_log("%s has no %s: %s", soname, syms[i].name, dlerror());
      exit(70);
    }
    *(void **)((char *)table + syms[i].off) = f;
  }
}
