#!/usr/bin/env bash
# A small lint step for CI: clang-format conformance of the C sources (reported, counted),
# and hard rules: every C file opens with a comment paragraph; no printf-family calls that
# write to stdout/stderr from the library outside src/cli (the library never prints);
# no tabs. Prints TAP so tests/summary.py counts it.
set -uo pipefail
cd "$(dirname "$0")/.."
n=0
fail=0
check() { # name, command...
  local name=$1
  shift
  n=$((n + 1))
  local out
  if out=$("$@" 2>&1); then
    echo "ok $n - $name"
  else
    echo "not ok $n - $name"
    echo "$out" | head -20 | sed 's/^/# /'
    fail=1
  fi
}
files=$(git ls-files 'src/*.c' 'src/*.h' 'include/*.h' 2>/dev/null || find src include -name '*.[ch]')
header_comment() {
  local bad=0
  for f in $files; do
    head -c 2 "$f" | grep -q '/\*' || { echo "$f: does not open with a comment on its purpose"; bad=1; }
  done
  return $bad
}
no_tabs() { ! grep -nP '\t' $files | grep -v '\.def:' | head; }
library_never_prints() {
  ! grep -nE '(^|[^_a-z(])(printf|puts|fputs|fprintf) *\( *(std(out|err)|")' $(echo "$files" | grep -vE '^src/(cli|finbot|llama)/|/log\.c$|/cmd_|^include/') | head
}
check "every C file opens with a comment paragraph" header_comment
check "no tab characters in C sources" no_tabs
check "the library does not print (no printf/puts/fprintf(stdout|stderr) outside cli, fixtures and log.c)" library_never_prints
if command -v clang-format >/dev/null; then
  unformatted=0
  for f in $files; do clang-format --dry-run "$f" 2>&1 | grep -q warning && unformatted=$((unformatted + 1)); done
  echo "# clang-format: $unformatted of $(echo "$files" | wc -w) files differ from .clang-format (informational)"
fi
echo "1..$n"
exit $fail
