#!/usr/bin/env python
"""A loopback webhook receiver for Alertmanager tests: it counts what it is sent.

Every POST body (Alertmanager's webhook JSON) is kept; GET /stats answers
``{"requests": N, "alerts": {"<alertname>/<status>": N}, "groups": {"<groupKey>": N}}`` and
DELETE /stats resets the counts. In pytest: ``with WebhookSink() as sink: sink.url, sink.stats()``;
for test hosts: ``webhook_sink.py --bind 127.0.0.x --port N`` (it stops on SIGTERM).
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler

try:
    from tests.support.loopback_http import LoopbackServer
except ImportError:  # run as a script from tests/support
    from loopback_http import LoopbackServer


def _empty():
    return {"requests": 0, "alerts": {}, "groups": {}}


class _Handler(BaseHTTPRequestHandler):
    server_version = "webhook-sink"

    def log_message(self, *args):
        pass

    def _reply(self, code, payload=None):
        data = json.dumps(payload if payload is not None else {}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        if self.path != "/stats":
            self._reply(404, {"message": "not found"})
            return
        with self.server.lock:
            self._reply(200, self.server.stats)

    def do_DELETE(self):  # noqa: N802
        with self.server.lock:
            self.server.stats = _empty()
        self._reply(200)

    def do_POST(self):  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            message = json.loads(raw.decode() or "{}")
        except ValueError:
            self._reply(400, {"message": "not JSON"})
            return
        with self.server.lock:
            stats = self.server.stats
            stats["requests"] += 1
            key = message.get("groupKey", "")
            stats["groups"][key] = stats["groups"].get(key, 0) + 1
            for alert in message.get("alerts") or []:
                name = "%s/%s" % ((alert.get("labels") or {}).get("alertname", "?"), alert.get("status", "?"))
                stats["alerts"][name] = stats["alerts"].get(name, 0) + 1
            self.server.messages.append(message)
        self._reply(200)


class WebhookSink(LoopbackServer):
    path = "/alerts"

    def __init__(self, bind="127.0.0.1", port=0):
        super().__init__(_Handler, _empty(), bind, port)
        self.httpd.messages = []


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    WebhookSink(args.bind, args.port).serve_in_foreground()


if __name__ == "__main__":
    main()
