"""Bad input to the Grafana modules: each a clear error, nothing half-written (server state is
asserted through the API after every failure). Runs against the `grafana` fixture (the loopback
stand-in, or a real Grafana when GRAFANA_URL/GRAFANA_TOKEN are set)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def run_task(playbook, args, module="monitoring.stack.grafana_dashboard", check=False):
    plays = [{"name": "bad", "hosts": "localhost", "gather_facts": False,
              "tasks": [{"name": "t", module: args}]}]
    return playbook(plays, check=check)


def assert_failed(run, *fragments):
    assert run.rc != 0, run
    result = run.result("t")
    assert result.get("failed") and not result.get("changed"), result
    for fragment in fragments:
        assert fragment in result["msg"], result["msg"]
    return result["msg"]


def folder_titles(grafana):
    return sorted(hit["title"] for hit in grafana.client.search(type="dash-folder"))


def test_invalid_json_names_file_and_position(playbook, grafana, tmp_path):
    path = tmp_path / "dashboard-broken.json"
    path.write_text('{\n  "uid": "%s",\n  "title": "Broken"\n  "panels": []\n}\n' % grafana.uid("broken"))
    before = folder_titles(grafana)
    msg = assert_failed(run_task(playbook, dict(grafana.conn(), path=str(path), folder="Bad " + grafana.suffix)),
                        str(path), "line 4 column 3")
    assert msg.startswith("Failed to prepare dashboard: invalid JSON")
    assert grafana.client.get_dashboard(grafana.uid("broken")) is None
    assert folder_titles(grafana) == before  # the folder was not created either


def test_neither_uid_nor_title(playbook, grafana):
    assert_failed(run_task(playbook, dict(grafana.conn(), dashboard={"panels": []}, folder="Bad " + grafana.suffix)),
                  "neither a uid nor a title")
    assert "Bad " + grafana.suffix not in folder_titles(grafana)


def test_unknown_inputs_datasource(playbook, grafana):
    uid = grafana.uid("inputs")
    dashboard = {"__inputs": [{"name": "DS_MISSING", "type": "datasource", "pluginId": "example-missing-datasource",
                               "label": "Missing"}],
                 "uid": uid, "title": "Inputs",
                 "panels": [{"title": "p", "datasource": {"type": "example-missing-datasource", "uid": "${DS_MISSING}"},
                             "targets": [{"refId": "A"}]}]}
    assert_failed(run_task(playbook, dict(grafana.conn(), dashboard=dashboard)),
                  "DS_MISSING", "example-missing-datasource", "cannot be resolved", "datasource_uids")
    assert grafana.client.get_dashboard(uid) is None


def test_folder_uid_used_by_another_title(playbook, grafana):
    folder_uid = grafana.uid("owned")
    grafana.created["folders"].add(folder_uid)
    grafana.client.create_folder("Owner " + grafana.suffix, uid=folder_uid)
    uid = grafana.uid("intruder")
    assert_failed(run_task(playbook, dict(grafana.conn(), dashboard={"uid": uid, "title": "Intruder"},
                                          folder_uid=folder_uid, folder="Other " + grafana.suffix)),
                  "already used by the folder", "Owner " + grafana.suffix, "rename")
    assert grafana.client.get_folder(folder_uid)["title"] == "Owner " + grafana.suffix
    assert grafana.client.get_dashboard(uid) is None
    # the folder module refuses the same way
    assert_failed(run_task(playbook, dict(grafana.conn(), uid=folder_uid, title="Other " + grafana.suffix),
                           module="monitoring.stack.grafana_folder"), "already used by the folder")
    assert grafana.client.get_folder(folder_uid)["title"] == "Owner " + grafana.suffix


def test_token_without_permission(playbook, grafana):
    if not grafana.viewer_token:
        pytest.skip("needs GRAFANA_VIEWER_TOKEN (a Viewer service-account token) against a real Grafana")
    uid = grafana.uid("viewer")
    assert_failed(run_task(playbook, dict(grafana.conn(grafana.viewer_token), dashboard={"uid": uid, "title": "V"})),
                  "Failed to save dashboard %s: HTTP 403" % uid, "permission")
    assert grafana.client.get_dashboard(uid) is None


def test_bad_token(playbook, grafana):
    uid = grafana.uid("badtoken")
    msg = assert_failed(run_task(playbook, dict(grafana.conn("glsa_not_a_valid_token_0000"),
                                                dashboard={"uid": uid, "title": "B"})),
                        "HTTP 401", "token")
    assert "glsa_not_a_valid_token_0000" not in msg
    assert grafana.client.get_dashboard(uid) is None


def test_bulk_stops_before_writing_when_one_file_is_bad(playbook, grafana, tmp_path):
    good = [grafana.uid("bulk-good-%d" % i) for i in range(2)]
    (tmp_path / "team").mkdir()
    for index, uid in enumerate(good):
        (tmp_path / ("d%d.json" % index)).write_text(json.dumps({"uid": uid, "title": "Good %d" % index}))
    (tmp_path / "team" / "zz-bad.json").write_text('{"uid": "x", "title": }')
    assert_failed(run_task(playbook, dict(grafana.conn(), path=str(tmp_path), folder="Bulk " + grafana.suffix),
                           module="monitoring.stack.grafana_dashboards"), "zz-bad.json", "line 1 column 23")
    assert all(grafana.client.get_dashboard(uid) is None for uid in good)
    assert "Bulk " + grafana.suffix not in folder_titles(grafana)
