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
#include "report/escape.h"
#include "report/limits.h"

typedef struct al_rctx {
  const json_t *doc;     /* the run document */
  const json_t *run;     /* doc.run (an object, maybe empty) */
  const json_t *cases;   /* doc.cases (an array, maybe empty) */
  const json_t *summary; /* doc.summary or the one computed for this rendering */
  al_buf *out;
  int color;
  int fail; /* first failed append: AL_ELIMIT (past AL_REPORT_MAX_BYTES) or AL_ENOMEM */
  al_error *err;
} al_rctx;

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
/* Case indexes grouped by category (sorted by name, cases in document order). */
typedef struct al_catgroup {
  const char *name;
  size_t *idx;
  size_t n;
} al_catgroup;
int al_group_by_category(const json_t *cases, al_catgroup **out, size_t *n);
void al_catgroups_free(al_catgroup *g, size_t n);
/* Percent text of a rate, "-" for null. */
const char *al_pct(char *out, size_t n, const json_t *rate);

#endif
