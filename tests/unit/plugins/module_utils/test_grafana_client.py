"""The Grafana client against loopback servers: auth headers, retries with backoff on 5xx and
connection errors (bounded), errors keyed on status codes, and the stand-in's documented answers."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaAPIError, GrafanaClient
from tests.support.grafana_standin import ADMIN_TOKEN, VIEWER_TOKEN, GrafanaStandIn


@pytest.fixture
def standin():
    server = GrafanaStandIn().start()
    yield server
    server.stop()


class Scripted:
    """A loopback server answering a fixed list of (status, body); records request headers."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.headers = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return

            def do_GET(self):
                owner.headers.append(dict(self.headers.items()))
                status, body = owner.answers.pop(0) if owner.answers else (500, {"message": "no more answers"})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    servers = []

    def make(answers):
        servers.append(Scripted(answers))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


def test_retries_5xx_with_backoff_then_succeeds(scripted):
    server = scripted([(503, {"message": "busy"}), (502, {}), (200, {"ok": True})])
    sleeps = []
    client = GrafanaClient(server.url, token="t", retries=3, backoff=0.5, sleep=sleeps.append)
    assert client.request("GET", "/api/health") == {"ok": True}
    assert sleeps == [0.5, 1.0] and client.requests == 3


def test_retries_are_bounded(scripted):
    server = scripted([(500, {"message": "boom"})] * 5)
    sleeps = []
    client = GrafanaClient(server.url, token="t", retries=2, sleep=sleeps.append)
    with pytest.raises(GrafanaAPIError) as err:
        client.request("GET", "/api/x")
    assert err.value.status == 500 and len(sleeps) == 2 and client.requests == 3


def test_connection_error_is_retried_then_clear():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    sleeps = []
    client = GrafanaClient("http://127.0.0.1:%d" % port, token="t", retries=2, sleep=sleeps.append, timeout=2)
    with pytest.raises(GrafanaAPIError) as err:
        client.request("GET", "/api/search")
    assert err.value.status is None and len(sleeps) == 2
    assert err.value.describe("list dashboards").startswith("Failed to list dashboards: cannot reach Grafana")


def test_4xx_is_not_retried_and_keyed_on_status(scripted):
    server = scripted([(412, {"status": "version-mismatch", "message": "The dashboard has been changed by someone else"})])
    client = GrafanaClient(server.url, token="t", retries=3, sleep=lambda s: None)
    with pytest.raises(GrafanaAPIError) as err:
        client.request("GET", "/api/dashboards/db")
    assert client.requests == 1 and err.value.status == 412
    text = err.value.describe("save dashboard x")
    assert text.startswith("Failed to save dashboard x: HTTP 412") and "version-mismatch" in text and "overwrite" in text


def test_auth_headers(scripted):
    server = scripted([(200, {})] * 3)
    GrafanaClient(server.url, token="glsa_x", org_id=3).request("GET", "/")
    GrafanaClient(server.url, user="admin", password="pw").request("GET", "/")
    GrafanaClient(server.url).request("GET", "/")
    assert server.headers[0]["Authorization"] == "Bearer glsa_x" and server.headers[0]["X-Grafana-Org-Id"] == "3"
    assert server.headers[1]["Authorization"] == "Basic YWRtaW46cHc="
    assert "Authorization" not in server.headers[2]


def test_standin_auth_errors(standin):
    for client, status, fragment in [
        (GrafanaClient(standin.url, retries=0), 401, "Unauthorized"),
        (GrafanaClient(standin.url, token="glsa_wrong", retries=0), 401, "Invalid API key"),
        (GrafanaClient(standin.url, user="admin", password="wrong", retries=0), 401, "Invalid username or password"),
        (GrafanaClient(standin.url, token=VIEWER_TOKEN, retries=0), 403, "additional permissions"),
    ]:
        with pytest.raises(GrafanaAPIError) as err:
            client.create_folder("x")
        assert err.value.status == status and fragment in err.value.message
    assert GrafanaClient(standin.url, user="admin", password="admin").list_folders() == []


def test_standin_dashboard_rules(standin):
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=0)
    assert client.get_dashboard("nope") is None
    saved = client.save_dashboard({"uid": "a", "title": "A"})
    assert saved["version"] == 1 and saved["status"] == "success"
    with pytest.raises(GrafanaAPIError) as err:  # create-by-uid of an existing uid without version
        client.save_dashboard({"uid": "a", "title": "A"})
    assert err.value.status == 412
    assert client.save_dashboard({"uid": "a", "title": "A", "version": 1})["version"] == 2
    assert client.save_dashboard({"uid": "a", "title": "A2"}, overwrite=True)["version"] == 3
    for body, folder, status, fragment in [
        ({"uid": "b", "title": " "}, "", 400, "title cannot be empty"),
        ({"uid": "b c", "title": "B"}, "", 400, "illegal characters"),
        ({"uid": "b" * 41, "title": "B"}, "", 400, "uid too long"),
        ({"uid": "b", "title": "B"}, "missing", 400, "folder not found"),
        ({"uid": "b", "title": "B", "id": 999}, "", 404, "Dashboard not found"),
    ]:
        with pytest.raises(GrafanaAPIError) as err:
            client.save_dashboard(body, folder_uid=folder)
        assert (err.value.status, fragment in err.value.message) == (status, True), err.value.message
    stored = client.get_dashboard("a")
    assert stored["dashboard"]["version"] == 3 and stored["meta"]["folderTitle"] == "General"
    assert client.delete_dashboard("a")["uid"] == "a" and client.get_dashboard("a") is None


def test_standin_folders_and_datasources(standin):
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=0)
    client.create_folder("Team", uid="team")
    client.create_folder("Svc", uid="svc", parent_uid="team")
    with pytest.raises(GrafanaAPIError) as err:
        client.create_folder("Other", uid="team")
    assert err.value.status == 412
    assert [f["uid"] for f in client.list_folders()] == ["team"]
    assert [p["uid"] for p in client.get_folder("svc")["parents"]] == ["team"]
    client.save_dashboard({"uid": "d", "title": "D"}, folder_uid="svc")
    client.delete_folder("team")
    assert client.get_folder("svc") is None and client.get_dashboard("d") is None

    created = client.create_datasource({"name": "P", "type": "prometheus", "url": "http://x",
                                        "secureJsonData": {"basicAuthPassword": "pw"}})["datasource"]
    assert created["secureJsonFields"] == {"basicAuthPassword": True} and "pw" not in json.dumps(created)
    listed = client.list_datasources()[0]
    assert "secureJsonFields" not in listed and "version" not in listed
    updated = client.update_datasource(created["uid"], {"name": "P", "type": "prometheus", "url": "http://y",
                                                        "version": created["version"]})["datasource"]
    assert updated["version"] == 2 and updated["secureJsonFields"] == {"basicAuthPassword": True}
    with pytest.raises(GrafanaAPIError) as err:
        client.create_datasource({"name": "P", "type": "loki"})
    assert err.value.status == 409
    standin.name_lookup_403 = True
    assert client.get_datasource(name="missing") is None  # 403 on unknown names falls back to the list
    assert client.get_datasource(name="P")["uid"] == created["uid"]
