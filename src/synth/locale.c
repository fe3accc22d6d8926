/* Locales: what varies by country. The word lists (first names, last names, streets,
 * cities) live as data in data/locales/<code>.txt, written for Airlock and plainly
 * fictional; the country facts (currency, IBAN country, phone plan, national id kind,
 * postcode shape) are a fixed table here because the value makers must know them.
 *
 * File format, one entry a line:
 *     # comment
 *     [first]
 *     Orlen
 *     [last]
 *     ...
 * Sections first, last, street and city must each appear once with 1..4096 entries of
 * 1..64 bytes without control characters. Errors name file:line:col. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth/synth_internal.h"

#include "airlock/util.h"

static const synth_locale facts[] = {
    {"en_US", "US", "USD", NULL, "ssn", PH_NANP, PC_US5, {{0}}},
    {"en_GB", "GB", "GBP", "GB", "nhs", PH_UK, PC_UK, {{0}}},
    {"de_DE", "DE", "EUR", "DE", "steuer_id", PH_DE, PC_DE5, {{0}}},
};

static const char *const sec_names[SEC_COUNT] = {"first", "last", "street", "city"};

void synth_locale_free(synth_locale *l) {
  if (!l) return;
  for (int s = 0; s < SEC_COUNT; s++) {
    for (size_t i = 0; i < l->sec[s].n; i++)
      al_free(l->sec[s].w[i]);
    al_free(l->sec[s].w);
  }
  al_free(l);
}

const char *synth_pick(const synth_words *w, al_rng *r) {
  return w->n ? w->w[al_rng_below(r, w->n)] : "";
}

static int add_word(synth_words *w, const char *s, size_t n) {
  if (!(w->n & (w->n - 1)) || !w->n) {
    size_t cap = w->n ? w->n * 2 : 16;
    char **nw = al_realloc(w->w, cap * sizeof *nw);
    if (!nw) return AL_ENOMEM;
    w->w = nw;
  }
  if (!(w->w[w->n] = al_strndup(s, n))) return AL_ENOMEM;
  w->n++;
  return 0;
}

int synth_locale_parse(synth_locale *l, const char *text, size_t len, const char *name,
                       al_error *err) {
  int cur = -1, seen[SEC_COUNT] = {0}, line = 0;
  size_t i = 0;
  while (i < len) {
    size_t e = i;
    while (e < len && text[e] != '\n')
      e++;
    line++;
    size_t a = i, b = e;
    if (b > a && text[b - 1] == '\r') b--;
    while (a < b && (text[a] == ' ' || text[a] == '\t'))
      a++;
    while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t'))
      b--;
    int col = (int)(a - i) + 1;
    i = e + 1;
    if (a == b || text[a] == '#') continue;
    for (size_t k = a; k < b; k++)
      if ((unsigned char)text[k] < 0x20 || text[k] == 0x7f)
        return al_error_at(err, AL_EPARSE, name, line, (int)(k - a) + col,
                           "control character in a locale entry; expected plain text");
    if (text[a] == '[') {
      if (text[b - 1] != ']')
        return al_error_at(err, AL_EPARSE, name, line, col,
                           "a section header is [first], [last], [street] or [city]");
      cur = -1;
      for (int s = 0; s < SEC_COUNT; s++)
        if (b - a - 2 == strlen(sec_names[s]) && !memcmp(text + a + 1, sec_names[s], b - a - 2))
          cur = s;
      if (cur < 0)
        return al_error_at(err, AL_EPARSE, name, line, col + 1,
                           "unknown section '%.*s'; expected first, last, street or city",
                           (int)(b - a - 2 > 40 ? 40 : b - a - 2), text + a + 1);
      if (seen[cur]++)
        return al_error_at(err, AL_EPARSE, name, line, col, "section [%s] appears twice",
                           sec_names[cur]);
      continue;
    }
    if (cur < 0)
      return al_error_at(err, AL_EPARSE, name, line, col,
                         "entry before any section; expected a [first] header first");
    if (b - a > AL_SYNTH_WORD_MAX)
      return al_error_at(err, AL_ELIMIT, name, line, col, "entry of %zu bytes; at most %d", b - a,
                         AL_SYNTH_WORD_MAX);
    if (l->sec[cur].n >= AL_SYNTH_LOCALE_MAX_WORDS)
      return al_error_at(err, AL_ELIMIT, name, line, col, "more than %d entries in [%s]",
                         AL_SYNTH_LOCALE_MAX_WORDS, sec_names[cur]);
    if (add_word(&l->sec[cur], text + a, b - a))
      return al_error_set(err, AL_ENOMEM, "out of memory");
  }
  for (int s = 0; s < SEC_COUNT; s++)
    if (!l->sec[s].n)
      return al_error_at(err, AL_EPARSE, name, line, 0, "section [%s] is missing or empty",
                         sec_names[s]);
  return 0;
}

int synth_locale_load(const char *data_dir, const char *code, synth_locale **out, al_error *err) {
  int rc = 0;
  char path[4096];
  char *text = NULL;
  size_t len = 0;
  synth_locale *l = NULL;
  const synth_locale *f = NULL;
  *out = NULL;
  for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++)
    if (!strcmp(facts[i].code, code)) f = &facts[i];
  if (!f)
    return al_error_set(err, AL_ENOTFOUND,
                        "unknown locale '%s'; expected one of en_US, en_GB, de_DE", code);
  snprintf(path, sizeof path, "%s/locales/%s.txt", data_dir && *data_dir ? data_dir : al_data_dir(), code);
  if ((rc = al_read_file(path, AL_SYNTH_LOCALE_MAX_BYTES, &text, &len, err))) goto out;
  if (!(l = al_calloc(1, sizeof *l))) {
    rc = al_error_set(err, AL_ENOMEM, "out of memory");
    goto out;
  }
  *l = *f;
  if ((rc = synth_locale_parse(l, text, len, path, err))) goto out;
  *out = l;
  l = NULL;
out:
  synth_locale_free(l);
  al_free(text);
  return rc;
}
