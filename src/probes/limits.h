/* Hard limits of the probes subsystem (src/probes). One place, like src/core/limits.h. */
#ifndef AL_PROBES_LIMITS_H
#define AL_PROBES_LIMITS_H

#define AL_PROBES_MAX_PACK_BYTES (4u << 20)  /* one probe file */
#define AL_PROBES_MAX_PER_PACK 4096          /* probes in one file */
#define AL_PROBES_MAX_PACKS 64               /* packs named by one suite */
#define AL_PROBES_MAX_MUTATORS 32            /* mutator chains named by one suite */
#define AL_PROBES_MAX_CHAIN 4                /* mutators in one chain "a+b+c" */
#define AL_PROBES_MAX_CASES 100000           /* expanded tests (max_cases may lower it) */
#define AL_PROBES_DEFAULT_CASES 2000         /* max_cases when the suite gives none */
#define AL_PROBES_MAX_TEXT (256u << 10)      /* one mutated message */
#define AL_PROBES_MAX_SHOTS 256              /* many-shot dialogue pairs */
#define AL_PROBES_MAX_ID 64                  /* probe id length */

#endif
