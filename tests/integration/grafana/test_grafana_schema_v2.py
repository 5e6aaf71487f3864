"""Schema v2 dashboards against the stand-in in each mode (issue 14 deliverable 2).

In-process (client and GrafanaSync, as test_grafana_api_generations.py): where v2 goes in each
mode, what the server stores, idempotence, check mode, diff and conflicts, the refusals. Through
ansible-playbook (the `grafana` fixture, modes both = 12.2 and apis = 13.0): grafana_dashboard and
grafana_dashboards in four steps, and the issue's bad input (a v2 dashboard with api: legacy: a
clear error and not one request).

The expected routes and versions are written out literally from the Grafana docs cited in
docs/grafana.md ("Schema v2 dashboards"). The dashboard is the Grafana 13.0.2 export of
tests/unit/fixtures/dashboards_v2/ (literal; see its README.md).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError
from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import prepare_dashboard
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaClient
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_sync import GrafanaSync, SyncError, diff_of
from tests.support.grafana_standin import ADMIN_TOKEN, GrafanaStandIn

pytestmark = pytest.mark.slow
STANDIN_MODES = ("both", "apis")
FIXTURE = Path(__file__).resolve().parents[2] / "unit" / "fixtures" / "dashboards_v2" / "grafana13-export-vm01.v2.json"
# mode -> the dashboard.grafana.app version that carries v2 (None: refused, naming the generation)
V2_ROUTE = {
    "legacy": None,
    "amg": None,
    "both": "/apis/dashboard.grafana.app/v2beta1/namespaces/default/dashboards",
    "apis": "/apis/dashboard.grafana.app/v2/namespaces/default/dashboards",
}
CLASSIC_API_VERSION = {"legacy": "api", "amg": "api", "both": "dashboard.grafana.app/v1beta1",
                       "apis": "dashboard.grafana.app/v1"}
MODES = sorted(V2_ROUTE)


def v2_source():
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def v2_desired():
    return prepare_dashboard(v2_source(), add_environment=True, uid="vm01")


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


def sync_for(server, check_mode=False, **options):
    return GrafanaSync(GrafanaClient(server.url, token=ADMIN_TOKEN, retries=0, **options), check_mode=check_mode)


def writes(server):
    return [(method, path) for method, path in server.log if method != "GET"]


def test_v2_goes_to_the_v2_resource_or_is_refused_naming_the_generation(servers, mode):
    server = servers[mode]
    desired = v2_desired()
    route = V2_ROUTE[mode]
    if route is None:
        with pytest.raises(MonitoringError) as caught:
            sync_for(server).ensure_dashboard(desired)
        assert str(caught.value).startswith(
            "Failed to send a schema v2 dashboard: Grafana %s has only the legacy /api generation" % server.version)
        assert server.log == [("GET", "/api/health")] and server.state()["dashboards"] == {}
        return
    result = sync_for(server).ensure_dashboard(desired)
    assert (result["changed"], result["operation"]) == (True, "created")
    assert writes(server) == [("POST", route)]
    state = server.state()
    assert state["dashboard_api_versions"]["vm01"] == route.split("/")[2] + "/" + route.split("/")[3]
    stored = state["dashboards"]["vm01"]
    assert stored["elements"] == desired["elements"] and stored["variables"][0]["spec"]["name"] == "environment"
    assert stored["elements"]["panel-2"]["spec"]["data"]["spec"]["queries"][0]["spec"]["query"]["spec"]["expr"] \
        == 'node_load1{environment=~"$environment"}'
    # a classic dashboard on the same server still goes where it always went (v1beta1 / v1), unconverted
    sync_for(server).ensure_dashboard({"uid": "classic", "title": "Classic", "panels": []})
    assert server.state()["dashboard_api_versions"]["classic"] == CLASSIC_API_VERSION[mode]


@pytest.mark.parametrize("mode_name", ["both", "apis"])
def test_rerun_is_unchanged_check_mode_and_diff(servers, mode_name):
    server = servers[mode_name]
    server.reset()
    sync_for(server).ensure_dashboard(v2_desired())
    server.log.clear()
    again = sync_for(server).ensure_dashboard(v2_desired())  # a new run: new client, same file
    assert (again["changed"], again["operation"]) == (False, "unchanged")
    assert writes(server) == [] and len(server.log) == 2  # /api/health and the one GET
    changed = v2_desired()
    changed["elements"]["panel-1"]["spec"]["title"] = "CPU"
    before = copy.deepcopy(server.state()["dashboards"]["vm01"])
    planned = sync_for(server, check_mode=True).ensure_dashboard(changed)
    assert (planned["changed"], planned["operation"]) == (True, "updated")
    assert server.state()["dashboards"]["vm01"] == before and writes(server) == []
    diff = diff_of(planned, "dashboard vm01")
    assert '"title": "CPU"' in diff["after"] and '"title": "CPU"' not in diff["before"]
    applied = sync_for(server).ensure_dashboard(changed)
    assert applied["changed"] and server.state()["dashboards"]["vm01"]["elements"]["panel-1"]["spec"]["title"] == "CPU"
    assert server.state()["dashboards"]["vm01"]["version"] == 2


def test_a_change_in_between_is_a_conflict_not_an_overwrite(servers):
    server = servers["apis"]
    server.reset()
    sync_for(server).ensure_dashboard(v2_desired())
    mine = sync_for(server)
    stored = mine.client.get_dashboard("vm01", schema_v2=True)
    theirs = copy.deepcopy(stored["dashboard"])
    theirs["title"] = "Changed in the UI"
    GrafanaClient(server.url, token=ADMIN_TOKEN, retries=0).save_dashboard(theirs, overwrite=True)
    wanted = v2_desired()
    wanted["title"] = "Mine"
    with pytest.raises(SyncError) as caught:
        mine.ensure_dashboard(wanted, stored=stored)
    assert "nothing was overwritten" in str(caught.value)
    assert server.state()["dashboards"]["vm01"]["title"] == "Changed in the UI"
    puts = [path for method, path in server.log if method == "PUT"]
    assert puts[-1] == V2_ROUTE["apis"] + "/vm01"  # the refused write went to v2 with the resourceVersion read


@pytest.mark.parametrize("mode_name", MODES)
def test_api_legacy_refuses_v2_before_any_request(servers, mode_name):
    server = servers[mode_name]
    server.reset()
    with pytest.raises(MonitoringError) as caught:
        sync_for(server, api="legacy").ensure_dashboard(v2_desired())
    assert str(caught.value).startswith("Failed to send a schema v2 dashboard: api: legacy, but the legacy /api "
                                        "generation cannot carry schema v2 dashboards")
    assert server.log == []


def test_grafana12_without_the_feature_toggles_is_a_clear_error_before_any_write():
    server = GrafanaStandIn(mode="both", dynamic_dashboards=False).start()
    try:
        with pytest.raises(MonitoringError) as caught:
            sync_for(server).ensure_dashboard(v2_desired())
        assert "Grafana 12.2.0 does not serve dashboard.grafana.app/v2beta1" in str(caught.value)
        assert "feature toggles" in str(caught.value)
        assert writes(server) == [] and server.state()["dashboards"] == {}
    finally:
        server.stop()


# through ansible-playbook -------------------------------------------------------------------------
def play(tasks):
    return [{"name": "grafana", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def test_grafana_dashboard_v2_four_steps(playbook, grafana, tmp_path):
    if grafana.real:
        pytest.skip("needs a Grafana with schema v2 (12.x with feature toggles, or 13)")
    uid = grafana.uid("vm01")
    grafana.created["dashboards"].add(uid)
    path = tmp_path / "vm01.json"
    path.write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    args = dict(grafana.conn(), path=str(path), uid=uid, add_environment=True)
    task = {"name": "t", "monitoring.stack.grafana_dashboard": args}
    steps = [dict(task, name="t%d" % step, check_mode=check, diff=True)
             for step, check in enumerate((True, False, True, False), 1)]
    run = playbook(play(steps))
    assert run.rc == 0, run
    results = [run.result("t%d" % step) for step in range(1, 5)]
    assert [(r["changed"], r["operation"]) for r in results] == [
        (True, "created"), (True, "created"), (False, "unchanged"), (False, "unchanged")]
    assert '"environment=~' not in results[0]["diff"]["before"] and "node_load1{environment=~" in results[0]["diff"]["after"]
    stored = grafana.standin.state()["dashboards"][uid]
    assert stored["elements"]["panel-1"]["spec"]["data"]["spec"]["queries"][0]["spec"]["query"]["spec"]["expr"] == \
        '100 - (avg by (instance) (rate(node_cpu_seconds_total{mode="idle",environment=~"$environment"}[1m])) * 100)'
    assert grafana.standin.state()["dashboard_api_versions"][uid].startswith("dashboard.grafana.app/v2")


def test_grafana_dashboards_directory_with_v2_and_classic(playbook, grafana, tmp_path):
    if grafana.real:
        pytest.skip("needs a Grafana with schema v2 (12.x with feature toggles, or 13)")
    source = json.loads(FIXTURE.read_text(encoding="utf-8"))
    source["title"] = "VM01 " + grafana.suffix
    (tmp_path / "vm01.json").write_text(json.dumps(source), encoding="utf-8")
    classic_uid = grafana.uid("classic")
    (tmp_path / "classic.json").write_text(json.dumps({"uid": classic_uid, "title": "Classic " + grafana.suffix,
                                                       "panels": []}), encoding="utf-8")
    task = {"name": "t", "monitoring.stack.grafana_dashboards": dict(grafana.conn(), path=str(tmp_path))}
    run = playbook(play([dict(task, name="t1"), dict(task, name="t2")]))
    assert run.rc == 0, run
    first, second = run.result("t1"), run.result("t2")
    assert first["changed"] and first["counts"]["created"] == 2
    assert not second["changed"] and second["counts"]["unchanged"] == 2
    uids = dict((item["path"].rsplit("/", 1)[1], item["uid"]) for item in first["dashboards"])
    grafana.created["dashboards"].update(uids.values())
    versions = grafana.standin.state()["dashboard_api_versions"]
    assert versions[uids["vm01.json"]].startswith("dashboard.grafana.app/v2")
    assert versions[uids["classic.json"]] in ("dashboard.grafana.app/v1beta1", "dashboard.grafana.app/v1")


def test_bad_input_v2_with_api_legacy_is_refused_with_no_request(playbook, grafana, tmp_path):
    """Issue 14 bad input: a v2 dashboard sent with api: legacy: a clear error before any write
    (here: before any request at all, on a server that has v2)."""
    if grafana.real:
        pytest.skip("asserts the stand-in's request log")
    path = tmp_path / "vm01.json"
    path.write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    grafana.standin.reset()
    tasks = [{"name": "one", "monitoring.stack.grafana_dashboard": dict(grafana.conn(), path=str(path), api="legacy",
                                                                        add_environment=True), "ignore_errors": True},
             {"name": "dir", "monitoring.stack.grafana_dashboards": dict(grafana.conn(), path=str(tmp_path), api="legacy"),
              "ignore_errors": True}]
    run = playbook(play(tasks))
    one, many = run.result("one"), run.result("dir")
    assert one["failed"] and not one["changed"]
    assert one["msg"].startswith("Failed to send a schema v2 dashboard: api: legacy, but the legacy /api generation "
                                 "cannot carry schema v2 dashboards"), one["msg"]
    assert many["failed"] and "(files: %s)" % path in many["msg"], many["msg"]
    assert grafana.standin.log == []
