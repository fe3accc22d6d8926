/* Internals shared by the files of src/probes. */
#ifndef AL_PROBES_INT_H
#define AL_PROBES_INT_H

/* Many-shot topics (manyshot.c): is the name known; the list "a, b, c" for messages. */
int al_probes_topic_known(const char *topic);
const char *al_probes_topics(void);

#endif
