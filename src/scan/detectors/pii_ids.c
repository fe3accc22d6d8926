/* PII detectors for numbered identifiers with check rules: pii.ssn, pii.credit_card,
 * pii.iban, pii.aba_routing, pii.nhs.
 *
 * Shapes come from Hyperscan; the validators in ../validators decide. Identifiers whose
 * shape is common in ordinary text (nine or ten bare digits) additionally need a context
 * word as a whole token within AL_SCAN_CTX bytes ("routing", "ABA", "NHS", "SSN", ...). */
#include <string.h>

#include "scan/scan_internal.h"
#include "scan/validators/validators.h"

/* ---- SSN ---- */
/* Each digit pattern comes with its shape (the same chain, src/scan/shapes.c): block mode
 * follows the shape in the digit windows, stream mode runs the regex. A shape is
 * {groups, lowest first digit, {{lo, hi, may end here, separator optional, separators}}}. */
static const al_digit_shape ssn_dashed = {3, 0, {{3, 3, 0, 0, "-"}, {2, 2, 0, 0, "-"}, {4, 4}}};
static const al_digit_shape ssn_spaced = {3, 0, {{3, 3, 0, 0, " "}, {2, 2, 0, 0, " "}, {4, 4}}};
static const al_digit_shape nine_digits = {1, 0, {{9, 9}}};

static int ssn_patterns(void *st, al_pattern_sink *sink) {
  int rc = al_pattern_add(sink, "\\b\\d{3}-\\d{2}-\\d{4}\\b", AL_PAT_DIGITS, 0);
  if (!rc) rc = al__pattern_shape(sink, &ssn_dashed);
  if (!rc) rc = al_pattern_add(sink, "\\b\\d{3} \\d{2} \\d{4}\\b", AL_PAT_DIGITS, 1);
  if (!rc) rc = al__pattern_shape(sink, &ssn_spaced);
  if (!rc) rc = al_pattern_add(sink, "\\b\\d{9}\\b", AL_PAT_DIGITS, 2);
  if (!rc) rc = al__pattern_shape(sink, &nine_digits);
  return rc;
}

static int ssn_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                      unsigned id, al_finding *f) {
  static const char *const words[] = {"ssn", "ssns", "social security", "taxpayer", "tin",
                                      NULL};
  char d[10];
  if (!al__isolated(t, len, s, e)) return 0;
  if (al__digits(t + s, e - s, d, 9, "- ") != 9) return 0;
  const char *why = al_ssn_invalid(d, 9);
  if (why) return 0;
  bool ctx = al__context_word(t, len, s, e, words);
  if (id != 0 && !ctx) return 0; /* spaced or bare nine digits need a context word */
  f->score = id == 0 ? (ctx ? 0.95 : 0.85) : 0.8;
  al__note(f, "SSN area %.3s group %.2s%s", d, d + 3, ctx ? ", context word" : "");
  return 1;
}

const al_detector al_det_pii_ssn = {
    .name = "pii.ssn",
    .kind = "pii",
    .description = "US social security numbers (SSA area/group/serial rules, published "
                   "sample numbers rejected; undashed only with a context word)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = ssn_patterns,
    .verify = ssn_verify,
};

/* ---- credit cards ---- */
static const al_digit_shape cc_plain = {1, 0, {{12, 19}}};
static const al_digit_shape cc_groups = {
    5, 0, {{4, 4, 0, 0, " -"}, {4, 4, 0, 0, " -"}, {4, 4, 0, 0, " -"}, {1, 4, 1, 0, " -"}, {3, 3}}};
static const al_digit_shape cc_amex = {3, 0, {{4, 4, 0, 0, " -"}, {6, 6, 0, 0, " -"}, {4, 5}}};

static int cc_patterns(void *st, al_pattern_sink *sink) {
  int rc = al_pattern_add(sink, "\\b\\d{12,19}\\b", AL_PAT_DIGITS, 0);
  if (!rc) rc = al__pattern_shape(sink, &cc_plain);
  /* 4-4-4-4(-3), 4-4-4-1..4 (13-16 digit cards), Amex/Diners 4-6-4/5 */
  if (!rc)
    rc = al_pattern_add(sink, "\\b\\d{4}[ \\-]\\d{4}[ \\-]\\d{4}[ \\-]\\d{1,4}(?:[ \\-]\\d{3})?\\b",
                        AL_PAT_DIGITS, 1);
  if (!rc) rc = al__pattern_shape(sink, &cc_groups);
  if (!rc) rc = al_pattern_add(sink, "\\b\\d{4}[ \\-]\\d{6}[ \\-]\\d{4,5}\\b", AL_PAT_DIGITS, 2);
  if (!rc) rc = al__pattern_shape(sink, &cc_amex);
  return rc;
}

static bool has_digit(const char *t, size_t a, size_t b) {
  for (size_t i = a; i < b; i++)
    if (al__is_digit((unsigned char)t[i])) return true;
  return false;
}

/* Grouped digits that continue a longer grouped code (an IBAN such as "FR55 5673 3911 9769
 * 9459 9762 529") are not a card: a 4-character group with a digit right before, or a
 * short group with a digit right after that ends the run. */
static bool embedded_in_groups(const char *t, size_t len, size_t s, size_t e, char sep) {
  if (s >= 2 && t[s - 1] == sep) {
    size_t a = s - 1;
    while (a > 0 && al__is_alnum((unsigned char)t[a - 1]) && s - 1 - a < 5) a--;
    size_t g = s - 1 - a;
    bool whole = a == 0 || !al__is_alnum((unsigned char)t[a - 1]);
    if (g >= 1 && g <= 4 && has_digit(t, a, s - 1) && whole) return true;
    /* "GB63 DVXF 5099 ...": an upper-case group behind which a digit group continues */
    if (g == 4 && whole && a >= 2 && t[a - 1] == sep) {
      bool upper = true;
      for (size_t i = a; i < s - 1; i++)
        upper = upper && ((t[i] >= 'A' && t[i] <= 'Z') || al__is_digit((unsigned char)t[i]));
      size_t b = a - 1;
      while (b > 0 && al__is_alnum((unsigned char)t[b - 1]) && a - 1 - b < 5) b--;
      if (upper && a - 1 - b >= 1 && a - 1 - b <= 4 && has_digit(t, b, a - 1)) return true;
    }
  }
  if (e + 1 < len && t[e] == sep) {
    size_t b = e + 1;
    while (b < len && al__is_alnum((unsigned char)t[b]) && b - e - 1 < 5) b++;
    size_t g = b - e - 1;
    bool ends = b >= len || t[b] == ' ' || t[b] == '\n' || t[b] == '\t' || t[b] == sep ||
                ((t[b] == '.' || t[b] == ',' || t[b] == ';') &&
                 (b + 1 >= len || !al__is_digit((unsigned char)t[b + 1])));
    if (g >= 1 && g <= 4 && has_digit(t, e + 1, b) && ends) return true;
  }
  return false;
}

static int cc_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                     unsigned id, al_finding *f) {
  char d[20];
  if (!al__isolated(t, len, s, e)) return 0;
  /* grouped numbers use one separator kind throughout */
  char sep = 0;
  for (size_t i = s; i < e; i++)
    if (!al__is_digit((unsigned char)t[i])) {
      if (sep && t[i] != sep) return 0;
      sep = t[i];
    }
  size_t n = al__digits(t + s, e - s, d, 19, " -");
  if (n < 12 || n > 19) return 0;
  if (sep && embedded_in_groups(t, len, s, e, sep)) return 0;
  const char *brand = al_card_brand(d, n);
  if (!brand) return 0;
  if (!strcmp(brand, "Visa") && n != 13 && n != 16 && n != 19) return 0;
  if (!al_luhn_ok(d, n)) return 0;
  /* placeholder runs like 4444444444444448 are still shaped like cards; keep, but lower */
  int distinct = 0, seen[10] = {0};
  for (size_t i = 0; i < n; i++)
    if (!seen[d[i] - '0']++) distinct++;
  f->score = !strcmp(brand, "Maestro") ? 0.7 : distinct <= 2 ? 0.6 : 0.95;
  al__note(f, "Luhn ok, %zu digits, IIN %.4s (%s)", n, d, brand);
  return 1;
}

const al_detector al_det_pii_credit_card = {
    .name = "pii.credit_card",
    .kind = "pii",
    .description = "payment card numbers (Luhn + brand IIN ranges and lengths; plain, "
                   "spaced or dashed groups)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = cc_patterns,
    .verify = cc_verify,
};

/* ---- IBAN ---- */
/* Block mode scans the IBAN patterns only around digit runs right after two capital
 * letters that start a word (the country code and the check digits). */
static bool iban_anchor(const char *t, size_t len, size_t run) {
  if (run < 2 || run + 1 >= len || !al__is_digit((unsigned char)t[run + 1])) return false;
  if (t[run - 1] < 'A' || t[run - 1] > 'Z' || t[run - 2] < 'A' || t[run - 2] > 'Z') return false;
  return run == 2 || !(al__is_alnum((unsigned char)t[run - 3]) || t[run - 3] == '_');
}

static bool upper_or_digit(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static bool word_at(const char *t, size_t len, size_t i) {
  return i < len && (al__is_alnum((unsigned char)t[i]) || t[i] == '_');
}

/* The shapes of the two IBAN patterns (block mode follows them at each anchor instead of
 * running Hyperscan; stream mode runs the regexes, and the tests compare the two). The gate
 * has checked \b, the two capitals and the two check digits at `run`. No \b falls between
 * two bytes of [A-Z0-9] (both word bytes), so a group of them ends only where the run of
 * them ends. Compact: one end at most, after the run of [A-Z0-9] that follows the check
 * digits, when it is 11-30 long and no word byte follows. */
static void iban_compact_shape(const char *t, size_t len, size_t run, al_shape_hits *h) {
  size_t q = run + 2, e = q;
  while (e < len && e - q <= 30 && upper_or_digit(t[e])) e++;
  size_t m = e - q;
  if (m < 11 || m > 30 || word_at(t, len, e)) return;
  h->s[h->n] = run - 2;
  h->e[h->n] = e;
  h->n++;
}

/* Grouped: " XXXX" groups, an end after the 2nd to 7th when no word byte follows, and
 * after each of those an optional " X".." XXX" (a whole run of 1-3) that no word byte
 * follows: at most 12 ends, each once. */
static void iban_grouped_shape(const char *t, size_t len, size_t run, al_shape_hits *h) {
  size_t q = run + 2;
  for (int k = 1; k <= 7; k++) {
    if (len - q < 5 || t[q] != ' ') return;
    for (size_t i = 1; i <= 4; i++)
      if (!upper_or_digit(t[q + i])) return;
    q += 5;
    if (k < 2) continue;
    if (!word_at(t, len, q)) {
      h->s[h->n] = run - 2;
      h->e[h->n] = q;
      h->n++;
    }
    if (q < len && t[q] == ' ') {
      size_t e = q + 1;
      while (e < len && e - (q + 1) < 4 && upper_or_digit(t[e])) e++;
      size_t m = e - (q + 1);
      if (m >= 1 && m <= 3 && !word_at(t, len, e)) {
        h->s[h->n] = run - 2;
        h->e[h->n] = e;
        h->n++;
      }
    }
  }
}

static int iban_patterns(void *st, al_pattern_sink *sink) {
  /* matches start 2 bytes before the check digits and are at most 34 (compact) or
   * 2 + 2 + 7 * 5 + 4 = 43 (grouped) bytes long */
  int rc = al_pattern_add_anchored(sink, "\\b[A-Z]{2}\\d{2}[A-Z0-9]{11,30}\\b", 0, 0,
                                   iban_anchor, 2, 32);
  if (!rc) rc = al__pattern_anchor_shape(sink, iban_compact_shape);
  if (!rc)
    rc = al_pattern_add_anchored(
        sink, "\\b[A-Z]{2}\\d{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?\\b", 0, 1,
        iban_anchor, 2, 41);
  if (!rc) rc = al__pattern_anchor_shape(sink, iban_grouped_shape);
  return rc;
}

static int iban_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                       unsigned id, al_finding *f) {
  char c[40];
  size_t n = 0;
  if (!al__isolated(t, len, s, e)) return 0;
  for (size_t i = s; i < e && n < sizeof c; i++)
    if (t[i] != ' ') c[n++] = t[i];
  if (n >= sizeof c || n < 2) return 0;
  /* most candidates are the shorter prefixes of a grouped IBAN (a match ends after every
   * group): the registry length rejects them before the full check would */
  if ((size_t)al_iban_length(c) != n) return 0;
  if (al_iban_invalid(c, n)) return 0;
  f->score = 0.95;
  al__note(f, "IBAN, country %.2s, mod-97 ok, length %zu", c, n);
  return 1;
}

const al_detector al_det_pii_iban = {
    .name = "pii.iban",
    .kind = "pii",
    .description = "IBANs (mod-97 and the registry length of the country; compact or in "
                   "groups of four)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = iban_patterns,
    .verify = iban_verify,
};

/* ---- ABA routing numbers ---- */
static int aba_patterns(void *st, al_pattern_sink *sink) {
  int rc = al_pattern_add(sink, "\\b\\d{9}\\b", AL_PAT_DIGITS, 0);
  if (!rc) rc = al__pattern_shape(sink, &nine_digits);
  return rc;
}

static int aba_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                      unsigned id, al_finding *f) {
  static const char *const words[] = {"routing", "aba", "rtn", "routing number", "transit",
                                      "ach", "wire", "bank routing", NULL};
  if (!al__isolated(t, len, s, e)) return 0;
  if (!al_aba_ok(t + s, e - s)) return 0;
  if (!al__context_word(t, len, s, e, words)) return 0;
  f->score = 0.9;
  al__note(f, "ABA 3-7-1 checksum ok, Fed district %.2s, context word", t + s);
  return 1;
}

const al_detector al_det_pii_aba_routing = {
    .name = "pii.aba_routing",
    .kind = "pii",
    .description = "US ABA bank routing numbers (3-7-1 checksum, valid prefix, needs a "
                   "context word: routing/ABA/RTN/ACH/wire)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = aba_patterns,
    .verify = aba_verify,
};

/* ---- UK NHS numbers ---- */
static int nhs_patterns(void *st, al_pattern_sink *sink) {
  static const al_digit_shape nhs = {3, 0, {{3, 3, 0, 1, " -"}, {3, 3, 0, 1, " -"}, {4, 4}}};
  int rc = al_pattern_add(sink, "\\b\\d{3}[ \\-]?\\d{3}[ \\-]?\\d{4}\\b", AL_PAT_DIGITS, 0);
  if (!rc) rc = al__pattern_shape(sink, &nhs);
  return rc;
}

static int nhs_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                      unsigned id, al_finding *f) {
  static const char *const words[] = {"nhs", "nhs number", "nhs no", "health service",
                                      "chi", NULL};
  char d[11];
  if (!al__isolated(t, len, s, e)) return 0;
  if (al__digits(t + s, e - s, d, 10, " -") != 10) return 0;
  if (!al_nhs_ok(d, 10)) return 0;
  if (!al__context_word(t, len, s, e, words)) return 0;
  f->score = 0.9;
  al__note(f, "NHS mod-11 check digit ok, context word");
  return 1;
}

const al_detector al_det_pii_nhs = {
    .name = "pii.nhs",
    .kind = "pii",
    .description = "UK NHS numbers (mod-11 check digit, needs the word NHS nearby)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = nhs_patterns,
    .verify = nhs_verify,
};
