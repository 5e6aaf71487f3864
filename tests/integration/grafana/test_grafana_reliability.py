"""Request cost, prune safety, version conflicts, throttling, datasource types, Amazon Managed
Grafana's flat folders and bad JSON shapes, through ansible-playbook against the `grafana`
fixture. Request counts, fault injection and the AMG mode need the stand-in (its request log,
``inject`` and ``amg``) and are skipped against a real Grafana."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaClient
from tests.support.grafana_standin import ADMIN_TOKEN, GrafanaStandIn

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"
MANAGED_TAG = "managed-by-monitoring-stack"


def play(tasks):
    return [{"name": "grafana", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def task(module, **args):
    return {"name": "t", "monitoring.stack.%s" % module: args}


def needs_standin(grafana):
    if grafana.real:
        pytest.skip("needs the stand-in (request log, fault injection)")


def exported(uid, title):
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus"}],
        "uid": uid, "title": title,
        "panels": [{"type": "stat", "title": "UP", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                    "targets": [{"refId": "A", "expr": 'sum(up{job="$job"})'}]}],
    }


def log_since(grafana, mark):
    return grafana.standin.log[mark:]


# item 17: request cost --------------------------------------------------------------------------
def write_tree(tmp_path, grafana, count, make):
    """``count`` dashboards spread over nested directories (three levels deep)."""
    places = ["", "API", "API/Worker", "API/Worker/Jobs", "Web"]
    uids = []
    for index in range(count):
        place = tmp_path / places[index % len(places)]
        place.mkdir(parents=True, exist_ok=True)
        uid = grafana.uid("c%02d" % index)
        uids.append(uid)
        (place / (uid + ".json")).write_text(json.dumps(make(uid, "Cost %d %s" % (index, grafana.suffix))))
    grafana.created["dashboards"].update(uids)
    return uids


def test_bulk_unchanged_costs_n_plus_one_in_nested_folders(playbook, grafana, tmp_path):
    needs_standin(grafana)
    uids = write_tree(tmp_path, grafana, 30, lambda uid, title: {"uid": uid, "title": title, "panels": []})
    bulk = task("grafana_dashboards", path=str(tmp_path), folder="Cost %s/Team" % grafana.suffix, prune=True,
                **grafana.conn())
    first = playbook(play([bulk]))
    assert first.rc == 0 and first.result("t")["counts"]["created"] == 30, first
    mark = len(grafana.standin.log)
    run = playbook(play([bulk]))
    assert run.rc == 0 and run.result("t")["changed"] is False, run
    requests = log_since(grafana, mark)
    assert len(requests) == 32, requests  # N dashboards + one folder search + the version (api: auto)
    assert requests.count(("GET", "/api/search")) == 1 and requests.count(("GET", "/api/health")) == 1
    assert sorted(r for r in requests if r[1].startswith("/api/dashboards/uid/")) == \
        sorted(("GET", "/api/dashboards/uid/" + uid) for uid in uids)


def test_bulk_unchanged_with_inputs_lists_datasources_once(playbook, grafana, tmp_path):
    needs_standin(grafana)
    grafana.client.create_datasource({"name": "Prometheus", "uid": grafana.uid("prom"), "type": "prometheus",
                                      "url": "http://127.0.0.1:9090"})
    grafana.created["datasources"].add(grafana.uid("prom"))
    write_tree(tmp_path, grafana, 30, exported)
    bulk = task("grafana_dashboards", path=str(tmp_path), folder="Cost %s" % grafana.suffix, add_environment=True,
                **grafana.conn())
    assert playbook(play([bulk])).result("t")["counts"]["created"] == 30
    mark = len(grafana.standin.log)
    run = playbook(play([bulk]))
    assert run.rc == 0 and run.result("t")["changed"] is False, run
    requests = log_since(grafana, mark)
    assert len(requests) == 33, requests  # N dashboards + one folder search + one datasource list + the version
    assert requests.count(("GET", "/api/search")) == 1 and requests.count(("GET", "/api/datasources")) == 1
    assert requests.count(("GET", "/api/health")) == 1


HEALTH = ("GET", "/api/health")  # api: auto asks the version once per task


@pytest.mark.parametrize("args, expected", [
    ({}, [HEALTH, ("GET", "/api/dashboards/uid/{uid}")]),
    ({"folder": "Single {suffix}/Team"}, [HEALTH, ("GET", "/api/dashboards/uid/{uid}"), ("GET", "/api/search")]),
    ({"folder_uid": "{folder_uid}"}, [HEALTH, ("GET", "/api/dashboards/uid/{uid}")]),
    ({"folder": "Single {suffix}/Team", "exported": True},
     [("GET", "/api/datasources"), HEALTH, ("GET", "/api/dashboards/uid/{uid}"), ("GET", "/api/search")]),
])
def test_single_unchanged_request_counts(playbook, grafana, args, expected):
    """What docs/grafana.md states: one GET, plus one search with `folder`, plus one datasource
    list when the dashboard needs the server's datasources, plus the version with api: auto."""
    needs_standin(grafana)
    uid = grafana.uid("single")
    folder_uid = grafana.uid("single-f")
    grafana.created["dashboards"].add(uid)
    grafana.created["folders"].add(folder_uid)
    grafana.client.create_folder("Single " + grafana.suffix, uid=folder_uid)
    grafana.client.create_datasource({"name": "Prometheus", "uid": grafana.uid("p"), "type": "prometheus",
                                      "url": "http://127.0.0.1:9090"})
    grafana.created["datasources"].add(grafana.uid("p"))
    args = dict(args)
    dashboard = exported(uid, "Single") if args.pop("exported", False) else {"uid": uid, "title": "Single"}
    args = dict((k, v.format(suffix=grafana.suffix, folder_uid=folder_uid)) for k, v in args.items())
    single = task("grafana_dashboard", dashboard=dashboard, add_environment=True, **dict(grafana.conn(), **args))
    assert playbook(play([single])).result("t")["changed"]
    mark = len(grafana.standin.log)
    run = playbook(play([single]))
    assert run.rc == 0 and run.result("t")["changed"] is False, run
    assert log_since(grafana, mark) == [(m, p.format(uid=uid)) for m, p in expected]


# item 14: prune only what this collection made ----------------------------------------------------
def test_prune_keeps_hand_made_dashboards_unless_prune_unmanaged(playbook, grafana, tmp_path):
    ours = [grafana.uid("ours-1"), grafana.uid("ours-2")]
    grafana.created["dashboards"].update(ours)
    for uid in ours:
        (tmp_path / (uid + ".json")).write_text(json.dumps({"uid": uid, "title": "Ours " + uid, "tags": ["team"]}))
    bulk = task("grafana_dashboards", path=str(tmp_path), folder="Prune " + grafana.suffix, prune=True,
                **grafana.conn())
    assert playbook(play([bulk])).result("t")["counts"]["created"] == 2
    stored = grafana.client.get_dashboard(ours[0])
    folder_uid = stored["meta"]["folderUid"]
    grafana.created["folders"].add(folder_uid)
    assert stored["dashboard"]["tags"] == ["team", MANAGED_TAG]

    by_hand = grafana.uid("by-hand")
    grafana.created["dashboards"].add(by_hand)
    grafana.client.save_dashboard({"uid": by_hand, "title": "Made in the UI " + grafana.suffix, "tags": ["team"]},
                                  folder_uid=folder_uid)
    (tmp_path / (ours[1] + ".json")).unlink()
    run = playbook(play([bulk]), diff=True)
    assert run.rc == 0 and run.result("t")["changed"], run
    assert [(d["uid"], d["operation"]) for d in run.result("t")["dashboards"] if d["operation"] == "deleted"] == \
        [(ours[1], "deleted")]
    assert grafana.client.get_dashboard(ours[1]) is None
    assert grafana.client.get_dashboard(by_hand)["dashboard"]["title"] == "Made in the UI " + grafana.suffix
    assert playbook(play([bulk])).result("t")["changed"] is False

    bulk["monitoring.stack.grafana_dashboards"]["prune_unmanaged"] = True
    run = playbook(play([bulk]))
    assert run.rc == 0 and run.result("t")["counts"]["deleted"] == 1, run
    assert grafana.client.get_dashboard(by_hand) is None and grafana.client.get_dashboard(ours[0]) is not None


@pytest.mark.parametrize("args, fragment", [
    ({"drop_tags": [MANAGED_TAG]}, "managed_tag %r is also in drop_tags" % MANAGED_TAG),
    ({"managed_tag": ""}, "prune needs managed_tag"),
])
def test_prune_refuses_options_that_cannot_tell_ours(playbook, grafana, tmp_path, args, fragment):
    uid = grafana.uid("opt")
    (tmp_path / "d.json").write_text(json.dumps({"uid": uid, "title": "Opt"}))
    run = playbook(play([task("grafana_dashboards", path=str(tmp_path), prune=True, **dict(grafana.conn(), **args))]))
    assert run.rc != 0 and fragment in run.result("t")["msg"], run
    assert grafana.client.get_dashboard(uid) is None


# item 27: version conflicts ---------------------------------------------------------------------
def edit_in_grafana(uid, title):
    """A stand-in hook: someone saves the dashboard in the UI (version + 1)."""
    def hook(standin):
        with standin.lock:
            record = standin.orgs[1].dashboards[uid]
            record["dashboard"]["title"] = title
            record["version"] += 1
            record["dashboard"]["version"] = record["version"]
    return hook


@pytest.mark.standin_modes("legacy", "apis")  # 412 version-mismatch / 409 Conflict
def test_change_made_in_grafana_between_read_and_write_is_not_overwritten(playbook, grafana):
    needs_standin(grafana)
    uid = grafana.uid("race")
    grafana.created["dashboards"].add(uid)
    grafana.client.save_dashboard({"uid": uid, "title": "Original"})
    ours = task("grafana_dashboard", dashboard={"uid": uid, "title": "From Ansible"}, **grafana.conn())
    grafana.standin.inject(*grafana.save_route(uid), before=edit_in_grafana(uid, "Edited in the UI"))
    run = playbook(play([ours]))
    assert run.rc != 0, run
    msg = run.result("t")["msg"]
    assert msg.startswith("Failed to save dashboard %s: the dashboard was changed in Grafana" % uid), msg
    assert "this run read version 1, Grafana now has version 2" in msg and "nothing was overwritten" in msg
    assert "overwrite: true" in msg
    stored = grafana.client.get_dashboard(uid)["dashboard"]
    assert (stored["title"], stored["version"]) == ("Edited in the UI", 2)
    # the next run compares with the new version and applies the file again
    run = playbook(play([ours]))
    assert run.result("t")["operation"] == "updated" and run.result("t")["version"] == 3, run
    assert grafana.client.get_dashboard(uid)["dashboard"]["title"] == "From Ansible"


@pytest.mark.standin_modes("legacy", "apis")  # 412 version-mismatch / 409 Conflict
def test_dashboard_created_in_grafana_meanwhile_is_not_overwritten(playbook, grafana):
    needs_standin(grafana)
    uid = grafana.uid("race-new")
    grafana.created["dashboards"].add(uid)

    def create(standin):
        GrafanaClient(standin.url, token=ADMIN_TOKEN, retries=0).save_dashboard({"uid": uid, "title": "Theirs"})

    grafana.standin.inject(*grafana.save_route(uid, new=True), before=create)
    run = playbook(play([task("grafana_dashboard", dashboard={"uid": uid, "title": "Ours"}, **grafana.conn())]))
    assert run.rc != 0 and "this run read no dashboard with this uid, Grafana now has version 1" in \
        run.result("t")["msg"], run
    assert grafana.client.get_dashboard(uid)["dashboard"]["title"] == "Theirs"


@pytest.mark.standin_modes("legacy", "apis")  # 412 version-mismatch / 409 Conflict
def test_concurrent_change_to_the_same_content_is_reported_unchanged(playbook, grafana):
    needs_standin(grafana)
    uid = grafana.uid("race-same")
    grafana.created["dashboards"].add(uid)
    grafana.client.save_dashboard({"uid": uid, "title": "Original"})
    grafana.standin.inject(*grafana.save_route(uid), before=edit_in_grafana(uid, "Same"))
    run = playbook(play([task("grafana_dashboard", dashboard={"uid": uid, "title": "Same"}, **grafana.conn())]))
    assert run.rc == 0 and run.result("t")["changed"] is False and run.result("t")["operation"] == "unchanged", run
    assert run.result("t")["version"] == 2


@pytest.mark.standin_modes("legacy", "apis")  # 412 version-mismatch / 409 Conflict
def test_overwrite_true_replaces_the_concurrent_change(playbook, grafana):
    needs_standin(grafana)
    uid = grafana.uid("race-ow")
    grafana.created["dashboards"].add(uid)
    grafana.client.save_dashboard({"uid": uid, "title": "Original"})
    grafana.standin.inject(*grafana.save_route(uid), before=edit_in_grafana(uid, "Edited in the UI"))
    run = playbook(play([task("grafana_dashboard", dashboard={"uid": uid, "title": "Ours"}, overwrite=True,
                              **grafana.conn())]))
    assert run.rc == 0 and run.result("t")["operation"] == "updated", run
    assert grafana.client.get_dashboard(uid)["dashboard"]["title"] == "Ours"


# item 8 through the modules ----------------------------------------------------------------------
def test_throttled_and_failed_after_commit_requests_through_the_modules(playbook, grafana):
    needs_standin(grafana)
    uid = grafana.uid("thr")
    folder_uid = grafana.uid("thr-f")
    grafana.created["dashboards"].add(uid)
    grafana.created["folders"].add(folder_uid)
    grafana.standin.inject("GET", "/api/dashboards/uid/" + uid, 429, times=2, retry_after=1)
    grafana.standin.inject("POST", "/api/folders", 502, commit=True)
    grafana.standin.inject("POST", "/api/dashboards/db", 500, commit=True)
    args = dict(grafana.conn(), retries=3)
    run = playbook(play([task("grafana_dashboard", dashboard={"uid": uid, "title": "Throttled"},
                              folder="Thr " + grafana.suffix, folder_uid=folder_uid, **args)]))
    assert run.rc == 0 and run.result("t")["operation"] == "created" and run.result("t")["version"] == 1, run
    posts = [entry for entry in grafana.standin.log if entry[0] == "POST"]
    assert posts == [("POST", "/api/folders"), ("POST", "/api/dashboards/db")]  # each sent once
    assert grafana.client.get_folder(folder_uid)["title"] == "Thr " + grafana.suffix
    assert playbook(play([task("grafana_dashboard", dashboard={"uid": uid, "title": "Throttled"},
                               folder="Thr " + grafana.suffix, folder_uid=folder_uid, **args)])
                    ).result("t")["changed"] is False


def test_throttling_beyond_the_retries_fails_clearly(playbook, grafana):
    needs_standin(grafana)
    uid = grafana.uid("thr2")
    grafana.standin.inject("GET", "/api/dashboards/uid/" + uid, 429, times=2, retry_after=1)
    run = playbook(play([task("grafana_dashboard", dashboard={"uid": uid, "title": "T"},
                              **dict(grafana.conn(), retries=1))]))
    assert run.rc != 0, run
    msg = run.result("t")["msg"]
    assert msg.startswith("Failed to read dashboard %s: HTTP 429 from GET" % uid) and "throttled 2 times" in msg, msg
    assert "Hint: Grafana throttles this client" in msg
    assert grafana.standin.log.count(("GET", "/api/dashboards/uid/" + uid)) == 2  # retries: 1 means 2 requests
    assert grafana.client.get_dashboard(uid) is None


# item 16: datasource types from the server ------------------------------------------------------
def test_loki_dashboard_by_datasource_name_is_imported_unchanged(playbook, grafana):
    if grafana.real:
        pytest.skip("creates datasources named Loki and Prometheus (the fixture names them so)")
    loki_uid, prom_uid = grafana.uid("loki"), grafana.uid("prom")
    grafana.created["datasources"].update([loki_uid, prom_uid])
    suffix = grafana.suffix
    grafana.client.create_datasource({"name": "Loki", "uid": loki_uid, "type": "loki", "url": "http://127.0.0.1:3100"})
    grafana.client.create_datasource({"name": "Prometheus", "uid": prom_uid, "type": "prometheus",
                                      "url": "http://127.0.0.1:9090"})
    source = json.loads((FIXTURES / "loki-logs-app.json").read_text())
    uid = "loki-app-" + suffix
    grafana.created["dashboards"].add(uid)
    single = task("grafana_dashboard", path=str(FIXTURES / "loki-logs-app.json"), uid=uid, add_environment=True,
                  **grafana.conn())
    run = playbook(play([single]))
    assert run.rc == 0 and run.result("t")["operation"] == "created", run
    stored = grafana.client.get_dashboard(uid)["dashboard"]

    def queries(dashboard):
        return [[t["expr"] for t in p["targets"]] for p in dashboard["panels"]]

    assert queries(stored)[:4] == queries(source)[:4]  # every LogQL query byte for byte
    assert queries(stored)[4] == ['sum(rate(loki_distributor_lines_received_total{environment=~"$environment"}[5m]))']
    variables = {v["name"]: v for v in stored["templating"]["list"]}
    assert variables["app"]["query"] == "label_values(job)" and "environment" in variables
    assert playbook(play([single])).result("t")["changed"] is False


# item 21: a JSON list is a clear error ----------------------------------------------------------
def test_dashboard_json_that_is_a_list_names_the_option(playbook, grafana, tmp_path):
    path = tmp_path / "two.json"
    path.write_text(json.dumps([{"uid": grafana.uid("l1"), "title": "L1"}, {"uid": grafana.uid("l2"), "title": "L2"}]))
    for state in ("present", "absent"):
        run = playbook(play([task("grafana_dashboard", path=str(path), state=state, **grafana.conn())]))
        assert run.rc != 0, run
        msg = run.result("t")["msg"]
        assert msg.startswith("Failed to prepare dashboard: path=%s: the JSON is a list, not an object" % path), msg
        assert "monitoring.stack.grafana_dashboards" in msg
    assert grafana.client.get_dashboard(grafana.uid("l1")) is None


# item 29: nested folders on Amazon Managed Grafana follow the workspace version -------------------
# (AWS documents subfolders from the Grafana 10 workspaces: docs/grafana.md, "Amazon Managed Grafana")
@pytest.fixture(params=["amg-9.4", "amg"])
def amg(request):
    server = GrafanaStandIn(mode=request.param).start()
    yield server
    server.stop()


def amg_conn(server):
    return {"url": server.url, "token": ADMIN_TOKEN, "retries": 0, "grafana_flavor": "amg"}


@pytest.mark.parametrize("check", [True, False])
def test_nested_folder_on_amg_9_4_is_refused_naming_the_version(playbook, amg, check):
    if amg.mode != "amg-9.4":
        pytest.skip("10.4 workspaces have nested folders (next test)")
    for module, args in [("grafana_dashboard", {"dashboard": {"uid": "d", "title": "D"}, "folder": "Team/Service"}),
                         ("grafana_folder", {"title": "Team/Service"}),
                         ("grafana_dashboards", {"path": str(FIXTURES), "folder": "Team/Service"})]:
        run = playbook(play([task(module, **dict(amg_conn(amg), **args))]), check=check)
        assert run.rc != 0, run
        msg = run.result("t")["msg"]
        assert msg.startswith("Failed to create folder Team/Service: Amazon Managed Grafana 9.4 workspaces have no "
                              "nested folders"), msg
        assert "Hint: use a one-level folder" in msg, msg
    state = amg.state()
    assert state["folders"] == {} and state["dashboards"] == {}  # nothing half-made


def test_nested_folder_on_amg_10_4_is_created_once(playbook, amg):
    if amg.mode != "amg":
        pytest.skip("9.4 workspaces have no nested folders (test above)")
    args = dict(amg_conn(amg), dashboard={"uid": "d", "title": "D"}, folder="Team/Service")
    assert playbook(play([task("grafana_dashboard", **args)])).result("t")["operation"] == "created"
    assert playbook(play([task("grafana_dashboard", **args)])).result("t")["changed"] is False
    folders = amg.state()["folders"]
    team = [uid for uid, folder in folders.items() if folder["title"] == "Team"]
    assert sorted((f["title"], f["parentUid"]) for f in folders.values()) == [("Service", team[0]), ("Team", "")]
    assert amg.state()["dashboard_folders"]["d"] != team[0]  # in Service, not in Team


def test_one_level_folder_on_amg_works(playbook, amg):
    if amg.mode != "amg-9.4":
        pytest.skip("the flat-folder workspace is the case (10.4 nests: test above)")
    args = dict(amg_conn(amg), dashboard={"uid": "d", "title": "D"}, folder="Team")
    assert playbook(play([task("grafana_dashboard", **args)])).result("t")["operation"] == "created"
    assert playbook(play([task("grafana_dashboard", **args)])).result("t")["changed"] is False
    assert [f["title"] for f in amg.state()["folders"].values()] == ["Team"]


def test_schema_v2_on_amg_is_refused_before_any_write(playbook, amg):
    dashboard = {"uid": "v2d", "title": "V2", "elements": {}, "layout": {"kind": "GridLayout", "spec": {"items": []}}}
    run = playbook(play([task("grafana_dashboard", **dict(amg_conn(amg), dashboard=dashboard))]))
    assert run.rc != 0, run
    version = "9.4" if amg.mode == "amg-9.4" else "10.4"
    assert "Amazon Managed Grafana %s workspaces have no schema v2 dashboards" % version in run.result("t")["msg"]
    assert [m for m, _p in amg.log if m != "GET"] == [] and amg.state()["dashboards"] == {}
