/* The audit log: an append-only, hash-chained, signed record of everything a guard or a run
 * saw (requests, responses, every streamed token, verdicts).
 *
 * Layout of a log folder DIR:
 *   DIR/audit-000001.jsonl, audit-000002.jsonl, ...   records, one JSON object per line,
 *                                                    rotated when a segment passes a size
 *   DIR/checkpoints.jsonl                            signed chain heads, one per line
 *
 * A record line is exactly
 *   {"seq":N,"ts":WALL_NS,"type":"T","data":{...},"prev":"HEX64","hash":"HEX64"}
 * where hash = H(prev_bytes || line-up-to-but-excluding `,"prev":`), H being BLAKE2b-256
 * (default) or SHA-256 (named once, in the first record, type "open"). The first record's
 * prev is 32 zero bytes; each next record's prev is the previous record's hash, across
 * segment boundaries. A checkpoint line carries seq, hash, segment and the byte offset just
 * past that record, signed with Ed25519 (crypto_sign_detached) over a fixed text form, so a
 * verifier holding only the public key detects any modified, deleted, reordered or
 * inserted record, and a truncated tail back to the last checkpoint. What is written after
 * the last checkpoint can be cut off undetected (the residual window: at most
 * checkpoint_every records; a clean close always writes a final checkpoint).
 *
 * The writer is thread-safe (one mutex); appends are buffered and hashed incrementally.
 */
#ifndef AIRLOCK_AUDIT_H
#define AIRLOCK_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/error.h"

#define AL_AUDIT_PK_BYTES 32
#define AL_AUDIT_SK_BYTES 64

typedef enum al_audit_hash { AL_AUDIT_BLAKE2B = 0, AL_AUDIT_SHA256 = 1 } al_audit_hash;
typedef enum al_audit_fsync {
  AL_AUDIT_FSYNC_NONE = 0,       /* the kernel decides (fast; a crash may lose the tail) */
  AL_AUDIT_FSYNC_CHECKPOINT = 1, /* fsync log and checkpoints at every checkpoint */
  AL_AUDIT_FSYNC_EVERY = 2,      /* write and fsync after every record (slow) */
} al_audit_fsync;
/* What the log keeps of personal data found in text (needs a scan database). */
typedef enum al_audit_pii {
  AL_AUDIT_PII_KEEP = 0,   /* as is */
  AL_AUDIT_PII_HASH = 1,   /* span -> [PII:kind:HMAC16] (keyed: equal values correlate) */
  AL_AUDIT_PII_REDACT = 2, /* span -> [PII:kind] */
} al_audit_pii;

struct al_scan_db;

typedef struct al_audit_options {
  const char *dir;             /* created if missing */
  const char *secret_key_path; /* from al_audit_keygen; required */
  al_audit_hash hash;          /* ignored when resuming an existing log (its own is kept) */
  al_audit_fsync fsync;
  uint64_t segment_max_bytes;  /* 0: AL_AUDIT_DEFAULT_SEGMENT_BYTES */
  uint64_t checkpoint_every;   /* records between checkpoints; 0: default */
  al_audit_pii pii;
  const struct al_scan_db *scan_db; /* detectors used by pii != KEEP (borrowed) */
} al_audit_options;

typedef struct al_audit_writer al_audit_writer;

/* Keys: KEYFILE holds the Ed25519 secret key (hex, mode 0600), KEYFILE.pub the public key. */
int al_audit_keygen(const char *path, char pub_hex[2 * AL_AUDIT_PK_BYTES + 1], al_error *err);
int al_audit_load_secret(const char *path, unsigned char sk[AL_AUDIT_SK_BYTES], al_error *err);
/* Accepts a .pub file or a key file holding the hex public key. */
int al_audit_load_public(const char *path, unsigned char pk[AL_AUDIT_PK_BYTES], al_error *err);

/* Opens DIR, resuming the chain of an existing log (an incomplete last line is refused:
 * verify the log first). Writes an "open" record. */
int al_audit_open(const al_audit_options *o, al_audit_writer **out, al_error *err);
/* data: a JSON object (borrowed). The PII policy applies to its string values. */
int al_audit_append(al_audit_writer *w, const char *type, const json_t *data);
/* Fast path for streamed tokens: data {"req":REQ,"text":TEXT}; the record's ts is the
 * token's timestamp and seq its order. Short request ids keep a token record within one
 * BLAKE2b block (the cost of the chain is per 128-byte block). */
int al_audit_token(al_audit_writer *w, const char *req_id, const char *text, size_t len);

/* A record given as a list of fields, written straight into the line without building a
 * jansson tree (the guard's per-request records). AL_AF_JSON values are JSON text already
 * known to be valid (e.g. a client body jansson accepted), copied as they are except that
 * line breaks and tabs, which valid JSON has only between tokens, become spaces. With a
 * PII policy other than keep the record takes al_audit_append's path (the fields become
 * a jansson object and its strings are filtered). */
typedef enum al_audit_kind { AL_AF_STR, AL_AF_INT, AL_AF_REAL, AL_AF_JSON, AL_AF_TREE } al_audit_kind;
typedef struct al_audit_field {
  const char *key;
  al_audit_kind kind;
  const char *s; /* STR, JSON */
  size_t len;
  long long i;        /* INT */
  double d;           /* REAL */
  const json_t *tree; /* TREE (borrowed) */
} al_audit_field;
int al_audit_fields(al_audit_writer *w, const char *type, const al_audit_field *f, size_t n);
int al_audit_checkpoint(al_audit_writer *w);
int al_audit_flush(al_audit_writer *w);
uint64_t al_audit_seq(al_audit_writer *w); /* seq of the last record written */
/* Writes a final checkpoint, closes and frees (NULL is fine). */
int al_audit_close(al_audit_writer *w);

/* Verification. Returns 0 when the log is intact; otherwise AL_EINTEGRITY (or AL_EIO /
 * AL_EPARSE) with err naming the file, line, seq and what is wrong. */
typedef struct al_audit_report {
  uint64_t records, segments, checkpoints, tokens;
  uint64_t last_seq;
  uint64_t last_checkpoint_seq;
  uint64_t unanchored; /* records after the last checkpoint (the residual window) */
  uint64_t bad_seq;    /* seq of the first bad record, 0 if none / unknown */
  char hash_name[16];
} al_audit_report;
int al_audit_verify(const char *dir, const unsigned char pk[AL_AUDIT_PK_BYTES],
                    al_audit_report *rep, al_error *err);

/* Walks every record in order (no integrity check; use verify for that). rec is borrowed
 * for the call. Return non-zero from cb to stop (returned by al_audit_read). */
typedef int (*al_audit_record_cb)(const json_t *rec, const char *file, int line, void *ud);
int al_audit_read(const char *dir, al_audit_record_cb cb, void *ud, al_error *err);

#endif
