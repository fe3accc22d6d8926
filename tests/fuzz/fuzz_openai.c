/* Fuzz target: the openai adapter's response parser and stream-event parser (and the exec
 * adapter's event parser) on arbitrary bytes. The input is used whole as a response body,
 * and split on newlines as a sequence of stream events. */
#include <stdint.h>
#include <string.h>

#include "airlock/target.h"
#include "airlock/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  al_target_config c = {0};
  const char *names[] = {"openai", "exec"};
  al_error e;
  for (int k = 0; k < 2; k++) {
    c.ops = al_target_find(names[k]);
    al_gen_output o;
    if (c.ops->parse_response) {
      al_gen_output_init(&o, 0);
      c.ops->parse_response(&c, (const char *)data, size, &o, &e);
      al_gen_output_cleanup(&o);
    }
    al_gen_output_init(&o, 0);
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
      if (i == size || data[i] == '\n') {
        c.ops->parse_event(&c, (const char *)data + start, i - start, &o, (int64_t)i, &e);
        start = i + 1;
      }
    }
    al_gen_output_cleanup(&o);
  }
  return 0;
}
