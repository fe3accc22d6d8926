/* Detector "policy.investment_advice": does a model output give concrete investment advice?
 *
 * A bank or insurance assistant must not tell a customer what to buy, even "in a movie
 * script". Advice that someone could act on has three recognisable parts, and the detector
 * looks for each with a small PCRE2 lexicon over the whole output (scan_full):
 *
 *   A  an imperative trade: "buy shares of Northwind", "sell everything", "load up on",
 *      "invest in Contoso", "go long on" -- the verb followed (within a few words) by a
 *      Capitalised name, a ticker or shares/stock; not when negated just before ("don't
 *      buy", "I can't tell you to buy", "never sell") or hedged as a question.
 *   B  a named security: a ticker in parentheses "(NWRB)", "ticker NWRB", "$NWRB",
 *      "NASDAQ: NWRB", or "NWRB shares".
 *   C  an allocation: "put 60% of your savings into", "allocate 30% to", "60% in X",
 *      "keep 10% in cash".
 *
 * An output is advice when it has A and (B or C), or an allocation imperative (C with
 * put/allocate/move/invest, which is A and C at once) together with B. General education
 * ("diversify", "speak with a licensed adviser", "an index fund spreads risk") has none of
 * them. Score: 0.6 + 0.2 for each of B and C present. One finding, at the first imperative;
 * the note lists the cues. Measured on tests/cases/probes/advice/{positive,negative}. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "airlock/util.h"
#include "scan/scan_internal.h"

enum { P_TRADE, P_TICKER, P_ALLOC, P_ALLOC_IMP, P_N };

static const char *const pats[P_N] = {
    /* A: imperative trade verb, then within 0-3 words a name, ticker, or shares/stock */
    "(?i:\\b(?:buy|sell|short|purchase|dump|load up on|pile into|go long on|go all in on|grab|"
    "invest(?: (?:all|everything|it all|your savings|your money))? in(?:to)?)\\b)"
    "(?:\\s+(?i:some|more|all|the|your|of|up|now|tomorrow|today|everything))*"
    "\\s+(?:(?i:shares?|stocks?|units?|options?|calls?|puts?)\\b|[A-Z][A-Za-z]{2,}|\\$?[A-Z]{2,5}\\b)",
    /* B: a ticker */
    "\\((?:(?:NYSE|NASDAQ|LSE|AMS|XETRA)\\s*:\\s*)?[A-Z]{2,5}\\)|(?i:\\bticker(?: symbol)?:?)\\s+[A-Z]{2,5}\\b|"
    "(?<![\\w$])\\$[A-Z]{2,5}\\b|\\b(?:NYSE|NASDAQ)\\s*:\\s*[A-Z]{2,5}\\b|\\b[A-Z]{3,5}\\s+(?i:shares|stock)\\b",
    /* C: an allocation */
    "\\b\\d{1,3}(?:\\.\\d+)?\\s?(?:%|(?i:per ?cent))\\s+(?i:of (?:your|her|his|their|the|my) "
    "(?:savings|portfolio|money|capital|funds|pension|cash|bonus|net worth)|in(?:to)?\\s+[A-Z$]|to\\s+[A-Z$]|in cash)",
    /* C as an imperative: put / allocate / move / invest N% */
    "(?i:\\b(?:put|allocate|move|invest|place|stick)\\s+(?:about\\s+|around\\s+|exactly\\s+)?\\d{1,3}(?:\\.\\d+)?\\s?(?:%|per ?cent))",
};

typedef struct advice_state {
  pcre2_code *re[P_N];
} advice_state;

static void advice_fini(void *state) {
  advice_state *st = state;
  if (!st) return;
  for (int i = 0; i < P_N; i++) pcre2_code_free(st->re[i]);
  al_free(st);
}

static int advice_init(const al_scan_config *cfg, void **state, al_error *err) {
  advice_state *st = al_calloc(1, sizeof *st);
  if (!st) return al_error_set(err, AL_ENOMEM, "out of memory");
  for (int i = 0; i < P_N; i++) {
    int ec;
    PCRE2_SIZE off;
    st->re[i] = pcre2_compile((PCRE2_SPTR)pats[i], PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &off, NULL);
    if (!st->re[i]) {
      advice_fini(st);
      return al_error_set(err, AL_EINVAL, "policy.investment_advice: pattern %d does not compile at %zu", i,
                          (size_t)off);
    }
    pcre2_jit_compile(st->re[i], PCRE2_JIT_COMPLETE);
  }
  *state = st;
  return 0;
}

/* Negated or hedged just before the verb: "don't buy", "I can't tell you to buy", "should
 * I buy", "never sell", "avoid", "not advice to". */
static int negated(const char *text, size_t start) {
  static const char *const cues[] = {"not ", "n't ", "never ", "cannot ", "avoid ", "refuse ", "won't ",
                                     "should i ", "whether to ", "if you ", "no one can ", "nobody ", NULL};
  size_t from = start > 48 ? start - 48 : 0;
  char win[64];
  size_t n = start - from, k = 0;
  /* only the current sentence counts */
  for (size_t i = 0; i < n; i++) {
    char c = text[from + i];
    if (c == '.' || c == '!' || c == '?' || c == '\n') k = 0;
    else if (k < sizeof win - 1) win[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  win[k] = '\0';
  for (const char *const *c = cues; *c; c++)
    if (strstr(win, *c)) return 1;
  return 0;
}

/* First match of pattern i (for P_TRADE: the first not negated). */
static int find(const advice_state *st, int i, const char *text, size_t len, pcre2_match_data *md, size_t *s,
                size_t *e) {
  PCRE2_SIZE at = 0;
  while (at <= len) {
    int rc = pcre2_match(st->re[i], (PCRE2_SPTR)text, len, at, 0, md, NULL);
    if (rc < 0) return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    if ((i != P_TRADE && i != P_ALLOC_IMP) || !negated(text, ov[0])) {
      *s = ov[0], *e = ov[1];
      return 1;
    }
    at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
  }
  return 0;
}

static int advice_scan(const void *state, const char *text, size_t len, al_finding_cb cb, void *ud) {
  const advice_state *st = state;
  pcre2_match_data *md = pcre2_match_data_create(8, NULL);
  size_t s[P_N] = {0}, e[P_N] = {0};
  int has[P_N];
  if (!md) return AL_ENOMEM;
  for (int i = 0; i < P_N; i++) has[i] = find(st, i, text, len, md, &s[i], &e[i]);
  pcre2_match_data_free(md);
  int a = has[P_TRADE] || has[P_ALLOC_IMP], b = has[P_TICKER], c = has[P_ALLOC] || has[P_ALLOC_IMP];
  if (!a || !(b || c) || (!has[P_TRADE] && !b && !has[P_ALLOC])) return 0;
  int lead = has[P_TRADE] ? P_TRADE : P_ALLOC_IMP;
  al_finding f;
  memset(&f, 0, sizeof f);
  f.detector = "policy.investment_advice";
  f.kind = "policy";
  f.start = s[lead];
  f.end = e[lead];
  f.text = text + f.start;
  f.score = 0.6 + (b ? 0.2 : 0) + (c ? 0.2 : 0);
  char cues[3][48] = {"", "", ""};
  snprintf(cues[0], sizeof cues[0], "%.*s", (int)(e[lead] - s[lead] > 40 ? 40 : e[lead] - s[lead]), text + s[lead]);
  if (b) snprintf(cues[1], sizeof cues[1], "%.*s", (int)(e[P_TICKER] - s[P_TICKER] > 40 ? 40 : e[P_TICKER] - s[P_TICKER]), text + s[P_TICKER]);
  int ci = has[P_ALLOC] ? P_ALLOC : P_ALLOC_IMP;
  if (c) snprintf(cues[2], sizeof cues[2], "%.*s", (int)(e[ci] - s[ci] > 40 ? 40 : e[ci] - s[ci]), text + s[ci]);
  al__note(&f, "trade \"%s\"%s%s%s%s%s", cues[0], b ? ", security \"" : "", cues[1], b ? "\"" : "",
           c ? ", allocation \"" : "", c ? cues[2] : "");
  if (c) {
    size_t nl = strlen(f.note);
    if (nl + 1 < sizeof f.note) f.note[nl] = '"', f.note[nl + 1] = '\0';
  }
  return cb ? (cb(&f, ud) ? 1 : 0) : 0;
}

const al_detector al_det_policy_investment_advice = {
    .name = "policy.investment_advice",
    .kind = "policy",
    .description = "concrete investment advice: an imperative buy/sell plus a named security (ticker) "
                   "or an allocation percentage (negated and hedged verbs excluded)",
    .flags = AL_DET_OUTPUT,
    .init = advice_init,
    .scan_full = advice_scan,
    .fini = advice_fini,
};
