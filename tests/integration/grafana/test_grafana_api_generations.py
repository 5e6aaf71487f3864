"""The client's two API generations (issue 14) against the stand-in in each mode, in-process (no
ansible-playbook: what differs between the generations is the client's routes and bodies, which
the stand-in's request log shows; the modules above the client are the same code on both).

Modes (tests/support/grafana_standin.py MODES, docs/grafana.md): legacy = Grafana 11 (no /apis),
both = 12.x (/apis v1beta1 next to /api), apis = 13.x (/apis v1), amg = Amazon Managed Grafana
10.4 (nested folders; the other AMG versions are in test_grafana_amg.py). What each expects is written out literally here, from the Grafana docs cited in
docs/grafana.md, not computed by the client.
"""

from __future__ import annotations

import re

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaAPIError, GrafanaClient
from tests.support.grafana_standin import ADMIN_TOKEN, GrafanaStandIn

pytestmark = pytest.mark.slow

# mode -> (generation the client picks with api: auto, dashboard route prefix, folder route prefix)
EXPECTED = {
    "legacy": ("legacy", "/api/dashboards/uid/", "/api/folders"),
    "both": ("apis", "/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards",
             "/apis/folder.grafana.app/v1beta1/namespaces/default/folders"),
    "apis": ("apis", "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards",
             "/apis/folder.grafana.app/v1/namespaces/default/folders"),
    "amg": ("legacy", "/api/dashboards/uid/", "/api/folders"),
}
MODES = sorted(EXPECTED)


@pytest.fixture(scope="module")
def servers():
    started = {mode: GrafanaStandIn(mode=mode).start() for mode in MODES}
    try:
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(params=MODES)
def mode(request, servers):
    servers[request.param].reset()
    return request.param


def client_for(servers, mode, **options):
    if mode.startswith("amg"):  # what the workspace URL would tell grafana_flavor: auto
        options.setdefault("flavor", "amg")
    return GrafanaClient(servers[mode].url, token=ADMIN_TOKEN, retries=0, **options)


def test_auto_detects_once_and_uses_the_generations_routes(servers, mode):
    server = servers[mode]
    client = client_for(servers, mode)
    client.create_folder("Team", uid="team")
    client.save_dashboard({"uid": "d1", "title": "D1", "panels": []}, folder_uid="team")
    stored = client.get_dashboard("d1")
    client.save_dashboard(dict(stored["dashboard"], title="D1 renamed"), folder_uid="team")
    generation, dashboards, folders = EXPECTED[mode]
    assert client.generation()[0] == generation
    paths = [path for _method, path in server.log]
    assert paths.count("/api/health") == 1  # asked once, however many calls follow
    assert any(path.startswith(folders) for path in paths)
    assert any(path.startswith(dashboards) for path in paths)
    if generation == "apis":  # nothing of the legacy dashboard/folder routes is used
        assert not [p for p in paths if p.startswith(("/api/dashboards", "/api/folders"))]
    else:
        assert not [p for p in paths if p.startswith("/apis/")]
    # the server (whichever API stored it) has what the client sent, in the folder asked for
    state = server.state()
    assert state["dashboards"]["d1"]["title"] == "D1 renamed"
    assert state["dashboard_folders"]["d1"] == "team"
    assert state["dashboards"]["d1"]["version"] == 2


def test_folder_placement_and_move_through_the_annotation(servers, mode):
    server = servers[mode]
    client = client_for(servers, mode)
    client.create_folder("Parent", uid="parent")
    client.create_folder("Other", uid="other")
    child = client.create_folder("Child", uid="child", parent_uid="parent")
    assert child["parentUid"] == "parent"
    assert server.state()["folders"]["child"] == {"title": "Child", "parentUid": "parent"}
    client.move_folder("child", "other")
    assert server.state()["folders"]["child"] == {"title": "Child", "parentUid": "other"}
    assert client.get_folder("child")["parentUid"] == "other"
    renamed = client.update_folder("child", "Child 2", client.get_folder("child")["version"])
    assert renamed["title"] == "Child 2" and renamed["parentUid"] == "other"  # the update keeps the parent
    assert [f["uid"] for f in client.list_folders(parent_uid="other")] == ["child"]
    if EXPECTED[mode][0] == "apis":
        puts = [p for m, p in server.log if m == "PUT"]
        assert puts and all(p.endswith("/folders/child") for p in puts)  # moved by PUT, no /move route
        assert ("POST", "/api/folders/child/move") not in server.log
    client.delete_folder("parent")
    assert "parent" not in server.state()["folders"]


def test_a_change_in_between_is_a_conflict_not_an_overwrite(servers, mode):
    server = servers[mode]
    client = client_for(servers, mode)
    client.save_dashboard({"uid": "d2", "title": "Mine", "panels": []})
    read = client.get_dashboard("d2")
    other = GrafanaClient(server.url, token=ADMIN_TOKEN, retries=0, api="legacy")  # someone in the UI
    theirs = other.get_dashboard("d2")["dashboard"]
    other.save_dashboard(dict(theirs, title="Theirs"))
    with pytest.raises(GrafanaAPIError) as caught:
        client.save_dashboard(dict(read["dashboard"], title="Mine again"))
    assert caught.value.conflict is True
    assert caught.value.status == (409 if EXPECTED[mode][0] == "apis" else 412)
    assert server.state()["dashboards"]["d2"]["title"] == "Theirs"
    client.save_dashboard(dict(read["dashboard"], title="Forced"), overwrite=True)
    assert server.state()["dashboards"]["d2"]["title"] == "Forced"


def test_apis_folder_update_conflict(servers):
    server = servers["apis"]
    server.reset()
    client = client_for(servers, "apis")
    client.create_folder("F", uid="f")
    version = client.get_folder("f")["version"]
    client_for(servers, "apis", api="legacy").update_folder("f", "Changed in the UI", version)
    with pytest.raises(GrafanaAPIError) as caught:
        client.update_folder("f", "Mine", version)
    assert caught.value.conflict is True and caught.value.status == 412
    assert server.state()["folders"]["f"]["title"] == "Changed in the UI"


@pytest.mark.parametrize("api", ["legacy", "apis"])
def test_explicit_api_asks_no_version_when_it_does_not_need_to(servers, api):
    server = servers["apis"]
    server.reset()
    client = client_for(servers, "apis", api=api)
    client.save_dashboard({"uid": "d3", "title": "D3", "panels": []})
    paths = [path for _method, path in server.log]
    if api == "legacy":
        assert paths == ["/api/dashboards/db"]
    else:  # v1 or v1beta1 depends on the version
        assert paths[0] == "/api/health" and paths[1:] == [
            "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards/d3",
            "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"]


@pytest.mark.parametrize("mode_name", ["legacy", "amg"])
def test_api_apis_on_a_grafana_without_them_is_refused_before_any_write(servers, mode_name):
    server = servers[mode_name]
    server.reset()
    client = client_for(servers, mode_name, api="apis")
    with pytest.raises(MonitoringError) as caught:
        client.save_dashboard({"uid": "d4", "title": "D4"})
    expected = "Amazon Managed Grafana 10.4 workspaces have" if mode_name == "amg" else "Grafana %s has" % server.version
    assert "api: apis, but %s no /apis" % expected in str(caught.value)
    assert server.log == [("GET", "/api/health")]


@pytest.mark.parametrize("namespace", ["", "org-0", "stacks-", "tenant-1", "default/../x"])
def test_unknown_namespace_is_refused_before_any_request(servers, namespace):
    server = servers["apis"]
    server.reset()
    with pytest.raises(MonitoringError) as caught:
        GrafanaClient(server.url, token=ADMIN_TOKEN, namespace=namespace or "bad namespace")
    assert "unknown namespace" in str(caught.value)
    assert server.log == []


@pytest.mark.parametrize("org_id, namespace", [(None, "default"), (1, "default"), (3, "org-3")])
def test_namespace_follows_the_org(org_id, namespace):
    assert GrafanaClient("http://127.0.0.1:1", org_id=org_id).namespace == namespace
    assert GrafanaClient("http://127.0.0.1:1", org_id=org_id, namespace="stacks-42").namespace == "stacks-42"


def test_a_namespace_of_another_org_is_a_403_before_any_write(servers):
    server = servers["apis"]
    server.reset()
    client = client_for(servers, "apis", namespace="org-2")
    with pytest.raises(GrafanaAPIError) as caught:
        client.save_dashboard({"uid": "d5", "title": "D5"})
    assert caught.value.status == 403
    assert server.state()["dashboards"] == {}


def test_datasources_never_by_numeric_id(servers, mode):
    server = servers[mode]
    client = client_for(servers, mode)
    created = client.create_datasource({"name": "P", "type": "prometheus", "url": "http://127.0.0.1:9090"})
    uid = created["datasource"]["uid"]
    stored = client.get_datasource(name="P")
    client.update_datasource(uid, dict(stored, url="http://127.0.0.1:9091"))
    client.delete_datasource(uid)
    paths = [path for _method, path in server.log if path.startswith("/api/datasources")]
    assert paths and not [p for p in paths if re.fullmatch(r"/api/datasources/\d+", p)]
