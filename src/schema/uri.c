/* URI references and JSON pointers for `$id`, `$ref` and `$dynamicRef`.
 *
 * sch_uri_resolve() is the algorithm of RFC 3986 section 5.2 (parse into five parts, merge
 * paths, remove dot segments); it works for hierarchical URIs (http://h/a/b.json) and for
 * URNs (urn:uuid:...#/defs/x), whose path is opaque and only ever replaced or kept. No
 * normalisation beyond that is done: schemas refer to each other by the same spelling.
 * Fragments are percent-decoded before they are used as JSON pointers or anchor names. */
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "schema/schema_int.h"

typedef struct part {
  const char *p;
  size_t n;
  int def;
} part;

typedef struct uri {
  part scheme, auth, path, query, frag;
} uri;

static void parse(const char *s, uri *u) {
  memset(u, 0, sizeof *u);
  const char *p = s;
  /* scheme */
  if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
    const char *q = p + 1;
    while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
           *q == '+' || *q == '-' || *q == '.')
      q++;
    if (*q == ':') {
      u->scheme = (part){p, (size_t)(q - p), 1};
      p = q + 1;
    }
  }
  if (p[0] == '/' && p[1] == '/') {
    p += 2;
    size_t n = strcspn(p, "/?#");
    u->auth = (part){p, n, 1};
    p += n;
  }
  size_t n = strcspn(p, "?#");
  u->path = (part){p, n, 1};
  p += n;
  if (*p == '?') {
    p++;
    n = strcspn(p, "#");
    u->query = (part){p, n, 1};
    p += n;
  }
  if (*p == '#') {
    p++;
    u->frag = (part){p, strlen(p), 1};
  }
}

int sch_uri_is_absolute(const char *s) {
  uri u;
  parse(s, &u);
  return u.scheme.def;
}

/* RFC 3986 5.2.4, rewriting the NUL-terminated path in place (the output never grows). */
static void remove_dots(char *path) {
  size_t len = strlen(path);
  char *out = path; /* output is written behind the read position */
  size_t o = 0;
  char *tmp = al_malloc(len + 1);
  if (!tmp) return;
  memcpy(tmp, path, len + 1);
  const char *r = tmp;
  while (*r) {
    if (strncmp(r, "../", 3) == 0)
      r += 3;
    else if (strncmp(r, "./", 2) == 0)
      r += 2;
    else if (strncmp(r, "/./", 3) == 0)
      r += 2;
    else if (strcmp(r, "/.") == 0)
      r = "/";
    else if (strncmp(r, "/../", 4) == 0 || strcmp(r, "/..") == 0) {
      r = r[3] ? r + 3 : "/";
      while (o > 0 && out[--o] != '/') {
      }
    } else if (strcmp(r, ".") == 0 || strcmp(r, "..") == 0) {
      break;
    } else {
      if (*r == '/') out[o++] = *r++;
      while (*r && *r != '/')
        out[o++] = *r++;
    }
  }
  out[o] = '\0';
  al_free(tmp);
}

char *sch_uri_resolve(const char *base, const char *ref) {
  uri b, r;
  parse(base ? base : "", &b);
  parse(ref, &r);
  part scheme, auth, query, frag;
  char *path = NULL, *out = NULL;
  if (r.scheme.def) {
    scheme = r.scheme;
    auth = r.auth;
    path = al_strndup(r.path.p, r.path.n);
    query = r.query;
  } else {
    scheme = b.scheme;
    if (r.auth.def) {
      auth = r.auth;
      path = al_strndup(r.path.p, r.path.n);
      query = r.query;
    } else {
      auth = b.auth;
      if (r.path.n == 0) {
        path = al_strndup(b.path.p, b.path.n);
        query = r.query.def ? r.query : b.query;
      } else {
        query = r.query;
        if (r.path.p[0] == '/') {
          path = al_strndup(r.path.p, r.path.n);
        } else {
          size_t keep = 0;
          int slash = 0;
          if (b.auth.def && b.path.n == 0)
            slash = 1;
          else
            for (size_t i = b.path.n; i > 0; i--)
              if (b.path.p[i - 1] == '/') {
                keep = i;
                break;
              }
          path = al_malloc(keep + slash + r.path.n + 1);
          if (path) {
            memcpy(path, b.path.p, keep);
            if (slash) path[keep] = '/';
            memcpy(path + keep + slash, r.path.p, r.path.n);
            path[keep + slash + r.path.n] = '\0';
          }
        }
      }
    }
  }
  frag = r.frag;
  if (!path) return NULL;
  /* Only hierarchical paths have dot segments to remove. */
  if (auth.def || path[0] == '/') remove_dots(path);
  size_t n =
      scheme.n + 1 + (auth.def ? auth.n + 2 : 0) + strlen(path) + query.n + 1 + frag.n + 1 + 1;
  out = al_malloc(n);
  if (out) {
    char *o = out;
    if (scheme.def) {
      memcpy(o, scheme.p, scheme.n);
      o += scheme.n;
      *o++ = ':';
    }
    if (auth.def) {
      *o++ = '/';
      *o++ = '/';
      memcpy(o, auth.p, auth.n);
      o += auth.n;
    }
    size_t pl = strlen(path);
    memcpy(o, path, pl);
    o += pl;
    if (query.def) {
      *o++ = '?';
      memcpy(o, query.p, query.n);
      o += query.n;
    }
    if (frag.def) {
      *o++ = '#';
      memcpy(o, frag.p, frag.n);
      o += frag.n;
    }
    *o = '\0';
  }
  al_free(path);
  return out;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char *sch_uri_split(const char *uri, char **frag) {
  const char *h = strchr(uri, '#');
  if (frag) *frag = NULL;
  char *u = h ? al_strndup(uri, (size_t)(h - uri)) : al_strdup(uri);
  if (!u || !h || !frag) return u;
  const char *f = h + 1;
  char *d = al_malloc(strlen(f) + 1);
  if (!d) {
    al_free(u);
    return NULL;
  }
  char *o = d;
  for (const char *p = f; *p; p++) {
    int a, b;
    if (*p == '%' && (a = hexval(p[1])) >= 0 && (b = hexval(p[2])) >= 0) {
      *o++ = (char)(a * 16 + b);
      p += 2;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
  *frag = d;
  return u;
}

int sch_ptr_append(char **dst, const char *s) {
  size_t old = *dst ? strlen(*dst) : 0, extra = 1;
  for (const char *p = s; *p; p++)
    extra += (*p == '~' || *p == '/') ? 2 : 1;
  char *n = al_realloc(*dst, old + extra + 1);
  if (!n) return AL_ENOMEM;
  char *o = n + old;
  *o++ = '/';
  for (const char *p = s; *p; p++) {
    if (*p == '~') {
      *o++ = '~';
      *o++ = '0';
    } else if (*p == '/') {
      *o++ = '~';
      *o++ = '1';
    } else
      *o++ = *p;
  }
  *o = '\0';
  *dst = n;
  return 0;
}

json_t *sch_ptr_get(json_t *root, const char *ptr, void (*on_step)(void *, json_t *), void *arg) {
  json_t *cur = root;
  if (on_step) on_step(arg, cur);
  if (*ptr == '\0') return cur;
  if (*ptr != '/') return NULL;
  const char *p = ptr + 1;
  char tok[1024];
  for (;;) {
    size_t n = 0;
    while (*p && *p != '/') {
      char c = *p++;
      if (c == '~') {
        if (*p == '0')
          c = '~';
        else if (*p == '1')
          c = '/';
        else
          return NULL;
        p++;
      }
      if (n + 1 >= sizeof tok) return NULL;
      tok[n++] = c;
    }
    tok[n] = '\0';
    if (json_is_object(cur)) {
      cur = json_object_getn(cur, tok, n);
    } else if (json_is_array(cur)) {
      if (n == 0 || (n > 1 && tok[0] == '0')) return NULL;
      char *end;
      unsigned long long i = strtoull(tok, &end, 10);
      if (*end || tok[0] < '0' || tok[0] > '9') return NULL;
      cur = json_array_get(cur, (size_t)i);
    } else {
      return NULL;
    }
    if (!cur) return NULL;
    if (on_step) on_step(arg, cur);
    if (*p == '\0') return cur;
    p++;
  }
}
