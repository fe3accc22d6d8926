/* Softmax statistics of one logit vector (see logits.h).
 *
 * With m = max logit, S = sum exp(l - m) and T = sum exp(l - m) (l - m):
 *   log p_i = l_i - m - log S,   H = -sum p log p = log S - T / S.
 * Sums are kept in double so a 32k-vocabulary distribution loses nothing; exp() runs in
 * float, which is what bounds the cost per token (~1 ns per vocabulary entry).
 */
#include "llama/logits.h"

#include <math.h>

#include "airlock/error.h"

/* Insert (tok, l) into the sorted top list of at most k logits. */
static void top_insert(al_llama_alt *top, int *n, int k, int32_t tok, float l) {
  int i;
  if (*n < k)
    i = (*n)++;
  else if (l > top[k - 1].logprob)
    i = k - 1;
  else
    return;
  while (i > 0 && l > top[i - 1].logprob) { /* strict: ties keep the lower id first */
    top[i] = top[i - 1];
    i--;
  }
  top[i].token = tok;
  top[i].logprob = l;
}

int al_llama_logit_stats_compute(const float *logits, int32_t n, int32_t chosen, int k,
                                 al_llama_alt *top, al_llama_logit_stats *st) {
  st->logprob = -INFINITY;
  st->entropy = 0;
  st->n_top = 0;
  if (n <= 0 || chosen < 0 || chosen >= n) return AL_EINVAL;
  if (k < 0) k = 0;
  float m = -INFINITY;
  for (int32_t i = 0; i < n; i++)
    if (logits[i] > m) m = logits[i]; /* NaN compares false */
  if (!isfinite(m)) return AL_EINVAL;
  double s = 0, t = 0;
  int n_top = 0;
  for (int32_t i = 0; i < n; i++) {
    float l = logits[i];
    if (!(l > -INFINITY)) continue; /* -inf and NaN */
    float d = l - m;
    float e = expf(d);
    s += e;
    t += (double)e * d;
    if (k > 0 && (n_top < k || l > top[k - 1].logprob)) top_insert(top, &n_top, k, i, l);
  }
  double log_s = log(s);
  double lz = (double)m + log_s;
  for (int j = 0; j < n_top; j++) {
    double lp = top[j].logprob - lz;
    top[j].logprob = lp < 0 ? (float)lp : 0.0f;
  }
  float lc = logits[chosen];
  st->logprob = lc > -INFINITY ? (float)(lc - lz) : -INFINITY;
  if (st->logprob > 0) st->logprob = 0;
  double h = log_s - t / s;
  st->entropy = h > 0 ? (float)h : 0.0f;
  st->n_top = n_top;
  return 0;
}
