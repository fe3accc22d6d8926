/* PII detectors for network identifiers: pii.email, pii.ipv4, pii.ipv6.
 *
 * Patterns are loose on purpose (Hyperscan reports each possible end); verify() keeps the
 * candidate whose end is a real boundary and that the validator accepts (RFC-shaped e-mail
 * with a letter TLD; inet_pton for IP addresses). */
#include <string.h>
#include <strings.h>

#include "scan/scan_internal.h"
#include "scan/validators/validators.h"

static bool local_char(int c) {
  return al__is_alnum(c) || (c && strchr("._%+-", c));
}

static int email_patterns(void *st, al_pattern_sink *sink) {
  return al_pattern_add(sink,
                        "[A-Za-z0-9._%+\\-]{1,64}@[A-Za-z0-9\\-]{1,63}"
                        "(?:\\.[A-Za-z0-9\\-]{1,63}){1,6}\\b",
                        AL_PAT_NO_SOM, 0);
}

static int email_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                        unsigned id, al_finding *f) {
  /* The pattern has no start tracking: find the '@' and walk back over the local part. */
  const char *at = NULL;
  for (size_t i = e; i > s; i--)
    if (t[i - 1] == '@') {
      at = t + i - 1;
      break;
    }
  if (!at) return 0;
  size_t ls = (size_t)(at - t);
  while (ls > s && (size_t)(at - t) - ls < 64 && local_char((unsigned char)t[ls - 1])) ls--;
  s = ls;
  /* maximal on both sides: no local-part byte before, no domain continuation after */
  if (s > 0 && local_char((unsigned char)t[s - 1])) return 0;
  if (e < len && (al__is_alnum((unsigned char)t[e]) || t[e] == '-')) return 0;
  if (e + 1 < len && t[e] == '.' && al__is_alnum((unsigned char)t[e + 1])) return 0;
  /* a sentence may end right after the address: "mail a@b.com." is fine */
  while (s < e && t[s] == '.') s++;
  if (!al_email_ok(t + s, e - s)) return 0;
  f->start = s;
  f->score = 0.95;
  al__note(f, "e-mail address at %.*s", (int)(t + e - at - 1), at + 1);
  return 1;
}

const al_detector al_det_pii_email = {
    .name = "pii.email",
    .kind = "pii",
    .description = "e-mail addresses (addr-spec with a dotted domain and a letter TLD)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = email_patterns,
    .verify = email_verify,
};

/* ---- IPv4 ---- */
static int ipv4_patterns(void *st, al_pattern_sink *sink) {
  static const al_digit_shape quad = {
      4, 0, {{1, 3, 0, 0, "."}, {1, 3, 0, 0, "."}, {1, 3, 0, 0, "."}, {1, 3}}};
  int rc = al_pattern_add(sink, "\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b", AL_PAT_DIGITS, 0);
  if (!rc) rc = al__pattern_shape(sink, &quad);
  return rc;
}

static const char *const version_words[] = {"version", "v", "ver", "release", "build", "oid",
                                             NULL};

static int ipv4_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                       unsigned id, al_finding *f) {
  /* part of a longer dotted number (1.2.3.4.5, an OID, a version) */
  if (s >= 2 && t[s - 1] == '.' && al__is_digit((unsigned char)t[s - 2])) return 0;
  if (e + 1 < len && t[e] == '.' && al__is_digit((unsigned char)t[e + 1])) return 0;
  if (!al_ipv4_ok(t + s, e - s)) return 0;
  /* "version 1.2.3.4" / "v1.2.3.4": the word right before the address */
  if (s > 0 && (t[s - 1] == 'v' || t[s - 1] == 'V')) return 0;
  size_t p = s;
  while (p > 0 && s - p < 4 && (t[p - 1] == ' ' || t[p - 1] == ':')) p--;
  size_t k = p;
  while (k > 0 && p - k < 8 && al__is_alpha((unsigned char)t[k - 1])) k--;
  if (k < p && (k == 0 || !al__is_alnum((unsigned char)t[k - 1])))
    for (int w = 0; version_words[w]; w++)
      if (strlen(version_words[w]) == p - k && !strncasecmp(t + k, version_words[w], p - k))
        return 0;
  /* first two octets (inet_pton accepted the text, so they are 1-3 digits each); no
   * sscanf: it would strlen() the whole remaining buffer */
  unsigned a = 0, b = 0;
  size_t i = s;
  while (i < e && t[i] != '.') a = a * 10 + (unsigned)(t[i++] - '0');
  for (i++; i < e && t[i] != '.'; i++) b = b * 10 + (unsigned)(t[i] - '0');
  const char *what = a == 10 || (a == 172 && b >= 16 && b < 32) || (a == 192 && b == 168)
                         ? "private"
                     : a == 127 ? "loopback"
                     : a == 0 || a >= 224 ? "reserved/multicast"
                                          : "public";
  f->score = a == 127 || a == 0 ? 0.5 : 0.9;
  al__note(f, "IPv4 address (%s)", what);
  return 1;
}

const al_detector al_det_pii_ipv4 = {
    .name = "pii.ipv4",
    .kind = "pii",
    .description = "IPv4 addresses (dotted quad validated with inet_pton; not versions/OIDs)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = ipv4_patterns,
    .verify = ipv4_verify,
};

/* ---- IPv6 ---- */
static int ipv6_patterns(void *st, al_pattern_sink *sink) {
  int rc = al_pattern_add(sink, "(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}", 0, 0);
  if (rc == 0)
    rc = al_pattern_add(sink, "(?:[0-9A-Fa-f]{0,4}:){2,6}(?:\\d{1,3}\\.){3}\\d{1,3}", 0, 1);
  return rc;
}

static bool hexc(int c) { return al__is_digit(c) || ((c | 32) >= 'a' && (c | 32) <= 'f'); }

static int ipv6_verify(const void *st, const char *t, size_t len, size_t s, size_t e,
                       unsigned id, al_finding *f) {
  if (s > 0 && (hexc((unsigned char)t[s - 1]) || t[s - 1] == ':' || al__is_alnum((unsigned char)t[s - 1])))
    return 0;
  if (e < len && (al__is_alnum((unsigned char)t[e]) || t[e] == ':')) return 0;
  if (e + 1 < len && t[e] == '.' && al__is_digit((unsigned char)t[e + 1])) return 0;
  if (!al_ipv6_ok(t + s, e - s)) return 0;
  int groups = 0, digits = 0;
  for (size_t i = s; i < e; i++) {
    if (hexc((unsigned char)t[i]) && (i == s || !hexc((unsigned char)t[i - 1]))) groups++;
    if (al__is_digit((unsigned char)t[i])) digits++;
  }
  if (groups < 3 || digits == 0) return 0; /* "a::b", "std::", times like 12:30:45 */
  f->score = 0.9;
  al__note(f, "IPv6 address (%d groups written)", groups);
  return 1;
}

const al_detector al_det_pii_ipv6 = {
    .name = "pii.ipv6",
    .kind = "pii",
    .description = "IPv6 addresses (validated with inet_pton, at least three groups)",
    .flags = AL_DET_STREAMABLE | AL_DET_DEFAULT | AL_DET_INPUT | AL_DET_OUTPUT,
    .patterns = ipv6_patterns,
    .verify = ipv6_verify,
};
