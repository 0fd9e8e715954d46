"""Freshness probe for bench/search.sh: how long from a committed change to its being found.

  search_probe.py BASE TOKENS COUNT [PATH...]
      COUNT times: a member (a line of TOKENS, "member_id token") renames their profile to a
      word nobody has, then searches for it every 10 ms until it is found. Prints the time
      from the rename's 200 to the first search that finds it: p50, p95, max.
      Each PATH (a search URL path) is then asked once right after each rename is found: the
      first ask after a commit, before anything of it is kept. Prints p50 and p95 of each.
"""

import json
import sys
import time
import urllib.parse
import urllib.request


def call(base, token, method, path, body=None, xff="10.90.0.1"):
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": xff}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    base, tokens_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cold_paths = sys.argv[4:]
    cold = {path: [] for path in cold_paths}
    tokens = [line.split()[1] for line in open(tokens_path) if line.strip()]
    searcher = tokens[-1]
    delays = []
    for n in range(count):
        token = tokens[n]
        me = call(base, token, "GET", "/api/v1/me/profile", xff=f"10.91.0.{n % 250 + 1}")["data"]
        word = f"Freshword{n}x{int(time.time())}"
        body = {
            "displayName": word,
            "birthDate": me["birthDate"],
            "gender": me["gender"],
            "wants": me["wants"],
            "intent": me["intent"],
            "bio": me["bio"],
            "interests": me["interests"],
            "placeId": (me.get("place") or {}).get("id"),
            "timeZone": me["timeZone"],
            "ageMin": me["ageMin"],
            "ageMax": me["ageMax"],
        }
        call(base, token, "PUT", "/api/v1/me/profile", body, xff=f"10.92.0.{n % 250 + 1}")
        written = time.perf_counter()
        q = urllib.parse.quote(word.lower() + " ")
        polls = 0
        while True:
            polls += 1
            found = call(base, searcher, "GET", f"/api/v1/search?q={q}",
                         xff=f"10.93.{polls // 250 % 250}.{polls % 250 + 1}")
            if found["pagination"]["total"] > 0:
                break
            if time.perf_counter() - written > 30:
                sys.exit(f"not found 30 s after the change: {word}")
            time.sleep(0.01)
        delays.append((time.perf_counter() - written) * 1000)
        for i, path in enumerate(cold_paths):
            started = time.perf_counter()
            call(base, tokens[(n + i) % len(tokens)], "GET", path, xff=f"10.94.{i}.{n % 250 + 1}")
            cold[path].append((time.perf_counter() - started) * 1000)
    print(f"freshness over {count} changes: p50 {percentile(delays, 50):.0f} ms, "
          f"p95 {percentile(delays, 95):.0f} ms, max {max(delays):.0f} ms")
    for path, times in cold.items():
        print(f"first ask after a commit: {path}: p50 {percentile(times, 50):.1f} ms, "
              f"p95 {percentile(times, 95):.1f} ms")


if __name__ == "__main__":
    main()
