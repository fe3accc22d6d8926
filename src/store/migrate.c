/* Schema migrations: ordered, numbered SQL steps per component, recorded in
 * schema_migrations (component, version, name, applied_ns).
 *
 * Each step runs in its own BEGIN IMMEDIATE transaction that first re-checks whether the
 * step is recorded, so two processes opening a fresh database at once apply it exactly once
 * and a failing step leaves no half-made schema. A database that records a version newer
 * than the list this binary knows is refused (it was written by a newer Airlock).
 */
#include <string.h>

#include "airlock/util.h"
#include "store/store_int.h"

static const char create_table[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                   "  component TEXT NOT NULL,"
                                   "  version INTEGER NOT NULL,"
                                   "  name TEXT,"
                                   "  applied_ns INTEGER NOT NULL,"
                                   "  PRIMARY KEY (component, version))";

static int max_version(al_store *s, const char *component, int *out, al_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = 0;
  *out = 0;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT coalesce(max(version), 0) FROM schema_migrations"
                         " WHERE component = ?",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = al_store__sql_error(s, err, AL_EIO, "schema_migrations");
    goto out;
  }
  sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) {
    rc = al_store__sql_error(s, err, AL_EIO, "schema_migrations");
    goto out;
  }
  *out = sqlite3_column_int(st, 0);
out:
  sqlite3_finalize(st);
  return rc;
}

static int record(al_store *s, const char *component, const al_migration *m, al_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO schema_migrations (component, version, name, applied_ns)"
                         " VALUES (?, ?, ?, ?)",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = al_store__sql_error(s, err, AL_EIO, "schema_migrations");
    goto out;
  }
  sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, m->version);
  al_store__bind_text(st, 3, m->name);
  sqlite3_bind_int64(st, 4, al_wall_ns());
  rc = al_store__step_done(s, st, err, "recording migration");
out:
  sqlite3_finalize(st);
  return rc;
}

static int apply_one(al_store *s, const char *component, const al_migration *m, al_error *err) {
  int rc, have = 0;
  if ((rc = al_store__exec(s, "BEGIN IMMEDIATE", err)) < 0) return rc;
  if ((rc = max_version(s, component, &have, err)) < 0) goto out;
  if (have >= m->version) goto out; /* another process got here first */
  if ((rc = al_store__exec(s, m->sql, err)) < 0) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
    rc = al_error_at(err, AL_EIO, s->path, 0, 0, "migration %s %d (%s) failed: %s", component,
                     m->version, m->name ? m->name : "", msg);
    goto out;
  }
  rc = record(s, component, m, err);
out:
  if (rc < 0)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  else
    rc = al_store__exec(s, "COMMIT", err);
  return rc;
}

int al_store__migrate_locked(al_store *s, const char *component, const al_migration *list, size_t n,
                             al_error *err) {
  int rc, have = 0;
  if (!component || !*component || (n && !list) || n > AL_STORE_MAX_MIGRATIONS)
    return al_error_set(err, AL_EINVAL, "al_store_migrate: bad arguments");
  for (size_t i = 0; i < n; i++) {
    if (list[i].version != (int)i + 1 || !list[i].sql)
      return al_error_set(err, AL_EINVAL,
                          "migration list of '%s': entry %zu has version %d, expected %zu",
                          component, i, list[i].version, i + 1);
  }
  if ((rc = al_store__flush_locked(s, err)) < 0) return rc;
  if ((rc = al_store__exec(s, create_table, err)) < 0) return rc;
  if ((rc = max_version(s, component, &have, err)) < 0) return rc;
  if ((size_t)have > n)
    return al_error_at(err, AL_EUNSUPPORTED, s->path, 0, 0,
                       "schema '%s' is at version %d, newer than this Airlock knows (%zu)",
                       component, have, n);
  for (size_t i = (size_t)have; i < n; i++)
    if ((rc = apply_one(s, component, &list[i], err)) < 0) return rc;
  return 0;
}

int al_store_migrate(al_store *s, const char *component, const al_migration *list, size_t n,
                     al_error *err) {
  if (!s) return al_error_set(err, AL_EINVAL, "al_store_migrate: no store");
  pthread_mutex_lock(&s->mu);
  int rc = al_store__migrate_locked(s, component, list, n, err);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

int al_store_schema_version(al_store *s, const char *component) {
  if (!s || !component) return AL_EINVAL;
  int v = 0;
  pthread_mutex_lock(&s->mu);
  int rc = max_version(s, component, &v, NULL);
  pthread_mutex_unlock(&s->mu);
  return rc < 0 ? rc : v;
}
