"""The Grafana modules through ansible-playbook, in four steps each (check mode -> apply ->
idempotent check -> idempotent apply, asserting `changed` every time), then the server state.

Runs against the `grafana` fixture: the loopback stand-in (not Grafana; no Grafana server can be
installed here), or a real Grafana when GRAFANA_URL and GRAFANA_TOKEN are set. On the stand-in
every test runs twice: Grafana 11 (legacy /api only) and 13.x (the modules use /apis v1).
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow
STANDIN_MODES = ("legacy", "apis")


def play(tasks):
    return [{"name": "grafana", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]


STEPS = (True, False, True, False)  # check_mode of each step


def four_steps(playbook, tasks, name="t"):
    """Run check -> apply -> check -> apply; return the four results of task ``name``.

    One ansible-playbook run holds the four steps, each a copy of ``tasks`` with its own
    ``check_mode`` and ``diff``: each task is a module process of its own, as in four runs.
    """
    steps = [dict(task, name="%s (step %d)" % (task["name"], step), check_mode=check, diff=True)
             for step, check in enumerate(STEPS, 1) for task in tasks]
    run = playbook(play(steps))
    assert run.rc == 0, run
    results = [run.result("%s (step %d)" % (name, step)) for step in range(1, len(STEPS) + 1)]
    assert [r["changed"] for r in results] == [True, True, False, False], [
        (r["changed"], r.get("operation"), r.get("msg")) for r in results]
    return results


def exported_dashboard(uid, title="FileFlow API"):
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus"}],
        "__requires": [{"type": "datasource", "id": "prometheus", "version": "1.0.0"}],
        "id": 17, "uid": uid, "title": title, "tags": ["fileflow", "prod"], "version": 4, "schemaVersion": 39,
        "templating": {"list": [{"name": "job", "type": "constant", "query": "fileflow-web-api-metrics"}]},
        "panels": [
            {"type": "stat", "title": "UP", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
             "targets": [{"refId": "A", "expr": 'sum(up{job="$job"})'}]},
            {"type": "row", "title": "JVM", "collapsed": True, "panels": [
                {"type": "timeseries", "title": "Heap", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                 "targets": [{"refId": "A", "expr": 'jvm_memory_used_bytes{job="$job",area="heap"}'}]}]},
        ],
    }


def create_prometheus(grafana, uid):
    grafana.created["datasources"].add(uid)
    grafana.client.create_datasource({"name": "AMP " + uid, "uid": uid, "type": "prometheus", "access": "proxy",
                                      "url": "http://127.0.0.1:9090"})


# grafana_dashboard ----------------------------------------------------------------------------
def test_dashboard_four_steps_with_inputs_environment_and_nested_folder(playbook, grafana, tmp_path):
    ds_uid = grafana.uid("amp")
    create_prometheus(grafana, ds_uid)
    uid = grafana.uid("api")
    grafana.created["dashboards"].add(uid)
    path = tmp_path / "dashboard-api.json"
    path.write_text(json.dumps(exported_dashboard(uid), indent=2))
    folder = "FileFlow %s/API" % grafana.suffix
    task = {"name": "t", "monitoring.stack.grafana_dashboard": dict(
        grafana.conn(), path=str(path), folder=folder, add_environment=True, drop_tags=["prod"],
        commit_message="managed by Ansible")}
    results = four_steps(playbook, [task])
    assert [r["operation"] for r in results] == ["created", "created", "unchanged", "unchanged"]
    assert results[0]["diff"]["before"] == ""
    planned = json.loads(results[0]["diff"]["after"])  # the check-mode diff shows the injected filter
    assert planned["folderUid"].startswith("(new folder")
    assert planned["dashboard"]["panels"][0]["targets"][0]["expr"] == 'sum(up{job="$job",environment=~"$environment"})'
    assert planned["dashboard"]["tags"] == ["fileflow"]
    assert results[1]["version"] == 1 and results[3]["version"] == 1

    stored = grafana.client.get_dashboard(uid)
    dash = stored["dashboard"]
    assert dash["panels"][0]["datasource"] == {"type": "prometheus", "uid": ds_uid}
    assert dash["panels"][0]["targets"][0]["expr"] == 'sum(up{job="$job",environment=~"$environment"})'
    assert dash["panels"][1]["panels"][0]["targets"][0]["expr"] == \
        'jvm_memory_used_bytes{job="$job",area="heap",environment=~"$environment"}'
    assert dash["templating"]["list"][0]["name"] == "environment"
    assert dash["tags"] == ["fileflow"]
    assert not any(key.startswith("__") for key in dash)
    assert stored["meta"]["folderTitle"] == "API"
    parent = grafana.client.get_folder(stored["meta"]["folderUid"])
    assert [p["title"] for p in parent["parents"]] == ["FileFlow %s" % grafana.suffix]
    grafana.created["folders"].add(parent["parents"][0]["uid"])

    # a change made in Grafana is detected and reverted once
    dash["title"] = "Edited in the UI"
    grafana.client.save_dashboard(dash, folder_uid=stored["meta"]["folderUid"])
    run = playbook(play([task]))
    assert run.rc == 0 and run.result("t")["changed"] and run.result("t")["operation"] == "updated", run
    assert grafana.client.get_dashboard(uid)["dashboard"]["title"] == "FileFlow API"
    assert not playbook(play([task])).result("t")["changed"]


def test_dashboard_unchanged_costs_one_get_and_the_version(playbook, grafana):
    if grafana.real:
        pytest.skip("counts requests on the stand-in's counter")
    uid = grafana.uid("one")
    task = {"name": "t", "monitoring.stack.grafana_dashboard": dict(
        grafana.conn(), dashboard={"uid": uid, "title": "One", "panels": []})}
    assert playbook(play([task])).result("t")["changed"]
    mark = len(grafana.standin.log)
    run = playbook(play([task]))
    assert run.result("t")["changed"] is False, run
    assert grafana.standin.log[mark:] == [("GET", "/api/health"), ("GET", grafana.dashboard_route(uid))]


def test_dashboard_absent_four_steps(playbook, grafana):
    uid = grafana.uid("gone")
    grafana.client.save_dashboard({"uid": uid, "title": "Gone " + grafana.suffix})
    task = {"name": "t", "monitoring.stack.grafana_dashboard": dict(grafana.conn(), uid=uid, state="absent")}
    results = four_steps(playbook, [task])
    assert [r["operation"] for r in results] == ["deleted", "deleted", "absent", "absent"]
    assert grafana.client.get_dashboard(uid) is None


def test_dashboard_module_defaults_group_and_env(playbook, grafana):
    """Connection through `module_defaults: group/monitoring.stack.grafana` and GRAFANA_* variables."""
    uid = grafana.uid("defaults")
    grafana.created["dashboards"].add(uid)
    tasks = [{"name": "t", "monitoring.stack.grafana_dashboard": {"dashboard": {"uid": uid, "title": "Defaults"}}}]
    plays = [{"name": "g", "hosts": "localhost", "gather_facts": False,
              "module_defaults": {"group/monitoring.stack.grafana": {"url": grafana.url}}, "tasks": tasks}]
    run = playbook(plays, env={"GRAFANA_TOKEN": grafana.token})
    assert run.rc == 0 and run.result("t")["changed"], run
    assert grafana.token not in run.stdout
    assert grafana.client.get_dashboard(uid)["dashboard"]["title"] == "Defaults"


# grafana_folder --------------------------------------------------------------------------------
def test_folder_four_steps_and_rename_guard(playbook, grafana):
    uid = grafana.uid("ff")
    grafana.created["folders"].add(uid)
    task = {"name": "t", "monitoring.stack.grafana_folder": dict(grafana.conn(), title="FileFlow " + grafana.suffix,
                                                                 uid=uid, description="ECS services")}
    results = four_steps(playbook, [task])
    assert [r["operation"] for r in results] == ["created", "created", "unchanged", "unchanged"]
    folder = grafana.client.get_folder(uid)
    assert folder["title"] == "FileFlow " + grafana.suffix and folder["version"] == 1

    # a new title for the same uid is refused without rename, and nothing changes
    renamed = dict(task["monitoring.stack.grafana_folder"], title="FileFlow renamed " + grafana.suffix)
    run = playbook(play([{"name": "t", "monitoring.stack.grafana_folder": renamed}]))
    assert run.rc != 0, run
    msg = run.result("t")["msg"]
    assert msg == ("Failed to ensure folder 'FileFlow renamed %s': the folder uid %s is already used by the folder "
                   "'FileFlow %s'. Hint: pick another uid, or set rename: true to rename that folder"
                   % (grafana.suffix, uid, grafana.suffix)), msg
    assert grafana.client.get_folder(uid)["title"] == "FileFlow " + grafana.suffix

    # with rename: true it is renamed, in four steps (the diff shows the title change)
    results = four_steps(playbook, [{"name": "t", "monitoring.stack.grafana_folder": dict(renamed, rename=True)}])
    assert [r["operation"] for r in results] == ["updated", "updated", "unchanged", "unchanged"]
    assert json.loads(results[0]["diff"]["before"])["title"] == "FileFlow " + grafana.suffix
    assert json.loads(results[0]["diff"]["after"])["title"] == "FileFlow renamed " + grafana.suffix
    folder = grafana.client.get_folder(uid)
    assert (folder["title"], folder["version"], folder["description"]) == (
        "FileFlow renamed " + grafana.suffix, 2, "ECS services")


def test_folder_absent_four_steps(playbook, grafana):
    uid = grafana.uid("old")
    grafana.client.create_folder("Old " + grafana.suffix, uid=uid)
    task = {"name": "t", "monitoring.stack.grafana_folder": dict(grafana.conn(), uid=uid, state="absent")}
    four_steps(playbook, [task])
    assert grafana.client.get_folder(uid) is None


# grafana_datasource ----------------------------------------------------------------------------
def test_datasource_sigv4_four_steps_secrets_not_echoed(playbook, grafana):
    uid = grafana.uid("amp")
    grafana.created["datasources"].add(uid)
    secret = "s3cr3t-%s" % grafana.suffix
    task = {"name": "t", "monitoring.stack.grafana_datasource": dict(
        grafana.conn(), name="AMP " + grafana.suffix, uid=uid, type="prometheus",
        datasource_url="https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-1/",
        sigv4_region="ap-northeast-2", sigv4_auth_type="keys", json_data={"httpMethod": "POST"},
        secure_json_data={"sigV4AccessKey": "AKIAEXAMPLE", "sigV4SecretKey": secret})}
    results = [None] * 4
    for index, check in enumerate((True, False, True, False)):
        run = playbook(play([task]), check=check, diff=True)
        assert run.rc == 0, run
        assert secret not in run.stdout and secret not in run.stderr
        results[index] = run.result("t")
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert results[1]["secrets_sent"] == ["sigV4AccessKey", "sigV4SecretKey"] and results[3]["secrets_sent"] == []
    stored = grafana.client.get_datasource(uid=uid)
    assert stored["jsonData"] == {"httpMethod": "POST", "sigV4Auth": True, "sigV4Region": "ap-northeast-2",
                                  "sigV4AuthType": "keys"}
    assert stored["secureJsonFields"] == {"sigV4AccessKey": True, "sigV4SecretKey": True}
    if grafana.standin:
        assert grafana.standin.secrets(uid)["sigV4SecretKey"] == secret

    # update_secrets: always sends (and reports a change) every time
    task["monitoring.stack.grafana_datasource"].update(update_secrets="always",
                                                       secure_json_data={"sigV4AccessKey": "AKIAEXAMPLE",
                                                                         "sigV4SecretKey": secret + "-rotated"})
    run = playbook(play([task]))
    assert run.result("t")["changed"] and run.result("t")["secrets_sent"] == ["sigV4AccessKey", "sigV4SecretKey"]
    if grafana.standin:
        assert grafana.standin.secrets(uid)["sigV4SecretKey"] == secret + "-rotated"


@pytest.mark.parametrize("kind, extra", [
    ("loki", {"datasource_url": "http://127.0.0.1:3100", "json_data": {"maxLines": 1000}}),
    ("tempo", {"datasource_url": "http://127.0.0.1:3200"}),
    ("cloudwatch", {"json_data": {"authType": "default", "defaultRegion": "ap-northeast-2"}}),
])
def test_datasource_types_four_steps(playbook, grafana, kind, extra):
    uid = grafana.uid(kind)
    grafana.created["datasources"].add(uid)
    task = {"name": "t", "monitoring.stack.grafana_datasource": dict(
        grafana.conn(), name="%s %s" % (kind, grafana.suffix), uid=uid, type=kind, **extra)}
    four_steps(playbook, [task])
    assert grafana.client.get_datasource(uid=uid)["type"] == kind


def test_datasource_change_and_absent(playbook, grafana):
    uid = grafana.uid("prom")
    name = "Prom " + grafana.suffix
    base = dict(grafana.conn(), name=name, uid=uid, type="prometheus", datasource_url="http://127.0.0.1:9090")
    assert playbook(play([{"name": "t", "monitoring.stack.grafana_datasource": base}])).result("t")["changed"]
    changed = dict(base, datasource_url="http://127.0.0.1:9091")
    run = playbook(play([{"name": "t", "monitoring.stack.grafana_datasource": changed}]))
    assert run.result("t")["operation"] == "updated", run
    assert grafana.client.get_datasource(uid=uid)["url"] == "http://127.0.0.1:9091"
    absent = {"name": "t", "monitoring.stack.grafana_datasource": dict(grafana.conn(), name=name, state="absent")}
    four_steps(playbook, [absent])
    assert grafana.client.get_datasource(uid=uid) is None


# grafana_dashboards ----------------------------------------------------------------------------
def test_bulk_four_steps_folders_and_prune(playbook, grafana, tmp_path):
    ds_uid = grafana.uid("bulk-amp")
    create_prometheus(grafana, ds_uid)
    root = "Bulk " + grafana.suffix
    uids = [grafana.uid("b-top"), grafana.uid("b-api"), grafana.uid("b-worker")]
    grafana.created["dashboards"].update(uids)
    (tmp_path / "API").mkdir()
    (tmp_path / "API" / "Worker").mkdir()
    for uid, place in zip(uids, ["", "API", "API/Worker"]):
        (tmp_path / place / (uid + ".json")).write_text(json.dumps(exported_dashboard(uid, title="T " + uid)))
    task = {"name": "t", "monitoring.stack.grafana_dashboards": dict(
        grafana.conn(), path=str(tmp_path), folder=root, add_environment=True, prune=True)}
    results = four_steps(playbook, [task])
    assert results[1]["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "deleted": 0}
    assert results[3]["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "deleted": 0}
    assert len(results[2]["diff"]) == 0 and len(results[0]["diff"]) == 3
    placed = {}
    for uid in uids:
        stored = grafana.client.get_dashboard(uid)
        folder = grafana.client.get_folder(stored["meta"]["folderUid"])
        placed[uid] = [p["title"] for p in folder["parents"]] + [folder["title"]]
        assert "environment=~" in stored["dashboard"]["panels"][0]["targets"][0]["expr"]
    assert placed == {uids[0]: [root], uids[1]: [root, "API"], uids[2]: [root, "API", "Worker"]}
    grafana.created["folders"].add(grafana.client.get_dashboard(uids[0])["meta"]["folderUid"])

    # a file removed from the directory is pruned from its managed folder; a stranger at the root stays
    stranger = grafana.uid("stranger")
    grafana.created["dashboards"].add(stranger)
    grafana.client.save_dashboard({"uid": stranger, "title": "Stranger " + grafana.suffix})
    (tmp_path / "API" / (uids[1] + ".json")).unlink()
    run = playbook(play([task]))
    assert run.rc == 0 and run.result("t")["counts"]["deleted"] == 1, run
    assert grafana.client.get_dashboard(uids[1]) is None
    assert grafana.client.get_dashboard(stranger) is not None
    assert playbook(play([task])).result("t")["changed"] is False
