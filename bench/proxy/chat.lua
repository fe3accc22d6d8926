-- wrk script: one OpenAI chat request (no PII, no secrets: the clean path every request
-- takes), with the client key the benchmark policy accepts.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
wrk.body = '{"model":"bench","messages":[{"role":"system","content":"You are a helpful ' ..
  'geography assistant. Answer briefly."},{"role":"user","content":"What is the capital ' ..
  'of France, and since when has it been the capital? Please answer in two sentences."}]}'
