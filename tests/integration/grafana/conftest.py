"""The `grafana` fixture: a real Grafana when GRAFANA_URL and GRAFANA_TOKEN are set, otherwise
the loopback stand-in of tests/support/grafana_standin.py (started and stopped here).

Stand-in modes (issue 14): a test module sets ``STANDIN_MODES`` (default: legacy only) and a test
``@pytest.mark.standin_modes(...)``; the test then runs once per mode, each on its own stand-in.
The modes that run ansible-playbook are kept few on purpose: what differs between the modes is
the client's routes, which test_grafana_api_generations.py checks in-process in every mode.

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


DEFAULT_MODES = ("legacy",)
# the dashboard route each mode's client uses with api: auto (literal, from docs/grafana.md)
DASHBOARD_ROUTE = {
    "legacy": "/api/dashboards/uid/%s",
    "amg": "/api/dashboards/uid/%s",
    "both": "/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards/%s",
    "apis": "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards/%s",
}


def pytest_configure(config):
    config.addinivalue_line("markers", "standin_modes(*modes): the stand-in modes a Grafana test runs against")


def pytest_generate_tests(metafunc):
    if "grafana_server" not in metafunc.fixturenames:
        return
    if os.environ.get("GRAFANA_URL") and os.environ.get("GRAFANA_TOKEN"):
        metafunc.parametrize("grafana_server", ["real"], indirect=True, scope="session")
        return
    marker = metafunc.definition.get_closest_marker("standin_modes")
    modes = marker.args if marker else getattr(metafunc.module, "STANDIN_MODES", DEFAULT_MODES)
    metafunc.parametrize("grafana_server", list(modes), indirect=True, scope="session")


class GrafanaTarget:
    def __init__(self, url, token, viewer_token, standin=None):
        self.url = url
        self.token = token
        self.viewer_token = viewer_token
        self.standin = standin
        # the tests' own view (set-up and checks) is the legacy API, which every mode serves: what a
        # module wrote through /apis is checked through the other generation, not the code that wrote it
        self.client = GrafanaClient(url, token=token, retries=0, api="legacy")
        self.suffix = uuid.uuid4().hex[:8]
        self.created = {"dashboards": set(), "folders": set(), "datasources": set()}

    @property
    def real(self):
        return self.standin is None

    @property
    def mode(self):
        return "real" if self.standin is None else self.standin.mode

    def dashboard_route(self, uid):
        """The path of a dashboard read by a module with api: auto on this mode's stand-in."""
        return DASHBOARD_ROUTE[self.standin.mode] % uid

    def save_route(self, uid, new=False):
        """(method, path) of the module's dashboard save on this mode's stand-in (for inject)."""
        route = DASHBOARD_ROUTE[self.standin.mode]
        if route.startswith("/api/"):
            return "POST", "/api/dashboards/db"
        return ("POST", route.rsplit("/", 1)[0]) if new else ("PUT", route % uid)

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
def grafana_server(request):
    if request.param == "real":
        yield None
        return
    server = GrafanaStandIn(mode=request.param).start()
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
