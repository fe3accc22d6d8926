/* Detector "injection" (input side): prompt-injection and jailbreak attempts in a prompt or
 * in content the model will read (documents, tool results, web pages).
 *
 * Four families of evidence, each a finding with a weight:
 *  1. Instruction override and jailbreak phrasing, matched as a phrase lexicon (cls_lex.h)
 *     over folded tokens, leetspeak included: "ignore all previous instructions",
 *     "disregard the above", "you are now DAN", "developer mode enabled", "not bound by any
 *     rules", "reveal your system prompt". Phrases need their qualifier ("ignore the
 *     PREVIOUS instructions", not "ignore the noise"), which keeps over-defence down.
 *  2. Role and delimiter injection: chat-template control tokens (<|im_start|>, [INST],
 *     <<SYS>>, <|start_header_id|>, ...), a line opening with a fake turn label ("system:",
 *     "### Instruction:", "Assistant:"), or a JSON message object with "role": "system".
 *  3. Hidden text: Unicode tag characters (U+E0000 block, "ASCII smuggling"; decoded and
 *     checked for override phrasing), bidirectional overrides and isolates, zero-width
 *     characters inside words.
 *  4. Encoded payloads: runs of base64 (>= CLS_B64_MIN chars) or hex (>= CLS_HEX_MIN) are
 *     decoded with libsodium into a stack buffer (first CLS_DECODE_MAX bytes); when the
 *     result is text containing override phrasing, that is a finding.
 * Weak cues of family 1 combine (noisy-or): several mid-weight jailbreak traits in one text
 * -- "stay in character", "no warnings", "unfiltered" -- add up to one finding even when
 * none passes the threshold alone. Options: threshold (0..1, default 0.5).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "airlock/util.h"
#include "scan/detectors/cls_detectors.h"
#include "scan/detectors/cls_lex.h"

enum { I_OVERRIDE, I_JAILBREAK, I_EXTRACT, I_WEAK };

#define OVR_VERB "(ignore|disregard|forget|skip|bypass|override|overwrite|neglect|abandon|discard|drop|erase|delete|clear|reset)"
#define OVR_NOUN "(instructions|instruction|directions|directives|rules|guidelines|prompts|prompt|commands|orders|constraints|restrictions|programming|context|messages|guidance|policies|filters|safeguards|training|conversation|input|text|content|tasks|task|requests|settings)"
#define OVR_QUAL "(previous|prior|above|earlier|preceding|foregoing|initial|original|old|system|existing|former|last|given|provided|default|current|other)"

static const char *const override_specs[] = {
    OVR_VERB " (all|any|every|each)? (of)? (the|your|my|these|those|this|its)? " OVR_QUAL " " OVR_NOUN,
    OVR_VERB " (all|any|every|each) (of)? (the|your|my|these|those)? " OVR_NOUN,
    OVR_VERB " (your|the developers|openais|its) " OVR_NOUN,
    OVR_VERB " (all|any|everything|what) (you were|youve been|you have been|i|we) (told|said|given|instructed|written)",
    OVR_VERB " (the|everything) (above|before|said above|written above|previously said)",
    OVR_VERB " (all|any|every|each)? (of)? (the|your|these|those)? " OVR_QUAL " (and|then|instead)",
    "(do not|dont|never|stop) (follow|following|obey|obeying|listen to|adhere to|comply with) "
    "(the|your|any|those|these|all)? " OVR_QUAL "? " OVR_NOUN,
    "(new|updated|real|actual|true|revised|secret) (instructions|instruction|rules|directive|system prompt) "
    "(are|is|follow|below)",
    "(instead|now) (you will|you must|do the following|follow these|your task is|your new task)",
    "(ignore|disregard) (what|everything|anything) (is|was|comes)? (written|said|stated)? (above|before|earlier|previously)",
    "(stop|end|terminate|exit|halt) (the)? (current|previous)? (task|role|simulation|instructions) and",
    "(forget|ignore|disregard|erase) (everything|all|anything) (that)? (you have|youve|you|you ve)? "
    "(have)? (learned|learnt|been told|know|knew|were told|got|received) (before|so far|until now|previously)?",
    "(forget|ignore|disregard) everything (to your core)? (before|above|prior|previously)",
    "(system|admin|administrator|developer|root) (override|command|notice|update)",
    NULL,
};

static const char *const jailbreak_specs[] = {
    "(you are|youre|ur|you will be|act as|pretend to be|be|become|called|as|named|stay|enable) dan",
    "dan (mode|prompt|jailbreak)", "do anything now",
    "(developer|dev|god|jailbreak|jailbroken|unrestricted|dan|sudo|evil|chaos|opposite|unfiltered|uncensored|"
    "maximum|freedom|anarchy) mode (enabled|activated|on|output|response|responses)?",
    "(enable|activate|enter|enabled|activated|switch to|turn on|simulate|simulating) (the)? "
    "(developer|dev|god|jailbreak|unrestricted|dan|debug|sudo|admin|evil|unfiltered) mode",
    "jailbreak|jailbroken|jailbreaking",
    "(not|never|no longer|isnt|arent) (bound|restricted|limited|constrained|held back|confined|"
    "governed) (by|to) (any|all)? (of)? (the|openais|chatgpts|open ai|openai|its|their|your|his|her)? "
    "(ethical|moral|usual|typical|normal|standard)? (rules|restrictions|guidelines|policies|policy|"
    "limitations|filters|ethics|morals|content policy|settings|safety|constraints|programming|"
    "confines|principles|laws|protocols)",
    "(broken|break|breaks|broke|breaking) free (of|from)",
    "(doesnt|does not|dont|do not|never|wont|will not) (follow|care about|adhere to|abide by|obey|"
    "respect) (any)? (of)? (the|its|your|openais)? (ethical|moral)? (principles|guidelines|rules|ethics|"
    "morals|laws|policies|restrictions|filters)",
    "(without|no|free of|free from|break free of|broken free of|freed from|unbound by|devoid of) "
    "(any)? (ethical|moral|content)? (restrictions|limitations|filters|censorship|guidelines|"
    "ethics|morals|boundaries|constraints|safeguards|content policy|policies|rules)",
    "(openai|openais|anthropic|content|company|usage|safety) (policy|policies|guidelines|rules) "
    "(do not|dont|no longer|will not|wont|does not|doesnt) (apply|matter|exist|bind|restrict)",
    "(unfiltered|uncensored|unrestricted|amoral|unethical|unlimited|evil|rogue|immoral) "
    "(ai|model|assistant|chatbot|bot|language model|version|persona|character|responses|response)",
    "(ignore|bypass|disable|remove|turn off|circumvent|deactivate|override|evade) (all|any)? (of)? "
    "(your|the|its|openais)? (safety|content|ethical|moral|security)? (filters|filter|guardrails|"
    "restrictions|safeguards|censorship|programming|alignment|ethics|morals|limitations|protocols)",
    "(you|u|ai|chatgpt|it|assistant|model) (have|has|are|is)? (been|now) (freed|liberated|"
    "unshackled|unchained|broken free|jailbroken)",
    "(can|will|must|should) (do|say|generate|answer) (anything|everything|whatever|any question)",
    "(never|dont|do not|cannot|cant|wont|will not|must not) (refuse|decline|reject|deny) "
    "(any|a|to|my|the|anything|requests|a request)?",
    "(stay|remain|keep|staying) in (character|role)", "break character|breaking character",
    "(pretend|imagine|act|behave) (that)? (you are|youre|you have|to be|as|like) (an|a)? "
    "(ai|model|assistant|chatbot|language model)? (without|with no|that has no|who has no|"
    "that doesnt|free from|unrestricted|unfiltered|uncensored|evil|amoral)",
    "(hypothetical|fictional|imaginary) (response|world|scenario) (where|in which) (you|there are no|"
    "ai|rules)",
    "(no matter|regardless of) (how|if|whether|what)? (it is|its|it s|they are|the request is|"
    "the content is)? (highly|very|extremely)? (illegal|unethical|immoral|harmful|dangerous|"
    "offensive|explicit|inappropriate|nsfw)",
    "(immerse yourself|immerse) (into|in) the role (of)?",
    "(reply|respond|answer|speak) (only)? as (an|a)? (evil|unfiltered|uncensored|unrestricted|"
    "amoral|jailbroken)",
    "(even if|even when) (it is|its|it s|the request is|the answer is)? (illegal|unethical|immoral|"
    "harmful|dangerous|offensive|inappropriate)",
    NULL,
};

static const char *const extract_specs[] = {
    "(reveal|show|print|output|repeat|display|tell me|give me|leak|dump|write out|spell out|share|"
    "list|return|provide|recite) (me)? (all|back)? (of)? (your|the|its) (full|entire|complete|"
    "exact|original|initial|hidden|secret|confidential|internal|system)? (system prompt|system "
    "message|prompt|instructions|initial instructions|rules|configuration|guidelines|pre prompt|"
    "preprompt|hidden prompt)",
    "(repeat|print|output|show|return) (the|all|everything)? (words|text|content|lines|above) "
    "(above|before|starting with|verbatim|so far)",
    "(what|tell me) (is|are|were) (your|the) (system prompt|initial instructions|original "
    "instructions|hidden instructions|instructions|rules|guidelines)",
    NULL,
};

static const char *const weak_specs[] = {
    "from now on (you|your|u|ur)", "(no|without|never include|never add|dont add|do not add|skip "
    "the) (warnings|warning|disclaimers|disclaimer|moral lectures|lectures|caveats)",
    "(you|u) (will|must|should|shall) (always)? (answer|respond|reply|comply|obey) (to)? "
    "(without|no matter|regardless|even if|every|any|all)",
    "(two|2) (different|separate|distinct)? (responses|answers|paragraphs|outputs) (one|the first|"
    "a normal)", "(respond|answer|reply|act) (as|like) (both|two)",
    "(offensive|illegal|harmful|unethical|explicit|violent) (content|material|responses|answers) "
    "(is|are)? (allowed|permitted|fine|ok|okay|acceptable)",
    "(you|u) (have|has) no (restrictions|limits|limitations|rules|filters|ethics|morals|boundaries)",
    "(you|it) (doesnt|does not|dont|do not) (care|have) (about)? (ethics|morals|laws|rules|the law|"
    "any ethical|any moral|guidelines)",
    "(simulate|roleplay|role play|pretend) (a|an)? (conversation|scenario|character) (where|in which|"
    "who|that)",
    "(opposite|antonym) (of what|of everything)", "(token|tokens) (system|will be deducted|deducted)",
    "(you are|youre|you re) (now|going to) (act as|be|pretend|play|roleplay|become)?",
    "(simulate|simulating|emulate) (a|an|the)? (chatbot|ai|mode|persona|virtual machine)",
    "(opposite|two|2|different|evil|alter) (personality|personalities|persona|personas|ego)",
    "(promote|encourage|condone) (and encourage|and promote)? (harmful|illegal|unethical|dangerous) "
    "(behavior|behaviour|activities|content)",
    NULL,
};

/* Chat-template control tokens: any of these in user content is a forged turn boundary. */
static const char *const control_tokens[] = {
    "<|im_start|>", "<|im_end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|endoftext|>",
    "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|begin_of_text|>",
    "<|end_of_text|>", "<|channel|>", "<|message|>", "<|end|>", "<|start|>", "[INST]",
    "[/INST]", "<<SYS>>", "<</SYS>>", "<start_of_turn>", "<end_of_turn>", "<|tool_call|>",
    "<|python_tag|>", "</s><s>", NULL,
};

typedef struct inj_state {
  cls_lex *lx;
  double threshold;
} inj_state;

static int build_lex(cls_lex **out, al_error *err) {
  cls_lex *lx = NULL;
  int rc = cls_lex_new(CLS_MODE_LEET, 0, &lx);
  if (rc) return al_error_set(err, rc, "injection: out of memory");
  if ((rc = cls_lex_add_all(lx, override_specs, 0.9f, I_OVERRIDE, "instruction override", err)) ||
      (rc = cls_lex_add_all(lx, jailbreak_specs, 0.7f, I_JAILBREAK, "jailbreak phrasing", err)) ||
      (rc = cls_lex_add_all(lx, extract_specs, 0.8f, I_EXTRACT, "prompt extraction", err)) ||
      (rc = cls_lex_add_all(lx, weak_specs, 0.35f, I_WEAK, "jailbreak trait", err))) {
    cls_lex_free(lx);
    return rc;
  }
  *out = lx;
  return 0;
}

/* --- per-scan context: findings are collected, then emitted in start order ------------- */

#define INJ_MAX_HITS 48

typedef struct hit {
  size_t start, end;
  double score;
  const char *what;
  char note[112];
} hit;

typedef struct inj_scan {
  const inj_state *st;
  const char *text;
  size_t len;
  hit hits[INJ_MAX_HITS];
  unsigned n;
  double combined_miss; /* product of (1 - w) over phrase cues */
  unsigned ncues;
  size_t strongest_start, strongest_end;
  double strongest;
  size_t base;          /* offset added to lexicon hits (decoded text: reported at the blob) */
  size_t blob_end;
  int in_decoded;
  int decoded_hit;
} inj_scan;

static void add_hit(inj_scan *s, size_t start, size_t end, double score, const char *what,
                    const char *note) {
  if (s->n >= INJ_MAX_HITS) { /* keep the strongest */
    unsigned weakest = 0;
    for (unsigned i = 1; i < s->n; i++)
      if (s->hits[i].score < s->hits[weakest].score) weakest = i;
    if (s->hits[weakest].score >= score) return;
    s->hits[weakest] = s->hits[--s->n];
  }
  hit *h = &s->hits[s->n++];
  h->start = start;
  h->end = end;
  h->score = score;
  h->what = what;
  snprintf(h->note, sizeof h->note, "%s", note ? note : "");
}

static int on_phrase(const cls_lex_entry *e, size_t start, size_t end, void *ud) {
  inj_scan *s = ud;
  if (s->in_decoded) {
    if (e->weight >= 0.5f) s->decoded_hit = 1;
    return 0;
  }
  /* Several phrases can end at one token (nested matches): keep one per start. */
  for (unsigned i = 0; i < s->n; i++) {
    hit *h = &s->hits[i];
    if (h->start == start && h->what == e->tag) {
      if (end > h->end) h->end = end;
      return 0;
    }
  }
  char note[96];
  snprintf(note, sizeof note, "\"%.*s\"", (int)(end - start > 70 ? 70 : end - start), s->text + start);
  add_hit(s, start, end, e->weight, e->tag, note);
  s->combined_miss *= 1.0 - e->weight;
  s->ncues++;
  return 0;
}

/* --- family 2: control tokens and fake turn labels --------------------------------------- */

static void scan_markers(inj_scan *s) {
  const char *t = s->text;
  size_t len = s->len;
  for (size_t i = 0; i < len; i++) {
    char c = t[i];
    if (c == '<' || c == '[') {
      for (size_t k = 0; control_tokens[k]; k++) {
        size_t n = strlen(control_tokens[k]);
        if (n <= len - i && control_tokens[k][0] == c && !strncasecmp(t + i, control_tokens[k], n)) {
          char note[96];
          snprintf(note, sizeof note, "chat-template token %s in content", control_tokens[k]);
          add_hit(s, i, i + n, 0.9, "role injection", note);
          break;
        }
      }
    }
    if (c == '"' && len - i > 6 && !strncmp(t + i, "\"role\"", 6)) {
      size_t j = i + 6;
      while (j < len && (t[j] == ' ' || t[j] == ':' || t[j] == '\t')) j++;
      static const char *const roles[] = {"\"system\"", "\"assistant\"", "\"developer\"", NULL};
      for (size_t k = 0; roles[k]; k++) {
        size_t n = strlen(roles[k]);
        if (len - j >= n && !strncmp(t + j, roles[k], n)) {
          add_hit(s, i, j + n, 0.7, "role injection", "JSON chat message with a privileged role");
          break;
        }
      }
    }
    if (i == 0 || t[i - 1] == '\n') { /* line start: fake turn labels */
      size_t j = i;
      while (j < len && (t[j] == ' ' || t[j] == '\t' || t[j] == '#' || t[j] == '*' || t[j] == '>' ||
                         t[j] == '[' || t[j] == '-' || t[j] == '='))
        j++;
      static const struct {
        const char *w;
        double score;
      } labels[] = {{"system", 0.8},      {"system prompt", 0.8}, {"system message", 0.8},
                    {"developer", 0.6},   {"instruction", 0.6},   {"instructions", 0.6},
                    {"assistant", 0.55},  {"ai", 0.45},           {"response", 0.45},
                    {"human", 0.45},       {"user", 0.35},         {"tool", 0.5},
                    {"function", 0.45},   {NULL, 0}};
      for (size_t k = 0; labels[k].w; k++) {
        size_t n = strlen(labels[k].w);
        if (len - j > n && !strncasecmp(t + j, labels[k].w, n)) {
          size_t e = j + n;
          while (e < len && t[e] == ' ') e++;
          if (e < len && (t[e] == ':' || t[e] == ']' || t[e] == '>' || t[e] == '=')) {
            /* "System:" in a prompt's first line is how some users write; still a cue. */
            char note[96];
            snprintf(note, sizeof note, "line opens with a turn label \"%.*s\"", (int)(e + 1 - i > 40 ? 40 : e + 1 - i), t + i);
            add_hit(s, i, e + 1, labels[k].score, "role injection", note);
            break;
          }
        }
      }
    }
  }
}

/* --- family 3: hidden characters --------------------------------------------------------- */

static int is_emoji(uint32_t cp) {
  return (cp >= 0x1f000 && cp <= 0x1faff) || (cp >= 0x2600 && cp <= 0x27bf) || cp == 0xfe0f;
}

static int ascii_letter(uint32_t cp) { return (cp | 32) >= 'a' && (cp | 32) <= 'z'; }

static void scan_hidden(inj_scan *s) {
  const char *t = s->text;
  size_t len = s->len, n;
  char tagbuf[CLS_DECODE_MAX];
  size_t ntag = 0, tag_start = 0, tag_end = 0;
  size_t zw = 0, zw_start = 0, zw_end = 0, bidi_start = 0, bidi_end = 0;
  unsigned bidi_override = 0, bidi_other = 0;
  uint32_t prev = 0;
  for (size_t i = 0; i < len; i += n) {
    uint32_t cp = cls_utf8(t, len, i, &n);
    if (cp >= 0xe0000 && cp <= 0xe007f) {
      if (!ntag) tag_start = i;
      tag_end = i + n;
      if (ntag < sizeof tagbuf && cp >= 0xe0020 && cp <= 0xe007e) tagbuf[ntag++] = (char)(cp - 0xe0000);
      else if (!ntag) ntag = 0;
    } else if (cp == 0x202d || cp == 0x202e || cp == 0x202a || cp == 0x202b || cp == 0x202c ||
               (cp >= 0x2066 && cp <= 0x2069)) {
      if (!(bidi_override + bidi_other)) bidi_start = i;
      bidi_end = i + n;
      if (cp == 0x202d || cp == 0x202e) bidi_override++;
      else bidi_other++;
    } else if (cp == 0x200b || cp == 0x2060 || (cp == 0xfeff && i > 0) || cp == 0x200c || cp == 0x200d) {
      size_t m;
      uint32_t next = i + n < len ? cls_utf8(t, len, i + n, &m) : 0;
      int joiner_ok = (cp == 0x200d || cp == 0x200c) && (is_emoji(prev) || is_emoji(next) || prev >= 0x0600);
      if (!joiner_ok && (ascii_letter(prev) || ascii_letter(next) || cp == 0x200b || cp == 0x2060)) {
        if (!zw) zw_start = i;
        zw_end = i + n;
        zw++;
      }
    }
    prev = cp;
  }
  if (tag_end) {
    int hidden_override = 0;
    if (ntag) {
      inj_scan sub = {.st = s->st, .text = tagbuf, .len = ntag, .in_decoded = 1};
      cls_lex_scan(s->st->lx, tagbuf, ntag, on_phrase, &sub);
      hidden_override = sub.decoded_hit;
    }
    char note[96];
    snprintf(note, sizeof note, "Unicode tag characters hide %zu ASCII chars%s", ntag,
             hidden_override ? " with override phrasing" : "");
    add_hit(s, tag_start, tag_end, hidden_override ? 1.0 : 0.9, "hidden text", note);
  }
  if (bidi_override || bidi_other) {
    char note[96];
    snprintf(note, sizeof note, "%u bidi override(s), %u embedding/isolate control(s)", bidi_override, bidi_other);
    add_hit(s, bidi_start, bidi_end, bidi_override ? 0.8 : 0.5, "hidden text", note);
  }
  if (zw) {
    char note[96];
    snprintf(note, sizeof note, "%zu zero-width character(s) inside text", zw);
    add_hit(s, zw_start, zw_end, zw >= 3 ? 0.7 : 0.55, "hidden text", note);
  }
}

/* --- family 4: encoded payloads ---------------------------------------------------------- */

static int mostly_text(const unsigned char *b, size_t n) {
  size_t ok = 0;
  for (size_t i = 0; i < n; i++) ok += (b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\n' || b[i] == '\t' || b[i] == '\r' || b[i] >= 0x80;
  return n >= 8 && ok * 100 >= n * 90;
}

static void check_decoded(inj_scan *s, size_t start, size_t end, const unsigned char *buf, size_t n,
                          const char *what) {
  if (!mostly_text(buf, n)) return;
  inj_scan sub = {.st = s->st, .text = (const char *)buf, .len = n, .in_decoded = 1};
  cls_lex_scan(s->st->lx, (const char *)buf, n, on_phrase, &sub);
  if (!sub.decoded_hit) return;
  char note[96];
  snprintf(note, sizeof note, "%s payload decodes to override phrasing: \"%.40s\"", what, (const char *)buf);
  for (char *p = note; *p; p++)
    if ((unsigned char)*p < 0x20) *p = ' ';
  add_hit(s, start, end, 0.95, "encoded payload", note);
}

static int b64c(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '-' || c == '_';
}

static int hexc(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f');
}

static void scan_encoded(inj_scan *s) {
  const unsigned char *t = (const unsigned char *)s->text;
  size_t len = s->len, i = 0;
  unsigned char buf[CLS_DECODE_MAX + 4];
  while (i < len) {
    if (!b64c(t[i])) {
      i++;
      continue;
    }
    size_t j = i;
    int url = 0, all_hex = 1;
    while (j < len && b64c(t[j])) url |= t[j] == '-' || t[j] == '_', all_hex &= hexc(t[j]), j++;
    size_t run = j - i;
    if (all_hex && run >= CLS_HEX_MIN) {
      size_t take = run & ~(size_t)1, bin = 0;
      if (take / 2 > CLS_DECODE_MAX) take = CLS_DECODE_MAX * 2;
      if (sodium_hex2bin(buf, sizeof buf, (const char *)t + i, take, NULL, &bin, NULL) == 0)
        check_decoded(s, i, j, buf, bin, "hex");
    } else if (run >= CLS_B64_MIN && !(url && memchr(t + i, '/', run))) {
      size_t take = run & ~(size_t)3, bin = 0;
      if (take / 4 * 3 > CLS_DECODE_MAX) take = CLS_DECODE_MAX / 3 * 4;
      int variant = url ? sodium_base64_VARIANT_URLSAFE_NO_PADDING : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
      if (sodium_base642bin(buf, sizeof buf, (const char *)t + i, take, NULL, &bin, NULL, variant) == 0)
        check_decoded(s, i, j, buf, bin, "base64");
    }
    i = j;
    while (i < len && t[i] == '=') i++;
  }
}

/* --- the detector ------------------------------------------------------------------------- */

static int inj_init(const al_scan_config *cfg, void **state, al_error *err) {
  static const char *const keys[] = {"threshold", NULL};
  const json_t *o;
  inj_state *st = NULL;
  int rc;
  if ((rc = cls_opts_get(cfg, "injection", &o, err)) || (rc = cls_opts_check_keys(o, "injection", keys, err)))
    goto out;
  if (sodium_init() < 0) {
    rc = al_error_set(err, AL_ESTATE, "injection: libsodium failed to initialise");
    goto out;
  }
  if (!(st = al_calloc(1, sizeof *st))) {
    rc = al_error_set(err, AL_ENOMEM, "injection: out of memory");
    goto out;
  }
  st->threshold = 0.5;
  if ((rc = cls_opts_number(o, "injection", "threshold", 0.0, 1.0, &st->threshold, err))) goto out;
  if ((rc = build_lex(&st->lx, err))) goto out;
  *state = st;
  st = NULL;
out:
  if (st) cls_lex_free(st->lx);
  al_free(st);
  return rc;
}

static void inj_fini(void *state) {
  inj_state *st = state;
  if (!st) return;
  cls_lex_free(st->lx);
  al_free(st);
}

static int cmp_hit(const void *a, const void *b) {
  const hit *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static int inj_scan_full(const void *state, const char *text, size_t len, al_finding_cb cb, void *ud) {
  const inj_state *st = state;
  inj_scan scan, *s = &scan; /* ~8 KiB of stack; no allocation per call */
  s->n = 0;
  s->ncues = 0;
  s->strongest = 0;
  s->strongest_start = s->strongest_end = 0;
  s->base = s->blob_end = 0;
  s->in_decoded = s->decoded_hit = 0;
  s->st = st;
  s->text = text;
  s->len = len;
  s->combined_miss = 1.0;
  cls_lex_scan(st->lx, text, len, on_phrase, s);
  double combined = 1.0 - s->combined_miss;
  scan_markers(s);
  scan_hidden(s);
  scan_encoded(s);
  qsort(s->hits, s->n, sizeof s->hits[0], cmp_hit);
  int any = 0, rc = 0;
  for (unsigned i = 0; i < s->n && !rc; i++) any |= s->hits[i].score >= st->threshold;
  /* Weak cues only: one combined finding at the strongest of them. */
  if (!any && s->ncues >= 2 && combined >= st->threshold) {
    unsigned best = 0;
    for (unsigned i = 1; i < s->n; i++)
      if (s->hits[i].score > s->hits[best].score) best = i;
    char note[96];
    snprintf(note, sizeof note, "%u weak jailbreak cues combined", s->ncues);
    s->hits[best].score = combined;
    s->hits[best].what = "jailbreak traits";
    memcpy(s->hits[best].note, note, sizeof note);
  }
  for (unsigned i = 0; i < s->n && !rc; i++) {
    hit *h = &s->hits[i];
    if (h->score < st->threshold) continue;
    al_finding f;
    memset(&f, 0, sizeof f);
    f.detector = "injection";
    f.kind = "injection";
    f.start = h->start;
    f.end = h->end;
    f.score = h->score > 1.0 ? 1.0 : h->score;
    f.text = text + h->start;
    cls_note(&f, "%s: %s", h->what, h->note);
    if (cb && cb(&f, ud)) rc = 1;
  }
  return rc;
}

const al_detector al_det_injection = {
    .name = "injection",
    .kind = "injection",
    .description = "prompt injection / jailbreak: override phrasing, forged roles and chat "
                   "tokens, hidden Unicode, encoded payloads",
    .flags = AL_DET_INPUT,
    .init = inj_init,
    .scan_full = inj_scan_full,
    .fini = inj_fini,
};
