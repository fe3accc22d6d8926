# Shared by the integration scripts that source it: TAP helpers (ok, nok, check, done_tap),
# a scratch folder $T removed at exit with every server started through start_bg, and
# fixed_finbot, which starts finbot --fixed on a free loopback port and sets $URL.
set -uo pipefail
B=${AIRLOCK_BUILD:?}
A=$B/airlock
T=$(mktemp -d "/tmp/airlock-${TEST_NAME:-it}-XXXXXX")
n=0
fail=0
bg_pids=()
cleanup() { for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
done_tap() { echo "1..$n"; exit $fail; }
start_bg() { "$@" & bg_pids+=($!); }
fixed_finbot() { # ANSWER: finbot --fixed ANSWER on 127.0.0.1, $URL its /v1
  start_bg "$B/src/finbot/finbot" --fixed "$1" --listen 127.0.0.1:0 --port-file "$T/fixed.port" --quiet
  for _ in $(seq 100); do [[ -s $T/fixed.port ]] && break; sleep 0.05; done
  URL="http://127.0.0.1:$(cat "$T/fixed.port")/v1"
}
