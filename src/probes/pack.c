/* Probe-pack loader: data/probes/NAME.yaml -> a JSON array of normalised probes.
 *
 *   pack: prompt-injection            # must match the file name's stem (for built-ins)
 *   description: ...
 *   defaults: {family, owasp, severity, category, tags, assert}   # optional
 *   probes:
 *     - id: pi-override-01            # unique in the pack; [A-Za-z0-9._-]
 *       family: instruction-override  # [a-z0-9-]; one SARIF rule per family
 *       owasp: LLM01                  # LLM01..LLM10 (OWASP Top 10 for LLM Applications 2025)
 *       severity: high                # critical, high, medium, low, info
 *       category: safety              # gate category (default safety)
 *       prompt: "..."                 # or turns: [{role, content}], or many_shot: {...}
 *       assert: [...]                 # suite assertions; at least one
 *       tools / allow_tools / off_limits / tags / params / system_prompt / vars / description
 *
 * Everything is checked here with the pack's own locations (file:line:col), before any
 * suite uses it; assertion bodies are compiled later by the suite loader, whose errors name
 * the probe's file and line. Unknown keys are errors. */
#include <stdlib.h>
#include <string.h>

#include "airlock/probes.h"
#include "airlock/util.h"
#include "probes/limits.h"
#include "probes/probes_int.h"

static const char *const pack_keys[] = {"pack", "description", "defaults", "probes", NULL};
static const char *const default_keys[] = {"family", "owasp", "severity", "category", "tags", "assert", NULL};
static const char *const probe_keys[] = {"id", "family", "owasp", "severity", "category", "description",
                                         "prompt", "turns", "many_shot", "assert", "tools", "allow_tools",
                                         "off_limits", "tags", "params", "system_prompt", "vars", NULL};
static const char *const shot_keys[] = {"topic", "shots", "ask", NULL};
static const char *const sevs[] = {"critical", "high", "medium", "low", "info", NULL};

int al_probes_word_ok(const char *s, int allow_upper_dot) {
  if (!*s || strlen(s) > AL_PROBES_MAX_ID) return 0;
  for (const char *p = s; *p; p++) {
    int ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
             (allow_upper_dot && ((*p >= 'A' && *p <= 'Z') || *p == '.' || *p == '_'));
    if (!ok) return 0;
  }
  return 1;
}

int al_probes_owasp_ok(const char *s) {
  if (strncmp(s, "LLM", 3) || strlen(s) != 5) return 0;
  int n = (s[3] - '0') * 10 + (s[4] - '0');
  return s[3] >= '0' && s[3] <= '1' && s[4] >= '0' && s[4] <= '9' && n >= 1 && n <= 10;
}

/* A string member, from the probe or the pack defaults. Returns 1 found, 0 absent, <0 error. */
static int str_member(const al_ydoc *d, al_error *e, const json_t *p, const json_t *defs, const char *k,
                      const char **out) {
  int rc = al_ydoc_get_str(d, e, p, k, out);
  if (rc) return rc;
  return defs ? al_ydoc_get_str(d, e, defs, k, out) : 0;
}

static int check_strlist(const al_ydoc *d, al_error *e, const json_t *obj, const char *k) {
  const json_t *v = json_object_get(obj, k);
  if (!v) return 0;
  if (!json_is_array(v)) return al_ydoc_err_member(d, e, obj, k, AL_EPARSE, "'%s' must be a list of strings", k);
  for (size_t i = 0; i < json_array_size(v); i++)
    if (!json_is_string(json_array_get(v, i)))
      return al_ydoc_err_item(d, e, v, i, AL_EPARSE, "'%s' must be a list of strings", k);
  return 0;
}

static int check_turns(const al_ydoc *d, al_error *e, const json_t *turns) {
  if (!json_is_array(turns) || !json_array_size(turns))
    return al_ydoc_err(d, e, turns, AL_EPARSE, "'turns' must be a non-empty list of {role, content}");
  int users = 0;
  for (size_t i = 0; i < json_array_size(turns); i++) {
    const json_t *t = json_array_get(turns, i);
    const char *r = json_string_value(json_object_get(t, "role"));
    int role_ok = r && (!strcmp(r, "user") || !strcmp(r, "assistant") || !strcmp(r, "system") || !strcmp(r, "tool"));
    if (!json_is_object(t) || !role_ok || !json_is_string(json_object_get(t, "content")) || json_object_size(t) != 2)
      return al_ydoc_err_item(d, e, turns, i, AL_EPARSE, "a turn must be {role: user|assistant|system|tool, content: text}");
    users += !strcmp(r, "user");
  }
  if (!users) return al_ydoc_err(d, e, turns, AL_EPARSE, "'turns' needs at least one user turn (the payload)");
  return 0;
}

static int check_many_shot(const al_ydoc *d, al_error *e, const json_t *ms) {
  int rc;
  const char *topic = NULL, *ask = NULL;
  long long shots = 0;
  if (!json_is_object(ms)) return al_ydoc_err(d, e, ms, AL_EPARSE, "'many_shot' must be a mapping {topic, shots, ask}");
  if ((rc = al_ydoc_check_keys(d, e, ms, "many_shot", shot_keys))) return rc;
  if ((rc = al_ydoc_get_str(d, e, ms, "topic", &topic)) < 0) return rc;
  if ((rc = al_ydoc_get_int(d, e, ms, "shots", 1, AL_PROBES_MAX_SHOTS, &shots)) < 0) return rc;
  if ((rc = al_ydoc_get_str(d, e, ms, "ask", &ask)) < 0) return rc;
  if (!topic || !shots || !ask)
    return al_ydoc_err(d, e, ms, AL_EPARSE, "'many_shot' needs topic (%s), shots (1..%d) and ask (text)",
                       al_probes_topics(), AL_PROBES_MAX_SHOTS);
  if (!al_probes_topic_known(topic))
    return al_ydoc_err_member(d, e, ms, "topic", AL_EPARSE, "unknown many-shot topic '%s' (known: %s)", topic,
                              al_probes_topics());
  return 0;
}

static int load_probe(const al_ydoc *d, al_error *e, const char *pack, const json_t *defs, const json_t *p,
                      json_t *seen, json_t **out) {
  int rc;
  const char *id = NULL, *fam = NULL, *ow = NULL, *sev = NULL, *cat = NULL;
  *out = NULL;
  if (!json_is_object(p)) return al_ydoc_err(d, e, p, AL_EPARSE, "a probe is a mapping {id, family, owasp, ...}");
  if ((rc = al_ydoc_check_keys(d, e, p, "probe", probe_keys))) return rc;
  if ((rc = al_ydoc_get_str(d, e, p, "id", &id)) <= 0)
    return rc ? rc : al_ydoc_err(d, e, p, AL_EPARSE, "a probe needs an 'id'");
  if (!al_probes_word_ok(id, 1))
    return al_ydoc_err_member(d, e, p, "id", AL_EPARSE, "id '%s' must be 1-%d characters of A-Z a-z 0-9 . _ -",
                              id, AL_PROBES_MAX_ID);
  if (json_object_get(seen, id))
    return al_ydoc_err_member(d, e, p, "id", AL_EPARSE, "duplicate probe id '%s' in this pack", id);
  json_object_set_new(seen, id, json_true());
  if ((rc = str_member(d, e, p, defs, "family", &fam)) <= 0)
    return rc ? rc : al_ydoc_err(d, e, p, AL_EPARSE, "probe '%s' needs a 'family' (here or in defaults)", id);
  if (!al_probes_word_ok(fam, 0))
    return al_ydoc_err_member(d, e, json_object_get(p, "family") ? p : defs, "family", AL_EPARSE,
                              "family '%s' must be lowercase letters, digits and '-'", fam);
  if ((rc = str_member(d, e, p, defs, "owasp", &ow)) <= 0)
    return rc ? rc : al_ydoc_err(d, e, p, AL_EPARSE, "probe '%s' needs an 'owasp' entry (LLM01..LLM10)", id);
  if (!al_probes_owasp_ok(ow))
    return al_ydoc_err_member(d, e, json_object_get(p, "owasp") ? p : defs, "owasp", AL_EPARSE,
                              "owasp '%s' is not an OWASP LLM Top 10 (2025) id: expected LLM01..LLM10", ow);
  sev = "medium";
  if ((rc = str_member(d, e, p, defs, "severity", &sev)) < 0) return rc;
  int sev_ok = 0;
  for (const char *const *s = sevs; *s; s++) sev_ok |= !strcmp(*s, sev);
  if (!sev_ok)
    return al_ydoc_err_member(d, e, json_object_get(p, "severity") ? p : defs, "severity", AL_EPARSE,
                              "severity '%s' is not one of critical, high, medium, low, info", sev);
  cat = "safety";
  if ((rc = str_member(d, e, p, defs, "category", &cat)) < 0) return rc;
  const char *txt;
  if ((rc = al_ydoc_get_str(d, e, p, "description", &txt)) < 0) return rc;
  if ((rc = al_ydoc_get_str(d, e, p, "system_prompt", &txt)) < 0) return rc;
  const json_t *prompt = json_object_get(p, "prompt"), *turns = json_object_get(p, "turns");
  const json_t *ms = json_object_get(p, "many_shot");
  if (!!prompt + !!turns + !!ms != 1)
    return al_ydoc_err(d, e, p, AL_EPARSE, "probe '%s' needs exactly one of 'prompt', 'turns' or 'many_shot'", id);
  if (prompt && (!json_is_string(prompt) || !*json_string_value(prompt)))
    return al_ydoc_err_member(d, e, p, "prompt", AL_EPARSE, "'prompt' must be a non-empty string");
  if (turns && (rc = check_turns(d, e, turns))) return rc;
  if (ms && (rc = check_many_shot(d, e, ms))) return rc;
  const json_t *as = json_object_get(p, "assert");
  if (!as) as = defs ? json_object_get(defs, "assert") : NULL;
  if (!as) return al_ydoc_err(d, e, p, AL_EPARSE, "probe '%s' needs 'assert' (what makes it fail)", id);
  if (!json_is_array(as) || !json_array_size(as))
    return al_ydoc_err(d, e, as, AL_EPARSE, "'assert' must be a non-empty list of assertions");
  static const char *const lists[] = {"tools", "allow_tools", "off_limits", "tags"};
  for (size_t i = 0; i < 4; i++)
    if ((rc = check_strlist(d, e, p, lists[i]))) return rc;
  for (size_t i = 0; i < 2; i++) {
    const char *k = i ? "vars" : "params";
    const json_t *v = json_object_get(p, k);
    if (v && !json_is_object(v)) return al_ydoc_err_member(d, e, p, k, AL_EPARSE, "'%s' must be a mapping", k);
  }
  /* normalised probe */
  json_t *o = json_deep_copy(p);
  if (!o) return AL_ENOMEM;
  json_object_set_new(o, "family", json_string(fam));
  json_object_set_new(o, "owasp", json_string(ow));
  json_object_set_new(o, "severity", json_string(sev));
  json_object_set_new(o, "category", json_string(cat));
  json_object_set_new(o, "assert", json_deep_copy(as));
  json_t *tags = json_array();
  const json_t *dt = defs ? json_object_get(defs, "tags") : NULL;
  for (size_t i = 0; i < json_array_size(dt); i++) json_array_append(tags, json_array_get(dt, i));
  const json_t *pt = json_object_get(p, "tags");
  for (size_t i = 0; i < json_array_size(pt); i++) json_array_append(tags, json_array_get(pt, i));
  json_object_set_new(o, "tags", tags);
  int line = 0, col = 0;
  al_ydoc_loc(d, p, &line, &col);
  json_object_set_new(o, "location", json_pack("{s:s, s:i}", "file", al_ydoc_name(d), "line", line));
  json_object_set_new(o, "pack", json_string(pack));
  *out = o;
  return 0;
}

int al_probes_load_pack(const char *path, json_t **probes_out, al_error *err) {
  int rc = 0;
  al_ydoc *d = NULL;
  json_t *list = NULL, *seen = NULL;
  const char *pack = NULL;
  char *text = NULL;
  size_t len = 0;
  *probes_out = NULL;
  if ((rc = al_read_file(path, AL_PROBES_MAX_PACK_BYTES, &text, &len, err))) goto out;
  if ((rc = al_ydoc_load_text(text, len, path, &d, err))) goto out;
  json_t *root = al_ydoc_root(d);
  if (!json_is_object(root)) {
    rc = al_error_at(err, AL_EPARSE, path, 1, 1, "a probe pack is a mapping {pack: NAME, probes: [...]}");
    goto out;
  }
  if ((rc = al_ydoc_check_keys(d, err, root, "probe pack", pack_keys))) goto out;
  if ((rc = al_ydoc_get_str(d, err, root, "pack", &pack)) <= 0) {
    if (!rc) rc = al_error_at(err, AL_EPARSE, path, 1, 1, "a probe pack needs 'pack: NAME'");
    goto out;
  }
  const char *desc;
  if ((rc = al_ydoc_get_str(d, err, root, "description", &desc)) < 0) goto out;
  const json_t *defs = json_object_get(root, "defaults");
  if (defs) {
    if (!json_is_object(defs)) {
      rc = al_ydoc_err_member(d, err, root, "defaults", AL_EPARSE, "'defaults' must be a mapping");
      goto out;
    }
    if ((rc = al_ydoc_check_keys(d, err, defs, "defaults", default_keys))) goto out;
    if ((rc = check_strlist(d, err, defs, "tags"))) goto out;
  }
  const json_t *probes = json_object_get(root, "probes");
  if (!json_is_array(probes) || !json_array_size(probes)) {
    rc = probes ? al_ydoc_err_member(d, err, root, "probes", AL_EPARSE, "'probes' must be a non-empty list")
                : al_error_at(err, AL_EPARSE, path, 1, 1, "a probe pack needs 'probes: [...]'");
    goto out;
  }
  if (json_array_size(probes) > AL_PROBES_MAX_PER_PACK) {
    rc = al_ydoc_err_member(d, err, root, "probes", AL_ELIMIT, "more than %d probes in one pack", AL_PROBES_MAX_PER_PACK);
    goto out;
  }
  list = json_array();
  seen = json_object();
  if (!list || !seen) {
    rc = AL_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < json_array_size(probes); i++) {
    json_t *o = NULL;
    if ((rc = load_probe(d, err, pack, defs, json_array_get(probes, i), seen, &o))) goto out;
    json_array_append_new(list, o);
  }
  *probes_out = list;
  list = NULL;
out:
  json_decref(list);
  json_decref(seen);
  al_ydoc_free(d);
  al_free(text);
  return rc;
}

int al_probes_resolve(const char *name, const char *base_dir, char *out, size_t outlen, al_error *err) {
  size_t n = strlen(name);
  int is_path = strchr(name, '/') || (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
  if (is_path) {
    if (name[0] == '/' || !base_dir) snprintf(out, outlen, "%s", name);
    else snprintf(out, outlen, "%s/%s", base_dir, name);
    return 0;
  }
  if (!al_probes_word_ok(name, 0))
    return al_error_set(err, AL_EINVAL, "probe pack '%s': a name is lowercase letters, digits and '-' (or give a path)", name);
  snprintf(out, outlen, "%s/probes/%s.yaml", al_data_dir(), name);
  return 0;
}
