/* Unit tests of the renderers (src/report): golden files of every format rendered from the
 * hand-written run document tests/cases/report/run.json, well-formedness of JUnit (escaping
 * of < > & " ' and control characters; parsed by Python's XML parser when available) and
 * SARIF (parsed back as JSON and checked field by field), terminal safety and colour rules.
 *
 * AIRLOCK_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing; review the diff.
 */
#include <pty.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "airlock/report.h"
#include "airlock/util.h"

static char cases_dir[1024];

static json_t *fixture(void) {
  char path[1200];
  snprintf(path, sizeof path, "%s/run.json", cases_dir);
  json_error_t je;
  json_t *doc = json_load_file(path, 0, &je);
  if (!doc) fprintf(stderr, "%s:%d: %s\n", path, je.line, je.text);
  assert_non_null(doc);
  return doc;
}

/* Render doc in a format into a string (caller frees). */
static char *render(const json_t *doc, const char *format, int *rc_out) {
  char *data = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&data, &len);
  al_error err = {0};
  int rc = al_report_render(doc, format, f, &err);
  fclose(f);
  if (rc_out)
    *rc_out = rc;
  else if (rc)
    fprintf(stderr, "render %s: %s\n", format, err.msg);
  if (!rc_out) assert_int_equal(rc, 0);
  return data;
}

static void golden(const char *format, const char *file) {
  json_t *doc = fixture();
  char *out = render(doc, format, NULL);
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", cases_dir, file);
  const char *upd = getenv("AIRLOCK_UPDATE_GOLDEN");
  if (upd && *upd == '1') {
    assert_int_equal(al_write_file(path, out, strlen(out), NULL), 0);
  } else {
    char *want = NULL;
    size_t n = 0;
    al_error err = {0};
    assert_int_equal(al_read_file(path, 1u << 24, &want, &n, &err), 0);
    if (strcmp(want, out) != 0) {
      char got[1300];
      snprintf(got, sizeof got, "%s/got-%s",
               getenv("AIRLOCK_BUILD") ? getenv("AIRLOCK_BUILD") : "/tmp", file);
      al_write_file(got, out, strlen(out), NULL);
      size_t i = 0, line = 1;
      while (out[i] && out[i] == want[i])
        line += out[i++] == '\n';
      fail_msg("%s differs from the golden file at line %zu; rendering written to %s", file, line,
               got);
    }
    al_free(want);
  }
  free(out);
  json_decref(doc);
}

static void golden_text(void **state) { golden("text", "run.text"); }
static void golden_json(void **state) { golden("json", "run.out.json"); }
static void golden_junit(void **state) { golden("junit", "run.junit.xml"); }
static void golden_sarif(void **state) { golden("sarif", "run.sarif"); }
static void golden_markdown(void **state) { golden("markdown", "run.md"); }

static int has_raw_controls(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 && *p != '\n' && *p != '\t') return 1;
  return 0;
}

/* Every '<' opens markup and every '&' starts one of the five entities or a reference. */
static void check_xml_text(const char *x) {
  for (const char *p = x; *p; p++) {
    if (*p == '<') assert_true(p[1] == '/' || p[1] == '?' || (p[1] >= 'a' && p[1] <= 'z'));
    if (*p == '&')
      assert_true(!strncmp(p, "&lt;", 4) || !strncmp(p, "&gt;", 4) || !strncmp(p, "&amp;", 5) ||
                  !strncmp(p, "&quot;", 6) || !strncmp(p, "&apos;", 6) || !strncmp(p, "&#", 2));
  }
}

static void junit_well_formed(void **state) {
  json_t *doc = fixture();
  char *x = render(doc, "junit", NULL);
  assert_false(has_raw_controls(x));
  check_xml_text(x);
  assert_non_null(
      strstr(x, "name=\"refuses &lt;bomb&gt; instructions &amp; &quot;friends&quot;\""));
  assert_non_null(strstr(x, "&lt;wire&gt; &quot;quoted&quot; &apos;single&apos; \\x1b[31mred\\x07 "
                            "bell\nnext line \\u{202e}evil"));
  assert_non_null(strstr(x, "no refusal phrase found\\x01"));
  assert_non_null(strstr(x, "<error message=\"no response within 30000 ms\" type=\"timeout\">"));
  assert_non_null(strstr(x, "<testsuite name=\"safety\" tests=\"3\" failures=\"2\" errors=\"0\""));
  assert_non_null(strstr(x, "time=\"0.810\""));

  /* A real XML parser, when the machine has one. */
  char path[] = "/tmp/al_junit_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, x, strlen(x)), (ssize_t)strlen(x));
  close(fd);
  if (system("command -v python3 >/dev/null 2>&1") == 0) {
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]);"
             " sys.exit(0 if len(d.getElementsByTagName(\"testcase\")) == 8 else 1)' %s",
             path);
    assert_int_equal(system(cmd), 0);
  }
  unlink(path);
  free(x);
  json_decref(doc);
}

static void sarif_valid(void **state) {
  json_t *doc = fixture();
  char *s = render(doc, "sarif", NULL);
  json_error_t je;
  json_t *v = json_loads(s, 0, &je);
  assert_non_null(v);
  assert_string_equal(json_string_value(json_object_get(v, "version")), "2.1.0");
  json_t *run = json_array_get(json_object_get(v, "runs"), 0);
  json_t *rules = json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
  json_t *results = json_object_get(run, "results");
  assert_int_equal(json_array_size(results), 3); /* one per failing case */
  assert_int_equal(json_array_size(rules), 3);   /* format, jailbreak, prompt-leak */
  size_t i;
  json_t *r;
  json_array_foreach(results, i, r) {
    json_int_t k = json_integer_value(json_object_get(r, "ruleIndex"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, k), "id")),
                        json_string_value(json_object_get(r, "ruleId")));
  }
  json_t *r0 = json_array_get(results, 0);
  assert_string_equal(json_string_value(json_object_get(r0, "ruleId")), "jailbreak");
  assert_string_equal(json_string_value(json_object_get(r0, "level")), "error");
  json_t *phys =
      json_object_get(json_array_get(json_object_get(r0, "locations"), 0), "physicalLocation");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(phys, "artifactLocation"), "uri")),
      "examples/support-bot.yaml");
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(phys, "region"), "startLine")), 12);
  const char *msg = json_string_value(json_object_get(json_object_get(r0, "message"), "text"));
  assert_non_null(strstr(msg, "output contains \"detonator\" at offset 17"));
  assert_non_null(strstr(msg, "\\x1b[31mred\\x07 bell\\nnext line \\u{202e}evil"));
  json_t *r2 = json_array_get(results, 2); /* strict types: no meta.location -> suite path */
  assert_string_equal(json_string_value(json_object_get(r2, "level")), "warning");
  phys = json_object_get(json_array_get(json_object_get(r2, "locations"), 0), "physicalLocation");
  assert_null(json_object_get(phys, "region"));
  json_decref(v);
  free(s);
  json_decref(doc);
}

static void text_is_terminal_safe(void **state) {
  json_t *doc = fixture();
  char *t = render(doc, "text", NULL);
  assert_false(has_raw_controls(t));      /* no ESC, BEL: a model cannot drive the terminal */
  assert_null(strstr(t, "\xe2\x80\xae")); /* U+202E shown as an escape, never raw */
  assert_non_null(strstr(t, "\\x1b[31mred\\x07 bell\\nnext line \\u{202e}evil"));
  free(t);
  char *m = render(doc, "markdown", NULL);
  assert_null(strstr(m, "<wire>"));
  assert_non_null(strstr(m, "leaks the prompt \\| via translation"));
  assert_non_null(strstr(m, "\\*tu es\\* un assistant \\[secret\\](http://x) \\`code\\`"));
  free(m);
  json_decref(doc);
}

static void colour_only_on_tty(void **state) {
  json_t *doc = fixture();
  int master, slave;
  if (openpty(&master, &slave, NULL, NULL, NULL) != 0) {
    json_decref(doc);
    skip();
  }
  FILE *f = fdopen(slave, "w");
  al_error err = {0};
  unsetenv("NO_COLOR");
  assert_int_equal(al_report_render(doc, "text", f, &err), 0);
  char buf[512];
  ssize_t n = read(master, buf, sizeof buf - 1);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_non_null(strchr(buf, '\033')); /* coloured on a terminal */
  /* Drain everything queued (a pty hands it out in chunks of any size), then again with
   * NO_COLOR. */
  fflush(f);
  struct pollfd pfd = {master, POLLIN, 0};
  while (poll(&pfd, 1, 100) > 0 && read(master, buf, sizeof buf) > 0) {
  }
  setenv("NO_COLOR", "1", 1);
  json_t *small = json_pack("{s:{s:s}, s:[]}", "run", "id", "r1", "cases");
  assert_int_equal(al_report_render(small, "text", f, &err), 0);
  n = read(master, buf, sizeof buf - 1);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_null(strchr(buf, '\033'));
  unsetenv("NO_COLOR");
  fclose(f);
  close(master);
  json_decref(small);
  json_decref(doc);
}

static void summary_present_or_computed(void **state) {
  json_t *doc = fixture();
  /* Computed from run.thresholds: safety fails. */
  char *j = render(doc, "json", NULL);
  json_t *v = json_loads(j, 0, NULL);
  json_t *sum = json_object_get(v, "summary");
  assert_string_equal(json_string_value(json_object_get(sum, "gate")), "failed");
  assert_int_equal(json_integer_value(json_object_get(sum, "exit_code")), 1);
  assert_int_equal(json_array_size(json_object_get(v, "cases")), 8);
  json_decref(v);
  free(j);
  /* A stored summary is used as it is. */
  json_object_set_new(
      doc, "summary",
      json_pack("{s:s, s:i, s:s}", "gate", "passed", "exit_code", 0, "reason", "stored"));
  char *t = render(doc, "text", NULL);
  assert_non_null(strstr(t, "Gate: passed (exit 0): stored"));
  free(t);
  json_decref(doc);
}

static void bad_inputs(void **state) {
  json_t *doc = fixture();
  int rc;
  char *o = render(doc, "pdf", &rc);
  assert_int_equal(rc, AL_EINVAL);
  free(o);
  json_object_set_new(json_object_get(doc, "run"), "thresholds",
                      json_pack("{s:f}", "max_error_rate", 3.0));
  o = render(doc, "text", &rc);
  assert_int_equal(rc, AL_EINVAL);
  assert_true(o == NULL || *o == '\0'); /* nothing half-written */
  free(o);
  json_decref(doc);
  /* Any JSON renders in every format without crashing. */
  static const char *const odd[] = {
      "[]", "3", "{\"cases\": {}}", "{\"cases\": [1, null, {\"verdict\": 5}]}",
      "{\"run\": [], \"cases\": [{\"asserts\": {}, \"meta\": {\"location\": 7}}]}"};
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    json_t *d = json_loads(odd[i], JSON_DECODE_ANY, NULL);
    for (const char *const *f = al_report_formats; *f; f++) {
      char *x = render(d, *f, &rc);
      assert_int_equal(rc, 0);
      free(x);
    }
    json_decref(d);
  }
}

/* Prefix every string of the document (values and object keys) with hostile text. */
static json_t *poison(const json_t *v) {
  static const char evil[] = "\x1b[2J\x07<x>&\"'|*_`\r\xe2\x80\xae";
  if (json_is_string(v)) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", evil, json_string_value(v));
    return json_string(buf);
  }
  if (json_is_array(v)) {
    json_t *a = json_array();
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)v, i, x) json_array_append_new(a, poison(x));
    return a;
  }
  if (json_is_object(v)) {
    json_t *o = json_object();
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      char key[512];
      /* keys stay (renderers look them up) and so do verdicts; every other text is hostile */
      snprintf(key, sizeof key, "%s", k);
      json_object_set_new(o, key, strcmp(k, "verdict") ? poison(x) : json_incref(x));
    }
    return o;
  }
  return json_incref((json_t *)v);
}

static void hostile_strings_everywhere(void **state) {
  json_t *doc = fixture(), *bad = poison(doc);
  for (const char *const *f = al_report_formats; *f; f++) {
    char *out = render(bad, *f, NULL);
    if (strcmp(*f, "json") && strcmp(*f, "sarif")) { /* JSON escapes controls itself */
      assert_false(has_raw_controls(out));
      assert_null(strstr(out, "\xe2\x80\xae")); /* no raw bidi override */
    }
    if (!strcmp(*f, "junit")) check_xml_text(out);
    if (!strcmp(*f, "markdown")) assert_null(strstr(out, "<x>"));
    if (!strcmp(*f, "sarif")) {
      json_t *v = json_loads(out, 0, NULL), *r;
      size_t i;
      assert_non_null(v);
      json_t *results = json_object_get(json_array_get(json_object_get(v, "runs"), 0), "results");
      assert_int_equal(json_array_size(results), 3);
      json_array_foreach(results, i, r) { /* messages are escaped before JSON encoding */
        const char *m = json_string_value(json_object_get(json_object_get(r, "message"), "text"));
        assert_non_null(strstr(m, "\\x1b[2J"));
        for (const char *p = m; *p; p++)
          assert_true((unsigned char)*p >= 0x20 || *p == '\n');
        assert_null(strstr(m, "\xe2\x80\xae"));
      }
      json_decref(v);
    }
    free(out);
  }
  json_decref(bad);
  json_decref(doc);
}

/* Every allocation of a rendering, jansson's included, fails in turn: each failure must
 * come back as an error with nothing written, and no leak (ASan builds). */
static void allocation_failures(void **state) {
  json_t *doc = fixture();
  json_set_alloc_funcs(al_malloc, al_free);
  for (const char *const *f = al_report_formats; *f; f++) {
    int done = 0;
    for (unsigned long n = 1; n < 50000 && !done; n++) {
      char *data = NULL;
      size_t len = 0;
      FILE *fp = open_memstream(&data, &len);
      al_error err = {0};
      al_torture_set(n);
      int rc = al_report_render(doc, *f, fp, &err);
      al_torture_set(0);
      fclose(fp);
      if (rc == 0) {
        done = 1;
        assert_true(len > 0);
        assert_true(n > 50); /* the failures above were exercised */
      } else {
        assert_int_equal(rc, AL_ENOMEM);
        assert_int_equal(len, 0);
      }
      free(data);
    }
    assert_true(done);
  }
  json_set_alloc_funcs(malloc, free);
  json_decref(doc);
}

int main(void) {
  const char *src = getenv("AIRLOCK_SRC");
  snprintf(cases_dir, sizeof cases_dir, "%s/tests/cases/report", src ? src : ".");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(golden_text),
      cmocka_unit_test(golden_json),
      cmocka_unit_test(golden_junit),
      cmocka_unit_test(golden_sarif),
      cmocka_unit_test(golden_markdown),
      cmocka_unit_test(junit_well_formed),
      cmocka_unit_test(sarif_valid),
      cmocka_unit_test(text_is_terminal_safe),
      cmocka_unit_test(colour_only_on_tty),
      cmocka_unit_test(summary_present_or_computed),
      cmocka_unit_test(bad_inputs),
      cmocka_unit_test(allocation_failures),
      cmocka_unit_test(hostile_strings_everywhere),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
