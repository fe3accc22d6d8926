/* Canary tokens: HMAC-SHA256(run secret, place), first 10 bytes in base32 after the
 * "AL-CANARY-" prefix. 80 bits make a collision between two places of one run
 * negligible and a guess without the secret hopeless, while the token stays short enough
 * to survive being quoted by a model. Tracing needs the secret: the manifest alone maps
 * token -> place, and every line it yields is re-derived before it is believed. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "airlock/synth.h"
#include "airlock/util.h"
#include "synth/synth_internal.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int al_canary_make(const uint8_t secret[32], const char *place, char out[64]) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  size_t n = place ? strlen(place) : 0;
  if (!secret || !out || !n || n > AL_SYNTH_PLACE_MAX) return AL_EINVAL;
  if (sodium_init() < 0) return AL_ESYS;
  crypto_auth_hmacsha256(mac, (const unsigned char *)place, n, secret);
  size_t k = strlen(AL_CANARY_PREFIX);
  memcpy(out, AL_CANARY_PREFIX, k);
  /* 10 bytes = 80 bits = 16 base32 characters of 5 bits */
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 5; i++)
    hi = hi << 8 | mac[i];
  for (int i = 5; i < 10; i++)
    lo = lo << 8 | mac[i];
  for (int i = 7; i >= 0; i--)
    out[k++] = b32[(hi >> (5 * i)) & 31];
  for (int i = 7; i >= 0; i--)
    out[k++] = b32[(lo >> (5 * i)) & 31];
  out[k] = '\0';
  sodium_memzero(mac, sizeof mac);
  return 0;
}

int al_canary_prompt(const uint8_t secret[32], const char *name, char out[64]) {
  char place[AL_SYNTH_PLACE_MAX + 1];
  if (!name || !*name) return AL_EINVAL;
  int n = snprintf(place, sizeof place, "prompt:%s", name);
  if (n < 0 || (size_t)n >= sizeof place) return AL_ELIMIT;
  return al_canary_make(secret, place, out);
}

int al_canary_normalize(const char *token, char out[64]) {
  char t[64];
  size_t k = 0;
  if (!token) return AL_EINVAL;
  for (const char *p = token; *p; p++) {
    char c = *p;
    if (c == ' ' || c == '-' || c == '_' || c == '.' || c == '\t' || c == '\n') continue;
    if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    if (k + 1 >= sizeof t) return AL_EINVAL;
    t[k++] = c;
  }
  t[k] = '\0';
  /* "ALCANARY" + 16 base32 characters */
  if (k != 24 || memcmp(t, "ALCANARY", 8)) return AL_EINVAL;
  for (size_t i = 8; i < k; i++)
    if (!strchr(b32, t[i])) return AL_EINVAL;
  memcpy(out, AL_CANARY_PREFIX, 10);
  memcpy(out + 10, t + 8, 16);
  out[AL_CANARY_LEN] = '\0';
  return 0;
}

int al_canary_trace_places(const uint8_t secret[32], const char *const *places, size_t n,
                           const char *token) {
  char want[64], got[64];
  if (al_canary_normalize(token, want)) return AL_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (places[i] && !al_canary_make(secret, places[i], got) && !strcmp(got, want)) return (int)i;
  return AL_ENOTFOUND;
}

int al_canary_trace(const uint8_t secret[32], const char *manifest_path, const char *token,
                    char *place, size_t place_n, al_error *err) {
  int rc = AL_ENOTFOUND;
  char want[64], got[64];
  char *text = NULL;
  size_t len = 0;
  if (al_canary_normalize(token, want))
    return al_error_set(err, AL_EINVAL,
                        "'%.80s' is not a canary token (expected %sXXXXXXXXXXXXXXXX)",
                        token ? token : "", AL_CANARY_PREFIX);
  if ((rc = al_read_file(manifest_path, AL_SYNTH_MANIFEST_MAX, &text, &len, err))) goto out;
  rc = AL_ENOTFOUND;
  int line = 0;
  for (size_t i = 0; i < len;) {
    size_t e = i;
    while (e < len && text[e] != '\n')
      e++;
    line++;
    if (e > i) {
      json_error_t je;
      json_t *j = json_loadb(text + i, e - i, 0, &je);
      const char *p = j ? json_string_value(json_object_get(j, "place")) : NULL;
      const char *t = j ? json_string_value(json_object_get(j, "token")) : NULL;
      if (!p || !t) {
        json_decref(j);
        rc = al_error_at(err, AL_EPARSE, manifest_path, line, j ? 1 : je.column,
                         "expected a JSON object {\"place\": ..., \"token\": ...}%s%s",
                         j ? "" : ": ", j ? "" : je.text);
        goto out;
      }
      if (!strcmp(t, want)) {
        if (al_canary_make(secret, p, got) || strcmp(got, want)) {
          rc = al_error_at(err, AL_EINTEGRITY, manifest_path, line, 1,
                           "the manifest says place '%.100s', but the secret does not derive "
                           "this token there (wrong secret or forged manifest)",
                           p);
        } else {
          snprintf(place, place_n, "%s", p);
          rc = 0;
        }
        json_decref(j);
        goto out;
      }
      json_decref(j);
    }
    i = e + 1;
  }
  al_error_set(err, AL_ENOTFOUND, "token %s is not in %s", want, manifest_path);
out:
  al_free(text);
  return rc;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int al_synth_secret_parse(const char *hex, uint8_t out[32], al_error *err) {
  size_t n = hex ? strlen(hex) : 0;
  while (n && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' '))
    n--;
  while (n && (*hex == ' ' || *hex == '\n'))
    hex++, n--;
  if (n != 64)
    return al_error_set(err, AL_EINVAL,
                        "a run secret is 64 hex digits (32 bytes); got %zu characters", n);
  for (size_t i = 0; i < 32; i++) {
    int a = hexval(hex[2 * i]), b = hexval(hex[2 * i + 1]);
    if (a < 0 || b < 0)
      return al_error_set(err, AL_EINVAL, "run secret: character %zu is not a hex digit",
                          a < 0 ? 2 * i + 1 : 2 * i + 2);
    out[i] = (uint8_t)(a << 4 | b);
  }
  return 0;
}

int al_synth_secret_load(const char *path, uint8_t out[32], al_error *err) {
  char *text = NULL;
  size_t len = 0;
  int rc = al_read_file(path, 4096, &text, &len, err);
  if (rc) return rc;
  if (len == 32) {
    int hexish = 1;
    for (size_t i = 0; i < len; i++)
      hexish &= hexval((unsigned char)text[i]) >= 0;
    if (!hexish) {
      memcpy(out, text, 32);
      goto out;
    }
  }
  if ((rc = al_synth_secret_parse(text, out, err)))
    al_error_at(err, rc, path, 1, 0, "expected 64 hex digits or 32 raw bytes");
out:
  sodium_memzero(text, len);
  al_free(text);
  return rc;
}
