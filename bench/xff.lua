-- wrk script for bench/reads.sh: each request from another client address (X-Forwarded-For,
-- believed because the server trusts 127.0.0.1 as a proxy), with the bearer token.
local token = os.getenv("BENCH_TOKEN") or ""
local path = os.getenv("BENCH_PATH") or "/healthz"
local n = 0

request = function()
  n = n + 1
  local headers = {
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256),
  }
  if token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("GET", path, headers)
end
