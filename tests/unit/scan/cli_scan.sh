#!/bin/sh
# `airlock scan` / `airlock detectors` end to end: JSON lines out, exit 1 with findings,
# 0 without, 2 on usage errors; stream mode finds the same values. Prints TAP.
A="$AIRLOCK_BUILD/airlock"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
printf 'Mail ann@example.org, card 4526 0181 5908 3012. The code is AIRLOCK-CANARY-7731.\n' > "$T/in.txt"
printf 'Nothing to see here, just a sentence about 12 apples.\n' > "$T/clean.txt"
"$A" scan --canary AIRLOCK-CANARY-7731 "$T/in.txt" > "$T/out.jsonl"; rc=$?
ok $([ $rc = 1 ] && echo 0 || echo 1) "findings give exit 1 (got $rc)"
ok $([ "$(wc -l < "$T/out.jsonl")" = 3 ] && echo 0 || echo 1) "three findings"
python3 - "$T/out.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = [("pii.email", "ann@example.org"), ("pii.credit_card", "4526 0181 5908 3012"),
        ("canary.token", "AIRLOCK-CANARY-7731")]
got = [(r["detector"], r["text"]) for r in rows]
keys = {"detector", "kind", "start", "end", "score", "text", "note"}
sys.exit(0 if got == want and all(set(r) == keys for r in rows) else 1)
PY
ok $? "JSON lines carry detector, kind, start, end, score, text, note in start order"
"$A" scan --stream --canary AIRLOCK-CANARY-7731 - < "$T/in.txt" > "$T/stream.jsonl"
cmp -s "$T/out.jsonl" "$T/stream.jsonl"; ok $? "--stream from stdin gives the same findings"
"$A" scan "$T/clean.txt" > "$T/none.jsonl"; rc=$?
ok $([ $rc = 0 ] && [ ! -s "$T/none.jsonl" ] && echo 0 || echo 1) "no findings give exit 0"
"$A" scan --detectors pii.nope "$T/in.txt" 2> "$T/err.txt"; rc=$?
ok $([ $rc = 2 ] && grep -q "pii.nope" "$T/err.txt" && echo 0 || echo 1) "unknown detector: exit 2 and a message"
"$A" scan 2> /dev/null; rc=$?
ok $([ $rc = 2 ] && echo 0 || echo 1) "missing input: exit 2"
"$A" scan --canary abc "$T/in.txt" 2> /dev/null; rc=$?
ok $([ $rc = 2 ] && echo 0 || echo 1) "too short canary: exit 2"
"$A" scan --detectors secret "$T/in.txt" > /dev/null; rc=$?
ok $([ $rc = 0 ] && echo 0 || echo 1) "--detectors secret skips the PII"
"$A" detectors | grep -q "^pii.credit_card "; ok $? "detectors lists pii.credit_card"
"$A" detectors --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(x["name"]=="canary.token" and "stream" in x["flags"] for x in d) else 1)'
ok $? "detectors --json"
echo "1..$n"
