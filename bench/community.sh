#!/usr/bin/env bash
# A community of 100,000 members (not part of the tests): demo data, start-up, memory, and the
# discovery deck, the directory and batch swipes under load, against the bare route.
#
#   bench/community.sh [path/to/hearth] [members]   (default: the static release binary, 100000)
#
# 1. `hearth demo-data --members N --tokens 1000` into a fresh data directory (timed, peak RSS).
# 2. Start-up: from launch to "listening", three times; RSS idle after the first deck.
# 3. wrk on loopback, each request as one of the 1,000 token members from its own
#    X-Forwarded-For address (bench/community.lua): /healthz (-c256), a 52 KB static file
#    (-c256: what the bytes of a deck cost alone), the deck GET /api/v1/discovery?limit=50
#    (-c256), the directory with three filters (-c64), and POST /api/v1/swipes with 50 swipes
#    a request (-c16). Prints requests/s, p95, the ratio to /healthz, RSS after, and deck
#    precompute time from /metrics.
# Needs: python3, curl, wrk, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-target/x86_64-unknown-linux-gnu/release/hearth}"
members="${2:-100000}"
[ -x "$bin" ] || { echo "no binary at $bin (run packaging/build-static.sh)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install time" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-community.XXXXXX")"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export HEARTH_SERVER__TRUSTED_PROXIES=127.0.0.1 HEARTH_LOG__LEVEL=warn
unset HEARTH_CONFIG

echo "## Demo data: $members members"
/usr/bin/time -f "demo-data: %e s, peak RSS %M KiB" \
  "$bin" demo-data --data-dir "$work/data" --members "$members" --tokens 1000 \
  --tokens-file "$work/tokens.txt" 2>&1 | grep -v '^Members:' | tail -4
du -sh "$work/data" | awk '{print "data directory: " $1}'

start_server() {
  local t0; t0="$(date +%s%N)"
  "$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/out" 2>"$work/log" &
  pid=$!
  base=""
  for _ in $(seq 1 6000); do
    base="$(sed -n 's/^Hearth is listening on //p' "$work/out" 2>/dev/null | head -1)"
    [ -n "$base" ] && break
    sleep 0.005
  done
  startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ -n "$base" ] || { echo "server did not start" >&2; cat "$work/log" >&2; exit 1; }
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

echo "## Start-up"
for i in 1 2 3; do
  start_server
  echo "start-up $i: $startup_ms ms"
  [ "$i" = 3 ] || stop_server
done
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$pid/status"; }
hwm() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$pid/status"; }
echo "RSS idle: $(rss) MiB"
token="$(head -1 "$work/tokens.txt" | cut -d' ' -f2)"
curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$base/api/v1/discovery?limit=50"
echo "RSS after the first deck (directory index built): $(rss) MiB"
# Every token member's first deck, four at a time: ranking 1,000 decks from cold.
python3 - "$base" "$work/tokens.txt" <<'PY'
import sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
base, path = sys.argv[1], sys.argv[2]
tokens = [line.split()[1] for line in open(path)]
def first_deck(i):
    req = urllib.request.Request(f"{base}/api/v1/discovery?limit=50", headers={
        "Authorization": f"Bearer {tokens[i]}", "X-Forwarded-For": f"10.200.{i // 256}.{i % 256}"})
    with urllib.request.urlopen(req) as resp:
        resp.read()
t0 = time.monotonic()
with ThreadPoolExecutor(4) as pool:
    list(pool.map(first_deck, range(len(tokens))))
print(f"{len(tokens):,} first decks (4 at a time): {time.monotonic() - t0:.1f} s")
PY
echo "RSS with 1,000 decks: $(rss) MiB"

load() { # connections, mode, path
  BENCH_TOKENS="$work/tokens.txt" BENCH_MODE="$2" BENCH_PATH="$3" \
    wrk -t2 -c"$1" -d10s --timeout 10s -s bench/community.lua "$base" 2>&1
}
report() { # name, wrk output, healthz rps
  local rps p95 errors
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$2")"
  p95="$(awk '/^p95_ms/ {print $2}' <<<"$2")"
  errors="$(awk '/^errors/ {print $2}' <<<"$2")"
  python3 -c "import sys; n,r,p,e,h=sys.argv[1:]; print(f'| {n} | {float(r):,.0f} | {float(p):.2f} | {float(r)/float(h):.2f} | {e} |')" "$1" "$rps" "$p95" "$errors" "$3"
}
echo "## Under load"
health="$(load 256 get /healthz)"
health_rps="$(awk '/Requests\/sec/ {print $2}' <<<"$health")"
echo "| route | requests/s | p95 (ms) | ratio to /healthz | errors |"
echo "|---|---:|---:|---:|---:|"
report "GET /healthz (c256)" "$health" "$health_rps"
# The same number of bytes from memory: a static file of about the deck's size (htmx, 52 KB),
# what answering 40-50 KB costs on this machine before any work.
htmx="$(curl -fsS "$base/login" | grep -o '/static/[^"]*htmx[^"]*\.js' | head -1)"
report "GET $htmx, 52 KB static (c256)" "$(load 256 get "$htmx")" "$health_rps"
report "GET /api/v1/discovery?limit=50 (c256)" "$(load 256 get '/api/v1/discovery?limit=50')" "$health_rps"
echo "RSS after the deck load: $(rss) MiB (peak $(hwm) MiB)"
report "GET /api/v1/directory, 3 filters (c64)" \
  "$(load 64 get '/api/v1/directory?ageMin=25&ageMax=40&interest=hiking&interest=music&activeWithinDays=14')" "$health_rps"
swipe="$(load 16 swipe /)"
report "POST /api/v1/swipes, 50 per request (c16)" "$swipe" "$health_rps"
python3 -c "import sys; r=float(sys.argv[1]); print(f'swipes/s: {r*50:,.0f}')" "$(awk '/Requests\/sec/ {print $2}' <<<"$swipe")"
echo "RSS after all the load: $(rss) MiB (peak $(hwm) MiB)"
curl -fsS "$base/metrics" | awk '/^hearth_deck_precompute_seconds_(sum|count)/ {v[$1]=$2} END {
  s=v["hearth_deck_precompute_seconds_sum"]; c=v["hearth_deck_precompute_seconds_count"];
  if (c > 0) printf "deck precompute: %d decks, mean %.1f ms; all %d members one after another: %.0f s\n", c, s/c*1000, '"$members"', s/c*'"$members"' }'
