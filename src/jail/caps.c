/* Capabilities and privilege flags. The jail's processes hold capabilities only inside
 * their own user namespace, and only until the mounts are built: this step empties the
 * bounding set, clears the ambient set and sets the effective, permitted and inheritable
 * sets to the empty state libcap prepared in the parent (cap_init()). no_new_privs makes
 * setuid/setgid bits and file capabilities inert across exec (and is what Landlock and
 * seccomp require); the process is made non-dumpable until exec.
 */
#include <sys/capability.h>
#include <sys/prctl.h>

#include "jail/jail_int.h"

int al_jail_caps_drop(al_jail_plan *pl) {
  int last = (int)cap_max_bits() - 1;
  for (int c = 0; c <= last; c++)
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) return -1;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return -1;
  return cap_set_proc((cap_t)pl->caps_empty);
}

int al_jail_nnp(al_jail_plan *pl) {
  (void)pl;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
