/* OpenTelemetry export: one span per model call, OTLP/HTTP JSON (POST {endpoint}/v1/traces),
 * with the GenAI semantic conventions (gen_ai.system, gen_ai.operation.name,
 * gen_ai.request.model, gen_ai.usage.input_tokens / output_tokens) and the guard's own
 * data under airlock.* (request id, verdict, HTTP status, attempts, streamed chunks,
 * findings by detector). Built with jansson; sent by the caller through upstream.c (h1cli or curl),
 * fire and forget (the outcome is counted in airlock_guard_upstream_total). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "guard/guard_int.h"

static json_t *attr_str(const char *k, const char *v) {
  return json_pack("{s:s, s:{s:s}}", "key", k, "value", "stringValue", v ? v : "");
}

static json_t *attr_int(const char *k, long long v) {
  char num[32]; /* OTLP JSON carries 64-bit integers as strings */
  snprintf(num, sizeof num, "%lld", v);
  return json_pack("{s:s, s:{s:s}}", "key", k, "value", "intValue", num);
}

int al_guard_otlp_span(const gspan *s, al_buf *out) {
  unsigned char tid[16], sid[8];
  char tid_hex[33], sid_hex[17], start[32], end[32];
  randombytes_buf(tid, sizeof tid);
  randombytes_buf(sid, sizeof sid);
  al_hex(tid, sizeof tid, tid_hex);
  al_hex(sid, sizeof sid, sid_hex);
  snprintf(start, sizeof start, "%lld", (long long)s->start_wall_ns);
  snprintf(end, sizeof end, "%lld", (long long)s->end_wall_ns);
  json_t *attrs = json_array();
  if (!attrs) return AL_ENOMEM;
  json_array_append_new(attrs, attr_str("gen_ai.system", "openai"));
  json_array_append_new(attrs, attr_str("gen_ai.operation.name", s->operation));
  json_array_append_new(attrs, attr_str("gen_ai.request.model", s->model));
  if (s->response_model) json_array_append_new(attrs, attr_str("gen_ai.response.model", s->response_model));
  if (s->input_tokens >= 0) json_array_append_new(attrs, attr_int("gen_ai.usage.input_tokens", s->input_tokens));
  if (s->output_tokens >= 0) json_array_append_new(attrs, attr_int("gen_ai.usage.output_tokens", s->output_tokens));
  json_array_append_new(attrs, attr_str("airlock.request_id", s->request_id));
  json_array_append_new(attrs, attr_str("airlock.verdict", s->verdict));
  json_array_append_new(attrs, attr_int("http.response.status_code", s->status));
  json_array_append_new(attrs, attr_int("airlock.attempts", s->attempts));
  json_array_append_new(attrs, attr_int("airlock.stream.chunks", (long long)s->chunks));
  json_array_append_new(attrs, attr_int("airlock.findings", (long long)(s->finds ? s->finds->n : 0)));
  for (size_t i = 0; s->finds && i < s->finds->n && i < 32; i++) {
    char k[96];
    snprintf(k, sizeof k, "airlock.finding.%zu", i);
    char v[128];
    snprintf(v, sizeof v, "%s %s [%llu,%llu)", s->finds->v[i].detector, al_guard_act_name(s->finds->v[i].action),
             (unsigned long long)s->finds->v[i].start, (unsigned long long)s->finds->v[i].end);
    json_array_append_new(attrs, attr_str(k, v));
  }
  char name[160];
  snprintf(name, sizeof name, "%s %s", s->operation, s->model ? s->model : "");
  json_t *root = json_pack(
      "{s:[{s:{s:[o]}, s:[{s:{s:s}, s:[{s:s, s:s, s:s, s:i, s:s, s:s, s:o, s:{s:i}}]}]}]}",
      "resourceSpans", "resource", "attributes", attr_str("service.name", s->service), "scopeSpans",
      "scope", "name", "airlock.guard", "spans", "traceId", tid_hex, "spanId", sid_hex, "name", name,
      "kind", 3, "startTimeUnixNano", start, "endTimeUnixNano", end, "attributes", attrs, "status",
      "code", s->status >= 400 ? 2 : 1);
  if (!root) return AL_ENOMEM;
  char *txt = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  if (!txt) return AL_ENOMEM;
  al_buf_reset(out);
  int rc = al_buf_puts(out, txt);
  free(txt);
  return rc;
}
