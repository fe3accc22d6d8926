#!/usr/bin/env bash
# Deterministic per-request counts of the guard (what bench/proxy/README.md reports next to
# the timings, which a shared machine makes noisy):
#   callgrind  user-space instructions per request: the guard runs under callgrind with
#              instrumentation off; after start-up and a warm-up wrk run it is switched on
#              for one wrk run (-c8, DUR seconds, default 5) and divided by its requests
#   strace     system calls per request: strace -c -f attached to the guard during a wrk
#              run at C connections (default 64)
# POLICY is plain (no detectors) or all (every detector on input and output, audit log),
# the same two policies as run.sh. UPBASE=URL overrides the upstream base URL, UPPORT in it
# standing for the canned upstream's port: UPBASE=http://localhost:UPPORT/v1 measures the
# libcurl engine (host names) instead of the direct client h1cli.c (IPv4 addresses).
# Usage: bench/proxy/counts.sh BUILD_DIR plain|all [stream|""] [callgrind|strace]
set -euo pipefail
B=$(cd "$1" && pwd); POL=$2; MODE=${3:-}; TOOL=${4:-callgrind}
HERE=$(cd "$(dirname "$0")" && pwd)
LUA=$HERE/chat.lua; [[ $MODE == stream ]] && LUA=$HERE/chat_stream.lua
tmp=$(mktemp -d /tmp/al_counts.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$tmp"; }
trap cleanup EXIT
wait_file() { for _ in $(seq 600); do [[ -s $1 ]] && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }
"$B/bench/proxy/bench_upstream" "$tmp/up.port" & pids+=($!)
wait_file "$tmp/up.port"; UP=$(cat "$tmp/up.port")
KEY_SHA=$("$B/airlock" guard hash-key bench-key)
"$B/airlock" audit keygen --out "$tmp/audit.key" >/dev/null
. "$HERE/policies.sh"
write_policies "$tmp" "${UPBASE:-http://127.0.0.1:$UP/v1}" "$KEY_SHA"
sed -i "s/UPPORT/$UP/" "$tmp/plain.yaml" "$tmp/all.yaml"
case $TOOL in
callgrind)
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/cg.out" "$B/airlock" -q guard --policy "$tmp/$POL.yaml" --port-file "$tmp/g.port" 2>"$tmp/vg.log" & pids+=($!)
  GP=$!; wait_file "$tmp/g.port"; P=$(cat "$tmp/g.port")
  curl -s -o /dev/null -H "Authorization: Bearer bench-key" -d '{"model":"bench","messages":[{"role":"user","content":"warm"}]}' http://127.0.0.1:$P/v1/chat/completions
  wrk -t1 -c8 -d2s -s "$LUA" http://127.0.0.1:$P/v1/chat/completions >/dev/null
  callgrind_control -i on $GP >/dev/null
  out=$(wrk -t1 -c8 -d${DUR:-5}s -s "$LUA" http://127.0.0.1:$P/v1/chat/completions)
  callgrind_control -i off $GP >/dev/null
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  kill -TERM $GP; wait $GP 2>/dev/null || true
  ir=$(callgrind_annotate "$tmp/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
  echo "requests $n  Ir $ir  Ir/req $((ir / n))"
  if [[ -n ${KEEP:-} ]]; then cp "$tmp/cg.out" "$KEEP"; fi
  ;;
strace)
  "$B/airlock" -q guard --policy "$tmp/$POL.yaml" --port-file "$tmp/g.port" & pids+=($!)
  GP=$!; wait_file "$tmp/g.port"; P=$(cat "$tmp/g.port")
  wrk -t2 -c64 -d1s -s "$LUA" http://127.0.0.1:$P/v1/chat/completions >/dev/null
  strace -c -f -p $GP -o "$tmp/st.txt" & SP=$!
  sleep 0.5
  out=$(wrk -t2 -c${C:-64} -d3s -s "$LUA" http://127.0.0.1:$P/v1/chat/completions)
  kill -INT $SP; wait $SP 2>/dev/null || true
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "requests $n"
  awk -v n="$n" 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ {printf "%-14s %8.2f\n", $NF, $4 / n; t += $4}
                 END {printf "%-14s %8.2f\n", "all", t / n}' "$tmp/st.txt"
  ;;
esac
