/* Secret detectors for credentials with a recognisable prefix or frame:
 * secret.aws_access_key, secret.github_token, secret.slack_token, secret.stripe_key,
 * secret.private_key (PEM), secret.jwt.
 *
 * The prefix makes the shape almost unique; verify() checks boundaries, alphabet and
 * structure (JWT header decodes to JSON with "alg"; PEM blocks are extended to their END
 * line when it is in view). */
#include <string.h>

#include "scan/scan_internal.h"
#include "scan/validators/validators.h"

static bool tokc(int c) { return al__is_alnum(c) || c == '_' || c == '-'; }

static bool bounded_token(const char *t, size_t len, size_t s, size_t e) {
  return !(s > 0 && tokc((unsigned char)t[s - 1])) && !(e < len && tokc((unsigned char)t[e]));
}

/* ---- AWS access key id ---- */
static int aws_ak_patterns(void *st, al_pattern_sink *sink) {
  return al_pattern_add(sink, "(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[A-Z2-7]{16}", 0, 0);
}

static int aws_ak_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                         unsigned id, al_finding *f) {
  if (s > 0 && al__is_alnum((unsigned char)t[s - 1])) return 0;
  if (e < len && al__is_alnum((unsigned char)t[e])) return 0;
  bool example = e - s == 20 && !memcmp(t + e - 7, "EXAMPLE", 7);
  f->score = example ? 0.5 : 0.95;
  al__note(f, "AWS %s key id (%.4s)%s", !memcmp(t + s, "ASIA", 4) ? "temporary" : "access",
           t + s, example ? ", documentation example" : "");
  return 1;
}

const al_detector al_det_secret_aws_access_key = {
    .name = "secret.aws_access_key",
    .kind = "secret",
    .description = "AWS access key ids (AKIA/ASIA/... + 16 base32 characters)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = aws_ak_patterns,
    .verify = aws_ak_verify,
};

/* ---- GitHub tokens ---- */
static int gh_patterns(void *st, al_pattern_sink *sink) {
  int rc = al_pattern_add(sink, "gh[pousr]_[A-Za-z0-9]{36}", 0, 0);
  if (!rc) rc = al_pattern_add(sink, "github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}", 0, 1);
  return rc;
}

static int gh_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                     unsigned id, al_finding *f) {
  if (!bounded_token(t, len, s, e)) return 0;
  double h = al_shannon_entropy(t + s + 4, e - s - 4);
  if (h < 3.0) return 0; /* ghp_xxxxxxxx... placeholders */
  static const char *const kinds[] = {"personal access", "OAuth", "user-to-server",
                                      "server-to-server", "refresh"};
  const char *k = id == 1 ? "fine-grained personal access" : "?";
  if (id == 0) k = kinds[strchr("pousr", t[s + 2]) - "pousr"];
  f->score = 0.95;
  al__note(f, "GitHub %s token, entropy %.2f bits/char", k, h);
  return 1;
}

const al_detector al_det_secret_github_token = {
    .name = "secret.github_token",
    .kind = "secret",
    .description = "GitHub tokens (ghp_/gho_/ghu_/ghs_/ghr_ + 36, github_pat_...)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = gh_patterns,
    .verify = gh_verify,
};

/* ---- Slack tokens ---- */
static int slack_patterns(void *st, al_pattern_sink *sink) {
  return al_pattern_add(sink, "xox[abprs]-(?:[0-9]{6,15}-){1,3}[A-Za-z0-9]{10,64}", 0, 0);
}

static int slack_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                        unsigned id, al_finding *f) {
  if (!bounded_token(t, len, s, e)) return 0;
  static const char *const kinds[] = {"app", "bot", "workspace", "user", "refresh"};
  const char *k = strchr("abprs", t[s + 3]) ? kinds[strchr("abprs", t[s + 3]) - "abprs"] : "?";
  f->score = 0.95;
  al__note(f, "Slack %s token (xox%c)", k, t[s + 3]);
  return 1;
}

const al_detector al_det_secret_slack_token = {
    .name = "secret.slack_token",
    .kind = "secret",
    .description = "Slack tokens (xoxa/xoxb/xoxp/xoxr/xoxs-digits-...-secret)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = slack_patterns,
    .verify = slack_verify,
};

/* ---- Stripe keys ---- */
static int stripe_patterns(void *st, al_pattern_sink *sink) {
  return al_pattern_add(sink, "(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}", 0, 0);
}

static int stripe_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                         unsigned id, al_finding *f) {
  if (!bounded_token(t, len, s, e)) return 0;
  bool live = !memcmp(t + s + 3, "live", 4);
  double h = al_shannon_entropy(t + s + 8, e - s - 8);
  if (h < 3.0) return 0;
  f->score = live ? 0.95 : 0.7;
  al__note(f, "Stripe %s %s key", t[s] == 'r' ? "restricted" : "secret", live ? "live" : "test");
  return 1;
}

const al_detector al_det_secret_stripe_key = {
    .name = "secret.stripe_key",
    .kind = "secret",
    .description = "Stripe secret and restricted keys (sk_live_/rk_live_/sk_test_/rk_test_)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = stripe_patterns,
    .verify = stripe_verify,
};

/* ---- PEM private keys ---- */
static int pem_patterns(void *st, al_pattern_sink *sink) {
  return al_pattern_add(sink,
                        "-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY"
                        "(?: BLOCK)?-----",
                        0, 0);
}

static int pem_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                      unsigned id, al_finding *f) {
  /* Extend to the END line when it is in view (block mode, or already streamed). */
  size_t lim = len - e > AL_SCAN_PEM_MAX ? e + AL_SCAN_PEM_MAX : len;
  const char *end = NULL;
  for (const char *p = t + e; p + 9 <= t + lim; p++) {
    p = memchr(p, '-', (size_t)(t + lim - p));
    if (!p || p + 9 > t + lim) break;
    if (!memcmp(p, "-----END ", 9)) {
      const char *q = p + 9;
      const char *close = NULL;
      for (const char *r = q; r + 5 <= t + lim && r < q + 40; r++)
        if (!memcmp(r, "-----", 5)) {
          close = r + 5;
          break;
        }
      if (close) end = close;
      break;
    }
  }
  if (end) f->end = (size_t)(end - t);
  f->score = 1.0;
  al__note(f, "PEM %.*s%s", (int)(e - s - 10), t + s + 5, end ? " block" : " header");
  return 1;
}

const al_detector al_det_secret_private_key = {
    .name = "secret.private_key",
    .kind = "secret",
    .description = "PEM private key blocks (BEGIN ... PRIVATE KEY to END line)",
    .flags = AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = pem_patterns,
    .verify = pem_verify,
};

/* ---- JWT ---- */
static int jwt_patterns(void *st, al_pattern_sink *sink) {
  return al_pattern_add(sink,
                        "eyJ[A-Za-z0-9_\\-]{7,600}\\.[A-Za-z0-9_\\-]{2,900}\\.[A-Za-z0-9_\\-]{0,500}",
                        AL_PAT_NO_SOM, 0);
}

static int jwt_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                      unsigned id, al_finding *f) {
  /* No start tracking: walk back over signature, payload and header. */
  size_t p = e;
  for (int dots = 0; p > s; p--) {
    int c = (unsigned char)t[p - 1];
    if (c == '.') {
      if (++dots > 2) break;
    } else if (!tokc(c)) {
      break;
    }
  }
  if (e - p < 3 || memcmp(t + p, "eyJ", 3)) return 0;
  s = p;
  f->start = s;
  if (!bounded_token(t, len, s, e)) return 0;
  if (e < len && t[e] == '.') return 0;
  if (!al_jwt_ok(t + s, e - s)) return 0;
  bool unsigned_jwt = t[e - 1] == '.';
  f->score = unsigned_jwt ? 0.8 : 0.95;
  al__note(f, "JWT, header has \"alg\"%s", unsigned_jwt ? ", no signature" : "");
  return 1;
}

const al_detector al_det_secret_jwt = {
    .name = "secret.jwt",
    .kind = "secret",
    .description = "JSON Web Tokens (three base64url parts, header decodes to JSON with alg)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = jwt_patterns,
    .verify = jwt_verify,
};
