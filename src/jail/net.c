/* Network namespace: the jail gets a fresh network namespace in which only the loopback
 * interface exists; this step brings it up (SIOCSIFFLAGS on "lo") so a program can talk to
 * itself over 127.0.0.1 but there is no route out: connecting to any other address fails
 * locally with ENETUNREACH and no packet leaves the machine. The host's loopback, its
 * abstract unix sockets and its listeners are in another namespace and unreachable.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jail/jail_int.h"

int al_jail_net_loopback(al_jail_plan *pl) {
  if (!pl->use_netns) return 0;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}
