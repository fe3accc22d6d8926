/* Hard limits of the jail subsystem (the jail's own section of limits, src/core/limits.h
 * style). Policies that pass one are rejected with AL_ELIMIT, never truncated. */
#ifndef AL_JAIL_LIMITS_H
#define AL_JAIL_LIMITS_H

#define AL_JAIL_PATH_MAX 512           /* a bind path, host or inside */
#define AL_JAIL_MAX_BINDS 64           /* binds a policy may add */
#define AL_JAIL_MAX_MOUNTS 96          /* all mounts of one jail (system + policy + /dev) */
#define AL_JAIL_MAX_ENV 128            /* environment variables */
#define AL_JAIL_MAX_ENV_BYTES 4096     /* one NAME=value */
#define AL_JAIL_MAX_SYSCALLS 256       /* names in seccomp deny/allow lists */
#define AL_JAIL_MAX_POLICY_BYTES (1u << 20) /* a policy file */
#define AL_JAIL_MECH_COUNT 9           /* AL_MECH_* bits */
#define AL_MECH_COUNT AL_JAIL_MECH_COUNT
#define AL_JAIL_HOST_ID_BASE 200000u   /* auto host ids: base + slot */
#define AL_JAIL_HOST_ID_SLOTS 65536u
#define AL_JAIL_ROOT_TMPFS_KB 1024     /* the tmpfs holding the new root's skeleton */

#endif
