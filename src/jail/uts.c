/* UTS and IPC namespaces: the jail has its own hostname (the policy's, "airlock" by
 * default) so nothing of the host's name leaks, and its own System V IPC and POSIX message
 * queue namespace (created by clone; nothing to configure here).
 */
#include <string.h>
#include <unistd.h>

#include "jail/jail_int.h"

int al_jail_uts_hostname(al_jail_plan *pl) {
  const char *h = pl->pol->hostname ? pl->pol->hostname : "airlock";
  return sethostname(h, strlen(h));
}
