"""Fixtures shared by every test: a real moto server on loopback, the playbook runner."""

from __future__ import annotations

import os

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
