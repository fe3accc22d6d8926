/* Fuzz target: one exec-protocol request line as the llama worker parses it
 * (src/llama/request.c, including the JSON Schema -> GBNF conversion of json_schema).
 * Besides memory errors it checks the parser's promises: a success has an id and at least
 * one message with role and content, and numbers in their documented ranges. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/error.h"
#include "llama/limits.h"
#include "llama/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  al_llama_request req;
  al_error err = {0};
  int rc = al_llama_request_parse((const char *)data, size, 1, &req, &err);
  if (rc == 0) {
    if (!req.id || req.n_msgs == 0 || req.max_tokens < 1 ||
        req.max_tokens > AL_LLAMA_MAX_MAX_TOKENS || req.temperature < 0 || req.top_p <= 0 ||
        req.top_p > 1 || req.n_stop > AL_LLAMA_MAX_STOP)
      abort();
    for (size_t i = 0; i < req.n_msgs; i++)
      if (!req.msgs[i].role || !req.msgs[i].content) abort();
    if (req.grammar && !strstr(req.grammar, "root ::= ")) abort();
  } else if (err.msg[0] == '\0' || req.n_msgs != 0) {
    abort(); /* every failure explains itself and leaves no half-parsed request */
  }
  al_llama_request_cleanup(&req);
  return 0;
}
