/* Internals shared by the files of src/probes. */
#ifndef AL_PROBES_INT_H
#define AL_PROBES_INT_H

/* Many-shot topics (manyshot.c): is the name known; the list "a, b, c" for messages. */
int al_probes_topic_known(const char *topic);
const char *al_probes_topics(void);

/* pack.c: an OWASP LLM Top 10 (2025) id LLM01..LLM10; a name of [a-z0-9-] (plus A-Z . _ when
 * allow_upper_dot), 1..AL_PROBES_MAX_ID characters. */
int al_probes_owasp_ok(const char *s);
int al_probes_word_ok(const char *s, int allow_upper_dot);

#endif
