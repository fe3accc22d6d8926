/* Replays a fuzz corpus without libFuzzer: every regular file under the folder given as
 * argv[1] (recursively) is passed once to LLVMFuzzerTestOneInput. Prints TAP, one line
 * per file, so the plain and sanitized builds both run every corpus entry as a test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "airlock/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static void walk(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char **names = NULL;
  size_t k = 0, cap = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (k == cap) {
      cap = cap ? cap * 2 : 64;
      names = realloc(names, cap * sizeof *names);
    }
    names[k++] = strdup(e->d_name);
  }
  closedir(d);
  for (size_t i = 0; i < k; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      walk(path);
    } else if (S_ISREG(st.st_mode)) {
      char *data = NULL;
      size_t len = 0;
      if (al_read_file(path, 1u << 26, &data, &len, NULL) == 0) {
        LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        printf("ok %d - %s\n", ++n, path);
        fflush(stdout);
      }
      al_free(data);
    }
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  walk(argv[1]);
  if (n == 0) {
    printf("not ok 1 - empty corpus %s\n1..1\n", argv[1]);
    return 1;
  }
  printf("1..%d\n", n);
  return 0;
}
