#!/usr/bin/env bash
# Memory under bursts of heavy work (not part of the tests).
#
#   bench/memory.sh [path/to/hearth]   (default: the static release binary)
#
# Starts Hearth on loopback (127.0.0.1 trusted as a proxy, so X-Forwarded-For gives each
# request its own client address), then, resetting the peak between bursts:
#   1. 512 sign-in attempts at once, from 512 addresses (each costs an argon2id check with
#      19 MiB of working memory, or a 503 once the hashing queue is full);
#   2. 24, then 64 uploads at once of a 12-megapixel JPEG, each checked and processed into
#      three WebP variants.
# For each burst it prints the answers, the peak RSS (VmHWM) and the RSS 3 s after the burst
# ended. Targets: sign-ins under 100 MiB at peak, uploads under 256 MiB, back near idle after.
# Then it sends twice 3,000 requests with made-up methods and paths and prints the size of
# /metrics before and after each (it must not grow with what clients send).
# Needs: python3 with Pillow (pip install Pillow) to draw the photo; root or the same user as
# the server (to reset its peak through /proc/PID/clear_refs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-target/x86_64-unknown-linux-gnu/release/hearth}"
[ -x "$bin" ] || { echo "no binary at $bin (run packaging/build-static.sh)" >&2; exit 1; }
python3 -c 'import PIL' 2>/dev/null || { echo "Pillow missing: pip install Pillow" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-memory.XXXXXX")"
trap 'rm -rf "$work"' EXIT
python3 - "$bin" "$work" <<'PY'
import http.client, json, os, random, re, subprocess, sys, threading, time, urllib.parse

BIN, WORK = sys.argv[1], sys.argv[2]
PASSWORD = "a long and unusual passphrase"
AFTER = float(os.environ.get("BENCH_AFTER_SECONDS", "3"))

env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
env.update(HEARTH_SERVER__TRUSTED_PROXIES="127.0.0.1", HEARTH_LOG__LEVEL="warn", NO_COLOR="1")
proc = subprocess.Popen([BIN, "serve", "--data-dir", f"{WORK}/data", "--listen", "127.0.0.1:0"],
                        stdout=subprocess.PIPE, stderr=open(f"{WORK}/log", "wb"), env=env, text=True)
base = link = None
for line in proc.stdout:
    if line.startswith("Hearth is listening on "):
        base = line.split()[-1]
    if "create the owner account: " in line:
        link = line.split()[-1]
        break
host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port

def status(field):
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0

def reset_peak():
    with open(f"/proc/{proc.pid}/clear_refs", "w") as f:
        f.write("5")

def request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(host, port, timeout=600)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data, resp

# The owner, signed in through the API (cookie and CSRF token by hand).
_, page, resp = request("GET", urllib.parse.urlsplit(link).path)
anon = resp.getheader("set-cookie").split(";")[0]
csrf = re.search(rb'name="csrf" value="([^"]+)"', page)[1].decode()
form = urllib.parse.urlencode({"csrf": csrf, "username": "owner", "email": "owner@example.test",
                               "password": PASSWORD, "password_confirm": PASSWORD})
request("POST", urllib.parse.urlsplit(link).path, form,
        {"content-type": "application/x-www-form-urlencoded", "cookie": anon})
_, body, resp = request("POST", "/api/v1/session", json.dumps({"login": "owner", "password": PASSWORD}),
                        {"content-type": "application/json"})
session = resp.getheader("set-cookie").split(";")[0]
auth = {"cookie": session, "x-csrf-token": json.loads(body)["data"]["csrfToken"]}
request("PATCH", "/api/v1/admin/settings",
        json.dumps({"apiRequestsPerSecond": 10000, "media": {"uploadsPerHour": 1000, "quotaMib": 100000}}),
        {"content-type": "application/json", **auth})

rows = []
def burst(name, n, make_request):
    time.sleep(1)
    idle = status("VmRSS")
    reset_peak()
    start = threading.Barrier(n)
    answers = []
    def one(i):
        start.wait()
        answers.append(make_request(i))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    return idle, answers, t0

def finish(name, idle, answers, t0, settle=None):
    if settle: settle()
    took = time.perf_counter() - t0
    peak = status("VmHWM")
    time.sleep(AFTER)
    after = status("VmRSS")
    counts = {}
    for a in answers: counts[a] = counts.get(a, 0) + 1
    rows.append((name, ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())), f"{took:.1f}", idle, peak, after))

# 1. Sign-ins: unknown accounts (the same work as known ones), 512 addresses.
def sign_in(i):
    code, _, _ = request("POST", "/api/v1/session",
                         json.dumps({"login": f"nobody{i}", "password": "not the password at all"}),
                         {"content-type": "application/json", "x-forwarded-for": f"10.0.{i // 256}.{i % 256}"})
    return code
idle, answers, t0 = burst("sign-ins", 512, sign_in)
finish("512 sign-in attempts at once", idle, answers, t0)

# 2. Uploads of a 12-megapixel photo.
from PIL import Image, ImageDraw
random.seed(7)
img = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
d = ImageDraw.Draw(img)
for _ in range(300):
    x, y, s = random.randrange(4000), random.randrange(3000), random.randrange(20, 400)
    d.ellipse((x, y, x + s, y + s), fill=tuple(random.randrange(256) for _ in range(3)))
img.save(f"{WORK}/photo.jpg", quality=90)
photo = open(f"{WORK}/photo.jpg", "rb").read()
boundary = "hearthbench"
def upload(i):
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p{i}.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    code, _, _ = request("POST", "/api/v1/media/uploads", body,
                         {"content-type": f"multipart/form-data; boundary={boundary}", **auth,
                          "x-forwarded-for": f"10.1.{i // 256}.{i % 256}"})
    return code
def processed():
    while True:
        _, body, _ = request("GET", "/api/v1/media?limit=100", headers=auth)
        states = [m["state"] for m in json.loads(body)["data"]]
        if states and all(s != "processing" for s in states):
            return
        time.sleep(0.2)
for n in (24, 64):
    idle, answers, t0 = burst(f"{n} uploads", n, upload)
    finish(f"{n} uploads of a 12 MP photo at once (checked and processed)", idle, answers, t0, processed)
    # The next burst starts from an empty library.
    _, body, _ = request("GET", "/api/v1/media?limit=100", headers=auth)
    for m in json.loads(body)["data"]:
        request("DELETE", f"/api/v1/media/{m['id']}", headers=auth)

# 3. /metrics against made-up methods and paths: 3,000 requests, each a new method and path.
def metrics_size():
    _, body, _ = request("GET", "/metrics")
    return len(body)
metrics_sizes = [metrics_size()]
for round in range(2):
    for i in range(3000):
        request(f"X{round}N{i}METHOD", f"/made/up/{round}/{i}")
    metrics_sizes.append(metrics_size())

proc.terminate()
proc.wait(timeout=30)
print(f"/metrics: {metrics_sizes[0]:,} bytes before, {metrics_sizes[1]:,} after 3,000 requests "
      f"with made-up methods and paths (the unmatched series appear), {metrics_sizes[2]:,} after "
      "3,000 more")
print()
print("| burst | answers | seconds | RSS before (MiB) | peak RSS (MiB) | RSS 3 s after (MiB) |")
print("|---|---|---:|---:|---:|---:|")
for name, answers, took, idle, peak, after in rows:
    print(f"| {name} | {answers} | {took} | {idle:.1f} | {peak:.1f} | {after:.1f} |")
PY
