/* Findings, verdicts and placeholders.
 *
 * A finding from the scan engine is mapped to the pipeline stages whose detector lists
 * name it (exactly or by prefix: "pii" covers "pii.email"); it takes the strongest action
 * among them (allow < redact < retry < block). Redaction replaces each redact span by a
 * placeholder "[KIND_N]" (KIND from the detector name, N counting per kind in the request);
 * the same value gets the same placeholder within a request. When the stage is reversible,
 * the placeholder remembers the value and al_guard_restore() puts it back into the answer:
 * the model sees "[EMAIL_1]", the client gets its address back. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "guard/guard_int.h"

void al_gfinds_reset(gfinds *f) {
  f->n = 0;
  f->oom = 0;
}

void al_gfinds_cleanup(gfinds *f) {
  al_free(f->v);
  memset(f, 0, sizeof *f);
}

static int names(const char *pattern, const char *det) {
  size_t n = strlen(pattern);
  return !strcmp(pattern, det) || (!strncmp(pattern, det, n) && det[n] == '.');
}

int al_gfinds_push(gfinds *fs, const gfind *g) {
  if (fs->n == fs->cap) {
    size_t cap = fs->cap ? fs->cap * 2 : 16;
    gfind *v = al_realloc(fs->v, cap * sizeof *v);
    if (!v) {
      fs->oom = 1;
      return AL_ENOMEM;
    }
    fs->v = v;
    fs->cap = cap;
  }
  fs->v[fs->n++] = *g;
  return 0;
}

int al_guard_on_finding(const al_finding *f, void *ud) {
  gscan_ctx *c = ud;
  gfinds *fs = c->finds;
  int found = 0, reversible = 0;
  gact act = G_ALLOW;
  for (size_t i = 0; i < c->pipe->n; i++) {
    const gstage *s = &c->pipe->st[i];
    for (size_t j = 0; j < s->n_detectors; j++) {
      if (!names(s->detectors[j], f->detector)) continue;
      if (!found || s->action > act) {
        act = s->action;
        reversible = s->reversible;
      } else if (s->action == act && s->reversible) {
        reversible = 1;
      }
      found = 1;
    }
  }
  if (!found) return 0;
  gfind g = {f->start, f->end, f->detector, act, reversible};
  return al_gfinds_push(fs, &g) ? 1 : 0;
}

gact al_gfinds_verdict(const gfinds *f, const gfind **which) {
  gact best = G_ALLOW;
  const gfind *w = NULL;
  for (size_t i = 0; i < f->n; i++)
    if (!w || f->v[i].action > best) {
      best = f->v[i].action;
      w = &f->v[i];
    }
  if (which) *which = w;
  return best;
}

void al_gmap_cleanup(gmap *m) {
  for (size_t i = 0; i < m->n; i++) al_free(m->v[i].value);
  al_free(m->v);
  memset(m, 0, sizeof *m);
}

static void kind_of(const char *det, char *out, size_t n) {
  const char *dot = strchr(det, '.');
  const char *s = dot ? dot + 1 : det;
  size_t k = 0;
  for (; *s && k + 1 < n; s++) out[k++] = isalnum((unsigned char)*s) ? (char)toupper((unsigned char)*s) : '_';
  out[k] = '\0';
}

static const gph *placeholder(gmap *m, const char *det, const char *v, size_t n, int restore) {
  char kind[32];
  kind_of(det, kind, sizeof kind);
  size_t same_kind = 0, kl = strlen(kind);
  for (size_t i = 0; i < m->n; i++) {
    gph *p = &m->v[i];
    if (p->vlen == n && !memcmp(p->value, v, n) && p->restore == restore) return p;
    if (!strncmp(p->label + 1, kind, kl) && p->label[kl + 1] == '_') same_kind++;
  }
  if (m->n >= AL_GUARD_MAX_PLACEHOLDERS) return NULL;
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 8;
    gph *nv = al_realloc(m->v, cap * sizeof *nv);
    if (!nv) return NULL;
    m->v = nv;
    m->cap = cap;
  }
  gph *p = &m->v[m->n];
  if (!(p->value = al_strndup(v, n))) return NULL;
  p->vlen = n;
  p->restore = restore;
  snprintf(p->label, sizeof p->label, "[%s_%zu]", kind, same_kind + 1);
  m->n++;
  return p;
}

static int by_start(const void *a, const void *b) {
  const gfind *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return (x->end < y->end) - (x->end > y->end);
}

int al_guard_redact(const char *text, size_t len, uint64_t base, gfinds *f, gmap *m, al_buf *out) {
  int rc = 0;
  if (f->n > 1) qsort(f->v, f->n, sizeof *f->v, by_start);
  uint64_t at = base, end = base + len;
  for (size_t i = 0; i < f->n && !rc; i++) {
    gfind *g = &f->v[i];
    if (g->action != G_REDACT || g->end <= at || g->start >= end) continue;
    uint64_t s = g->start < at ? at : g->start, e = g->end;
    /* merge every redact span overlapping this one */
    while (i + 1 < f->n && f->v[i + 1].start < e) {
      if (f->v[i + 1].action == G_REDACT && f->v[i + 1].end > e) e = f->v[i + 1].end;
      i++;
    }
    if (e > end) e = end;
    rc = al_buf_append(out, text + (at - base), (size_t)(s - at));
    if (rc) break;
    const gph *p = placeholder(m, g->detector, text + (s - base), (size_t)(e - s), g->reversible);
    rc = p ? al_buf_puts(out, p->label) : AL_ENOMEM;
    at = e;
  }
  if (!rc) rc = al_buf_append(out, text + (at - base), (size_t)(end - at));
  return rc;
}

int al_guard_restore(const char *text, size_t len, const gmap *m, al_buf *out) {
  size_t at = 0;
  int rc = 0;
  for (size_t i = 0; i < len && !rc;) {
    const char *lb = memchr(text + i, '[', len - i);
    if (!lb) break;
    i = (size_t)(lb - text);
    const gph *hit = NULL;
    for (size_t k = 0; k < m->n && !hit; k++) {
      size_t ll = strlen(m->v[k].label);
      if (m->v[k].restore && ll <= len - i && !memcmp(text + i, m->v[k].label, ll)) hit = &m->v[k];
    }
    if (!hit) {
      i++;
      continue;
    }
    rc = al_buf_append(out, text + at, i - at);
    if (!rc) rc = al_buf_append(out, hit->value, hit->vlen);
    i += strlen(hit->label);
    at = i;
  }
  if (!rc) rc = al_buf_append(out, text + at, len - at);
  return rc;
}

size_t al_guard_partial_placeholder(const char *text, size_t len) {
  /* a placeholder is "[" + [A-Z0-9_]{1,31} + "_" + digits + "]": at most 47 bytes */
  size_t lim = len < 47 ? len : 47;
  for (size_t k = 1; k <= lim; k++) {
    const char *p = text + len - k;
    if (*p == ']') return 0;
    if (*p == '[') {
      for (size_t j = 1; j < k; j++)
        if (!isupper((unsigned char)p[j]) && !isdigit((unsigned char)p[j]) && p[j] != '_') return 0;
      return k;
    }
  }
  return 0;
}
