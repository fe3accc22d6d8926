/* Internal pieces of src/synth shared by the generator and the anonymiser: hard limits,
 * locales (word lists from data/locales/ plus a fixed table of country facts) and the
 * value makers. Every maker draws only from the al_rng it is given, so a seed fixes the
 * output, and every value it makes passes the matching validator of src/scan. */
#ifndef AL_SYNTH_INTERNAL_H
#define AL_SYNTH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "airlock/error.h"
#include "airlock/util.h"

/* ---- limits ---- */
#define AL_SYNTH_MAX_CUSTOMERS 1000000L
#define AL_SYNTH_MAX_LOCALES 8
#define AL_SYNTH_LOCALE_MAX_BYTES (1u << 20) /* a locale file */
#define AL_SYNTH_LOCALE_MAX_WORDS 4096       /* per section */
#define AL_SYNTH_WORD_MAX 64                 /* bytes per entry */
#define AL_SYNTH_PLACE_MAX 255               /* canary place */
#define AL_SYNTH_ANON_MAX_BYTES (1u << 30)   /* anonymiser input */
#define AL_SYNTH_ANON_MAX_VALUE 4096         /* longest value replaced as one piece */
#define AL_SYNTH_MANIFEST_MAX (256u << 20)   /* canaries.jsonl */

/* ---- locales ---- */
enum { SEC_FIRST, SEC_LAST, SEC_STREET, SEC_CITY, SEC_COUNT };

typedef struct synth_words {
  char **w;
  size_t n;
} synth_words;

typedef struct synth_locale {
  const char *code;     /* "en_US" */
  const char *country;  /* "US" */
  const char *currency; /* "USD" */
  const char *iban_cc;  /* NULL: no IBAN (routing + account number instead) */
  const char *id_kind;  /* "ssn", "nhs", "steuer_id" */
  int phone_plan;       /* PH_* below */
  int postcode;         /* PC_* below */
  synth_words sec[SEC_COUNT];
} synth_locale;

enum { PH_NANP, PH_UK, PH_DE };
enum { PC_US5, PC_UK, PC_DE5 };

/* Known locale codes; AL_ENOTFOUND with the list in err otherwise. */
int synth_locale_load(const char *data_dir, const char *code, synth_locale **out, al_error *err);
/* Parse a locale word file (sections [first] [last] [street] [city]). */
int synth_locale_parse(synth_locale *l, const char *text, size_t len, const char *name,
                       al_error *err);
void synth_locale_free(synth_locale *l);
const char *synth_pick(const synth_words *w, al_rng *r);

/* ---- value makers (out buffers of at least 64 bytes) ---- */
void synth_card(al_rng *r, size_t len, char *out, const char **brand); /* digits only */
void synth_card_masked(const char *digits, char *out);                 /* **** ... 1234 */
void synth_iban(al_rng *r, const char *cc, char *out);                 /* compact */
void synth_iban_fix(char *iban);            /* recompute check digits of a compact IBAN in place */
void synth_ssn(al_rng *r, char *out);       /* AAA-GG-SSSS */
void synth_nhs(al_rng *r, char *out);       /* 10 digits */
void synth_steuer_id(al_rng *r, char *out); /* 11 digits */
void synth_aba(al_rng *r, char *out);       /* 9 digits */
void synth_phone(al_rng *r, int plan, char *out);
void synth_email(al_rng *r, const char *first, const char *last, char *out);
void synth_digits(al_rng *r, size_t n, char *out);
/* Luhn check digit for d[0..n) */
int synth_luhn_digit(const char *d, size_t n);
/* Digits in [lo, hi] */
long synth_range(al_rng *r, long lo, long hi);

#endif
