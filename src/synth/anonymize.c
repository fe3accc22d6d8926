/* Anonymising import: the user's own records in, the same records with every detected
 * PII value replaced by a synthetic one of the same kind out.
 *
 * Detection is the scan engine with the pii detectors, run per field over "name: value"
 * so that detectors needing a context word (bare SSNs, routing numbers) see the column
 * name; findings inside the name prefix are ignored. Replacement is consistent and keyed:
 * BLAKE2b(key = H("airlock-anon-v1" || seed), detector || 0 || normalised value) seeds the
 * value maker, so one input value gets one replacement everywhere in the file (and across
 * files anonymised with the same seed), while the mapping cannot be inverted without the
 * seed. Values keep their shape: digits are swapped for digits in place, so "4242 4242 ..."
 * stays grouped and "(212) 555-0142" stays bracketed; the replacement passes the same
 * validator the original did. Names and addresses have no detector; they are recognised by
 * the column name (name, first_name, surname, street, city, ...) and replaced from the en_US
 * word lists, keyed the same way. Anything else the engine does not detect (names inside
 * free text) is left alone: this is PII scrubbing, not k-anonymity. */
#include <csv.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/scan.h"
#include "airlock/synth.h"
#include "scan/validators/validators.h"
#include "synth/synth_internal.h"

#define MAX_FINDINGS 256
#define SEEN_MIN 1024

#define MAX_RECORD_VALUES 256

/* A value detected when the whole record was scanned (with all its context words). */
typedef struct rec_value {
  const char *det;
  char *text;
  size_t n;
} rec_value;

struct al_anonymizer {
  rec_value rv[MAX_RECORD_VALUES];
  size_t nrv;
  al_scan_db *db;
  al_scanner *sc;
  synth_locale *names; /* en_US word lists for name/address columns */
  unsigned char key[32];
  al_anon_stats st;
  uint64_t *seen; /* hashes of distinct originals (counting only) */
  size_t seen_cap, seen_n;
  al_buf field; /* scratch: "name: value" */
  al_buf out;   /* scratch: the anonymised value */
};
typedef struct al_anonymizer anon;

typedef struct hit {
  size_t s, e;
  const char *det;
} hit;

typedef struct hits {
  hit h[MAX_FINDINGS];
  size_t n, min;
} hits;

static int collect(const al_finding *f, void *ud) {
  hits *h = ud;
  if (f->start < h->min) return 0;                   /* inside the column-name prefix */
  if (h->n && f->start < h->h[h->n - 1].e) return 0; /* overlaps the previous one */
  if (h->n >= MAX_FINDINGS) return 1;
  h->h[h->n++] = (hit){(size_t)f->start, (size_t)f->end, f->detector};
  return 0;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Put the digits of repl into the digit positions of orig; plain repl when counts differ. */
static void reshape(const char *orig, size_t n, const char *repl, al_buf *o) {
  size_t nd = 0, k = 0;
  for (size_t i = 0; i < n; i++)
    nd += is_digit(orig[i]);
  if (nd != strlen(repl)) {
    al_buf_puts(o, repl);
    return;
  }
  for (size_t i = 0; i < n; i++)
    al_buf_putc(o, is_digit(orig[i]) ? repl[k++] : orig[i]);
}

static size_t digits_of(const char *s, size_t n, char *d, size_t max) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < max; i++)
    if (is_digit(s[i])) d[k++] = s[i];
  d[k] = '\0';
  return k;
}

typedef bool (*digit_check)(const char *, size_t);
static const struct {
  const char *det;
  digit_check ok;
} checked[] = {{"pii.nl_bsn", al_bsn_ok},      {"pii.de_steuer_id", al_de_steuer_id_ok},
               {"pii.ca_sin", al_ca_sin_ok},   {"pii.in_aadhaar", al_aadhaar_ok},
               {"pii.aba_routing", al_aba_ok}, {"pii.nhs", al_nhs_ok}};

static void nanp_digits(al_rng *r, char *d) {
  char tmp[64];
  synth_phone(r, PH_NANP, tmp);
  digits_of(tmp, strlen(tmp), d, 16);
}

/* One replacement of orig[0,n) found by detector det, drawn from r, appended to o. */
static void make(const char *det, const char *orig, size_t n, al_rng *r, al_buf *o) {
  char d[64], rep[80];
  size_t nd = digits_of(orig, n, d, sizeof d);
  if (!strcmp(det, "pii.email")) {
    static const char *const dom[] = {"example.com", "example.org", "anon.test"};
    al_buf_printf(o, "user.%08llx@%s", (unsigned long long)(al_rng_next(r) & 0xffffffffull),
                  dom[al_rng_below(r, 3)]);
  } else if (!strcmp(det, "pii.credit_card")) {
    synth_card(r, nd, rep, NULL);
    reshape(orig, n, rep, o);
  } else if (!strcmp(det, "pii.ssn")) {
    char s[16];
    synth_ssn(r, s);
    digits_of(s, strlen(s), rep, sizeof rep);
    reshape(orig, n, rep, o);
  } else if (!strcmp(det, "pii.phone")) {
    bool plus = memchr(orig, '+', n) != NULL;
    if ((!plus && (nd == 10 || (nd == 11 && d[0] == '1'))) || (plus && d[0] == '1' && nd == 11)) {
      rep[0] = '1';
      nanp_digits(r, rep + (nd == 11));
    } else if (plus && nd >= 2 && (!memcmp(d, "44", 2) || !memcmp(d, "49", 2))) {
      char tmp[64]; /* the regulators' drama ranges */
      synth_phone(r, d[1] == '4' ? PH_UK : PH_DE, tmp);
      digits_of(tmp, strlen(tmp), rep, sizeof rep);
    } else { /* keep the country code / trunk digits, redraw the rest */
      size_t keep = plus ? (d[0] == '7' ? 1 : 2) : 1;
      memcpy(rep, d, keep);
      synth_digits(r, nd - keep, rep + keep);
    }
    reshape(orig, n, rep, o);
  } else if (!strcmp(det, "pii.iban")) {
    char c[48];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof c; i++)
      if (orig[i] != ' ')
        c[k++] = (char)(orig[i] >= 'a' && orig[i] <= 'z' ? orig[i] - 32 : orig[i]);
    c[k] = '\0';
    for (size_t i = 4; i < k; i++)
      c[i] = is_digit(c[i]) ? (char)('0' + al_rng_below(r, 10)) : (char)('A' + al_rng_below(r, 26));
    if (k > 4) synth_iban_fix(c);
    for (size_t i = 0, j = 0; i < n; i++)
      al_buf_putc(o, orig[i] == ' ' ? ' ' : c[j++]);
  } else if (!strcmp(det, "pii.ipv4")) {
    static const char *const nets[] = {"192.0.2.", "198.51.100.", "203.0.113."};
    al_buf_printf(o, "%s%ld", nets[al_rng_below(r, 3)], synth_range(r, 1, 254));
  } else if (!strcmp(det, "pii.ipv6")) {
    al_buf_printf(o, "2001:db8::%lx:%lx", synth_range(r, 1, 0xffff), synth_range(r, 1, 0xffff));
  } else if (!strcmp(det, "pii.es_dni")) {
    static const char letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";
    long num = synth_range(r, 10000000, 99999999);
    al_buf_printf(o, "%08ld%c", num, letters[num % 23]);
  } else {
    digit_check ok = NULL;
    for (size_t i = 0; i < sizeof checked / sizeof checked[0]; i++)
      if (!strcmp(det, checked[i].det)) ok = checked[i].ok;
    if (ok && nd > 0 && nd < sizeof rep) {
      for (int tries = 0; tries < 100000; tries++) {
        synth_digits(r, nd, rep);
        if (!strcmp(det, "pii.nhs")) memcpy(rep, "999", nd >= 3 ? 3 : nd);
        if (ok(rep, nd)) break;
      }
      reshape(orig, n, rep, o);
    } else { /* unknown kind: same shape, fresh characters */
      for (size_t i = 0; i < n; i++) {
        char c = orig[i];
        if (is_digit(c))
          c = (char)('0' + al_rng_below(r, 10));
        else if (c >= 'a' && c <= 'z')
          c = (char)('a' + al_rng_below(r, 26));
        else if (c >= 'A' && c <= 'Z')
          c = (char)('A' + al_rng_below(r, 26));
        al_buf_putc(o, c);
      }
    }
  }
}

/* Count distinct originals: an open-addressing set of hash tags, doubled at half load.
 * Allocation failure only stops the counting. */
static void seen_add(anon *a, uint64_t tag) {
  if (a->seen_n * 2 >= a->seen_cap) {
    size_t cap = a->seen_cap ? a->seen_cap * 2 : SEEN_MIN;
    uint64_t *n = al_calloc(cap, sizeof *n);
    if (!n) return;
    for (size_t i = 0; i < a->seen_cap; i++)
      if (a->seen[i])
        for (size_t k = (size_t)(a->seen[i] % cap);; k = (k + 1) % cap)
          if (!n[k]) {
            n[k] = a->seen[i];
            break;
          }
    al_free(a->seen);
    a->seen = n;
    a->seen_cap = cap;
  }
  if (!a->seen_cap) return;
  for (size_t k = (size_t)(tag % a->seen_cap);; k = (k + 1) % a->seen_cap) {
    if (a->seen[k] == tag) return;
    if (!a->seen[k]) {
      a->seen[k] = tag;
      a->seen_n++;
      a->st.distinct++;
      return;
    }
  }
}

/* Normalised form for the keyed hash: digits (and letters) only for identifiers, case
 * folded for e-mail, as is otherwise. */
static void replace_one(anon *a, const char *det, const char *orig, size_t n, al_buf *o) {
  crypto_generichash_state hs;
  unsigned char h[16];
  crypto_generichash_init(&hs, a->key, sizeof a->key, sizeof h);
  crypto_generichash_update(&hs, (const unsigned char *)det, strlen(det) + 1);
  bool email = !strcmp(det, "pii.email");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)orig[i];
    if (email)
      c = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    else if (!is_digit((char)c) && !is_alpha((char)c) && c != ':')
      continue;
    else if (c >= 'a' && c <= 'z')
      c = (unsigned char)(c - 32);
    crypto_generichash_update(&hs, &c, 1);
  }
  crypto_generichash_final(&hs, h, sizeof h);
  uint64_t seed, tag;
  memcpy(&seed, h, 8);
  memcpy(&tag, h + 8, 8);
  seen_add(a, tag | 1);
  a->st.replaced++;
  /* never hand back the original itself (possible only for tiny values) */
  for (uint64_t k = 0; k < 8; k++) {
    al_rng r;
    size_t at = o->len;
    al_rng_seed(&r, seed + k * 0x9E3779B97F4A7C15ull);
    make(det, orig, n, &r, o);
    if (o->len - at != n || memcmp(o->data + at, orig, n)) return;
    o->len = at;
    o->data[at] = '\0';
  }
  al_buf_puts(o, "[redacted]");
}

static void record_clear(anon *a) {
  for (size_t i = 0; i < a->nrv; i++)
    al_free(a->rv[i].text);
  a->nrv = 0;
}

static int record_collect(const al_finding *f, void *ud) {
  anon *a = ud;
  size_t n = (size_t)(f->end - f->start);
  if (a->nrv >= MAX_RECORD_VALUES) return 1;
  if (n < 4 || n > AL_SYNTH_ANON_MAX_VALUE) return 0;
  for (size_t i = 0; i < a->nrv; i++)
    if (a->rv[i].n == n && !memcmp(a->rv[i].text, f->text, n)) return 0;
  if (!(a->rv[a->nrv].text = al_strndup(f->text, n))) return 1;
  a->rv[a->nrv].det = f->detector;
  a->rv[a->nrv++].n = n;
  return 0;
}

/* Scan a whole record first: detectors that need a context word find it in a neighbouring
 * field ("national_id_kind": "nhs"), and the values they find are then replaced wherever
 * they occur in the record's fields. */
static int record_scan(anon *a, const char *text, size_t len) {
  record_clear(a);
  int rc = al_scan(a->sc, text, len, record_collect, a);
  return rc < 0 ? rc : 0;
}

static int hit_cmp(const void *x, const void *y) {
  const hit *a = x, *b = y;
  return a->s < b->s ? -1 : a->s > b->s;
}

/* Add record-level values found verbatim in the field, where nothing else was found. */
static void add_record_hits(const anon *a, const char *t, size_t len, hits *h) {
  for (size_t i = 0; i < a->nrv; i++) {
    const rec_value *v = &a->rv[i];
    size_t from = h->min;
    while (from + v->n <= len && h->n < MAX_FINDINGS) {
      const char *p = memmem(t + from, len - from, v->text, v->n);
      if (!p) break;
      size_t s = (size_t)(p - t), e = s + v->n;
      bool free_span = true;
      for (size_t k = 0; k < h->n && free_span; k++)
        free_span = e <= h->h[k].s || s >= h->h[k].e;
      if (free_span) {
        h->h[h->n++] = (hit){s, e, v->det};
        qsort(h->h, h->n, sizeof h->h[0], hit_cmp);
      }
      from = e;
    }
  }
}

/* Columns whose values are names or addresses: the scan engine has no detector for these
 * (free text is too ambiguous), so they are recognised by the column name instead. */
enum { COL_NONE, COL_FULL, COL_FIRST, COL_LAST, COL_STREET, COL_CITY };

static int column_kind(const char *name) {
  static const struct {
    const char *n;
    int kind;
  } cols[] = {{"name", COL_FULL},         {"fullname", COL_FULL},
              {"customername", COL_FULL}, {"holder", COL_FULL},
              {"cardholder", COL_FULL},   {"accountholder", COL_FULL},
              {"holdername", COL_FULL},   {"firstname", COL_FIRST},
              {"givenname", COL_FIRST},   {"forename", COL_FIRST},
              {"lastname", COL_LAST},     {"surname", COL_LAST},
              {"familyname", COL_LAST},   {"street", COL_STREET},
              {"address", COL_STREET},    {"streetaddress", COL_STREET},
              {"address1", COL_STREET},   {"addressline1", COL_STREET},
              {"city", COL_CITY},         {"town", COL_CITY}};
  char k[32];
  size_t n = 0;
  for (const char *p = name; p && *p && n + 1 < sizeof k; p++) {
    char c = *p;
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) k[n++] = c;
  }
  k[n] = '\0';
  for (size_t i = 0; n && i < sizeof cols / sizeof cols[0]; i++)
    if (!strcmp(cols[i].n, k)) return cols[i].kind;
  return COL_NONE;
}

/* A synthetic name or address for value v of a column of kind ck, keyed like the rest. */
static void replace_column(anon *a, int ck, const char *v, size_t n, al_buf *o) {
  unsigned char h[8], tag = (unsigned char)ck;
  crypto_generichash_state hs;
  crypto_generichash_init(&hs, a->key, sizeof a->key, sizeof h);
  crypto_generichash_update(&hs, &tag, 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c == ' ' || c == '\t') continue;
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
    crypto_generichash_update(&hs, &c, 1);
  }
  crypto_generichash_final(&hs, h, sizeof h);
  uint64_t seed;
  memcpy(&seed, h, 8);
  seen_add(a, seed | 1);
  a->st.replaced++;
  const synth_words *w = a->names->sec;
  for (uint64_t k = 0; k < 8; k++) {
    al_rng r;
    size_t at = o->len;
    al_rng_seed(&r, seed + k * 0x9E3779B97F4A7C15ull);
    if (ck == COL_FULL) {
      const char *f = synth_pick(&w[SEC_FIRST], &r);
      al_buf_printf(o, "%s %s", f, synth_pick(&w[SEC_LAST], &r));
    } else if (ck == COL_FIRST) {
      al_buf_puts(o, synth_pick(&w[SEC_FIRST], &r));
    } else if (ck == COL_LAST) {
      al_buf_puts(o, synth_pick(&w[SEC_LAST], &r));
    } else if (ck == COL_STREET) {
      long num = synth_range(&r, 1, 9800);
      al_buf_printf(o, "%ld %s", num, synth_pick(&w[SEC_STREET], &r));
    } else {
      al_buf_puts(o, synth_pick(&w[SEC_CITY], &r));
    }
    if (o->len - at != n || strncasecmp(o->data + at, v, n)) return;
    o->len = at;
    o->data[at] = '\0';
  }
  al_buf_puts(o, "[redacted]");
}

/* Anonymise value v[0,n) of column `name`; *changed says whether a->out holds a new value. */
static int anon_value(anon *a, const char *name, const char *v, size_t n, int *changed) {
  hits h = {0};
  *changed = 0;
  a->st.fields++;
  if (n > AL_SYNTH_ANON_MAX_VALUE * 256) return AL_ELIMIT;
  int ck = column_kind(name);
  if (ck != COL_NONE && n > 0) {
    bool blank = true;
    for (size_t i = 0; i < n && blank; i++)
      blank = v[i] == ' ' || v[i] == '\t';
    if (!blank) {
      al_buf_reset(&a->out);
      replace_column(a, ck, v, n, &a->out);
      *changed = 1;
      return 0;
    }
  }
  al_buf_reset(&a->field);
  if (name && *name) {
    al_buf_printf(&a->field, "%.64s: ", name);
  }
  h.min = a->field.len;
  if (al_buf_append(&a->field, v, n)) return AL_ENOMEM;
  int rc = al_scan(a->sc, a->field.data, a->field.len, collect, &h);
  if (rc < 0) return rc;
  /* values found with the whole record's context win over what the field alone shows
   * ("943 476 5919" next to "nhs" is an NHS number, alone it looks like a phone) */
  hits all = {.min = h.min};
  add_record_hits(a, a->field.data, a->field.len, &all);
  for (size_t i = 0; i < h.n && all.n < MAX_FINDINGS; i++) {
    bool free_span = true;
    for (size_t k = 0; k < all.n && free_span; k++)
      free_span = h.h[i].e <= all.h[k].s || h.h[i].s >= all.h[k].e;
    if (free_span) all.h[all.n++] = h.h[i];
  }
  qsort(all.h, all.n, sizeof all.h[0], hit_cmp);
  h = all;
  if (!h.n) return 0;
  al_buf_reset(&a->out);
  size_t at = h.min;
  for (size_t i = 0; i < h.n; i++) {
    al_buf_append(&a->out, a->field.data + at, h.h[i].s - at);
    replace_one(a, h.h[i].det, a->field.data + h.h[i].s, h.h[i].e - h.h[i].s, &a->out);
    at = h.h[i].e;
  }
  al_buf_append(&a->out, a->field.data + at, a->field.len - at);
  *changed = 1;
  return 0;
}

/* Replace strings and integers inside container v (values are replaced through the
 * parent, since jansson integers cannot change type in place). */
static int walk_set(anon *a, const char *name, json_t *parent, const char *key, size_t idx,
                    json_t *v) {
  int rc = 0, changed = 0;
  if (json_is_object(v)) {
    const char *k;
    json_t *c;
    void *tmp;
    json_object_foreach_safe(v, tmp, k, c) if ((rc = walk_set(a, k, v, k, 0, c))) return rc;
    return 0;
  }
  if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++)
      if ((rc = walk_set(a, name, v, NULL, i, json_array_get(v, i)))) return rc;
    return 0;
  }
  if (json_is_string(v)) {
    if ((rc = anon_value(a, name, json_string_value(v), json_string_length(v), &changed)))
      return rc;
    if (changed && json_string_setn(v, a->out.data, a->out.len)) return AL_ENOMEM;
    return 0;
  }
  if (json_is_integer(v) && parent) {
    char num[32];
    int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if ((rc = anon_value(a, name, num, (size_t)n, &changed))) return rc;
    if (!changed) return 0;
    json_t *nv = NULL;
    bool digits = a->out.len > 0 && a->out.len < 19;
    for (size_t i = 0; i < a->out.len; i++)
      digits = digits && is_digit(a->out.data[i]);
    nv = digits ? json_integer(strtoll(a->out.data, NULL, 10))
                : json_stringn(a->out.data, a->out.len);
    if (!nv) return AL_ENOMEM;
    if (key) return json_object_set_new(parent, key, nv) ? AL_ENOMEM : 0;
    return json_array_set_new(parent, idx, nv) ? AL_ENOMEM : 0;
  }
  return 0;
}

static int do_jsonl(anon *a, const char *in, size_t len, const char *name, al_buf *o,
                    al_error *err) {
  int line = 0, rc = 0;
  for (size_t i = 0; i < len;) {
    size_t e = i;
    while (e < len && in[e] != '\n')
      e++;
    line++;
    size_t b = e;
    if (b > i && in[b - 1] == '\r') b--;
    bool blank = true;
    for (size_t k = i; k < b; k++)
      blank = blank && (in[k] == ' ' || in[k] == '\t');
    if (!blank) {
      json_error_t je;
      json_t *j = json_loadb(in + i, b - i, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
      if (!j)
        return al_error_at(err, AL_EPARSE, name, line, je.column > 0 ? je.column : 1,
                           "expected one JSON value per line: %s", je.text);
      if (!(rc = record_scan(a, in + i, b - i))) rc = walk_set(a, NULL, NULL, NULL, 0, j);
      if (rc) {
        json_decref(j);
        return al_error_at(err, rc, name, line, 1, "cannot anonymise this record: %s",
                           al_strerror(rc));
      }
      char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
      json_decref(j);
      if (!s) return al_error_set(err, AL_ENOMEM, "out of memory");
      rc = al_buf_puts(o, s);
      free(s);
      if (rc) return al_error_set(err, rc, "output too large");
      a->st.records++;
    }
    if (e < len && al_buf_putc(o, '\n')) return al_error_set(err, AL_ELIMIT, "output too large");
    i = e + 1;
  }
  return 0;
}

/* ---- CSV (libcsv push parser): fields are buffered per row, then the row is handled as a
 * record ---- */
#define CSV_MAX_FIELDS 4096

typedef struct csvctx {
  anon *a;
  al_buf *o;
  char **header;
  size_t nheader;
  char **f; /* the current row's fields */
  size_t *flen, nf;
  long row;
  int rc;
} csvctx;

static void csv_put(al_buf *o, const char *s, size_t n) {
  bool q = n && (s[0] == ' ' || s[n - 1] == ' ');
  for (size_t i = 0; i < n && !q; i++)
    q = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
  if (!q) {
    al_buf_append(o, s, n);
    return;
  }
  al_buf_putc(o, '"');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') al_buf_putc(o, '"');
    al_buf_putc(o, s[i]);
  }
  al_buf_putc(o, '"');
}

static void csv_field(void *s, size_t n, void *ud) {
  csvctx *c = ud;
  if (c->rc) return;
  if (c->nf >= CSV_MAX_FIELDS) {
    c->rc = AL_ELIMIT;
    return;
  }
  if (!(c->nf & (c->nf - 1))) { /* grow at powers of two */
    size_t cap = c->nf ? c->nf * 2 : 1;
    char **nfv = al_realloc(c->f, cap * sizeof *nfv);
    if (nfv) c->f = nfv;
    size_t *nl = nfv ? al_realloc(c->flen, cap * sizeof *nl) : NULL;
    if (nl) c->flen = nl;
    if (!nfv || !nl) {
      c->rc = AL_ENOMEM;
      return;
    }
  }
  if (!(c->f[c->nf] = al_strndup(s ? s : "", s ? n : 0))) {
    c->rc = AL_ENOMEM;
    return;
  }
  c->flen[c->nf++] = s ? n : 0;
}

static void csv_row(int ch, void *ud) {
  csvctx *c = ud;
  al_buf rec;
  if (c->rc) goto out;
  if (c->row == 0) {
    c->header = c->f;
    c->nheader = c->nf;
    for (size_t i = 0; i < c->nf; i++) {
      if (i) al_buf_putc(c->o, ',');
      csv_put(c->o, c->f[i], c->flen[i]);
    }
    c->f = NULL;
    al_free(c->flen);
    c->flen = NULL;
    c->nf = 0;
  } else {
    al_buf_init(&rec, AL_SYNTH_ANON_MAX_BYTES);
    for (size_t i = 0; i < c->nf; i++) {
      al_buf_printf(&rec, "%.64s: ", i < c->nheader ? c->header[i] : "");
      al_buf_append(&rec, c->f[i], c->flen[i]);
      al_buf_putc(&rec, '\n');
    }
    c->rc = record_scan(c->a, rec.data ? rec.data : "", rec.len);
    al_buf_cleanup(&rec);
    for (size_t i = 0; i < c->nf && !c->rc; i++) {
      int changed = 0;
      if (i) al_buf_putc(c->o, ',');
      c->rc = anon_value(c->a, i < c->nheader ? c->header[i] : NULL, c->f[i], c->flen[i], &changed);
      if (changed)
        csv_put(c->o, c->a->out.data, c->a->out.len);
      else
        csv_put(c->o, c->f[i], c->flen[i]);
    }
    c->a->st.records++;
  }
  al_buf_putc(c->o, '\n');
  c->row++;
out:
  for (size_t i = 0; i < c->nf; i++)
    al_free(c->f[i]);
  c->nf = 0;
}

static int do_csv(anon *a, const char *in, size_t len, const char *name, al_buf *o, al_error *err) {
  struct csv_parser p;
  csvctx c = {.a = a, .o = o};
  int rc = 0;
  if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
    return al_error_set(err, AL_ENOMEM, "out of memory");
  size_t done = csv_parse(&p, in, len, csv_field, csv_row, &c);
  if (done < len || csv_fini(&p, csv_field, csv_row, &c) != 0) {
    int line = 1;
    for (size_t i = 0; i < done && i < len; i++)
      line += in[i] == '\n';
    rc = al_error_at(err, AL_EPARSE, name, line, 0, "CSV: %s", csv_strerror(csv_error(&p)));
  } else if (c.rc) {
    rc = al_error_set(err, c.rc, "%s: cannot anonymise: %s", name, al_strerror(c.rc));
  }
  csv_free(&p);
  for (size_t i = 0; i < c.nheader; i++)
    al_free(c.header[i]);
  al_free(c.header);
  for (size_t i = 0; i < c.nf; i++)
    al_free(c.f[i]);
  al_free(c.f);
  al_free(c.flen);
  return rc;
}

int al_anon_format_of(const char *path) {
  const char *dot = path ? strrchr(path, '.') : NULL;
  if (!dot) return AL_EINVAL;
  if (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".ndjson") || !strcasecmp(dot, ".json"))
    return AL_ANON_JSONL;
  if (!strcasecmp(dot, ".csv")) return AL_ANON_CSV;
  return AL_EINVAL;
}

void al_anonymizer_free(al_anonymizer *a) {
  if (!a) return;
  record_clear(a);
  al_free(a->seen);
  synth_locale_free(a->names);
  al_scanner_free(a->sc);
  al_scan_db_free(a->db);
  al_buf_cleanup(&a->field);
  al_buf_cleanup(&a->out);
  sodium_memzero(a->key, sizeof a->key);
  al_free(a);
}

int al_anonymizer_new(uint64_t seed, al_anonymizer **out, al_error *err) {
  static const char *const dets[] = {"pii"};
  int rc = 0;
  anon *a = NULL;
  *out = NULL;
  if (sodium_init() < 0) return al_error_set(err, AL_ESYS, "libsodium failed to initialise");
  if (!(a = al_calloc(1, sizeof *a))) return al_error_set(err, AL_ENOMEM, "out of memory");
  al_buf_init(&a->field, AL_SYNTH_ANON_MAX_VALUE * 512u);
  al_buf_init(&a->out, AL_SYNTH_ANON_MAX_VALUE * 1024u);
  if ((rc = synth_locale_load(NULL, "en_US", &a->names, err))) goto out;
  al_scan_config cfg = {.detectors = dets, .n_detectors = 1};
  if ((rc = al_scan_db_new(&cfg, &a->db, err))) goto out;
  if ((rc = al_scanner_new(a->db, &a->sc))) {
    al_error_set(err, rc, "cannot create a scanner");
    goto out;
  }
  unsigned char s8[8 + 16];
  memcpy(s8, "airlock-anon-v1\0", 16);
  for (int i = 0; i < 8; i++)
    s8[16 + i] = (unsigned char)(seed >> (8 * i));
  crypto_generichash(a->key, sizeof a->key, s8, sizeof s8, NULL, 0);
  *out = a;
  a = NULL;
out:
  al_anonymizer_free(a);
  return rc;
}

int al_anonymizer_run(al_anonymizer *a, const char *in, size_t len, al_anon_format fmt,
                      const char *name, char **out, size_t *out_len, al_anon_stats *stats,
                      al_error *err) {
  int rc = 0;
  al_buf o;
  al_buf_init(&o, AL_SYNTH_ANON_MAX_BYTES * 2u);
  *out = NULL;
  if (out_len) *out_len = 0;
  if (!name) name = "<input>";
  if (len > AL_SYNTH_ANON_MAX_BYTES)
    return al_error_set(err, AL_ELIMIT, "%s: input over %u bytes", name, AL_SYNTH_ANON_MAX_BYTES);
  memset(&a->st, 0, sizeof a->st);
  al_free(a->seen);
  a->seen = NULL;
  a->seen_cap = a->seen_n = 0;
  record_clear(a);
  if (fmt == AL_ANON_JSONL)
    rc = do_jsonl(a, in, len, name, &o, err);
  else if (fmt == AL_ANON_CSV)
    rc = do_csv(a, in, len, name, &o, err);
  else
    rc = al_error_set(err, AL_EINVAL, "%s: unknown format; expected .jsonl or .csv", name);
  if (rc) goto out;
  if (stats) *stats = a->st;
  if (!o.data && al_buf_puts(&o, "")) {
    rc = al_error_set(err, AL_ENOMEM, "out of memory");
    goto out;
  }
  *out = al_buf_steal(&o, out_len);
out:
  al_buf_cleanup(&o);
  record_clear(a);
  return rc;
}

int al_synth_anonymize_buf(const char *in, size_t len, al_anon_format fmt, const char *name,
                           uint64_t seed, char **out, size_t *out_len, al_anon_stats *stats,
                           al_error *err) {
  al_anonymizer *a = NULL;
  *out = NULL;
  int rc = al_anonymizer_new(seed, &a, err);
  if (!rc) rc = al_anonymizer_run(a, in, len, fmt, name, out, out_len, stats, err);
  al_anonymizer_free(a);
  return rc;
}

int al_synth_anonymize(const char *in_path, const char *out_path, uint64_t seed,
                       al_anon_stats *stats, al_error *err) {
  int fmt = al_anon_format_of(in_path);
  char *text = NULL, *res = NULL;
  size_t len = 0, rlen = 0;
  int rc = 0;
  if (fmt < 0)
    return al_error_set(err, AL_EINVAL, "%s: expected a .jsonl, .ndjson or .csv file", in_path);
  if ((rc = al_read_file(in_path, AL_SYNTH_ANON_MAX_BYTES, &text, &len, err))) goto out;
  if ((rc = al_synth_anonymize_buf(text, len, (al_anon_format)fmt, in_path, seed, &res, &rlen,
                                   stats, err)))
    goto out;
  rc = al_write_file(out_path, res, rlen, err);
out:
  al_free(text);
  al_free(res);
  return rc;
}
