#!/usr/bin/env bash
# Integration test of the `command` assertion inside a real run: the program gets the case
# and the output as JSON on stdin and answers a verdict; a pass, a fail and a program that
# gives no verdict (an error, never a pass or fail) are told apart; and cases whose
# assertion programs take a while are judged off the event loop, side by side: eight cases
# whose program sleeps 0.5 s finish in far less than the 4 s they would take one after the
# other. Prints TAP.
TEST_NAME=cmd
. "$(dirname "$0")/lib.sh"
fixed_finbot 'the answer is ok'

cat >"$T/verdicts.yaml" <<Y
name: verdicts
target: {type: openai, base_url: "$URL", model: m}
thresholds: {max_error_rate: 1.0}
tests:
  - name: pass
    prompt: one
    assert: [{command: "grep -q '\"output\":\"the answer is ok\"' && echo '{\"pass\": true, \"reason\": \"saw it\"}'"}]
  - name: fail
    prompt: two
    assert: [{command: "echo '{\"pass\": false, \"reason\": \"not what I wanted\"}'"}]
  - name: no-verdict
    prompt: three
    assert: [{command: "echo not json"}]
Y
"$A" run "$T/verdicts.yaml" --db "$T/v.db" --no-progress --format json >"$T/v.json" 2>"$T/v.err"
rc=$?
check "a failed verdict fails the gate (exit $rc, want 1)" test $rc = 1
check "command verdicts: pass, fail, and an error for no verdict" python3 -c "
import json; d=json.load(open('$T/v.json'))
v={c['name']:c['verdict'] for c in d['cases']}
assert v=={'pass':'pass','fail':'fail','no-verdict':'error'}, v"
check "the fail carries the program's reason" grep -q "not what I wanted" "$T/v.json"

{ echo prompt; for i in $(seq 8); do echo "question $i"; done; } >"$T/slow.csv"
cat >"$T/slow.yaml" <<Y
name: slow-judge
target: {type: openai, base_url: "$URL", model: m, max_in_flight: 8}
tests_from:
  - file: slow.csv
    assert: [{contains: ok}, {command: "sleep 0.5; cat >/dev/null; echo '{\"pass\": true}'"}]
Y
s=$(date +%s%N)
"$A" run "$T/slow.yaml" --db "$T/s.db" --no-progress >/dev/null 2>"$T/s.err"
rc=$?
e=$(date +%s%N)
ms=$(((e - s) / 1000000))
check "eight slow assertion programs: the gate passes (exit $rc)" test $rc = 0
check "every case stored exactly once" test "$(sqlite3 "$T/s.db" "select count(*), count(distinct case_ref) from results")" = "8|8"
check "they were judged side by side: $ms ms, not 4 s one after the other" test "$ms" -lt 2500

done_tap
