"""A real Prometheus process on a free loopback port, for one test; always stopped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class PrometheusProcess(object):
    """``with PrometheusProcess(binary, tmp_path, config_text) as prom: prom.query('up')``.

    ``PORT`` in the config text is replaced by the port it listens on. Start-up waits at most
    30 s for /-/ready; the process is terminated (then killed) on exit.
    """

    def __init__(self, binary, workdir, config, flags=(), env=None, name="prometheus"):
        self.port = free_port()
        self.workdir = workdir
        self.config_path = workdir / ("%s.yml" % name)
        self.config_path.write_text(config.replace("PORT", str(self.port)))
        self.log = workdir / ("%s.log" % name)
        self.args = [binary, "--config.file=%s" % self.config_path,
                     "--web.listen-address=127.0.0.1:%d" % self.port] + list(flags)
        if not any(flag.startswith(("--storage.", "--agent")) for flag in flags):
            self.args.append("--storage.tsdb.path=%s" % (workdir / ("%s-data" % name)))
        self.env = dict(os.environ, **(env or {}))
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def __enter__(self):
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("prometheus exited: %s" % self.log.read_text()[-2000:])
            try:
                urllib.request.urlopen(self.url + "/-/ready", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise AssertionError("prometheus not ready in 30 s: %s" % self.log.read_text()[-2000:])

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            return answer.read().decode()

    def query(self, expr):
        data = json.loads(self.get("/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
        return data["data"]["result"]

    def wait_for(self, expr, predicate=bool, timeout=30):
        """Poll ``expr`` until ``predicate(result)``; the last result either way."""
        deadline = time.monotonic() + timeout
        result = self.query(expr)
        while not predicate(result) and time.monotonic() < deadline:
            time.sleep(0.5)
            result = self.query(expr)
        return result

    def __exit__(self, *exc):
        stop_process(self.proc)


def stop_process(proc):
    """Terminate a test's child process (then kill it), waiting boundedly; None or ended: nothing."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
