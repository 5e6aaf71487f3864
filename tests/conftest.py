"""Fixtures shared by every test: a real moto server on loopback, the playbook runner."""

from __future__ import annotations

import os
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
    need real systemd hosts. Stopped at the end only when this session started it."""
    script = str(REPO / "tests" / "hosts" / "testhosts.sh")
    was_running = subprocess.run([script, "status"], capture_output=True, check=False).returncode == 0
    up = subprocess.run([script, "up"], capture_output=True, text=True, check=False, timeout=900)
    if up.returncode != 0:
        pytest.fail("could not start the systemd test hosts: %s" % up.stderr[-2000:])
    docker_host = up.stdout.strip().splitlines()[-1]
    yield docker_host
    if not was_running:
        subprocess.run([script, "stop"], capture_output=True, check=False, timeout=120)
