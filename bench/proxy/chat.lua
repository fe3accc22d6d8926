-- wrk script: one OpenAI chat request (no PII, no secrets: the clean path every request
-- takes), with the client key the benchmark policy accepts. The system prompt is the same
-- in every request, as in real traffic; the user's question differs in every request (a
-- reference written in letters, so no detector sees a number), so the guard's cache of
-- clean input texts (src/guard/scache.c) spares the system prompt's scan only.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
local n = 0
local function letters(k)
  local s = ""
  repeat
    s = string.char(97 + k % 26) .. s
    k = math.floor(k / 26)
  until k == 0
  return s
end
request = function()
  n = n + 1
  local body = '{"model":"bench","messages":[{"role":"system","content":"You are a helpful ' ..
    'geography assistant. Answer briefly."},{"role":"user","content":"What is the capital ' ..
    'of France, and since when has it been the capital? Please answer in two sentences. ' ..
    'Ref ' .. letters(n) .. '."}]}'
  return wrk.format(nil, nil, nil, body)
end
