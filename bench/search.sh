#!/usr/bin/env bash
# Search over a community of 100,000 members and 1,000,000 messages (not part of the tests):
#
#   bench/search.sh [path/to/hearth] [members] [messages]
#                   (default: the static release binary, 100000, 1000000)
#
# 1. `hearth demo-data --members N --messages M --tokens 1000` (the token members talk first).
# 2. The first start makes the index and fills it from the database: time until the
#    indexer says so; the index's size on disk; RSS.
# 3. wrk on loopback, 64 connections, each request as one of the 1,000 token members from its
#    own X-Forwarded-For address (bench/community.lua): /healthz, then typical queries — one
#    word, a typo, a prefix being typed, a word with a filter, a word in one's messages.
#    Requests/s, p95, ratio. A query asked again within a commit reuses its shared part.
# 4. Freshness: 20 profile renames, each timed from its 200 until a search finds the new
#    name (bench/search_probe.py); after each, every typical query once: the first ask after
#    a commit, which ranks and counts its shared part anew.
# 5. `hearth reindex` with the server stopped: time and peak RSS.
# Needs: python3, curl, wrk, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-target/x86_64-unknown-linux-gnu/release/hearth}"
members="${2:-100000}"
messages="${3:-1000000}"
[ -x "$bin" ] || { echo "no binary at $bin (run packaging/build-static.sh)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install time" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-search.XXXXXX")"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export HEARTH_SERVER__TRUSTED_PROXIES=127.0.0.1 HEARTH_LOG__LEVEL="warn,hearth::service::search=info"
unset HEARTH_CONFIG

echo "## Demo data: $members members, $messages messages"
"$bin" demo-data --data-dir "$work/data" --members "$members" --messages "$messages" \
  --tokens 1000 --tokens-file "$work/tokens.txt" 2>&1 | tr '\r' '\n' | grep -E '^(Swipes|Done)' || true

echo "## First start: the index is made and filled"
t0="$(date +%s%N)"
"$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/out" 2>"$work/log" &
pid=$!
base=""
for _ in $(seq 1 6000); do
  base="$(sed -n 's/^Hearth is listening on //p' "$work/out" 2>/dev/null | head -1)"
  [ -n "$base" ] && break
  sleep 0.005
done
[ -n "$base" ] || { echo "server did not start" >&2; cat "$work/log" >&2; exit 1; }
for _ in $(seq 1 12000); do grep -q 'search index filled' "$work/log" && break; sleep 0.05; done
grep -o 'search index filled.*' "$work/log" | head -1
echo "from launch to a full index: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$pid/status"; }
echo "index on disk: $(du -sh "$work/data/search" | cut -f1); RSS: $(rss) MiB"

load() { # path
  BENCH_TOKENS="$work/tokens.txt" BENCH_MODE=get BENCH_PATH="$1" \
    wrk -t2 -c64 -d10s --timeout 10s -s bench/community.lua "$base" 2>&1
}
row() { # name, wrk output, healthz rps
  python3 -c "import sys; n,r,p,e,h=sys.argv[1:]; print(f'| {n} | {float(r):,.0f} | {float(p):.2f} | {float(r)/float(h):.2f} | {e} |')" \
    "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$2")" "$(awk '/^p95_ms/ {print $2}' <<<"$2")" \
    "$(awk '/^errors/ {print $2}' <<<"$2")" "$3"
}
echo "## Queries (64 connections)"
health="$(load /healthz)"
health_rps="$(awk '/Requests\/sec/ {print $2}' <<<"$health")"
echo "| query | requests/s | p95 (ms) | ratio to /healthz | errors |"
echo "|---|---:|---:|---:|---:|"
row "GET /healthz" "$health" "$health_rps"
row "one word: q=hiking" "$(load '/api/v1/search?q=hiking%20')" "$health_rps"
row "a typo: q=hikng" "$(load '/api/v1/search?q=hikng%20')" "$health_rps"
row "a prefix being typed: q=mus" "$(load '/api/v1/search?q=mus')" "$health_rps"
row "a word and a filter: q=music&interest=books" "$(load '/api/v1/search?q=music%20&interest=books')" "$health_rps"
row "a word in one's messages: q=sourdough&kind=message" "$(load '/api/v1/search?q=sourdough%20&kind=message')" "$health_rps"
echo "RSS after the queries: $(rss) MiB"

echo "## Freshness"
python3 bench/search_probe.py "$base" "$work/tokens.txt" 20 '/api/v1/search?q=hiking%20' \
  '/api/v1/search?q=hikng%20' '/api/v1/search?q=mus' '/api/v1/search?q=music%20&interest=books' \
  '/api/v1/search?q=sourdough%20&kind=message'

echo "## hearth reindex (server stopped)"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
/usr/bin/time -f "reindex: %e s, peak RSS %M KiB" "$bin" reindex --data-dir "$work/data" 2>&1 | tr '\r' '\n' | grep -E 'rebuilt|reindex:' 
