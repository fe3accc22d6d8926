/* JSON values the way JSON Schema sees them.
 *
 * jansson keeps integers (json_int_t, 64-bit) and reals (double) apart, but for JSON Schema
 * 1 and 1.0 are the same value: equality (enum, const, uniqueItems), hashing (uniqueItems in
 * O(n log n)) and ordering (minimum & co.) here compare numbers by mathematical value, exactly
 * across the two representations, so 9007199254740993 is greater than 9007199254740992.0.
 * Integers past 64 bits do not reach us: jansson refuses them at parse time. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "airlock/util.h"
#include "schema/schema_int.h"

static int cmp_int_real(json_int_t i, double d) {
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  double t = trunc(d);
  long long ti = (long long)t;
  if (i < ti) return -1;
  if (i > ti) return 1;
  double frac = d - t;
  return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

int sch_num_cmp(const json_t *a, const json_t *b) {
  if (json_is_integer(a) && json_is_integer(b)) {
    json_int_t x = json_integer_value(a), y = json_integer_value(b);
    return x < y ? -1 : x > y;
  }
  if (json_is_integer(a)) return cmp_int_real(json_integer_value(a), json_real_value(b));
  if (json_is_integer(b)) return -cmp_int_real(json_integer_value(b), json_real_value(a));
  double x = json_real_value(a), y = json_real_value(b);
  return x < y ? -1 : x > y;
}

int sch_is_integer(const json_t *v) {
  if (json_is_integer(v)) return 1;
  if (!json_is_real(v)) return 0;
  double d = json_real_value(v);
  return isfinite(d) && floor(d) == d;
}

long long sch_nonneg_int(const json_t *v) {
  if (json_is_integer(v)) return json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
  if (sch_is_integer(v)) {
    double d = json_real_value(v);
    if (d >= 0 && d < 9.2e18) return (long long)d;
  }
  return -1;
}

int sch_multiple_of(const json_t *v, const json_t *m) {
  if (json_is_integer(v) && json_is_integer(m)) {
    json_int_t y = json_integer_value(m);
    if (y <= 0) return 0;
    return json_integer_value(v) % y == 0;
  }
  double x = json_number_value(v), y = json_number_value(m);
  if (y <= 0) return 0;
  double q = x / y;
  if (!isfinite(q)) return fmod(x, y) == 0; /* exact, where the quotient overflows */
  double d = fabs(q - round(q));
  return d <= 1e-9 || d <= fabs(q) * DBL_EPSILON * 4;
}

size_t sch_utf8_len(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += ((unsigned char)s[i] & 0xC0) != 0x80;
  return k;
}

int sch_json_equal(const json_t *a, const json_t *b) {
  if (a == b) return 1;
  if (json_is_number(a) && json_is_number(b)) return sch_num_cmp(a, b) == 0;
  if (json_typeof(a) != json_typeof(b)) return 0;
  switch (json_typeof(a)) {
  case JSON_STRING:
    return json_string_length(a) == json_string_length(b) &&
           memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
  case JSON_ARRAY: {
    size_t n = json_array_size(a);
    if (n != json_array_size(b)) return 0;
    for (size_t i = 0; i < n; i++)
      if (!sch_json_equal(json_array_get(a, i), json_array_get(b, i))) return 0;
    return 1;
  }
  case JSON_OBJECT: {
    if (json_object_size(a) != json_object_size(b)) return 0;
    const char *k;
    size_t kl;
    json_t *va;
    json_object_keylen_foreach((json_t *)a, k, kl, va) {
      json_t *vb = json_object_getn(b, k, kl);
      if (!vb || !sch_json_equal(va, vb)) return 0;
    }
    return 1;
  }
  default: /* true, false, null: same type is same value */ return 1;
  }
}

uint64_t sch_json_hash(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_NULL: return 0x1;
  case JSON_TRUE: return 0x2;
  case JSON_FALSE: return 0x3;
  case JSON_INTEGER:
  case JSON_REAL: {
    double d = json_number_value(v);
    if (d == 0) d = 0; /* -0.0 */
    return sch_hash_bytes(&d, sizeof d, 0x4);
  }
  case JSON_STRING: return sch_hash_bytes(json_string_value(v), json_string_length(v), 0x5);
  case JSON_ARRAY: {
    uint64_t h = 0x6;
    for (size_t i = 0; i < json_array_size(v); i++)
      h = (h * 1099511628211ull) ^ sch_json_hash(json_array_get(v, i));
    return h;
  }
  case JSON_OBJECT: {
    uint64_t h = 0x7;
    const char *k;
    size_t kl;
    json_t *x;
    json_object_keylen_foreach((json_t *)v, k, kl, x) {
      h += sch_hash_bytes(k, kl, 0x8) ^ (sch_json_hash(x) * 0x9E3779B97F4A7C15ull);
    }
    return h;
  }
  }
  return 0;
}

/* ECMA-262 is the regular-expression dialect JSON Schema names. PCRE2 in UTF mode without
 * PCRE2_UCP already matches it for \d \w \b (ASCII only) and `.` (one code point); with
 * PCRE2_ALT_BSUX it reads \uXXXX, and with PCRE2_ALLOW_EMPTY_CLASS `[]` and `[^]`. What is
 * left is rewritten here:
 *  - \s and \S mean ECMA's white space and line terminators (Unicode: NBSP, U+FEFF, ...);
 *  - \p{Letter}, \p{General_Category=Letter}, \p{Script=Greek}: PCRE2 10.42 wants the short
 *    category names (L, Lu, ...) and bare script names. */
static const char *const gc_names[][2] = {
    {"Letter", "L"},
    {"Cased_Letter", "L&"},
    {"Uppercase_Letter", "Lu"},
    {"Lowercase_Letter", "Ll"},
    {"Titlecase_Letter", "Lt"},
    {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"},
    {"Mark", "M"},
    {"Combining_Mark", "M"},
    {"Nonspacing_Mark", "Mn"},
    {"Spacing_Mark", "Mc"},
    {"Enclosing_Mark", "Me"},
    {"Number", "N"},
    {"Decimal_Number", "Nd"},
    {"digit", "Nd"},
    {"Letter_Number", "Nl"},
    {"Other_Number", "No"},
    {"Punctuation", "P"},
    {"punct", "P"},
    {"Connector_Punctuation", "Pc"},
    {"Dash_Punctuation", "Pd"},
    {"Open_Punctuation", "Ps"},
    {"Close_Punctuation", "Pe"},
    {"Initial_Punctuation", "Pi"},
    {"Final_Punctuation", "Pf"},
    {"Other_Punctuation", "Po"},
    {"Symbol", "S"},
    {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"},
    {"Modifier_Symbol", "Sk"},
    {"Other_Symbol", "So"},
    {"Separator", "Z"},
    {"Space_Separator", "Zs"},
    {"Line_Separator", "Zl"},
    {"Paragraph_Separator", "Zp"},
    {"Other", "C"},
    {"Control", "Cc"},
    {"cntrl", "Cc"},
    {"Format", "Cf"},
    {"Surrogate", "Cs"},
    {"Private_Use", "Co"},
    {"Unassigned", "Cn"},
};

/* ECMA-262 WhiteSpace and LineTerminator code points, as UTF-8 for a character class. */
static const char ecma_space[] =
    "\\t\\n\\x0B\\f\\r \xC2\xA0\xE1\x9A\x80\xE2\x80\x80-\xE2\x80\x8A\xE2\x80\xA8\xE2\x80\xA9"
    "\xE2\x80\xAF\xE2\x81\x9F\xE3\x80\x80\xEF\xBB\xBF";

static int put(char **out, size_t *o, size_t *cap, const char *p, size_t n) {
  if (*o + n + 1 > *cap) {
    size_t nc = (*o + n + 1) * 2;
    char *b = al_realloc(*out, nc);
    if (!b) return AL_ENOMEM;
    *out = b;
    *cap = nc;
  }
  memcpy(*out + *o, p, n);
  *o += n;
  (*out)[*o] = '\0';
  return 0;
}

static int put_property(char **out, size_t *o, size_t *cap, char pp, const char *name, size_t nl) {
  const char *eq = memchr(name, '=', nl);
  int is_script = 0;
  if (eq) {
    size_t kl = (size_t)(eq - name);
    is_script = (kl == 6 && !memcmp(name, "Script", 6)) || (kl == 2 && !memcmp(name, "sc", 2)) ||
                (kl == 17 && !memcmp(name, "Script_Extensions", 17)) ||
                (kl == 3 && !memcmp(name, "scx", 3));
    nl -= kl + 1;
    name = eq + 1;
  }
  const char *rep = NULL;
  for (size_t g = 0; !is_script && g < sizeof gc_names / sizeof gc_names[0]; g++)
    if (strlen(gc_names[g][0]) == nl && !memcmp(gc_names[g][0], name, nl)) rep = gc_names[g][1];
  char head[3] = {'\\', pp, '{'};
  if (put(out, o, cap, head, 3) < 0) return AL_ENOMEM;
  if (put(out, o, cap, rep ? rep : name, rep ? strlen(rep) : nl) < 0) return AL_ENOMEM;
  return put(out, o, cap, "}", 1);
}

char *sch_regex_from_ecma(const char *src, size_t len, size_t *out_len) {
  char *out = NULL;
  size_t o = 0, cap = 0;
  int in_class = 0, rc = 0;
  if (put(&out, &o, &cap, "", 0) < 0) return NULL;
  for (size_t i = 0; i < len && rc == 0;) {
    char ch = src[i];
    if (ch == '\\' && i + 1 < len) {
      char e = src[i + 1];
      const char *end = NULL;
      if ((e == 'p' || e == 'P') && i + 2 < len && src[i + 2] == '{' &&
          (end = memchr(src + i + 3, '}', len - i - 3))) {
        rc = put_property(&out, &o, &cap, e, src + i + 3, (size_t)(end - src - i - 3));
        i = (size_t)(end - src) + 1;
        continue;
      }
      if (e == 's' || (e == 'S' && !in_class)) {
        if (!in_class) rc = put(&out, &o, &cap, e == 's' ? "[" : "[^", e == 's' ? 1 : 2);
        if (rc == 0) rc = put(&out, &o, &cap, ecma_space, sizeof ecma_space - 1);
        if (rc == 0 && !in_class) rc = put(&out, &o, &cap, "]", 1);
      } else {
        rc = put(&out, &o, &cap, src + i, 2);
      }
      i += 2;
      continue;
    }
    if (ch == '[' && !in_class) {
      size_t k = i + 1;
      if (k < len && src[k] == '^') k++;
      if (k < len && src[k] == ']') { /* [] or [^]: complete already */
        rc = put(&out, &o, &cap, src + i, k + 1 - i);
        i = k + 1;
        continue;
      }
      in_class = 1;
      rc = put(&out, &o, &cap, src + i, k - i);
      i = k;
      continue;
    }
    if (ch == ']' && in_class) in_class = 0;
    rc = put(&out, &o, &cap, &ch, 1);
    i++;
  }
  if (rc < 0) {
    al_free(out);
    return NULL;
  }
  *out_len = o;
  return out;
}
