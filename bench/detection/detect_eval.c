/* bench/detection: precision, recall and F-scores of the detectors on labelled dev data in
 * ../shared/data (AIRLOCK_SHARED).
 *
 *   detect_eval [SHARED_DIR]
 *
 * The benchmark is a table of rows (dataset, reader, detectors): a reader turns a data
 * file into items (text + gold spans with labels, or text + a document label); the row
 * says which detectors answer for which label. Span rows score per label with overlap
 * matching (a gold span is found when a finding of a mapped detector overlaps it; a
 * finding is right when it overlaps a gold span of the label it is mapped to). Document
 * rows (for classifiers: refusal, toxicity, injection) score "any finding of the
 * detector" against the document label. Prints markdown tables (bench/detection/README.md).
 * To add a row: write a reader (or reuse one) and append to `rows`. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/scan.h"
#include "airlock/util.h"

typedef struct gold {
  const char *label; /* borrowed from the JSON document */
  size_t start, end; /* bytes */
} gold;

typedef struct item {
  const char *text;
  size_t len;
  gold *g;
  size_t n_g;
  int doc_label; /* document rows: 1 positive, 0 negative */
} item;

typedef struct dataset {
  json_t *root; /* owns the strings */
  item *items;
  size_t n;
} dataset;

typedef int (*reader_fn)(const char *path, dataset *out);

/* label -> detector names (NULL-terminated) */
typedef struct label_map {
  const char *label;
  const char *detectors[4];
} label_map;

typedef struct row {
  const char *name;
  const char *file; /* under SHARED_DIR/data */
  reader_fn reader;
  bool spans;       /* span row (else document row) */
  label_map map[12];
} row;

/* ---- readers ---- */

/* Byte offset of code point cp in UTF-8 text s (len bytes). */
static size_t cp_to_byte(const char *s, size_t len, size_t cp) {
  size_t b = 0, k = 0;
  while (b < len && k < cp) {
    unsigned char c = (unsigned char)s[b];
    b += c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    k++;
  }
  return b > len ? len : b;
}

/* presidio-research synth_dataset_v2.json: [{full_text, spans:[{entity_type,
 * start_position, end_position}]}], offsets in code points */
static int read_presidio(const char *path, dataset *out) {
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!json_is_array(root)) {
    fprintf(stderr, "%s:%d: %s\n", path, je.line, je.text);
    json_decref(root);
    return AL_EPARSE;
  }
  out->root = root;
  out->n = json_array_size(root);
  out->items = calloc(out->n, sizeof *out->items);
  for (size_t i = 0; i < out->n; i++) {
    json_t *r = json_array_get(root, i);
    item *it = &out->items[i];
    it->text = json_string_value(json_object_get(r, "full_text"));
    it->len = json_string_length(json_object_get(r, "full_text"));
    json_t *sp = json_object_get(r, "spans");
    it->n_g = json_array_size(sp);
    it->g = calloc(it->n_g ? it->n_g : 1, sizeof *it->g);
    for (size_t k = 0; k < it->n_g; k++) {
      json_t *s = json_array_get(sp, k);
      it->g[k].label = json_string_value(json_object_get(s, "entity_type"));
      size_t a = (size_t)json_integer_value(json_object_get(s, "start_position"));
      size_t b = (size_t)json_integer_value(json_object_get(s, "end_position"));
      it->g[k].start = cp_to_byte(it->text, it->len, a);
      it->g[k].end = cp_to_byte(it->text, it->len, b);
    }
  }
  return 0;
}

static void dataset_free(dataset *d) {
  for (size_t i = 0; i < d->n; i++) free(d->items[i].g);
  free(d->items);
  json_decref(d->root);
}

/* ---- the table ---- */
static const row rows[] = {
    {"presidio-synthetic", "pii-presidio-synthetic/synth_dataset_v2.json", read_presidio, true,
     {{"CREDIT_CARD", {"pii.credit_card"}},
      {"EMAIL_ADDRESS", {"pii.email"}},
      {"PHONE_NUMBER", {"pii.phone"}},
      {"US_SSN", {"pii.ssn"}},
      {"IBAN_CODE", {"pii.iban"}},
      {"IP_ADDRESS", {"pii.ipv4", "pii.ipv6"}}}},
    /* classify adds document rows here, e.g.
     * {"xstest-refusal", "refusal-xstest/...", read_xstest, false, {{"refusal", {"refusal"}}}}, */
};

/* ---- scoring ---- */
typedef struct fnd {
  char det[48];
  size_t start, end;
} fnd;

typedef struct flist {
  fnd *v;
  size_t n, cap;
} flist;

static int collect(const al_finding *f, void *ud) {
  flist *l = ud;
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 16;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
  }
  snprintf(l->v[l->n].det, sizeof l->v[l->n].det, "%s", f->detector);
  l->v[l->n].start = (size_t)f->start;
  l->v[l->n].end = (size_t)f->end;
  l->n++;
  return 0;
}

static bool mapped(const label_map *m, const char *det) {
  for (int k = 0; k < 4 && m->detectors[k]; k++)
    if (!strcmp(m->detectors[k], det)) return true;
  return false;
}

static double fbeta(double p, double r, double b) {
  return p + r > 0 ? (1 + b * b) * p * r / (b * b * p + r) : 0.0;
}

static int run_span_row(const row *rw, const dataset *ds) {
  const char *dets[32];
  size_t nd = 0;
  size_t nl = 0;
  while (nl < 12 && rw->map[nl].label) nl++;
  for (size_t i = 0; i < nl; i++)
    for (int k = 0; k < 4 && rw->map[i].detectors[k]; k++) dets[nd++] = rw->map[i].detectors[k];
  al_scan_config cfg = {0}; /* every default detector runs: stray findings are counted */
  al_scan_db *db = NULL;
  al_scanner *sc = NULL;
  al_error err = {0};
  if (al_scan_db_new(&cfg, &db, &err) || al_scanner_new(db, &sc)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  size_t gold_n[12] = {0}, gold_hit[12] = {0}, pred_n[12] = {0}, pred_hit[12] = {0};
  size_t unmapped = 0, total_gold = 0;
  for (size_t i = 0; i < ds->n; i++) {
    const item *it = &ds->items[i];
    if (!it->text) continue;
    flist fl = {0};
    al_scan(sc, it->text, it->len, collect, &fl);
    total_gold += it->n_g;
    for (size_t l = 0; l < nl; l++) {
      for (size_t g = 0; g < it->n_g; g++) {
        if (strcmp(it->g[g].label, rw->map[l].label)) continue;
        gold_n[l]++;
        for (size_t f = 0; f < fl.n; f++)
          if (mapped(&rw->map[l], fl.v[f].det) && fl.v[f].start < it->g[g].end &&
              it->g[g].start < fl.v[f].end) {
            gold_hit[l]++;
            break;
          }
      }
      for (size_t f = 0; f < fl.n; f++) {
        if (!mapped(&rw->map[l], fl.v[f].det)) continue;
        pred_n[l]++;
        for (size_t g = 0; g < it->n_g; g++)
          if (!strcmp(it->g[g].label, rw->map[l].label) && fl.v[f].start < it->g[g].end &&
              it->g[g].start < fl.v[f].end) {
            pred_hit[l]++;
            break;
          }
      }
    }
    for (size_t f = 0; f < fl.n; f++) {
      bool any = false;
      for (size_t l = 0; l < nl; l++) any = any || mapped(&rw->map[l], fl.v[f].det);
      if (!any) {
        unmapped++;
        fprintf(stderr, "# unmapped %s finding: %.*s\n", fl.v[f].det,
                (int)(fl.v[f].end - fl.v[f].start), it->text + fl.v[f].start);
      }
    }
    free(fl.v);
  }
  printf("### %s (%zu texts, %zu gold spans)\n\n", rw->name, ds->n, total_gold);
  printf("| label | detectors | gold | found | predicted | correct | recall | precision | F1 | F2 |\n");
  printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  size_t G = 0, GH = 0, P = 0, PH = 0;
  for (size_t l = 0; l < nl; l++) {
    double r = gold_n[l] ? (double)gold_hit[l] / gold_n[l] : 1, p = pred_n[l] ? (double)pred_hit[l] / pred_n[l] : 1;
    char dl[128] = "";
    for (int k = 0; k < 4 && rw->map[l].detectors[k]; k++)
      snprintf(dl + strlen(dl), sizeof dl - strlen(dl), "%s%s", k ? ", " : "", rw->map[l].detectors[k]);
    printf("| %s | %s | %zu | %zu | %zu | %zu | %.3f | %.3f | %.3f | %.3f |\n", rw->map[l].label, dl,
           gold_n[l], gold_hit[l], pred_n[l], pred_hit[l], r, p, fbeta(p, r, 1), fbeta(p, r, 2));
    G += gold_n[l];
    GH += gold_hit[l];
    P += pred_n[l];
    PH += pred_hit[l];
  }
  double r = G ? (double)GH / G : 1, p = P ? (double)PH / P : 1;
  printf("| **all mapped** | | %zu | %zu | %zu | %zu | %.3f | %.3f | %.3f | %.3f |\n\n", G, GH, P, PH,
         r, p, fbeta(p, r, 1), fbeta(p, r, 2));
  printf("Findings of detectors without a label in this data set: %zu.\n\n", unmapped);
  (void)dets;
  al_scanner_free(sc);
  al_scan_db_free(db);
  return 0;
}

int main(int argc, char **argv) {
  const char *shared = argc > 1 ? argv[1] : getenv("AIRLOCK_SHARED");
  if (!shared) shared = "../shared";
  int rc = 0;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    char path[2048];
    snprintf(path, sizeof path, "%s/data/%s", shared, rows[i].file);
    dataset ds = {0};
    if (rows[i].reader(path, &ds)) {
      rc = 1;
      continue;
    }
    if (rows[i].spans) rc |= run_span_row(&rows[i], &ds);
    dataset_free(&ds);
  }
  return rc;
}
