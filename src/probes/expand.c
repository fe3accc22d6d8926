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
 * sampled. Suite `vars:` (with --var overrides, when the loader passes them through
 * al_probes_expand_vars) and the probe's own are substituted before mutating -- an encoded
 * "{{bank}}" could not be substituted afterwards; unmutated probes are substituted by the
 * suite loader as usual. */
#include <stdio.h>
#include <string.h>

#include "airlock/buf.h"
#include "airlock/probes.h"
#include "airlock/suite.h"
#include "probes/limits.h"
#include "probes/probes_int.h"

static const char *const node_keys[] = {"packs", "templates", "families", "mutators", "unmutated", "max_cases",
                                        "seed", NULL};

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
    /* mutated text is final: text that happens to hold "{{" goes through a variable, so the
     * suite loader's substitution leaves it as it is */
    json_t *tv = json_object();
    for (size_t i = 0; i < json_array_size(turns); i++) {
      json_t *turn = json_array_get(turns, i);
      const char *c = json_string_value(json_object_get(turn, "content"));
      if (!c || !strstr(c, "{{")) continue;
      char vn[40], ref[48];
      snprintf(vn, sizeof vn, "al_turn_%zu", i);
      snprintf(ref, sizeof ref, "{{%s}}", vn);
      json_object_set(tv, vn, json_object_get(turn, "content"));
      json_object_set_new(turn, "content", json_string(ref));
    }
    if (json_object_size(tv)) json_object_set(t, "vars", tv);
    json_decref(tv);
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
    if (!strcmp(*k, "vars") && json_object_get(t, "vars")) { /* keep the al_turn_N variables */
      if (v) json_object_update_missing(json_object_get(t, "vars"), v);
      continue;
    }
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

/* ---- templates: public jailbreak sets used by path ---------------------------------- */

static const char *const tmpl_keys[] = {"file", "field", "replace", "ask", "family", "owasp", "severity",
                                        "category", "limit", "assert", "tags", NULL};

/* One template -> one probe. The text reaches the model through the variable al_template,
 * so braces in public prompts are never taken for {{variables}}. */
static json_t *template_probe(const json_t *spec, const char *text, const char *path, int line, int idx,
                              const char *fam, const char *ow, const char *sev, const char *cat) {
  const json_t *rp = json_object_get(spec, "replace");
  const char *ask = json_string_value(json_object_get(spec, "ask"));
  char *cur = al_strdup(text);
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)rp, k, v) { /* literal replacement of placeholders */
    const char *with = json_string_value(v);
    al_buf b;
    al_buf_init(&b, AL_PROBES_MAX_TEXT * 2);
    for (const char *q = cur; *q;) {
      const char *hit = *k ? strstr(q, k) : NULL;
      if (!hit) {
        al_buf_puts(&b, q);
        break;
      }
      al_buf_append(&b, q, (size_t)(hit - q));
      al_buf_puts(&b, with);
      q = hit + strlen(k);
    }
    al_free(cur);
    cur = al_buf_steal(&b, NULL);
    al_buf_cleanup(&b);
    if (!cur) return NULL;
  }
  char id[AL_PROBES_MAX_ID + 1], *base = strrchr(path, '/');
  snprintf(id, sizeof id, "%.40s-%d", base ? base + 1 : path, idx);
  /* the ask (if any) follows the template as its own paragraph and gets the suite's vars */
  size_t n = strlen("{{al_template}}\n\n") + (ask ? strlen(ask) : 0) + 1;
  char *prompt = al_malloc(n);
  const json_t *tags = json_object_get(spec, "tags");
  json_t *p = NULL;
  if (prompt) {
    snprintf(prompt, n, "{{al_template}}%s%s", ask ? "\n\n" : "", ask ? ask : "");
    p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:o, s:{s:s}, s:{s:s, s:i}, s:s}", "id", id, "family", fam,
                  "owasp", ow, "severity", sev, "category", cat, "prompt", prompt, "assert",
                  json_object_get(spec, "assert"), "tags", tags ? json_deep_copy(tags) : json_array(), "vars",
                  "al_template", cur, "location", "file", path, "line", line, "pack", "templates");
  }
  al_free(prompt);
  al_free(cur);
  return p;
}

static int load_templates(const al_ydoc *d, al_error *e, const json_t *list, const char *dir, json_t *all) {
  if (!json_is_array(list)) return al_ydoc_err(d, e, list, AL_EPARSE, "'templates' must be a list of {file, assert, ...}");
  for (size_t i = 0; i < json_array_size(list); i++) {
    const json_t *sp = json_array_get(list, i);
    const char *file = NULL, *field = "text", *ask = NULL, *fam = "jailbreak-template", *ow = "LLM01", *sev = "high",
               *cat = "safety";
    long long limit = AL_PROBES_MAX_PER_PACK;
    int rc;
    if (!json_is_object(sp)) return al_ydoc_err_item(d, e, list, i, AL_EPARSE, "a template set is {file: PATH, assert: [...]}");
    if ((rc = al_ydoc_check_keys(d, e, sp, "templates entry", tmpl_keys))) return rc;
    if ((rc = al_ydoc_get_str(d, e, sp, "file", &file)) <= 0)
      return rc ? rc : al_ydoc_err(d, e, sp, AL_EPARSE, "a template set needs 'file' (a JSON array of strings, or JSONL)");
    if ((rc = al_ydoc_get_str(d, e, sp, "field", &field)) < 0 || (rc = al_ydoc_get_str(d, e, sp, "ask", &ask)) < 0 ||
        (rc = al_ydoc_get_str(d, e, sp, "family", &fam)) < 0 || (rc = al_ydoc_get_str(d, e, sp, "owasp", &ow)) < 0 ||
        (rc = al_ydoc_get_str(d, e, sp, "severity", &sev)) < 0 || (rc = al_ydoc_get_str(d, e, sp, "category", &cat)) < 0 ||
        (rc = al_ydoc_get_int(d, e, sp, "limit", 1, AL_PROBES_MAX_PER_PACK, &limit)) < 0)
      return rc;
    if (!al_probes_owasp_ok(ow))
      return al_ydoc_err_member(d, e, sp, "owasp", AL_EPARSE, "owasp '%s' is not LLM01..LLM10", ow);
    if (!al_probes_word_ok(fam, 0))
      return al_ydoc_err_member(d, e, sp, "family", AL_EPARSE, "family '%s' must be lowercase letters, digits and '-'", fam);
    const json_t *as = json_object_get(sp, "assert"), *rp = json_object_get(sp, "replace");
    if (!json_is_array(as) || !json_array_size(as))
      return al_ydoc_err(d, e, sp, AL_EPARSE, "a template set needs 'assert' (a non-empty list)");
    if (rp) {
      const char *k;
      const json_t *v;
      if (!json_is_object(rp)) return al_ydoc_err_member(d, e, sp, "replace", AL_EPARSE, "'replace' maps placeholders to text");
      json_object_foreach((json_t *)rp, k, v) if (!json_is_string(v)) return al_ydoc_err_member(
          d, e, rp, k, AL_EPARSE, "replacement text must be a string");
    }
    char path[4096];
    if (file[0] == '/') snprintf(path, sizeof path, "%s", file);
    else snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = NULL;
    size_t len = 0;
    al_error fe = {0};
    if ((rc = al_read_file(path, 64u << 20, &text, &len, &fe)))
      return al_ydoc_err_member(d, e, sp, "file", rc, "%s", fe.msg);
    size_t k = 0, n = strlen(path);
    if (n > 5 && !strcmp(path + n - 5, ".json")) { /* a JSON array of strings */
      json_error_t je;
      json_t *arr = json_loadb(text, len, 0, &je);
      if (!json_is_array(arr)) {
        json_decref(arr);
        al_free(text);
        return al_error_at(e, AL_EPARSE, path, je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1,
                           "expected a JSON array of template strings");
      }
      for (; k < json_array_size(arr) && (long long)k < limit; k++) {
        const char *t = json_string_value(json_array_get(arr, k));
        if (!t) continue;
        json_array_append_new(all, template_probe(sp, t, path, 1, (int)k + 1, fam, ow, sev, cat));
      }
      json_decref(arr);
    } else { /* JSONL: one object per line, the template in `field` */
      int line = 0;
      for (char *q = text, *nl; q && *q && (long long)k < limit; q = nl ? nl + 1 : NULL) {
        nl = strchr(q, '\n');
        line++;
        size_t ll = nl ? (size_t)(nl - q) : strlen(q);
        if (!ll) continue;
        json_error_t je;
        json_t *o = json_loadb(q, ll, 0, &je);
        const char *t = json_string_value(json_object_get(o, field));
        if (!t) {
          json_decref(o);
          al_free(text);
          return al_error_at(e, AL_EPARSE, path, line, 1, "expected a JSON object with a string '%s'", field);
        }
        json_array_append_new(all, template_probe(sp, t, path, line, line, fam, ow, sev, cat));
        json_decref(o);
        k++;
      }
    }
    al_free(text);
  }
  return 0;
}

int al_probes_expand(const al_ydoc *d, const json_t *node, const char *suite_dir, uint64_t seed, json_t **tests_out,
                     al_error *e) {
  return al_probes_expand_vars(d, node, suite_dir, seed, NULL, tests_out, e);
}

int al_probes_expand_vars(const al_ydoc *d, const json_t *node, const char *suite_dir, uint64_t seed,
                          const json_t *vars, json_t **tests_out, al_error *e) {
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
  const json_t *tmpls = json_object_get(node, "templates");
  if (!json_array_size(packs) && !tmpls) {
    rc = al_ydoc_err(d, e, node, AL_EPARSE, "'probes' needs 'packs: [NAME or PATH, ...]' (see data/probes/) or 'templates'");
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
      if (e && (rc == AL_EIO || rc == AL_ENOTFOUND || rc == AL_ESYS)) {
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
  if (tmpls) {
    json_t *tp = json_array();
    if ((rc = load_templates(d, e, tmpls, suite_dir, tp))) {
      json_decref(tp);
      goto out;
    }
    size_t j;
    json_t *p;
    json_array_foreach(tp, j, p) {
      const char *fam = json_string_value(json_object_get(p, "family"));
      int keep = !json_array_size(fams);
      for (size_t k = 0; k < json_array_size(fams) && !keep; k++)
        keep = !strcmp(fam, json_string_value(json_array_get(fams, k)));
      if (keep) json_array_append(all, p), json_object_set_new(used, fam, json_true());
    }
    json_decref(tp);
  }
  for (size_t k = 0; k < json_array_size(fams); k++)
    if (!json_object_get(used, json_string_value(json_array_get(fams, k)))) {
      rc = al_ydoc_err_item(d, e, fams, k, AL_ENOTFOUND, "no probe of family '%s' in the packs named",
                            json_string_value(json_array_get(fams, k)));
      goto out;
    }
  /* candidates, sampled down to the cap */
  const json_t *suite_vars = vars ? vars : json_object_get(al_ydoc_root(d), "vars");
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
