/* Shared bits of the CLI's subcommands: the store location and a tiny option matcher. */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include <string.h>

/* $AIRLOCK_DB, or .airlock/airlock.db in the current folder. */
const char *al_cli_db_path(const char *given);

/* Matches "--name VALUE" and "--name=VALUE"; advances *i past the value. */
static inline int al_cli_opt(int argc, char **argv, int *i, const char *name, const char **val) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n)) return 0;
  if (argv[*i][n] == '=') {
    *val = argv[*i] + n + 1;
    return 1;
  }
  if (argv[*i][n] || *i + 1 >= argc) return 0;
  *val = argv[++*i];
  return 1;
}

#endif
