/* pii.phone: telephone numbers with numbering-plan checks, not just digit shapes.
 *
 *  - NANP (US/Canada/...) in common formats: (212) 555-0142, 212-555-0142, 212.555.0142,
 *    +1 212 555 0142, 1-212-555-0142, optional extension (x123, ext. 123). Area code and
 *    exchange must start with 2-9 and must not be an N11 service code.
 *  - Bare ten digits (2125550142) only next to a phone word (phone, tel, call, ...).
 *  - Other national formats (0494 92 82 32, (08) 8747 6301, 001-253-366-9781): 7 to 15
 *    digits in groups, only next to a phone word, and not shaped like a date.
 *  - International E.164 written with '+': +44 20 7946 0958, +41 (0)96 471 07 95. The
 *    country code is parsed by the ITU's digit-length rule (1 and 7 have one digit, a fixed
 *    set of two-digit codes, the rest three) and the remaining national number must have a
 *    plausible length for that country (E.164 caps the total at 15 digits). */
#include <string.h>

#include "scan/scan_internal.h"

enum { PH_NANP = 0, PH_BARE = 1, PH_INTL = 2, PH_CTX = 3 };

static bool phone_word_before(const char *t, size_t s);

/* Block mode scans the national-format pattern only in digit windows where a run of
 * digits (or the '(' before it) follows a phone word. */
static bool phone_gate(const char *t, size_t len, size_t run) {
  (void)len;
  return phone_word_before(t, run) || (run > 0 && t[run - 1] == '(' && phone_word_before(t, run - 1));
}

/* International numbers start with '+' right before their first digit run: block mode scans
 * the E.164 pattern only in the digit windows that hold one. It is compiled without start
 * tracking (AL_PAT_NO_SOM): verify() takes the last '+' before the end. */
static bool plus_gate(const char *t, size_t len, size_t run) {
  (void)len;
  return run > 0 && t[run - 1] == '+';
}

static bool sep3(char c) { return c == ' ' || c == '.' || c == '-'; }
static bool space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); } /* \s */
static bool word_byte(char c) { return al__is_alnum((unsigned char)c) || c == '_'; }

/* Does w[q...] start with kw (lowercase), case-insensitively? Stops at the first byte that
 * differs, so it never reads past a window's sentinel. */
static bool kw_at(const char *w, size_t q, const char *kw) {
  for (; *kw; kw++, q++) {
    char c = w[q];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (c != *kw) return false;
  }
  return true;
}

/* The shape of the NANP pattern (src/scan/shapes.c; regex below), found at its middle group:
 * the exchange \d{3} is a whole run of three digits (a separator or ')' before it, one of
 * [ .-] after it), followed by one separator and a run of exactly four digits. In front: the
 * area code, "ddd" + separator (the last three digits of a run) or "(ddd)" + an optional
 * separator, and before that the optional "+1" / "1" with an optional separator; the
 * leftmost start takes every optional prefix that is there. Each end (after the four
 * digits, or after an extension: optional \s, x / ext / ext. / extension, optional \s, a
 * whole run of 1-5 digits) needs \b. The two alternatives exclude each other at every step,
 * so the end fixes the start. Reads stay within w[-1, n] (the sentinels match nothing). */
static void nanp_shape(const char *w, size_t n, size_t run, size_t rl, al_shape_hits *h) {
  (void)n;
  ptrdiff_t p = (ptrdiff_t)run, a;
  if (rl != 3 || !sep3(w[p + 3]) || !al__is_digit((unsigned char)w[p + 4])) return;
  size_t L = 1;
  while (al__is_digit((unsigned char)w[p + 4 + (ptrdiff_t)L])) L++;
  if (L != 4) return;
  /* the area code before the exchange */
  if (p >= 5 && w[p - 1] == ')' && w[p - 5] == '(') {
    a = p - 5;
  } else if (p >= 6 && sep3(w[p - 1]) && w[p - 2] == ')' && w[p - 6] == '(') {
    a = p - 6;
  } else if (p >= 4 && sep3(w[p - 1])) {
    a = p - 4;
  } else {
    return;
  }
  for (ptrdiff_t i = 0; i < 3; i++)
    if (!al__is_digit((unsigned char)w[a + (w[a] == '(') + i])) return;
  /* the optional +1 prefix; positions below -1 are outside the window */
  ptrdiff_t s = a;
  ptrdiff_t one = a >= 1 && sep3(w[a - 1]) ? a - 2 : a - 1;
  if (one >= 0 && w[one] == '1') {
    s = one;
    if (one >= 1 && w[one - 1] == '+') s = one - 1;
  }
  size_t c = (size_t)p + 8, from = (size_t)s;
  if (!word_byte(w[c])) {
    h->s[h->n] = from;
    h->e[h->n] = c;
    h->n++;
  }
  /* an extension */
  size_t q = c + (space(w[c]) ? 1 : 0), r;
  if (kw_at(w, q, "extension"))
    r = q + 9;
  else if (kw_at(w, q, "ext."))
    r = q + 4;
  else if (kw_at(w, q, "ext"))
    r = q + 3;
  else if (kw_at(w, q, "x"))
    r = q + 1;
  else
    return;
  if (space(w[r])) r++;
  size_t d = 0;
  while (d < 6 && al__is_digit((unsigned char)w[r + d])) d++;
  if (d >= 1 && d <= 5 && !word_byte(w[r + d])) {
    h->s[h->n] = from;
    h->e[h->n] = r + d;
    h->n++;
  }
}

/* The shape of the national-format pattern \(?\d{1,4}\)?(?:[ .\-]{1,2}\d{1,8}){1,5}\b, asked
 * only at a digit run its gate (a phone word in front) accepts: a first group that is the
 * whole run (1-4 digits: a ')' or a separator must follow it, and neither fits inside a
 * run), the '(' before it starting the match when there is one, then up to five groups,
 * each one or two separators and a whole run of 1-8 digits, with an end after every group
 * that \b follows. Only matches starting here can pass verify() (the phone word must be
 * right before the start), and no earlier start reaches their ends: a chain from further
 * left would have to cross the phone word's letters. */
static void ctx_shape(const char *w, size_t n, size_t run, size_t rl, al_shape_hits *h) {
  (void)n;
  if (rl > 4) return;
  size_t s = w[(ptrdiff_t)run - 1] == '(' ? run - 1 : run;
  size_t q = run + rl;
  if (w[q] == ')') q++;
  for (int k = 0; k < 5; k++) {
    size_t d = q;
    if (sep3(w[d])) d++;
    else return;
    if (sep3(w[d])) d++;
    size_t L = 0;
    while (al__is_digit((unsigned char)w[d + L])) L++;
    if (L == 0 || L > 8) return;
    q = d + L;
    if (!word_byte(w[q])) {
      h->s[h->n] = s;
      h->e[h->n] = q;
      h->n++;
    }
  }
}

static int phone_patterns(void *st, al_pattern_sink *sink) {
  int rc = al_pattern_add(sink,
                          "(?:\\+?1[ .\\-]?)?(?:\\(\\d{3}\\)[ .\\-]?|\\d{3}[ .\\-])\\d{3}[ .\\-]"
                          "\\d{4}(?:\\s?(?:x|ext\\.?|extension)\\s?\\d{1,5})?\\b",
                          HS_FLAG_CASELESS | AL_PAT_DIGITS, PH_NANP);
  static const al_digit_shape nanp = {.g = {{3, 3}}, .fn = nanp_shape};
  if (!rc) rc = al__pattern_shape(sink, &nanp);
  static const al_digit_shape ten_digits = {1, 0, {{10, 10}}};
  if (!rc) rc = al_pattern_add(sink, "\\b\\d{10}\\b", AL_PAT_DIGITS, PH_BARE);
  if (!rc) rc = al__pattern_shape(sink, &ten_digits);
  if (!rc)
    rc = al_pattern_add_gated(sink,
                              "\\+\\d{1,3}[ .\\-]?(?:\\(0\\)[ .\\-]?)?(?:\\(\\d{1,4}\\)|\\d{1,4})"
                              "(?:[ .\\-]?\\d{1,4}){1,5}\\b",
                              AL_PAT_DIGITS | AL_PAT_NO_SOM, PH_INTL, plus_gate);
  /* national formats of other plans (0494 92 82 32, (08) 8747 6301): only right after a
   * phone word, which verify() checks (phone_word_before: the same rule as the regex
   * WORD(?: number)?(?: is)?[:.]?[ \t\r\n]{1,3} in front of the number); the pattern is the
   * number alone so that it runs in the digit windows, gated on the phone word */
  if (!rc)
    rc = al_pattern_add_gated(sink, "\\(?\\d{1,4}\\)?(?:[ .\\-]{1,2}\\d{1,8}){1,5}\\b",
                              AL_PAT_DIGITS, PH_CTX, phone_gate);
  static const al_digit_shape national = {.g = {{1, 4}}, .fn = ctx_shape};
  if (!rc) rc = al__pattern_shape(sink, &national);
  return rc;
}

/* Phone words a national-format number must follow: WORD, then optionally " number" and
 * " is", optionally ':' or '.', then 1-3 blanks (space, tab, CR, LF); case-insensitive, the
 * word starting at a word boundary. */
typedef struct lit {
  const char *s;
  size_t n;
} lit;
#define LIT(x) {x, sizeof x - 1}
static const lit phone_words[] = {LIT("phone"), LIT("mobile"), LIT("cell"), LIT("tel"),
                                  LIT("telephone"), LIT("fax"), LIT("desk"), LIT("whatsapp"),
                                  LIT("sms"), LIT("dial"), LIT("call"), LIT("call me at"),
                                  LIT("call me on"), LIT("reach me at"), LIT("messages to"),
                                  LIT("contact")};
static const lit tails[] = {LIT(""), LIT(" number"), LIT(" is"), LIT(" number is")};

/* Does t[0,at) end with w (lowercase), case-insensitively? Then *start = where it begins. */
static bool ends_with_ci(const char *t, size_t at, lit w, size_t *start) {
  if (w.n > at) return false;
  const char *p = t + at - w.n;
  for (size_t i = w.n; i-- > 0;) {
    char c = p[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (c != w.s[i]) return false;
  }
  *start = at - w.n;
  return true;
}

static bool phone_word_before(const char *t, size_t s) {
  size_t p = s, k = 0;
  while (p > 0 && k < 3 && (t[p - 1] == ' ' || t[p - 1] == '\t' || t[p - 1] == '\r' ||
                            t[p - 1] == '\n')) {
    p--;
    k++;
  }
  if (k == 0) return false;
  /* more than three blanks: the regex could still start its 1-3 blanks later, but then a
   * blank would stand where [:.] or a letter must be */
  if (p > 0 && (t[p - 1] == ':' || t[p - 1] == '.')) p--;
  if (p == 0 || !al__is_alpha((unsigned char)t[p - 1])) return false; /* words end in letters */
  /* fast rejection: the token right here must be the last word of a phone word or tail
   * (phone, mobile, cell, tel, telephone, fax, desk, whatsapp, sms, dial, call, at, on, to,
   * contact, number, is) */
  size_t tk = p;
  while (tk > 0 && p - tk < 10 && al__is_alpha((unsigned char)t[tk - 1])) tk--;
  char lw[10];
  size_t L = p - tk;
  for (size_t i = 0; i < L; i++) lw[i] = (char)(t[tk + i] | 32);
#define IS(w) (!memcmp(lw, w, sizeof w - 1))
  bool known;
  switch (L) {
  case 2: known = IS("at") || IS("on") || IS("to") || IS("is"); break;
  case 3: known = IS("tel") || IS("fax") || IS("sms"); break;
  case 4: known = IS("cell") || IS("desk") || IS("dial") || IS("call"); break;
  case 5: known = IS("phone"); break;
  case 6: known = IS("mobile") || IS("number"); break;
  case 7: known = IS("contact"); break;
  case 8: known = IS("whatsapp"); break;
  case 9: known = IS("telephone"); break;
  default: known = false;
  }
#undef IS
  if (!known) return false;
  for (size_t v = 0; v < sizeof tails / sizeof tails[0]; v++) {
    size_t q = p;
    if (!ends_with_ci(t, p, tails[v], &q) || q == 0) continue;
    char lc = t[q - 1];
    if (lc >= 'A' && lc <= 'Z') lc = (char)(lc + 32);
    for (size_t w = 0; w < sizeof phone_words / sizeof phone_words[0]; w++) {
      size_t ws;
      if (phone_words[w].s[phone_words[w].n - 1] == lc && /* cheap first test */
          ends_with_ci(t, q, phone_words[w], &ws) &&
          (ws == 0 || !(al__is_alnum((unsigned char)t[ws - 1]) || t[ws - 1] == '_')))
        return true;
    }
  }
  return false;
}

static bool nanp_ok(const char *d) {
  /* d: 10 digits NPA-NXX-XXXX */
  if (d[0] < '2' || d[3] < '2') return false;
  if (d[1] == '1' && d[2] == '1') return false; /* N11 area: 211..911 */
  if (d[4] == '1' && d[5] == '1') return false; /* N11 exchange */
  return true;
}

/* Two-digit ITU country codes (zones 2-9); everything else in those zones has three. */
static const char *const cc2[] = {"20", "27", "30", "31", "32", "33", "34", "36", "39", "40",
                                  "41", "43", "44", "45", "46", "47", "48", "49", "51", "52",
                                  "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
                                  "64", "65", "66", "81", "82", "84", "86", "90", "91", "92",
                                  "93", "94", "95", "98", NULL};

static const struct {
  const char *cc;
  int min, max; /* national significant number length */
} natlen[] = {{"1", 10, 10},  {"7", 10, 10},  {"44", 9, 10}, {"33", 9, 9},  {"49", 6, 13},
              {"41", 9, 9},   {"46", 7, 13},  {"61", 9, 9},  {"91", 10, 10}, {"86", 10, 11},
              {"81", 9, 10},  {"39", 6, 11},  {"34", 9, 9},  {"31", 9, 9},  {"32", 8, 9},
              {"43", 4, 13},  {"45", 8, 8},   {"47", 8, 8},  {"48", 9, 9},  {"55", 10, 11},
              {"52", 10, 10}, {"353", 7, 9},  {"351", 9, 9}, {"358", 5, 12}, {"30", 10, 10}};

static int cc_len(const char *d, size_t n) {
  if (n < 1) return 0;
  if (d[0] == '1' || d[0] == '7') return 1;
  if (d[0] == '0') return 0;
  if (n < 2) return 0;
  for (int i = 0; cc2[i]; i++)
    if (d[0] == cc2[i][0] && d[1] == cc2[i][1]) return 2;
  return 3;
}

static int phone_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                        unsigned id, al_finding *f) {
  static const char *const words[] = {"phone", "tel", "telephone", "call", "mobile",
                                      "cell", "fax", "desk", "contact", "whatsapp", "sms",
                                      "text me", "dial", "messages", "phone number", NULL};
  char d[24];
  if (id == PH_CTX && !phone_word_before(t, s)) return 0;
  if (id == PH_INTL) {
    /* AL_PAT_NO_SOM: s is the widest start; the match starts at the last '+' before its end
     * (the regex has no other '+', so none lies inside a match) */
    size_t p = e;
    while (p > s && t[p - 1] != '+') p--;
    if (p == s) return 0;
    s = p - 1;
    f->start = s;
  }
  /* cut an extension off before counting digits */
  size_t core = e;
  for (size_t i = s; i < e; i++)
    if (t[i] == 'x' || t[i] == 'X' || t[i] == 'e' || t[i] == 'E') {
      core = i;
      break;
    }
  while (core > s && t[core - 1] == ' ') core--;
  /* not a piece of a longer number: 12-212-555-0142, 212-555-0142-7 */
  if (s > 0 && (al__is_digit((unsigned char)t[s - 1]) ||
                ((t[s - 1] == '-' || t[s - 1] == '.' || t[s - 1] == '/') && s > 1 &&
                 al__is_digit((unsigned char)t[s - 2]))))
    return 0;
  if (e + 1 < len && (t[e] == '-' || t[e] == '.' || t[e] == '/') &&
      al__is_digit((unsigned char)t[e + 1]))
    return 0;
  if (id == PH_INTL) {
    /* the (0) trunk prefix is not part of the number */
    char tmp[64];
    size_t k = 0;
    for (size_t i = s + 1; i < core && k + 1 < sizeof tmp; i++) {
      if (t[i] == '(' && i + 2 < core && t[i + 1] == '0' && t[i + 2] == ')') {
        i += 2;
        continue;
      }
      tmp[k++] = t[i];
    }
    size_t n = al__digits(tmp, k, d, sizeof d - 1, " .-()");
    if (n < 8 || n > 15) return 0;
    int cl = cc_len(d, n);
    if (!cl) return 0;
    int min = 4, max = 14;
    for (size_t i = 0; i < sizeof natlen / sizeof natlen[0]; i++)
      if (strlen(natlen[i].cc) == (size_t)cl && !strncmp(natlen[i].cc, d, (size_t)cl)) {
        min = natlen[i].min;
        max = natlen[i].max;
      }
    int nat = (int)n - cl;
    if (nat < min || nat > max) return 0;
    if (cl == 1 && d[0] == '1' && !nanp_ok(d + 1)) return 0;
    f->score = 0.9;
    al__note(f, "international number, country code +%.*s, %d-digit national number", cl, d,
             nat);
    return 1;
  }
  if (id == PH_CTX) {
    size_t n = al__digits(t + s, core - s, d, sizeof d - 1, " .-()");
    if (n < 7 || n > 15) return 0;
    /* dates: 12.05.2024, 2024-05-12, 12-05-24 */
    int groups = 1, seps_dot_dash = 0;
    for (size_t i = s; i < core; i++)
      if (!al__is_digit((unsigned char)t[i]) && al__is_digit((unsigned char)t[i + 1])) {
        groups++;
        seps_dot_dash += t[i] == '.' || t[i] == '-' || t[i] == '/';
      }
    if (groups == 3 && seps_dot_dash == 2 && n <= 8) return 0;
    /* shapes other detectors own: NANP (its own rules apply), SSN, dotted quads */
    char shape[64];
    size_t k = 0;
    for (size_t i = s; i < core && k + 1 < sizeof shape; i++)
      shape[k++] = al__is_digit((unsigned char)t[i]) ? 'd' : t[i];
    shape[k] = '\0';
    static const char *const owned[] = {"ddd-ddd-dddd", "ddd.ddd.dddd", "ddd ddd dddd",
                                        "(ddd) ddd-dddd", "(ddd)ddd-dddd", "ddd-dd-dddd",
                                        NULL};
    for (int i = 0; owned[i]; i++) {
      size_t on = strlen(owned[i]);
      /* the shape itself, or the shape followed by unrelated digits ("212-555-0142 43") */
      if (!strncmp(shape, owned[i], on) && (shape[on] == '\0' || shape[on] == ' ')) return 0;
    }
    if (groups == 4 && seps_dot_dash == 3 && strchr(shape, '.') && !strchr(shape, ' ') &&
        !strchr(shape, '-'))
      return 0;
    f->score = 0.6;
    al__note(f, "%zu-digit number in groups next to a phone word", n);
    return 1;
  }
  size_t n = al__digits(t + s, core - s, d, sizeof d - 1, " .-()+");
  const char *nd = d;
  if (n == 11 && d[0] == '1') {
    nd = d + 1;
    n = 10;
  } else if (memchr(t + s, '+', core - s)) {
    return 0;
  }
  if (n != 10 || !nanp_ok(nd)) return 0;
  if (id == PH_BARE) {
    if (!al__context_word(t, len, s, e, words)) return 0;
    f->score = 0.7;
    al__note(f, "NANP number without separators, next to a phone word");
    return 1;
  }
  f->score = 0.85;
  al__note(f, "NANP number, area code %.3s", nd);
  return 1;
}

const al_detector al_det_pii_phone = {
    .name = "pii.phone",
    .kind = "pii",
    .description = "phone numbers: NANP formats with area/exchange rules, E.164 with '+' "
                   "and a country-code length check",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = phone_patterns,
    .verify = phone_verify,
};
