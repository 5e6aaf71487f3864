"""grafana_dashboards on an unchanged re-run (issue 13): exactly one GET per dashboard plus one
folder search, all on one HTTP connection; the transform is skipped only when the stored
dashboard is provably what the run would save, so an edit made in Grafana (which keeps the
module's marker) is still found, in check mode and with diffs as before.

Each test starts its own stand-in (it counts the connections it accepts by wrapping the
server's ``get_request``) and runs the module through ansible-playbook, except the transform
count, which calls the module's ``run`` in-process to count ``prepare_dashboard`` calls."""

from __future__ import annotations

import json

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaClient
from ansible_collections.monitoring.stack.plugins.modules import grafana_dashboards
from tests.support.grafana_standin import ADMIN_TOKEN, GrafanaStandIn

pytestmark = pytest.mark.slow

COUNT = 12


# the dashboard route of each stand-in mode's client with api: auto (docs/grafana.md)
ROUTES = {"legacy": "/api/dashboards/uid/%s", "apis": "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards/%s"}


@pytest.fixture(params=["legacy"])
def standin(request):
    server = GrafanaStandIn(mode=request.param).start()
    server.accepted = 0
    accept = server.server.get_request

    def counting_accept():
        connection = accept()
        server.accepted += 1
        return connection

    server.server.get_request = counting_accept
    try:
        yield server
    finally:
        server.stop()


def dashboard(index):
    return {"uid": "fast-%02d" % index, "title": "Fast %02d" % index, "tags": ["team"],
            "panels": [{"id": 1, "type": "timeseries", "title": "RPS",
                        "datasource": {"type": "prometheus", "uid": "amp"},
                        "targets": [{"refId": "A", "expr": 'sum(rate(http_requests_total{job="$job"}[5m]))'}]}]}


def write_files(tmp_path):
    (tmp_path / "Team").mkdir()
    for index in range(COUNT):
        place = tmp_path / ("Team" if index % 2 else "")
        (place / ("fast-%02d.json" % index)).write_text(json.dumps(dashboard(index)))


def bulk_play(standin, tmp_path, check=False, diff=False):
    task = {"name": "t", "check_mode": check, "diff": diff, "monitoring.stack.grafana_dashboards": {
        "url": standin.url, "token": ADMIN_TOKEN, "path": str(tmp_path), "folder": "Fast", "add_environment": True}}
    return [{"name": "bulk", "hosts": "localhost", "gather_facts": False, "tasks": [task]}]


def counts(result):
    return result["counts"]


@pytest.mark.parametrize("standin", ["legacy", "apis"], indirect=True)
def test_unchanged_rerun_is_n_gets_plus_one_search_on_one_connection(playbook, standin, tmp_path):
    write_files(tmp_path)
    first = playbook(bulk_play(standin, tmp_path))
    assert first.rc == 0 and counts(first.result("t"))["created"] == COUNT, first
    mark, accepted = len(standin.log), standin.accepted
    run = playbook(bulk_play(standin, tmp_path))
    assert run.rc == 0 and run.result("t")["changed"] is False, run
    assert counts(run.result("t")) == {"created": 0, "updated": 0, "unchanged": COUNT, "deleted": 0}
    requests = standin.log[mark:]
    expected = [("GET", "/api/health"), ("GET", "/api/search")] + [
        ("GET", ROUTES[standin.mode] % ("fast-%02d" % i)) for i in range(COUNT)]
    # N + 1 (+ the version, api: auto), each dashboard read once, nothing else
    assert sorted(requests) == sorted(expected)
    assert standin.accepted - accepted == 1


def edit_in_grafana(standin, uid, title):
    """What a UI save does to the JSON we care about: same marker, other content, version + 1."""
    client = GrafanaClient(standin.url, token=ADMIN_TOKEN)
    stored = client.get_dashboard(uid)
    edited = stored["dashboard"]
    assert "__monitoringStackSync" in edited  # the module's marker is there and is kept by the edit
    edited["panels"][0]["title"] = title
    client.save_dashboard(edited, folder_uid=stored["meta"]["folderUid"])
    return stored["dashboard"]["version"] + 1


def test_edit_behind_the_modules_back_is_found_in_check_mode_diff_and_repaired(playbook, standin, tmp_path):
    write_files(tmp_path)
    assert playbook(bulk_play(standin, tmp_path)).rc == 0
    version = edit_in_grafana(standin, "fast-03", "Edited in the UI")

    check = playbook(bulk_play(standin, tmp_path, check=True, diff=True))
    result = check.result("t")
    assert check.rc == 0 and result["changed"] is True, check
    assert counts(result) == {"created": 0, "updated": 1, "unchanged": COUNT - 1, "deleted": 0}
    assert [item["uid"] for item in result["dashboards"] if item["operation"] == "updated"] == ["fast-03"]
    assert len(result["diff"]) == 1
    assert '"title": "Edited in the UI"' in result["diff"][0]["before"]
    assert '"title": "RPS"' in result["diff"][0]["after"] and "Edited in the UI" not in result["diff"][0]["after"]
    assert standin.orgs[1].dashboards["fast-03"]["version"] == version  # check mode wrote nothing

    fix = playbook(bulk_play(standin, tmp_path))
    assert fix.rc == 0 and counts(fix.result("t"))["updated"] == 1, fix
    assert standin.orgs[1].dashboards["fast-03"]["dashboard"]["panels"][0]["title"] == "RPS"
    again = playbook(bulk_play(standin, tmp_path, diff=True))
    assert again.result("t")["changed"] is False and again.result("t")["diff"] == []


def test_changed_file_and_changed_option_are_not_taken_for_unchanged(playbook, standin, tmp_path):
    write_files(tmp_path)
    assert playbook(bulk_play(standin, tmp_path)).rc == 0
    changed = dashboard(4)
    changed["panels"][0]["title"] = "Requests per second"
    (tmp_path / "fast-04.json").write_text(json.dumps(changed))
    run = playbook(bulk_play(standin, tmp_path))
    assert counts(run.result("t"))["updated"] == 1, run
    play = bulk_play(standin, tmp_path)
    play[0]["tasks"][0]["monitoring.stack.grafana_dashboards"]["environment_label"] = "env"
    run = playbook(play)
    assert counts(run.result("t"))["updated"] == COUNT, run
    assert 'env=~"$env"' in standin.orgs[1].dashboards["fast-05"]["dashboard"]["panels"][0]["targets"][0]["expr"]


class FakeModule:
    check_mode = False
    _diff = False

    def __init__(self, params):
        self.params = params


def module_params(standin, path):
    return dict(url=standin.url, token=ADMIN_TOKEN, url_username=None, url_password=None, org_id=None,
                validate_certs=True, ca_path=None, timeout=30, retries=3, use_proxy=True, path=str(path),
                folder="Fast", recursive=True, prune=False, managed_tag="managed-by-monitoring-stack",
                prune_unmanaged=False, overwrite=False, commit_message=None, datasource_uids={},
                resolve_inputs=True, add_environment=True, environment_label="environment", drop_tags=[])


def test_transform_runs_only_for_dashboards_not_provably_unchanged(standin, tmp_path, monkeypatch):
    write_files(tmp_path)
    calls = []
    real = grafana_dashboards.prepare_dashboard

    def counting(source, **kwargs):
        calls.append(source["uid"])
        return real(source, **kwargs)

    monkeypatch.setattr(grafana_dashboards, "prepare_dashboard", counting)
    params = module_params(standin, tmp_path)
    first_changed, first, _diffs = grafana_dashboards.run(FakeModule(params))
    assert first_changed and len(calls) == COUNT
    del calls[:]
    changed, results, _diffs = grafana_dashboards.run(FakeModule(params))
    assert not changed and calls == []
    assert [(r["uid"], r["operation"], r["folder_uid"], r["notes"]) for r in results] == \
        [(r["uid"], "unchanged", r["folder_uid"], r["notes"]) for r in first]
    edit_in_grafana(standin, "fast-07", "Edited")
    changed, results, _diffs = grafana_dashboards.run(FakeModule(params))
    assert changed and calls == ["fast-07"]
