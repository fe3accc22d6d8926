/* Alerts: parse the suite's `alerts:` mapping, build the evidence, queue it for the worker.
 *
 * The queue is a ring of rendered JSON strings guarded by one mutex; the worker thread
 * (deliver.c) starts at the first alert, so a suite that never fails never spawns it, and
 * parsing stays a pure function (fuzzed by tests/fuzz/fuzz_alerts.c). A full queue drops
 * the new alert and counts it as failed: the runner must never wait for a webhook. */
#include <stdio.h>
#include <string.h>

#include "http/curl.h"

#include "airlock/util.h"
#include "alerts/alerts_internal.h"

static const struct {
  const char *name;
  unsigned bit;
} sevs[] = {{"critical", SEV_CRITICAL},
            {"high", SEV_HIGH},
            {"medium", SEV_MEDIUM},
            {"low", SEV_LOW},
            {"info", SEV_INFO}};

static unsigned sev_bit(const char *s) {
  for (size_t i = 0; s && i < sizeof sevs / sizeof sevs[0]; i++)
    if (!strcmp(sevs[i].name, s)) return sevs[i].bit;
  return 0;
}

void al_alerts_free(al_alerts *a) {
  if (!a) return;
  if (a->started) {
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
  }
  if (a->q) {
    for (int i = 0; i < a->q_len; i++)
      al_free(a->q[(a->q_head + i) % a->queue_max]);
    al_free(a->q);
  }
  pthread_mutex_destroy(&a->mu);
  pthread_cond_destroy(&a->cv);
  pthread_cond_destroy(&a->idle_cv);
  al_free(a->url);
  for (int i = 0; i < a->n_headers; i++)
    al_free(a->headers[i]);
  for (int i = 0; a->argv[i]; i++)
    al_free(a->argv[i]);
  al_free(a);
}

static bool has_crlf(const char *s) { return strchr(s, '\r') || strchr(s, '\n'); }

/* Expand ${NAME} from the environment, so tokens stay out of suite files. Returns 0, or
 * AL_ENOTFOUND with *missing naming the unset variable (its value is never echoed), or
 * AL_ELIMIT when the result does not fit. */
static int expand_env(const char *in, char *out, size_t n, char missing[64]) {
  size_t k = 0;
  for (const char *p = in; *p;) {
    const char *end = p[0] == '$' && p[1] == '{' ? strchr(p + 2, '}') : NULL;
    bool name_ok = end && end > p + 2 && end - p - 2 < 64;
    for (const char *q = p + 2; name_ok && q < end; q++)
      name_ok = (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || *q == '_' ||
                (q > p + 2 && *q >= '0' && *q <= '9');
    if (!name_ok) {
      if (k + 1 >= n) return AL_ELIMIT;
      out[k++] = *p++;
      continue;
    }
    snprintf(missing, 64, "%.*s", (int)(end - p - 2), p + 2);
    const char *v = getenv(missing);
    if (!v) return AL_ENOTFOUND;
    size_t vl = strlen(v);
    if (k + vl + 1 > n) return AL_ELIMIT;
    memcpy(out + k, v, vl);
    k += vl;
    p = end + 1;
  }
  out[k] = '\0';
  return 0;
}

static int parse_webhook(const al_ydoc *d, const json_t *w, al_alerts *a, al_error *e) {
  static const char *const keys[] = {"url", "headers", "retries", "timeout", "backoff", NULL};
  const char *url = NULL;
  long long v = 0;
  int rc;
  if (!json_is_object(w))
    return al_ydoc_err(d, e, w, AL_EPARSE,
                       "'webhook' is a mapping {url, headers, retries, timeout, backoff}");
  if ((rc = al_ydoc_check_keys(d, e, w, "webhook", keys))) return rc;
  if ((rc = al_ydoc_get_str(d, e, w, "url", &url)) < 0) return rc;
  if (!rc) return al_ydoc_err(d, e, w, AL_EPARSE, "'webhook' needs a 'url'");
  if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
    return al_ydoc_err_member(d, e, w, "url", AL_EPARSE,
                              "webhook url must start with http:// or https://");
  if (strlen(url) > 2048 || has_crlf(url) || strchr(url, ' '))
    return al_ydoc_err_member(d, e, w, "url", AL_EPARSE, "webhook url is not a valid URL");
  char exp[4096], missing[64];
  if ((rc = expand_env(url, exp, sizeof exp, missing)))
    return al_ydoc_err_member(d, e, w, "url", AL_EPARSE, "webhook url: %s",
                              rc == AL_ENOTFOUND ? "an environment variable it names is not set"
                                                 : "too long after expanding ${...}");
  if (has_crlf(exp))
    return al_ydoc_err_member(d, e, w, "url", AL_EPARSE, "webhook url is not a valid URL");
  if (!(a->url = al_strdup(exp))) return AL_ENOMEM;
  if ((rc = al_ydoc_get_int(d, e, w, "retries", 0, AL_ALERTS_MAX_RETRIES, &v)) < 0) return rc;
  if (rc) a->retries = (int)v;
  if ((rc = al_ydoc_get_ms(d, e, w, "timeout", &v)) < 0) return rc;
  if (rc) {
    if (v < 1 || v > 600000)
      return al_ydoc_err_member(d, e, w, "timeout", AL_EPARSE, "timeout must be 1ms..10m");
    a->timeout_ms = v;
  }
  if ((rc = al_ydoc_get_ms(d, e, w, "backoff", &v)) < 0) return rc;
  if (rc) {
    if (v < 0 || v > AL_ALERTS_MAX_BACKOFF_MS)
      return al_ydoc_err_member(d, e, w, "backoff", AL_EPARSE, "backoff must be 0..10s");
    a->backoff_ms = v;
  }
  const json_t *h = json_object_get(w, "headers");
  if (h) {
    const char *k;
    const json_t *hv;
    if (!json_is_object(h))
      return al_ydoc_err_member(d, e, w, "headers", AL_EPARSE,
                                "'headers' is a mapping of name: value");
    if (json_object_size(h) > AL_ALERTS_MAX_HEADERS)
      return al_ydoc_err_member(d, e, w, "headers", AL_ELIMIT, "at most %d headers",
                                AL_ALERTS_MAX_HEADERS);
    json_object_foreach((json_t *)h, k, hv) {
      char buf[4096];
      if (!*k || strpbrk(k, ":\r\n "))
        return al_ydoc_err_member(d, e, h, k, AL_EPARSE, "header name '%.60s' is not a token", k);
      if (!json_is_string(hv) && !json_is_integer(hv))
        return al_ydoc_err_member(d, e, h, k, AL_EPARSE, "header '%.60s' needs a string value", k);
      if (json_is_string(hv)) {
        if (has_crlf(json_string_value(hv)))
          return al_ydoc_err_member(d, e, h, k, AL_EPARSE, "header '%.60s' contains a line break",
                                    k);
        char exp[4000], missing[64];
        int er = expand_env(json_string_value(hv), exp, sizeof exp, missing);
        if (er == AL_ENOTFOUND)
          return al_ydoc_err_member(d, e, h, k, AL_EPARSE,
                                    "header '%.60s': environment variable %s is not set", k,
                                    missing);
        if (er || has_crlf(exp))
          return al_ydoc_err_member(
              d, e, h, k, AL_EPARSE,
              "header '%.60s' is too long or contains a line break after expanding ${...}", k);
        snprintf(buf, sizeof buf, "%s: %s", k, exp);
      } else {
        snprintf(buf, sizeof buf, "%s: %" JSON_INTEGER_FORMAT, k, json_integer_value(hv));
      }
      if (!(a->headers[a->n_headers] = al_strdup(buf))) return AL_ENOMEM;
      a->n_headers++;
    }
  }
  return 0;
}

int al_alerts_parse(const al_ydoc *d, const json_t *node, al_alerts **out, al_error *e) {
  static const char *const keys[] = {"on", "webhook", "command", "command_timeout", "queue", NULL};
  int rc = 0;
  long long v = 0;
  al_alerts *a = NULL;
  *out = NULL;
  if (!json_is_object(node))
    return al_ydoc_err(d, e, node, AL_EPARSE, "'alerts' is a mapping {on, webhook, command}");
  if ((rc = al_ydoc_check_keys(d, e, node, "alerts", keys))) return rc;
  if (!(a = al_calloc(1, sizeof *a))) return al_error_set(e, AL_ENOMEM, "out of memory");
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->cv, NULL);
  pthread_cond_init(&a->idle_cv, NULL);
  a->on = SEV_CRITICAL;
  a->timeout_ms = 5000;
  a->backoff_ms = 500;
  a->command_timeout_ms = 10000;
  a->queue_max = 256;
  const json_t *on = json_object_get(node, "on");
  if (on) {
    a->on = 0;
    if (json_is_string(on)) {
      if (!(a->on = sev_bit(json_string_value(on)))) {
        rc = al_ydoc_err_member(
            d, e, node, "on", AL_EPARSE,
            "unknown severity '%.40s'; expected critical, high, medium, low or info",
            json_string_value(on));
        goto out;
      }
    } else if (json_is_array(on) && json_array_size(on) > 0) {
      size_t i;
      const json_t *s;
      json_array_foreach(on, i, s) {
        unsigned b = json_is_string(s) ? sev_bit(json_string_value(s)) : 0;
        if (!b) {
          rc = al_ydoc_err_item(d, e, on, i, AL_EPARSE,
                                "expected a severity: critical, high, medium, low or info");
          goto out;
        }
        a->on |= b;
      }
    } else {
      rc = al_ydoc_err_member(d, e, node, "on", AL_EPARSE,
                              "'on' is a severity or a non-empty list of severities");
      goto out;
    }
  }
  const json_t *w = json_object_get(node, "webhook");
  if (w && (rc = parse_webhook(d, w, a, e))) goto out;
  const json_t *c = json_object_get(node, "command");
  if (c) {
    size_t i;
    const json_t *s;
    if (!json_is_array(c) || !json_array_size(c) || json_array_size(c) > AL_ALERTS_MAX_ARGV) {
      rc = al_ydoc_err_member(d, e, node, "command", AL_EPARSE,
                              "'command' is a list of 1..%d strings: program and arguments",
                              AL_ALERTS_MAX_ARGV);
      goto out;
    }
    json_array_foreach(c, i, s) {
      if (!json_is_string(s) || (i == 0 && !*json_string_value(s))) {
        rc = al_ydoc_err_item(d, e, c, i, AL_EPARSE, "expected a string (program or argument)");
        goto out;
      }
      if (!(a->argv[i] = al_strdup(json_string_value(s)))) {
        rc = al_error_set(e, AL_ENOMEM, "out of memory");
        goto out;
      }
    }
  }
  if ((rc = al_ydoc_get_ms(d, e, node, "command_timeout", &v)) < 0) goto out;
  if (rc) {
    if (v < 1 || v > 600000) {
      rc = al_ydoc_err_member(d, e, node, "command_timeout", AL_EPARSE,
                              "command_timeout must be 1ms..10m");
      goto out;
    }
    a->command_timeout_ms = v;
  }
  if ((rc = al_ydoc_get_int(d, e, node, "queue", 1, AL_ALERTS_MAX_QUEUE, &v)) < 0) goto out;
  if (rc) a->queue_max = (int)v;
  rc = 0;
  if (!a->url && !a->argv[0]) {
    rc = al_ydoc_err(d, e, node, AL_EPARSE, "'alerts' needs a 'webhook' or a 'command'");
    goto out;
  }
  if (!(a->q = al_calloc((size_t)a->queue_max, sizeof *a->q))) {
    rc = al_error_set(e, AL_ENOMEM, "out of memory");
    goto out;
  }
  *out = a;
  a = NULL;
out:
  al_alerts_free(a);
  return rc;
}

/* Valid UTF-8 prefix of at most max bytes; invalid bytes become '?'. */
static json_t *excerpt(const char *s, size_t max) {
  size_t n = s ? strlen(s) : 0, k = 0;
  char buf[AL_ALERTS_EXCERPT + 8];
  if (n > max) n = max;
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len && i + len <= n;
    for (size_t j = 1; ok && j < len; j++)
      ok = ((unsigned char)s[i + j] >> 6) == 2;
    if (ok && c) {
      memcpy(buf + k, s + i, len);
      k += len;
      i += len;
    } else {
      if (i + (len ? len : 1) > n && len > 1) break; /* cut inside a character */
      buf[k++] = '?';
      i++;
    }
  }
  json_t *j = json_stringn(buf, k);
  return j ? j : json_string("");
}

json_t *al_alerts_payload(const char *run_id, const al_case_result *r) {
  char when[40];
  json_t *fa = json_array();
  json_t *p = NULL;
  if (!fa) return NULL;
  for (int i = 0; i < r->n_asserts; i++) {
    const al_assert_result *x = &r->asserts[i];
    if (x->pass) continue;
    json_array_append_new(fa, json_pack("{s:s?, s:s?, s:s?}", "type", x->type, "label", x->label,
                                        "message", x->message));
  }
  json_t *meta = r->meta_json ? json_loads(r->meta_json, 0, NULL) : NULL;
  json_t *tags = r->tags_json ? json_loads(r->tags_json, 0, NULL) : NULL;
  p = json_pack("{s:s, s:s?, s:s, s:s?, s:s?, s:s?, s:s, s:I, s:o, s:o, s:o, s:o, s:s}", "event",
                "airlock.alert", "run_id", run_id, "case_id", r->case_id, "name", r->name,
                "category", r->category, "severity", r->severity, "verdict",
                al_verdict_name(r->verdict), "index", (json_int_t)r->index, "failed_assertions", fa,
                "output_excerpt", excerpt(r->output, AL_ALERTS_EXCERPT), "meta",
                meta ? meta : json_object(), "tags", tags ? tags : json_array(), "time",
                al_iso8601(al_wall_ns(), when, sizeof when));
  return p;
}

int al_alerts_fire(al_alerts *a, const char *run_id, const al_case_result *r) {
  int rc = 0;
  if (!a || !r) return AL_EINVAL;
  if (r->verdict != AL_FAIL || !(a->on & sev_bit(r->severity ? r->severity : "medium"))) return 0;
  json_t *p = al_alerts_payload(run_id, r);
  char *s = p ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(p);
  if (!s) return AL_ENOMEM;
  char *copy = al_strdup(s);
  free(s);
  if (!copy) return AL_ENOMEM;
  pthread_mutex_lock(&a->mu);
  if (!a->started) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (pthread_create(&a->thread, NULL, al__alerts_worker, a)) {
      pthread_mutex_unlock(&a->mu);
      al_free(copy);
      return AL_ESYS;
    }
    a->started = true;
  }
  if (a->q_len >= a->queue_max) {
    a->failed += (a->url ? 1 : 0) + (a->argv[0] ? 1 : 0);
    al_free(copy);
    rc = AL_ELIMIT;
  } else {
    a->q[(a->q_head + a->q_len) % a->queue_max] = copy;
    a->q_len++;
    pthread_cond_signal(&a->cv);
    rc = 1;
  }
  pthread_mutex_unlock(&a->mu);
  return rc;
}

int al_alerts_drain(al_alerts *a, int timeout_ms, int *sent, int *failed) {
  int rc = 0;
  if (!a) return AL_EINVAL;
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += timeout_ms / 1000;
  dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&a->mu);
  while ((a->q_len || a->busy) && !rc)
    if (pthread_cond_timedwait(&a->idle_cv, &a->mu, &dl))
      rc = (a->q_len || a->busy) ? AL_ETIMEOUT : 0;
  if (sent) *sent = a->sent;
  if (failed) *failed = a->failed;
  pthread_mutex_unlock(&a->mu);
  return rc;
}
