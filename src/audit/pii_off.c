/* The PII policy in a build without the scan engine (src/scan not yet part of libairlock):
 * "keep" works, "hash" and "redact" are refused at open with a clear error, never silently
 * downgraded. meson.build picks this file or pii.c. */
#include "audit/writer_int.h"

int al_audit_pii_init(al_audit_writer *w, const al_audit_options *o, al_error *err) {
  pthread_mutex_init(&w->pii_mu, NULL);
  w->pii = AL_AUDIT_PII_KEEP;
  if (o->pii != AL_AUDIT_PII_KEEP)
    return al_error_set(err, AL_EUNSUPPORTED,
                        "audit: pii hash/redact needs the scan engine, absent from this build");
  return 0;
}

void al_audit_pii_cleanup(al_audit_writer *w) { pthread_mutex_destroy(&w->pii_mu); }

int al_audit_pii_text(al_audit_writer *w, const char *text, size_t len, char **out, size_t *olen) {
  *out = NULL;
  return 0;
}

int al_audit_pii_json(al_audit_writer *w, const json_t *in, json_t **out) {
  *out = json_deep_copy(in);
  return *out ? 0 : AL_ENOMEM;
}
