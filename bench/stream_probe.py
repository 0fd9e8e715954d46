"""Live-stream probes for bench/messages.sh (needs the `websockets` package).

  stream_probe.py pairs BASE TOKENS OUT N
      From the members in TOKENS ("member_id token" lines), finds N disjoint matched pairs
      among them, opens their conversations, and writes OUT with one "token conversation"
      line per sender (both members of each pair send).
  stream_probe.py fanout BASE SENDER_TOKEN CONVERSATION RECIPIENT_TOKEN COUNT
      The recipient listens on /api/v1/stream; the sender posts COUNT messages one after
      another; for each, the time from the acknowledgement (the 201) to the recipient's
      message:new frame. Prints p50, p95 and max in ms.
  stream_probe.py idle BASE TOKENS FIRST COUNT PER_MEMBER
      Opens COUNT streams, PER_MEMBER per member starting at line FIRST of TOKENS, prints
      "OPEN <n>" when all are open, then holds them (answering pings) until killed.
"""

import asyncio
import http.client
import json
import sys
import time
import urllib.parse
import urllib.request

import websockets


def api(base, token, method, path, body=None, xff="10.99.0.1"):
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": xff}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def pairs(base, tokens_path, out_path, wanted):
    members = [line.split() for line in open(tokens_path) if line.strip()]
    token_of = dict(members)
    taken, found = set(), []
    for i, (member, token) in enumerate(members):
        if len(found) >= wanted:
            break
        if member in taken:
            continue
        page = api(base, token, "GET", "/api/v1/matches?limit=100", xff=f"10.98.{i // 256 % 256}.{i % 256}")
        for m in page["data"]:
            other = m["member"].get("memberId") or m["member"]["shown"]["memberId"]
            if other in token_of and other not in taken and other != member:
                taken.update((member, other))
                found.append((member, other))
                break
    if len(found) < wanted:
        sys.exit(f"only {len(found)} matched pairs among the token members; use more --tokens")
    with open(out_path, "w") as out:
        for n, (a, b) in enumerate(found):
            conv = api(base, token_of[a], "POST", "/api/v1/conversations", {"memberId": b},
                       xff=f"10.97.{n // 256 % 256}.{n % 256}")["data"]["id"]
            out.write(f"{token_of[a]} {conv}\n{token_of[b]} {conv}\n")
    print(f"{len(found)} pairs, {2 * len(found)} senders")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def fanout(base, sender, conversation, recipient, count):
    url = base.replace("http://", "ws://", 1) + "/api/v1/stream"
    host = urllib.parse.urlsplit(base)
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {recipient}",
                                                           "X-Forwarded-For": "10.96.0.1"},
                                  max_size=None) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        conn = http.client.HTTPConnection(host.hostname, host.port)
        latencies = []
        for n in range(count):
            body = json.dumps({"text": f"Probe {n}"})
            conn.request("POST", f"/api/v1/conversations/{conversation}/messages", body=body, headers={
                "Authorization": f"Bearer {sender}", "Content-Type": "application/json",
                "X-Forwarded-For": f"10.96.{n // 256 % 256}.{n % 256 + 1}"})
            resp = conn.getresponse()
            sent = json.load(resp)
            acked = time.perf_counter()
            assert resp.status == 201, sent
            wanted = sent["data"]["id"]
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "message:new" and frame["data"]["messageId"] == wanted:
                    break
            # A frame already waiting when the ack was read counts as no delay.
            latencies.append(max(0.0, time.perf_counter() - acked) * 1000)
        print(f"fan-out over {count} sends: p50 {percentile(latencies, 50):.2f} ms, "
              f"p95 {percentile(latencies, 95):.2f} ms, max {max(latencies):.2f} ms")


async def idle(base, tokens_path, first, count, per_member):
    url = base.replace("http://", "ws://", 1) + "/api/v1/stream"
    tokens = [line.split()[1] for line in open(tokens_path) if line.strip()]
    sockets = []
    gate = asyncio.Semaphore(64)

    async def open_one(i):
        token = tokens[first + i // per_member]
        async with gate:
            ws = await websockets.connect(url, additional_headers={
                "Authorization": f"Bearer {token}",
                "X-Forwarded-For": f"10.{95 - first // 60000}.{i // 256 % 256}.{i % 256}"},
                open_timeout=60, ping_interval=None, max_queue=4)
        sockets.append(ws)

    await asyncio.gather(*(open_one(i) for i in range(count)))
    print(f"OPEN {len(sockets)}", flush=True)
    await asyncio.Event().wait()


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "pairs":
        pairs(args[0], args[1], args[2], int(args[3]))
    elif mode == "fanout":
        asyncio.run(fanout(args[0], args[1], args[2], args[3], int(args[4])))
    elif mode == "idle":
        asyncio.run(idle(args[0], args[1], int(args[2]), int(args[3]), int(args[4])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
