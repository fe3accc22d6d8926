/* Per-token statistics from raw logits: log-probability of the chosen token, entropy of the
 * distribution and the top-k alternatives, all from the full softmax over the vocabulary
 * (before temperature, top-k/top-p or grammar), so the numbers describe the model, not the
 * sampler. One pass for max, one for the sums and the top-k insertion; no allocation.
 * Pure code, unit-tested without libllama against a naive reference.
 */
#ifndef AL_LLAMA_LOGITS_H
#define AL_LLAMA_LOGITS_H

#include <stdint.h>

typedef struct al_llama_alt {
  int32_t token;
  float logprob;
} al_llama_alt;

typedef struct al_llama_logit_stats {
  float logprob; /* of the chosen token; -INFINITY if it had no probability */
  float entropy; /* nats, >= 0 */
  int n_top;     /* entries written to top (<= k) */
} al_llama_logit_stats;

/* logits[0..n): raw scores. top must have room for k entries; it comes out sorted by
 * logprob descending, ties by lower token id. NaN and -inf logits count as probability 0.
 * Returns 0, or AL_EINVAL when n <= 0, chosen is out of range or no logit is finite. */
int al_llama_logit_stats_compute(const float *logits, int32_t n, int32_t chosen, int k,
                                 al_llama_alt *top, al_llama_logit_stats *st);

#endif
