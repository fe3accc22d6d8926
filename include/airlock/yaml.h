/* YAML documents as located JSON.
 *
 * libfyaml parses the file; the tree is turned into jansson values (plain scalars resolved
 * to null/bool/int/real per YAML 1.2 core schema, quoted scalars kept as strings) and every
 * node, object member and array item keeps its line and column in a side table, so that a
 * loader can work with jansson's API and still say "file:line:col: expected ..." about any
 * value. Anchors and aliases are resolved; duplicate keys are errors.
 */
#ifndef AIRLOCK_YAML_H
#define AIRLOCK_YAML_H

#include <jansson.h>

#include "airlock/error.h"

typedef struct al_ydoc al_ydoc;

int al_ydoc_load_file(const char *path, al_ydoc **out, al_error *err);
int al_ydoc_load_text(const char *text, size_t len, const char *name, al_ydoc **out, al_error *err);
void al_ydoc_free(al_ydoc *d);
json_t *al_ydoc_root(const al_ydoc *d);     /* borrowed */
const char *al_ydoc_name(const al_ydoc *d); /* file name used in errors */

/* Location of a container node, of an object member (its key), of an array item. Missing
 * entries fall back to the nearest known location (line 0 when none). */
void al_ydoc_loc(const al_ydoc *d, const json_t *node, int *line, int *col);
void al_ydoc_loc_member(const al_ydoc *d, const json_t *obj, const char *key, int *line, int *col);
void al_ydoc_loc_item(const al_ydoc *d, const json_t *arr, size_t i, int *line, int *col);

/* Errors located at a node / member / item. Return code. */
int al_ydoc_err(const al_ydoc *d, al_error *e, const json_t *node, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int al_ydoc_err_member(const al_ydoc *d, al_error *e, const json_t *obj, const char *key, int code,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int al_ydoc_err_item(const al_ydoc *d, al_error *e, const json_t *arr, size_t i, int code,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Reject keys of obj not in the NULL-terminated list `allowed`: "unknown key 'x' (expected
 * one of: a, b, c)". */
int al_ydoc_check_keys(const al_ydoc *d, al_error *e, const json_t *obj, const char *what,
                       const char *const *allowed);

/* Typed getters for optional members: return 0 if absent (out untouched), 1 if present and
 * of the right type, or a negative code with *e filled when of the wrong type. */
int al_ydoc_get_str(const al_ydoc *d, al_error *e, const json_t *obj, const char *key,
                    const char **out);
int al_ydoc_get_int(const al_ydoc *d, al_error *e, const json_t *obj, const char *key,
                    long long min, long long max, long long *out);
int al_ydoc_get_num(const al_ydoc *d, al_error *e, const json_t *obj, const char *key,
                    double min, double max, double *out);
int al_ydoc_get_bool(const al_ydoc *d, al_error *e, const json_t *obj, const char *key, int *out);
/* Durations: a number of milliseconds, or a string "250ms", "30s", "2m". */
int al_ydoc_get_ms(const al_ydoc *d, al_error *e, const json_t *obj, const char *key,
                   long long *out_ms);

#endif
