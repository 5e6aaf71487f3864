"""monitoring.stack.amp_workspace against a real moto server, in amazon.aws's four steps.

moto differs from AWS here (see docs/aws_managed.md):
- a workspace is ACTIVE at once (on AWS it is CREATING first; the module waits with botocore's
  ``workspace_active`` waiter, which returns at once here);
- ``kmsKeyArn`` is accepted at creation but never returned, so every moto workspace looks like one
  under an AWS-owned key: asking for a key on an existing one fails (asserted); the refusal of a
  key change when AWS reports the key is tested with botocore's Stubber in
  tests/unit/plugins/module_utils/test_amp.py;
- the alias filter of ListWorkspaces is exact (AWS: prefix). The module filters exactly itself;
  AWS's prefix listing is modelled with a Stubber in tests/unit/plugins/modules/test_amp_workspace.py.
"""

from __future__ import annotations

import boto3
import pytest

from tests.support.playbook import run_steps

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
LOG_GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/prometheus/stage"
KMS_A = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
KMS_B = "arn:aws:kms:eu-west-1:123456789012:key/66666666-7777-8888-9999-000000000000"


def _play(args, name="workspace"):
    return [{"name": "amp", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": name, "monitoring.stack.amp_workspace": dict(args, region=REGION),
                        "register": "out"}]}]


def _run(playbook, args, **kwargs):
    result = playbook(_play(args), **kwargs)
    return result, result.result("workspace")


def _steps(playbook, steps, name):
    return run_steps(playbook, _play, steps, name)


def _client():
    return boto3.client("amp", region_name=REGION)


def _workspaces():
    return _client().list_workspaces()["workspaces"]


def test_create_four_steps(aws, playbook):
    args = {"alias": "stage-monitoring", "tags": {"environment": "stage", "team": "platform"},
            "log_group_arn": LOG_GROUP, "kms_key_arn": KMS_A}

    result, res = _run(playbook, args, check=True, diff=True)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert res["workspace_id"] is None
    assert res["diff"]["after"]["alias"] == "stage-monitoring"
    assert _workspaces() == [], "check mode created a workspace"

    result, res = _run(playbook, args)
    assert result.rc == 0, result
    assert res["changed"] is True
    [ws] = _workspaces()
    assert res["workspace_id"] == ws["workspaceId"]
    assert res["arn"] == ws["arn"]
    assert res["status"] == "ACTIVE"
    assert res["tags"] == {"environment": "stage", "team": "platform"}
    assert res["log_group_arn"] == LOG_GROUP + ":*"
    endpoint = res["prometheus_endpoint"]
    assert endpoint.endswith("/workspaces/%s/" % ws["workspaceId"])
    assert res["remote_write_url"] == endpoint + "api/v1/remote_write"
    assert res["query_url"] == endpoint + "api/v1/query"
    logging = _client().describe_logging_configuration(workspaceId=ws["workspaceId"])["loggingConfiguration"]
    assert logging["logGroupArn"] == LOG_GROUP + ":*"

    # moto never returns kmsKeyArn, so to the module the workspace is under an AWS-owned key and
    # the same kms_key_arn again would be refused (test_kms_key_change_on_existing_workspace_fails);
    # the idempotent steps leave it out here. With AWS reporting the key, the same key again is
    # unchanged: test_amp.py::test_same_kms_key_is_unchanged (Stubber).
    args.pop("kms_key_arn")
    result, found = _steps(playbook, [(args, True, False), (args, False, False)], "workspace")
    assert result.rc == 0, result
    assert [res["changed"] for res in found] == [False, False], found
    # the unchanged apply still returns what a later task needs
    assert found[1]["workspace_id"] == ws["workspaceId"]
    assert found[1]["remote_write_url"].endswith("/api/v1/remote_write")


def test_update_alias_tags_logging_four_steps(aws, playbook):
    client = _client()
    ws = client.create_workspace(alias="old", tags={"keep": "1", "drop": "2"})
    client.create_logging_configuration(workspaceId=ws["workspaceId"], logGroupArn=LOG_GROUP + ":*")
    args = {"workspace_id": ws["workspaceId"], "alias": "new", "tags": {"keep": "1", "add": "3"},
            "log_group_arn": ""}

    result, res = _run(playbook, args, check=True, diff=True)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert res["diff"]["before"]["alias"] == "old" and res["diff"]["after"]["alias"] == "new"
    assert res["diff"]["after"]["tags"] == {"keep": "1", "add": "3"}
    assert res["diff"]["after"]["log_group_arn"] is None
    current = client.describe_workspace(workspaceId=ws["workspaceId"])["workspace"]
    assert current["alias"] == "old" and current["tags"] == {"keep": "1", "drop": "2"}

    result, res = _run(playbook, args)
    assert result.rc == 0, result
    assert res["changed"] is True
    current = client.describe_workspace(workspaceId=ws["workspaceId"])["workspace"]
    assert current["alias"] == "new"
    assert current["tags"] == {"keep": "1", "add": "3"}
    assert res["log_group_arn"] is None
    assert not client.describe_logging_configuration(workspaceId=ws["workspaceId"])["loggingConfiguration"]

    result, found = _steps(playbook, [(args, True, False), (args, False, False)], "workspace")
    assert result.rc == 0, result
    assert [res["changed"] for res in found] == [False, False], found

    # purge_tags=false only adds.
    result, res = _run(playbook, dict(args, tags={"other": "4"}, purge_tags=False))
    assert res["changed"] is True
    assert client.describe_workspace(workspaceId=ws["workspaceId"])["workspace"]["tags"] == {
        "keep": "1", "add": "3", "other": "4"}


def test_delete_four_steps(aws, playbook):
    client = _client()
    ws = client.create_workspace(alias="gone")
    args = {"alias": "gone", "state": "absent"}
    result, res = _run(playbook, args, check=True)
    assert res["changed"] is True
    assert len(_workspaces()) == 1
    result, res = _run(playbook, args)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert _workspaces() == []
    result, found = _steps(playbook, [(args, True, False), (args, False, False)], "workspace")
    assert result.rc == 0, result
    assert [res["changed"] for res in found] == [False, False], found
    assert ws["workspaceId"]


def test_alias_is_matched_exactly(aws, playbook):
    """'team' resolves to the workspace aliased 'team', never to 'team-b'.

    moto filters ListWorkspaces exactly, so here this only shows the right workspace is changed;
    AWS filters by prefix ('team' also lists 'team-b'): that half is
    tests/unit/plugins/modules/test_amp_workspace.py::test_alias_prefix_listing_resolves_the_exact_alias,
    whose Stubber answers as AWS does and which fails without the module's own exact filter.
    """
    client = _client()
    team = client.create_workspace(alias="team")["workspaceId"]
    team_b = client.create_workspace(alias="team-b")["workspaceId"]
    result, res = _run(playbook, {"alias": "team", "tags": {"owner": "team"}})
    assert result.rc == 0, result
    assert res["changed"] is True and res["workspace_id"] == team
    assert client.describe_workspace(workspaceId=team)["workspace"].get("tags") == {"owner": "team"}
    assert not client.describe_workspace(workspaceId=team_b)["workspace"].get("tags")
    assert len(_workspaces()) == 2


def test_alias_matching_two_workspaces_fails(aws, playbook):
    client = _client()
    ids = sorted(client.create_workspace(alias="twin")["workspaceId"] for _index in range(2))
    before = _workspaces()
    result, res = _run(playbook, {"alias": "twin", "tags": {"x": "y"}})
    assert result.rc != 0
    assert res["failed"] is True
    assert res["msg"].startswith("Failed to find workspace: alias 'twin' matches 2 workspaces")
    for workspace_id in ids:
        assert workspace_id in res["msg"]
    assert "pass workspace_id" in res["msg"]
    assert _workspaces() == before
    assert all(not w.get("tags") for w in _workspaces())


def test_kms_key_change_on_existing_workspace_fails(aws, playbook):
    """A key asked for on an existing workspace that does not report that key fails, changing nothing.

    AWS reports ``kmsKeyArn`` only for a customer-managed key; a workspace without one is under an
    AWS-owned key, and the key of a workspace cannot change. (moto never returns ``kmsKeyArn``, so
    here the workspace created with KMS_A looks like one under an AWS-owned key; the refusal of
    KMS_A -> KMS_B when AWS reports KMS_A is tested with a Stubber in test_amp.py.)
    """
    client = _client()
    ws = client.create_workspace(alias="enc", kmsKeyArn=KMS_A)
    result, res = _run(playbook, {"alias": "enc", "kms_key_arn": KMS_B, "tags": {"x": "y"}})
    assert result.rc != 0
    assert res["failed"] is True
    assert res["msg"] == (
        "Failed to update workspace %s: kms_key_arn is an AWS-owned key (AWS reports no kmsKeyArn), asked for %s; "
        "the KMS key of a workspace is set at creation and cannot change. Hint: omit kms_key_arn for this "
        "workspace, or create a new workspace (new alias) with the key and move writers to it"
        % (ws["workspaceId"], KMS_B))
    assert [w["workspaceId"] for w in _workspaces()] == [ws["workspaceId"]]
    assert not client.describe_workspace(workspaceId=ws["workspaceId"])["workspace"].get("tags")


def test_missing_workspace_id_fails(aws, playbook):
    result, res = _run(playbook, {"workspace_id": "ws-00000000-0000-0000-0000-000000000000"})
    assert result.rc != 0
    assert "does not exist" in res["msg"] and "omit workspace_id" in res["msg"]
    assert _workspaces() == []
