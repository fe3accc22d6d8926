#!/usr/bin/env bash
# Wall-clock tokens/s of airlock-llama-worker with per-token logging (token events with
# logprob, entropy and top-K alternatives, one flushed JSON line per token) against the raw
# libllama loop (llama-raw-loop): same model, threads, seed, prompt and sampler chain, so
# both generate the same tokens. The worker runs two ways: writing to a file, and writing
# to a pipe read by a consumer process (as under the runner). ROUNDS alternating rounds;
# the best round of each is reported, which filters out interference from other jobs on a
# shared machine. See bench/llama/instr.sh for the load-independent instruction counts.
#
#   bench/llama/bench.sh [BUILD_DIR] [THREADS] [REPS] [TOP_K_LOG] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build-llama}
threads=${2:-1}
reps=${3:-10}
topk=${4:-5}
rounds=${5:-5}
model=${AIRLOCK_SHARED:-$here/../../../shared}/models/stories260K.gguf
tmp=$(mktemp -d /tmp/llama-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

req='{"id":"b","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":256,"temperature":0.8,"top_p":0.95,"top_k":40,"seed":42}'
for _ in $(seq "$reps"); do echo "$req"; done >"$tmp/req"
worker=("$build/src/llama/airlock-llama-worker" --model "$model" --threads "$threads" --top-k-log "$topk")
summ() { # events file -> "tokens tok_per_s"
  python3 -c '
import json, sys
t = 0; g = 0.0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("type") == "done": t += e["usage"]["completion_tokens"]; g += e["timing"]["gen_ms"]
print(t, round(t / (g / 1e3)))' "$1"
}
for r in $(seq "$rounds"); do
  "$build/bench/llama/llama-raw-loop" --model "$model" --threads "$threads" --seed 42 --max-tokens 256 \
    --reps "$reps" | sed -n 's/tokens=\([0-9]*\).*tok_per_s=\([0-9]*\)/raw \1 \2/p' >>"$tmp/res"
  "${worker[@]}" <"$tmp/req" >"$tmp/ev" 2>/dev/null
  echo "file $(summ "$tmp/ev")" >>"$tmp/res"
  "${worker[@]}" <"$tmp/req" 2>/dev/null | cat >"$tmp/ev"
  echo "pipe $(summ "$tmp/ev")" >>"$tmp/res"
done
python3 - "$tmp/res" <<'PY'
import sys
best = {}; toks = {}
for line in open(sys.argv[1]):
    k, t, v = line.split(); best[k] = max(best.get(k, 0), int(v)); toks.setdefault(k, set()).add(int(t))
raw = best["raw"]
for k, name in (("raw", "raw libllama loop"), ("file", "worker -> file"), ("pipe", "worker -> pipe")):
    print("%-18s tokens/run=%s best tok/s=%6d  (%.0f%% of raw)" % (name, sorted(toks[k]), best[k], 100.0 * best[k] / raw))
PY
