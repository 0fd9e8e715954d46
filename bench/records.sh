#!/usr/bin/env bash
# Records over a community with 100,000 of them (not part of the tests):
#
#   bench/records.sh [path/to/hearth] [records] [members]
#                    (default: the static release binary, 100000, 2000)
#
# 1. `hearth demo-data --members M --records N --tokens 1000`.
# 2. wrk on loopback, 64 connections, each request as one of the 1,000 token members from its
#    own X-Forwarded-For address (bench/community.lua): /healthz, the list with two filters
#    (the first list builds the in-memory index: timed separately), the list sorted by due
#    date, "my work", one record. Requests/s, p95, ratio to /healthz.
# 3. Creates: 10 s of POST /api/v1/records from 64 connections; creates/s, p95; then the
#    numbers of every record made are checked unique (they are all visible to members: an
#    export of tag "load" lists them).
# 4. CSV export of every record a member may see: time, rows, and the server's RSS sampled
#    every 20 ms during it, against its RSS before.
# Needs: python3, curl, wrk.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-target/x86_64-unknown-linux-gnu/release/hearth}"
records="${2:-100000}"
members="${3:-2000}"
[ -x "$bin" ] || { echo "no binary at $bin (run packaging/build-static.sh)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-records.XXXXXX")"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export HEARTH_SERVER__TRUSTED_PROXIES=127.0.0.1 HEARTH_LOG__LEVEL=warn
unset HEARTH_CONFIG

echo "## Demo data: $members members, $records records"
"$bin" demo-data --data-dir "$work/data" --members "$members" --records "$records" \
  --tokens 1000 --tokens-file "$work/tokens.txt" 2>&1 | tr '\r' '\n' | grep -E '^(Records: [0-9]+/[0-9]+$|Done)' | tail -2 || true

"$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/out" 2>"$work/log" &
pid=$!
base=""
for _ in $(seq 1 6000); do
  base="$(sed -n 's/^Hearth is listening on //p' "$work/out" 2>/dev/null | head -1)"
  [ -n "$base" ] && break
  sleep 0.005
done
[ -n "$base" ] || { echo "server did not start" >&2; cat "$work/log" >&2; exit 1; }
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$pid/status"; }
token="$(head -1 "$work/tokens.txt" | cut -d' ' -f2)"
get() { curl -fsS -H "Authorization: Bearer $token" "$base$1"; }

echo "RSS at start: $(rss) MiB"
t0="$(date +%s%N)"
get '/api/v1/records?limit=1' >/dev/null
echo "first list (builds the index from $records records): $(( ($(date +%s%N) - t0) / 1000000 )) ms; RSS $(rss) MiB"
record="$(get '/api/v1/records?limit=1' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')"

load() { # mode, path, seconds
  BENCH_TOKENS="$work/tokens.txt" BENCH_MODE="$1" BENCH_PATH="$2" \
    wrk -t2 -c64 -d"${3:-10}s" --timeout 10s -s bench/community.lua "$base" 2>&1
}
row() { # name, wrk output, healthz rps
  python3 -c "import sys; n,r,p,e,h=sys.argv[1:]; print(f'| {n} | {float(r):,.0f} | {float(p):.2f} | {float(r)/float(h):.2f} | {e} |')" \
    "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$2")" "$(awk '/^p95_ms/ {print $2}' <<<"$2")" \
    "$(awk '/^errors/ {print $2}' <<<"$2")" "$3"
}
echo "## Reads (64 connections)"
health="$(load get /healthz)"
health_rps="$(awk '/Requests\/sec/ {print $2}' <<<"$health")"
echo "| request | requests/s | p95 (ms) | ratio to /healthz | errors |"
echo "|---|---:|---:|---:|---:|"
row "GET /healthz" "$health" "$health_rps"
row "list, two filters: status=in_progress&priority=high" "$(load get '/api/v1/records?status=in_progress&priority=high')" "$health_rps"
row "list, two filters: direction=incoming&overdue=true" "$(load get '/api/v1/records?direction=incoming&overdue=true')" "$health_rps"
row "list sorted by due date: tag=finance&sort=due" "$(load get '/api/v1/records?tag=finance&sort=due')" "$health_rps"
row "my work: /api/v1/me/work" "$(load get '/api/v1/me/work')" "$health_rps"
row "one record: /api/v1/records/{id}" "$(load get "/api/v1/records/$record")" "$health_rps"
echo "RSS after the reads: $(rss) MiB"

echo "## Creates (64 connections, 10 s)"
echo "| request | requests/s | p95 (ms) | ratio to /healthz | errors |"
echo "|---|---:|---:|---:|---:|"
row "POST /api/v1/records" "$(load record / 10)" "$health_rps"

echo "## CSV export: everything the member may see, again, then about a twelfth of it"
# The server's RSS is sampled every 20 ms during each export; memory flat means the peak does
# not grow with the rows (the store's page cache, 64 MiB by default, fills on the first one).
export_once() { # query
  local peak_file="$work/peak"
  echo 0 >"$peak_file"
  ( peak=0; while kill -0 "$pid" 2>/dev/null; do
      r="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"
      [ "${r:-0}" -gt "$peak" ] && peak="$r" && echo "$peak" >"$peak_file"
      sleep 0.02
    done ) &
  local sampler=$!
  local before t0 rows took
  before="$(rss)"
  t0="$(date +%s%N)"
  rows="$(curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/records/export$1" | python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(sys.stdin)) - 1)')"
  took=$(( ($(date +%s%N) - t0) / 1000000 ))
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  echo "export$1: $rows rows in $took ms; RSS before $before MiB, peak during $(awk '{printf "%.1f", $1/1024}' "$peak_file") MiB"
}
export_once ""
export_once ""
export_once "?direction=incoming&priority=urgent"

echo "## Numbers unique after the creates"
curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/records/export?tag=load" | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))[1:]
numbers = [r[0] for r in rows]
print(f"load-test records this member sees: {len(numbers)}, distinct numbers: {len(set(numbers))}")
sys.exit(0 if len(numbers) == len(set(numbers)) else 1)'
