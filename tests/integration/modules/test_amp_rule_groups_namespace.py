"""monitoring.stack.amp_rule_groups_namespace against a real moto server, in four steps.

moto differs from AWS here: it accepts rules YAML that does not parse and duplicate group names
(AWS accepts the request too, then reports CREATION_FAILED/UPDATE_FAILED in the namespace status).
The module's own validation (and promtool, when on PATH) is what refuses them; the bad-input tests
assert that nothing reached the server. Namespaces are ACTIVE at once in moto, so the status wait
returns immediately (the FAILED path is unit-tested with a Stubber).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import boto3
import pytest
import yaml

from tests.support.playbook import run_steps

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
_FILES = []


@pytest.fixture(autouse=True)
def _cleanup_rule_files():
    yield
    while _FILES:
        os.unlink(_FILES.pop())


RULES = """\
groups:
  - name: service
    rules:
      - alert: ServiceDown
        expr: up == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.job }} is down"
      - record: job:up:sum
        expr: sum by (job) (up)
"""


def _play(args):
    args = dict(args)
    if isinstance(args.get("rules"), str):
        # As the role does it: a rule file read with the file lookup (not templated, so the
        # Go templates in annotations reach AMP as written).
        with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="amp-rules-", delete=False) as handle:
            handle.write(args["rules"])
            _FILES.append(handle.name)
        args["rules"] = "{{ lookup('ansible.builtin.file', %r) }}" % handle.name
    return [{"name": "amp", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "rules", "monitoring.stack.amp_rule_groups_namespace": dict(args, region=REGION)}]}]


def _run(playbook, args, **kwargs):
    result = playbook(_play(args), **kwargs)
    return result, result.result("rules")


def _steps(playbook, steps, name):
    return run_steps(playbook, _play, steps, name)


def _client():
    return boto3.client("amp", region_name=REGION)


def _workspace(alias="rules-ws"):
    return _client().create_workspace(alias=alias)["workspaceId"]


def _namespaces(workspace_id):
    return _client().list_rule_groups_namespaces(workspaceId=workspace_id)["ruleGroupsNamespaces"]


def _stored(workspace_id, name):
    data = _client().describe_rule_groups_namespace(workspaceId=workspace_id, name=name)["ruleGroupsNamespace"]["data"]
    return data.decode().rstrip("\n")  # the file lookup strips the final newline


def test_create_update_four_steps(aws, playbook):
    workspace_id = _workspace()
    args = {"workspace_alias": "rules-ws", "name": "service", "rules": RULES, "tags": {"pack": "service"}}

    result, res = _run(playbook, args, check=True, diff=True)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert "ServiceDown" in res["diff"]["after"]
    assert _namespaces(workspace_id) == []

    result, res = _run(playbook, args)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert res["workspace_id"] == workspace_id
    assert res["status"] == "ACTIVE"
    assert res["arn"].endswith("/%s/service" % workspace_id)
    assert res["promtool_checked"] is bool(shutil.which("promtool"))
    # The string is stored as given (comments and the Go template survive).
    assert _stored(workspace_id, "service") == RULES.rstrip("\n")
    assert res["data"] == yaml.safe_load(RULES)

    # Idempotent check and apply, then rules given as data with another annotation: a change,
    # shown in the diff, not written.
    result, (check_res, apply_res, res) = _steps(playbook, [
        (args, True, False), (args, False, False),
        (dict(args, rules=yaml.safe_load(RULES.replace("{{ $labels.job }}", "x"))), True, True)], "rules")
    assert result.rc == 0, result
    assert check_res["changed"] is False and apply_res["changed"] is False, (check_res, apply_res)
    assert res["changed"] is True  # the annotation text differs
    assert "x is down" in res["diff"]["after"]
    assert _stored(workspace_id, "service") == RULES.rstrip("\n")

    # Update: a changed threshold is written, then idempotent.
    changed_rules = RULES.replace("for: 5m", "for: 10m")
    result, res = _run(playbook, dict(args, rules=changed_rules))
    assert res["changed"] is True
    assert _stored(workspace_id, "service") == changed_rules.rstrip("\n")
    result, res = _run(playbook, dict(args, rules=changed_rules))
    assert res["changed"] is False


def test_reformatted_rules_are_not_a_change(aws, playbook):
    workspace_id = _workspace()
    args = {"workspace_id": workspace_id, "name": "service", "rules": RULES}
    result, res = _run(playbook, args)
    assert res["changed"] is True
    reformatted = "# a comment\n" + yaml.safe_dump(yaml.safe_load(RULES), default_flow_style=True)
    result, res = _run(playbook, dict(args, rules=reformatted))
    assert result.rc == 0, result
    assert res["changed"] is False
    assert _stored(workspace_id, "service") == RULES.rstrip("\n")


def test_delete_four_steps(aws, playbook):
    workspace_id = _workspace()
    _client().create_rule_groups_namespace(workspaceId=workspace_id, name="old", data=RULES.encode())
    args = {"workspace_id": workspace_id, "name": "old", "state": "absent"}
    result, res = _run(playbook, args, check=True)
    assert res["changed"] is True
    assert len(_namespaces(workspace_id)) == 1
    result, res = _run(playbook, args)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert _namespaces(workspace_id) == []
    result, found = _steps(playbook, [(args, True, False), (args, False, False)], "rules")
    assert [res["changed"] for res in found] == [False, False], result


@pytest.mark.parametrize("rules, expected", [
    ("groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up == 0\n       for: 5m\n",
     "Failed to parse rules: not valid YAML"),
    ("groups:\n  - name: dup\n    rules: [{record: a, expr: up}]\n  - name: dup\n    rules: [{record: b, expr: up}]\n",
     "group 'dup': duplicate group name"),
    ("groups:\n  - name: x\n    rules: [{alert: A, expr: up == 0, for: 5 minutes}]\n",
     "is not a Prometheus duration"),
    ("groups:\n  - name: x\n    rules: [{alert: A}]\n", "'expr' must be a non-empty PromQL expression"),
], ids=["unparsable-yaml", "duplicate-group", "bad-duration", "missing-expr"])
def test_bad_rules_fail_and_change_nothing(aws, playbook, rules, expected):
    workspace_id = _workspace()
    _client().create_rule_groups_namespace(workspaceId=workspace_id, name="service", data=RULES.encode())
    result, res = _run(playbook, {"workspace_id": workspace_id, "name": "service", "rules": rules})
    assert result.rc != 0
    assert res["failed"] is True
    assert expected in res["msg"], res["msg"]
    assert res["msg"].startswith("Failed to ")
    assert _stored(workspace_id, "service") == RULES.rstrip("\n")
    assert [n["name"] for n in _namespaces(workspace_id)] == ["service"]


def test_promtool_reports_bad_promql(aws, playbook):
    """Structurally fine, but the PromQL does not parse: only promtool can tell."""
    if not shutil.which("promtool"):
        pytest.skip("promtool not on PATH: the PromQL check cannot run here")
    workspace_id = _workspace()
    bad = "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: sum(rate(up[5m])\n"
    result, res = _run(playbook, {"workspace_id": workspace_id, "name": "x", "rules": bad})
    assert result.rc != 0
    assert "promtool check rules" in res["msg"]
    assert "<rules>" in res["msg"]  # the temp path is not leaked
    assert _namespaces(workspace_id) == []


def test_missing_workspace_fails_but_not_in_check_mode(aws, playbook):
    """Check mode on a fresh environment: the workspace task before only predicted its creation."""
    result, res = _run(playbook, {"workspace_alias": "nope", "name": "x", "rules": RULES})
    assert result.rc != 0
    assert "Failed to find workspace: no workspace with alias 'nope'" in res["msg"]
    result, res = _run(playbook, {"workspace_alias": "nope", "name": "x", "rules": RULES}, check=True)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert any("no workspace with alias 'nope' yet" in w for w in res.get("warnings", [])), res
    assert _client().list_workspaces()["workspaces"] == []


def test_shipped_rule_packs_upload_idempotently(aws, playbook, repo_root):
    """The rule packs of rules/ (shared with self-hosted Prometheus) are what the AMP role uploads."""
    packs = sorted(p.stem for p in (repo_root / "rules").glob("*.yml"))
    if not packs:
        pytest.skip("no rule packs in rules/ yet")
    workspace_id = _workspace()
    play = [{"name": "packs", "hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "rules", "loop": packs,
        "monitoring.stack.amp_rule_groups_namespace": {
            "region": REGION, "workspace_id": workspace_id, "name": "{{ item }}",
            "rules": "{{ lookup('ansible.builtin.file', '%s/rules/' ~ item ~ '.yml') }}" % repo_root}}]}]
    result = playbook(play)
    assert result.rc == 0, result
    assert result.changed() == 1
    assert all(r["changed"] for r in result.result("rules")["results"])
    assert sorted(n["name"] for n in _namespaces(workspace_id)) == packs
    for name in packs:
        assert _stored(workspace_id, name) == (repo_root / "rules" / (name + ".yml")).read_text().rstrip("\n")
    # the idempotent check and apply, in one run (each task a module process of its own)
    task = play[0]["tasks"][0]
    result = playbook([dict(play[0], tasks=[dict(task, name="check", check_mode=True), dict(task, name="apply")])])
    assert result.rc == 0, result
    for name in ("check", "apply"):
        assert not any(r["changed"] for r in result.result(name)["results"]), name
