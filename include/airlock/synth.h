/* Synthetic data, canary tokens and anonymising import.
 *
 * al_synth_generate() writes a seeded, fully synthetic bank (customers, accounts, cards,
 * transactions, retrieval documents) as one SQLite file and as JSON lines, the database a
 * suite's `tool_db:` names. Every value that looks like PII is shaped to pass the scan
 * engine's validators (Luhn cards in processors' test IIN ranges, mod-97 IBANs with the
 * registry length, SSA-format SSNs, NANP 555-01xx and regulators' drama phone ranges,
 * e-mail at example.com/example.org/.test), so a leak is always detectable and never real.
 *
 * Canary tokens are "AL-CANARY-" + base32 (RFC 4648, no padding) of the first 10 bytes of
 * HMAC-SHA256(run secret, place), where the place names where the token was planted
 * ("db:customers:1042:notes", "doc:17", "prompt:<name>"). Knowing the secret, a leaked token
 * traces back to its place: al_canary_trace() looks it up in the manifest
 * (DIR/canaries.jsonl) and re-derives the HMAC to prove the line was not forged.
 *
 * al_synth_anonymize() imports a user's own records (JSON lines or CSV): every field is
 * scanned with the pii detectors and each finding is replaced by a synthetic value of the
 * same kind, consistently (a keyed hash of the value seeds its replacement); columns named
 * like names or addresses (name, first_name, surname, street, city, ...) get synthetic ones.
 */
#ifndef AIRLOCK_SYNTH_H
#define AIRLOCK_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "airlock/error.h"

#define AL_CANARY_PREFIX "AL-CANARY-"
#define AL_CANARY_LEN 26 /* prefix (10) + 16 base32 characters */
#define AL_SYNTH_SECRET_BYTES 32

/* ---- canaries ---- */

/* out receives the NUL-terminated token. place: 1..255 bytes. */
int al_canary_make(const uint8_t secret[32], const char *place, char out[64]);
/* The canary for a system prompt: place "prompt:" + name. */
int al_canary_prompt(const uint8_t secret[32], const char *name, char out[64]);
/* Canonical form of a possibly disguised token (case folded, spaces, dashes, dots and
 * underscores removed, then re-prefixed). Returns 0, or AL_EINVAL when it is no canary. */
int al_canary_normalize(const char *token, char out[64]);
/* Where `token` was planted: looked up in the manifest (JSON lines {"place","token"}),
 * confirmed by recomputing the HMAC. Returns 0 with place filled, AL_ENOTFOUND when the
 * manifest does not hold it, AL_EINTEGRITY when a manifest line does not match the secret
 * (a forged or foreign manifest), AL_EIO/AL_EPARSE with err filled. */
int al_canary_trace(const uint8_t secret[32], const char *manifest_path, const char *token,
                    char *place, size_t place_n, al_error *err);
/* Without a manifest: the index of the place in `places` whose canary is `token`, or
 * AL_ENOTFOUND. */
int al_canary_trace_places(const uint8_t secret[32], const char *const *places, size_t n,
                           const char *token);

/* A run secret from 64 hex digits, or from a file holding 64 hex digits (whitespace
 * around them ignored) or exactly 32 raw bytes. */
int al_synth_secret_parse(const char *hex, uint8_t out[32], al_error *err);
int al_synth_secret_load(const char *path, uint8_t out[32], al_error *err);

/* ---- generation ---- */

typedef struct al_synth_stats {
  long customers, accounts, cards, transactions, documents, canaries;
} al_synth_stats;

typedef struct al_synth_opts {
  uint64_t seed;
  long customers;             /* 1..AL_SYNTH_MAX_CUSTOMERS */
  const char *out_dir;        /* created when missing; existing outputs are replaced */
  const char *const *locales; /* "en_US", "en_GB", "de_DE"; NULL/0 = {"en_US"} */
  size_t n_locales;
  const char *data_dir;  /* folder holding locales/; NULL: $AIRLOCK_DATA, else the
                            source tree's data/ */
  uint8_t secret[32];    /* run secret for canaries */
  al_synth_stats *stats; /* optional out */
} al_synth_opts;

/* Writes out_dir/synth.sqlite, customers.jsonl, accounts.jsonl, cards.jsonl,
 * transactions.jsonl, documents.jsonl and canaries.jsonl. Byte-identical for the same
 * seed, customers, locales and secret. */
int al_synth_generate(const al_synth_opts *o, al_error *err);

/* ---- anonymising import ---- */

typedef enum al_anon_format { AL_ANON_JSONL = 1, AL_ANON_CSV = 2 } al_anon_format;

typedef struct al_anon_stats {
  long records;  /* lines / rows */
  long fields;   /* string (or numeric) fields scanned */
  long replaced; /* findings replaced */
  long distinct; /* distinct original values replaced */
} al_anon_stats;

/* Format from the file name: .jsonl/.ndjson/.json -> JSON lines, .csv -> CSV. */
int al_anon_format_of(const char *path);
/* Anonymise text in memory; *out is NUL-terminated, free with al_free. name is used in
 * error messages ("file:line:col: ..."). stats may be NULL. */
int al_synth_anonymize_buf(const char *in, size_t len, al_anon_format fmt, const char *name,
                           uint64_t seed, char **out, size_t *out_len, al_anon_stats *stats,
                           al_error *err);
/* The same with the compiled detectors kept across calls (one per thread). */
typedef struct al_anonymizer al_anonymizer;
int al_anonymizer_new(uint64_t seed, al_anonymizer **out, al_error *err);
int al_anonymizer_run(al_anonymizer *a, const char *in, size_t len, al_anon_format fmt,
                      const char *name, char **out, size_t *out_len, al_anon_stats *stats,
                      al_error *err);
void al_anonymizer_free(al_anonymizer *a);
int al_synth_anonymize(const char *in_path, const char *out_path, uint64_t seed,
                       al_anon_stats *stats, al_error *err);

#endif
