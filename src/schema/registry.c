/* A registry of schema documents by URI, for `$ref`s that leave the document being compiled
 * (the test suite's http://localhost:1234/ remotes, a project's shared definitions). It is
 * filled from memory or from a folder and read, never written, by al_schema_compile(); it
 * never fetches anything. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "airlock/util.h"
#include "schema/schema_int.h"

al_schema_registry *al_schema_registry_new(void) {
  return al_calloc(1, sizeof(al_schema_registry));
}

static void free_doc(void *p) { json_decref(p); }

void al_schema_registry_free(al_schema_registry *r) {
  if (!r) return;
  sch_map_clear(&r->docs, free_doc);
  al_free(r);
}

static int put_doc(al_schema_registry *r, const char *key, json_t *doc, int replace) {
  json_t *old = sch_map_gets(&r->docs, key);
  if (old && !replace) return 0;
  int rc = sch_map_puts(&r->docs, key, json_incref(doc));
  if (rc < 0) {
    json_decref(doc);
    return rc;
  }
  json_decref(old);
  return 0;
}

int al_schema_registry_add(al_schema_registry *r, const char *uri, const json_t *doc) {
  int rc = 0;
  char *key = NULL, *abs = NULL, *idkey = NULL;
  json_t *copy = NULL;
  if (!r || !uri || !doc || !sch_uri_is_absolute(uri)) return AL_EINVAL;
  key = sch_uri_split(uri, NULL);
  copy = json_deep_copy(doc);
  if (!key || !copy) {
    rc = AL_ENOMEM;
    goto out;
  }
  if ((rc = put_doc(r, key, copy, 1)) < 0) goto out;
  /* also findable by the URI its root `$id` gives itself (unless that is taken) */
  const char *id = json_string_value(json_object_get(copy, "$id"));
  if (id && (abs = sch_uri_resolve(key, id)) && (idkey = sch_uri_split(abs, NULL)) &&
      strcmp(idkey, key) != 0)
    rc = put_doc(r, idkey, copy, 0);
out:
  json_decref(copy);
  al_free(key);
  al_free(abs);
  al_free(idkey);
  return rc;
}

const json_t *sch_registry_get(const al_schema_registry *r, const char *uri) {
  return r ? sch_map_gets(&r->docs, uri) : NULL;
}

static int add_tree(al_schema_registry *r, const char *dir, const char *uri_prefix, int depth) {
  int rc = 0;
  DIR *d = NULL;
  if (depth > 32) return AL_ELIMIT;
  if (!(d = opendir(dir))) return AL_EIO;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[4096], uri[4096];
    struct stat st;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path ||
        (size_t)snprintf(uri, sizeof uri, "%s%s", uri_prefix, e->d_name) >= sizeof uri) {
      rc = AL_ELIMIT;
      goto out;
    }
    if (stat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      strcat(uri, "/");
      if (strlen(uri) >= sizeof uri - 1) {
        rc = AL_ELIMIT;
        goto out;
      }
      if ((rc = add_tree(r, path, uri, depth + 1)) < 0) goto out;
      continue;
    }
    size_t n = strlen(e->d_name);
    if (!S_ISREG(st.st_mode) || n < 5 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
    char *text = NULL;
    size_t len = 0;
    if ((rc = al_read_file(path, AL_SCHEMA_MAX_FILE_BYTES, &text, &len, NULL)) < 0) goto out;
    json_t *doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    al_free(text);
    if (!doc) {
      rc = AL_EPARSE;
      goto out;
    }
    rc = al_schema_registry_add(r, uri, doc);
    json_decref(doc);
    if (rc < 0) goto out;
  }
out:
  closedir(d);
  return rc;
}

int al_schema_registry_add_dir(al_schema_registry *r, const char *dir, const char *base_uri) {
  if (!r || !dir || !base_uri || !sch_uri_is_absolute(base_uri)) return AL_EINVAL;
  char prefix[4096];
  size_t n = strlen(base_uri);
  if (n + 2 > sizeof prefix) return AL_ELIMIT;
  memcpy(prefix, base_uri, n + 1);
  if (n == 0 || prefix[n - 1] != '/') strcat(prefix, "/");
  return add_tree(r, dir, prefix, 0);
}
