/* Fuzz target: verifying an arbitrary audit folder never crashes, hangs or leaks.
 *
 * Input layout: the bytes up to the first "\n===\n" become audit-000001.jsonl, the rest
 * checkpoints.jsonl (no separator: all of it is the segment, and the checkpoints file is
 * empty). The verifier's key is the fixed Ed25519 key derived from 32 bytes of 'A', so a
 * corpus written with that key (seed files in corpus/audit_verify/) reaches the signature
 * and checkpoint-matching paths. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "airlock/audit.h"
#include "airlock/util.h"

static char dir[64];
static unsigned char pk[AL_AUDIT_PK_BYTES];

static void put(const char *name, const uint8_t *d, size_t n) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return;
  if (n) fwrite(d, 1, n, f);
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    unsigned char seed[32], sk[AL_AUDIT_SK_BYTES];
    memset(seed, 'A', sizeof seed);
    if (sodium_init() < 0) return 0;
    crypto_sign_seed_keypair(pk, sk, seed);
    snprintf(dir, sizeof dir, "/tmp/al_fuzz_audit_%d", (int)getpid());
    mkdir(dir, 0700);
  }
  const uint8_t *sep = NULL;
  for (size_t i = 0; i + 5 <= size; i++)
    if (!memcmp(data + i, "\n===\n", 5)) {
      sep = data + i;
      break;
    }
  size_t seg = sep ? (size_t)(sep - data) + 1 : size;
  put("audit-000001.jsonl", data, seg);
  if (sep) put("checkpoints.jsonl", sep + 5, size - seg - 4);
  else put("checkpoints.jsonl", data, 0);
  al_audit_report r;
  al_error e;
  al_audit_verify(dir, pk, &r, &e);
  return 0;
}
