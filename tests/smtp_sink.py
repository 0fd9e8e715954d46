"""A real SMTP server for the tests (aiosmtpd on loopback).

Prints `READY <port>` once it accepts connections, then one JSON line per received message:
{"from": ..., "to": [...], "data": "<the whole message>"}. Exits when stdin closes, so it
never outlives the test that started it.
"""
import json
import socket
import sys

from aiosmtpd.controller import Controller


class Capture:
    async def handle_DATA(self, server, session, envelope):
        line = json.dumps({
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "data": envelope.content.decode("utf-8", "replace"),
        })
        print(line, flush=True)
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
controller = Controller(Capture(), hostname="127.0.0.1", port=port)
controller.start()
print(f"READY {port}", flush=True)
sys.stdin.read()
controller.stop()
