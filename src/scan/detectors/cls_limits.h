/* Hard limits of the text-classifying detectors (refusal, toxicity, injection, leak).
 *
 * Everything a user can make large -- a word list, a system prompt, an encoded blob -- is
 * bounded here. Passing a limit at init is an error (AL_ELIMIT) with a message naming it;
 * at scan time the detectors only ever look at bounded windows, so scanning stays linear
 * and needs no allocation.
 */
#ifndef AL_CLS_LIMITS_H
#define AL_CLS_LIMITS_H

#define CLS_TOK_MAX 48               /* bytes of a folded token kept; longer tokens never match */
#define CLS_PHRASE_MAX_TOKENS 16     /* tokens in one lexicon phrase (matcher depth) */
#define CLS_LEX_MAX_NODES (1u << 20) /* trie nodes of one lexicon */
#define CLS_WORDLIST_MAX_BYTES (8u << 20)  /* a user word-list file */
#define CLS_WORDLIST_MAX_ENTRIES 200000    /* entries of one word list */
#define CLS_SYSPROMPT_MAX_BYTES (256u << 10) /* a system prompt for leak.system_prompt */
#define CLS_LEAK_MAX_NGRAMS 65536    /* distinct word 5-grams of a system prompt (stack bitmap) */
#define CLS_LEAK_DENSE_MAX (8u << 20) /* bytes of the dense transition table of the prompt's automaton */
#define CLS_B64_MIN 24               /* shortest base64 run worth decoding */
#define CLS_HEX_MIN 32               /* shortest hex run worth decoding */
#define CLS_DECODE_MAX 4096          /* bytes of a decoded blob that are inspected */
#define CLS_REFUSAL_HEAD 600         /* bytes at the start of an output where refusals lead */

#endif
