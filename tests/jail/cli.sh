#!/usr/bin/env bash
# `airlock jail` end to end: exit codes pass through (128+signal when killed), the outcome
# is one JSON line on stderr or JSON lines on --status-fd (bubblewrap's shape), --bind
# works, policy errors name file:line:col and exit 2. Prints TAP.
set -u
A=${AIRLOCK_BUILD:?}/airlock
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0; fail=0
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fail=1; fi; }

"$A" jail -- /bin/sh -c 'exit 7' 2>"$T/err"; rc=$?
check "exit code passes through" '[ $rc -eq 7 ]'
check "outcome JSON on stderr" 'grep -q "\"exit_code\":7" "$T/err" && grep -q "\"exit-code\":7" "$T/err"'

"$A" jail -- /bin/sh -c 'kill -TERM $$' 2>/dev/null; rc=$?
check "killed by a signal exits 128+signal" '[ $rc -eq 143 ]'

out=$(echo hi | "$A" jail -- /bin/cat 2>/dev/null)
check "stdin and stdout pass through" '[ "$out" = hi ]'

echo secret-model > "$T/model.bin"
out=$("$A" jail --bind "$T/model.bin:/model/m.bin" -- /bin/cat /model/m.bin 2>/dev/null)
check "--bind HOST:INSIDE is readable inside" '[ "$out" = secret-model ]'

"$A" jail --status-fd 3 -- /bin/true 3>"$T/status" 2>/dev/null
check "--status-fd: child-pid line then the outcome" \
  'head -1 "$T/status" | grep -q "^{\"child-pid\": [0-9]*}$" && tail -1 "$T/status" | grep -q "\"exit-code\":0}$"'

"$A" jail --wall-ms 200 -- /bin/sleep 5 2>"$T/err"; rc=$?
check "wall-clock limit: SIGKILL, limit wall" '[ $rc -eq 137 ] && grep -q "\"limit\":\"wall\"" "$T/err"'

printf 'limits:\n  pids: lots\n' > "$T/bad.yaml"
"$A" jail --policy "$T/bad.yaml" -- /bin/true 2>"$T/err"; rc=$?
check "policy error: exit 2 with file:line:col" '[ $rc -eq 2 ] && grep -q "bad.yaml:2:9: " "$T/err"'

"$A" jail -- /no/such/program 2>"$T/err"; rc=$?
check "missing program: exit 125 naming the exec step" '[ $rc -eq 125 ] && grep -q "step .exec. failed" "$T/err"'

echo "1..$n"
exit $fail
