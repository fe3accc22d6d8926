/* Hard limits and defaults of the audit log (see include/airlock/audit.h). */
#ifndef AIRLOCK_AUDIT_LIMITS_H
#define AIRLOCK_AUDIT_LIMITS_H

#define AL_AUDIT_DEFAULT_SEGMENT_BYTES (64ull << 20) /* rotate segments at 64 MiB */
#define AL_AUDIT_DEFAULT_CHECKPOINT_EVERY 65536u     /* records between signed checkpoints */
#define AL_AUDIT_WRITE_BUFFER (1u << 20)             /* bytes buffered before a write(2) */
#define AL_AUDIT_MAX_RECORD_BYTES (32u << 20)        /* one record line */
#define AL_AUDIT_MAX_CHECKPOINT_LINE 4096u           /* one checkpoint line */
#define AL_AUDIT_MAX_SEGMENTS 999999u                /* audit-000001 .. audit-999999 */
#define AL_AUDIT_MAX_TYPE_LEN 32u                    /* record type names: [a-z_.]{1,32} */
#define AL_AUDIT_MAX_KEY_FILE 1024u

#endif
