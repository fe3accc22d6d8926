/* Audit keys and the small pieces shared by writer and verifier.
 *
 * A key file holds the Ed25519 secret key as 128 hex digits and a newline, created with
 * mode 0600 (O_EXCL: keygen never overwrites a key). KEYFILE.pub holds the 64-hex public
 * key; it is what a verifier needs and may be published. The record hash is BLAKE2b-256
 * (crypto_generichash, fast) or SHA-256, both from libsodium. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "airlock/util.h"
#include "audit/audit_int.h"
#include "audit/limits.h"

void al_audit_hash_record(al_audit_hash alg, const unsigned char prev[AL_AUDIT_HASH_BYTES],
                          const char *body, size_t len, unsigned char out[AL_AUDIT_HASH_BYTES]) {
  if (alg == AL_AUDIT_SHA256) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, AL_AUDIT_HASH_BYTES);
    crypto_hash_sha256_update(&st, (const unsigned char *)body, len);
    crypto_hash_sha256_final(&st, out);
  } else {
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, AL_AUDIT_HASH_BYTES);
    crypto_generichash_update(&st, prev, AL_AUDIT_HASH_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)body, len);
    crypto_generichash_final(&st, out, AL_AUDIT_HASH_BYTES);
  }
}

const char *al_audit_hash_name(al_audit_hash alg) {
  return alg == AL_AUDIT_SHA256 ? "sha256" : "blake2b-256";
}

int al_audit_hash_parse(const char *name, al_audit_hash *out) {
  if (!strcmp(name, "blake2b-256") || !strcmp(name, "blake2b")) *out = AL_AUDIT_BLAKE2B;
  else if (!strcmp(name, "sha256") || !strcmp(name, "sha-256")) *out = AL_AUDIT_SHA256;
  else return AL_EINVAL;
  return 0;
}

size_t al_audit_checkpoint_text(char *out, size_t n, uint64_t seq, const char *hash_hex,
                                const char *segment, uint64_t offset, int64_t ts,
                                const char *alg) {
  int k = snprintf(out, n, "airlock-audit-checkpoint-v1\nseq=%llu\nhash=%s\nsegment=%s\n"
                   "offset=%llu\nts=%lld\nalg=%s\n",
                   (unsigned long long)seq, hash_hex, segment, (unsigned long long)offset,
                   (long long)ts, alg);
  if (k < 0 || (size_t)k >= n) return 0;
  return (size_t)k;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int al_audit_unhex(const char *hex, size_t hexlen, unsigned char *out, size_t outlen) {
  if (hexlen != 2 * outlen) return AL_EPARSE;
  for (size_t i = 0; i < outlen; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return AL_EPARSE;
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  return 0;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int al_audit_keygen(const char *path, char pub_hex[2 * AL_AUDIT_PK_BYTES + 1], al_error *err) {
  int rc = 0, fd = -1;
  unsigned char pk[AL_AUDIT_PK_BYTES], sk[AL_AUDIT_SK_BYTES];
  char hex[2 * AL_AUDIT_SK_BYTES + 2], pubpath[4096];
  if (sodium_init() < 0) return al_error_set(err, AL_ESYS, "libsodium failed to initialise");
  if (snprintf(pubpath, sizeof pubpath, "%s.pub", path) >= (int)sizeof pubpath)
    return al_error_set(err, AL_EINVAL, "key path too long");
  crypto_sign_keypair(pk, sk);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = al_error_at(err, AL_EIO, path, 0, 0, "cannot create key file: %s%s", strerror(errno),
                     errno == EEXIST ? " (keygen never overwrites a key)" : "");
    goto out;
  }
  al_hex(sk, sizeof sk, hex);
  strcat(hex, "\n");
  if (write_all(fd, hex, strlen(hex)) || fsync(fd)) {
    rc = al_error_at(err, AL_EIO, path, 0, 0, "write failed: %s", strerror(errno));
    goto out;
  }
  al_hex(pk, sizeof pk, pub_hex);
  char line[2 * AL_AUDIT_PK_BYTES + 2];
  snprintf(line, sizeof line, "%s\n", pub_hex);
  rc = al_write_file(pubpath, line, strlen(line), err);
out:
  if (fd >= 0) close(fd);
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(hex, sizeof hex);
  return rc;
}

/* Reads the first line of a small file and decodes exactly n bytes of hex from it. */
static int load_hex(const char *path, unsigned char *out, size_t n, const char *what,
                    al_error *err) {
  char *data = NULL;
  size_t len = 0;
  int rc = al_read_file(path, AL_AUDIT_MAX_KEY_FILE, &data, &len, err);
  if (rc) return rc;
  while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
    len--;
  if (al_audit_unhex(data, len, out, n))
    rc = al_error_at(err, AL_EPARSE, path, 1, 1, "expected %s: %zu hex digits", what, 2 * n);
  sodium_memzero(data, len);
  al_free(data);
  return rc;
}

int al_audit_load_secret(const char *path, unsigned char sk[AL_AUDIT_SK_BYTES], al_error *err) {
  struct stat st;
  if (stat(path, &st) == 0 && (st.st_mode & 077))
    return al_error_at(err, AL_EINVAL, path, 0, 0,
                       "secret key file is readable by others (mode %03o); chmod 600 it",
                       (unsigned)(st.st_mode & 0777));
  return load_hex(path, sk, AL_AUDIT_SK_BYTES, "an Ed25519 secret key", err);
}

int al_audit_load_public(const char *path, unsigned char pk[AL_AUDIT_PK_BYTES], al_error *err) {
  return load_hex(path, pk, AL_AUDIT_PK_BYTES, "an Ed25519 public key", err);
}
