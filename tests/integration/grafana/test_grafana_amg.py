"""Amazon Managed Grafana mode (issue 14 deliverable 5): ``grafana_flavor`` and the AMG version table.

What each AMG workspace version has is written out literally here from AWS's pages cited in
docs/grafana.md ("Amazon Managed Grafana"), not read from the client's table: subfolders from the
Grafana 10 workspaces (userguide/version-differences.html), the /apis structure in the Grafana 12
API reference (userguide/v12-Grafana-API-new-structure.html), dynamic dashboards (schema v2) from
the Grafana 13 workspaces (userguide/v13-dash-dynamic-dashboards.html). The stand-in's amg modes
play 9.4, 10.4 and 12.4 workspaces; AMG's /api/health answer is not documented, so the stand-in
cannot be told from Grafana by its answers and every client here is told ``grafana_flavor: amg``
(what a workspace URL tells ``auto``).
"""

from __future__ import annotations

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaClient
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_sync import GrafanaSync, SyncError
from tests.support.grafana_standin import ADMIN_TOKEN, GrafanaStandIn

pytestmark = pytest.mark.slow

# stand-in mode -> (AMG version named in messages, nested folders, /apis generation, schema v2)
WORKSPACES = {
    "amg-9.4": ("9.4", False, False, False),
    "amg": ("10.4", True, False, False),
    "amg-12.4": ("12.4", True, True, False),
}
V2_DASHBOARD = {"uid": "v2d", "title": "V2", "elements": {}, "layout": {"kind": "GridLayout", "spec": {"items": []}}}


@pytest.fixture(scope="module")
def servers():
    started = {mode: GrafanaStandIn(mode=mode).start() for mode in WORKSPACES}
    try:
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(params=sorted(WORKSPACES))
def workspace(request, servers):
    servers[request.param].reset()
    return request.param


def amg_client(server, **options):
    return GrafanaClient(server.url, token=ADMIN_TOKEN, retries=0, flavor="amg", **options)


def writes(server):
    return [(method, path) for method, path in server.log if method != "GET"]


@pytest.mark.parametrize("url, flavor, expected", [
    ("https://g-0123456789.grafana-workspace.ap-northeast-2.amazonaws.com", "auto", "amg"),
    ("https://g-abcdef0123.grafana-workspace.us-east-1.amazonaws.com/", "auto", "amg"),
    ("https://grafana.example.com", "auto", "grafana"),
    ("http://127.0.0.1:3000", "auto", "grafana"),
    # look-alikes are not workspaces: a workspace id is g- and 10 hex digits
    ("https://g-0123456789.grafana-workspace.eu-west-1.amazonaws.com.example.com", "auto", "grafana"),
    ("https://x-0123456789.grafana-workspace.eu-west-1.amazonaws.com", "auto", "grafana"),
    ("http://127.0.0.1:3000", "amg", "amg"),
    ("https://g-0123456789.grafana-workspace.ap-northeast-2.amazonaws.com", "grafana", "grafana"),
])
def test_flavor_from_the_url_without_a_request(url, flavor, expected):
    assert GrafanaClient(url, token="t", flavor=flavor).flavor == expected


def test_unknown_flavor_and_basic_auth_on_amg_are_refused_before_any_request(servers):
    server = servers["amg"]
    server.reset()
    with pytest.raises(MonitoringError) as caught:
        GrafanaClient(server.url, token="t", flavor="cloud")
    assert "grafana_flavor must be one of auto, grafana, amg" in str(caught.value)
    with pytest.raises(MonitoringError) as caught:
        GrafanaClient(server.url, user="admin", password="admin", flavor="amg")
    assert "Amazon Managed Grafana takes only service-account tokens" in str(caught.value)
    assert "admin" not in str(caught.value).replace("user/password", "")  # the password is not echoed
    assert server.log == []


def test_nested_folders_follow_the_workspace_version(servers, workspace):
    server = servers[workspace]
    version, nested, _apis, _v2 = WORKSPACES[workspace]
    sync = GrafanaSync(amg_client(server))
    if not nested:
        with pytest.raises(SyncError) as caught:
            sync.ensure_folder_path("Team/Service")
        assert str(caught.value).startswith(
            "Failed to create folder Team/Service: Amazon Managed Grafana %s workspaces have no nested folders" % version)
        assert writes(server) == [] and server.state()["folders"] == {}
        return
    changed, uid = sync.ensure_folder_path("Team/Service")
    assert changed
    folders = server.state()["folders"]
    team = [key for key, folder in folders.items() if folder["title"] == "Team"][0]
    assert folders[uid] == {"title": "Service", "parentUid": team}
    assert GrafanaSync(amg_client(server)).ensure_folder_path("Team/Service") == (False, uid)


def test_the_same_10_4_as_self_hosted_grafana_keeps_the_grafana_rule(servers):
    """Self-hosted Grafana 10.x has nested folders only behind the nestedFolders toggle (on by
    default from 11.0, grafana/grafana#84631): without the AMG flavor 10.4 is still refused."""
    server = servers["amg"]
    server.reset()
    sync = GrafanaSync(GrafanaClient(server.url, token=ADMIN_TOKEN, retries=0, flavor="grafana"))
    with pytest.raises(SyncError) as caught:
        sync.check_nesting(["Team", "Service"])
    assert "Grafana 10.4.1 has no nested folders" in str(caught.value)
    assert writes(server) == []


def test_api_apis_follows_the_workspace_version(servers, workspace):
    server = servers[workspace]
    version, _nested, apis, _v2 = WORKSPACES[workspace]
    client = amg_client(server, api="apis")
    if not apis:
        with pytest.raises(MonitoringError) as caught:
            client.save_dashboard({"uid": "d1", "title": "D1"})
        assert "api: apis, but Amazon Managed Grafana %s workspaces have no /apis generation" % version \
            in str(caught.value)
        assert server.log == [("GET", "/api/health")]
        return
    client.save_dashboard({"uid": "d1", "title": "D1"})
    assert ("POST", "/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards") in server.log
    assert server.state()["dashboards"]["d1"]["title"] == "D1"


def test_auto_uses_the_workspaces_generation(servers, workspace):
    server = servers[workspace]
    client = amg_client(server)
    client.save_dashboard({"uid": "d2", "title": "D2"})
    expected = "/apis/dashboard.grafana.app/v1beta1/" if WORKSPACES[workspace][2] else "/api/dashboards/db"
    assert [p for m, p in server.log if m == "POST"][0].startswith(expected)


@pytest.mark.parametrize("api", ["auto", "apis"])
def test_schema_v2_is_refused_on_every_amg_version_before_13(servers, workspace, api):
    server = servers[workspace]
    version = WORKSPACES[workspace][0]
    if api == "apis" and not WORKSPACES[workspace][2]:
        pytest.skip("api: apis is refused first on this version (test above)")
    with pytest.raises(MonitoringError) as caught:
        amg_client(server, api=api).save_dashboard(dict(V2_DASHBOARD))
    assert "Amazon Managed Grafana %s workspaces have no schema v2 dashboards" % version in str(caught.value)
    assert server.log == [("GET", "/api/health")] and server.state()["dashboards"] == {}


def test_a_workspace_that_hides_its_version_gets_none_of_the_three():
    client = GrafanaClient("https://g-0123456789.grafana-workspace.eu-west-1.amazonaws.com", token="t")
    client._version = ""  # pylint: disable=protected-access  # /api/health gave no version (set here, no request)
    for feature in ("nested folders", "/apis generation", "schema v2 dashboards"):
        assert client.has(feature) == (False, "Amazon Managed Grafana (version hidden) workspaces")
    with pytest.raises(MonitoringError) as caught:
        client.require("nested folders", "create folder A/B")
    assert "Amazon Managed Grafana (version hidden) workspaces have no nested folders" in str(caught.value)
    assert client.requests == 0
