"""A loopback HTTP proxy that counts AWS API calls on their way to the moto server.

Clients point AWS_ENDPOINT_URL at the proxy instead of moto; every request is forwarded
unchanged (moto does not check SigV4 signatures, so the Host header may differ) and counted by
operation: the X-Amz-Target header for JSON APIs (ECS, SSM, KMS), the Action parameter for query
APIs, and "S3 <METHOD> <bucket|object>[?subresource]" for S3's REST API. Counting on the wire
sees what the modules really send (retries included), which counting inside one module
could not compare with amazon.aws.s3_object. Used by benchmarks/otel_rollout.py.
"""

from __future__ import annotations

import collections
import http.client
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
               "transfer-encoding", "upgrade"}


def operation(method, path, headers, body):
    """A short name for one AWS request."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    parsed = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    if "Action" in query:
        return query["Action"][0]
    if method == "POST" and body and b"Action=" in body:
        form = urllib.parse.parse_qs(body.decode("utf-8", errors="replace"))
        if "Action" in form:
            return form["Action"][0]
    parts = [p for p in parsed.path.split("/") if p]
    kind = "object" if len(parts) > 1 else ("bucket" if parts else "service")
    ignored = ("prefix", "max-keys", "encoding-type", "list-type", "delimiter")
    sub = sorted(k for k in query if not k.startswith("X-Amz") and k not in ignored)
    return "S3 %s %s%s" % (method, kind, "?" + ",".join(sub) if sub else "")


class CountingProxy:
    def __init__(self, upstream, host="127.0.0.1", port=0):
        split = urllib.parse.urlsplit(upstream)
        self.upstream_host, self.upstream_port = split.hostname, split.port or 80
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy.lock:
                    proxy.counts[operation(self.command, self.path, self.headers, body)] += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    self.send_response(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                    if self.command == "HEAD":
                        self.send_header("Content-Length", response.getheader("Content-Length") or "0")
                        self.end_headers()
                    else:
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _forward

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = None

    @property
    def endpoint(self):
        host, port = self.server.server_address[:2]
        return "http://%s:%d" % (host, port)

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()
        return self

    def take(self):
        """The counts since the last take(), and reset them."""
        with self.lock:
            counts = collections.Counter(self.counts)
            self.counts.clear()
        return counts

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        if self.thread:
            self.thread.join(timeout=10)
