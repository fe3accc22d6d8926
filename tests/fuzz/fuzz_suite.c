/* Fuzz target: the suite loader on arbitrary bytes (YAML parsing, located JSON, suite
 * validation, assertion compilation). The input is written to a memfd and loaded by path,
 * exactly as `airlock run` would; then every case is iterated. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "airlock/suite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("suite.yaml", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  al_suite *s = NULL;
  al_error e = {0};
  if (al_suite_load(path, &s, &e) == 0) {
    al_case_iter *it = NULL;
    al_case *c = NULL;
    if (al_case_iter_new(s, &it, &e) == 0) {
      while (al_case_next(it, &c, &e) == 0 && c) al_case_free(c);
      al_case_iter_free(it);
    }
    al_suite_free(s);
  }
  close(fd);
  return 0;
}
