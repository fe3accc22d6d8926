/* Defence in depth for the run manifest: the target config is stored with secrets removed.
 *
 * The runner already drops what it knows to be credentials; the store does not rely on it.
 * In the target JSON it replaces with "[redacted]": every value of an "env" or "headers"
 * mapping, the value of any member whose name is a credential word ("api_key", "token",
 * "secret", "password", "authorization", "cookie", ...) or ends in "_<word>" (names ending
 * in "_env" name an environment variable and are kept), and the password of a URL with
 * user information (parsed with libcurl's URL API).
 */
#include <ctype.h>
#include "http/curl.h"
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static const char *const words[] = {"api_key",     "apikey",       "key",           "token",
                                    "secret",      "password",     "passwd",        "authorization",
                                    "cookie",      "bearer",       "credential",    "credentials",
                                    "private_key", "access_token", "client_secret", NULL};

static int secret_name(const char *k) {
  char low[128];
  size_t n = strlen(k);
  if (n >= sizeof low) n = sizeof low - 1;
  for (size_t i = 0; i < n; i++)
    low[i] = (char)tolower((unsigned char)k[i]);
  low[n] = '\0';
  if (n >= 4 && strcmp(low + n - 4, "_env") == 0) return 0;
  for (int i = 0; words[i]; i++) {
    size_t w = strlen(words[i]);
    if (strcmp(low, words[i]) == 0) return 1;
    if (n > w && low[n - w - 1] == '_' && strcmp(low + n - w, words[i]) == 0) return 1;
  }
  return 0;
}

/* A URL whose user information carries a password comes back without it. */
static json_t *clean_url(const char *s) {
  json_t *out = NULL;
  char *pw = NULL, *clean = NULL;
  if (!strstr(s, "://") || !strchr(s, '@')) return NULL;
  CURLU *u = curl_url();
  if (!u) return NULL;
  if (curl_url_set(u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK && pw &&
      curl_url_set(u, CURLUPART_PASSWORD, "redacted", 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &clean, 0) == CURLUE_OK)
    out = json_string(clean);
  curl_free(pw);
  curl_free(clean);
  curl_url_cleanup(u);
  return out;
}

static int redact(json_t *v, int depth) {
  const char *k;
  json_t *x;
  size_t i;
  if (depth > 64) return 0;
  if (json_is_array(v)) {
    json_array_foreach(v, i, x) {
      json_t *u = json_is_string(x) ? clean_url(json_string_value(x)) : NULL;
      if (u)
        json_array_set_new(v, i, u);
      else
        redact(x, depth + 1);
    }
    return 0;
  }
  if (!json_is_object(v)) return 0;
  json_object_foreach(v, k, x) {
    int map = (strcmp(k, "env") == 0 || strcmp(k, "headers") == 0) && json_is_object(x);
    if (map) {
      const char *mk;
      json_t *mv;
      json_object_foreach(x, mk, mv) json_object_set_new(x, mk, json_string("[redacted]"));
    } else if (!json_is_object(x) && !json_is_array(x) && !json_is_null(x) && secret_name(k)) {
      json_object_set_new(v, k, json_string("[redacted]"));
    } else if (json_is_string(x)) {
      json_t *u = clean_url(json_string_value(x));
      if (u) json_object_set_new(v, k, u);
    } else {
      redact(x, depth + 1);
    }
  }
  return 0;
}

int al_store__redact_target(const char *target_json, char **out, al_error *err) {
  *out = NULL;
  if (!target_json) return 0;
  json_error_t je;
  json_t *v = json_loads(target_json, JSON_DECODE_ANY, &je);
  if (!v)
    return al_error_at(err, AL_EINVAL, "target_json", je.line, je.column,
                       "target config is not JSON: %s", je.text);
  redact(v, 0);
  *out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(v);
  return *out ? 0 : al_error_set(err, AL_ENOMEM, "out of memory");
}
