/* libFuzzer target: a user word list (the toxicity option "wordlist") parsed by
 * cls_lex_load_mem, then used to scan a fixed text and the list itself. A load either
 * succeeds or fails with an error; matches must lie inside the scanned text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/detectors/cls_lex.h"

static int check(const cls_lex_entry *e, size_t start, size_t end, void *ud) {
  size_t len = *(const size_t *)ud;
  if (start > end || end > len || e->cat < 0 || e->cat > 2) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const cats[] = {"profanity", "insult", "threat"};
  static const char text[] = "You f.u.c.k1ng sh1t, I will find you; d*mn it, nooooo way!";
  cls_lex *lx = NULL;
  al_error err;
  if (cls_lex_new(CLS_MODE_LEET | CLS_MODE_JOIN, CLS_LEX_FUZZY, &lx)) return 0;
  if (cls_lex_load_mem(lx, "fuzz.txt", (const char *)data, size, cats, 3, &err) == 0) {
    size_t len = sizeof text - 1;
    cls_lex_scan(lx, text, len, check, &len);
    len = size;
    cls_lex_scan(lx, (const char *)data, size, check, &len);
  } else if (!err.msg[0]) {
    abort(); /* a failed load always says why */
  }
  cls_lex_free(lx);
  /* the same bytes as a phrase spec */
  char *spec = malloc(size + 1);
  if (spec && !cls_lex_new(0, 0, &lx)) {
    memcpy(spec, data, size);
    spec[size] = '\0';
    if (cls_lex_add(lx, spec, 1, 0, "spec", 1, &err) == 0) {
      size_t len = size;
      cls_lex_scan(lx, spec, strlen(spec), check, &len);
    }
    cls_lex_free(lx);
  }
  free(spec);
  return 0;
}
