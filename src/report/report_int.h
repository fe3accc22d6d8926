/* Internals shared by the renderers of src/report. Not a public header.
 *
 * A renderer appends its whole output to ctx->out (a bounded buffer); render.c writes the
 * buffer to the caller's FILE once, so a renderer never does I/O and a failure never
 * leaves half a report. Field access goes through the al_j* getters, which answer the
 * default for a missing or mistyped field: renderers accept any JSON.
 */
#ifndef AL_REPORT_INT_H
#define AL_REPORT_INT_H

#include <jansson.h>

#include "airlock/buf.h"
#include "airlock/error.h"
#include "airlock/store.h"
#include "report/escape.h"
#include "report/limits.h"

/* Case indexes grouped by category (sorted by name, cases in document order;
 * al_group_by_category). */
typedef struct al_catgroup {
  const char *name;
  size_t *idx;
  size_t n;
} al_catgroup;

typedef struct al_rctx {
  const json_t *doc;     /* the run document (NULL when streaming from the store) */
  const json_t *run;     /* doc.run (an object, maybe empty) */
  const json_t *cases;   /* doc.cases (an array, maybe empty; NULL when streaming) */
  const json_t *summary; /* doc.summary or the one computed for this rendering */
  al_buf *out;
  int color;
  int fail; /* first failed append: AL_ELIMIT (past AL_REPORT_MAX_BYTES) or AL_ENOMEM */
  al_error *err;
  /* Streaming (al_report_render_store): cases come from the store one at a time and the
   * output goes to `file` whenever the buffer passes AL_REPORT_CHUNK. */
  al_store *store;
  FILE *file;
  int store_rc;         /* first error of the store or of a write (message in err) */
  int with_tokens;      /* cases carry their tokens */
  al_store_cases *cur;  /* the open cursor */
  json_t *cur_case;     /* the case it returned last (owned) */
  size_t pos;           /* document mode: next position */
  al_catgroup *groups;  /* document mode, AL_CASES_BY_CATEGORY: the grouping walked */
  size_t n_groups, gi, gk;
  struct al_report_ahead *ahead; /* json: the cases from its key on, rendered ahead */
} al_rctx;

/* The cases of the run one at a time, from the document or streamed from the store:
 * `which` is an al_cases_which. AL_CASES_FAIL / NOT_PASS / FAMILY only narrow what the store
 * reads: in document mode every case comes back, so callers keep their own checks.
 * AL_CASES_BY_CATEGORY orders by category name ("uncategorized" for none), then document
 * order. A returned case is valid until the next call. al_rc_first ends any walk in
 * progress; al_rc_end ends it early. */
const json_t *al_rc_first(al_rctx *c, int which);
const json_t *al_rc_next(al_rctx *c);
void al_rc_end(al_rctx *c);

/* Appends that remember failure in c->fail instead of returning it. */
void al_out(al_rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum { AL_ESC_TERM, AL_ESC_XML_TEXT, AL_ESC_XML_ATTR, AL_ESC_MD };
void al_out_esc(al_rctx *c, int kind, const char *s, size_t n);
void al_out_escs(al_rctx *c, int kind, const char *s); /* NUL-terminated; NULL writes nothing */

int al_report_text(al_rctx *c);
int al_report_json(al_rctx *c);
int al_report_junit(al_rctx *c);
int al_report_sarif(al_rctx *c);
int al_report_markdown(al_rctx *c);

const char *al_jstr(const json_t *o, const char *key, const char *def);
double al_jnum(const json_t *o, const char *key, double def);
long long al_jint(const json_t *o, const char *key, long long def);
int al_jtrue(const json_t *o, const char *key);
double al_round(double v, int decimals);

/* Where a case comes from in the suite: meta.location {file, line} or the suite path with
 * line 0. file is "" when neither is known. */
void al_case_location(const json_t *run, const json_t *c, const char **file, long *line);
/* The first `max` bytes of a case's output, cut on a character boundary; *more says
 * whether there was more. */
const char *al_case_excerpt(const json_t *c, size_t max, size_t *len, int *more);
int al_group_by_category(const json_t *cases, al_catgroup **out, size_t *n);
void al_catgroups_free(al_catgroup *g, size_t n);
/* Percent text of a rate, "-" for null. */
const char *al_pct(char *out, size_t n, const json_t *rate);

#endif
