/* Network identifiers: IP addresses (parsed by inet_pton, the C library's own parser) and
 * e-mail addresses (an addr-spec local part plus a DNS domain with a letter TLD). */
#include <arpa/inet.h>
#include <string.h>

#include "scan/validators/validators.h"

static bool copy_z(const char *s, size_t n, char *out, size_t max) {
  if (!s || n == 0 || n >= max || memchr(s, '\0', n)) return false;
  memcpy(out, s, n);
  out[n] = '\0';
  return true;
}

bool al_ipv4_ok(const char *s, size_t n) {
  char z[16];
  unsigned char a[4];
  if (!copy_z(s, n, z, sizeof z)) return false;
  /* glibc inet_pton already rejects leading zeros ("01.2.3.4") for AF_INET */
  return inet_pton(AF_INET, z, a) == 1;
}

bool al_ipv6_ok(const char *s, size_t n) {
  char z[64];
  unsigned char a[16];
  if (!copy_z(s, n, z, sizeof z)) return false;
  return inet_pton(AF_INET6, z, a) == 1;
}

static bool atext(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

bool al_email_ok(const char *s, size_t n) {
  if (!s || n < 6 || n > 254) return false;
  const char *at = memchr(s, '@', n);
  if (!at) return false;
  size_t ln = (size_t)(at - s), dn = n - ln - 1;
  if (ln == 0 || ln > 64 || dn < 4 || dn > 253) return false;
  /* local part: dot-atom */
  for (size_t i = 0; i < ln; i++) {
    int c = (unsigned char)s[i];
    if (c == '.') {
      if (i == 0 || i == ln - 1 || s[i - 1] == '.') return false;
    } else if (!atext(c)) {
      return false;
    }
  }
  /* domain: labels of letters, digits, hyphens; at least two labels; TLD letters */
  const char *d = at + 1;
  size_t label = 0, labels = 0, tld_start = 0;
  for (size_t i = 0; i <= dn; i++) {
    int c = i < dn ? (unsigned char)d[i] : '.';
    if (c == '.') {
      if (label == 0 || label > 63 || d[i - 1] == '-') return false;
      labels++;
      if (i < dn) tld_start = i + 1;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-') {
      if (label == 0 && c == '-') return false;
      label++;
    } else {
      return false;
    }
  }
  if (labels < 2 || dn - tld_start < 2) return false;
  for (size_t i = tld_start; i < dn; i++) {
    int c = (unsigned char)d[i] | 32;
    if (c < 'a' || c > 'z') return false;
  }
  return true;
}
