/* Digit windows: where the digit-anchored patterns (AL_PAT_DIGITS) can match, found with a
 * byte scan instead of running their Hyperscan engines over every byte of the text.
 *
 * Numbers (cards, SSNs, phones, IP addresses, national ids) have no literal Hyperscan could
 * anchor on: their patterns compile to NFAs that look at every byte, and together they
 * were most of the block-mode scan time. But every match a detector can accept contains
 * digits, and a detector declaring AL_PAT_DIGITS promises its shape (scan.h): at least
 * AL_SCAN_DIGIT_MIN digits, at most AL_SCAN_DIGIT_GAP other bytes between two digits, at
 * most AL_SCAN_DIGIT_EDGE bytes plus word characters before the first and after the last
 * digit, no NUL. So:
 *
 *  1. digits closer than GAP other bytes form a cluster; all digits of one match lie in one
 *     cluster (a match never has a longer run of non-digits);
 *  2. a cluster with fewer than MIN digits cannot hold an accepted match and is skipped;
 *  3. the window is the cluster widened by EDGE bytes on both sides: every match lies
 *     inside it;
 *  4. overlapping windows are merged, so every match is inside exactly one window;
 *  5. the windows are copied into one buffer, each between two sentinel bytes that stand
 *     for its real neighbours: '_' for a word byte, NUL for any other. No match contains
 *     either, and `\b` at a window's edge sees the same word-ness as in the text. The
 *     buffer is scanned with db->digits in one hs_scan call: Hyperscan reports the same
 *     (pattern, leftmost start, end) as over the whole text, shifted by the window's
 *     offset.
 *  6. most digit patterns also have a *shape* (shapes.c: a chain of digit groups, or a
 *     function for the NANP and DNI shapes); those are not in db->digits: engine.c walks
 *     each window's digit runs and follows the shapes instead, with the same reports.
 *
 * The same windows serve AL_PAT_B64RUN patterns (an AWS secret key: 40 base64 characters
 * with no literal): around every 16-byte-aligned block of [A-Za-z0-9+/] (any run of 31 or
 * more covers one; prose has almost none), as wide as the widest such pattern.
 *
 * An anchored pattern (al_pattern_add_anchored: an IBAN, whose groups may hold letters
 * only, so it does not fit the digit-cluster shape) is scanned in windows around the digit
 * runs its gate accepts (two capital letters at a word start before the run; the gate is
 * asked only where a digit follows a letter, found 16 bytes at a time), as far as the
 * pattern declares it can reach before and after the run start.
 *
 * A gated pattern (al_pattern_add_gated, e.g. a national phone number that must follow a
 * phone word, or an international one after its '+') is compiled into the database of its
 * gate (db->gated[k]) and scanned only in the windows where that gate accepts one of the
 * digit runs; a gate is a plain check of the bytes before the run.
 *
 * The scan for digits takes 16 bytes at a time (SSE2) where available. Stream mode does not
 * use windows: its Hyperscan stream database holds every pattern. The tests compare block
 * and stream findings on every case file and on the presidio texts, which checks this
 * equivalence. */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "airlock/util.h"
#include "scan/scan_internal.h"

/* Byte classes: 1 = digit, 2 = other word byte ([A-Za-z_]): \b and \d as Hyperscan reads
 * them (ASCII). Shared with shapes.c. */
const unsigned char al__byte_cls[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['_'] = 2, ['A'] = 2, ['B'] = 2, ['C'] = 2, ['D'] = 2, ['E'] = 2,
    ['F'] = 2, ['G'] = 2, ['H'] = 2, ['I'] = 2, ['J'] = 2, ['K'] = 2, ['L'] = 2, ['M'] = 2,
    ['N'] = 2, ['O'] = 2, ['P'] = 2, ['Q'] = 2, ['R'] = 2, ['S'] = 2, ['T'] = 2, ['U'] = 2,
    ['V'] = 2, ['W'] = 2, ['X'] = 2, ['Y'] = 2, ['Z'] = 2, ['a'] = 2, ['b'] = 2, ['c'] = 2,
    ['d'] = 2, ['e'] = 2, ['f'] = 2, ['g'] = 2, ['h'] = 2, ['i'] = 2, ['j'] = 2, ['k'] = 2,
    ['l'] = 2, ['m'] = 2, ['n'] = 2, ['o'] = 2, ['p'] = 2, ['q'] = 2, ['r'] = 2, ['s'] = 2,
    ['t'] = 2, ['u'] = 2, ['v'] = 2, ['w'] = 2, ['x'] = 2, ['y'] = 2, ['z'] = 2,
};
static inline bool digit_byte(char c) { return al__byte_cls[(unsigned char)c] == 1; }
static inline bool word_byte(char c) { return al__byte_cls[(unsigned char)c] != 0; }

#if defined(__SSE2__)
/* Bit k set when t[i+k] is a digit (needs i + 16 <= len). */
static inline unsigned dmask16(const char *t, size_t i) {
  __m128i v =
      _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)(t + i)), _mm_set1_epi8('0'));
  return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(9)), v));
}
#endif

/* End of the run of digits starting at e. */
static size_t run_end(const char *t, size_t e, size_t len) {
#if defined(__SSE2__)
  while (e + 16 <= len) {
    unsigned m = dmask16(t, e);
    if (m != 0xFFFF) return e + (size_t)__builtin_ctz(~m);
    e += 16;
  }
#endif
  while (e < len && digit_byte(t[e]))
    e++;
  return e;
}

/* The first digit in t[e, e + AL_SCAN_DIGIT_GAP] (within len), or len. */
static size_t digit_within_gap(const char *t, size_t e, size_t len) {
#if defined(__SSE2__)
  _Static_assert(AL_SCAN_DIGIT_GAP < 16, "the gap fits one 16-byte mask");
  if (e + 16 <= len) {
    unsigned m = dmask16(t, e) & ((1u << (AL_SCAN_DIGIT_GAP + 1)) - 1);
    return m ? e + (size_t)__builtin_ctz(m) : len;
  }
#endif
  size_t lim = len - e > AL_SCAN_DIGIT_GAP ? e + AL_SCAN_DIGIT_GAP + 1 : len;
  for (; e < lim; e++)
    if (digit_byte(t[e])) return e;
  return len;
}

/* First digit at or after i, or len. */
static size_t next_digit(const char *t, size_t i, size_t len) {
#if defined(__SSE2__)
  const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
  while (i + 16 <= len) {
    __m128i v = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)(t + i)), zero);
    /* v - '0' <= 9 as unsigned bytes: min(v, 9) == v */
    int m = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, nine), v));
    if (m) return i + (size_t)__builtin_ctz((unsigned)m);
    i += 16;
  }
#endif
  while (i < len && !digit_byte(t[i]))
    i++;
  return i;
}

size_t al__next_digit(const char *t, size_t i, size_t len) { return next_digit(t, i, len); }

size_t al__run_end(const char *t, size_t i, size_t len) { return run_end(t, i, len); }

bool al__digit_window(const char *t, size_t len, size_t *pos, size_t *a, size_t *b) {
  size_t i = *pos;
  for (;;) {
    size_t s = next_digit(t, i, len);
    if (s >= len) {
      *pos = len;
      return false;
    }
    /* the cluster: digit runs separated by at most AL_SCAN_DIGIT_GAP other bytes */
    size_t e = s, n = 0;
    for (;;) {
      size_t r = e;
      e = run_end(t, e, len);
      n += e - r;
      size_t q = digit_within_gap(t, e, len);
      if (q >= len) break;
      e = q;
    }
    i = e;
    if (n < AL_SCAN_DIGIT_MIN) continue;
    *a = s > AL_SCAN_DIGIT_EDGE ? s - AL_SCAN_DIGIT_EDGE : 0;
    *b = len - e > AL_SCAN_DIGIT_EDGE ? e + AL_SCAN_DIGIT_EDGE : len;
    *pos = e;
    return true;
  }
}

/* Is every byte of t[i,i+16) one of [A-Za-z0-9+/]? */
static bool b64_block(const char *t, size_t i) {
#if defined(__SSE2__)
  __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(t + i));
  /* prose: almost every block holds a space */
  if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')))) return false;
  __m128i lo = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
  __m128i letter = _mm_cmpeq_epi8(_mm_min_epu8(lo, _mm_set1_epi8(25)), lo);
  __m128i dg = _mm_sub_epi8(v, _mm_set1_epi8('0'));
  __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(dg, _mm_set1_epi8(9)), dg);
  __m128i plus = _mm_cmpeq_epi8(v, _mm_set1_epi8('+'));
  __m128i slash = _mm_cmpeq_epi8(v, _mm_set1_epi8('/'));
  __m128i ok = _mm_or_si128(_mm_or_si128(letter, digit), _mm_or_si128(plus, slash));
  return _mm_movemask_epi8(ok) == 0xFFFF;
#else
  for (size_t k = i; k < i + 16; k++) {
    unsigned char c = (unsigned char)t[k];
    if (!(al__is_alnum(c) || c == '+' || c == '/')) return false;
  }
  return true;
#endif
}

bool al__run_window(const char *t, size_t len, size_t width, size_t *pos, size_t *a, size_t *b) {
  /* blocks at offsets that are multiples of 16: a run of 31 or more covers one of them */
  for (size_t i = (*pos + 15) & ~(size_t)15; i + 16 <= len; i += 16) {
    if (!b64_block(t, i)) continue;
    /* a match of at most `width` bytes covering [i, i+16) */
    *a = i + 16 > width ? i + 16 - width : 0;
    *b = len - i > width ? i + width : len;
    *pos = i + 16;
    return true;
  }
  *pos = len;
  return false;
}

/* Offsets r >= i (r < len) where a digit follows a letter: t[r] in [0-9], t[r-1] in
 * [A-Za-z]; returns len when there is none. */
static size_t next_letter_digit(const char *t, size_t i, size_t len) {
  if (i == 0) i = 1;
#if defined(__SSE2__)
  const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
  const __m128i a = _mm_set1_epi8('a'), z = _mm_set1_epi8(25), lc = _mm_set1_epi8(0x20);
  while (i + 16 <= len) {
    __m128i d = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)(t + i)), zero);
    __m128i l = _mm_sub_epi8(
        _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(t + i - 1)), lc), a);
    __m128i m = _mm_and_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, nine), d),
                              _mm_cmpeq_epi8(_mm_min_epu8(l, z), l));
    int bits = _mm_movemask_epi8(m);
    if (bits) return i + (size_t)__builtin_ctz((unsigned)bits);
    i += 16;
  }
#endif
  for (; i < len; i++)
    if (digit_byte(t[i]) && al__is_alpha((unsigned char)t[i - 1])) return i;
  return len;
}

bool al__next_anchor(const al_scan_db *db, const char *t, size_t len, size_t *pos, size_t *run,
                     unsigned *gates) {
  size_t i = *pos;
  for (;;) {
    size_t r = next_letter_digit(t, i, len);
    if (r >= len) break;
    i = r + 1;
    unsigned m = 0;
    for (size_t g = 0; g < db->n_anchors; g++)
      if (db->anchors[g](t, len, r)) m |= 1u << g;
    if (!m) continue;
    *run = r;
    *gates = m;
    *pos = r + 1;
    return true;
  }
  *pos = len;
  return false;
}

void al__anchor_span(const al_scan_db *db, const char *t, size_t len, size_t r, size_t *a,
                     size_t *b) {
  size_t lo = r > db->anchor_before ? r - db->anchor_before : 0;
  size_t hi = len - r > db->anchor_after ? r + db->anchor_after : len;
  while (lo > 0 && word_byte(t[lo - 1]))
    lo--;
  while (hi < len && word_byte(t[hi]))
    hi++;
  *a = lo;
  *b = hi;
}

/* The byte standing for t[i] just outside a window: '_' for a word byte, NUL otherwise.
 * Neither can be part of a match, and `\b` at the window's edge sees the same word-ness
 * as in the text. */
static char sentinel(const char *t, size_t len, size_t i, bool outside) {
  return outside && i < len && word_byte(t[i]) ? '_' : '\0';
}

/* Append p[0,n) and the sentinel for the byte after it. */
static int cat_put(al_digitscan *ds, const char *p, size_t n, char after) {
  if (ds->cat_len + n + 2 > ds->cat_cap) {
    size_t cap = ds->cat_cap ? ds->cat_cap : AL_SCAN_DIGIT_CAT + 4096;
    while (cap < ds->cat_len + n + 2)
      cap *= 2;
    char *c = al_realloc(ds->cat, cap);
    if (!c) return AL_ENOMEM;
    ds->cat = c;
    ds->cat_cap = cap;
  }
  memcpy(ds->cat + ds->cat_len, p, n);
  ds->cat_len += n;
  ds->cat[ds->cat_len++] = after;
  return 0;
}

int al__ds_add(al_digitscan *ds, const char *t, size_t len, size_t a, size_t b) {
  char after = sentinel(t, len, b, true);
  if (ds->n_win) {
    al_dwin *w = &ds->win[ds->n_win - 1];
    size_t end = (size_t)w->orig + w->len;
    if (a < end) { /* overlaps the last window: extend it over its sentinel */
      if (b <= end) return 0;
      ds->cat_len--;
      w->len += b - end;
      return cat_put(ds, t + end, b - end, after);
    }
  }
  if (ds->n_win == ds->cap_win) {
    size_t cap = ds->cap_win ? ds->cap_win * 2 : 256;
    al_dwin *w = al_realloc(ds->win, cap * sizeof *w);
    if (!w) return AL_ENOMEM;
    ds->win = w;
    ds->cap_win = cap;
  }
  /* the sentinel for the byte before the window, then the window */
  int rc = cat_put(ds, "", 0, a > 0 ? sentinel(t, len, a - 1, true) : '\0');
  if (rc < 0) return rc;
  ds->win[ds->n_win++] = (al_dwin){.orig = a, .at = ds->cat_len, .len = b - a};
  return cat_put(ds, t + a, b - a, after);
}

const al_dwin *al__ds_find(al_digitscan *ds, size_t x) {
  size_t k = ds->cursor < ds->n_win ? ds->cursor : 0;
  const al_dwin *w = &ds->win[k];
  /* matches arrive in end order: usually this window or one of the next few */
  for (int step = 0; step < 4 && x > w->at + w->len && k + 1 < ds->n_win; step++)
    w = &ds->win[++k];
  if (!(x > w->at && x <= w->at + w->len)) {
    size_t lo = 0, hi = ds->n_win; /* last window with at < x */
    while (hi - lo > 1) {
      size_t mid = (lo + hi) / 2;
      if (ds->win[mid].at < x)
        lo = mid;
      else
        hi = mid;
    }
    k = lo;
    w = &ds->win[k];
    if (!(x > w->at && x <= w->at + w->len)) return NULL;
  }
  ds->cursor = k;
  return w;
}

void al__ds_reset(al_digitscan *ds) {
  ds->pos = 0;
  ds->have_next = false;
  ds->cat_len = 0;
  ds->n_win = 0;
  ds->cursor = 0;
}

void al__ds_cleanup(al_digitscan *ds) {
  al_free(ds->cat);
  al_free(ds->win);
  memset(ds, 0, sizeof *ds);
}
