#!/usr/bin/env bash
# Authenticated reads against the bare route, side by side in one run (not part of the tests).
#
#   bench/reads.sh [path/to/hearth]   (default: the static release binary)
#
# Starts Hearth on loopback with 127.0.0.1 as a trusted proxy, creates the owner, an API token
# and 20 uploads, then runs wrk (-t2 -c64 -d10s) against:
#   - GET /healthz                       the bare route
#   - GET /api/v1/me                     one object, bearer token
#   - GET /api/v1/media?limit=20         a list of 20, bearer token
#   - GET /static/hearth.js              an embedded file of about the list's size, no
#                                        database or JSON: what moving that many bytes costs
# Each request carries a different X-Forwarded-For address (bench/xff.lua), so the per-client
# API limit counts clients as it would in production. Prints requests/s and the ratio of each
# authenticated read to /healthz; the targets are 0.6 for one object and 0.5 for a list.
# Needs: python3, curl, wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-target/x86_64-unknown-linux-gnu/release/hearth}"
[ -x "$bin" ] || { echo "no binary at $bin (run packaging/build-static.sh)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-reads.XXXXXX")"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/out"
env -u HEARTH_CONFIG HEARTH_SERVER__TRUSTED_PROXIES=127.0.0.1 HEARTH_LOG__LEVEL=warn \
  "$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/out" 2>"$work/log" &
pid=$!
exec 3<"$work/out"
base="" link=""
while IFS= read -r -t 30 line <&3; do
  case "$line" in
    "Hearth is listening on "*) base="${line#Hearth is listening on }" ;;
    *"create the owner account: "*) link="${line##* }"; break ;;
  esac
done
[ -n "$base" ] && [ -n "$link" ] || { echo "server did not start" >&2; cat "$work/log" >&2; exit 1; }

# The owner, a read-write token, API limits out of the way for one client, and 20 uploads.
token="$(python3 - "$base" "$link" <<'PY'
import http.cookiejar, json, re, sys, urllib.request, zlib, struct
base, link = sys.argv[1], sys.argv[2]
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
def call(method, path, body=None, headers=None, raw=None, ctype="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method, headers={"content-type": ctype, **(headers or {})})
    with web.open(req) as resp:
        text = resp.read()
        return json.loads(text) if text else None
page = web.open(link).read().decode()
csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
password = "a long and unusual passphrase"
form = urllib.parse.urlencode({"csrf": csrf, "username": "owner", "email": "owner@example.test", "password": password, "password_confirm": password}).encode()
web.open(urllib.request.Request(link, data=form, method="POST"))
me = call("POST", "/api/v1/session", {"login": "owner", "password": password})
h = {"x-csrf-token": me["data"]["csrfToken"]}
call("PATCH", "/api/v1/admin/settings", {"apiRequestsPerSecond": 10000, "media": {"uploadsPerHour": 1000}}, h)
made = call("POST", "/api/v1/me/tokens", {"name": "bench", "write": True}, h)
def png(seed):
    w = 64
    rows = b"".join(b"\x00" + bytes((x * seed + y) % 256 for x in range(w * 3)) for y in range(w))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, w, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
for i in range(20):
    boundary = "hearthbench"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p{i}.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + png(i + 1) + f"\r\n--{boundary}--\r\n".encode()
    call("POST", "/api/v1/media/uploads", raw=body, headers=h, ctype=f"multipart/form-data; boundary={boundary}")
print(made["data"]["secret"])
PY
)"
# Let the processing jobs finish before measuring.
for _ in $(seq 1 100); do
  ready="$(curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/media?limit=20" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(sum(m["state"]=="ready" for m in d))')"
  [ "$ready" = 20 ] && break
  sleep 0.2
done

run() {
  local path=$1
  BENCH_TOKEN="$token" BENCH_PATH="$path" wrk -t2 -c64 -d10s -s bench/xff.lua "$base" 2>&1 |
    awk '/Requests\/sec/ {print $2}'
}
size() {
  curl -fsS -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $token" "$base$1"
}
health="$(run /healthz)"
me="$(run /api/v1/me)"
list="$(run '/api/v1/media?limit=20')"
static="$(run /static/hearth.js)"
python3 - "$health" "$me" "$list" "$static" "$(size /healthz)" "$(size /api/v1/me)" \
  "$(size '/api/v1/media?limit=20')" "$(size /static/hearth.js)" <<'PY'
import sys
health, me, media, static = map(float, sys.argv[1:5])
sizes = list(map(int, sys.argv[5:9]))
print("| route | body (bytes) | requests/s | ratio to /healthz | target |")
print("|---|---:|---:|---:|---:|")
print(f"| GET /healthz | {sizes[0]:,} | {health:,.0f} | 1.00 | |")
print(f"| GET /api/v1/me (bearer) | {sizes[1]:,} | {me:,.0f} | {me / health:.2f} | 0.60 |")
print(f"| GET /api/v1/media?limit=20 (bearer) | {sizes[2]:,} | {media:,.0f} | {media / health:.2f} | 0.50 |")
print(f"| GET /static/hearth.js (embedded file, for scale) | {sizes[3]:,} | {static:,.0f} | {static / health:.2f} | |")
PY
