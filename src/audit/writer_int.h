/* The writer's state, shared with pii.c (the PII policy applied before a record is built). */
#ifndef AIRLOCK_AUDIT_WRITER_INT_H
#define AIRLOCK_AUDIT_WRITER_INT_H

#include <pthread.h>

#include "airlock/audit.h"
#include "airlock/buf.h"
#include "audit/audit_int.h"

struct al_audit_writer {
  pthread_mutex_t mu;
  char dir[4096];
  unsigned char sk[AL_AUDIT_SK_BYTES], pk[AL_AUDIT_PK_BYTES];
  al_audit_hash alg;
  al_audit_fsync fsync_policy;
  uint64_t seg_max, cp_every;
  int fd, cp_fd;
  unsigned seg_no;
  uint64_t seg_bytes; /* bytes of the current segment, written + buffered */
  al_buf out;         /* lines not yet written */
  al_buf line;        /* scratch for the record being built */
  uint64_t seq, cp_seq, since_cp, records, checkpoints;
  unsigned char head[AL_AUDIT_HASH_BYTES];
  int failed;         /* sticky error */
  /* PII policy */
  al_audit_pii pii;
  const struct al_scan_db *scan_db;
  unsigned char pii_key[crypto_auth_hmacsha256_KEYBYTES];
  pthread_mutex_t pii_mu;
  void *scanner;      /* al_scanner, used under pii_mu */
};

int al_audit_pii_init(al_audit_writer *w, const al_audit_options *o, al_error *err);
void al_audit_pii_cleanup(al_audit_writer *w);
/* *out is NULL when text has nothing to change. */
int al_audit_pii_text(al_audit_writer *w, const char *text, size_t len, char **out, size_t *olen);
int al_audit_pii_json(al_audit_writer *w, const json_t *in, json_t **out);

#endif
