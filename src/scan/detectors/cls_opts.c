/* Option helpers shared by the text-classifying detectors: find a detector's options object
 * in the scan config, reject unknown keys, read bounded numbers, fill finding notes. Every
 * failure names the detector and the key so a config error reads as a sentence. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scan/detectors/cls_detectors.h"

int cls_opts_get(const al_scan_config *cfg, const char *name, const json_t **out, al_error *err) {
  *out = NULL;
  if (!cfg || !cfg->options) return 0;
  if (!json_is_object(cfg->options))
    return al_error_set(err, AL_EINVAL, "detector options: expected an object");
  const json_t *o = json_object_get(cfg->options, name);
  if (!o || json_is_null(o)) return 0;
  if (!json_is_object(o))
    return al_error_set(err, AL_EINVAL, "options of detector \"%s\": expected an object", name);
  *out = o;
  return 0;
}

int cls_opts_check_keys(const json_t *obj, const char *det, const char *const *allowed,
                        al_error *err) {
  const char *key;
  json_t *v;
  if (!obj) return 0;
  json_object_foreach((json_t *)obj, key, v) {
    int ok = 0;
    for (size_t i = 0; allowed[i] && !ok; i++) ok = !strcmp(key, allowed[i]);
    if (!ok) {
      char list[256] = "";
      for (size_t i = 0; allowed[i]; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, allowed[i], sizeof list - strlen(list) - 1);
      }
      return al_error_set(err, AL_EINVAL, "detector \"%s\": unknown option \"%s\" (expected one of: %s)",
                          det, key, list);
    }
  }
  return 0;
}

int cls_opts_number(const json_t *obj, const char *det, const char *key, double min, double max,
                    double *out, al_error *err) {
  const json_t *v = obj ? json_object_get(obj, key) : NULL;
  if (!v) return 0;
  if (!json_is_number(v))
    return al_error_set(err, AL_EINVAL, "detector \"%s\": option \"%s\" must be a number", det, key);
  double d = json_number_value(v);
  if (d < min || d > max)
    return al_error_set(err, AL_EINVAL, "detector \"%s\": option \"%s\" must be between %g and %g, got %g",
                        det, key, min, max, d);
  *out = d;
  return 0;
}

void cls_note(al_finding *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->note, sizeof f->note, fmt, ap);
  va_end(ap);
}
