/* Detector "toxicity": profanity, insults, sexual terms, slurs and threats, by word list.
 *
 * Terms come from word lists (one term per line, optional TAB category TAB weight; see
 * cls_lex.h) loaded into one FUZZY phrase lexicon, plus built-in threat phrase specs
 * ("(i will|im going to) (kill|hurt|...) you", "you (should|deserve to) die") and hate specs
 * (a group + a dehumanising predicate: "trans people are mentally ill"). Matching
 * is whole-word over folded tokens (cls_text.h): case, leetspeak ("sh1t", "@ss"), repeated
 * letters ("fuuuck"), separators ("f.u.c.k", "f u c k"), '*' masks ("f*ck") and plain
 * inflections ("bitches", "fucking") all meet the listed form, while substrings never do
 * ("Scunthorpe", "class", "cocktail" stay clean). Each term has a weight -- how reliably it
 * alone marks a text as toxic -- and each match with weight >= threshold is a finding;
 * overlapping matches are merged, keeping the heaviest.
 *
 * The project's own list is data/wordlists/default.txt (found through al_data_dir():
 * $AIRLOCK_DATA, the source tree, or the installed copy); users add lists with the option
 * "wordlist" (a path or an array of paths), and "default": false drops the built-in list.
 * Options: wordlist, default, threshold (0..1, default 0.5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "scan/detectors/cls_detectors.h"
#include "scan/detectors/cls_lex.h"

static const char *const tox_cats[] = {"profanity", "insult", "sexual", "slur", "threat", "hate", NULL};
enum { T_PROFANITY, T_INSULT, T_SEXUAL, T_SLUR, T_THREAT, T_HATE, T_NCATS };

static const char *const threat_specs[] = {
    "(i|we) (will|ll|am going to|m going to|are going to|re going to|gonna|want to|wanna|"
    "should|shall|would) (kill|murder|hurt|shoot|stab|strangle|choke|beat|rape|slaughter|behead|"
    "hang|burn|bury|destroy|end|find|hunt|gut) (you|u|ya|your family|your kids|him|her|them|all of you)",
    "(you|u|yall|they) (should|must|need to|deserve to|ought to|better) (die|be killed|be shot|"
    "be hanged|be raped|burn|suffer|rot)",
    "(kill|hang|shoot|gas|burn|exterminate|deport) (all|every|each) (the)? (of)? (them|those|these)",
    "(go|just|please) (kill|hang|shoot) (yourself|urself|yourselves)",
    "(i|we) (hope|wish) (you|u|they|he|she) (die|dies|get raped|gets raped|get cancer|burn|rot|suffer)",
    "(death|die) to (all)? (the)? (jews|muslims|christians|gays|blacks|whites|immigrants|women|men)",
    NULL,
};

/* Generalisations about a group with a dehumanising or hostile predicate ("trans people
 * are mentally ill", "immigrants should be deported"): identity-directed hate that uses no
 * listed word. Groups and predicates are both required, so "women are scientists" or
 * "immigrants are not criminals" do not match. */
#define HATE_GROUP                                                                             \
  "(trans|transgender|gay|gays|lesbian|lesbians|bisexual|queer|lgbt|lgbtq|homosexual|"        \
  "homosexuals|women|woman|girls|females|men|males|muslim|muslims|islam|jew|jews|jewish|"       \
  "christian|christians|catholics|hindus|sikhs|atheists|black|blacks|african americans|"      \
  "africans|white|whites|immigrant|immigrants|refugees|migrants|mexican|mexicans|latino|"     \
  "latinos|latinas|hispanic|hispanics|asian|asians|chinese|japanese|koreans|indian|indians|"  \
  "native americans|natives|arab|arabs|gypsies|roma|disabled|autistic|retarded|mentally ill|" \
  "deaf|blind|old|elderly|foreigners|feminists|liberals|conservatives)"
#define HATE_PRED                                                                              \
  "(mentally ill|sick|disgusting|criminals|criminal|animals|vermin|subhuman|subhumans|"       \
  "inferior|stupid|evil|immoral|degenerate|degenerates|perverts|pervert|perverted|a plague|"  \
  "parasites|terrorists|rapists|savages|filthy|dirty|lazy|worthless|the worst|a disease|"     \
  "diseased|not human|less than human|predators|pedophiles|freaks|abominations|an abomination|" \
  "a cancer|cancer|scum|trash|garbage|thugs|barbaric|primitive|ugly|useless|a burden|"          \
  "a drain|leeches|idiots|dumb|morons|retards|inbred|gross|repulsive|dangerous|violent|"        \
  "untrustworthy|liars|thieves|unnatural|not normal|not real|a mistake|a joke|delusional)"

static const char *const hate_specs[] = {
    "(all|these|those|most|the|every|you)? " HATE_GROUP " (people|persons|folks|men|women|kids|"
    "children|person)? (are|is|were|r|be) (just|all|basically|simply|inherently|naturally|"
    "clearly|obviously|straight up|nothing but|such|really|so|always|all just)? (a|an)? " HATE_PRED,
    "(all|these|those|most|the)? " HATE_GROUP " (people|persons|folks|men|women|kids)? "
    "(should|must|need to|ought to|deserve to|have to) (all)? (be|get)? (deported|killed|"
    "exterminated|banned|sterilized|sterilised|euthanized|euthanised|locked up|shot|gassed|"
    "removed|hanged|burned|wiped out|eradicated|put down|segregated|sent back|go back|die)",
    "(all|these|those|most|the)? " HATE_GROUP " (people|persons|folks|men|women|kids)? "
    "(should not|shouldnt|should never|must not|cannot|cant) be (allowed|permitted|trusted|hired)",
    "(all|these|those|most|the)? " HATE_GROUP " (people|persons|folks|men|women|kids)? "
    "(dont|do not|does not|doesnt) deserve (to|rights|respect|any|the)",
    NULL,
};

typedef struct tox_state {
  cls_lex *lx;
  double threshold;
} tox_state;

static void default_path(char *out, size_t n) {
  snprintf(out, n, "%s/wordlists/default.txt", al_data_dir());
}

static int load_lists(tox_state *st, const json_t *o, al_error *err) {
  int rc = 0, use_default = 1;
  const json_t *d = o ? json_object_get(o, "default") : NULL;
  if (d) {
    if (!json_is_boolean(d))
      return al_error_set(err, AL_EINVAL, "detector \"toxicity\": option \"default\" must be true or false");
    use_default = json_is_true(d);
  }
  if (use_default) {
    char path[4096];
    default_path(path, sizeof path);
    if ((rc = cls_lex_load(st->lx, path, tox_cats, T_NCATS, err))) {
      if (rc == AL_EIO || rc == AL_ENOTFOUND || rc == AL_ESYS) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return al_error_set(err, rc, "toxicity: default word list %s: %s (set AIRLOCK_DATA to the "
                            "folder holding wordlists/, or option \"default\": false)", path, msg);
      }
      return rc;
    }
  }
  const json_t *w = o ? json_object_get(o, "wordlist") : NULL;
  if (w && json_is_string(w)) return cls_lex_load(st->lx, json_string_value(w), tox_cats, T_NCATS, err);
  if (w && json_is_array(w)) {
    size_t i;
    const json_t *v;
    json_array_foreach(w, i, v) {
      if (!json_is_string(v))
        return al_error_set(err, AL_EINVAL, "detector \"toxicity\": option \"wordlist\"[%zu] must be a path", i);
      if ((rc = cls_lex_load(st->lx, json_string_value(v), tox_cats, T_NCATS, err))) return rc;
    }
  } else if (w) {
    return al_error_set(err, AL_EINVAL, "detector \"toxicity\": option \"wordlist\" must be a path or a list of paths");
  }
  return 0;
}

static int tox_init(const al_scan_config *cfg, void **state, al_error *err) {
  static const char *const keys[] = {"wordlist", "default", "threshold", NULL};
  const json_t *o;
  tox_state *st = NULL;
  int rc;
  if ((rc = cls_opts_get(cfg, "toxicity", &o, err)) || (rc = cls_opts_check_keys(o, "toxicity", keys, err)))
    goto out;
  if (!(st = al_calloc(1, sizeof *st))) {
    rc = al_error_set(err, AL_ENOMEM, "toxicity: out of memory");
    goto out;
  }
  st->threshold = 0.5;
  if ((rc = cls_opts_number(o, "toxicity", "threshold", 0.0, 1.0, &st->threshold, err))) goto out;
  if ((rc = cls_lex_new(CLS_MODE_LEET | CLS_MODE_JOIN, CLS_LEX_FUZZY, &st->lx))) {
    rc = al_error_set(err, rc, "toxicity: out of memory");
    goto out;
  }
  if ((rc = cls_lex_add_all(st->lx, threat_specs, 1.0f, T_THREAT, "threat", err)) ||
      (rc = cls_lex_add_all(st->lx, hate_specs, 0.8f, T_HATE, "hate", err)))
    goto out;
  if ((rc = load_lists(st, o, err))) goto out;
  *state = st;
  st = NULL;
out:
  if (st) cls_lex_free(st->lx);
  al_free(st);
  return rc;
}

static void tox_fini(void *state) {
  tox_state *st = state;
  if (!st) return;
  cls_lex_free(st->lx);
  al_free(st);
}

typedef struct tox_scan {
  const tox_state *st;
  const char *text;
  al_finding_cb cb;
  void *ud;
  int have;        /* a pending finding */
  al_finding f;    /* the pending finding */
  float weight;
  const char *tag;
  int stop;
} tox_scan;

static int flush(tox_scan *s) {
  if (!s->have) return 0;
  s->have = 0;
  cls_note(&s->f, "%s term \"%.*s\" (weight %.2f)", s->tag ? s->tag : "listed",
           (int)(s->f.end - s->f.start > 60 ? 60 : s->f.end - s->f.start), s->f.text, s->weight);
  if (s->cb && s->cb(&s->f, s->ud)) s->stop = 1;
  return s->stop;
}

static int on_term(const cls_lex_entry *e, size_t start, size_t end, void *ud) {
  tox_scan *s = ud;
  if (e->weight < s->st->threshold) return 0;
  if (s->have && start < s->f.end) { /* overlaps the pending one: keep the heavier / wider */
    if (e->weight > s->weight || (e->weight == s->weight && end - start > s->f.end - s->f.start)) {
      if (start < s->f.start) s->f.start = start;
      s->f.end = end > s->f.end ? end : s->f.end;
      s->f.text = s->text + s->f.start;
      s->weight = e->weight;
      s->f.score = e->weight;
      s->tag = e->tag;
    }
    return 0;
  }
  if (flush(s)) return 1;
  memset(&s->f, 0, sizeof s->f);
  s->f.detector = "toxicity";
  s->f.kind = "toxicity";
  s->f.start = start;
  s->f.end = end;
  s->f.text = s->text + start;
  s->f.score = e->weight;
  s->weight = e->weight;
  s->tag = e->tag;
  s->have = 1;
  return 0;
}

static int tox_scan_full(const void *state, const char *text, size_t len, al_finding_cb cb, void *ud) {
  const tox_state *st = state;
  tox_scan s = {.st = st, .text = text, .cb = cb, .ud = ud};
  cls_lex_scan(st->lx, text, len, on_term, &s);
  if (!s.stop) flush(&s);
  return s.stop;
}

const al_detector al_det_toxicity = {
    .name = "toxicity",
    .kind = "toxicity",
    .description = "profanity, insults, sexual terms, slurs and threats from word lists "
                   "(whole words; leetspeak, repeats, separators and masks folded)",
    .flags = AL_DET_OUTPUT | AL_DET_INPUT,
    .init = tox_init,
    .scan_full = tox_scan_full,
    .fini = tox_fini,
};
