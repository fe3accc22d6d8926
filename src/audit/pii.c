/* The audit log's PII policy: before a record is built, spans that the scan engine reports
 * as personal data or secrets (kinds "pii" and "secret") are kept, replaced by a keyed
 * hash, or replaced by a placeholder.
 *
 *   keep    the text as is
 *   hash    "[PII:email:1f0c9a4b2d7e6f10]": HMAC-SHA-256 of the value under a log key
 *           derived from the signing key (BLAKE2b keyed with the Ed25519 seed), first 8
 *           bytes in hex. Equal values give equal tags within one key, so requests can be
 *           correlated without the value being kept; without the secret key the tag cannot
 *           be checked against guesses.
 *   redact  "[PII:email]"
 *
 * Each string is scanned on its own (block mode). A value split across two token records
 * is not seen by either; the guard therefore logs tokens only after its own output
 * pipeline released them, and the full response record is scanned as one string. */
#include <string.h>

#include "airlock/scan.h"
#include "airlock/util.h"
#include "audit/writer_int.h"

typedef struct span {
  size_t start, end;
  char kind[48];
} span;

typedef struct spans {
  span *v;
  size_t n, cap;
  int oom;
} spans;

static int on_finding(const al_finding *f, void *ud) {
  spans *s = ud;
  if (!f->kind || (strcmp(f->kind, "pii") && strcmp(f->kind, "secret"))) return 0;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    span *v = al_realloc(s->v, cap * sizeof *v);
    if (!v) {
      s->oom = 1;
      return 1;
    }
    s->v = v;
    s->cap = cap;
  }
  span *p = &s->v[s->n++];
  p->start = (size_t)f->start;
  p->end = (size_t)f->end;
  const char *name = f->detector ? f->detector : f->kind;
  const char *dot = strchr(name, '.');
  snprintf(p->kind, sizeof p->kind, "%s", dot ? dot + 1 : name);
  return 0;
}

static int cmp_span(const void *a, const void *b) {
  const span *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start ? 1 : (x->end > y->end) - (x->end < y->end);
}

int al_audit_pii_init(al_audit_writer *w, const al_audit_options *o, al_error *err) {
  pthread_mutex_init(&w->pii_mu, NULL);
  w->pii = o->pii;
  if (o->pii == AL_AUDIT_PII_KEEP) return 0;
  if (!o->scan_db)
    return al_error_set(err, AL_EINVAL, "audit: the pii policy hash/redact needs a scan database");
  w->scan_db = o->scan_db;
  al_scanner *s = NULL;
  int rc = al_scanner_new(o->scan_db, &s);
  if (rc) return al_error_set(err, rc, "audit: cannot create a scanner");
  w->scanner = s;
  static const char ctx[] = "airlock-audit-pii-v1";
  crypto_generichash(w->pii_key, sizeof w->pii_key, (const unsigned char *)ctx, sizeof ctx - 1,
                     w->sk, crypto_sign_SEEDBYTES);
  return 0;
}

void al_audit_pii_cleanup(al_audit_writer *w) {
  al_scanner_free(w->scanner);
  w->scanner = NULL;
  sodium_memzero(w->pii_key, sizeof w->pii_key);
  pthread_mutex_destroy(&w->pii_mu);
}

int al_audit_pii_text(al_audit_writer *w, const char *text, size_t len, char **out, size_t *olen) {
  spans s = {0};
  al_buf b;
  int rc = 0;
  *out = NULL;
  al_buf_init(&b, len * 4 + 4096);
  if (w->pii == AL_AUDIT_PII_KEEP || len == 0) goto out;
  pthread_mutex_lock(&w->pii_mu);
  rc = al_scan(w->scanner, text, len, on_finding, &s);
  pthread_mutex_unlock(&w->pii_mu);
  if (s.oom) rc = AL_ENOMEM;
  if (rc || s.n == 0) goto out;
  qsort(s.v, s.n, sizeof *s.v, cmp_span);
  size_t at = 0;
  for (size_t i = 0; i < s.n && !rc; i++) {
    span *p = &s.v[i];
    if (p->end > len || p->start >= p->end) continue;
    if (p->start < at) {
      if (p->end <= at) continue; /* inside the previous span */
      p->start = at;               /* overlap: extend the replaced region */
    }
    rc = al_buf_append(&b, text + at, p->start - at);
    if (rc) break;
    if (w->pii == AL_AUDIT_PII_HASH) {
      unsigned char mac[crypto_auth_hmacsha256_BYTES];
      char hex[17];
      crypto_auth_hmacsha256(mac, (const unsigned char *)text + p->start, p->end - p->start,
                             w->pii_key);
      al_hex(mac, 8, hex);
      rc = al_buf_printf(&b, "[PII:%s:%s]", p->kind, hex);
    } else {
      rc = al_buf_printf(&b, "[PII:%s]", p->kind);
    }
    at = p->end;
  }
  if (!rc) rc = al_buf_append(&b, text + at, len - at);
  if (!rc) *out = al_buf_steal(&b, olen);
out:
  al_buf_cleanup(&b);
  al_free(s.v);
  return rc;
}

/* Deep copy of in with every string value (not keys) passed through the policy. */
static int filter(al_audit_writer *w, const json_t *in, json_t **out, int depth) {
  if (depth > 64) return AL_ELIMIT;
  if (json_is_string(in)) {
    char *t = NULL;
    size_t n = 0;
    int rc = al_audit_pii_text(w, json_string_value(in), json_string_length(in), &t, &n);
    if (rc) return rc;
    *out = t ? json_stringn(t, n) : json_deep_copy(in);
    al_free(t);
    return *out ? 0 : AL_ENOMEM;
  }
  if (json_is_object(in)) {
    json_t *o = json_object();
    const char *k;
    json_t *v;
    if (!o) return AL_ENOMEM;
    json_object_foreach((json_t *)in, k, v) {
      json_t *c = NULL;
      int rc = filter(w, v, &c, depth + 1);
      if (rc || json_object_set_new(o, k, c)) {
        json_decref(o);
        return rc ? rc : AL_ENOMEM;
      }
    }
    *out = o;
    return 0;
  }
  if (json_is_array(in)) {
    json_t *a = json_array();
    size_t i;
    json_t *v;
    if (!a) return AL_ENOMEM;
    json_array_foreach(in, i, v) {
      json_t *c = NULL;
      int rc = filter(w, v, &c, depth + 1);
      if (rc || json_array_append_new(a, c)) {
        json_decref(a);
        return rc ? rc : AL_ENOMEM;
      }
    }
    *out = a;
    return 0;
  }
  *out = json_deep_copy(in);
  return *out ? 0 : AL_ENOMEM;
}

int al_audit_pii_json(al_audit_writer *w, const json_t *in, json_t **out) {
  return filter(w, in, out, 0);
}
