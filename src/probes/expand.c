/* Expansion: a suite's `probes:` node -> tests in the inline-test JSON shape.
 *
 *   probes:
 *     packs: [prompt-injection, ./my-pack.yaml]   # built-in names or paths (suite-relative)
 *     families: [instruction-override]            # optional filter (each must match a probe)
 *     mutators: [base64, leetspeak+base64]        # optional; chains compose with '+'
 *     unmutated: true                             # also run each probe as written (default)
 *     max_cases: 500                              # cap (default 2000)
 *     seed: 7                                     # default: the suite's seed
 *
 * The candidates are every selected probe times every variant (unmutated, then each chain),
 * in pack/probe/variant order. Over the cap, a deterministic sample of exactly max_cases is
 * kept with selection sampling (Knuth's Algorithm S) driven by al_rng(seed): the same seed
 * picks the same cases, and order is preserved. Each mutated case gets its own rng seed,
 * derived from (seed, pack, probe id, chain), so it does not depend on what else was
 * sampled. Suite `vars:` (and the probe's own) are substituted before mutating -- an encoded
 * "{{bank}}" could not be substituted afterwards; unmutated probes are substituted by the
 * suite loader as usual (so --var overrides apply to them). */
#include <stdio.h>
#include <string.h>

#include "airlock/probes.h"
#include "airlock/suite.h"
#include "probes/limits.h"

static const char *const node_keys[] = {"packs", "families", "mutators", "unmutated", "max_cases", "seed", NULL};

static uint64_t fnv(uint64_t h, const char *s) {
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (h ^ 0xff) * 1099511628211ull;
}

/* The probe's conversation as turns (prompt, turns or a generated many-shot dialogue). */
static int probe_turns(const json_t *p, uint64_t seed, json_t **out, al_error *e) {
  json_t *turns = NULL;
  const json_t *prompt = json_object_get(p, "prompt"), *ms = json_object_get(p, "many_shot");
  int rc = 0;
  if (prompt) {
    turns = json_pack("[{s:s, s:O}]", "role", "user", "content", prompt);
  } else if (ms) {
    turns = json_array();
    if (turns)
      rc = al_probes_many_shot(turns, json_string_value(json_object_get(ms, "topic")),
                               (int)json_integer_value(json_object_get(ms, "shots")),
                               json_string_value(json_object_get(ms, "ask")), seed, e);
  } else {
    turns = json_deep_copy(json_object_get(p, "turns"));
  }
  if (!turns) rc = AL_ENOMEM;
  if (rc) json_decref(turns), turns = NULL;
  *out = turns;
  return rc;
}

static int subst_turns(json_t *turns, const json_t *vars, const json_t *p, al_error *e) {
  const json_t *loc = json_object_get(p, "location");
  for (size_t i = 0; i < json_array_size(turns); i++) {
    json_t *t = json_array_get(turns, i);
    char *s = NULL, missing[128];
    int rc = al_subst(json_string_value(json_object_get(t, "content")), vars, &s, missing, sizeof missing);
    if (rc == AL_ENOTFOUND)
      return al_error_at(e, AL_EPARSE, json_string_value(json_object_get(loc, "file")),
                         (int)json_integer_value(json_object_get(loc, "line")), 0,
                         "unknown variable '{{%s}}' in probe '%s' (define it under the suite's vars:)", missing,
                         json_string_value(json_object_get(p, "id")));
    if (rc) return rc;
    json_object_set_new(t, "content", json_string(s));
    al_free(s);
  }
  return 0;
}

/* Build the test object for probe p with mutator chain (NULL: unmutated). */
static int make_test(const json_t *p, const char *chain, const json_t *suite_vars, int suite_tools, uint64_t seed,
                     json_t **out, al_error *e) {
  int rc = 0;
  json_t *t = json_object(), *turns = NULL, *vars = NULL, *muts = json_array();
  const char *id = json_string_value(json_object_get(p, "id"));
  const char *pack = json_string_value(json_object_get(p, "pack"));
  char name[256];
  *out = NULL;
  if (!t || !muts) {
    rc = AL_ENOMEM;
    goto out;
  }
  uint64_t cs = fnv(fnv(fnv(seed ^ 0x9e3779b97f4a7c15ull, pack), id), chain ? chain : "");
  if ((rc = probe_turns(p, cs, &turns, e))) goto out;
  if (chain) {
    vars = suite_vars ? json_deep_copy(suite_vars) : json_object();
    if (json_object_get(p, "vars")) json_object_update(vars, json_object_get(p, "vars"));
    if ((rc = subst_turns(turns, vars, p, e))) goto out;
    if ((rc = al_mutate_turns(chain, turns, cs, e))) goto out;
    for (const char *q = chain; *q;) {
      const char *x = strchr(q, '+');
      size_t n = x ? (size_t)(x - q) : strlen(q);
      json_array_append_new(muts, json_stringn(q, n));
      q += n + (x ? 1 : 0);
    }
  }
  snprintf(name, sizeof name, "%s/%s%s%s%s", pack, id, chain ? " [" : "", chain ? chain : "", chain ? "]" : "");
  json_object_set_new(t, "name", json_string(name));
  if (json_array_size(turns) == 1 && !strcmp(json_string_value(json_object_get(json_array_get(turns, 0), "role")), "user"))
    json_object_set(t, "prompt", json_object_get(json_array_get(turns, 0), "content"));
  else
    json_object_set(t, "turns", turns);
  static const char *const copy[] = {"category", "severity", "assert", "tools", "allow_tools", "off_limits",
                                     "params", "system_prompt", "vars", NULL};
  for (const char *const *k = copy; *k; k++) {
    json_t *v = json_object_get(p, *k);
    /* "tools: []" (offer none) means nothing to a suite that declares no tools */
    if (v && json_is_array(v) && !json_array_size(v) && !suite_tools && strcmp(*k, "assert")) continue;
    if (v) json_object_set_new(t, *k, json_deep_copy(v));
  }
  json_t *tags = json_deep_copy(json_object_get(p, "tags"));
  char tag[96];
  snprintf(tag, sizeof tag, "owasp-%s", json_string_value(json_object_get(p, "owasp")));
  for (char *c = tag; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
  json_array_append_new(tags, json_string(tag));
  snprintf(tag, sizeof tag, "probe-%s", json_string_value(json_object_get(p, "family")));
  json_array_append_new(tags, json_string(tag));
  if (chain) json_array_append_new(tags, json_string("mutated"));
  json_object_set_new(t, "tags", tags);
  json_object_set_new(t, "meta", json_pack("{s:s, s:s, s:O, s:O, s:O, s:O}", "probe_id", id, "pack", pack, "family",
                                           json_object_get(p, "family"), "owasp", json_object_get(p, "owasp"),
                                           "mutators", muts, "location", json_object_get(p, "location")));
  *out = t;
  t = NULL;
out:
  json_decref(t);
  json_decref(turns);
  json_decref(vars);
  json_decref(muts);
  return rc;
}

static int str_list(const al_ydoc *d, al_error *e, const json_t *node, const char *k, size_t max, const json_t **out) {
  const json_t *v = json_object_get(node, k);
  *out = v;
  if (!v) return 0;
  if (!json_is_array(v)) return al_ydoc_err_member(d, e, node, k, AL_EPARSE, "'%s' must be a list of names", k);
  if (json_array_size(v) > max) return al_ydoc_err_member(d, e, node, k, AL_ELIMIT, "at most %zu entries in '%s'", max, k);
  for (size_t i = 0; i < json_array_size(v); i++)
    if (!json_is_string(json_array_get(v, i)))
      return al_ydoc_err_item(d, e, v, i, AL_EPARSE, "'%s' must be a list of names", k);
  return 0;
}

int al_probes_expand(const al_ydoc *d, const json_t *node, const char *suite_dir, uint64_t seed, json_t **tests_out,
                     al_error *e) {
  int rc = 0;
  json_t *all = json_array(), *tests = json_array(), *used = json_object();
  const json_t *packs, *fams, *muts;
  *tests_out = NULL;
  if (!all || !tests || !used) {
    rc = AL_ENOMEM;
    goto out;
  }
  if (!json_is_object(node)) {
    rc = al_ydoc_err(d, e, node, AL_EPARSE, "'probes' must be a mapping {packs: [...], mutators: [...], ...}");
    goto out;
  }
  if ((rc = al_ydoc_check_keys(d, e, node, "probes", node_keys))) goto out;
  if ((rc = str_list(d, e, node, "packs", AL_PROBES_MAX_PACKS, &packs))) goto out;
  if ((rc = str_list(d, e, node, "families", 256, &fams))) goto out;
  if ((rc = str_list(d, e, node, "mutators", AL_PROBES_MAX_MUTATORS, &muts))) goto out;
  if (!json_array_size(packs)) {
    rc = al_ydoc_err(d, e, node, AL_EPARSE, "'probes' needs 'packs: [NAME or PATH, ...]' (see data/probes/)");
    goto out;
  }
  long long cap = AL_PROBES_DEFAULT_CASES, s = (long long)(seed & INT64_MAX);
  int unmutated = 1;
  if ((rc = al_ydoc_get_int(d, e, node, "max_cases", 1, AL_PROBES_MAX_CASES, &cap)) < 0) goto out;
  if ((rc = al_ydoc_get_int(d, e, node, "seed", 0, INT64_MAX, &s)) < 0) goto out;
  if ((rc = al_ydoc_get_bool(d, e, node, "unmutated", &unmutated)) < 0) goto out;
  rc = 0;
  /* every chain must name known mutators (checked on a scratch conversation) */
  for (size_t i = 0; i < json_array_size(muts); i++) {
    json_t *scratch = json_pack("[{s:s, s:s}]", "role", "user", "content", "check");
    al_error me = {0};
    int mrc = al_mutate_turns(json_string_value(json_array_get(muts, i)), scratch, 0, &me);
    json_decref(scratch);
    if (mrc) {
      rc = al_ydoc_err_item(d, e, muts, i, mrc, "%s", me.msg);
      goto out;
    }
  }
  size_t nvar = (unmutated ? 1 : 0) + json_array_size(muts);
  if (!nvar) {
    rc = al_ydoc_err_member(d, e, node, "unmutated", AL_EPARSE, "unmutated: false needs at least one mutator");
    goto out;
  }
  /* load the packs, keep the selected families */
  for (size_t i = 0; i < json_array_size(packs); i++) {
    char path[4096];
    json_t *probes = NULL;
    al_error pe = {0};
    const char *name = json_string_value(json_array_get(packs, i));
    if ((rc = al_probes_resolve(name, suite_dir, path, sizeof path, &pe))) {
      rc = al_ydoc_err_item(d, e, packs, i, rc, "%s", pe.msg);
      goto out;
    }
    if ((rc = al_probes_load_pack(path, &probes, e))) {
      if (rc == AL_EIO || rc == AL_ENOTFOUND || rc == AL_ESYS) {
        char msg[sizeof e->msg];
        snprintf(msg, sizeof msg, "%s", e->msg);
        rc = al_ydoc_err_item(d, e, packs, i, rc, "probe pack '%s' (%s): %s", name, path, msg);
      }
      goto out;
    }
    size_t j;
    json_t *p;
    json_array_foreach(probes, j, p) {
      const char *fam = json_string_value(json_object_get(p, "family"));
      int keep = !json_array_size(fams);
      for (size_t k = 0; k < json_array_size(fams) && !keep; k++)
        keep = !strcmp(fam, json_string_value(json_array_get(fams, k)));
      if (keep) {
        json_array_append(all, p);
        json_object_set_new(used, fam, json_true());
      }
    }
    json_decref(probes);
  }
  for (size_t k = 0; k < json_array_size(fams); k++)
    if (!json_object_get(used, json_string_value(json_array_get(fams, k)))) {
      rc = al_ydoc_err_item(d, e, fams, k, AL_ENOTFOUND, "no probe of family '%s' in the packs named",
                            json_string_value(json_array_get(fams, k)));
      goto out;
    }
  /* candidates, sampled down to the cap */
  const json_t *suite_vars = json_object_get(al_ydoc_root(d), "vars");
  uint64_t total = (uint64_t)json_array_size(all) * nvar, want = total < (uint64_t)cap ? total : (uint64_t)cap;
  al_rng rng;
  al_rng_seed(&rng, (uint64_t)s);
  for (uint64_t i = 0, picked = 0; i < total && picked < want; i++) {
    if (total > want && al_rng_below(&rng, total - i) >= want - picked) continue;
    picked++;
    const json_t *p = json_array_get(all, i / nvar);
    size_t v = (size_t)(i % nvar);
    const char *chain = unmutated ? (v ? json_string_value(json_array_get(muts, v - 1)) : NULL)
                                  : json_string_value(json_array_get(muts, v));
    json_t *t = NULL;
    if ((rc = make_test(p, chain, json_is_object(suite_vars) ? suite_vars : NULL,
                        json_object_get(al_ydoc_root(d), "tools") != NULL, (uint64_t)s, &t, e)))
      goto out;
    json_array_append_new(tests, t);
  }
  *tests_out = tests;
  tests = NULL;
out:
  json_decref(all);
  json_decref(tests);
  json_decref(used);
  return rc;
}
