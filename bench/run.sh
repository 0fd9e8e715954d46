#!/usr/bin/env bash
# Benchmarks of the release binary (not part of the test suite).
#
#   bench/run.sh              # build the static release binary, then measure
#   bench/run.sh --no-build   # measure the existing target/x86_64-unknown-linux-gnu/release/hearth
#
# Reports, as markdown for BENCHMARKS.md: binary size; time from exec to the first 200 on
# /healthz (fresh data dir, and restart on an existing one; 10 runs each); RSS right after start
# and after 2 s idle; /healthz requests/s with wrk (-t2 -c64 -d10s, loopback); then
# `hearth bench-store` if the binary has that command. Plus the machine it ran on.
# Needs: python3, wrk (apt-get install wrk), and what packaging/build-static.sh needs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() {
  printf 'bench: ERROR: %s\n' "$*" >&2
  exit 1
}

build_args=()
case "${1:-}" in
  --no-build) build_args=(--no-build) ;;
  "") ;;
  *) die "unknown argument '$1' (usage: $0 [--no-build])" ;;
esac

command -v python3 >/dev/null 2>&1 || die "python3 is needed"
command -v wrk >/dev/null 2>&1 || die "wrk is needed (apt-get install wrk)"

bin="$(packaging/build-static.sh "${build_args[@]}" | tail -n 1)"
bin="$(realpath "$bin")"
[ -x "$bin" ] || die "no binary at $bin"

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "bench: measuring $bin (work dir $work)" >&2
python3 - "$bin" "$work" <<'PY'
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

BIN, WORK = sys.argv[1], sys.argv[2]
RUNS = 10
STARTUP_LIMIT_S = 30


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env():
    # Our own HEARTH_* variables must not configure the server under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["NO_COLOR"] = "1"
    return env


def healthz(port):
    """Status of GET /healthz, or None while nothing answers."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


class Server:
    def __init__(self, data_dir, tag):
        self.port = free_port()
        self.log_path = os.path.join(WORK, f"{tag}.log")
        self.log = open(self.log_path, "ab")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [BIN, "serve", "--data-dir", data_dir, "--listen", f"127.0.0.1:{self.port}"],
            cwd=WORK, env=child_env(), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
        )

    def wait_ready(self):
        """Seconds from exec to the first 200 on /healthz (polled every ~1 ms)."""
        deadline = self.t0 + STARTUP_LIMIT_S
        while True:
            if healthz(self.port) == 200:
                return time.perf_counter() - self.t0
            if self.proc.poll() is not None:
                self.fail(f"exited with code {self.proc.returncode} before /healthz answered")
            if time.perf_counter() > deadline:
                self.fail(f"/healthz did not answer 200 within {STARTUP_LIMIT_S} s")
            time.sleep(0.001)

    def status_kb(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        """SIGTERM, then seconds until exit; fails on a non-zero exit code."""
        t = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.fail("did not exit within 30 s of SIGTERM")
        elapsed = time.perf_counter() - t
        self.log.close()
        if code != 0:
            self.fail(f"exit code {code} after SIGTERM")
        return elapsed

    def fail(self, why):
        if self.proc.poll() is None:
            self.proc.kill()
        self.log.flush()
        with open(self.log_path, "rb") as f:
            tail = f.read()[-3000:].decode(errors="replace")
        sys.exit(f"bench: server {why}\n--- server log (tail) ---\n{tail}")


def ms(s):
    return f"{s * 1000:.1f}"


rows = []  # (metric, value)

size = os.path.getsize(BIN)
rows.append(("Binary size (static, stripped)", f"{size / 1048576:.1f} MiB ({size:,} bytes)"))

# --- start-up: fresh data dir, then restarts on the same dir ------------------------------------
cold, warm, stops = [], [], []
for i in range(RUNS):
    data = os.path.join(WORK, f"start-{i}")
    s = Server(data, f"start-{i}")
    cold.append(s.wait_ready())
    stops.append(s.stop())
    s = Server(data, f"restart-{i}")
    warm.append(s.wait_ready())
    stops.append(s.stop())
log(f"start-up: fresh {', '.join(ms(x) for x in cold)} ms; restart {', '.join(ms(x) for x in warm)} ms")
rows.append((f"Exec → first 200 on /healthz, new data dir (median / min of {RUNS})",
             f"{ms(statistics.median(cold))} ms / {ms(min(cold))} ms"))
rows.append((f"Exec → first 200 on /healthz, existing data dir (median / min of {RUNS})",
             f"{ms(statistics.median(warm))} ms / {ms(min(warm))} ms"))
rows.append(("SIGTERM → exit, idle (median / max)",
             f"{ms(statistics.median(stops))} ms / {ms(max(stops))} ms"))

# --- memory and throughput on one server --------------------------------------------------------
s = Server(os.path.join(WORK, "load"), "load")
s.wait_ready()
rss_start = s.status_kb("VmRSS")
time.sleep(2)
rss_idle = s.status_kb("VmRSS")
rows.append(("RSS right after start", f"{rss_start / 1024:.1f} MiB"))
rows.append(("RSS after 2 s idle", f"{rss_idle / 1024:.1f} MiB"))

url = f"http://127.0.0.1:{s.port}/healthz"
subprocess.run(["wrk", "-t2", "-c64", "-d2s", url], check=True, capture_output=True)  # warm-up
log(f"wrk -t2 -c64 -d10s --latency {url}")
out = subprocess.run(["wrk", "-t2", "-c64", "-d10s", "--latency", url],
                     check=True, capture_output=True, text=True).stdout
print(out, file=sys.stderr)
rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errors = re.search(r"Socket errors:.*", out)
rows.append(("/healthz throughput (wrk -t2 -c64 -d10s, loopback)",
             f"{float(rps.group(1)):,.0f} req/s" if rps else "n/a"))
if lat:
    rows.append(("/healthz latency p50 / p90 / p99 under that load",
                 " / ".join(lat.get(p, "?") for p in ("50", "90", "99"))))
if non2xx:
    rows.append(("⚠ non-2xx responses during the run", non2xx.group(1)))
if errors:
    rows.append(("⚠ wrk socket errors", errors.group(0).split(":", 1)[1].strip()))
rows.append(("Peak RSS (VmHWM) after the load run", f"{s.status_kb('VmHWM') / 1024:.1f} MiB"))
rows.append(("RSS after the load run", f"{s.status_kb('VmRSS') / 1024:.1f} MiB"))
s.stop()

# --- store group-commit benchmark, if this build has it -----------------------------------------
help_text = subprocess.run([BIN, "help"], capture_output=True, text=True, env=child_env())
store_out = None
if re.search(r"^\s+bench-store\b", help_text.stdout + help_text.stderr, re.M):
    log("hearth bench-store")
    r = subprocess.run([BIN, "bench-store", "--data-dir", os.path.join(WORK, "bench-store")],
                       capture_output=True, text=True, env=child_env(), cwd=WORK)
    if r.returncode != 0:
        sys.exit(f"bench: hearth bench-store failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    store_out = r.stdout.strip()
else:
    log("this build has no bench-store command: skipped")

# --- machine ---------------------------------------------------------------------------------------
def first(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


mem_kb = first("/proc/meminfo", "MemTotal").split()[0]
machine = [
    ("uname -a", subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()),
    ("nproc", subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()),
    ("CPU", first("/proc/cpuinfo", "model name")),
    ("Memory", f"{int(mem_kb) / 1048576:.1f} GiB" if mem_kb.isdigit() else "?"),
    ("Date", time.strftime("%Y-%m-%d %H:%M %Z")),
]

print("## Appliance benchmarks\n")
print("| Metric | Result |")
print("|---|---|")
for k, v in rows:
    print(f"| {k} | {v} |")
print("\nwrk runs on the same machine as the server, so the two share the cores.")
if store_out is not None:
    print("\n### Store group commit (`hearth bench-store`)\n")
    print("```")
    print(store_out)
    print("```")
print("\n### Machine\n")
print("| | |")
print("|---|---|")
for k, v in machine:
    print(f"| {k} | `{v}` |" if k == "uname -a" else f"| {k} | {v} |")
PY
