/* airlock: the thin command-line client of libairlock.
 *
 * main() only dispatches: each subcommand lives in its own cmd_*.c file and is listed once
 * in commands.def. Exit codes across subcommands: 0 success / gate passed, 1 gate failed or
 * findings, 2 usage or input error, 3 too many errors reaching the target. */
#include <stdio.h>
#include <string.h>

#include "al_config.h"
#include "airlock/log.h"

#define AL_COMMAND(name, fn, summary) int fn(int argc, char **argv);
#include "commands.def"
#undef AL_COMMAND

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} commands[] = {
#define AL_COMMAND(name, fn, summary) {name, fn, summary},
#include "commands.def"
#undef AL_COMMAND
};

int al_cmd_version(int argc, char **argv) {
  printf("airlock %s\n", AL_VERSION);
  return 0;
}

static void usage(FILE *f) {
  fprintf(f, "usage: airlock [-v|-q] COMMAND [ARGS]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n`airlock COMMAND --help` describes one command.\n");
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "-v")) al_log_level++;
    else if (!strcmp(argv[i], "-q")) al_log_level = AL_LOG_ERROR;
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--version")) {
      return al_cmd_version(0, NULL);
    } else {
      fprintf(stderr, "airlock: unknown option %s\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
    if (!strcmp(argv[i], commands[k].name)) return commands[k].fn(argc - i, argv + i);
  fprintf(stderr, "airlock: unknown command '%s'\n", argv[i]);
  usage(stderr);
  return 2;
}
