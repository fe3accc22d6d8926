/* IBAN: ISO 13616. A country code with a registry length, two check digits and the
 * mod-97 rule (move the first four characters to the end, letters to 10..35, the number
 * mod 97 must be 1). The length table follows the SWIFT IBAN registry, sorted by code. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "scan/validators/validators.h"

static const struct {
  char cc[3];
  unsigned char len;
} lengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
    {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HN", 28}, {"HR", 21},
    {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IR", 26}, {"IS", 26}, {"IT", 27}, {"JO", 30},
    {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
    {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23},
    {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22},
    {"RU", 33}, {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24},
    {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26},
    {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

/* BBAN structure per country (SWIFT registry notation: n digits, a upper-case letters,
 * c letters or digits), where the registry fixes it; countries not listed are checked by
 * length and mod-97 only. */
static const struct {
  char cc[3];
  const char *bban;
} formats[] = {
    {"AD", "4n4n12c"},   {"AE", "3n16n"},      {"AL", "8n16c"},   {"AT", "5n11n"},
    {"AZ", "4a20c"},     {"BA", "3n3n8n2n"},   {"BE", "3n7n2n"},  {"BG", "4a4n2n8c"},
    {"BH", "4a14c"},     {"BR", "8n5n10n1a1c"}, {"CH", "5n12c"},  {"CR", "4n14n"},
    {"CY", "3n5n16c"},   {"CZ", "4n6n10n"},    {"DE", "8n10n"},   {"DK", "4n9n1n"},
    {"DO", "4c20n"},     {"EE", "2n2n11n1n"},  {"ES", "4n4n1n1n10n"}, {"FI", "3n11n"},
    {"FR", "5n5n11c2n"}, {"GB", "4a6n8n"},     {"GE", "2a16n"},   {"GI", "4a15c"},
    {"GL", "4n9n1n"},    {"GR", "3n4n16c"},    {"HR", "7n10n"},   {"HU", "3n4n1n15n1n"},
    {"IE", "4a6n8n"},    {"IL", "3n3n13n"},    {"IS", "4n2n6n10n"}, {"IT", "1a5n5n12c"},
    {"JO", "4a4n18c"},   {"KW", "4a22c"},      {"KZ", "3n13c"},   {"LB", "4n20c"},
    {"LI", "5n12c"},     {"LT", "5n11n"},      {"LU", "3n13c"},   {"LV", "4a13c"},
    {"MC", "5n5n11c2n"}, {"ME", "3n13n2n"},    {"MK", "3n10c2n"}, {"MR", "5n5n11n2n"},
    {"MT", "4a5n18c"},   {"NL", "4a10n"},      {"NO", "4n6n1n"},  {"PK", "4a16c"},
    {"PL", "8n16n"},     {"PS", "4a21c"},      {"PT", "4n4n11n2n"}, {"QA", "4a21c"},
    {"RO", "4a16c"},     {"RS", "3n13n2n"},    {"SA", "2n18c"},   {"SE", "3n16n1n"},
    {"SI", "5n8n2n"},    {"SK", "4n6n10n"},    {"SM", "1a5n5n12c"}, {"TN", "2n3n13n2n"},
    {"TR", "5n1n16c"},   {"UA", "6n19c"},      {"VG", "4a16n"},   {"XK", "4n10n2n"},
};

static int up(int c);
static bool bban_ok(const char *s, size_t n) {
  /* `formats` is sorted by country code, one row per country: binary search */
  const char *f = NULL;
  int a = s[0] & ~32, b = s[1] & ~32;
  size_t lo = 0, hi = sizeof formats / sizeof formats[0];
  while (lo < hi && !f) {
    size_t mid = (lo + hi) / 2;
    int d = a != formats[mid].cc[0] ? a - formats[mid].cc[0] : b - formats[mid].cc[1];
    if (d == 0) f = formats[mid].bban;
    else if (d < 0) hi = mid;
    else lo = mid + 1;
  }
  if (!f) return true;
  size_t at = 4;
  while (*f) {
    unsigned cnt = 0;
    while (*f >= '0' && *f <= '9') cnt = cnt * 10 + (unsigned)(*f++ - '0');
    char kind = *f++;
    for (unsigned k = 0; k < cnt; k++, at++) {
      if (at >= n) return false;
      int c = up((unsigned char)s[at]);
      bool digit = c >= '0' && c <= '9', upper = c >= 'A' && c <= 'Z';
      if (kind == 'n' && !digit) return false;
      if (kind == 'a' && !upper) return false;
      if (kind == 'c' && !digit && !upper && !(c >= 'a' && c <= 'z')) return false;
    }
  }
  return at == n;
}

static int up(int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }

int al_iban_length(const char *cc) {
  /* `lengths` is sorted by country code: binary search */
  int a = up((unsigned char)cc[0]), b = up((unsigned char)cc[1]);
  size_t lo = 0, hi = sizeof lengths / sizeof lengths[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int d = a != lengths[mid].cc[0] ? a - lengths[mid].cc[0] : b - lengths[mid].cc[1];
    if (d == 0) return lengths[mid].len;
    if (d < 0) hi = mid;
    else lo = mid + 1;
  }
  return 0;
}

const char *al_iban_invalid(const char *s, size_t n) {
  if (!s || n < 5 || n > 34) return "length outside 5..34";
  for (size_t i = 0; i < n; i++) {
    int c = up((unsigned char)s[i]);
    bool letter = c >= 'A' && c <= 'Z', digit = c >= '0' && c <= '9';
    if (i < 2 && !letter) return "country code is not two letters";
    if (i >= 2 && i < 4 && !digit) return "check digits are not digits";
    if (!letter && !digit) return "character outside A-Z0-9";
  }
  int want = al_iban_length(s);
  if (!want) return "unknown country";
  if ((size_t)want != n) return "wrong length for the country";
  if (!bban_ok(s, n)) return "account number does not fit the country's format";
  /* the number: the characters from the fifth on, then the first four; reduced mod 97 only
   * when the accumulator nears 2^64 (the remainder is the same) */
  uint64_t acc = 0;
  for (size_t k = 0; k < n; k++) {
    int c = up((unsigned char)s[k + 4 < n ? k + 4 : k + 4 - n]);
    acc = c >= 'A' ? acc * 100 + (uint64_t)(c - 'A' + 10) : acc * 10 + (uint64_t)(c - '0');
    if (acc >= 10000000000000000ull) acc %= 97;
  }
  return acc % 97 == 1 ? NULL : "mod-97 check failed";
}
