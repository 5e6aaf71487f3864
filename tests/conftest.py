"""Fixtures shared by every test: a real moto server on loopback, the playbook runner."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pathlib
import subprocess

import pytest

from tests.support.moto import MotoServer
from tests.support.playbook import REPO, run_playbook


@pytest.fixture(scope="session")
def moto_server():
    """One moto_server process for the session, on a free 127.0.0.1 port; stopped at the end."""
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch):
    """A clean moto server (reset before the test) and an environment that points boto3 at it."""
    moto_server.reset()
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    return moto_server


@pytest.fixture
def playbook():
    return run_playbook


@pytest.fixture(scope="session")
def repo_root():
    return REPO


def pytest_report_header(config):
    return "monitoring.stack checkout: %s (DOCKER_HOST=%s)" % (REPO, os.environ.get("DOCKER_HOST", "unset"))


@pytest.fixture(scope="session")
def testhosts():
    """The private dockerd of tests/hosts/testhosts.sh (and the systemd image), for tests that
    need real systemd hosts. Stopped at the end only when this session started it; with
    pytest-xdist every worker is a session, so the workers count themselves in and out of a
    shared file and the last one out stops it, and only if a worker started it."""
    script = str(REPO / "tests" / "hosts" / "testhosts.sh")
    with _testhosts_users() as users:
        if subprocess.run([script, "status"], capture_output=True, check=False).returncode != 0:
            # Not running: nobody is using it (a count left by a killed session is stale).
            users.update(count=0, started=True)
        elif users["count"] == 0:
            users["started"] = False
        up = subprocess.run([script, "up"], capture_output=True, text=True, check=False, timeout=900)
        if up.returncode != 0:
            pytest.fail("could not start the systemd test hosts: %s" % up.stderr[-2000:])
        users["count"] += 1
    docker_host = up.stdout.strip().splitlines()[-1]
    yield docker_host
    with _testhosts_users() as users:
        users["count"] = max(0, users["count"] - 1)
        if users["count"] == 0 and users.pop("started", False):
            subprocess.run([script, "stop"], capture_output=True, check=False, timeout=120)


@contextlib.contextmanager
def _testhosts_users():
    """{"count": sessions using the test hosts, "started": whether one of them started them},
    read and written under an exclusive lock (blocking is bounded by the holder's timeouts)."""
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
    state = pathlib.Path(os.environ.get("TESTHOSTS_STATE") or cache / "monitoring-stack" / "testhosts")
    state.mkdir(parents=True, exist_ok=True)
    path = state / "pytest-users.json"
    with open(state / "pytest-users.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            users = json.loads(path.read_text()) if path.exists() else {}
        except ValueError:
            users = {}
        users.setdefault("count", 0)
        yield users
        path.write_text(json.dumps(users))
