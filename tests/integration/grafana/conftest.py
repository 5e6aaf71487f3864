"""The `grafana` fixture: a real Grafana when GRAFANA_URL and GRAFANA_TOKEN are set, otherwise
the loopback stand-in of tests/support/grafana_standin.py (started and stopped here).

Tests reach the server only through its HTTP API (``grafana.client``), so they run unchanged
against both. Against a real Grafana, the 403 case needs GRAFANA_VIEWER_TOKEN (a Viewer
service-account token) and is skipped without it; every object a test creates carries a
random suffix and is deleted afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaClient
from tests.support.grafana_standin import ADMIN_TOKEN, VIEWER_TOKEN, GrafanaStandIn


class GrafanaTarget:
    def __init__(self, url, token, viewer_token, standin=None):
        self.url = url
        self.token = token
        self.viewer_token = viewer_token
        self.standin = standin
        self.client = GrafanaClient(url, token=token, retries=0)
        self.suffix = uuid.uuid4().hex[:8]
        self.created = {"dashboards": set(), "folders": set(), "datasources": set()}

    @property
    def real(self):
        return self.standin is None

    def uid(self, name):
        """A uid unique to this test (safe on a shared real Grafana)."""
        uid = "%s-%s" % (name, self.suffix)
        return uid

    def conn(self, token=None):
        """Module arguments for the connection."""
        return {"url": self.url, "token": token or self.token, "retries": 0}

    def cleanup(self):
        for uid in self.created["dashboards"]:
            if self.client.get_dashboard(uid):
                self.client.delete_dashboard(uid)
        for uid in self.created["folders"]:
            if self.client.get_folder(uid):
                self.client.delete_folder(uid)
        for uid in self.created["datasources"]:
            if self.client.get("/api/datasources/uid/%s" % uid):
                self.client.delete_datasource(uid)


@pytest.fixture(scope="session")
def grafana_server():
    if os.environ.get("GRAFANA_URL") and os.environ.get("GRAFANA_TOKEN"):
        yield None
        return
    server = GrafanaStandIn().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def grafana(grafana_server, monkeypatch):
    for name in ("GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD", "GRAFANA_ORG_ID"):
        if grafana_server is not None:
            monkeypatch.delenv(name, raising=False)
    if grafana_server is None:
        target = GrafanaTarget(os.environ["GRAFANA_URL"], os.environ["GRAFANA_TOKEN"],
                               os.environ.get("GRAFANA_VIEWER_TOKEN"))
    else:
        grafana_server.reset()
        target = GrafanaTarget(grafana_server.url, ADMIN_TOKEN, VIEWER_TOKEN, grafana_server)
    yield target
    target.cleanup()
