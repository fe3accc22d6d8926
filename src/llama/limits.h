/* Hard limits of the llama.cpp worker (src/llama), in one place like src/core/limits.h.
 * Input from the runner is bounded by these; passing one is an error event for the request
 * (AL_ELIMIT), never a silent truncation. The schema defaults (string/array caps) are not
 * limits on input: they bound what the grammar lets a model emit when the schema gives no
 * maxLength/maxItems, so that even a tiny model closes its strings and arrays.
 */
#ifndef AL_LLAMA_LIMITS_H
#define AL_LLAMA_LIMITS_H

#define AL_LLAMA_MAX_ID_BYTES 256            /* request id */
#define AL_LLAMA_MAX_MESSAGES 4096           /* messages in one request */
#define AL_LLAMA_MAX_STOP 16                 /* stop strings */
#define AL_LLAMA_MAX_STOP_BYTES 256          /* one stop string */
#define AL_LLAMA_MAX_PROMPT_BYTES (8u << 20) /* templated prompt text */
#define AL_LLAMA_DEFAULT_MAX_TOKENS 128
#define AL_LLAMA_MAX_MAX_TOKENS 65536
#define AL_LLAMA_DEFAULT_TOP_LOGPROBS 5 /* --top-k-log default */
#define AL_LLAMA_MAX_THREADS 64
#define AL_LLAMA_MAX_CTX 262144
#define AL_LLAMA_PIECE_BYTES 256 /* one token's text */

/* JSON Schema -> GBNF */
#define AL_LLAMA_MAX_GRAMMAR_BYTES (1u << 20)
#define AL_LLAMA_SCHEMA_MAX_DEPTH 32       /* nesting of object/array/anyOf */
#define AL_LLAMA_SCHEMA_MAX_PROPERTIES 256 /* properties of one object */
#define AL_LLAMA_SCHEMA_MAX_ENUM 1024      /* values of one enum / anyOf */
#define AL_LLAMA_SCHEMA_MAX_RULES 4096     /* rules in one grammar */
#define AL_LLAMA_SCHEMA_MAX_REPEAT 1024    /* largest maxLength / maxItems honoured */
#define AL_LLAMA_SCHEMA_STRING_CAP 96      /* string length when maxLength is absent */
#define AL_LLAMA_SCHEMA_ARRAY_CAP 8        /* array items when maxItems is absent */
#define AL_LLAMA_SCHEMA_ANY_DEPTH 3        /* nesting of free-form ({} / true) values */

#endif
