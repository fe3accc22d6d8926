/* Differential check of the guard's JSON fast path against its jansson path (see
 * guard_jfast_diff.h). Each run writes what a caller could observe into a text: return
 * codes, error sentences, model, stream, n, every slot (where, length, bytes), the input
 * verdict and findings, the body that would go upstream, the tree's dump; for answers the
 * verdict, reason, rewritten body and findings. The two texts must be equal byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/util.h"
#include "guard_jfast_diff.h"

static int observe_request(const al_guard_policy *p, al_scanner *in, int route, const char *data,
                           size_t size, al_buf *o) {
  greq r;
  char why[256] = "";
  gmap m = {0};
  gfinds all = {0};
  int rc = al_guard_request_parse(route, data, size, &r, why, sizeof why);
  al_buf_printf(o, "route %d parse %d why %s\n", route, rc, rc ? why : "");
  if (rc) goto out;
  int fast = r.root == NULL;
  al_buf_printf(o, "model %s stream %d n %d %lld slots %zu\n", r.model, r.stream, r.has_n, r.n_value, r.n);
  for (size_t i = 0; i < r.n; i++) {
    al_buf_printf(o, "slot %s %zu:", r.slots[i].where, r.slots[i].len);
    al_buf_append(o, r.slots[i].text, r.slots[i].len);
    al_buf_putc(o, '\n');
  }
  const gfind *blocked = NULL;
  const char *where = NULL;
  int changed = 0;
  int irc = al_guard_input(&p->in, in, &r, &m, &all, &blocked, &where, &changed, NULL);
  al_buf_printf(o, "input %d changed %d blocked %s at %s finds %zu map %zu\n", irc, changed,
                blocked ? blocked->detector : "-", where ? where : "-", all.n, m.n);
  for (size_t i = 0; i < all.n; i++)
    al_buf_printf(o, "find %s %llu-%llu %d\n", all.v[i].detector, (unsigned long long)all.v[i].start,
                  (unsigned long long)all.v[i].end, (int)all.v[i].action);
  if (!irc && !blocked) {
    char *up = changed ? json_dumps(r.root, JSON_COMPACT) : NULL;
    al_buf_printf(o, "upstream %s\n", changed ? (up ? up : "(oom)") : "(as sent)");
    free(up);
  }
  if (fast && !changed) rc = 2; /* answered by the fast path alone */
  int trc = al_guard_request_tree(&r);
  char *dump = trc ? NULL : json_dumps(r.root, JSON_COMPACT | JSON_SORT_KEYS);
  al_buf_printf(o, "tree %d %s model %s\n", trc, dump ? dump : "-", r.model);
  free(dump);
  al_guard_request_cleanup(&r);
out:
  al_gmap_cleanup(&m);
  al_gfinds_cleanup(&all);
  return rc;
}

static int observe_answer(const al_guard_policy *p, al_scanner *out, int route, const char *data,
                          size_t size, al_buf *o) {
  gmap m = {0};
  gfinds all = {0};
  gfind g = {0, 8, "pii.ipv4", G_REDACT, 1};
  al_buf tmp;
  al_buf_init(&tmp, 1024);
  al_gfinds_push(&all, &g);
  al_guard_redact("10.1.2.3", 8, 0, &all, &m, &tmp); /* registers [IPV4_1], restorable */
  al_buf_cleanup(&tmp);
  gout_result res;
  char *body = NULL;
  size_t len = 0;
  int rc = al_guard_output(&p->out, out, route, data, size, &m, &all, &res, &body, &len, NULL);
  al_buf_printf(o, "answer %d rc %d verdict %d unchanged %d detector %s why %s finds %zu body %zu:", route, rc,
                (int)res.verdict, res.unchanged, res.detector ? res.detector : "-", res.why, all.n, body ? len : 0);
  if (body) al_buf_append(o, body, len);
  al_buf_putc(o, '\n');
  free(body);
  al_gmap_cleanup(&m);
  al_gfinds_cleanup(&all);
  return rc;
}

int al_test_jfast_diff(const al_guard_policy *p, al_scanner *in, al_scanner *out, const char *data,
                       size_t size, char *why, size_t wl, int *fast_taken) {
  al_buf a, b;
  int rc = 0, was = al_gfast_enabled();
  al_buf_init(&a, 1u << 26);
  al_buf_init(&b, 1u << 26);
  for (int route = G_ROUTE_CHAT; route <= G_ROUTE_COMPLETIONS; route++) {
    al_gfast_enable(1);
    if (observe_request(p, in, route, data, size, &a) == 2 && fast_taken) ++*fast_taken;
    observe_answer(p, out, route, data, size, &a);
    al_gfast_enable(0);
    observe_request(p, in, route, data, size, &b);
    observe_answer(p, out, route, data, size, &b);
  }
  al_gfast_enable(was);
  if (a.len != b.len || memcmp(a.data, b.data, a.len)) {
    size_t i = 0;
    while (i < a.len && i < b.len && a.data[i] == b.data[i]) i++;
    size_t from = i > 60 ? i - 60 : 0;
    snprintf(why, wl, "fast path differs at byte %zu: fast \"%.*s\" jansson \"%.*s\"", i,
             (int)((a.len < i + 60 ? a.len : i + 60) - from), a.data + from,
             (int)((b.len < i + 60 ? b.len : i + 60) - from), b.data + from);
    rc = 1;
  }
  al_buf_cleanup(&a);
  al_buf_cleanup(&b);
  return rc;
}
