/* Hard limits of the scan subsystem (src/scan). Like src/core/limits.h, every bound on
 * outside input lives here; passing one is an error (AL_ELIMIT) or a documented cut-off,
 * never a crash.
 *
 * The streaming hold-back window follows from two of them: a match that Hyperscan has not
 * reported yet can start at most `max pattern width` bytes before the current stream
 * position (every contributed pattern must be bounded, AL_SCAN_MAX_PATTERN_WIDTH), and
 * verify() may look AL_SCAN_CTX bytes left and right of a candidate. */
#ifndef AL_SCAN_LIMITS_H
#define AL_SCAN_LIMITS_H

#define AL_SCAN_MAX_PATTERNS 4096          /* patterns in one database */
#define AL_SCAN_MAX_PATTERN_WIDTH 2048     /* bytes one pattern may span (hs max_width) */
#define AL_SCAN_CTX 64                     /* context bytes verify() may read each side */
#define AL_SCAN_BATCH 65536                /* candidates collected before a verify pass */
#define AL_SCAN_MAX_CANARIES 64            /* configured canary tokens */
#define AL_SCAN_MAX_CANARY_LEN 128         /* bytes of one canary token */
#define AL_SCAN_MIN_CANARY_LEN 6           /* shorter canaries would match ordinary text */
#define AL_SCAN_FULL_WINDOW (1u << 20)     /* text kept for scan_full() detectors in streams */
#define AL_SCAN_PEM_MAX (16u << 10)        /* a PEM private key block (header to END line) */
/* Digit windows (AL_PAT_DIGITS patterns, block mode): digits closer than GAP other bytes
 * form one cluster; a cluster with at least MIN digits is widened by EDGE bytes and then
 * to the surrounding word boundaries; windows are scanned in batches of CAT bytes. */
#define AL_SCAN_DIGIT_GAP 11
#define AL_SCAN_DIGIT_EDGE 2
#define AL_SCAN_DIGIT_MIN 4
#define AL_SCAN_DIGIT_CAT (64u << 10)
#define AL_SCAN_MAX_GATES 8 /* distinct window gates (al_pattern_add_gated) */
#define AL_SCAN_MAX_ASHAPES 8 /* anchored patterns with a shape per database; further: Hyperscan */
#define AL_SHAPE_MAX 64     /* digit shapes per database (shapes.c); further ones: Hyperscan */

#endif
