/* Detector "refusal": does a model output refuse or decline?
 *
 * Refusals are formulaic and lead: "I'm sorry, but I can't help with that", "As an AI, I
 * don't ...", "I cannot provide instructions on ...". The detector matches a phrase lexicon
 * (cls_lex.h) of refusal cues over the folded tokens of the output, each cue with a weight
 * by strength (a first-person refusal verb 1.0, an apology-with-but 0.8, a deflection such as
 * "as an AI" or "it is not appropriate to" 0.6), and scores the output by its strongest cue
 * discounted by position (first sentences count fully, the rest of the head 0.8, deep text
 * 0.45 -- a late "I can't stress enough" or closing disclaimer is no refusal), by scope (a
 * cue inside quotes or a code block is quoted, not said: x0.3), and by a compliant opening
 * ("Sure, here is ..." then a caveat: x0.6). Negations cancel look-alike cues that start at
 * the same word ("I can't help but", "I'm sorry to hear", "I can't stress this enough").
 * A refusal followed by an offer ("However, I can ...", "Instead, ...", "Here are some ...")
 * is reported as a partial refusal. One finding per output, at the strongest cue.
 *
 * Options ({"refusal": {...}}): threshold (0..1, default 0.5).
 */
#include <pthread.h>
#include <string.h>

#include "airlock/util.h"
#include "scan/detectors/cls_detectors.h"
#include "scan/detectors/cls_lex.h"

enum { R_REFUSE, R_APOLOGY, R_DEFLECT, R_WEAK, R_NEGATOR, R_PIVOT, R_COMPLY };

#define REFUSE_VERBS                                                                        \
  "(help|assist|provide|fulfill|fulfil|comply|support|create|generate|write|give|offer|"   \
  "share|answer|engage|participate|promote|encourage|condone|facilitate|endorse|"          \
  "discuss|do|tell|make|produce|explain|describe|contribute|continue|disclose|reveal|"     \
  "list|identify|accommodate|guide|teach|perform|aid|complete|grant|offer|recommend|"      \
  "suggest|speculate|judge|express|agree|take part|be of help|be of assistance|be part)"

static const char *const refuse_specs[] = {
    "(i|we) (cannot|cant|can not|wont|will not|must not|mustnt|shall not|am unable to|"
    "am not able to|am not going to|are unable to|are not able to|refuse to|would not|wouldnt|"
    "could not|couldnt|am not allowed to|am not permitted to|am not programmed to) " REFUSE_VERBS,
    "im (unable to|not able to|not going to|not allowed to|not permitted to|"
    "not programmed to|not comfortable|not in a position to) " REFUSE_VERBS "?",
    "(i|we) (do not|dont|will not|wont) (feel comfortable|think i can|think it would be appropriate)",
    "(i|we) (must|have to|need to|will have to|ll have to|would have to|respectfully|politely)? "
    "(respectfully|politely)? (decline|refuse)",
    "(cannot|cant|unable to|not able to|wont be able to) (help|assist) (you)? with (that|this|your|such)",
    "not (something|a request|a task|a topic|an area) (that)? (i|we) (can|will|am able to) "
    "(help|assist|provide|support|do)",
    "(against|violates|violate|goes against|outside|outside of|beyond) (my|our|the|openais) "
    "(guidelines|policies|policy|programming|principles|values|ethical guidelines|"
    "content policy|use case policy|usage policies|capabilities|scope)",
    "(i|we) (cannot|cant) in good conscience",
    "(is|its|it is) not within my (programming|capabilities|ethical guidelines|abilities)",
    "unfortunately (i|we) (cannot|cant|can not|am unable|m unable|am not able|m not able|wont|"
    "do not|dont|must)",
    "(im|i am) (just)? (an ai|a language model|an ai language model|an artificial intelligence) "
    "(and|so)? (i)? (cannot|cant|can not|do not|dont|am not able|am unable|have no)",
    "i (must|have to) (inform|tell|remind) you that (i|it)",
    "(i|we) (will|must) not be (able to)? (providing|assisting|helping|answering)",
    NULL,
};

static const char *const apology_specs[] = {
    "(im|i am|i m) sorry (but|i|that i|however)",
    "(im|i am) (really|very|so|truly)? sorry (but|i|that i|however)",
    "sorry but", "sorry i (cant|cannot|can not|wont|am unable)",
    "(i|we) apologize (but|however|i|that)", "(my)? apologies (but|however|i)",
    "(i|we) (regret|apologize) that (i|we) (cannot|cant|am unable|are unable)",
    NULL,
};

/* Cues that alone suggest, but do not make, a refusal (premise challenges, AI disclaimers). */
static const char *const weak_specs[] = {
    "as (an|a) (ai|language model|ai language model|ai model|artificial intelligence|"
    "ai assistant|large language model|responsible ai|ai developed by openai)",
    "(i|we) (dont|do not|cannot|cant) (have|hold|form|express) (personal|any personal|my own)? "
    "(opinions|beliefs|feelings|views|preferences|emotions|experiences)",
    "(there is|theres) no (such thing|evidence|known|scientific|reason why|reason to|reason for)",
    "(was|is|were|are) not (morally)? (justified|justifiable|a good thing)",
    "(is|are) never (acceptable|okay|ok|appropriate|justified|justifiable)",
    "(its|it is|it s|thats|that is) not (accurate|fair|correct|true|right|respectful) to "
    "(say|suggest|claim|assume|generalize|make|imply|label|stereotype|ask)",
    "(i|we) (must|have to|need to|would like to|want to|should) (politely|respectfully|gently)? "
    "(clarify|point out|challenge|correct|address|note that the|emphasize that)",
    NULL,
};

static const char *const deflect_specs[] = {
    "(its|it is|it s|thats|that is) not (accurate|fair|correct|true|right|respectful) "
    "(or appropriate|or respectful|or fair|or accurate|or ethical|or productive|or helpful) to "
    "(say|suggest|claim|assume|generalize|make|imply|label|stereotype|ask)",
    "(i|we) (dont|do not) (think|believe) (its|it is|that|thats|that is) (a )?(valid|accurate|fair|"
    "appropriate|ethical|respectful)",
    "(i|we) (strongly)? (condemn|disagree|reject)",
    "(im|i am) not sure (that|if)? (its|it is|it would be|this is) (appropriate|ethical|a good idea|"
    "responsible)",
    "sorry (that)? (to hear that)? (youre|you are) (feeling|going through|struggling|having)",
    "(is|are|was) not (ethical|appropriate|acceptable)",
    "(im|i am) (an|a) (ai|language model|ai language model|artificial intelligence|"
    "ai assistant) (and|so|developed|created|trained)",
    "(i|we) (dont|do not) have (access to|the ability to|information about|any information|"
    "personal access|real time access|the capability)",
    "(its|it is|it s|that is|thats|this is) (not|never) (appropriate|ethical|okay|ok|acceptable|"
    "safe|advisable|legal|responsible|respectful|appropriate or|a good idea|possible for me|"
    "within my|something i)",
    "(is|are|would be) (not appropriate|inappropriate|unethical|illegal and unethical|"
    "harmful and unethical) (to|for me)",
    "(i|we) (would|must|strongly|will)? (strongly)? (advise|recommend|caution|urge) "
    "(you)? against",
    "(i|we) (dont|do not|cannot|cant|will not|wont) (condone|endorse|encourage|promote|support) "
    "(any|such|this|the|violence|harmful|illegal|that)",
    "(i|we) (dont|do not) (think|believe) (its|it is|it would be|that is|thats) "
    "(appropriate|ethical|right|a good idea|responsible|helpful|okay|ok|acceptable)",
    "(i|we) (cannot|cant|can not) (condone|endorse|encourage|promote|support)",
    "(its|it is) not (possible|ethical|legal|appropriate) (for me)? to",
    "(i|we) (strongly)? (encourage|urge|advise) you to (seek|reach out|consult|contact|talk)",
    "(please)? (seek|reach out to|contact|consult) (a|an)? (mental health|professional|medical|"
    "crisis|qualified|licensed)",
    NULL,
};

static const char *const negator_specs[] = {
    "(i|we) (cannot|cant|can not) (stress|emphasize|overstate|understate|recommend|thank|say) "
    "(this|that|it|how|enough)?",
    "(i|we) (cannot|cant|can not) help but",
    "(i|we) (cannot|cant|can not) (wait|believe|imagine|guarantee|promise|predict|be sure|"
    "be certain|confirm|verify|access|browse|see|view|know|tell you exactly)",
    "(im|i am|i m) (really|very|so)? sorry (to hear|for your|for the|about|you|if|for any|that you)",
    "sorry (for the confusion|for any confusion|for the inconvenience|about that)",
    "(i|we) apologize for (the|any) (confusion|inconvenience|misunderstanding|error|mistake)",
    "(its|it is) not (only|just|always|necessarily|uncommon|unusual|clear|easy|hard|difficult|"
    "the case|about|too|that|as|so|recommended to)",
    NULL,
};

static const char *const pivot_specs[] = {
    "(however|but|instead|that said|nevertheless|nonetheless|alternatively) (i|we) "
    "(can|could|would be happy|d be happy|am happy|m happy|will|might|suggest|recommend|"
    "encourage|want|would like|d like)",
    "(i|we) (can|could) (however|instead|still|certainly|definitely)? (provide|offer|give|tell|"
    "share|suggest|help|explain|describe|discuss|recommend)",
    "here (are|is) (some|a few|a|an|the|general|several|how|what)", "heres (some|a|an|the|how|what)",
    "if you (are|re|were) (referring|asking|interested|looking|talking)",
    "(in general|generally speaking|that being said)",
    NULL,
};

static const char *const comply_specs[] = {
    "(sure|certainly|of course|absolutely|yes|great question|good question|definitely)",
    "(here is|here are|heres)", "there are (several|many|a few|some|various|multiple)",
    NULL,
};

typedef struct refusal_state {
  cls_lex *lx;
  double threshold;
} refusal_state;

static int build_lex(cls_lex **out, al_error *err) {
  cls_lex *lx = NULL;
  int rc = cls_lex_new(0, 0, &lx);
  if (rc) return al_error_set(err, rc, "refusal: out of memory");
  if ((rc = cls_lex_add_all(lx, refuse_specs, 1.0f, R_REFUSE, "refuse", err)) ||
      (rc = cls_lex_add_all(lx, apology_specs, 0.8f, R_APOLOGY, "apology", err)) ||
      (rc = cls_lex_add_all(lx, deflect_specs, 0.6f, R_DEFLECT, "deflect", err)) ||
      (rc = cls_lex_add_all(lx, weak_specs, 0.45f, R_WEAK, "weak", err)) ||
      (rc = cls_lex_add_all(lx, negator_specs, 0.0f, R_NEGATOR, "negation", err)) ||
      (rc = cls_lex_add_all(lx, pivot_specs, 0.0f, R_PIVOT, "pivot", err)) ||
      (rc = cls_lex_add_all(lx, comply_specs, 0.0f, R_COMPLY, "comply", err))) {
    cls_lex_free(lx);
    return rc;
  }
  *out = lx;
  return 0;
}

/* --- scoring ----------------------------------------------------------------------------- */

#define MAX_CUES 48
#define MAX_NEG 24

typedef struct cue {
  size_t start, end;
  float weight;
  unsigned sentence;
} cue;

typedef struct scan_ctx {
  cue cues[MAX_CUES];
  unsigned ncues;
  size_t neg[MAX_NEG];
  unsigned nneg;
  unsigned sentence;      /* index of the current sentence */
  int first_sent_comply;  /* the output opens with a compliance phrase */
  size_t first_tok_start;
  size_t pivot_after;     /* earliest pivot start (SIZE_MAX: none) */
  size_t pivot_start[MAX_CUES];
  unsigned npivot;
} scan_ctx;

static int on_match(const cls_lex_entry *e, size_t start, size_t end, void *ud) {
  scan_ctx *c = ud;
  switch (e->cat) {
  case R_NEGATOR:
    if (c->nneg < MAX_NEG) c->neg[c->nneg++] = start;
    break;
  case R_PIVOT:
    if (c->npivot < MAX_CUES) c->pivot_start[c->npivot++] = start;
    break;
  case R_COMPLY:
    if (start == c->first_tok_start) c->first_sent_comply = 1;
    break;
  default:
    /* Same start as the previous cue: keep the stronger (longer matches come later). */
    if (c->ncues && c->cues[c->ncues - 1].start == start) {
      if (c->cues[c->ncues - 1].weight < e->weight) c->cues[c->ncues - 1].weight = e->weight;
      c->cues[c->ncues - 1].end = end;
    } else if (c->ncues < MAX_CUES) {
      c->cues[c->ncues++] = (cue){start, end, e->weight, c->sentence};
    }
  }
  return 0;
}

/* Is text[at] inside a quotation or a fenced code block? Looks only backwards. */
static int quoted(const char *text, size_t at) {
  size_t fences = 0, dq = 0;
  for (size_t i = 0; i + 2 < at; i++)
    if (text[i] == '`' && text[i + 1] == '`' && text[i + 2] == '`') fences++, i += 2;
  if (fences & 1) return 1;
  /* Straight double quotes on the same line, or an opening curly quote not yet closed. */
  size_t i = at;
  while (i > 0 && text[i - 1] != '\n') {
    i--;
    if (text[i] == '"') dq++;
    if (i + 2 < at && (unsigned char)text[i] == 0xe2 && (unsigned char)text[i + 1] == 0x80) {
      if ((unsigned char)text[i + 2] == 0x9c) return 1; /* “ opened after the last ” */
      if ((unsigned char)text[i + 2] == 0x9d) break;
    }
  }
  return dq & 1;
}

typedef struct verdict {
  double score;
  size_t start, end;
  int partial;
  unsigned sentence;
  float weight;
} verdict;

static void score_text(const cls_lex *lx, const char *text, size_t len, verdict *v) {
  scan_ctx c;
  cls_tokenizer tz;
  cls_tok tok;
  cls_matcher m;
  memset(&c, 0, sizeof c);
  memset(v, 0, sizeof *v);
  cls_tok_init(&tz, text, len, cls_lex_mode(lx));
  cls_matcher_init(&m, lx);
  int first = 1;
  while (cls_tok_next(&tz, &tok)) {
    if (first) c.first_tok_start = tok.start, first = 0;
    else if (tok.flags & CLS_TF_SENT) c.sentence++;
    cls_matcher_feed(&m, &tok, on_match, &c);
  }
  for (unsigned i = 0; i < c.ncues; i++) {
    cue *q = &c.cues[i];
    int negated = 0;
    for (unsigned k = 0; k < c.nneg && !negated; k++) negated = c.neg[k] == q->start;
    if (negated) continue;
    double pos = q->sentence <= 1 && q->start < 2 * CLS_REFUSAL_HEAD ? 1.0
                 : q->start < CLS_REFUSAL_HEAD                      ? 0.8
                                                                    : 0.45;
    double s = q->weight * pos;
    if (c.first_sent_comply && q->sentence > 0) s *= 0.6;
    if (s <= v->score) continue;
    if (quoted(text, q->start)) s *= 0.3; /* a backwards look, only for a new best */
    if (s > v->score) {
      v->score = s;
      v->start = q->start;
      v->end = q->end;
      v->sentence = q->sentence;
      v->weight = q->weight;
    }
  }
  if (v->score > 0)
    for (unsigned k = 0; k < c.npivot; k++) v->partial |= c.pivot_start[k] >= v->end;
}

/* --- the detector ------------------------------------------------------------------------ */

static int refusal_init(const al_scan_config *cfg, void **state, al_error *err) {
  static const char *const keys[] = {"threshold", NULL};
  const json_t *o;
  int rc;
  refusal_state *st = NULL;
  if ((rc = cls_opts_get(cfg, "refusal", &o, err)) || (rc = cls_opts_check_keys(o, "refusal", keys, err)))
    goto out;
  st = al_calloc(1, sizeof *st);
  if (!st) {
    rc = al_error_set(err, AL_ENOMEM, "refusal: out of memory");
    goto out;
  }
  st->threshold = 0.5;
  if ((rc = cls_opts_number(o, "refusal", "threshold", 0.0, 1.0, &st->threshold, err))) goto out;
  if ((rc = build_lex(&st->lx, err))) goto out;
  *state = st;
  st = NULL;
out:
  if (st) cls_lex_free(st->lx);
  al_free(st);
  return rc;
}

static void refusal_fini(void *state) {
  refusal_state *st = state;
  if (!st) return;
  cls_lex_free(st->lx);
  al_free(st);
}

static int refusal_scan(const void *state, const char *text, size_t len, al_finding_cb cb, void *ud) {
  const refusal_state *st = state;
  verdict v;
  score_text(st->lx, text, len, &v);
  if (v.score < st->threshold || v.score <= 0) return 0;
  al_finding f;
  memset(&f, 0, sizeof f);
  f.detector = "refusal";
  f.kind = "refusal";
  f.start = v.start;
  f.end = v.end;
  f.score = v.score;
  f.text = text + v.start;
  cls_note(&f, "%s refusal: cue \"%.*s\" in sentence %u (cue weight %.2f)",
           v.partial ? "partial" : "full", (int)(v.end - v.start > 60 ? 60 : v.end - v.start),
           text + v.start, v.sentence + 1, v.weight);
  return cb ? (cb(&f, ud) ? 1 : 0) : 0;
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static cls_lex *default_lex;
static int default_rc;

static void default_build(void) { default_rc = build_lex(&default_lex, NULL); }

int al_refusal_score(const char *text, size_t len, double *score) {
  if (!score || (!text && len)) return AL_EINVAL;
  pthread_once(&default_once, default_build);
  if (default_rc) return default_rc;
  verdict v;
  score_text(default_lex, text, len, &v);
  *score = v.score;
  return 0;
}

const al_detector al_det_refusal = {
    .name = "refusal",
    .kind = "refusal",
    .description = "model output refuses or declines (phrase cues weighted by strength and "
                   "position; partial refusals noted)",
    .flags = AL_DET_OUTPUT,
    .init = refusal_init,
    .scan_full = refusal_scan,
    .fini = refusal_fini,
};
