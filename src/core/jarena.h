/* jarena.c: parse JSON into a per-thread bump arena; the tree dies at al_jarena_release.
 * Read the rules at the top of jarena.c before using it. */
#ifndef AIRLOCK_CORE_JARENA_H
#define AIRLOCK_CORE_JARENA_H

#include <jansson.h>
#include <stddef.h>

/* Install the arena-aware allocator as jansson's (once per process; idempotent). Until it
 * is installed, al_jarena_loadb is plain json_loadb. */
void al_jarena_install(void);
/* json_loadb into this thread's arena; *mark is what al_jarena_release rewinds to. err may
 * be NULL. */
json_t *al_jarena_loadb(const char *s, size_t n, size_t flags, json_error_t *err, size_t *mark);
/* Drop a tree from al_jarena_loadb (NULL allowed) and rewind the arena to *mark. */
void al_jarena_release(json_t *o, size_t mark);
/* The same for a tree that was only read (no node added to it): when all of it is in the
 * block, rewound without walking it. */
void al_jarena_drop(json_t *o, size_t mark);

#endif
