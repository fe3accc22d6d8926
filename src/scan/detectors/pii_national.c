/* National identifiers with check digits: pii.es_dni (Spanish DNI/NIE letter),
 * pii.nl_bsn (Dutch BSN, 11-proef), pii.de_steuer_id (German tax id, ISO 7064 MOD 11,10),
 * pii.ca_sin (Canadian SIN, Luhn), pii.in_aadhaar (Indian Aadhaar, Verhoeff).
 *
 * All but the DNI (whose trailing check letter makes the shape rare in prose) need a
 * context word: a bare 9-12 digit number passes a single check digit one time in ten. */
#include <string.h>

#include "scan/scan_internal.h"
#include "scan/validators/validators.h"

/* ---- es_dni ---- */
/* The shape of \b[XYZxyz]?\d{7,8}[ \-]?[A-Za-z]\b at the digit run w[run, run+rl) (see
 * src/scan/shapes.c): the digits are the whole run (a separator or the letter follows);
 * the match starts at the X/Y/Z right before it if that letter starts a word, else at the
 * run if it starts a word (an X that does not start a word leaves no \b before the digits),
 * so the end fixes the start. */
static void dni_shape(const char *w, size_t n, size_t run, size_t rl, al_shape_hits *h) {
  (void)n;
  if (rl < 7 || rl > 8) return;
  const char *p = w + run;
  size_t s = run;
  char c = p[-1];
  if (c == 'X' || c == 'Y' || c == 'Z' || c == 'x' || c == 'y' || c == 'z') {
    char b = p[-2]; /* run >= 1 here, so p - 2 >= w - 1, a sentinel at the latest */
    if (al__is_alnum((unsigned char)b) || b == '_') return;
    s = run - 1;
  } else if (al__is_alnum((unsigned char)c) || c == '_') {
    return;
  }
  size_t q = run + rl; /* q <= n: w[n] is the sentinel */
  if (w[q] == ' ' || w[q] == '-') q++;
  if (!al__is_alpha((unsigned char)w[q])) return; /* the sentinel is not a letter */
  char a = w[q + 1];
  if (al__is_alnum((unsigned char)a) || a == '_') return;
  h->s[h->n] = s;
  h->e[h->n] = q + 1;
  h->n++;
}

static int dni_patterns(void *st, al_pattern_sink *sink) {
  static const al_digit_shape dni = {.g = {{7, 8}}, .fn = dni_shape};
  int rc = al_pattern_add(sink, "\\b[XYZxyz]?\\d{7,8}[ \\-]?[A-Za-z]\\b", AL_PAT_DIGITS, 0);
  if (!rc) rc = al__pattern_shape(sink, &dni);
  return rc;
}

static int dni_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                      unsigned id, al_finding *f) {
  static const char *const words[] = {"dni", "nie", "nif", "documento", "identidad", NULL};
  char c[12];
  size_t n = 0;
  if (!al__isolated(t, len, s, e)) return 0;
  for (size_t i = s; i < e && n < sizeof c; i++)
    if (t[i] != ' ' && t[i] != '-') c[n++] = t[i];
  if (n == 8 && al__is_digit((unsigned char)c[0])) { /* 7-digit DNI: leading zero dropped */
    memmove(c + 1, c, n);
    c[0] = '0';
    n = 9;
  }
  if (!al_es_dni_ok(c, n)) return 0;
  bool ctx = al__context_word(t, len, s, e, words);
  bool nie = !al__is_digit((unsigned char)c[0]);
  /* lower-case letters or a separator before the letter are rarer in documents */
  f->score = ctx ? 0.95 : 0.75;
  al__note(f, "Spanish %s, check letter ok%s", nie ? "NIE" : "DNI", ctx ? ", context word" : "");
  return 1;
}

const al_detector al_det_pii_es_dni = {
    .name = "pii.es_dni",
    .kind = "pii",
    .description = "Spanish DNI/NIE numbers (mod-23 check letter)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = dni_patterns,
    .verify = dni_verify,
};

/* Shared shape for digit ids: exactly `want` digits that pass `ok` (checked first: it is
 * cheaper than looking for a context word), and a context word. */
static bool digits_with_context(const char *t, size_t len, size_t s, size_t e, size_t want,
                                const char *seps, const char *const *words, char *d,
                                bool (*ok)(const char *, size_t)) {
  if (!al__isolated(t, len, s, e)) return false;
  if (al__digits(t + s, e - s, d, want, seps) != want) return false;
  if (!ok(d, want)) return false;
  return al__context_word(t, len, s, e, words);
}

/* ---- nl_bsn ---- */
static int bsn_patterns(void *st, al_pattern_sink *sink) {
  static const al_digit_shape nine = {1, 0, {{9, 9}}};
  static const al_digit_shape dotted = {3, 0, {{4, 4, 0, 0, "."}, {2, 2, 0, 0, "."}, {3, 3}}};
  static const al_digit_shape spaced = {3, 0, {{3, 3, 0, 0, " "}, {3, 3, 0, 0, " "}, {3, 3}}};
  int rc = al_pattern_add(sink, "\\b\\d{9}\\b", AL_PAT_DIGITS, 0);
  if (!rc) rc = al__pattern_shape(sink, &nine);
  if (!rc) rc = al_pattern_add(sink, "\\b\\d{4}\\.\\d{2}\\.\\d{3}\\b", AL_PAT_DIGITS, 1);
  if (!rc) rc = al__pattern_shape(sink, &dotted);
  if (!rc) rc = al_pattern_add(sink, "\\b\\d{3} \\d{3} \\d{3}\\b", AL_PAT_DIGITS, 2);
  if (!rc) rc = al__pattern_shape(sink, &spaced);
  return rc;
}

static int bsn_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                      unsigned id, al_finding *f) {
  static const char *const words[] = {"bsn", "burgerservicenummer", "sofinummer", "sofi",
                                      NULL};
  char d[10];
  if (!digits_with_context(t, len, s, e, 9, ". ", words, d, al_bsn_ok)) return 0;
  f->score = 0.9;
  al__note(f, "Dutch BSN, 11-proef ok, context word");
  return 1;
}

const al_detector al_det_pii_nl_bsn = {
    .name = "pii.nl_bsn",
    .kind = "pii",
    .description = "Dutch citizen service numbers (11-proef, needs BSN/burgerservicenummer "
                   "nearby)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = bsn_patterns,
    .verify = bsn_verify,
};

/* ---- de_steuer_id ---- */
static int steuer_patterns(void *st, al_pattern_sink *sink) {
  static const al_digit_shape steuer = {
      4, 0, {{2, 2, 0, 1, " "}, {3, 3, 0, 1, " "}, {3, 3, 0, 1, " "}, {3, 3}}};
  int rc = al_pattern_add(sink, "\\b\\d{2} ?\\d{3} ?\\d{3} ?\\d{3}\\b", AL_PAT_DIGITS, 0);
  if (!rc) rc = al__pattern_shape(sink, &steuer);
  return rc;
}

static int steuer_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                         unsigned id, al_finding *f) {
  static const char *const words[] = {"steuer", "steuerid", "steuer id", "idnr",
                                      "steueridentifikationsnummer", "identifikationsnummer",
                                      "tin", "tax id", NULL};
  char d[12];
  if (!digits_with_context(t, len, s, e, 11, " ", words, d, al_de_steuer_id_ok)) return 0;
  f->score = 0.9;
  al__note(f, "German tax id, ISO 7064 MOD 11,10 ok, digit distribution ok, context word");
  return 1;
}

const al_detector al_det_pii_de_steuer_id = {
    .name = "pii.de_steuer_id",
    .kind = "pii",
    .description = "German tax identification numbers (ISO 7064 MOD 11,10, needs "
                   "Steuer-ID/IdNr nearby)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = steuer_patterns,
    .verify = steuer_verify,
};

/* ---- ca_sin ---- */
static int sin_patterns(void *st, al_pattern_sink *sink) {
  static const al_digit_shape sin = {3, 0, {{3, 3, 0, 1, " -"}, {3, 3, 0, 1, " -"}, {3, 3}}};
  int rc = al_pattern_add(sink, "\\b\\d{3}[ \\-]?\\d{3}[ \\-]?\\d{3}\\b", AL_PAT_DIGITS, 0);
  if (!rc) rc = al__pattern_shape(sink, &sin);
  return rc;
}

static int sin_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                      unsigned id, al_finding *f) {
  static const char *const words[] = {"sin", "social insurance", "nas",
                                      "assurance sociale", NULL};
  char d[10];
  if (!digits_with_context(t, len, s, e, 9, " -", words, d, al_ca_sin_ok)) return 0;
  f->score = 0.9;
  al__note(f, "Canadian SIN, Luhn ok, province digit %c, context word", d[0]);
  return 1;
}

const al_detector al_det_pii_ca_sin = {
    .name = "pii.ca_sin",
    .kind = "pii",
    .description = "Canadian social insurance numbers (Luhn, needs SIN/social insurance "
                   "nearby)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = sin_patterns,
    .verify = sin_verify,
};

/* ---- in_aadhaar ---- */
static int aadhaar_patterns(void *st, al_pattern_sink *sink) {
  static const al_digit_shape aadhaar = {
      3, '2', {{4, 4, 0, 1, " -"}, {4, 4, 0, 1, " -"}, {4, 4}}};
  int rc = al_pattern_add(sink, "\\b[2-9]\\d{3}[ \\-]?\\d{4}[ \\-]?\\d{4}\\b", AL_PAT_DIGITS, 0);
  if (!rc) rc = al__pattern_shape(sink, &aadhaar);
  return rc;
}

static int aadhaar_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                          unsigned id, al_finding *f) {
  static const char *const words[] = {"aadhaar", "aadhar", "uidai", "uid", NULL};
  char d[13];
  if (!digits_with_context(t, len, s, e, 12, " -", words, d, al_aadhaar_ok)) return 0;
  f->score = 0.9;
  al__note(f, "Aadhaar, Verhoeff check digit ok, context word");
  return 1;
}

const al_detector al_det_pii_in_aadhaar = {
    .name = "pii.in_aadhaar",
    .kind = "pii",
    .description = "Indian Aadhaar numbers (Verhoeff, needs Aadhaar/UIDAI nearby)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = aadhaar_patterns,
    .verify = aadhaar_verify,
};
