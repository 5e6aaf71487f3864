"""A real moto server on a free loopback port, for tests and benchmarks.

Used by the pytest fixtures in tests/conftest.py and by tests/hosts/moto.sh. The server runs in
its own process (modules under test run in ansible-playbook subprocesses and must reach it over
HTTP); every start is bounded in time and every process started here is stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
}

SERVER_ENV = {
    # ECS services report their tasks running, so the services_stable waiter can finish.
    "MOTO_ECS_SERVICE_RUNNING": "1",
    # AWS-managed policy ARNs (arn:aws:iam::aws:policy/...) resolve.
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class MotoServer:
    def __init__(self, host="127.0.0.1", port=None):
        self.host = host
        self.port = port or free_port(host)
        self.process = None

    @property
    def endpoint(self):
        return "http://%s:%d" % (self.host, self.port)

    def env(self):
        """Environment for boto3 and the AWS modules: fake credentials and this endpoint."""
        env = dict(FAKE_CREDENTIALS)
        env["AWS_ENDPOINT_URL"] = self.endpoint
        return env

    def start(self, timeout=30):
        exe = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
        env = dict(os.environ, **SERVER_ENV)
        self.process = subprocess.Popen(
            [exe, "-H", self.host, "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("moto_server exited with %s" % self.process.returncode)
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("moto_server did not answer on %s within %ss" % (self.endpoint, timeout))

    def reset(self):
        request = urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(request, timeout=10).read()

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


def main(argv):
    """`python -m tests.support.moto start PIDFILE` prints the endpoint; `stop PIDFILE` stops it."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: moto.py start|stop PIDFILE", file=sys.stderr)
        return 2
    command, pidfile = argv
    if command == "start":
        server = MotoServer().start()
        with open(pidfile, "w") as handle:
            json.dump({"pid": server.process.pid, "endpoint": server.endpoint}, handle)
        print(server.endpoint)
        return 0
    try:
        with open(pidfile) as handle:
            pid = json.load(handle)["pid"]
    except (OSError, ValueError, KeyError):
        return 0
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    os.unlink(pidfile)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
