-- wrk script for bench/messages.sh: durable message sends. BENCH_SENDERS is a file of
-- "token conversation_id" lines; each request is the next sender writing in its
-- conversation, each from another client address (X-Forwarded-For, believed because the
-- server trusts 127.0.0.1 as a proxy, so the per-address API limit stays out of the way).
-- Prints "p95_ms <n>", "errors <n>" and "ok_per_s <n>" (201s per second) at the end.
local senders = {}
for line in io.lines(os.getenv("BENCH_SENDERS")) do
  local token, conversation = line:match("^(%S+) (%S+)$")
  if token then
    senders[#senders + 1] = { token = token, path = "/api/v1/conversations/" .. conversation .. "/messages" }
  end
end
local n = 0
local offset = 0
local threads = {}
refused = {}

setup = function(thread)
  offset = offset + 1
  thread:set("offset", offset)
  threads[#threads + 1] = thread
end

response = function(status, headers, body)
  if status ~= 201 then
    refused[status] = (refused[status] or 0) + 1
  end
end

request = function()
  n = n + 1
  local i = ((n * 2 + (offset or 0)) % #senders) + 1
  local s = senders[i]
  return wrk.format("POST", s.path, {
    ["Authorization"] = "Bearer " .. s.token,
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256),
  }, string.format('{"text":"Benchmark message %d"}', n))
end

done = function(summary, latency, requests)
  io.write(string.format("p95_ms %.2f\n", latency:percentile(95) / 1000))
  io.write(string.format("errors %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("ok_per_s %.0f\n", (summary.requests - summary.errors.status) / (summary.duration / 1e6)))
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("refused")) do
      io.write(string.format("refused %d x%d\n", status, count))
    end
  end
end
