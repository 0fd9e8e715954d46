-- wrk script for bench/community.sh: each request as another member (a bearer token from
-- BENCH_TOKENS, a file of "member_id token" lines) and from another client address
-- (X-Forwarded-For, believed because the server trusts 127.0.0.1 as a proxy).
--   BENCH_MODE=get    GET BENCH_PATH
--   BENCH_MODE=swipe  POST /api/v1/swipes with 50 swipes on other members of the file
--   BENCH_MODE=record POST /api/v1/records: a new incoming record (numbered by the server)
-- Prints the 95th percentile latency in milliseconds at the end ("p95_ms <n>").
local mode = os.getenv("BENCH_MODE") or "get"
local path = os.getenv("BENCH_PATH") or "/healthz"
local ids, tokens = {}, {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  local id, token = line:match("^(%S+) (%S+)$")
  if id then
    ids[#ids + 1] = id
    tokens[#tokens + 1] = token
  end
end
local n = 0

local function swipes(me)
  local items = {}
  for i = 1, 50 do
    local target = ids[((me + i * 7) % #ids) + 1]
    local action = (i % 5 == 0) and "like" or "pass"
    items[#items + 1] = string.format('{"targetId":"%s","action":"%s"}', target, action)
  end
  return '{"swipes":[' .. table.concat(items, ",") .. "]}"
end

request = function()
  n = n + 1
  local who = (n % #tokens) + 1
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[who],
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256),
  }
  if mode == "swipe" then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/v1/swipes", headers, swipes(who + n))
  end
  if mode == "record" then
    headers["Content-Type"] = "application/json"
    local body = string.format('{"title":"Load test letter %d","direction":"incoming","tags":["load"]}', n)
    return wrk.format("POST", "/api/v1/records", headers, body)
  end
  return wrk.format("GET", path, headers)
end

done = function(summary, latency, requests)
  io.write(string.format("p95_ms %.2f\n", latency:percentile(95) / 1000))
  io.write(string.format("errors %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
