-- wrk script: the request of chat.lua (one fixed, not varied per request), streamed (SSE
-- re-framed by the guard).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
wrk.body = '{"model":"bench","stream":true,"messages":[{"role":"system","content":"You are a ' ..
  'helpful geography assistant. Answer briefly."},{"role":"user","content":"What is the ' ..
  'capital of France, and since when has it been the capital? Please answer in two sentences."}]}'
