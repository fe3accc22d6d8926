/* Verifying an audit folder with the public key only.
 *
 * 1. checkpoints.jsonl: every line must parse and carry a valid Ed25519 signature by the
 *    given key over the fixed text form (audit_int.h); seqs strictly increase.
 * 2. Segments must be numbered 1..N without a gap.
 * 3. Every record line, in order: the fixed tail `,"hash":"HEX64"}`; valid JSON; its hash
 *    recomputed over prev || body equals the one it states (else: modified); its seq is the
 *    next one (else: deleted / reordered / inserted); its prev is the previous record's hash
 *    (else: chain broken). The first record names the hash algorithm.
 * 4. Where a checkpoint names a seq, that record's hash, segment and end offset must match
 *    (else the log was rewritten after being signed); a checkpoint naming a seq past the
 *    end of the log means the tail was truncated.
 * The first problem found is reported as "file:line: seq N: what" and verification stops. */
#include <stdio.h>
#include <string.h>

#include "airlock/audit.h"
#include "airlock/util.h"
#include "audit/audit_int.h"
#include "audit/limits.h"
#include "audit/reader.h"

typedef struct checkpoint {
  uint64_t seq, offset;
  unsigned char hash[AL_AUDIT_HASH_BYTES];
  char segment[32];
  int line;
} checkpoint;

typedef struct vstate {
  const char *dir;
  const unsigned char *pk;
  al_audit_report *rep;
  al_error *err;
  checkpoint *cps;
  size_t ncp, cpi;
  al_audit_hash alg;
  int have_alg;
  uint64_t seq;
  unsigned char head[AL_AUDIT_HASH_BYTES];
} vstate;

static int bad(vstate *v, const char *file, int line, uint64_t seq, const char *fmt, const char *detail) {
  v->rep->bad_seq = seq;
  char msg[400];
  snprintf(msg, sizeof msg, fmt, detail ? detail : "");
  if (seq) return al_error_at(v->err, AL_EINTEGRITY, file, line, 0, "seq %llu: %s", (unsigned long long)seq, msg);
  return al_error_at(v->err, AL_EINTEGRITY, file, line, 0, "%s", msg);
}

static const char *str_field(json_t *o, const char *k, size_t *len) {
  json_t *v = json_object_get(o, k);
  if (!json_is_string(v)) return NULL;
  if (len) *len = json_string_length(v);
  return json_string_value(v);
}

static int parse_checkpoint(vstate *v, json_t *o, int line, checkpoint *cp) {
  const char *f = AL_AUDIT_CHECKPOINTS;
  json_t *seq = json_object_get(o, "seq"), *off = json_object_get(o, "offset"), *ts = json_object_get(o, "ts");
  size_t hl = 0, sl = 0, kl = 0;
  const char *hash = str_field(o, "hash", &hl), *seg = str_field(o, "segment", NULL);
  const char *alg = str_field(o, "alg", NULL), *key = str_field(o, "key", &kl), *sig = str_field(o, "sig", &sl);
  unsigned char sigb[crypto_sign_BYTES], keyb[AL_AUDIT_PK_BYTES];
  if (!json_is_integer(seq) || json_integer_value(seq) < 1 || !json_is_integer(off) ||
      json_integer_value(off) < 0 || !json_is_integer(ts) || !hash || !seg || !alg || !sig ||
      strlen(seg) >= sizeof cp->segment ||
      al_audit_unhex(hash, hl, cp->hash, AL_AUDIT_HASH_BYTES) ||
      al_audit_unhex(sig, sl, sigb, sizeof sigb))
    return bad(v, f, line, 0, "checkpoint lacks seq, hash, segment, offset, ts, alg or sig%s", NULL);
  cp->seq = (uint64_t)json_integer_value(seq);
  cp->offset = (uint64_t)json_integer_value(off);
  cp->line = line;
  snprintf(cp->segment, sizeof cp->segment, "%s", seg);
  char text[512];
  size_t tl = al_audit_checkpoint_text(text, sizeof text, cp->seq, hash, seg, cp->offset,
                                       (int64_t)json_integer_value(ts), alg);
  if (tl == 0 || crypto_sign_verify_detached(sigb, (const unsigned char *)text, tl, v->pk)) {
    if (key && !al_audit_unhex(key, kl, keyb, sizeof keyb) && memcmp(keyb, v->pk, sizeof keyb)) {
      char who[24];
      snprintf(who, sizeof who, "%.16s", key);
      return bad(v, f, line, 0, "checkpoint is signed with another key (%s...), not the given public key", who);
    }
    return bad(v, f, line, 0, "checkpoint signature does not verify (checkpoint modified or forged)%s", NULL);
  }
  return 0;
}

static int load_checkpoints(vstate *v) {
  char path[4200];
  snprintf(path, sizeof path, "%s/" AL_AUDIT_CHECKPOINTS, v->dir);
  al_line_reader r;
  int rc = al_line_reader_open(&r, path, AL_AUDIT_MAX_CHECKPOINT_LINE, v->err);
  if (rc) return rc;
  size_t cap = 0;
  int complete, got;
  while ((got = al_line_reader_next(&r, &complete)) == 1) {
    if (!complete) {
      rc = bad(v, AL_AUDIT_CHECKPOINTS, r.lineno, 0, "incomplete checkpoint line%s", NULL);
      break;
    }
    json_t *o = json_loadb(r.line.data, r.line.len, 0, NULL);
    if (!o) {
      rc = bad(v, AL_AUDIT_CHECKPOINTS, r.lineno, 0, "checkpoint is not JSON%s", NULL);
      break;
    }
    if (v->ncp == cap) {
      cap = cap ? cap * 2 : 64;
      checkpoint *n = al_realloc(v->cps, cap * sizeof *n);
      if (!n) {
        json_decref(o);
        rc = AL_ENOMEM;
        break;
      }
      v->cps = n;
    }
    checkpoint *cp = &v->cps[v->ncp];
    rc = parse_checkpoint(v, o, r.lineno, cp);
    json_decref(o);
    if (rc) break;
    if (v->ncp && cp->seq <= v->cps[v->ncp - 1].seq) {
      rc = bad(v, AL_AUDIT_CHECKPOINTS, r.lineno, 0, "checkpoint seqs do not increase (checkpoints reordered)%s", NULL);
      break;
    }
    v->ncp++;
  }
  if (!rc && got < 0) rc = bad(v, AL_AUDIT_CHECKPOINTS, r.lineno + 1, 0, "checkpoint line unreadable or too long%s", NULL);
  al_line_reader_close(&r);
  v->rep->checkpoints = v->ncp;
  return rc;
}

static int check_record(vstate *v, const char *name, al_line_reader *r, int complete) {
  const char *l = r->line.data;
  size_t n = r->line.len;
  uint64_t want = v->seq + 1;
  unsigned char stated[AL_AUDIT_HASH_BYTES], prev[AL_AUDIT_HASH_BYTES], h[AL_AUDIT_HASH_BYTES];
  int rc = 0;
  json_t *rec = NULL;
  if (!complete)
    return bad(v, name, r->lineno, want, "incomplete record at the end of the segment (truncated write)%s", NULL);
  const char *tail = l + n - AL_AUDIT_TAIL_LEN;
  if (n < AL_AUDIT_TAIL_LEN + 2 || memcmp(l + n - 2, "\"}", 2) ||
      memcmp(tail, AL_AUDIT_PREV_TAG, AL_AUDIT_PREV_TAG_LEN) ||
      memcmp(tail + AL_AUDIT_PREV_TAG_LEN + 64, AL_AUDIT_HASH_TAG, AL_AUDIT_HASH_TAG_LEN) ||
      al_audit_unhex(tail + AL_AUDIT_PREV_TAG_LEN, 64, prev, sizeof prev) ||
      al_audit_unhex(l + n - 66, 64, stated, sizeof stated))
    return bad(v, name, r->lineno, want, "record does not end with its prev and hash fields (modified?)%s", NULL);
  json_error_t je;
  rec = json_loadb(l, n, 0, &je);
  if (!rec) {
    rc = bad(v, name, r->lineno, want, "record is not valid JSON (modified?): %s", je.text);
    goto out;
  }
  json_t *js = json_object_get(rec, "seq");
  const char *type = str_field(rec, "type", NULL);
  if (!json_is_integer(js) || !type || !json_is_object(json_object_get(rec, "data")) ||
      !json_is_integer(json_object_get(rec, "ts")) || json_object_size(rec) != 6) {
    rc = bad(v, name, r->lineno, want, "record lacks seq, ts, type or data, or has extra fields (modified?)%s", NULL);
    goto out;
  }
  uint64_t seq = (uint64_t)json_integer_value(js);
  if (!v->have_alg) {
    const char *alg = str_field(json_object_get(rec, "data"), "alg", NULL);
    if (strcmp(type, "open") || !alg || al_audit_hash_parse(alg, &v->alg)) {
      rc = bad(v, name, r->lineno, want, "the first record must be an \"open\" record naming the hash algorithm%s", NULL);
      goto out;
    }
    v->have_alg = 1;
    snprintf(v->rep->hash_name, sizeof v->rep->hash_name, "%s", al_audit_hash_name(v->alg));
  }
  al_audit_hash_record(v->alg, prev, l, n - AL_AUDIT_TAIL_LEN, h);
  if (memcmp(h, stated, sizeof h)) {
    rc = bad(v, name, r->lineno, want, "record modified: its hash does not match its contents%s", NULL);
    goto out;
  }
  if (seq != want) {
    char d[96];
    snprintf(d, sizeof d, "expected seq %llu, found seq %llu", (unsigned long long)want, (unsigned long long)seq);
    rc = bad(v, name, r->lineno, want,
             seq > want ? "%s: record(s) deleted or records reordered" : "%s: records reordered or duplicated", d);
    goto out;
  }
  if (memcmp(prev, v->head, sizeof prev)) {
    rc = bad(v, name, r->lineno, seq, "chain broken: prev is not the hash of the previous record (record inserted, deleted or reordered)%s", NULL);
    goto out;
  }
  v->seq = seq;
  memcpy(v->head, h, sizeof h);
  v->rep->records++;
  if (!strcmp(type, "token")) v->rep->tokens++;
  while (v->cpi < v->ncp && v->cps[v->cpi].seq == seq) {
    checkpoint *cp = &v->cps[v->cpi++];
    char what[200];
    if (memcmp(cp->hash, h, sizeof h))
      snprintf(what, sizeof what, "checkpoints.jsonl:%d signed a different hash for this record (log rewritten after signing)", cp->line);
    else if (strcmp(cp->segment, name) || cp->offset != r->offset)
      snprintf(what, sizeof what, "checkpoints.jsonl:%d places this record at %s offset %llu, found at offset %llu",
               cp->line, cp->segment, (unsigned long long)cp->offset, (unsigned long long)r->offset);
    else {
      v->rep->last_checkpoint_seq = seq;
      continue;
    }
    rc = bad(v, name, r->lineno, seq, "%s", what);
    goto out;
  }
out:
  json_decref(rec);
  return rc;
}

int al_audit_verify(const char *dir, const unsigned char pk[AL_AUDIT_PK_BYTES], al_audit_report *rep,
                    al_error *err) {
  al_audit_report dummy;
  if (!rep) rep = &dummy;
  memset(rep, 0, sizeof *rep);
  if (sodium_init() < 0) return al_error_set(err, AL_ESYS, "libsodium failed to initialise");
  vstate v = {.dir = dir, .pk = pk, .rep = rep, .err = err};
  unsigned *segs = NULL;
  size_t nseg = 0;
  char name[64] = "", path[4200];
  int rc = load_checkpoints(&v);
  if (rc) goto out;
  rc = al_audit_list_segments(dir, &segs, &nseg, err);
  if (rc) goto out;
  rep->segments = nseg;
  al_line_reader r = {.fd = -1};
  int lastline = 0;
  for (size_t i = 0; i < nseg; i++) {
    snprintf(name, sizeof name, AL_AUDIT_SEGMENT_FMT, segs[i]);
    if (segs[i] != i + 1) {
      char miss[64];
      snprintf(miss, sizeof miss, AL_AUDIT_SEGMENT_FMT, (unsigned)(i + 1));
      rc = bad(&v, miss, 0, v.seq + 1, "segment %s is missing (deleted)", miss);
      goto out;
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    rc = al_line_reader_open(&r, path, AL_AUDIT_MAX_RECORD_BYTES, err);
    if (rc) goto out;
    int complete, got;
    while ((got = al_line_reader_next(&r, &complete)) == 1) {
      rc = check_record(&v, name, &r, complete);
      if (rc) break;
    }
    if (!rc && got < 0) rc = bad(&v, name, r.lineno + 1, v.seq + 1, "record unreadable or longer than the limit%s", NULL);
    lastline = r.lineno;
    al_line_reader_close(&r);
    if (rc) goto out;
  }
  if (v.cpi < v.ncp) {
    checkpoint *cp = &v.cps[v.cpi];
    char d[300];
    snprintf(d, sizeof d, "log truncated: checkpoints.jsonl:%d names seq %llu in %s, but the log ends at seq %llu",
             cp->line, (unsigned long long)cp->seq, cp->segment, (unsigned long long)v.seq);
    rc = bad(&v, name[0] ? name : AL_AUDIT_CHECKPOINTS, lastline + 1, v.seq + 1, "%s", d);
    goto out;
  }
  rep->last_seq = v.seq;
  rep->unanchored = v.seq - rep->last_checkpoint_seq;
out:
  al_free(segs);
  al_free(v.cps);
  return rc;
}
