/* Internals shared by the audit writer and verifier: the hash of a record, the fixed text
 * that a checkpoint signature covers, segment names. */
#ifndef AIRLOCK_AUDIT_INT_H
#define AIRLOCK_AUDIT_INT_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/audit.h"

#define AL_AUDIT_HASH_BYTES 32
#define AL_AUDIT_SEGMENT_FMT "audit-%06u.jsonl"
#define AL_AUDIT_CHECKPOINTS "checkpoints.jsonl"
/* Every record line ends with a fixed-size tail: ,"prev":"HEX64","hash":"HEX64"} */
#define AL_AUDIT_PREV_TAG ",\"prev\":\""
#define AL_AUDIT_PREV_TAG_LEN 9
#define AL_AUDIT_HASH_TAG "\",\"hash\":\""
#define AL_AUDIT_HASH_TAG_LEN 10
#define AL_AUDIT_TAIL_LEN (AL_AUDIT_PREV_TAG_LEN + 64 + AL_AUDIT_HASH_TAG_LEN + 64 + 2)

/* hash = H(prev || body); body is the line up to (excluding) `,"prev":` -- the record
 * without its prev and hash fields (prev enters as its 32 raw bytes). */
void al_audit_hash_record(al_audit_hash alg, const unsigned char prev[AL_AUDIT_HASH_BYTES],
                          const char *body, size_t len, unsigned char out[AL_AUDIT_HASH_BYTES]);
const char *al_audit_hash_name(al_audit_hash alg);
int al_audit_hash_parse(const char *name, al_audit_hash *out);

/* The bytes a checkpoint signature covers. Returns its length (< n). */
size_t al_audit_checkpoint_text(char *out, size_t n, uint64_t seq, const char *hash_hex,
                                const char *segment, uint64_t offset, int64_t ts,
                                const char *alg);

int al_audit_unhex(const char *hex, size_t hexlen, unsigned char *out, size_t outlen);

#endif
