/* The detection engine: compile once, scan many (YARA's and Suricata's shape).
 *
 * Every enabled detector contributes literals and regexes to ONE Hyperscan database, which
 * is compiled once into an immutable al_scan_db shared by all threads; each thread scans
 * with its own al_scanner (Hyperscan scratch). Expensive checks run only at hits: a
 * detector's verify() sees each candidate match with its surroundings and accepts or
 * rejects it (checksums, context words, entropy). Detectors that cannot be expressed as
 * patterns (refusal, toxicity scoring, system-prompt overlap) implement scan_full(), which
 * runs over the whole text (in streaming mode: at flush and over the held-back window).
 *
 * Findings carry offsets into the caller's text; the callback copies what must outlive it.
 */
#ifndef AIRLOCK_SCAN_H
#define AIRLOCK_SCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/error.h"

typedef struct al_finding {
  const char *detector; /* stable name, e.g. "pii.credit_card" */
  const char *kind;     /* "pii", "secret", "canary", "leak", "refusal", "toxicity", "injection", "policy" */
  uint64_t start, end;  /* byte offsets into the scanned text (streams: since stream start) */
  double score;         /* 0..1 confidence */
  const char *text;     /* the matched bytes (borrowed, end-start long, not NUL-terminated) */
  char note[160];       /* why: "Luhn ok, IIN 4111 (Visa test)", "overlap 84 chars", ... */
} al_finding;

/* Return 0 to continue, non-zero to stop the scan. */
typedef int (*al_finding_cb)(const al_finding *f, void *ud);

typedef struct al_scan_config {
  const char *const *detectors; /* names or prefixes ("pii", "pii.email"); NULL = defaults */
  size_t n_detectors;
  const char *system_prompt;    /* for leak.system_prompt; NULL = off */
  const char *const *canaries;  /* for canary.*; may be NULL */
  size_t n_canaries;
  const json_t *options;        /* per-detector options {"pii.phone": {...}}; may be NULL */
  int pcre2_starts;             /* 1: find every start with PCRE2 instead of Hyperscan's
                                 * SOM (the fallback path; for tests and comparison) */
} al_scan_config;

/* A pattern a detector contributes: a Hyperscan regex and flags (HS_FLAG_*), and the
 * detector-local id handed back to verify(). */
typedef struct al_pattern_sink al_pattern_sink;
int al_pattern_add(al_pattern_sink *sink, const char *regex, unsigned hs_flags, unsigned local_id);
/* How a candidate's start is found (extra bits for hs_flags). By default Hyperscan tracks
 * the leftmost start (HS_FLAG_SOM_LEFTMOST); for a pattern where it cannot ("Pattern is
 * too large") the engine instead finds the leftmost start with the same regex in PCRE2,
 * anchored at both ends of [start, end).
 * AL_PAT_SOM: Hyperscan's start tracking or a compile error (no PCRE2 fallback).
 * AL_PAT_NO_SOM: neither; verify() gets the window [end - max_width, end) and must find
 * the start itself (for wide patterns where both would be slow). */
#define AL_PAT_NO_SOM (1u << 31)
#define AL_PAT_SOM (1u << 30)
/* AL_PAT_DIGITS: a digit-anchored pattern. The detector promises that every match its
 * verify() can accept has at least AL_SCAN_DIGIT_MIN (4) ASCII digits, no run of more than
 * AL_SCAN_DIGIT_GAP (11) other bytes between two of its digits, at most
 * AL_SCAN_DIGIT_EDGE (2) bytes before its first and after its last digit, and neither a NUL
 * nor a '_' byte; its only assertions are \b and \B. In block mode such patterns are then run only over
 * the windows around clusters of digits (docs/design/scan.md), with the same candidates as
 * a scan of the whole text. */
#define AL_PAT_DIGITS (1u << 29)
/* AL_PAT_B64RUN: every match verify() can accept is a run of at least 31 bytes of
 * [A-Za-z0-9+/] (so it covers a 16-byte-aligned block of them), and the pattern has no
 * assertions (\b, ^, $). Block mode then runs it only in the windows around such blocks
 * (an AWS secret key; ordinary prose has no 16 letters in a row). */
#define AL_PAT_B64RUN (1u << 28)
/* An AL_PAT_DIGITS pattern whose accepted matches all start at a digit run (or at a byte
 * right before one) for which gate(text, len, run_start) is true: block mode then scans it
 * only in the digit windows where the gate accepts one of the runs (a context word in front
 * of the number, say). The gate reads at most AL_SCAN_CTX bytes before run_start. */
typedef bool (*al_window_gate)(const char *text, size_t len, size_t run_start);
int al_pattern_add_gated(al_pattern_sink *sink, const char *regex, unsigned hs_flags,
                         unsigned local_id, al_window_gate gate);
/* A pattern anchored at a run of digits: every match verify() can accept starts at most
 * `before` bytes before the first digit of a run that follows an ASCII letter and for which
 * gate(text, len, run_start) is true, ends at most `after` bytes after it, and contains no NUL byte (an IBAN: two capital
 * letters, then the check digits). Block mode scans it only in the windows
 * [run_start - before, run_start + after] (widened to word boundaries) of accepted runs. */
int al_pattern_add_anchored(al_pattern_sink *sink, const char *regex, unsigned hs_flags,
                            unsigned local_id, al_window_gate gate, unsigned before,
                            unsigned after);

enum {
  AL_DET_STREAMABLE = 1u << 0, /* findings are exact under streaming */
  AL_DET_DEFAULT = 1u << 1,    /* enabled when the config names no detectors */
  AL_DET_INPUT = 1u << 2,      /* meant for prompts (input side) */
  AL_DET_OUTPUT = 1u << 3,     /* meant for model output */
};

typedef struct al_detector {
  const char *name;
  const char *kind;
  const char *description;
  unsigned flags;
  /* All optional. state is per-database and read-only once init returns. */
  int (*init)(const al_scan_config *cfg, void **state, al_error *err);
  int (*patterns)(void *state, al_pattern_sink *sink);
  /* A candidate match [start,end) of pattern local_id in text[0,len). Fill f->score/note
   * (and adjust f->start/f->end if needed) and return 1 to accept, 0 to reject. */
  int (*verify)(const void *state, const char *text, size_t len, size_t start, size_t end,
                unsigned local_id, al_finding *f);
  int (*scan_full)(const void *state, const char *text, size_t len, al_finding_cb cb, void *ud);
  void (*fini)(void *state);
} al_detector;

/* The registry (a table, see src/scan/detectors.def). */
size_t al_detector_count(void);
const al_detector *al_detector_get(size_t i);
const al_detector *al_detector_find(const char *name);

typedef struct al_scan_db al_scan_db;
typedef struct al_scanner al_scanner;
typedef struct al_scan_stream al_scan_stream;

int al_scan_db_new(const al_scan_config *cfg, al_scan_db **out, al_error *err);
void al_scan_db_free(al_scan_db *db);
/* Widest enabled pattern in bytes: a stream holds back this + 64 bytes of context. */
size_t al_scan_db_holdback(const al_scan_db *db);
int al_scanner_new(const al_scan_db *db, al_scanner **out);
void al_scanner_free(al_scanner *s);

/* Block mode. Findings are reported in order of start offset. */
int al_scan(al_scanner *s, const char *text, size_t len, al_finding_cb cb, void *ud);

/* Streaming mode: a value split across chunks is still found. */
int al_scan_stream_open(al_scanner *s, al_finding_cb cb, void *ud, al_scan_stream **out);
int al_scan_stream_feed(al_scan_stream *st, const char *chunk, size_t len);
/* Bytes before this offset can no longer be part of a finding that is not yet reported
 * (the guard releases text up to here). Covers the pattern detectors; findings of
 * scan_full() detectors (whole-text classifiers) are delivered at close. The hold-back is
 * the widest enabled pattern plus AL_SCAN_CTX (64) bytes, see docs/design/scan.md. */
uint64_t al_scan_stream_safe_offset(const al_scan_stream *st);
int al_scan_stream_close(al_scan_stream *st); /* flushes, runs scan_full detectors, frees */

#endif
