/* The audit writer: builds each record line, chains its hash to the previous one, buffers
 * lines and writes them to the current segment, rotates segments by size and writes signed
 * checkpoints of the chain head.
 *
 * Hot path (al_audit_token): one mutex, a line built in a reused scratch buffer with no
 * allocation, one BLAKE2b over 32 + ~100 bytes, a memcpy into a 1 MiB write buffer. The
 * write(2) happens when that buffer fills, at a checkpoint, at rotation and on flush/close.
 *
 * Ordering that makes checkpoints sound: a checkpoint first writes out (and, per the fsync
 * policy, syncs) every buffered record, and only then appends the signed line naming the
 * chain head and the segment's byte length; so a checkpoint never names bytes that are not
 * in the file. Resuming an existing log starts a new segment and chains on from the last
 * record found on disk. A failed write makes the writer refuse further appends (sticky
 * AL_EIO) rather than leave a hole in the chain. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include "airlock/buf.h"
#include "airlock/util.h"
#include "al_config.h"
#include "audit/audit_int.h"
#include "audit/jsonout.h"
#include "audit/limits.h"
#include "audit/writer_int.h"

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return AL_EIO;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int flush_locked(al_audit_writer *w) {
  if (w->failed) return w->failed;
  if (w->out.len) {
    if (write_all(w->fd, w->out.data, w->out.len)) return w->failed = AL_EIO;
    al_buf_reset(&w->out);
  }
  return 0;
}

static void segment_name(unsigned n, char *out, size_t len) {
  snprintf(out, len, AL_AUDIT_SEGMENT_FMT, n);
}

static int open_segment(al_audit_writer *w, unsigned n, al_error *err) {
  char name[64], path[4200];
  if (n > AL_AUDIT_MAX_SEGMENTS)
    return al_error_set(err, AL_ELIMIT, "audit log has reached %u segments", AL_AUDIT_MAX_SEGMENTS);
  segment_name(n, name, sizeof name);
  snprintf(path, sizeof path, "%s/%s", w->dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return al_error_at(err, AL_EIO, path, 0, 0, "cannot create segment: %s", strerror(errno));
  if (w->fd >= 0) close(w->fd);
  w->fd = fd;
  w->seg_no = n;
  w->seg_bytes = 0;
  return 0;
}

static int checkpoint_locked(al_audit_writer *w) {
  int rc = flush_locked(w);
  if (rc) return rc;
  if (w->seq == 0 || w->seq == w->cp_seq) return 0;
  if (w->fsync_policy >= AL_AUDIT_FSYNC_CHECKPOINT && fdatasync(w->fd)) return w->failed = AL_EIO;
  char hash_hex[65], seg[64], text[512], sig_hex[2 * crypto_sign_BYTES + 1], pk_hex[65];
  unsigned char sig[crypto_sign_BYTES];
  al_hex(w->head, AL_AUDIT_HASH_BYTES, hash_hex);
  al_hex(w->pk, AL_AUDIT_PK_BYTES, pk_hex);
  segment_name(w->seg_no, seg, sizeof seg);
  int64_t ts = al_wall_ns();
  const char *alg = al_audit_hash_name(w->alg);
  size_t tl = al_audit_checkpoint_text(text, sizeof text, w->seq, hash_hex, seg, w->seg_bytes, ts, alg);
  crypto_sign_detached(sig, NULL, (const unsigned char *)text, tl, w->sk);
  al_hex(sig, sizeof sig, sig_hex);
  char line[AL_AUDIT_MAX_CHECKPOINT_LINE];
  int k = snprintf(line, sizeof line,
                   "{\"seq\":%llu,\"hash\":\"%s\",\"segment\":\"%s\",\"offset\":%llu,\"ts\":%lld,"
                   "\"alg\":\"%s\",\"key\":\"%s\",\"sig\":\"%s\"}\n",
                   (unsigned long long)w->seq, hash_hex, seg, (unsigned long long)w->seg_bytes,
                   (long long)ts, alg, pk_hex, sig_hex);
  if (write_all(w->cp_fd, line, (size_t)k)) return w->failed = AL_EIO;
  if (w->fsync_policy >= AL_AUDIT_FSYNC_CHECKPOINT && fdatasync(w->cp_fd)) return w->failed = AL_EIO;
  w->cp_seq = w->seq;
  w->since_cp = 0;
  w->checkpoints++;
  return 0;
}

/* Completes the scratch line (which holds the record up to the end of "data") with the
 * fixed tail (prev, hash), then queues it. */
static int emit_locked(al_audit_writer *w) {
  al_buf *l = &w->line;
  unsigned char h[AL_AUDIT_HASH_BYTES];
  al_audit_hash_record(w->alg, w->head, l->data, l->len, h);
  size_t at = l->len;
  int rc = al_buf_append(l, AL_AUDIT_PREV_TAG "0123456789012345678901234567890123456789012345678901234567890123"
                            AL_AUDIT_HASH_TAG "0123456789012345678901234567890123456789012345678901234567890123"
                            "\"}\n", AL_AUDIT_TAIL_LEN + 1);
  if (rc) return rc;
  al_hex(w->head, AL_AUDIT_HASH_BYTES, l->data + at + AL_AUDIT_PREV_TAG_LEN);
  l->data[at + AL_AUDIT_PREV_TAG_LEN + 64] = '"';
  al_hex(h, AL_AUDIT_HASH_BYTES, l->data + at + AL_AUDIT_PREV_TAG_LEN + 64 + AL_AUDIT_HASH_TAG_LEN);
  l->data[l->len - 3] = '"';
  l->data[l->len] = '\0';
  if (w->seg_bytes && w->seg_bytes + l->len > w->seg_max) {
    al_error e;
    rc = checkpoint_locked(w);
    if (!rc) rc = flush_locked(w);
    if (!rc && w->fsync_policy >= AL_AUDIT_FSYNC_CHECKPOINT && fdatasync(w->fd)) rc = AL_EIO;
    if (!rc) rc = open_segment(w, w->seg_no + 1, &e);
    if (rc) return w->failed = rc;
  }
  if (w->out.len + l->len > w->out.max) {
    rc = flush_locked(w);
    if (rc) return rc;
  }
  rc = al_buf_append(&w->out, l->data, l->len);
  if (rc) return rc;
  w->seg_bytes += l->len;
  w->seq++;
  memcpy(w->head, h, sizeof h);
  w->since_cp++;
  w->records++;
  if (w->fsync_policy == AL_AUDIT_FSYNC_EVERY) {
    rc = flush_locked(w);
    if (!rc && fdatasync(w->fd)) rc = w->failed = AL_EIO;
    if (rc) return rc;
  }
  if (w->since_cp >= w->cp_every) return checkpoint_locked(w);
  return 0;
}

/* Starts the scratch line: {"seq":N,"ts":T,"type":"TYPE","data": (N = seq + 1; w->seq
 * moves only when emit_locked commits the line, so a checkpoint taken while a line is
 * being placed names the last committed record). */
static int begin_locked(al_audit_writer *w, const char *type) {
  al_buf *l = &w->line;
  al_buf_reset(l);
  int rc = al_buf_append(l, "{\"seq\":", 7);
  if (!rc) rc = al_json_put_u64(l, w->seq + 1);
  if (!rc) rc = al_buf_append(l, ",\"ts\":", 6);
  if (!rc) rc = al_json_put_i64(l, al_wall_ns());
  if (!rc) rc = al_buf_append(l, ",\"type\":", 8);
  if (!rc) rc = al_json_put_str(l, type, strlen(type));
  if (!rc) rc = al_buf_append(l, ",\"data\":", 8);
  return rc;
}

static int valid_type(const char *t) {
  size_t n = strlen(t);
  if (n == 0 || n > AL_AUDIT_MAX_TYPE_LEN) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((t[i] >= 'a' && t[i] <= 'z') || t[i] == '_' || t[i] == '.' || (t[i] >= '0' && t[i] <= '9')))
      return 0;
  return 1;
}

static int dump_cb(const char *buf, size_t size, void *ud) {
  return al_buf_append(ud, buf, size) ? -1 : 0;
}

int al_audit_append(al_audit_writer *w, const char *type, const json_t *data) {
  if (!w || !type || !valid_type(type) || !json_is_object(data)) return AL_EINVAL;
  json_t *filtered = NULL;
  int rc = 0;
  if (w->pii != AL_AUDIT_PII_KEEP) {
    rc = al_audit_pii_json(w, data, &filtered);
    if (rc) return rc;
    data = filtered;
  }
  pthread_mutex_lock(&w->mu);
  rc = w->failed;
  if (!rc) rc = begin_locked(w, type);
  if (!rc && json_dump_callback(data, dump_cb, &w->line, JSON_COMPACT)) rc = AL_ELIMIT;
  if (!rc) rc = emit_locked(w);
  pthread_mutex_unlock(&w->mu);
  json_decref(filtered);
  return rc;
}

/* The slow path of al_audit_fields: the same record as a jansson object. */
static int fields_tree(const al_audit_field *f, size_t n, json_t **out) {
  json_t *o = json_object();
  int rc = o ? 0 : AL_ENOMEM;
  for (size_t i = 0; !rc && i < n; i++) {
    json_t *v = NULL;
    switch (f[i].kind) {
      case AL_AF_STR:
        v = json_stringn(f[i].s ? f[i].s : "", f[i].len);
        if (!v) { /* not UTF-8: the invalid bytes become U+FFFD, as on the fast path */
          al_buf t;
          al_buf_init(&t, f[i].len * 6 + 16);
          if (al_json_put_str(&t, f[i].s ? f[i].s : "", f[i].len) == 0) v = json_loadb(t.data, t.len, JSON_DECODE_ANY, NULL);
          al_buf_cleanup(&t);
        }
        break;
      case AL_AF_INT: v = json_integer(f[i].i); break;
      case AL_AF_REAL: v = isfinite(f[i].d) ? json_real(f[i].d) : json_null(); break;
      case AL_AF_JSON:
        v = json_loadb(f[i].s ? f[i].s : "", f[i].len, JSON_DECODE_ANY, NULL);
        if (!v) rc = AL_EINVAL;
        break;
      case AL_AF_TREE: v = f[i].tree ? json_incref((json_t *)f[i].tree) : json_null(); break;
    }
    if (!rc && (!v || json_object_set_new(o, f[i].key, v))) rc = AL_ENOMEM;
  }
  if (rc) json_decref(o);
  else *out = o;
  return rc;
}

/* A JSON number as jansson writes a real: %.17g, with ".0" when it would read as an
 * integer; non-finite values are null. */
static int put_real(al_buf *l, double d) {
  char num[40];
  if (!isfinite(d)) return al_buf_append(l, "null", 4);
  int k = snprintf(num, sizeof num - 2, "%.17g", d);
  if (k < 0 || (size_t)k >= sizeof num - 2) return AL_EINVAL;
  if (!strpbrk(num, ".eE")) {
    num[k++] = '.';
    num[k++] = '0';
  }
  return al_buf_append(l, num, (size_t)k);
}

/* Valid JSON text on one line: \n, \r and \t occur only between tokens (inside strings
 * they are escaped), so each becomes a space. Sixteen bytes at a time (SSE2) until one. */
static int put_raw_json(al_buf *l, const char *s, size_t n) {
  size_t run = 0;
  int rc = 0;
  for (size_t i = 0; !rc && i < n; i++) {
#ifdef __SSE2__
    while (n - i >= 16) {
      __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
      __m128i x = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                               _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'))));
      unsigned m = (unsigned)_mm_movemask_epi8(x);
      if (m) {
        i += (unsigned)__builtin_ctz(m);
        break;
      }
      i += 16;
    }
    if (i >= n) break;
#endif
    if (s[i] != '\n' && s[i] != '\r' && s[i] != '\t') continue;
    rc = al_buf_append(l, s + run, i - run);
    if (!rc) rc = al_buf_putc(l, ' ');
    run = i + 1;
  }
  if (!rc) rc = al_buf_append(l, s + run, n - run);
  return rc;
}

/* sep, then "key": in one append when the key is a plain name (letters, digits, '_', '.',
 * '-': nothing to escape, as every key the guard writes); otherwise escaped. */
static int put_key(al_buf *l, char sep, const char *key) {
  char tmp[80];
  size_t k = 0;
  tmp[k++] = sep;
  tmp[k++] = '"';
  for (const char *p = key; *p; p++) {
    char c = *p;
    if (k > sizeof tmp - 3 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                c == '_' || c == '.' || c == '-')) {
      int rc = al_buf_putc(l, sep);
      if (!rc) rc = al_json_put_str(l, key, strlen(key));
      return rc ? rc : al_buf_putc(l, ':');
    }
    tmp[k++] = c;
  }
  tmp[k++] = '"';
  tmp[k++] = ':';
  return al_buf_append(l, tmp, k);
}

int al_audit_fields(al_audit_writer *w, const char *type, const al_audit_field *f, size_t n) {
  if (!w || !type || !valid_type(type) || (n && !f)) return AL_EINVAL;
  int rc = 0;
  if (w->pii != AL_AUDIT_PII_KEEP) {
    json_t *o = NULL;
    rc = fields_tree(f, n, &o);
    if (!rc) rc = al_audit_append(w, type, o);
    json_decref(o);
    return rc;
  }
  pthread_mutex_lock(&w->mu);
  rc = w->failed;
  if (!rc) rc = begin_locked(w, type);
  al_buf *l = &w->line;
  for (size_t i = 0; !rc && i < n; i++) {
    rc = put_key(l, i ? ',' : '{', f[i].key);
    if (rc) break;
    switch (f[i].kind) {
      case AL_AF_STR: rc = al_json_put_str(l, f[i].s ? f[i].s : "", f[i].len); break;
      case AL_AF_INT: rc = al_json_put_i64(l, f[i].i); break;
      case AL_AF_REAL: rc = put_real(l, f[i].d); break;
      case AL_AF_JSON: rc = f[i].len ? put_raw_json(l, f[i].s, f[i].len) : AL_EINVAL; break;
      case AL_AF_TREE:
        if (!f[i].tree) rc = al_buf_append(l, "null", 4);
        else if (json_dump_callback(f[i].tree, dump_cb, l, JSON_COMPACT | JSON_ENCODE_ANY)) rc = AL_ELIMIT;
        break;
    }
  }
  if (!rc) rc = n ? al_buf_putc(l, '}') : al_buf_append(l, "{}", 2);
  if (!rc) rc = emit_locked(w);
  pthread_mutex_unlock(&w->mu);
  return rc;
}

int al_audit_token(al_audit_writer *w, const char *req_id, const char *text, size_t len) {
  if (!w || !req_id || (!text && len)) return AL_EINVAL;
  char *owned = NULL;
  size_t olen = 0;
  int rc = 0;
  if (w->pii != AL_AUDIT_PII_KEEP) {
    rc = al_audit_pii_text(w, text ? text : "", len, &owned, &olen);
    if (rc) return rc;
    if (owned) text = owned, len = olen;
  }
  pthread_mutex_lock(&w->mu);
  rc = w->failed;
  if (!rc) rc = begin_locked(w, "token");
  if (!rc) {
    al_buf *l = &w->line;
    rc = al_buf_append(l, "{\"req\":", 7);
    if (!rc) rc = al_json_put_str(l, req_id, strlen(req_id));
    if (!rc) rc = al_buf_append(l, ",\"text\":", 8);
    if (!rc) rc = al_json_put_str(l, text ? text : "", len);
    if (!rc) rc = al_buf_putc(l, '}');
  }
  if (!rc) rc = emit_locked(w);
  pthread_mutex_unlock(&w->mu);
  al_free(owned);
  return rc;
}

int al_audit_checkpoint(al_audit_writer *w) {
  if (!w) return AL_EINVAL;
  pthread_mutex_lock(&w->mu);
  int rc = checkpoint_locked(w);
  pthread_mutex_unlock(&w->mu);
  return rc;
}

int al_audit_flush(al_audit_writer *w) {
  if (!w) return AL_EINVAL;
  pthread_mutex_lock(&w->mu);
  int rc = flush_locked(w);
  pthread_mutex_unlock(&w->mu);
  return rc;
}

uint64_t al_audit_seq(al_audit_writer *w) {
  pthread_mutex_lock(&w->mu);
  uint64_t s = w->seq;
  pthread_mutex_unlock(&w->mu);
  return s;
}

/* Highest segment number in dir (0 when none). */
static int last_segment(const char *dir, unsigned *out, al_error *err) {
  DIR *d = opendir(dir);
  if (!d) return al_error_at(err, AL_EIO, dir, 0, 0, "cannot open folder: %s", strerror(errno));
  unsigned best = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    unsigned n;
    char tail[8];
    if (sscanf(e->d_name, "audit-%6u.%7s", &n, tail) == 2 && !strcmp(tail, "jsonl") &&
        strlen(e->d_name) == 18 && n > best)
      best = n;
  }
  closedir(d);
  *out = best;
  return 0;
}

/* Reads the last record of segment n: its seq and hash. Returns 1 when found, 0 when the
 * segment is empty, or an error (an incomplete last line is one). */
static int read_tail(al_audit_writer *w, unsigned n, al_error *err) {
  char name[64], path[4200];
  int rc = 0, fd = -1;
  char *buf = NULL;
  json_t *rec = NULL;
  segment_name(n, name, sizeof name);
  snprintf(path, sizeof path, "%s/%s", w->dir, name);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st)) {
    rc = al_error_at(err, AL_EIO, path, 0, 0, "cannot read: %s", strerror(errno));
    goto out;
  }
  if (st.st_size == 0) goto out;
  size_t want = (size_t)st.st_size < AL_AUDIT_MAX_RECORD_BYTES + 1 ? (size_t)st.st_size
                                                                   : AL_AUDIT_MAX_RECORD_BYTES + 1;
  buf = al_malloc(want + 1);
  if (!buf) {
    rc = AL_ENOMEM;
    goto out;
  }
  if (pread(fd, buf, want, st.st_size - (off_t)want) != (ssize_t)want) {
    rc = al_error_at(err, AL_EIO, path, 0, 0, "short read");
    goto out;
  }
  if (buf[want - 1] != '\n') {
    rc = al_error_at(err, AL_EINTEGRITY, path, 0, 0,
                     "last line is incomplete (crash during a write?); run `airlock audit verify` "
                     "and move the damaged log aside before writing again");
    goto out;
  }
  size_t end = want - 1, start = end;
  while (start > 0 && buf[start - 1] != '\n') start--;
  if (start == 0 && (size_t)st.st_size > want) {
    rc = al_error_at(err, AL_ELIMIT, path, 0, 0, "last record longer than the limit");
    goto out;
  }
  json_error_t je;
  rec = json_loadb(buf + start, end - start, 0, &je);
  json_t *seq = json_object_get(rec, "seq"), *hash = json_object_get(rec, "hash");
  if (!json_is_integer(seq) || !json_is_string(hash) ||
      al_audit_unhex(json_string_value(hash), json_string_length(hash), w->head, AL_AUDIT_HASH_BYTES)) {
    rc = al_error_at(err, AL_EPARSE, path, 0, 0, "last record does not parse; run `airlock audit verify`");
    goto out;
  }
  w->seq = (uint64_t)json_integer_value(seq);
  w->cp_seq = w->seq; /* already covered, or not: verify tells */
  rc = 1;
out:
  if (fd >= 0) close(fd);
  al_free(buf);
  json_decref(rec);
  return rc;
}

/* The hash algorithm an existing log uses, from its first record. */
static int read_alg(al_audit_writer *w, al_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/" AL_AUDIT_SEGMENT_FMT, w->dir, 1u);
  FILE *f = fopen(path, "re");
  if (!f) return al_error_at(err, AL_EIO, path, 0, 0, "cannot read first segment: %s", strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, f);
  fclose(f);
  int rc = 0;
  json_t *rec = n > 0 ? json_loadb(line, (size_t)n, 0, NULL) : NULL;
  const char *alg = json_string_value(json_object_get(json_object_get(rec, "data"), "alg"));
  if (!alg || al_audit_hash_parse(alg, &w->alg))
    rc = al_error_at(err, AL_EPARSE, path, 1, 0, "first record does not name a hash algorithm");
  json_decref(rec);
  free(line);
  return rc;
}

int al_audit_open(const al_audit_options *o, al_audit_writer **out, al_error *err) {
  int rc = 0;
  al_audit_writer *w = NULL;
  *out = NULL;
  if (!o || !o->dir || !o->secret_key_path) return al_error_set(err, AL_EINVAL, "audit: dir and secret key are required");
  if (sodium_init() < 0) return al_error_set(err, AL_ESYS, "libsodium failed to initialise");
  w = al_calloc(1, sizeof *w);
  if (!w) return AL_ENOMEM;
  pthread_mutex_init(&w->mu, NULL);
  w->fd = w->cp_fd = -1;
  al_buf_init(&w->out, AL_AUDIT_WRITE_BUFFER);
  al_buf_init(&w->line, AL_AUDIT_MAX_RECORD_BYTES);
  if (snprintf(w->dir, sizeof w->dir, "%s", o->dir) >= (int)sizeof w->dir) {
    rc = al_error_set(err, AL_EINVAL, "audit dir path too long");
    goto out;
  }
  w->alg = o->hash;
  w->fsync_policy = o->fsync;
  w->seg_max = o->segment_max_bytes ? o->segment_max_bytes : AL_AUDIT_DEFAULT_SEGMENT_BYTES;
  w->cp_every = o->checkpoint_every ? o->checkpoint_every : AL_AUDIT_DEFAULT_CHECKPOINT_EVERY;
  rc = al_audit_load_secret(o->secret_key_path, w->sk, err);
  if (rc) goto out;
  crypto_sign_ed25519_sk_to_pk(w->pk, w->sk);
  rc = al_audit_pii_init(w, o, err);
  if (rc) goto out;
  if (mkdir(w->dir, 0750) && errno != EEXIST) {
    rc = al_error_at(err, AL_EIO, w->dir, 0, 0, "cannot create folder: %s", strerror(errno));
    goto out;
  }
  unsigned last = 0;
  rc = last_segment(w->dir, &last, err);
  if (rc) goto out;
  int resumed = 0;
  for (unsigned n = last; n >= 1 && !resumed; n--) {
    rc = read_tail(w, n, err);
    if (rc < 0) goto out;
    resumed = rc;
    rc = 0;
  }
  if (resumed) {
    rc = read_alg(w, err);
    if (rc) goto out;
  }
  char cpath[4200];
  snprintf(cpath, sizeof cpath, "%s/" AL_AUDIT_CHECKPOINTS, w->dir);
  w->cp_fd = open(cpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (w->cp_fd < 0) {
    rc = al_error_at(err, AL_EIO, cpath, 0, 0, "cannot open: %s", strerror(errno));
    goto out;
  }
  rc = open_segment(w, last + 1, err);
  if (rc) goto out;
  char pk_hex[65];
  al_hex(w->pk, sizeof w->pk, pk_hex);
  json_t *open_rec = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I}", "alg", al_audit_hash_name(w->alg),
                               "version", AL_VERSION, "key", pk_hex, "resumed", resumed,
                               "pid", (json_int_t)getpid(), "segment_max", (json_int_t)w->seg_max);
  al_audit_pii pii = w->pii;
  w->pii = AL_AUDIT_PII_KEEP; /* the open record has no personal data */
  rc = open_rec ? al_audit_append(w, "open", open_rec) : AL_ENOMEM;
  w->pii = pii;
  json_decref(open_rec);
  if (rc) {
    al_error_set(err, rc, "cannot write the first record to %s", w->dir);
    goto out;
  }
  *out = w;
  w = NULL;
out:
  if (w) {
    w->failed = AL_EIO; /* no final checkpoint */
    al_audit_close(w);
  }
  return rc;
}

int al_audit_close(al_audit_writer *w) {
  if (!w) return 0;
  int rc = 0;
  if (!w->failed) rc = checkpoint_locked(w);
  if (!rc && w->fd >= 0 && w->fsync_policy != AL_AUDIT_FSYNC_NONE && fdatasync(w->fd)) rc = AL_EIO;
  if (w->fd >= 0) close(w->fd);
  if (w->cp_fd >= 0) close(w->cp_fd);
  al_buf_cleanup(&w->out);
  al_buf_cleanup(&w->line);
  al_audit_pii_cleanup(w);
  sodium_memzero(w->sk, sizeof w->sk);
  pthread_mutex_destroy(&w->mu);
  al_free(w);
  return rc;
}
