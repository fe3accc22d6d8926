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
  if (!isfinite(q)) return 0;
  double d = fabs(q - round(q));
  return d <= 1e-9 || d <= fabs(q) * DBL_EPSILON * 4;
}

size_t sch_utf8_len(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
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
  default: /* true, false, null: same type is same value */
    return 1;
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

/* ECMA-262 (the dialect JSON Schema names) spells Unicode properties with long names,
 * \p{Letter} or \p{General_Category=Letter} or \p{Script=Greek}; PCRE2 10.42 knows the short
 * category names (L, Lu, ...) and bare script names. Rewrite those escapes; all else is kept. */
static const char *const gc_names[][2] = {
    {"Letter", "L"}, {"Cased_Letter", "L&"}, {"Uppercase_Letter", "Lu"},
    {"Lowercase_Letter", "Ll"}, {"Titlecase_Letter", "Lt"}, {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"}, {"Mark", "M"}, {"Combining_Mark", "M"},
    {"Nonspacing_Mark", "Mn"}, {"Spacing_Mark", "Mc"}, {"Enclosing_Mark", "Me"},
    {"Number", "N"}, {"Decimal_Number", "Nd"}, {"digit", "Nd"}, {"Letter_Number", "Nl"},
    {"Other_Number", "No"}, {"Punctuation", "P"}, {"punct", "P"},
    {"Connector_Punctuation", "Pc"}, {"Dash_Punctuation", "Pd"}, {"Open_Punctuation", "Ps"},
    {"Close_Punctuation", "Pe"}, {"Initial_Punctuation", "Pi"}, {"Final_Punctuation", "Pf"},
    {"Other_Punctuation", "Po"}, {"Symbol", "S"}, {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"}, {"Modifier_Symbol", "Sk"}, {"Other_Symbol", "So"},
    {"Separator", "Z"}, {"Space_Separator", "Zs"}, {"Line_Separator", "Zl"},
    {"Paragraph_Separator", "Zp"}, {"Other", "C"}, {"Control", "Cc"}, {"cntrl", "Cc"},
    {"Format", "Cf"}, {"Surrogate", "Cs"}, {"Private_Use", "Co"}, {"Unassigned", "Cn"},
};

char *sch_regex_from_ecma(const char *src, size_t len, size_t *out_len) {
  /* output never exceeds input: every rewrite is shorter than what it replaces */
  char *out = al_malloc(len + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    if (src[i] == '\\' && i + 2 < len && (src[i + 1] == 'p' || src[i + 1] == 'P') &&
        src[i + 2] == '{') {
      const char *end = memchr(src + i + 3, '}', len - i - 3);
      if (end) {
        const char *name = src + i + 3;
        size_t nl = (size_t)(end - name);
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
          if (strlen(gc_names[g][0]) == nl && !memcmp(gc_names[g][0], name, nl))
            rep = gc_names[g][1];
        out[o++] = '\\';
        out[o++] = src[i + 1];
        out[o++] = '{';
        if (rep) {
          memcpy(out + o, rep, strlen(rep));
          o += strlen(rep);
        } else {
          memcpy(out + o, name, nl);
          o += nl;
        }
        out[o++] = '}';
        i = (size_t)(end - src) + 1;
        continue;
      }
    }
    if (src[i] == '\\' && i + 1 < len) out[o++] = src[i++];
    out[o++] = src[i++];
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}
