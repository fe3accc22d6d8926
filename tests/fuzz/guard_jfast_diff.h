/* Differential check of the guard's JSON fast path (src/guard/jfast.c) against its jansson
 * path, shared by the guard_request fuzz target and tests/unit/guard/test_guard.c. */
#ifndef AIRLOCK_TEST_GUARD_JFAST_DIFF_H
#define AIRLOCK_TEST_GUARD_JFAST_DIFF_H

#include <stddef.h>

#include "guard/guard_int.h"

/* Runs data as a request of each route (parse, input pipeline, the body that would go
 * upstream, the tree built afterwards) and as an answer of each route (output pipeline,
 * with one reversible placeholder registered), once with the fast path and once without.
 * 0 when every observable result is the same; 1 with why naming the first difference;
 * AL_ENOMEM. *fast_taken counts the runs the fast path answered itself (may be NULL). */
int al_test_jfast_diff(const al_guard_policy *p, al_scanner *in, al_scanner *out, const char *data,
                       size_t size, char *why, size_t wl, int *fast_taken);

#endif
