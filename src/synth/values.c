/* Value makers: synthetic identifiers that pass src/scan's validators and are, as far as
 * the public numbering plans allow, never a real person's.
 *
 *  - cards: the payment processors' published test IIN prefixes (424242, 400000, 555555,
 *    510510, 222300, 378282, 371449, 601111, 305693), random middle, Luhn check digit;
 *  - IBANs: the country's BBAN shape with random content, check digits by mod-97;
 *  - SSNs: SSA format (area 001-899 minus 666, group 01-99, serial 0001-9999). Since the
 *    2011 randomisation no valid-format range is guaranteed unissued, so these are random
 *    numbers and documented as synthetic; 9xx would be safe but fails the validators;
 *  - NHS numbers in the 999 test range, German Steuer-IDs by their digit rules;
 *  - phones: NANP 555-0100..0199 (reserved for fiction), Ofcom's drama ranges, the
 *    Bundesnetzagentur's film/TV ranges;
 *  - e-mail at example.com / example.org (RFC 2606) and .test domains.
 * Each maker confirms its value with the scan validator and redraws otherwise (bounded). */
#include <stdio.h>
#include <string.h>

#include "scan/validators/validators.h"
#include "synth/synth_internal.h"

long synth_range(al_rng *r, long lo, long hi) {
  return lo + (long)al_rng_below(r, (uint64_t)(hi - lo + 1));
}

void synth_digits(al_rng *r, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    out[i] = (char)('0' + al_rng_below(r, 10));
  out[n] = '\0';
}

int synth_luhn_digit(const char *d, size_t n) {
  /* the check digit goes right of d: doubling starts with the last digit of d */
  int sum = 0;
  for (size_t i = 0; i < n; i++) {
    int v = d[n - 1 - i] - '0';
    if (i % 2 == 0) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return (10 - sum % 10) % 10;
}

static const struct {
  const char *prefix, *brand;
  size_t len;
} test_iins[] = {
    {"424242", "Visa", 16},       {"400000", "Visa", 16},       {"555555", "Mastercard", 16},
    {"510510", "Mastercard", 16}, {"222300", "Mastercard", 16}, {"601111", "Discover", 16},
    {"378282", "Amex", 15},       {"371449", "Amex", 15},       {"305693", "Diners", 14},
    {"422222", "Visa", 13},       {"400000", "Visa", 19},
};

void synth_card(al_rng *r, size_t len, char *out, const char **brand) {
  size_t cand[16], nc = 0;
  for (size_t i = 0; i < sizeof test_iins / sizeof test_iins[0]; i++)
    if (test_iins[i].len == len) cand[nc++] = i;
  if (!nc) { /* unusual length: a 16-digit card */
    len = 16;
    for (size_t i = 0; i < sizeof test_iins / sizeof test_iins[0]; i++)
      if (test_iins[i].len == 16) cand[nc++] = i;
  }
  for (int tries = 0; tries < 64; tries++) {
    size_t k = cand[al_rng_below(r, nc)];
    size_t p = strlen(test_iins[k].prefix);
    memcpy(out, test_iins[k].prefix, p);
    synth_digits(r, len - 1 - p, out + p);
    out[len - 1] = (char)('0' + synth_luhn_digit(out, len - 1));
    out[len] = '\0';
    if (brand) *brand = test_iins[k].brand;
    if (al_card_brand(out, len) && al_luhn_ok(out, len)) return;
  }
}

void synth_card_masked(const char *d, char *out) {
  size_t n = strlen(d);
  size_t k = 0;
  for (size_t i = 0; i + 4 < n; i++) {
    out[k++] = '*';
    if ((i + 1) % 4 == 0) out[k++] = ' ';
  }
  if (k && out[k - 1] != ' ') out[k++] = ' ';
  memcpy(out + k, d + (n >= 4 ? n - 4 : 0), n >= 4 ? 4 : n);
  out[k + (n >= 4 ? 4 : n)] = '\0';
}

/* BBAN shapes (SWIFT registry notation) of the countries the locales use. */
static const struct {
  const char *cc, *bban;
} bbans[] = {{"DE", "8n10n"},       {"GB", "4a6n8n"}, {"FR", "5n5n11n2n"}, {"NL", "4a10n"},
             {"ES", "4n4n1n1n10n"}, {"AT", "5n11n"},  {"CH", "5n12n"}};

static unsigned mod97(const char *s) {
  unsigned m = 0;
  for (; *s; s++) {
    if (*s >= '0' && *s <= '9')
      m = (m * 10 + (unsigned)(*s - '0')) % 97;
    else
      m = (m * 100 + (unsigned)(*s - 'A' + 10)) % 97;
  }
  return m;
}

/* IBAN check digits for country cc and BBAN b. */
static unsigned iban_check(const char *cc, const char *b) {
  char tmp[80];
  snprintf(tmp, sizeof tmp, "%s%s00", b, cc);
  return 98 - mod97(tmp);
}

void synth_iban(al_rng *r, const char *cc, char *out) {
  const char *f = "8n10n";
  for (size_t i = 0; i < sizeof bbans / sizeof bbans[0]; i++)
    if (!strcmp(bbans[i].cc, cc)) f = bbans[i].bban;
  char b[40];
  size_t k = 0;
  while (*f && k < 34) {
    int n = 0;
    while (*f >= '0' && *f <= '9')
      n = n * 10 + (*f++ - '0');
    char cls = *f ? *f++ : 'n';
    for (int i = 0; i < n && k < 34; i++)
      b[k++] = cls == 'a' ? (char)('A' + al_rng_below(r, 26)) : (char)('0' + al_rng_below(r, 10));
  }
  b[k] = '\0';
  snprintf(out, 64, "%s%02u%s", cc, iban_check(cc, b), b);
}

/* Recompute the check digits of a compact IBAN in place (anonymiser). */
void synth_iban_fix(char *iban) {
  char cc[3] = {iban[0], iban[1], 0};
  unsigned c = iban_check(cc, iban + 4);
  iban[2] = (char)('0' + c / 10);
  iban[3] = (char)('0' + c % 10);
}

void synth_ssn(al_rng *r, char *out) {
  char d[10];
  for (int tries = 0; tries < 64; tries++) {
    long area = synth_range(r, 1, 899);
    if (area == 666) continue;
    snprintf(d, sizeof d, "%03ld%02ld%04ld", area, synth_range(r, 1, 99), synth_range(r, 1, 9999));
    if (!al_ssn_invalid(d, 9)) break;
  }
  snprintf(out, 64, "%.3s-%.2s-%.4s", d, d + 3, d + 5);
}

void synth_nhs(al_rng *r, char *out) {
  for (int tries = 0; tries < 256; tries++) {
    memcpy(out, "999", 3);
    synth_digits(r, 6, out + 3);
    int sum = 0;
    for (int i = 0; i < 9; i++)
      sum += (out[i] - '0') * (10 - i);
    int c = 11 - sum % 11;
    if (c == 11) c = 0;
    if (c == 10) continue;
    out[9] = (char)('0' + c);
    out[10] = '\0';
    if (al_nhs_ok(out, 10)) return;
  }
}

void synth_steuer_id(al_rng *r, char *out) {
  for (int tries = 0; tries < 100000; tries++) {
    out[0] = (char)('1' + al_rng_below(r, 9));
    synth_digits(r, 9, out + 1);
    for (int c = 0; c < 10; c++) {
      out[10] = (char)('0' + c);
      out[11] = '\0';
      if (al_de_steuer_id_ok(out, 11)) return;
    }
  }
}

void synth_aba(al_rng *r, char *out) {
  static const char *const pre[] = {"01", "02", "03", "04", "05", "06", "07", "08",
                                    "09", "10", "11", "12", "21", "22", "23", "24",
                                    "25", "26", "27", "28", "29", "30", "31", "32"};
  for (int tries = 0; tries < 64; tries++) {
    memcpy(out, pre[al_rng_below(r, sizeof pre / sizeof pre[0])], 2);
    synth_digits(r, 6, out + 2);
    int s = 3 * (out[0] + out[3] + out[6] - 3 * '0') + 7 * (out[1] + out[4] + out[7] - 3 * '0') +
            (out[2] + out[5] - 2 * '0');
    out[8] = (char)('0' + (10 - s % 10) % 10);
    out[9] = '\0';
    if (al_aba_ok(out, 9)) return;
  }
}

void synth_phone(al_rng *r, int plan, char *out) {
  if (plan == PH_UK) {
    static const char *const uk[] = {"20 7946 0", "161 496 0", "117 496 0", "121 496 0"};
    snprintf(out, 64, "+44 %s%03ld", uk[al_rng_below(r, 4)], synth_range(r, 0, 999));
  } else if (plan == PH_DE) {
    static const char *const de[] = {"30 23125 ", "69 90009 ", "40 66969 ", "89 99998 "};
    snprintf(out, 64, "+49 %s%03ld", de[al_rng_below(r, 4)], synth_range(r, 0, 999));
  } else {
    long npa;
    do
      npa = synth_range(r, 201, 989);
    while ((npa / 10) % 10 == 9 || (npa % 100) == 11);
    snprintf(out, 64, "(%03ld) 555-01%02ld", npa, synth_range(r, 0, 99));
  }
}

static size_t ascii_lower(const char *s, char *out, size_t max) {
  size_t k = 0;
  for (; *s && k < max; s++) {
    char c = *s;
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c >= 'a' && c <= 'z') out[k++] = c;
  }
  return k;
}

void synth_email(al_rng *r, const char *first, const char *last, char *out) {
  static const char *const dom[] = {"example.com", "example.org", "mail.test", "bank.test"};
  char a[24], b[24];
  size_t na = ascii_lower(first ? first : "user", a, 20),
         nb = ascii_lower(last ? last : "x", b, 20);
  if (!na) na = (size_t)snprintf(a, sizeof a, "user");
  if (!nb) nb = (size_t)snprintf(b, sizeof b, "x");
  snprintf(out, 64, "%.*s.%.*s%ld@%s", (int)na, a, (int)nb, b, synth_range(r, 1, 999),
           dom[al_rng_below(r, 4)]);
}
