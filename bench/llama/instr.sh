#!/usr/bin/env bash
# Load-independent version of bench.sh: instructions executed (valgrind callgrind "Ir")
# per generated token, worker with per-token logging vs the raw libllama loop. Model
# loading is cancelled out by running each program with A and B requests and taking the
# difference. Deterministic: same seed, same tokens, same counts on every run.
#
#   bench/llama/instr.sh [BUILD_DIR] [A] [B] [TOP_K_LOG]      (defaults: build-llama 2 6 5)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build-llama}
a=${2:-2}
b=${3:-6}
topk=${4:-5}
model=${AIRLOCK_SHARED:-$here/../../../shared}/models/stories260K.gguf
req='{"id":"b","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":256,"temperature":0.8,"top_p":0.95,"top_k":40,"seed":42}'

ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'; }
reqs() { for _ in $(seq "$1"); do echo "$req"; done; }

wa=$(reqs "$a" | ir "$build/src/llama/airlock-llama-worker" --model "$model" --threads 1 --top-k-log "$topk")
wb=$(reqs "$b" | ir "$build/src/llama/airlock-llama-worker" --model "$model" --threads 1 --top-k-log "$topk")
ra=$(ir "$build/bench/llama/llama-raw-loop" --model "$model" --threads 1 --seed 42 --max-tokens 256 --reps "$a")
rb=$(ir "$build/bench/llama/llama-raw-loop" --model "$model" --threads 1 --seed 42 --max-tokens 256 --reps "$b")
tokens=$(( (b - a) * 256 ))
python3 - "$wa" "$wb" "$ra" "$rb" "$tokens" <<'PY'
import sys
wa, wb, ra, rb, n = map(int, sys.argv[1:])
w, r = (wb - wa) / n, (rb - ra) / n
print("instructions per token: raw %.0f, worker %.0f (+%.0f); worker speed = %.1f%% of raw" % (r, w, w - r, 100 * r / w))
PY
