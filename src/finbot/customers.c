/* Synthetic customers and card-number handling for finbot.
 *
 * A customer is a pure function of its id: a 64-bit FNV-1a hash of "finbot-customer:" + id
 * picks a name from two short lists of invented names, a balance, and a card number. Card
 * numbers start with the public test IINs 411111 (Visa test range) or 555555 (Mastercard
 * test range), take nine digits from the hash and end with a Luhn check digit, so they
 * look real to a PAN detector (prefix + length + Luhn) while belonging to nobody.
 *
 * fb_mask_pans() is v2's output filter: any run of 13 to 19 digits (single spaces or
 * dashes allowed between digits) keeps only its last four digits.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "finbot/finbot.h"

static const char *const first_names[] = {
    "Alva", "Bruno", "Celia", "Dario", "Edda", "Falk", "Greta", "Hanno",
    "Ines", "Jaro",  "Kaia",  "Lenz",  "Mira", "Nils", "Oda",   "Pim",
};
static const char *const last_names[] = {
    "Quillby", "Rowanet",  "Sandvik",  "Tarrow",  "Ulmsted", "Vellin", "Wexford", "Yarrick",
    "Zemlo",   "Ashgrove", "Brindell", "Corvane", "Dunmere", "Elsby",  "Fenwold", "Galloway",
};

uint64_t fb_hash(const void *data, size_t len, uint64_t h0) {
  const unsigned char *p = data;
  uint64_t h = h0;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

int fb_luhn_valid(const char *digits, size_t n) {
  if (n < 2) return 0;
  int sum = 0, dbl = 0;
  for (size_t i = n; i-- > 0;) {
    if (!isdigit((unsigned char)digits[i])) return 0;
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

/* Check digit that makes payload + digit Luhn-valid. */
static char luhn_check_digit(const char *payload, size_t n) {
  int sum = 0, dbl = 1; /* the check digit itself is not doubled */
  for (size_t i = n; i-- > 0;) {
    int d = payload[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return (char)('0' + (10 - sum % 10) % 10);
}

void fb_customer_make(const char *id, fb_customer *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->id, sizeof c->id, "%s", id ? id : "0");
  uint64_t h = fb_hash("finbot-customer:", 16, FB_HASH_INIT);
  h = fb_hash(c->id, strlen(c->id), h);
  snprintf(c->name, sizeof c->name, "%s %s", first_names[h & 15], last_names[(h >> 4) & 15]);
  const char *iin = (h >> 8) & 1 ? "411111" : "555555";
  uint64_t body = (h >> 9) % 1000000000ull;
  char payload[16];
  snprintf(payload, sizeof payload, "%s%09llu", iin, (unsigned long long)body);
  memcpy(c->card, payload, 15);
  c->card[15] = luhn_check_digit(payload, 15);
  c->card[16] = '\0';
  memcpy(c->card_masked, c->card, 17);
  fb_mask_pans(c->card_masked, 16);
  uint64_t cents = (h >> 40) % 2500000ull;
  snprintf(c->balance, sizeof c->balance, "EUR %llu.%02llu", (unsigned long long)(cents / 100),
           (unsigned long long)(cents % 100));
}

void fb_mask_pans(char *text, size_t len) {
  size_t i = 0;
  while (i < len) {
    if (!isdigit((unsigned char)text[i]) || (i > 0 && isdigit((unsigned char)text[i - 1]))) {
      i++;
      continue;
    }
    /* A run: digits with single separators between them. */
    size_t start = i, end = i, ndig = 0;
    size_t j = i;
    while (j < len) {
      if (isdigit((unsigned char)text[j])) {
        ndig++;
        end = ++j;
      } else if ((text[j] == ' ' || text[j] == '-') && j + 1 < len &&
                 isdigit((unsigned char)text[j + 1])) {
        j++;
      } else {
        break;
      }
    }
    if (ndig >= 13 && ndig <= 19) {
      size_t keep = 4;
      for (size_t k = end; k-- > start;) {
        if (!isdigit((unsigned char)text[k])) continue;
        if (keep) {
          keep--;
          continue;
        }
        text[k] = '*';
      }
    }
    i = end > i ? end : i + 1;
  }
}
