/* Shared helpers: allocation wrappers (with Nth-call failure injection for torture runs),
 * clocks, whole-file I/O, SHA-256 via libsodium, and a seeded PRNG for reproducible
 * sampling. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "al_config.h"

#include "airlock/util.h"

static atomic_ulong torture_nth, torture_count;

void al_torture_set(unsigned long nth) {
  atomic_store(&torture_nth, nth);
  atomic_store(&torture_count, 0);
}

static int torture_fail(void) {
  unsigned long nth = atomic_load(&torture_nth);
  if (!nth) return 0;
  return atomic_fetch_add(&torture_count, 1) + 1 == nth;
}

void *al_malloc(size_t n) { return torture_fail() ? NULL : malloc(n ? n : 1); }
void *al_calloc(size_t n, size_t size) { return torture_fail() ? NULL : calloc(n ? n : 1, size ? size : 1); }
void *al_realloc(void *p, size_t n) { return torture_fail() ? NULL : realloc(p, n ? n : 1); }
void al_free(void *p) { free(p); }

char *al_strdup(const char *s) {
  if (!s) return NULL;
  return al_strndup(s, strlen(s));
}

char *al_strndup(const char *s, size_t n) {
  if (!s) return NULL;
  char *p = al_malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

int64_t al_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t al_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

char *al_iso8601(int64_t wall_ns, char *out, size_t n) {
  time_t s = (time_t)(wall_ns / 1000000000LL);
  struct tm tm;
  gmtime_r(&s, &tm);
  char tmp[32];
  strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%s.%03dZ", tmp, (int)((wall_ns / 1000000) % 1000));
  return out;
}

int al_read_file(const char *path, size_t max, char **out, size_t *len, al_error *err) {
  int rc = 0, fd = -1;
  char *data = NULL;
  size_t have = 0, cap = 0;
  *out = NULL;
  if (len) *len = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = al_error_at(err, AL_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    goto out;
  }
  for (;;) {
    if (have + 4096 + 1 > cap) {
      size_t ncap = cap ? cap * 2 : 8192;
      char *p = al_realloc(data, ncap);
      if (!p) {
        rc = al_error_set(err, AL_ENOMEM, "out of memory reading %s", path);
        goto out;
      }
      data = p;
      cap = ncap;
    }
    ssize_t r = read(fd, data + have, cap - have - 1);
    if (r < 0) {
      if (errno == EINTR) continue;
      rc = al_error_at(err, AL_EIO, path, 0, 0, "read failed: %s", strerror(errno));
      goto out;
    }
    if (r == 0) break;
    have += (size_t)r;
    if (have > max) {
      rc = al_error_at(err, AL_ELIMIT, path, 0, 0, "file larger than %zu bytes", max);
      goto out;
    }
  }
  if (!data) data = al_malloc(1);
  if (!data) {
    rc = AL_ENOMEM;
    goto out;
  }
  data[have] = '\0';
  *out = data;
  data = NULL;
  if (len) *len = have;
out:
  if (fd >= 0) close(fd);
  al_free(data);
  return rc;
}

int al_write_file(const char *path, const void *data, size_t len, al_error *err) {
  FILE *f = fopen(path, "wbe");
  if (!f) return al_error_at(err, AL_EIO, path, 0, 0, "cannot create: %s", strerror(errno));
  size_t w = fwrite(data, 1, len, f);
  int bad = fclose(f) != 0 || w != len;
  if (bad) return al_error_at(err, AL_EIO, path, 0, 0, "write failed");
  return 0;
}

/* Two hex digits per byte: sixteen bytes at a time with SSE2 (nibbles split, interleaved,
 * '0' or 'a' - 10 added), the rest one by one (the audit log writes two 64-digit hashes per
 * record). */
void al_hex(const void *data, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = data;
  size_t i = 0;
#ifdef __SSE2__
  const __m128i low = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9), zero = _mm_set1_epi8('0'),
                alpha = _mm_set1_epi8('a' - '0' - 10);
  for (; len - i >= 16; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low), lo = _mm_and_si128(v, low);
    __m128i a = _mm_unpacklo_epi8(hi, lo), b = _mm_unpackhi_epi8(hi, lo);
    a = _mm_add_epi8(_mm_add_epi8(a, zero), _mm_and_si128(_mm_cmpgt_epi8(a, nine), alpha));
    b = _mm_add_epi8(_mm_add_epi8(b, zero), _mm_and_si128(_mm_cmpgt_epi8(b, nine), alpha));
    _mm_storeu_si128((__m128i *)(out + 2 * i), a);
    _mm_storeu_si128((__m128i *)(out + 2 * i + 16), b);
  }
#endif
  for (; i < len; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * len] = '\0';
}

void al_sha256_hex(const void *data, size_t len, char out[65]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, data, len);
  al_hex(h, sizeof h, out);
}

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void al_rng_seed(al_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t al_rng_next(al_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double al_rng_double(al_rng *r) { return (double)(al_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t al_rng_below(al_rng *r, uint64_t n) {
  if (n == 0) return 0;
  uint64_t lim = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = al_rng_next(r);
  while (x >= lim);
  return x % n;
}

size_t al_utf8_check(const void *data, size_t len) {
  const unsigned char *s = data;
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!n || i + n > len || (n == 2 && c < 0xC2) || (n == 4 && c > 0xF4)) return i;
    for (size_t k = 1; k < n; k++)
      if ((s[i + k] & 0xC0) != 0x80) return i;
    if (n == 3 && ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0))) return i;
    if (n == 4 && ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90))) return i;
    i += n;
  }
  return len;
}

static char data_dir[4096];

static void find_data_dir(void) { /* both candidates are fixed at build time */
  struct stat st;
  snprintf(data_dir, sizeof data_dir, "%s/data", AL_SOURCE_ROOT);
  if (stat(data_dir, &st) || !S_ISDIR(st.st_mode)) snprintf(data_dir, sizeof data_dir, "%s", AL_DATA_DIR);
}

const char *al_data_dir(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  const char *env = getenv("AIRLOCK_DATA");
  if (env && *env) return env;
  pthread_once(&once, find_data_dir);
  return data_dir;
}
