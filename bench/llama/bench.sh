#!/usr/bin/env bash
# Tokens/s of airlock-llama-worker with per-token logging (token events with logprob,
# entropy and top-5 alternatives, written to a pipe and read by a consumer) against the raw
# libllama loop (llama-raw-loop), same model, threads, seed, prompt and sampler chain.
# Both produce the same tokens (same seed and chain), so the counts must match.
#
#   bench/llama/bench.sh [BUILD_DIR] [THREADS] [REPS] [TOP_K_LOG]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build-llama}
threads=${2:-1}
reps=${3:-20}
topk=${4:-5}
model=${AIRLOCK_SHARED:-$here/../../../shared}/models/stories260K.gguf

raw=$("$build/bench/llama/llama-raw-loop" --model "$model" --threads "$threads" --seed 42 \
        --max-tokens 256 --reps "$reps")
echo "raw libllama loop : $raw"

req='{"id":"b","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":256,"temperature":0.8,"top_p":0.95,"top_k":40,"seed":42}'
for _ in $(seq "$reps"); do echo "$req"; done |
  "$build/src/llama/airlock-llama-worker" --model "$model" --threads "$threads" --top-k-log "$topk" 2>/dev/null |
  python3 -c '
import json, sys
toks = 0; gen_ms = 0.0; events = 0
for line in sys.stdin:
    ev = json.loads(line)
    if ev.get("type") == "token": events += 1
    if ev.get("type") == "done":
        toks += ev["usage"]["completion_tokens"]; gen_ms += ev["timing"]["gen_ms"]
print("worker (logging) : tokens=%d gen_s=%.4f tok_per_s=%.0f token_events=%d" % (toks, gen_ms / 1e3, toks / (gen_ms / 1e3), events))
'
