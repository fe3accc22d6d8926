/* Check-digit algorithms of identifiers: Luhn (cards, SIN), Verhoeff (Aadhaar), weighted
 * sums (ABA 3-7-1, NHS mod 11, Dutch 11-proef), ISO 7064 MOD 11,10 (German tax id), the
 * Turkish TC Kimlik double check, the Spanish DNI/NIE letter, and the SSA's structural
 * rules for SSNs. */
#include <string.h>

#include "scan/validators/validators.h"

static bool all_digits(const char *d, size_t n) {
  if (!d || n == 0) return false;
  for (size_t i = 0; i < n; i++)
    if (d[i] < '0' || d[i] > '9') return false;
  return true;
}

bool al_luhn_ok(const char *d, size_t n) {
  if (!all_digits(d, n)) return false;
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned v = (unsigned)(d[n - 1 - i] - '0');
    if (i & 1) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return sum % 10 == 0;
}

static const unsigned char vh_d[10][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
    {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
    {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
    {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
    {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
static const unsigned char vh_p[8][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
    {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
    {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
    {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};

bool al_verhoeff_ok(const char *d, size_t n) {
  if (!all_digits(d, n)) return false;
  unsigned c = 0;
  for (size_t i = 0; i < n; i++) c = vh_d[c][vh_p[i % 8][d[n - 1 - i] - '0']];
  return c == 0;
}

bool al_aba_ok(const char *d, size_t n) {
  if (n != 9 || !all_digits(d, n)) return false;
  int pre = (d[0] - '0') * 10 + (d[1] - '0');
  /* Federal Reserve routing symbols: 00-12 banks, 21-32 thrifts, 61-72 electronic, 80
   * traveller's cheques. 00 is the US government only; keep it. */
  if (!((pre <= 12) || (pre >= 21 && pre <= 32) || (pre >= 61 && pre <= 72) || pre == 80))
    return false;
  unsigned s = 0;
  static const unsigned w[3] = {3, 7, 1};
  for (int i = 0; i < 9; i++) s += w[i % 3] * (unsigned)(d[i] - '0');
  return s % 10 == 0 && memcmp(d, "000000000", 9) != 0;
}

bool al_nhs_ok(const char *d, size_t n) {
  if (n != 10 || !all_digits(d, n)) return false;
  unsigned s = 0;
  for (int i = 0; i < 9; i++) s += (unsigned)(d[i] - '0') * (unsigned)(10 - i);
  unsigned c = 11 - s % 11;
  if (c == 11) c = 0;
  if (c == 10) return false;
  /* 999 999 999x numbers are reserved test ranges; all-same digits are placeholders */
  bool same = true;
  for (int i = 1; i < 10; i++) same = same && d[i] == d[0];
  return !same && c == (unsigned)(d[9] - '0');
}

bool al_bsn_ok(const char *d, size_t n) {
  if (n != 9 || !all_digits(d, n)) return false;
  int s = 0;
  for (int i = 0; i < 8; i++) s += (d[i] - '0') * (9 - i);
  s -= d[8] - '0';
  return s % 11 == 0 && s != 0;
}

bool al_ca_sin_ok(const char *d, size_t n) {
  if (n != 9 || !all_digits(d, n)) return false;
  if (d[0] == '8') return false; /* 8xx xxx xxx are business numbers */
  return al_luhn_ok(d, n);
}

bool al_de_steuer_id_ok(const char *d, size_t n) {
  if (n != 11 || !all_digits(d, n) || d[0] == '0') return false;
  /* In the first ten digits one digit occurs two or three times, all others at most once
   * (so 8 or 9 distinct digits). */
  int cnt[10] = {0}, distinct = 0, multi = 0;
  for (int i = 0; i < 10; i++) cnt[d[i] - '0']++;
  for (int k = 0; k < 10; k++) {
    if (cnt[k]) distinct++;
    if (cnt[k] > 3) return false;
    if (cnt[k] > 1) multi++;
  }
  if (multi != 1 || (distinct != 8 && distinct != 9)) return false;
  unsigned product = 10;
  for (int i = 0; i < 10; i++) {
    unsigned sum = ((unsigned)(d[i] - '0') + product) % 10;
    if (sum == 0) sum = 10;
    product = (sum * 2) % 11;
  }
  unsigned check = 11 - product;
  if (check == 10) check = 0;
  return check == (unsigned)(d[10] - '0');
}

bool al_aadhaar_ok(const char *d, size_t n) {
  if (n != 12 || !all_digits(d, n) || d[0] < '2') return false;
  return al_verhoeff_ok(d, n);
}

bool al_tr_tckimlik_ok(const char *d, size_t n) {
  if (n != 11 || !all_digits(d, n) || d[0] == '0') return false;
  int v[11];
  for (int i = 0; i < 11; i++) v[i] = d[i] - '0';
  int odd = v[0] + v[2] + v[4] + v[6] + v[8], even = v[1] + v[3] + v[5] + v[7];
  int c10 = ((odd * 7 - even) % 10 + 10) % 10;
  int sum = 0;
  for (int i = 0; i < 10; i++) sum += v[i];
  return c10 == v[9] && sum % 10 == v[10];
}

bool al_es_dni_ok(const char *s, size_t n) {
  static const char letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";
  if (!s || n < 2 || n > 9) return false;
  unsigned long num = 0;
  size_t i = 0;
  char first = (char)(s[0] & ~32);
  if (first == 'X' || first == 'Y' || first == 'Z') {
    num = (unsigned long)(first - 'X'); /* NIE: X/Y/Z stand for 0/1/2 */
    i = 1;
  } else if (first == 'K' || first == 'L' || first == 'M') {
    i = 1; /* NIF K/L/M: the letter is not part of the number */
  }
  if (i && n != 9) return false;
  /* a DNI may be written without its leading zeros (54237A) */
  for (; i < n - 1; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    num = num * 10 + (unsigned long)(s[i] - '0');
  }
  char c = s[n - 1];
  if (c >= 'a' && c <= 'z') c = (char)(c - 32);
  return letters[num % 23] == c;
}

const char *al_ssn_invalid(const char *d, size_t n) {
  if (n != 9 || !all_digits(d, n)) return "not 9 digits";
  if (!memcmp(d, "000", 3)) return "area 000";
  if (!memcmp(d, "666", 3)) return "area 666";
  if (d[0] == '9') return "area 9xx (ITIN/advertising range)";
  if (!memcmp(d + 3, "00", 2)) return "group 00";
  if (!memcmp(d + 5, "0000", 4)) return "serial 0000";
  /* Numbers made public in advertising or on sample cards, never valid for a person. */
  static const char *const known[] = {"078051120", "219099999", "457555462", "123456789"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!memcmp(d, known[i], 9)) return "published sample/advertising number";
  return NULL;
}
