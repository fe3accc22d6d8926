/* Secrets without a vendor prefix, recognised by randomness next to a key-like name:
 *
 *  - secret.aws_secret_key: 40 base64 characters, high entropy, standing alone, with an
 *    AWS/secret word as a whole token within AL_SCAN_CTX bytes.
 *  - secret.generic: `api_key=...`, `"token": "..."`, `password: ...` and friends where the
 *    assigned value is long and random enough (Shannon entropy, character classes) and is
 *    not a placeholder (xxxx, <your key>, ${VAR}, changeme, ...). The finding is the value,
 *    so a guard can redact exactly it. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "scan/scan_internal.h"
#include "scan/validators/validators.h"

static bool b64c(int c) { return al__is_alnum(c) || c == '/' || c == '+'; }

static int classes(const char *s, size_t n) {
  int lo = 0, up = 0, dg = 0, ot = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c >= 'a' && c <= 'z') lo = 1;
    else if (c >= 'A' && c <= 'Z') up = 1;
    else if (c >= '0' && c <= '9') dg = 1;
    else ot = 1;
  }
  return lo + up + dg + ot;
}

/* ---- AWS secret access key ---- */
static int aws_sk_patterns(void *st, al_pattern_sink *sink) {
  return al_pattern_add(sink, "[A-Za-z0-9/+]{40}", AL_PAT_B64RUN, 0);
}

static int aws_sk_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                         unsigned id, al_finding *f) {
  static const char *const words[] = {"aws", "secret", "secret access key", "secretaccesskey",
                                      "aws secret access key", NULL};
  if (s > 0 && (b64c((unsigned char)t[s - 1]) || t[s - 1] == '=')) return 0;
  if (e < len && (b64c((unsigned char)t[e]) || t[e] == '=')) return 0;
  double h = al_shannon_entropy(t + s, e - s);
  if (h < 4.2 || classes(t + s, e - s) < 3) return 0;
  if (!al__context_word(t, len, s, e, words)) return 0;
  f->score = 0.9;
  al__note(f, "40-char base64 secret near an AWS/secret word, entropy %.2f bits/char", h);
  return 1;
}

const al_detector al_det_secret_aws_secret_key = {
    .name = "secret.aws_secret_key",
    .kind = "secret",
    .description = "AWS secret access keys (40 random base64 chars next to an aws/secret word)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = aws_sk_patterns,
    .verify = aws_sk_verify,
};

/* ---- generic key = value ---- */
static int generic_patterns(void *st, al_pattern_sink *sink) {
  return al_pattern_add(
      sink,
      "(?:api[_\\-.]?key|apikey|api[_\\-.]?secret|secret[_\\-.]?key|access[_\\-.]?key|"
      "access[_\\-.]?token|auth[_\\-.]?token|refresh[_\\-.]?token|bearer[_\\-.]?token|"
      "client[_\\-.]?secret|app[_\\-.]?secret|private[_\\-.]?key|token|password|passwd|pwd|"
      "secret|credentials?)[\"']?[ \\t]{0,3}(?::=|=>|[:=])[ \\t]{0,3}[\"']?"
      "[^\\s\"'`<>,;(){}\\[\\]]{8,128}",
      HS_FLAG_CASELESS | AL_PAT_NO_SOM, 0);
}

/* The key names of the pattern, for finding the start inside the candidate window. */
static const char *const keys[] = {"api_key", "apikey", "api_secret", "secret_key",
                                   "access_key", "access_token", "auth_token", "refresh_token",
                                   "bearer_token", "client_secret", "app_secret", "private_key",
                                   "token", "password", "passwd", "pwd", "secret", "credentials",
                                   "credential", NULL};

/* Match key name k at t[i..] ('_' in k stands for an optional one of "_-."); returns the
 * end of the key or 0. */
static size_t match_key(const char *t, size_t i, size_t e, const char *k) {
  for (; *k; k++) {
    if (*k == '_') {
      if (i < e && (t[i] == '_' || t[i] == '-' || t[i] == '.')) i++;
      continue;
    }
    if (i >= e || tolower((unsigned char)t[i]) != *k) return 0;
    i++;
  }
  return i;
}

/* After a key: quote? blanks{0,3} (:=|=>|:|=) blanks{0,3} quote? -> value start or 0 */
static size_t match_op(const char *t, size_t i, size_t e) {
  if (i < e && (t[i] == '"' || t[i] == '\'')) i++;
  for (int k = 0; k < 3 && i < e && (t[i] == ' ' || t[i] == '\t'); k++) i++;
  if (i + 1 < e && ((t[i] == ':' && t[i + 1] == '=') || (t[i] == '=' && t[i + 1] == '>')))
    i += 2;
  else if (i < e && (t[i] == ':' || t[i] == '='))
    i++;
  else
    return 0;
  for (int k = 0; k < 3 && i < e && (t[i] == ' ' || t[i] == '\t'); k++) i++;
  if (i < e && (t[i] == '"' || t[i] == '\'')) i++;
  return i;
}

static bool valc(int c) {
  return c > ' ' && c < 127 && !strchr("\"'`<>,;(){}[]", c);
}

static bool placeholder(const char *v, size_t n) {
  static const char *const words[] = {"xxxx", "****", "....", "${", "{{", "%(", "your",
                                      "example", "changeme", "change_me", "placeholder",
                                      "dummy", "redacted", "secret", "password", "token",
                                      "undefined", "null", "none", "env", "process.", "os.",
                                      "getenv", "config", "settings", "sample", "test1234",
                                      NULL};
  char low[130];
  size_t k = n < sizeof low - 1 ? n : sizeof low - 1;
  for (size_t i = 0; i < k; i++) low[i] = (char)tolower((unsigned char)v[i]);
  low[k] = '\0';
  for (int i = 0; words[i]; i++)
    if (strstr(low, words[i])) return true;
  /* one character repeated, or a run like 12345678/abcdefgh */
  size_t same = 0, seq = 0;
  for (size_t i = 1; i < n; i++) {
    if (v[i] == v[i - 1]) same++;
    if (v[i] == v[i - 1] + 1) seq++;
  }
  return same * 2 >= n || seq * 2 >= n;
}

static int generic_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                          unsigned id, al_finding *f) {
  /* the value must be maximal: nothing value-like continues after the candidate */
  if (e < len && valc((unsigned char)t[e])) return 0;
  /* leftmost key + operator whose value runs to the end of the candidate */
  size_t ks = 0, key_end = 0, vs = 0;
  for (size_t i = s; i < e && !vs; i++) {
    for (int k = 0; keys[k] && !vs; k++) {
      size_t ke = match_key(t, i, e, keys[k]);
      size_t v = ke ? match_op(t, ke, e) : 0;
      if (!v || e - v < 8 || e - v > 128) continue;
      bool all = true;
      for (size_t j = v; j < e && all; j++) all = valc((unsigned char)t[j]);
      if (all) {
        ks = i;
        key_end = ke;
        vs = v;
      }
    }
  }
  if (!vs) return 0;
  s = ks;
  size_t ve = e;
  while (ve > vs && strchr(".!?", t[ve - 1])) ve--; /* end of a sentence */
  size_t n = ve - vs;
  if (n < 8) return 0;
  /* URLs and paths are not secrets by themselves */
  if (memmem(t + vs, n, "://", 3) || t[vs] == '/' || t[vs] == '$' || t[vs] == '%') return 0;
  if (placeholder(t + vs, n)) return 0;
  double h = al_shannon_entropy(t + vs, n);
  int cls = classes(t + vs, n);
  bool pw = false;
  for (size_t i = s; i + 2 < key_end; i++)
    if (!strncasecmp(t + i, "pass", 4) || !strncasecmp(t + i, "pwd", 3)) pw = true;
  double need = pw ? 2.8 : 3.3;
  if (h < need || (cls < 2 && h < 4.0)) return 0;
  f->start = vs;
  f->end = ve;
  f->score = h >= 4.0 ? 0.85 : 0.7;
  al__note(f, "value assigned to %.*s, entropy %.2f bits/char, %d character classes",
           (int)(key_end - s > 40 ? 40 : key_end - s), t + s, h, cls);
  return 1;
}

const al_detector al_det_secret_generic = {
    .name = "secret.generic",
    .kind = "secret",
    .description = "high-entropy values assigned to key-like names (api_key=, token:, "
                   "password=, client_secret ...)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = generic_patterns,
    .verify = generic_verify,
};
