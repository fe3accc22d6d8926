/* al_report_render: pick the renderer, make sure there is a summary, write the result.
 *
 * The renderers form one table (name -> function). Each appends to a bounded buffer; the
 * buffer reaches the FILE in one fwrite only when rendering succeeded. The "json" format is
 * here too: the run document with its summary, indented, keys in document order.
 *
 * al_report_render_store renders the same bytes for a stored run without loading it: the
 * renderers walk the cases through al_rc_first/al_rc_next, which read them one at a time
 * from a store cursor, and the buffer is written out whenever it passes AL_REPORT_CHUNK.
 * The json format then writes the run, each case and the summary in turn, each dumped by
 * jansson and indented to its depth (jansson's own output at that depth). With a part
 * rendered ahead (al_report_ahead_start: the last three fifths of the cases, on a thread
 * with its own connection, into an unlinked temporary file), the json format renders the
 * first two fifths itself and then copies that file in.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock/report.h"
#include "airlock/util.h"
#include "report/report_int.h"

static const struct {
  const char *name;
  int (*fn)(al_rctx *c);
} renderers[] = {
    {"text", al_report_text},   {"json", al_report_json},         {"junit", al_report_junit},
    {"sarif", al_report_sarif}, {"markdown", al_report_markdown},
};

const char *const al_report_formats[] = {"text", "json", "junit", "sarif", "markdown", NULL};

const char *al_jstr(const json_t *o, const char *key, const char *def) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : def;
}

double al_jnum(const json_t *o, const char *key, double def) {
  const json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : def;
}

long long al_jint(const json_t *o, const char *key, long long def) {
  const json_t *v = json_object_get(o, key);
  return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

int al_jtrue(const json_t *o, const char *key) { return json_is_true(json_object_get(o, key)); }

double al_round(double v, int decimals) {
  double f = pow(10.0, decimals);
  double r = round(v * f) / f;
  return isfinite(r) ? r : v;
}

void al_case_location(const json_t *run, const json_t *c, const char **file, long *line) {
  const json_t *loc = json_object_get(json_object_get(c, "meta"), "location");
  *file = al_jstr(loc, "file", al_jstr(run, "suite_path", ""));
  long long l = al_jint(loc, "line", 0);
  *line = l > 0 && l < 1000000000 ? (long)l : 0;
}

const char *al_case_excerpt(const json_t *c, size_t max, size_t *len, int *more) {
  const json_t *o = json_object_get(c, "output");
  const char *s = json_string_value(o);
  size_t n = s ? json_string_length(o) : 0;
  *len = al_utf8_prefix(s ? s : "", n, max);
  *more = *len < n;
  return s ? s : "";
}

void al_out(al_rctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = al_buf_vprintf(c->out, fmt, ap);
  if (rc < 0 && !c->fail) c->fail = rc;
  va_end(ap);
}

void al_out_esc(al_rctx *c, int kind, const char *s, size_t n) {
  int rc = 0;
  if (!s) return;
  switch (kind) {
  case AL_ESC_TERM: rc = al_esc_term(c->out, s, n); break;
  case AL_ESC_XML_TEXT: rc = al_esc_xml(c->out, s, n, 0); break;
  case AL_ESC_XML_ATTR: rc = al_esc_xml(c->out, s, n, 1); break;
  case AL_ESC_MD: rc = al_esc_md(c->out, s, n); break;
  }
  if (rc < 0 && !c->fail) c->fail = rc;
}

void al_out_escs(al_rctx *c, int kind, const char *s) {
  if (s) al_out_esc(c, kind, s, strlen(s));
}

const char *al_pct(char *out, size_t n, const json_t *rate) {
  if (json_is_number(rate))
    snprintf(out, n, "%.1f%%", json_number_value(rate) * 100.0);
  else
    snprintf(out, n, "-");
  return out;
}

static int cmp_group(const void *a, const void *b) {
  return strcmp(((const al_catgroup *)a)->name, ((const al_catgroup *)b)->name);
}

void al_catgroups_free(al_catgroup *g, size_t n) {
  for (size_t i = 0; g && i < n; i++)
    al_free(g[i].idx);
  al_free(g);
}

int al_group_by_category(const json_t *cases, al_catgroup **out, size_t *n_out) {
  int rc = 0;
  json_t *index = json_object();
  size_t n = 0, cap = 0, i;
  al_catgroup *g = NULL;
  const json_t *c;
  *out = NULL;
  *n_out = 0;
  if (!index) return AL_ENOMEM;
  json_array_foreach((json_t *)cases, i, c) {
    const char *name = al_jstr(c, "category", "");
    if (!*name) name = "uncategorized";
    json_t *pos = json_object_get(index, name);
    al_catgroup *e;
    if (pos) {
      e = &g[json_integer_value(pos)];
    } else {
      if (n == cap) {
        size_t ncap = cap ? cap * 2 : 8;
        al_catgroup *p = al_realloc(g, ncap * sizeof *p);
        if (!p) goto nomem;
        g = p;
        cap = ncap;
      }
      if (json_object_set_new(index, name, json_integer((json_int_t)n))) goto nomem;
      e = &g[n++];
      *e = (al_catgroup){.name = name};
    }
    /* Capacity is implicit: 4, then doubled each time the count reaches a power of two. */
    if (e->n == 0 || (e->n >= 4 && (e->n & (e->n - 1)) == 0)) {
      size_t ncap = e->n ? e->n * 2 : 4;
      size_t *p = al_realloc(e->idx, ncap * sizeof *p);
      if (!p) goto nomem;
      e->idx = p;
    }
    e->idx[e->n++] = i;
  }
  if (n) qsort(g, n, sizeof *g, cmp_group);
  *out = g;
  *n_out = n;
  g = NULL;
  goto out;
nomem:
  rc = AL_ENOMEM;
out:
  al_catgroups_free(g, n);
  json_decref(index);
  return rc;
}

/* Streaming: hand what is rendered so far to the file. */
static void spill(al_rctx *c) {
  if (!c->file || c->fail || c->store_rc || c->out->len < AL_REPORT_CHUNK) return;
  if (fwrite(c->out->data, 1, c->out->len, c->file) != c->out->len)
    c->store_rc = al_error_set(c->err, AL_EIO, "cannot write the report");
  al_buf_reset(c->out);
}

/* Append v as jansson dumps it, indented for a value nested `depth` levels deep. Raw
 * newlines in jansson's output are only its layout (newlines in strings are escaped). */
static int out_nested(al_rctx *c, const json_t *v, int depth) {
  char *s = json_dumps(v, JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);
  int rc = 0;
  if (!s) return AL_ENOMEM;
  const char *p = s, *nl;
  while (!rc && (nl = strchr(p, '\n'))) {
    rc = al_buf_append(c->out, p, (size_t)(nl + 1 - p));
    for (int i = 0; !rc && i < depth; i++) rc = al_buf_append(c->out, "  ", 2);
    p = nl + 1;
  }
  if (!rc) rc = al_buf_puts(c->out, p);
  free(s);
  if (rc < 0 && !c->fail) c->fail = rc;
  return 0;
}

/* ---- rendering ahead ------------------------------------------------------------------ */

struct al_report_ahead {
  pthread_t th;
  int started, joined;
  char path[4096], run_id[64];
  int with_tokens;
  long long idx;  /* order key of the first case rendered ahead */
  char cid[65];
  FILE *tmp;      /* its text: ",\n    {case}" per case, as al_report_json writes them */
  size_t n;       /* cases written */
  int rc;
  al_error err;
};

static void *ahead_main(void *arg) {
  al_report_ahead *a = arg;
  al_store *s = NULL;
  al_store_cases *cur = NULL;
  al_buf b;
  al_buf_init(&b, AL_REPORT_MAX_BYTES);
  if ((a->rc = al_store_open(a->path, &s, &a->err)) < 0) goto out;
  if ((a->rc = al_store_cases_open_part(s, a->run_id, a->with_tokens, 1, a->idx, a->cid, &cur, &a->err)) < 0)
    goto out;
  for (int got = 1; got;) {
    if ((a->rc = al_store_cases_next_text(cur, &b, ",\n    ", 2, &got, &a->err)) < 0) goto out;
    a->n += (size_t)got;
    if (b.len >= AL_REPORT_CHUNK || (!got && b.len)) {
      if (fwrite(b.data, 1, b.len, a->tmp) != b.len) {
        a->rc = al_error_set(&a->err, AL_EIO, "cannot write the report's part rendered ahead");
        goto out;
      }
      al_buf_reset(&b);
    }
  }
  if (fflush(a->tmp) != 0) a->rc = al_error_set(&a->err, AL_EIO, "cannot write the report's part rendered ahead");
out:
  al_store_cases_close(cur);
  al_store_close(s);
  al_buf_cleanup(&b);
  return NULL;
}

al_report_ahead *al_report_ahead_start(al_store *st, const char *run_id, const char *format,
                                       int with_tokens) {
  al_report_ahead *a = NULL;
  long long n = 0;
  if (!st || !run_id || !format || strcmp(format, "json") != 0 || !al_store_path(st) ||
      !strcmp(al_store_path(st), ":memory:") || strlen(run_id) >= sizeof a->run_id)
    return NULL;
  if (!(a = al_calloc(1, sizeof *a))) return NULL;
  if (al_store_case_split(st, run_id, 2, 5, &a->idx, a->cid, &n, NULL) != 0 || n < AL_REPORT_AHEAD_MIN)
    goto fail;
  snprintf(a->path, sizeof a->path, "%s", al_store_path(st));
  snprintf(a->run_id, sizeof a->run_id, "%s", run_id);
  a->with_tokens = with_tokens;
  if (!(a->tmp = tmpfile())) goto fail;
  if (pthread_create(&a->th, NULL, ahead_main, a) != 0) goto fail;
  a->started = 1;
  return a;
fail:
  if (a->tmp) fclose(a->tmp);
  al_free(a);
  return NULL;
}

static void ahead_join(al_report_ahead *a) {
  if (a && a->started && !a->joined) {
    pthread_join(a->th, NULL);
    a->joined = 1;
  }
}

void al_report_ahead_free(al_report_ahead *a) {
  if (!a) return;
  ahead_join(a);
  if (a->tmp) fclose(a->tmp);
  al_free(a);
}

/* Append what was rendered ahead: the buffer goes out first, then the file's text. */
static int ahead_append(al_rctx *c, size_t *n) {
  al_report_ahead *a = c->ahead;
  ahead_join(a);
  if (a->rc < 0) {
    if (c->err) *c->err = a->err;
    return a->rc;
  }
  if (c->out->len && fwrite(c->out->data, 1, c->out->len, c->file) != c->out->len)
    return al_error_set(c->err, AL_EIO, "cannot write the report");
  al_buf_reset(c->out);
  rewind(a->tmp);
  char chunk[1 << 16];
  size_t k;
  while ((k = fread(chunk, 1, sizeof chunk, a->tmp)) > 0)
    if (fwrite(chunk, 1, k, c->file) != k) return al_error_set(c->err, AL_EIO, "cannot write the report");
  if (ferror(a->tmp)) return al_error_set(c->err, AL_EIO, "cannot read the report's part rendered ahead");
  *n += a->n;
  return 0;
}

int al_report_json(al_rctx *c) {
  json_t *copy = NULL;
  int rc = 0;
  char *s = NULL;
  if (c->store) { /* {"run": ..., "cases": [...], "summary": ...}, one case at a time */
    al_out(c, "{\n  \"run\": ");
    if (out_nested(c, c->run, 1) < 0) goto nomem;
    al_out(c, ",\n  \"cases\": [");
    size_t n = 0;
    int got = 1;
    al_rc_end(c);
    if (c->ahead) /* the first part here, the rest was rendered ahead */
      rc = al_store_cases_open_part(c->store, al_jstr(c->run, "id", ""), c->with_tokens, 0, c->ahead->idx,
                                    c->ahead->cid, &c->cur, c->err);
    else
      rc = al_store_cases_open(c->store, al_jstr(c->run, "id", ""), AL_CASES_ALL, c->with_tokens, &c->cur,
                               c->err);
    if (rc < 0) return rc;
    while (got && !c->fail) { /* each case written as text straight from its row */
      if ((rc = al_store_cases_next_text(c->cur, c->out, n ? ",\n    " : "\n    ", 2, &got,
                                         c->err)) < 0)
        return rc;
      n += (size_t)got;
      spill(c);
      if (c->store_rc) return c->store_rc;
    }
    al_rc_end(c);
    if (c->ahead && !c->fail && (rc = ahead_append(c, &n)) < 0) return rc;
    al_out(c, n ? "\n  ]" : "]");
    al_out(c, ",\n  \"summary\": ");
    if (out_nested(c, c->summary, 1) < 0) goto nomem;
    al_out(c, "\n}\n");
    return 0;
  }
  copy = json_is_object(c->doc) ? json_copy((json_t *)c->doc) : json_object();
  if (!copy || json_object_set(copy, "summary", (json_t *)c->summary) ||
      !(s = json_dumps(copy, JSON_INDENT(2) | JSON_REAL_PRECISION(15)))) {
    rc = al_error_set(c->err, AL_ENOMEM, "cannot encode the run document");
    goto out;
  }
  if (al_buf_puts(c->out, s) < 0 || al_buf_putc(c->out, '\n') < 0)
    rc = al_error_set(c->err, AL_ELIMIT, "report larger than %u bytes", AL_REPORT_MAX_BYTES);
  goto out;
nomem:
  rc = al_error_set(c->err, AL_ENOMEM, "cannot encode the run document");
out:
  free(s);
  json_decref(copy);
  return rc;
}

/* ---- walking the cases --------------------------------------------------------------- */

void al_rc_end(al_rctx *c) {
  al_store_cases_close(c->cur);
  c->cur = NULL;
  json_decref(c->cur_case);
  c->cur_case = NULL;
  al_catgroups_free(c->groups, c->n_groups);
  c->groups = NULL;
  c->n_groups = 0;
}

const json_t *al_rc_next(al_rctx *c) {
  if (!c->store) {
    if (c->groups) { /* by category: the grouping's indexes, group after group */
      while (c->gi < c->n_groups && c->gk >= c->groups[c->gi].n) c->gi++, c->gk = 0;
      if (c->gi >= c->n_groups) return NULL;
      return json_array_get(c->cases, c->groups[c->gi].idx[c->gk++]);
    }
    return c->pos < json_array_size(c->cases) ? json_array_get(c->cases, c->pos++) : NULL;
  }
  json_decref(c->cur_case);
  c->cur_case = NULL;
  spill(c);
  if (!c->cur || c->store_rc || c->fail) return NULL;
  int rc = al_store_cases_next(c->cur, &c->cur_case, c->err);
  if (rc < 0) c->store_rc = rc;
  return c->cur_case;
}

const json_t *al_rc_first(al_rctx *c, int which) {
  al_rc_end(c);
  c->pos = c->gi = c->gk = 0;
  if (!c->store) {
    if (which == AL_CASES_BY_CATEGORY && al_group_by_category(c->cases, &c->groups, &c->n_groups) < 0) {
      if (!c->fail) c->fail = AL_ENOMEM;
      return NULL;
    }
    return al_rc_next(c);
  }
  if (c->store_rc) return NULL;
  int rc = al_store_cases_open(c->store, al_jstr(c->run, "id", ""), which, c->with_tokens, &c->cur,
                               c->err);
  if (rc < 0) {
    c->store_rc = rc;
    return NULL;
  }
  return al_rc_next(c);
}

static int use_color(FILE *out) {
  const char *nc = getenv("NO_COLOR");
  return isatty(fileno(out)) && !(nc && *nc);
}

static int find_renderer(const char *format, int (**fn)(al_rctx *), al_error *err) {
  for (size_t i = 0; i < sizeof renderers / sizeof renderers[0]; i++)
    if (strcmp(format, renderers[i].name) == 0) *fn = renderers[i].fn;
  if (*fn) return 0;
  return al_error_set(err, AL_EINVAL,
                      "unknown report format '%s': expected text, json, junit, sarif or markdown",
                      format);
}

/* Run the renderer over a prepared context and write what is left in its buffer. */
static int render_out(al_rctx *c, int (*fn)(al_rctx *), const char *format, FILE *out, al_error *err) {
  c->color = use_color(out);
  int rc = fn(c);
  al_rc_end(c);
  if (rc < 0) return rc;
  if (c->store_rc) return c->store_rc;
  if (c->fail == AL_ELIMIT)
    return al_error_set(err, AL_ELIMIT, "%s report larger than %u bytes", format, AL_REPORT_MAX_BYTES);
  if (c->fail) return al_error_set(err, c->fail, "cannot render the %s report: %s", format, al_strerror(c->fail));
  if (c->out->len && fwrite(c->out->data, 1, c->out->len, out) != c->out->len)
    return al_error_set(err, AL_EIO, "cannot write the %s report", format);
  if (fflush(out) != 0) return al_error_set(err, AL_EIO, "cannot write the %s report", format);
  return 0;
}

static const char bad_thresholds[] = "run thresholds are malformed: expected default/categories/"
                                     "severities rules with min_pass_rate 0..1 and max_failures >= 0";

int al_report_render(const json_t *run_doc, const char *format, FILE *out, al_error *err) {
  int rc = 0;
  json_t *computed = NULL;
  int (*fn)(al_rctx *) = NULL;
  al_buf b;
  al_buf_init(&b, AL_REPORT_MAX_BYTES);
  if (!run_doc || !format || !out)
    return al_error_set(err, AL_EINVAL, "al_report_render: bad arguments");
  if ((rc = find_renderer(format, &fn, err))) return rc;
  al_rctx c = {.doc = run_doc, .out = &b, .err = err};
  c.run = json_object_get(run_doc, "run");
  c.cases = json_object_get(run_doc, "cases");
  c.summary = json_object_get(run_doc, "summary");
  if (!json_is_object(c.summary)) {
    const json_t *t = json_object_get(c.run, "thresholds");
    if ((rc = al_gate_compute(run_doc, t, &computed)) < 0) {
      rc = rc == AL_EINVAL ? al_error_set(err, rc, "%s", bad_thresholds)
                           : al_error_set(err, rc, "cannot compute the summary");
      goto out;
    }
    c.summary = computed;
  }
  rc = render_out(&c, fn, format, out, err);
out:
  json_decref(computed);
  al_buf_cleanup(&b);
  return rc;
}

int al_report_render_store(al_store *st, const json_t *run, const json_t *summary,
                           int with_tokens, const char *format, FILE *out, al_error *err) {
  return al_report_render_store_ahead(st, run, summary, with_tokens, format, out, NULL, err);
}

int al_report_render_store_ahead(al_store *st, const json_t *run, const json_t *summary,
                                 int with_tokens, const char *format, FILE *out,
                                 al_report_ahead *ahead, al_error *err) {
  int rc = 0;
  json_t *computed = NULL;
  int (*fn)(al_rctx *) = NULL;
  al_buf b;
  al_buf_init(&b, AL_REPORT_MAX_BYTES);
  if (!st || !json_is_object(run) || !format || !out)
    return al_error_set(err, AL_EINVAL, "al_report_render_store: bad arguments");
  if ((rc = find_renderer(format, &fn, err))) return rc;
  al_rctx c = {.run = run, .out = &b, .err = err, .store = st, .file = out, .with_tokens = with_tokens};
  c.summary = summary;
  /* only what it was started for: json, this run, the same token setting */
  if (ahead && !strcmp(format, "json") && !strcmp(ahead->run_id, al_jstr(run, "id", "")) &&
      ahead->with_tokens == with_tokens)
    c.ahead = ahead;
  if (!json_is_object(c.summary)) {
    const json_t *t = json_object_get(run, "thresholds");
    if ((rc = al_gate_compute_store(st, al_jstr(run, "id", ""), t, &computed, err)) < 0) {
      if (rc == AL_EINVAL) al_error_set(err, rc, "%s", bad_thresholds);
      goto out;
    }
    c.summary = computed;
  }
  rc = render_out(&c, fn, format, out, err);
out:
  json_decref(computed);
  al_buf_cleanup(&b);
  return rc;
}
