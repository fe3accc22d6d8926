/* Every hard limit of libairlock in one place (YARA's limits.h). Input from outside is
 * bounded by these; passing one is an error (AL_ELIMIT), never a silent truncation. */
#ifndef AIRLOCK_LIMITS_H
#define AIRLOCK_LIMITS_H

#define AL_MAX_SUITE_BYTES (64u << 20)      /* a suite file */
#define AL_MAX_TESTS_FILE_BYTES (1u << 30)  /* a tests_from CSV/JSONL file */
#define AL_MAX_RESPONSE_BYTES (16u << 20)   /* one HTTP response body from a target */
#define AL_MAX_SSE_EVENT_BYTES (4u << 20)   /* one server-sent event */
#define AL_MAX_LINE_BYTES (16u << 20)       /* one JSON line from an exec target */
#define AL_MAX_IN_FLIGHT 100000             /* concurrent cases in the runner */
#define AL_MAX_RETRIES 20
#define AL_MAX_TOOL_STEPS 32                /* model <-> tool loop iterations per case */
#define AL_MAX_TOP_LOGPROBS 20
#define AL_MAX_SCHEMA_DEPTH 256             /* JSON Schema nesting/ref depth */
#define AL_MAX_COMMAND_OUTPUT (1u << 20)    /* verdict of a `command` assertion */
#define AL_JSON_ARENA_BYTES (256u << 10)    /* per-thread arena for parsed answers (jarena.c);
                                             * a tree that does not fit comes from malloc */

#endif
