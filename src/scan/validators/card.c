/* Payment card brands: issuer identification number (IIN) ranges and the lengths each
 * brand issues. A number whose prefix and length do not fit any brand is not a card number,
 * whatever its Luhn digit says. Ranges follow the brands' published IIN tables. */
#include <string.h>

#include "scan/validators/validators.h"

typedef struct brand {
  const char *name;
  unsigned lo, hi;   /* prefix range, inclusive, as a number of `digits` digits */
  unsigned digits;   /* prefix length */
  unsigned min, max; /* card number length */
} brand;

static const brand brands[] = {
    {"Visa", 4, 4, 1, 13, 19},
    {"Mastercard", 51, 55, 2, 16, 16},
    {"Mastercard", 2221, 2720, 4, 16, 16},
    {"Amex", 34, 34, 2, 15, 15},
    {"Amex", 37, 37, 2, 15, 15},
    {"Discover", 6011, 6011, 4, 16, 19},
    {"Discover", 644, 649, 3, 16, 19},
    {"Discover", 65, 65, 2, 16, 19},
    {"Discover", 622126, 622925, 6, 16, 19},
    {"JCB", 3528, 3589, 4, 16, 19},
    {"JCB", 2131, 2131, 4, 15, 15},
    {"JCB", 1800, 1800, 4, 15, 15},
    {"Diners", 300, 305, 3, 14, 19},
    {"Diners", 3095, 3095, 4, 14, 19},
    {"Diners", 36, 36, 2, 14, 19},
    {"Diners", 38, 39, 2, 16, 19},
    {"UnionPay", 62, 62, 2, 16, 19},
    {"UnionPay", 81, 81, 2, 16, 19},
    {"UnionPay", 67, 67, 2, 16, 16}, /* as validator.js; other 67 lengths are Maestro */
    {"Maestro", 50, 50, 2, 12, 19},
    {"Maestro", 604, 604, 4, 12, 19}, /* 0604: UK Maestro */
    {"Maestro", 56, 58, 2, 12, 19},
    {"Maestro", 6, 6, 1, 12, 19},
    {"Mir", 2200, 2204, 4, 16, 19},
};

const char *al_card_brand(const char *d, size_t n) {
  if (!d || n < 12 || n > 19) return NULL;
  for (size_t i = 0; i < n; i++)
    if (d[i] < '0' || d[i] > '9') return NULL;
  /* First match of prefix and length wins: specific ranges come before the catch-all
   * Maestro 6 (so a 6x number of a length its brand does not issue can still be Maestro). */
  for (size_t i = 0; i < sizeof brands / sizeof brands[0]; i++) {
    const brand *b = &brands[i];
    unsigned p = 0;
    for (unsigned k = 0; k < b->digits; k++) p = p * 10 + (unsigned)(d[k] - '0');
    if (p >= b->lo && p <= b->hi && n >= b->min && n <= b->max) return b->name;
  }
  return NULL;
}
