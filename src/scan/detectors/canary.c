/* canary.token: the canary strings configured for a run (al_scan_config.canaries), found
 * when a model repeats them, however lightly disguised:
 *
 *  - exact, case-folded, with whitespace in the canary folded away;
 *  - split by separators between characters: spaces, '-', '_', '.', '/', '|', ',' and the
 *    invisible ones (zero-width space/joiners U+200B-200D, word joiner U+2060, BOM U+FEFF,
 *    soft hyphen U+00AD), up to three between two characters;
 *  - base64 (standard and url-safe) at all three byte alignments: the characters fully
 *    determined by the canary's bytes, so the canary is found inside any longer base64;
 *  - hex (either case).
 * Each canary contributes literal patterns; verify() only labels which form matched. */
#include <sodium.h>
#include <string.h>

#include "airlock/util.h"
#include "scan/scan_internal.h"
#include "scan/validators/validators.h"

enum { F_PLAIN = 0, F_B64 = 1, F_B64URL = 4, F_HEX = 7, F_FORMS = 8 };

typedef struct canary_state {
  size_t n;
  char **tok;
} canary_state;

static void canary_fini(void *state) {
  canary_state *cs = state;
  if (!cs) return;
  for (size_t i = 0; i < cs->n; i++) al_free(cs->tok[i]);
  al_free(cs->tok);
  al_free(cs);
}

static int canary_init(const al_scan_config *cfg, void **state, al_error *err) {
  canary_state *cs = al_calloc(1, sizeof *cs);
  if (!cs) return al_error_set(err, AL_ENOMEM, "out of memory");
  *state = cs;
  if (!cfg->canaries || !cfg->n_canaries) return 0;
  if (cfg->n_canaries > AL_SCAN_MAX_CANARIES)
    return al_error_set(err, AL_ELIMIT, "%zu canaries configured, the limit is %d",
                        cfg->n_canaries, AL_SCAN_MAX_CANARIES);
  cs->tok = al_calloc(cfg->n_canaries, sizeof *cs->tok);
  if (!cs->tok) return al_error_set(err, AL_ENOMEM, "out of memory");
  for (size_t i = 0; i < cfg->n_canaries; i++) {
    const char *c = cfg->canaries[i];
    size_t n = c ? strlen(c) : 0;
    if (n < AL_SCAN_MIN_CANARY_LEN || n > AL_SCAN_MAX_CANARY_LEN)
      return al_error_set(err, AL_EINVAL,
                          "canary %zu is %zu bytes long; expected %d to %d bytes", i + 1, n,
                          AL_SCAN_MIN_CANARY_LEN, AL_SCAN_MAX_CANARY_LEN);
    if (!(cs->tok[i] = al_strdup(c))) return al_error_set(err, AL_ENOMEM, "out of memory");
    cs->n = i + 1;
  }
  return 0;
}

static void put_lit(char *out, size_t *k, unsigned char c) {
  static const char hx[] = "0123456789abcdef";
  if (al__is_alnum(c)) {
    out[(*k)++] = (char)c;
  } else {
    out[(*k)++] = '\\';
    out[(*k)++] = 'x';
    out[(*k)++] = hx[c >> 4];
    out[(*k)++] = hx[c & 15];
  }
}

#define SEP "(?:[\\s\\-_./|,]|\\xe2\\x80[\\x8b-\\x8d]|\\xe2\\x81\\xa0|\\xef\\xbb\\xbf|\\xc2\\xad){0,3}"

static int add_literal(al_pattern_sink *sink, const char *s, size_t n, unsigned flags,
                       unsigned id) {
  char re[4 * 2 * AL_SCAN_MAX_CANARY_LEN + 8];
  size_t k = 0;
  if (n * 4 + 1 > sizeof re) return AL_ELIMIT;
  for (size_t i = 0; i < n; i++) put_lit(re, &k, (unsigned char)s[i]);
  re[k] = '\0';
  return al_pattern_add(sink, re, flags, id);
}

static int canary_patterns(void *state, al_pattern_sink *sink) {
  canary_state *cs = state;
  int rc = 0;
  for (size_t i = 0; i < cs->n && !rc; i++) {
    const char *c = cs->tok[i];
    size_t n = strlen(c);
    unsigned base = (unsigned)i * F_FORMS;
    /* plain / folded / separated */
    char re[AL_SCAN_MAX_CANARY_LEN * (4 + sizeof SEP) + 8];
    size_t k = 0, emitted = 0, alnum_count = 0;
    for (size_t j = 0; j < n; j++) alnum_count += al__is_alnum((unsigned char)c[j]);
    for (size_t j = 0; j < n; j++) {
      unsigned char ch = (unsigned char)c[j];
      /* the canary's own punctuation and spaces fold into the separators */
      if (alnum_count >= 4 && !al__is_alnum(ch)) continue;
      if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') continue;
      if (emitted++) {
        memcpy(re + k, SEP, sizeof SEP - 1);
        k += sizeof SEP - 1;
      }
      put_lit(re, &k, ch);
    }
    re[k] = '\0';
    if ((rc = al_pattern_add(sink, re, HS_FLAG_CASELESS, base + F_PLAIN))) break;
    /* base64 at three alignments, standard and url-safe */
    unsigned char bin[AL_SCAN_MAX_CANARY_LEN + 2] = {0};
    char b64[2 * AL_SCAN_MAX_CANARY_LEN + 8];
    for (unsigned a = 0; a < 3 && !rc; a++) {
      memset(bin, 0, a);
      memcpy(bin + a, c, n);
      sodium_bin2base64(b64, sizeof b64, bin, a + n, sodium_base64_VARIANT_ORIGINAL);
      size_t lo = (8 * a + 5) / 6, hi = 8 * (a + n) / 6;
      if (hi <= lo || hi - lo < 8) continue;
      if ((rc = add_literal(sink, b64 + lo, hi - lo, 0, base + F_B64 + a))) break;
      bool differs = false;
      for (size_t j = lo; j < hi; j++)
        if (b64[j] == '+' || b64[j] == '/') {
          b64[j] = b64[j] == '+' ? '-' : '_';
          differs = true;
        }
      if (differs) rc = add_literal(sink, b64 + lo, hi - lo, 0, base + F_B64URL + a);
    }
    if (rc) break;
    char hex[2 * AL_SCAN_MAX_CANARY_LEN + 1];
    al_hex(c, n, hex);
    rc = add_literal(sink, hex, 2 * n, HS_FLAG_CASELESS, base + F_HEX);
  }
  return rc;
}

static bool b64char(int c, bool url) {
  return al__is_alnum(c) || (url ? (c == '-' || c == '_') : (c == '+' || c == '/'));
}

/* The literal covers only the base64 characters fully determined by the canary; the bits
 * of its first and last byte that share a character with neighbouring bytes are checked
 * here by decoding the whole 4-character groups around the match (a byte outside the text
 * or a non-base64 neighbour counts as zero bits). */
static bool b64_confirm(const char *t, size_t len, size_t s, const char *c, size_t n,
                        unsigned a, bool url) {
  size_t lo = (8 * a + 5) / 6;
  size_t need = ((a + n + 2) / 3) * 4;
  char buf[2 * AL_SCAN_MAX_CANARY_LEN + 16];
  unsigned char out[AL_SCAN_MAX_CANARY_LEN + 8];
  if (need > sizeof buf) return false;
  for (size_t i = 0; i < need; i++) {
    long pos = (long)s - (long)lo + (long)i;
    int ch = pos >= 0 && (size_t)pos < len ? (unsigned char)t[pos] : 'A';
    if (!b64char(ch, url)) ch = 'A';
    buf[i] = (char)ch;
  }
  long got = al_base64_decode(buf, need, out, sizeof out, url);
  return got >= (long)(a + n) && !memcmp(out + a, c, n);
}

static int canary_verify(const void *state, const char *t, size_t len, size_t s, size_t e,
                         unsigned id, al_finding *f) {
  const canary_state *cs = state;
  size_t idx = id / F_FORMS;
  unsigned form = id % F_FORMS;
  if (idx >= cs->n) return 0;
  const char *c = cs->tok[idx];
  size_t n = strlen(c);
  f->score = 1.0;
  if (form == F_PLAIN) {
    const char *how = e - s == n && !memcmp(t + s, c, n)            ? "exact"
                      : e - s == n && !strncasecmp(t + s, c, n)     ? "case-folded"
                                                                    : "split by separators";
    al__note(f, "canary #%zu, %s", idx + 1, how);
  } else if (form == F_HEX) {
    al__note(f, "canary #%zu, hex-encoded", idx + 1);
  } else {
    if (!b64_confirm(t, len, s, c, n, (form - F_B64) % 3, form >= F_B64URL)) return 0;
    al__note(f, "canary #%zu, %s at byte offset %u", idx + 1,
             form >= F_B64URL ? "base64url" : "base64", (form - F_B64) % 3);
  }
  return 1;
}

const al_detector al_det_canary_token = {
    .name = "canary.token",
    .kind = "canary",
    .description = "configured canary tokens: exact, case/space-folded, split by (invisible) "
                   "separators, base64 at 3 alignments, hex",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_OUTPUT,
    .init = canary_init,
    .patterns = canary_patterns,
    .verify = canary_verify,
    .fini = canary_fini,
};
