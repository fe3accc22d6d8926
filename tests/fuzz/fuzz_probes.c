/* Fuzz target: the probe-pack loader on arbitrary bytes (YAML parsing, located JSON, probe
 * validation), then -- when the pack loads -- its expansion through a small suite node with
 * several mutators (encodings, invisible characters, the turn split, a chain) and a cap, as
 * a suite's `probes:` would do it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "airlock/probes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("pack.yaml", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64], node[256];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  json_t *probes = NULL;
  al_error e = {0};
  if (al_probes_load_pack(path, &probes, &e) == 0) {
    snprintf(node, sizeof node,
             "vars: {x: 1}\nprobes: {packs: ['%s'], mutators: [base64, bidi, split-turns, leetspeak+hex], max_cases: 64}\n",
             path);
    al_ydoc *d = NULL;
    if (al_ydoc_load_text(node, strlen(node), "suite.yaml", &d, &e) == 0) {
      json_t *tests = NULL;
      if (al_probes_expand(d, json_object_get(al_ydoc_root(d), "probes"), "/", 1, &tests, &e) == 0)
        json_decref(tests);
      al_ydoc_free(d);
    }
    json_decref(probes);
  }
  close(fd);
  return 0;
}
