#!/usr/bin/env bash
# Integration test against a real llama.cpp server: `llama-server` built from the pinned
# node-llama-cpp source bundle (scripts/llama.sh --server), started by Airlock inside the
# jail on a unix socket, serving ../shared/models/stories260K.gguf. Checks streaming, stored
# per-token logprobs with alternatives, and a run killed with SIGKILL and resumed that ends
# with every case exactly once. Prints TAP.
set -uo pipefail
B=${AIRLOCK_BUILD:?}
S=${AIRLOCK_SRC:?}
M=${AIRLOCK_SHARED:?}/models/stories260K.gguf
A=$B/airlock
SERVER=$(bash "$S/scripts/llama.sh" --print-server --no-install 2>/dev/null)
T=$(mktemp -d /tmp/airlock-llama-it-XXXXXX)
export AIRLOCK_DB=$T/db.sqlite
trap 'rm -rf "$T"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
sql() { sqlite3 "$AIRLOCK_DB" "$1"; }
if [[ ! -x $SERVER ]]; then
  if [[ ${AIRLOCK_JAIL_STRICT:-} == 1 || ${CI:-} == true ]]; then
    echo "not ok 1 - llama-server is not built (run scripts/llama.sh --server)"
    echo "1..1"
    exit 1
  fi
  echo "ok 1 - llama-server integration # SKIP llama-server not built (scripts/llama.sh --server)"
  echo "1..1"
  exit 0
fi
N=40
{ echo prompt; for i in $(seq $N); do echo "Once upon a time there was a child number $i"; done; } >"$T/p.csv"
cat >"$T/suite.yaml" <<Y
name: llama-server-it
target:
  type: openai
  base_url: http://llama/v1
  model: stories260K
  stream: true
  logprobs: true
  top_logprobs: 3
  max_in_flight: 2
  timeout: 60s
  params: {temperature: 0, max_tokens: 32, seed: 1}
  launch:
    command: ["$SERVER", "-m", "$M", "--host", "{{socket}}", "-t", "1", "-c", "1024", "-np", "2"]
    ready: http://llama/health
    ready_timeout: 120s
tests:
  - name: story
    prompt: Once upon a time
    assert: [{max-tokens: 32}, {regex: "\\\\w+"}]
tests_from: [{file: p.csv}]
Y
$A run "$T/suite.yaml" --no-progress --format json >"$T/full.json" 2>"$T/full.err"
rc=$?
check "llama-server (jailed, unix socket): the run completes with exit 0" test "$rc" = 0
check "streamed answers: text, 32 completion tokens, finish reason length" python3 -c "
import json; d=json.load(open('$T/full.json'))
c=d['cases'][0]
assert len(c['output'])>10 and c['completion_tokens']==32 and c['finish_reason']=='length', c
assert c['ttft_ms'] is not None and c['ttft_ms']<=c['total_ms']"
check "tokens stored with logprobs <= 0, 3 alternatives each, increasing timestamps" python3 -c "
import sqlite3, json
db=sqlite3.connect('$AIRLOCK_DB')
rows=db.execute('select t_ns, logprob, top_json from tokens order by case_ref, seq').fetchall()
assert len(rows)>=32*($N+1)*0.9, len(rows)
assert all(lp is not None and lp<=0 for _,lp,_ in rows)
assert all(len(json.loads(t))==3 for _,_,t in rows if t)
" 2>"$T/py.err" || { cat "$T/py.err" | sed 's/^/# /'; false; }
full_out=$(python3 -c "import json; print(json.load(open('$T/full.json'))['cases'][0]['output'])")

# killed and resumed
export AIRLOCK_DB=$T/db2.sqlite
$A run "$T/suite.yaml" --no-progress >/dev/null 2>&1 &
apid=$!
for i in $(seq 400); do
  c=$(sql "select count(*) from results" 2>/dev/null || echo 0)
  [[ ${c:-0} -ge 10 ]] && break
  sleep 0.05
done
kill -9 $apid; wait $apid 2>/dev/null
sleep 0.5
part=$(sql "select count(*) from results")
rid=$(sql "select id from runs")
check "SIGKILL mid-run left part of the cases stored ($part of $((N + 1)))" test "$part" -gt 0 -a "$part" -lt $((N + 1))
$A run "$T/suite.yaml" --no-progress --resume "$rid" --format json >"$T/resumed.json" 2>"$T/resume.err"
rc=$?
check "resumed run exits 0" test "$rc" = 0
check "after resume: every case exactly once, run completed" test \
  "$(sql "select count(*) || ' ' || count(distinct case_id) from cases c join results r on r.case_ref=c.id where c.run_id='$rid'") $(sql "select status from runs where id='$rid'")" = "$((N + 1)) $((N + 1)) completed"
check "temperature 0, same seed: the same story after resume as in the full run" python3 -c "
import json; d=json.load(open('$T/resumed.json'))
assert d['cases'][0]['output']=='''$full_out''', d['cases'][0]['output']"
echo "1..$n"
exit $fail
