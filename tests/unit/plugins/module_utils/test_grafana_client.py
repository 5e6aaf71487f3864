"""The Grafana client against loopback servers: auth headers, retries with backoff on 5xx and
connection errors (bounded), 429 answers retried after their Retry-After (bounded in count and
total wait), POSTs never sent twice blindly (the object is looked up after a 5xx), errors keyed
on status codes, and the stand-in's documented answers."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaAPIError, GrafanaClient
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_sync import needs_datasources
from tests.support.grafana_standin import ADMIN_TOKEN, VIEWER_TOKEN, GrafanaStandIn


@pytest.fixture
def standin():
    server = GrafanaStandIn().start()
    yield server
    server.stop()


class Scripted:
    """A loopback server answering a fixed list of (status, body[, headers]); records request headers."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.headers = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return

            def do_GET(self):
                owner.headers.append(dict(self.headers.items()))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                answer = owner.answers.pop(0) if owner.answers else (500, {"message": "no more answers"})
                status, body, extra = (tuple(answer) + ({},))[:3]
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET

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


def test_429_waits_for_retry_after_then_succeeds(scripted):
    server = scripted([(429, {"message": "Too Many Requests"}, {"Retry-After": "7"}),
                       (429, {"message": "Too Many Requests"}, {"Retry-After": "2"}), (200, {"ok": True})])
    sleeps = []
    client = GrafanaClient(server.url, token="t", retries=3, backoff=0.5, sleep=sleeps.append)
    assert client.request("GET", "/api/search") == {"ok": True}
    assert sleeps == [7.0, 2.0] and client.requests == 3


def test_429_without_retry_after_backs_off_and_post_is_retried(scripted):
    """A throttled request was refused before it was handled: a POST is sent again too."""
    server = scripted([(429, {"message": "Too Many Requests"}), (200, {"uid": "f"})])
    sleeps = []
    client = GrafanaClient(server.url, token="t", retries=3, backoff=0.5, sleep=sleeps.append)
    assert client.request("POST", "/api/folders", {"title": "F"}) == {"uid": "f"}
    assert sleeps == [0.5] and client.requests == 2


def test_429_total_wait_is_bounded(scripted):
    server = scripted([(429, {"message": "Too Many Requests"}, {"Retry-After": "40"})] * 4)
    sleeps = []
    client = GrafanaClient(server.url, token="t", retries=5, max_wait=60, sleep=sleeps.append)
    with pytest.raises(GrafanaAPIError) as err:
        client.request("GET", "/api/search")
    assert sleeps == [40.0] and client.requests == 2 and err.value.status == 429
    text = err.value.describe("list dashboards")
    assert text.startswith("Failed to list dashboards: HTTP 429 from GET /api/search: Too Many Requests")
    assert "Retry-After 40" in text and "waited 40" in text


def test_429_retries_are_bounded(scripted):
    server = scripted([(429, {"message": "Too Many Requests"}, {"Retry-After": "1"})] * 5)
    sleeps = []
    client = GrafanaClient(server.url, token="t", retries=2, sleep=sleeps.append)
    with pytest.raises(GrafanaAPIError) as err:
        client.request("GET", "/api/search")
    assert err.value.status == 429 and sleeps == [1.0, 1.0] and client.requests == 3


def _posts_and_gets(standin):
    return [entry for entry in standin.log if entry[0] in ("POST", "GET")]


def test_folder_create_that_failed_after_saving_is_not_sent_twice(standin):
    standin.inject("POST", "/api/folders", 500, commit=True)
    # The legacy routes (api="legacy"): what is counted here is the retry, not the version look-up.
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=3, sleep=lambda s: None, api="legacy")
    folder = client.create_folder("Team", uid="team")
    assert folder["uid"] == "team" and folder["title"] == "Team"
    assert standin.log == [("POST", "/api/folders"), ("GET", "/api/folders/team")]
    assert standin.state()["folders"] == {"team": {"title": "Team", "parentUid": ""}}


def test_folder_create_that_failed_before_saving_is_sent_again_after_the_look_up(standin):
    standin.inject("POST", "/api/folders", 503)
    sleeps = []
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=3, sleep=sleeps.append, api="legacy")
    assert client.create_folder("Team", uid="team")["version"] == 1
    assert standin.log == [("POST", "/api/folders"), ("GET", "/api/folders/team"), ("POST", "/api/folders")]
    assert len(sleeps) == 1


def test_folder_create_without_uid_is_looked_up_by_title_under_its_parent(standin):
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=3, sleep=lambda s: None)
    client.create_folder("Team", uid="team")
    standin.inject("POST", "/api/folders", 502, commit=True)
    folder = client.create_folder("Svc", parent_uid="team")
    assert folder["title"] == "Svc" and folder["parentUid"] == "team"
    assert [f["title"] for f in standin.state()["folders"].values()].count("Svc") == 1


def test_dashboard_save_that_failed_after_saving_is_confirmed_not_resent(standin):
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=3, sleep=lambda s: None)
    client.create_folder("Team", uid="team")
    standin.inject("POST", "/api/dashboards/db", 500, commit=True)
    saved = client.save_dashboard({"uid": "d", "title": "D", "panels": []}, folder_uid="team")
    assert (saved["uid"], saved["version"], saved["folderUid"]) == ("d", 1, "team")
    assert _posts_and_gets(standin)[-2:] == [("POST", "/api/dashboards/db"), ("GET", "/api/dashboards/uid/d")]
    # an update that the server saved before failing: confirmed by content, version 2 (not 3)
    standin.inject("POST", "/api/dashboards/db", 504, commit=True)
    saved = client.save_dashboard({"uid": "d", "title": "D2", "panels": [], "version": 1}, folder_uid="team")
    assert saved["version"] == 2 and client.get_dashboard("d")["dashboard"]["version"] == 2


def test_dashboard_save_not_applied_is_sent_again(standin):
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=3, sleep=lambda s: None)
    standin.inject("POST", "/api/dashboards/db", 500)
    assert client.save_dashboard({"uid": "d", "title": "D"})["version"] == 1
    assert [e for e in standin.log if e[0] == "POST"] == [("POST", "/api/dashboards/db")] * 2


def test_datasource_create_that_failed_after_saving_is_not_sent_twice(standin):
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=3, sleep=lambda s: None)
    standin.inject("POST", "/api/datasources", 502, commit=True)
    created = client.create_datasource({"name": "P", "type": "prometheus", "url": "http://x"})
    assert created["datasource"]["name"] == "P" and len(standin.state()["datasources"]) == 1
    assert [e for e in standin.log if e[0] == "POST"] == [("POST", "/api/datasources")]


def test_post_failures_are_bounded(standin):
    standin.inject("POST", "/api/folders", 500, times=10)
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=2, sleep=lambda s: None)
    with pytest.raises(GrafanaAPIError) as err:
        client.create_folder("Team", uid="team")
    assert err.value.status == 500
    assert [e for e in standin.log if e[0] == "POST"] == [("POST", "/api/folders")] * 3
    assert standin.state()["folders"] == {}


def test_throttled_standin_through_the_client(standin):
    standin.inject("GET", "/api/search", 429, times=2, retry_after=3)
    sleeps = []
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=3, sleep=sleeps.append)
    assert client.search(type="dash-folder") == []
    assert sleeps == [3.0, 3.0]


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
    assert err.value.status == 409 and "same uid already exists" in err.value.message
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


def test_standin_folder_uid_taken_412_mode_and_amg_mode():
    old = GrafanaStandIn(folder_uid_taken_status=412).start()
    amg = GrafanaStandIn(mode="amg-9.4").start()  # flat folders (AWS: subfolders from the 10.4 workspaces)
    try:
        client = GrafanaClient(old.url, token=ADMIN_TOKEN, retries=0)
        client.create_folder("Team", uid="team")
        with pytest.raises(GrafanaAPIError) as err:
            client.create_folder("Other", uid="team")
        assert err.value.status == 412 and "version-mismatch" in err.value.message
        client = GrafanaClient(amg.url, token=ADMIN_TOKEN, retries=0)
        assert GrafanaClient(amg.url, retries=0).request("GET", "/api/health")["version"] == "9.4.7"
        client.create_folder("Team", uid="team")
        assert "parentUid" not in client.create_folder("Svc", uid="svc", parent_uid="team")  # flat
    finally:
        old.stop()
        amg.stop()


PROM = {"type": "prometheus", "uid": "p1"}


@pytest.mark.parametrize("dashboard, mapping, add_environment, expected", [
    ({"panels": [{"datasource": PROM, "targets": [{"expr": "up"}]}]}, {}, True, False),
    ({"panels": [{"datasource": "Loki", "targets": [{"expr": '{job="x"} |= "e"'}]}]}, {}, True, True),
    ({"panels": [{"datasource": "${ds}", "targets": [{"expr": "up"}]}]}, {}, True, True),
    ({"panels": [{"datasource": {"uid": "p1"}, "targets": [{"expr": "up"}]}]}, {}, True, True),
    ({"panels": [{"targets": [{"expr": "up"}]}]}, {}, True, True),  # the default datasource
    ({"panels": [{"datasource": PROM, "targets": [{"expr": "up", "datasource": "Loki"}]}]}, {}, True, True),
    ({"templating": {"list": [{"type": "query", "datasource": "$ds", "query": "label_values(job)"}]}}, {}, True, True),
    ({"panels": [{"datasource": "Loki", "targets": [{"expr": "x"}]}]}, {}, False, False),  # nothing type-dependent
    ({"__inputs": [{"name": "DS_P", "type": "datasource", "pluginId": "prometheus"}]}, {}, False, True),
    ({"__inputs": [{"name": "DS_P", "type": "datasource", "pluginId": "prometheus"}]}, {"DS_P": "p1"}, False, False),
    ({"__inputs": [{"name": "DS_E", "type": "datasource", "pluginId": "__expr__"}]}, {}, False, False),
])
def test_needs_datasources(dashboard, mapping, add_environment, expected):
    assert needs_datasources(dashboard, mapping, resolve_inputs=True, add_environment=add_environment) is expected


def test_versioned_folder_update_that_failed_after_saving_is_not_resent(standin):
    """A PUT carrying a version is not safe to repeat: once applied, the repeat is a 412."""
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=3, sleep=lambda s: None)
    client.create_folder("Team", uid="team")
    standin.inject("PUT", "/api/folders/team", 500, commit=True)
    folder = client.update_folder("team", "Team renamed", 1)
    assert (folder["title"], folder["version"]) == ("Team renamed", 2)
    assert [e for e in standin.log if e[0] == "PUT"] == [("PUT", "/api/folders/team")]


def test_versioned_datasource_update_that_failed_after_saving_is_not_resent(standin):
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=3, sleep=lambda s: None)
    created = client.create_datasource({"name": "P", "uid": "p", "type": "prometheus", "url": "http://x"})
    standin.inject("PUT", "/api/datasources/uid/p", 503, commit=True)
    updated = client.update_datasource("p", {"name": "P", "uid": "p", "type": "prometheus", "url": "http://y",
                                             "version": created["datasource"]["version"]})
    assert (updated["datasource"]["url"], updated["datasource"]["version"]) == ("http://y", 2)
    assert [e for e in standin.log if e[0] == "PUT"] == [("PUT", "/api/datasources/uid/p")]


def test_delete_that_failed_after_deleting_counts_as_done(standin):
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=3, sleep=lambda s: None)
    client.save_dashboard({"uid": "d", "title": "D"})
    standin.inject("DELETE", "/api/dashboards/uid/d", 502, commit=True)
    client.delete_dashboard("d")  # the retry's 404 means the first attempt did it
    assert client.get_dashboard("d") is None
    with pytest.raises(GrafanaAPIError) as err:  # a first-attempt 404 is still an error
        client.delete_dashboard("d")
    assert err.value.status == 404


# one keep-alive connection (issue 13) -----------------------------------------------------------
def counting_accepts(server):
    """Count the TCP connections a ThreadingHTTPServer accepts."""
    server.accepted = 0
    accept = server.server.get_request if hasattr(server, "server") else server.get_request

    def counting():
        connection = accept()
        server.accepted += 1
        return connection

    (server.server if hasattr(server, "server") else server).get_request = counting
    return server


def test_requests_of_one_client_share_one_connection(standin):
    counting_accepts(standin)
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN)
    client.create_folder("Keep", uid="keep")
    for index in range(5):
        client.save_dashboard({"uid": "k%d" % index, "title": "K %d" % index}, folder_uid="keep")
        assert client.get_dashboard("k%d" % index)["meta"]["folderUid"] == "keep"
    # One GET /api/health (api: auto reads the version once), then 11 requests: all on one connection.
    assert client.requests == 12 and standin.accepted == 1 and client.connections == 1


class ClosingServer:
    """HTTP/1.1 answers without "Connection: close", then the server closes the socket anyway
    (a keep-alive connection dropped by Grafana or a load balancer while idle)."""

    def __init__(self):
        owner = self
        self.accepted = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                return

            def do_GET(self):
                data = json.dumps({"path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        counting_accepts(self)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_dropped_keep_alive_connection_is_replaced_without_a_retry():
    server = ClosingServer()
    try:
        sleeps = []
        client = GrafanaClient(server.url, token="t", retries=0, sleep=sleeps.append)
        answers = [client.request("GET", "/api/x%d" % index) for index in range(3)]
        assert answers == [{"path": "/api/x%d" % index} for index in range(3)]
        assert sleeps == [] and client.requests == 3 and server.accepted == 3 and client.connections == 3
    finally:
        server.stop()


def test_dropped_connection_found_only_while_sending_is_replaced_once_for_a_get(standin):
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=0)
    assert client.request("GET", "/api/search") == []
    client._conn.sock.close()  # pylint: disable=protected-access  # dies under the client: send fails
    assert client.request("GET", "/api/search") == [] and client.connections == 2


def test_a_proxy_from_the_environment_is_still_used(standin, monkeypatch):
    from tests.support.counting_proxy import CountingProxy

    proxy = CountingProxy(standin.url).start()
    try:
        monkeypatch.setenv("http_proxy", proxy.endpoint)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        client = GrafanaClient(standin.url, token=ADMIN_TOKEN)
        client.create_folder("Proxied", uid="proxied")
        assert client.get_folder("proxied")["title"] == "Proxied"
        # The version look-up (GET /api/health), the POST and the GET: all three through the proxy.
        assert sum(proxy.counts.values()) == 3 and client.connections == 0
        direct = GrafanaClient(standin.url, token=ADMIN_TOKEN, use_proxy=False)
        assert direct.get_folder("proxied")["title"] == "Proxied" and sum(proxy.counts.values()) == 3
    finally:
        proxy.stop()


def test_get_redirect_is_followed_and_post_redirect_is_an_error(scripted):
    moved = (302, {}, {"Location": "/api/other"})
    server = scripted([moved, moved, (200, {"moved": True}), (302, {}, {"Location": "/x"})])
    client = GrafanaClient(server.url, token="t", retries=0)
    assert client.request("GET", "/api/health") == {"moved": True}  # handed to open_url, which follows
    assert [h.get("Authorization") for h in server.headers[:3]] == ["Bearer t"] * 3
    with pytest.raises(GrafanaAPIError) as err:
        client.request("POST", "/api/dashboards/db", {"dashboard": {}})
    assert err.value.status == 302


def test_https_keep_alive_with_ca_path_validate_certs_false_and_refusal(standin, tmp_path):
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    standin.server.socket = context.wrap_socket(standin.server.socket, server_side=True)
    url = standin.url.replace("http://", "https://")
    trusted = GrafanaClient(url, token=ADMIN_TOKEN, ca_path=str(cert))
    trusted.create_folder("Tls", uid="tls")
    assert trusted.get_folder("tls")["title"] == "Tls" and trusted.connections == 1
    assert GrafanaClient(url, token=ADMIN_TOKEN, validate_certs=False).get_folder("tls")["title"] == "Tls"
    sleeps = []
    with pytest.raises(GrafanaAPIError) as err:
        GrafanaClient(url, token=ADMIN_TOKEN, sleep=sleeps.append).get_folder("tls")
    assert err.value.status is None and "CERTIFICATE_VERIFY_FAILED" in str(err.value)
    assert sleeps == []  # a certificate that does not verify is not retried
