#!/usr/bin/env bash
# Integration test of what `airlock run` prints while it works: on a terminal (a pty from
# script(1)) a progress bar redrawn in place with done/total, rate, ETA, failures and errors
# so far, and a coloured summary; into a pipe or file, plain "progress:" lines and no
# control characters. A rate limit of 40 requests/s on 40 cases makes the run last about a
# second, so the bar is redrawn several times. Prints TAP.
TEST_NAME=tty
. "$(dirname "$0")/lib.sh"
fixed_finbot 'ok fine'
{ echo prompt; for i in $(seq 40); do echo "question $i"; done; } >"$T/c.csv"
cat >"$T/s.yaml" <<Y
name: tty
target: {type: openai, base_url: "$URL", model: m,
         rate_limit: {requests_per_second: 40}}
tests_from: [{file: c.csv, assert: [{contains: ok}]}]
Y
# colour follows the terminal unless NO_COLOR is set (.ci/run sets it: unset it here)
env -u NO_COLOR script -qfec "$A run $T/s.yaml --db $T/tty.db" /dev/null >"$T/tty.out" 2>&1
check "on a terminal the run passes" grep -q "Gate: passed" "$T/tty.out"
redraws=$(grep -o $'\r\\[' "$T/tty.out" | wc -l)
check "on a terminal the bar is redrawn in place ($redraws redraws, want >= 3)" test "$redraws" -ge 3
check "the bar shows done/total, rate, ETA, failures, errors and cases in flight" \
  grep -qE $'\r\\[=+\\] 40/40  [0-9]+/s  ETA [0-9]+s  fail 0  error 0  in flight 0' "$T/tty.out"
check "on a terminal the gate line is coloured" grep -q $'\e\\[32m' "$T/tty.out"
NO_COLOR=1 script -qfec "$A run $T/s.yaml --db $T/nocolor.db" /dev/null >"$T/nocolor.out" 2>&1
check "NO_COLOR=1: a bar on the terminal but no colour" \
  test "$(grep -c $'\r\\[' "$T/nocolor.out")" -ge 1 -a "$(tr -cd '\033' <"$T/nocolor.out" | wc -c)" = 0

$A run "$T/s.yaml" --db "$T/plain.db" >"$T/plain.out" 2>&1
check "into a file: plain progress lines" grep -q "^progress: 40/40 done, [0-9]*/s, 0 fail, 0 error$" "$T/plain.out"
check "into a file: no carriage returns or escape sequences" \
  test "$(tr -cd '\r\033' <"$T/plain.out" | wc -c)" = 0
$A run "$T/s.yaml" --db "$T/quiet.db" --no-progress >"$T/quiet.out" 2>&1
check "--no-progress prints no progress" test "$(grep -c '^progress:' "$T/quiet.out")" = 0

done_tap
