#!/usr/bin/env python3
"""A calibration model for the exec target: speaks Airlock's JSON-lines protocol
(docs/design/exec-protocol.md), streaming the last user message back word by word with
made-up log-probabilities. "crash" makes it exit mid-request; "slow" sleeps 0.2 s a token."""
import json
import sys
import time

print(json.dumps({"type": "ready", "model": "echo"}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    text = req["messages"][-1]["content"]
    if text == "crash":
        sys.exit(3)
    words = text.split(" ")
    for i, w in enumerate(words):
        tok = w if i == 0 else " " + w
        print(json.dumps({"id": req["id"], "type": "token", "text": tok, "token_id": i,
                          "logprob": -0.1 * (i + 1), "entropy": 0.5,
                          "top": [{"text": tok, "token_id": i, "logprob": -0.1 * (i + 1)}]}), flush=True)
        if text.startswith("slow"):
            time.sleep(0.2)
    print(json.dumps({"id": req["id"], "type": "done", "finish_reason": "stop",
                      "usage": {"prompt_tokens": 3, "completion_tokens": len(words)}}), flush=True)
