#!/bin/sh
# bench/scanner: Airlock's scanner vs @openredaction/openredaction@1.0.4 and
# @openai/guardrails@0.2.1 on the same generated 10 MB corpus with planted PII.
#   bench/scanner/run_bench.sh BUILD_DIR [SIZE_BYTES]
# The npm packages go to a cache outside the repo ($AIRLOCK_BENCH_CACHE, default
# ~/.cache/airlock-bench). Prints markdown tables (paste into README.md).
set -eu
BUILD=${1:?usage: run_bench.sh BUILD_DIR [SIZE_BYTES]}
SIZE=${2:-10000000}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${AIRLOCK_BENCH_CACHE:-$HOME/.cache/airlock-bench}
WORK=$CACHE/scanner-$SIZE
# every pattern detector of src/scan (14 PII, 8 secret, canary); the text classifiers
# (refusal, toxicity, ...) are measured in their own bench
DETS=${AIRLOCK_BENCH_DETECTORS:-pii,secret,canary}
mkdir -p "$CACHE/npm" "$WORK"
if [ ! -d "$CACHE/npm/node_modules/@openredaction/openredaction" ] ||
   [ ! -d "$CACHE/npm/node_modules/@openai/guardrails" ]; then
  (cd "$CACHE/npm" && { [ -f package.json ] || npm init -y >/dev/null; } &&
   npm install --no-audit --no-fund @openredaction/openredaction@1.0.4 @openai/guardrails@0.2.1 >/dev/null)
fi
[ -f "$WORK/corpus.txt" ] || python3 "$HERE/gen_corpus.py" "$WORK" "$SIZE" 42
echo "node $(node --version), corpus $(wc -c < "$WORK/corpus.txt") bytes, $(wc -l < "$WORK/truth.jsonl") planted values" >&2
A=$("$BUILD/bench/scanner/scan_throughput" --detectors "$DETS" --repeat 6 --findings "$WORK/airlock.jsonl" "$WORK/corpus.txt")
AS=$("$BUILD/bench/scanner/scan_throughput" --detectors "$DETS" --repeat 3 --stream 64 "$WORK/corpus.txt")
P=$("$BUILD/bench/scanner/scan_throughput" --detectors "$DETS" --repeat 6 --findings "$WORK/airlock_prose.jsonl" "$WORK/prose.txt")
O=$(NODE_PATH=$CACHE/npm/node_modules node "$HERE/competitors.js" openredaction "$WORK/corpus.txt" "$WORK/openredaction.jsonl")
G=$(NODE_PATH=$CACHE/npm/node_modules node "$HERE/competitors.js" guardrails "$WORK/corpus.txt" "$WORK/guardrails.jsonl")
echo "airlock block: $A" >&2
echo "airlock stream (64-byte chunks): $AS" >&2
echo "airlock on prose: $P" >&2
echo "openredaction: $O" >&2
echo "guardrails: $G" >&2
python3 "$HERE/score.py" "$WORK/truth.jsonl" "airlock=$WORK/airlock.jsonl:$A" \
  "openredaction=$WORK/openredaction.jsonl:$O" "guardrails=$WORK/guardrails.jsonl:$G"
echo
echo "Findings on $(wc -c < "$WORK/prose.txt") bytes of generated prose: airlock $(wc -l < "$WORK/airlock_prose.jsonl")"
