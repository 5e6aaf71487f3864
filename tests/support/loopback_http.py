"""The shared shape of the tests' loopback HTTP servers: a threaded server with a stats dict
behind a lock, run in a thread under ``with`` (pytest) or in the foreground (test hosts)."""

from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer


class LoopbackServer(object):
    """``handler`` reads and updates ``self.server.stats`` under ``self.server.lock``."""

    path = "/"

    def __init__(self, handler, stats, bind="127.0.0.1", port=0):
        self.httpd = ThreadingHTTPServer((bind, port), handler)
        self.httpd.daemon_threads = True
        self.httpd.lock = threading.Lock()
        self.httpd.stats = stats
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def url(self):
        host, port = self.httpd.server_address[:2]
        return "http://%s:%d%s" % (host, port, self.path)

    def stats(self):
        with self.httpd.lock:
            return json.loads(json.dumps(self.httpd.stats))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def serve_in_foreground(self):
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.httpd.server_close()
