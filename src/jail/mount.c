/* Mount namespace: the jail's filesystem.
 *
 * The parent plans (al_jail_mount_plan) a flat list of entries -- read-only binds of the
 * system folders (/usr, /lib*, /bin, /sbin; host symlinks such as /bin -> usr/bin are
 * recreated as symlinks), a few /etc files (ld.so.cache, ld.so.conf, localtime,
 * alternatives) and synthetic passwd/group/hosts files that name only the jail's user, the
 * policy's binds, device nodes, /proc and /tmp. The host's /etc/passwd, /etc/shadow,
 * /root, /home, /run (with its pathname sockets) and /sys are never in the jail.
 *
 * The child (al_jail_mount_root) makes every mount private, mounts a small tmpfs as the
 * new root on the jail's private host folder, builds the entries there, mounts a fresh
 * /proc for its pid namespace, remounts the root read-only and pivot_root()s into it,
 * detaching the old root. Binds use open_tree + mount_setattr(AT_RECURSIVE) + move_mount so
 * that read-only, nosuid and nodev also cover the submounts of a bound folder.
 *
 * The jail's /tmp is the host folder jail_dir/tmp; as root the parent first mounts a tmpfs
 * of scratch_mb there (al_jail_mount_scratch_host), owned by the jail's host id, so the
 * scratch is size-limited and the host can still reach a unix socket created in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "airlock/util.h"
#include "jail/jail_int.h"

/* ---- parent: planning ------------------------------------------------------------- */

static al_jail_mount *add(al_jail_plan *pl, int kind, const char *src, const char *dst) {
  if (pl->n_mounts >= AL_JAIL_MAX_MOUNTS) return NULL;
  al_jail_mount *m = &pl->mounts[pl->n_mounts];
  memset(m, 0, sizeof *m);
  m->kind = kind;
  m->fd = -1;
  if (snprintf(m->src, sizeof m->src, "%s", src ? src : "") >= (int)sizeof m->src) return NULL;
  if (snprintf(m->dst, sizeof m->dst, "%s", dst) >= (int)sizeof m->dst) return NULL;
  pl->n_mounts++;
  return m;
}

/* A host path as a bind, or as a symlink when it is one on the host. */
static int add_host(al_jail_plan *pl, const char *host, const char *inside, int writable,
                    int optional, al_error *err) {
  struct stat st;
  if (lstat(host, &st) != 0) {
    if (optional) return 0;
    return al_error_set(err, AL_ENOTFOUND, "bind: host path %s: %s", host, strerror(errno));
  }
  al_jail_mount *m;
  if (S_ISLNK(st.st_mode) && optional) {
    char target[AL_JAIL_PATH_MAX];
    ssize_t n = readlink(host, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = '\0';
    if (!(m = add(pl, AL_JM_LINK, target, inside))) goto limit;
    return 0;
  }
  if (stat(host, &st) != 0)
    return al_error_set(err, AL_ENOTFOUND, "bind: host path %s: %s", host, strerror(errno));
  if (!(m = add(pl, AL_JM_BIND, host, inside))) goto limit;
  m->writable = writable;
  m->is_dir = S_ISDIR(st.st_mode);
  return 0;
limit:
  return al_error_set(err, AL_ELIMIT, "jail: more than %d mounts", AL_JAIL_MAX_MOUNTS);
}

int al_jail_mount_plan(al_jail_plan *pl, al_error *err) {
  static const char *const sys[] = {"/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin",
                                    "/sbin"};
  static const char *const etc[] = {"/etc/ld.so.cache", "/etc/ld.so.conf",
                                    "/etc/ld.so.conf.d", "/etc/localtime",
                                    "/etc/alternatives", "/etc/ssl/certs"};
  static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                     "/dev/urandom"};
  const al_jail_policy *p = pl->pol;
  int rc = 0;
  pl->mounts = al_calloc(AL_JAIL_MAX_MOUNTS, sizeof *pl->mounts);
  if (!pl->mounts) return al_error_set(err, AL_ENOMEM, "out of memory");
  if (p->system_binds) {
    for (size_t i = 0; i < sizeof sys / sizeof *sys; i++)
      if ((rc = add_host(pl, sys[i], sys[i], 0, 1, err))) return rc;
    for (size_t i = 0; i < sizeof etc / sizeof *etc; i++)
      if ((rc = add_host(pl, etc[i], etc[i], 0, 1, err))) return rc;
  }
  snprintf(pl->etc_passwd, sizeof pl->etc_passwd,
           "jail:x:%u:%u:jail:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
           p->uid, p->gid);
  snprintf(pl->etc_group, sizeof pl->etc_group, "jail:x:%u:\nnogroup:x:65534:\n", p->gid);
  al_jail_mount *m;
  if (!(m = add(pl, AL_JM_FILE, NULL, "/etc/passwd"))) goto limit;
  m->content = pl->etc_passwd;
  if (!(m = add(pl, AL_JM_FILE, NULL, "/etc/group"))) goto limit;
  m->content = pl->etc_group;
  if (!(m = add(pl, AL_JM_FILE, NULL, "/etc/hosts"))) goto limit;
  m->content = "127.0.0.1 localhost\n::1 localhost\n";
  /* the scratch before the policy's binds, so a bind under /tmp lands on top of it */
  if (!(m = add(pl, AL_JM_BIND, pl->scratch, "/tmp"))) goto limit;
  m->writable = 1;
  m->is_dir = 1;
  for (size_t i = 0; i < p->n_binds; i++)
    if ((rc = add_host(pl, p->binds[i].host, p->binds[i].inside, p->binds[i].writable, 0,
                       err)))
      return rc;
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
    if (access(devs[i], F_OK) != 0) continue;
    if (!(m = add(pl, AL_JM_BIND, devs[i], devs[i]))) goto limit;
    m->writable = 1;
    m->dev = 1;
  }
  if (!add(pl, AL_JM_LINK, "/proc/self/fd", "/dev/fd") ||
      !add(pl, AL_JM_LINK, "/proc/self/fd/0", "/dev/stdin") ||
      !add(pl, AL_JM_LINK, "/proc/self/fd/1", "/dev/stdout") ||
      !add(pl, AL_JM_LINK, "/proc/self/fd/2", "/dev/stderr") ||
      !add(pl, AL_JM_PROC, NULL, "/proc"))
    goto limit;
  return 0;
limit:
  return al_error_set(err, AL_ELIMIT, "jail: more than %d mounts", AL_JAIL_MAX_MOUNTS);
}

int al_jail_mount_scratch_host(al_jail_plan *pl, al_error *err) {
  if (geteuid() != 0) {
    if (pl->pol->allow_missing & AL_MECH_SCRATCH_SIZE) return 0;
    return al_error_set(err, AL_EJAIL,
                        "jail: mechanism 'scratch_size' missing (a size-limited /tmp needs "
                        "root; allow_missing: [scratch_size] accepts an unlimited one)");
  }
  char opts[128];
  snprintf(opts, sizeof opts, "size=%lldm,mode=0700,uid=%u,gid=%u,nr_inodes=65536",
           (long long)pl->pol->scratch_mb, pl->host_id, pl->host_id);
  if (mount("tmpfs", pl->scratch, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
    if (err) err->sys_errno = errno;
    return al_error_set(err, AL_EJAIL, "jail: mounting the scratch tmpfs on %s: %s",
                        pl->scratch, strerror(errno));
  }
  pl->scratch_mounted = 1;
  return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_DP) rmdir(path);
  else unlink(path);
  return 0;
}

void al_jail_mount_close_fds(al_jail_plan *pl) {
  for (size_t i = 0; pl->mounts && i < pl->n_mounts; i++)
    if (pl->mounts[i].fd >= 0) {
      close(pl->mounts[i].fd);
      pl->mounts[i].fd = -1;
    }
}

void al_jail_mount_scratch_release(al_jail_plan *pl) {
  if (!pl->jail_dir[0]) return;
  if (pl->scratch_mounted) umount2(pl->scratch, MNT_DETACH);
  pl->scratch_mounted = 0;
  nftw(pl->jail_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  pl->jail_dir[0] = '\0';
}

/* ---- child: building the root (system calls only) --------------------------------- */

/* Child step, after the maps are written and before the uid switch: open every bind
 * source while the child still has the caller's host uid, so folders only host root may
 * enter (a model under /root, a `mktemp -d` folder) can be bound, and already holds the
 * namespace's capabilities over the jail folder owned by its host id. Opened in the
 * child's own mount namespace, as open_tree() requires. */
int al_jail_mount_open_sources(al_jail_plan *pl) {
  for (size_t i = 0; i < pl->n_mounts; i++) {
    al_jail_mount *m = &pl->mounts[i];
    if (m->kind != AL_JM_BIND) continue;
    if ((m->fd = open(m->src, O_PATH | O_CLOEXEC)) < 0) {
      snprintf(pl->err_step, sizeof pl->err_step, "open %.26s", m->src);
      return -1;
    }
  }
  return 0;
}

static int join(char *out, const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la + lb + 1 > 2 * AL_JAIL_PATH_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(out, a, la);
  memcpy(out + la, b, lb + 1);
  return 0;
}

/* mkdir -p of path's components below `base` (a strlen offset into path). */
static int mkdirs(char *path, size_t base, int last_too) {
  for (char *c = path + base + 1; *c; c++) {
    if (*c != '/') continue;
    *c = '\0';
    int r = mkdir(path, 0755);
    *c = '/';
    if (r != 0 && errno != EEXIST) return -1;
  }
  if (last_too && mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
  return 0;
}

static int bind_one(const al_jail_mount *m, const char *dst) {
  int fd = (int)syscall(SYS_open_tree, m->fd, "",
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (fd < 0) return -1;
  struct mount_attr attr = {0};
  attr.attr_set = MOUNT_ATTR_NOSUID | (m->dev ? 0 : MOUNT_ATTR_NODEV) |
                  (m->writable ? 0 : MOUNT_ATTR_RDONLY);
  attr.propagation = MS_PRIVATE;
  int rc = (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                        sizeof attr);
  if (rc == 0)
    rc = (int)syscall(SYS_move_mount, fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

static int make_one(al_jail_plan *pl, const al_jail_mount *m) {
  char dst[2 * AL_JAIL_PATH_MAX];
  if (join(dst, pl->root_dir, m->dst)) return -1;
  size_t base = strlen(pl->root_dir);
  switch (m->kind) {
  case AL_JM_DIR:
    return mkdirs(dst, base, 1);
  case AL_JM_LINK:
    if (mkdirs(dst, base, 0)) return -1;
    return symlink(m->src, dst) == 0 || errno == EEXIST ? 0 : -1;
  case AL_JM_FILE: {
    if (mkdirs(dst, base, 0)) return -1;
    int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return -1;
    size_t len = strlen(m->content);
    ssize_t n = write(fd, m->content, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
  }
  case AL_JM_PROC:
    if (mkdirs(dst, base, 1)) return -1;
    return mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  default: /* AL_JM_BIND */
    if (mkdirs(dst, base, m->is_dir)) return -1;
    if (!m->is_dir) {
      int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0 && errno != EEXIST) return -1;
      if (fd >= 0) close(fd);
    }
    return bind_one(m, dst);
  }
}

int al_jail_mount_root(al_jail_plan *pl) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return -1;
  char opts[64];
  snprintf(opts, sizeof opts, "size=%dk,mode=0755,nr_inodes=4096", AL_JAIL_ROOT_TMPFS_KB);
  if (mount("tmpfs", pl->root_dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) return -1;
  for (size_t i = 0; i < pl->n_mounts; i++) {
    if (make_one(pl, &pl->mounts[i]) != 0) {
      snprintf(pl->err_step, sizeof pl->err_step, "mount %.24s", pl->mounts[i].dst);
      return -1;
    }
  }
  if (mount(NULL, pl->root_dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
            NULL) != 0)
    return -1;
  al_jail_mount_close_fds(pl); /* the bind sources are mounted */
  if (chdir(pl->root_dir) != 0) return -1;
  if (syscall(SYS_pivot_root, ".", ".") != 0) return -1;
  if (umount2(".", MNT_DETACH) != 0) return -1;
  return chdir("/");
}
