#!/usr/bin/env bash
# Proxy benchmark: the same wrk load (64 connections, bench/proxy/chat.lua) against
#   direct     the canned upstream (bench_upstream) itself
#   nginx      nginx proxy_pass to it (1 worker, upstream keepalive)
#   guard      airlock guard with no detectors (proxying, parsing, re-serialising)
#   guard-all  airlock guard with every detector on input and output (+ audit log)
# and prints requests/s, latency, and CPU time per request of the proxy process (from
# /proc/PID/stat: the process's own user+system time, though on a shared machine the
# figure still rises with contention — caches, scheduler — so compare rows of one run).
# Same wrk settings for every target; nginx runs one worker and the guard one event loop.
# ROUNDS=N (default 1) repeats the measurements N times, in rotating order, in the same
# run, and ends with the median CPU/request of each target; the load average is printed
# before and after. BASE=OTHER_BUILD_DIR adds guard-base and guard-all-base rows: the same
# two policies run by another build's airlock, measured in the same rounds (before/after).
# With a busy machine use several short rounds: medians of interleaved rounds are what can
# be compared.
# Usage: bench/proxy/run.sh [BUILD_DIR] [SECONDS] [CONNECTIONS] [stream]
set -euo pipefail
B=${1:-build}
D=${2:-10}
C=${3:-64}
MODE=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
LUA=$HERE/chat.lua
[[ $MODE == stream ]] && LUA=$HERE/chat_stream.lua
AIRLOCK=$(cd "$B" && pwd)/airlock
UPSTREAM=$(cd "$B" && pwd)/bench/proxy/bench_upstream
tmp=$(mktemp -d /tmp/al_bench_proxy.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $tmp/nginx.pid ]] && kill "$(cat "$tmp/nginx.pid" 2>/dev/null)" 2>/dev/null || true
  sleep 0.2
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_file() { for _ in $(seq 600); do [[ -s $1 ]] && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }
ticks() { # user+system clock ticks of a process and its children threads
  local t=0
  for p in "$@"; do
    read -r -a f < "/proc/$p/stat"
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}

"$UPSTREAM" "$tmp/up.port" & pids+=($!)
UPID=$!
wait_file "$tmp/up.port"
UP=$(cat "$tmp/up.port")

KEY_SHA=$("$AIRLOCK" guard hash-key bench-key)
"$AIRLOCK" audit keygen --out "$tmp/audit.key" >/dev/null
. "$HERE/policies.sh"
write_policies "$tmp" "http://127.0.0.1:$UP/v1" "$KEY_SHA"
NPORT=$((UP + 1))
mkdir -p "$tmp/ngx"
cat > "$tmp/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/ngx/body; proxy_temp_path $tmp/ngx/proxy;
  fastcgi_temp_path $tmp/ngx/fcgi; uwsgi_temp_path $tmp/ngx/uwsgi; scgi_temp_path $tmp/ngx/scgi;
  upstream up { server 127.0.0.1:$UP; keepalive 64; }
  server {
    listen 127.0.0.1:$NPORT;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}
NGX
nginx -c "$tmp/nginx.conf" -p "$tmp" & pids+=($!)
wait_file "$tmp/nginx.pid"

"$AIRLOCK" -q guard --policy "$tmp/plain.yaml" --port-file "$tmp/g1.port" & pids+=($!)
G1=$!
"$AIRLOCK" -q guard --policy "$tmp/all.yaml" --port-file "$tmp/g2.port" & pids+=($!)
G2=$!
wait_file "$tmp/g1.port"
wait_file "$tmp/g2.port"
if [[ -n ${BASE:-} ]]; then
  BAIRLOCK=$(cd "$BASE" && pwd)/airlock
  "$BAIRLOCK" -q guard --policy "$tmp/plain.yaml" --port-file "$tmp/b1.port" & pids+=($!)
  B1=$!
  sed "s#$tmp/audit,#$tmp/audit-base,#" "$tmp/all.yaml" > "$tmp/all-base.yaml" # its own audit log
  "$BAIRLOCK" -q guard --policy "$tmp/all-base.yaml" --port-file "$tmp/b2.port" & pids+=($!)
  B2=$!
  wait_file "$tmp/b1.port"
  wait_file "$tmp/b2.port"
fi
sleep 0.3
NGX_PIDS="$(cat "$tmp/nginx.pid") $(pgrep -P "$(cat "$tmp/nginx.pid")" | tr '\n' ' ')"

ROUNDS=${ROUNDS:-1}
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1); libcurl $(curl-config --version 2>/dev/null | cut -d' ' -f2); wrk -t2 -c$C -d${D}s ${MODE:-non-streamed}"
printf "%-10s %10s %10s %10s %10s %10s %14s\n" target req/s avg p50 p99 requests "CPU/req (µs)"
measure() { # name port pids...
  local name=$1 port=$2
  shift 2
  curl -s -o /dev/null -H "Authorization: Bearer bench-key" -H "Content-Type: application/json" \
    -d '{"model":"bench","messages":[{"role":"user","content":"warm up"}]}' "http://127.0.0.1:$port/v1/chat/completions"
  local t0 t1 out
  t0=$(ticks "$@")
  out=$(wrk -t2 -c"$C" -d"${D}s" --latency -s "$LUA" "http://127.0.0.1:$port/v1/chat/completions")
  t1=$(ticks "$@")
  local rps avg p50 p99 n
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  avg=$(awk '/^ *Latency / {print $2; exit}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  local errs
  errs=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  local hz
  hz=$(getconf CLK_TCK)
  local cpu
  cpu=$(echo "scale=1; ($t1 - $t0) * 1000000 / $hz / $n" | bc)
  printf "%-10s %10s %10s %10s %10s %10s %14s\n" "$name" "$rps" "$avg" "$p50" "$p99" "$n" "$cpu"
  echo "$name $cpu" >> "$tmp/cpu.txt"
  [[ -n $errs ]] && echo "   $errs"
  return 0
}
targets=("direct $UP $UPID" "nginx $NPORT $NGX_PIDS" "guard $(cat "$tmp/g1.port") $G1" "guard-all $(cat "$tmp/g2.port") $G2")
[[ -n ${BASE:-} ]] && targets+=("guard-base $(cat "$tmp/b1.port") $B1" "guard-all-base $(cat "$tmp/b2.port") $B2")
nt=${#targets[@]}
for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 0; i < nt; i++)); do
    # shellcheck disable=SC2086
    measure ${targets[(i + r) % nt]}
  done
done
echo "(direct: CPU of the upstream itself; other rows: CPU of the proxy process only)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((ROUNDS > 1)); then
  echo "median CPU/request (µs) over $ROUNDS rounds:"
  for t in "${targets[@]}"; do
    name=${t%% *}
    awk -v n="$name" '$1 == n {print $2}' "$tmp/cpu.txt" | sort -n |
      awk -v n="$name" '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "  %-15s %7.1f   (min %s, max %s)\n", n, m, v[1], v[NR]}'
  done
fi
