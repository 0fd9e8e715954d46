#!/usr/bin/env bash
# Messages and the live stream under load (not part of the tests):
#
#   bench/messages.sh [path/to/hearth] [members]   (default: the static release binary, 3000)
#
# 1. `hearth demo-data --members N --tokens N` (demo members like each other; mutual likes
#    are matches), then 128 disjoint matched pairs among them open conversations: 256 senders.
# 2. Durable sends: wrk -c256 for 10 s, each request the next sender posting a message in
#    its conversation (bench/messages.lua); every 201 is a message committed with fsync.
#    (A member may send 2,000 messages a day: the runs stay under that for 256 senders.)
#    Messages/s, p95, and /healthz at -c256 in the same run for the ratio.
# 3. Fan-out: while wrk keeps 256 senders busy, one more pair: 300 sends one after another,
#    each timed from its 201 to the recipient's message:new frame on /api/v1/stream.
# 4. Idle streams, on a fresh server process: 19,500 WebSockets (10 per member) held open by
#    four client processes; server RSS before, at 10,000 and at 19,500. This machine caps open files at 20,000 per
#    process (the hard limit cannot be raised here), so 20,000 is projected from the slope.
# Needs: python3 with `websockets` (pip install websockets), curl, wrk, GNU time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-target/x86_64-unknown-linux-gnu/release/hearth}"
members="${2:-3000}"
[ -x "$bin" ] || { echo "no binary at $bin (run packaging/build-static.sh)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
python3 -c 'import websockets' 2>/dev/null || { echo "python3 websockets missing: pip install websockets" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-messages.XXXXXX")"
pid=""
clients=()
cleanup() {
  for c in "${clients[@]}"; do kill "$c" 2>/dev/null || true; done
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export HEARTH_SERVER__TRUSTED_PROXIES=127.0.0.1 HEARTH_LOG__LEVEL=warn HEARTH_SERVER__MAX_STREAMS=25000
unset HEARTH_CONFIG

echo "## Setup: $members demo members"
/usr/bin/time -f "demo-data: %e s" "$bin" demo-data --data-dir "$work/data" --members "$members" \
  --tokens "$members" --tokens-file "$work/tokens.txt" 2>&1 | grep -E 'matches|demo-data'
start_server() {
  "$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/out" 2>"$work/log" &
  pid=$!
  base=""
  for _ in $(seq 1 6000); do
    base="$(sed -n 's/^Hearth is listening on //p' "$work/out" 2>/dev/null | head -1)"
    [ -n "$base" ] && break
    sleep 0.005
  done
  [ -n "$base" ] || { echo "server did not start" >&2; cat "$work/log" >&2; exit 1; }
}
start_server
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$pid/status"; }
python3 bench/stream_probe.py pairs "$base" "$work/tokens.txt" "$work/pairs.txt" 129
# The last pair is the fan-out probe; the others are the 256 wrk senders.
tail -2 "$work/pairs.txt" >"$work/probe.txt"
head -n -2 "$work/pairs.txt" >"$work/senders.txt"

load() { # connections, seconds, script, [path]
  BENCH_SENDERS="$work/senders.txt" BENCH_TOKENS="$work/tokens.txt" BENCH_MODE=get BENCH_PATH="${4:-/healthz}" \
    wrk -t2 -c"$1" -d"$2"s --timeout 10s -s "$3" "$base" 2>&1
}
row() { # name, wrk output, healthz rps
  python3 -c "import sys; n,r,p,e,h=sys.argv[1:]; print(f'| {n} | {float(r):,.0f} | {float(p):.2f} | {float(r)/float(h):.2f} | {e} |')" \
    "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$2")" "$(awk '/^p95_ms/ {print $2}' <<<"$2")" \
    "$(awk '/^errors/ {print $2}' <<<"$2")" "$3"
}

echo "## Durable sends"
health="$(load 256 10 bench/community.lua)"
health_rps="$(awk '/Requests\/sec/ {print $2}' <<<"$health")"
echo "| route | requests/s | p95 (ms) | ratio to /healthz | errors |"
echo "|---|---:|---:|---:|---:|"
row "GET /healthz (c256)" "$health" "$health_rps"
sends="$(load 256 10 bench/messages.lua)"
row "POST …/messages, 256 senders (c256)" "$sends" "$health_rps"
echo "durable sends/s (201s): $(awk '/^ok_per_s/ {print $2}' <<<"$sends")"
grep '^refused' <<<"$sends" || true
echo "RSS after the sends: $(rss) MiB"

echo "## Fan-out under load"
load 256 15 bench/messages.lua >"$work/fanout-load" &
loader=$!
sleep 2
read -r sender conversation < <(head -1 "$work/probe.txt")
read -r recipient _ < <(tail -1 "$work/probe.txt")
python3 bench/stream_probe.py fanout "$base" "$sender" "$conversation" "$recipient" 300
wait "$loader"
echo "meanwhile: $(awk '/^ok_per_s/ {print $2}' "$work/fanout-load") sends/s, p95 $(awk '/^p95_ms/ {print $2}' "$work/fanout-load") ms, errors $(awk '/^errors/ {print $2}' "$work/fanout-load")"
grep '^refused' "$work/fanout-load" || true

echo "## Idle streams (a fresh server process on the same data)"
kill "$pid"; wait "$pid" 2>/dev/null || true
start_server
curl -fsS -o /dev/null "$base/healthz"
echo "RSS with no streams: $(rss) MiB"
open_streams() { # first token line, count -> waits for OPEN
  python3 bench/stream_probe.py idle "$base" "$work/tokens.txt" "$1" "$2" 10 >"$work/idle.$1" 2>&1 &
  clients+=($!)
}
wait_open() { # files...
  for f in "$@"; do
    for _ in $(seq 1 12000); do grep -q '^OPEN' "$f" 2>/dev/null && break; sleep 0.05; done
    grep -q '^OPEN' "$f" || { echo "streams did not open:" >&2; cat "$f" >&2; exit 1; }
  done
}
t0="$(date +%s%N)"
open_streams 0 5000; open_streams 500 5000
wait_open "$work/idle.0" "$work/idle.500"
sleep 3
at10k="$(rss)"
echo "RSS with 10,000 idle streams: $at10k MiB"
open_streams 1000 5000; open_streams 1500 4500
wait_open "$work/idle.1000" "$work/idle.1500"
echo "19,500 streams opened in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
sleep 3
at19k="$(rss)"
echo "RSS with 19,500 idle streams: $at19k MiB"
python3 -c "import sys; a,b=map(float,sys.argv[1:]); per=(b-a)/9500; print(f'per stream: {per*1024:.1f} KiB; projected at 20,000: {b+per*500:.0f} MiB')" "$at10k" "$at19k"
curl -fsS "$base/healthz" >/dev/null && echo "server still answers"
