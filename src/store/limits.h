/* Hard limits and tunables of the results store (src/store). */
#ifndef AL_STORE_LIMITS_H
#define AL_STORE_LIMITS_H

#define AL_STORE_BATCH 4096            /* pending results that force a commit (the runner's
                                          * 100 ms tick usually commits first) */
#define AL_STORE_ROWS_PER_INSERT 16     /* assertion and token rows per INSERT statement */
#define AL_STORE_WAL_PAGES 16384       /* wal_autocheckpoint: pages (64 MiB) before a checkpoint */
#define AL_STORE_BUSY_TIMEOUT_MS 10000 /* wait for another writer before SQLITE_BUSY */
#define AL_STORE_LIST_DEFAULT 50       /* al_store_list_runs with limit <= 0 */
#define AL_STORE_LIST_MAX 100000
#define AL_STORE_RUN_ID_TRIES 16     /* fresh random suffixes before giving up */
#define AL_STORE_MAX_MIGRATIONS 1000 /* per component */

#endif
