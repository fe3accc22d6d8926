/* Landlock: the kernel's unprivileged access control, a second wall behind the mount
 * namespace. The jailed program may read and execute what is in its root, write only its
 * /tmp, its writable binds and the device nodes; with ABI >= 4 (policy landlock.tcp: deny,
 * the default) it may neither bind nor connect any TCP port; with ABI >= 6 it is scoped: it
 * cannot connect to abstract unix sockets or signal processes outside its own Landlock
 * domain (the jail's init included).
 *
 * The ABI is probed with landlock_create_ruleset(NULL, 0, VERSION) -- securityfs may not be
 * mounted -- and the handled access masks are cut to what that ABI knows. Rules on files
 * get only file rights (directory-only rights on a file fail with EINVAL). Debian 12's
 * kernel headers predate ABI 4, so the structures and bits are declared here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/jail_int.h"

struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1

#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_ABI1 ((1ull << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER (1ull << 13)      /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)   /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15)  /* ABI 5 */
#define LL_NET_BIND_TCP (1ull << 0)   /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ull << 1)

int al_jail_landlock_abi(void) {
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : (int)v;
}

static uint64_t fs_mask(int abi) {
  uint64_t m = LL_FS_ABI1;
  if (abi >= 2) m |= LL_FS_REFER;
  if (abi >= 3) m |= LL_FS_TRUNCATE;
  if (abi >= 5) m |= LL_FS_IOCTL_DEV;
  return m;
}

static uint64_t file_rights(uint64_t want) {
  return want & (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE |
                 LL_FS_IOCTL_DEV);
}

static int add_rule(int rs, const char *path, uint64_t access, uint64_t handled) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0) goto fail;
  struct ll_path_beneath_attr pb = {
      .allowed_access = (S_ISDIR(st.st_mode) ? access : file_rights(access)) & handled,
      .parent_fd = fd,
  };
  if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) != 0) goto fail;
  close(fd);
  return 0;
fail:;
  int e = errno;
  close(fd);
  errno = e;
  return -1;
}

/* Child step, after pivot_root and no_new_privs. */
int al_jail_landlock_apply(al_jail_plan *pl) {
  if (!pl->use_landlock) return 0;
  int abi = pl->landlock_abi;
  struct ll_ruleset_attr attr = {.handled_access_fs = fs_mask(abi)};
  if (abi >= 4 && pl->pol->landlock_tcp_deny)
    attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
  if (abi >= 6) attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
  size_t size = abi >= 6 ? sizeof attr : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
  int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (rs < 0) return -1;
  uint64_t all = attr.handled_access_fs;
  uint64_t ro = LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR;
  uint64_t dev = LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
  int rc = add_rule(rs, "/", ro, all);
  if (!rc) rc = add_rule(rs, "/tmp", all, all);
  for (size_t i = 0; !rc && i < pl->n_mounts; i++) {
    const al_jail_mount *m = &pl->mounts[i];
    if (m->kind != AL_JM_BIND || !m->writable || !strcmp(m->dst, "/tmp")) continue;
    rc = add_rule(rs, m->dst, m->dev ? dev : all, all);
  }
  if (!rc) rc = (int)syscall(SYS_landlock_restrict_self, rs, 0);
  int e = errno;
  close(rs);
  errno = e;
  return rc;
}
