"""monitoring.stack.amp_workspace on a Stubber client that answers ListWorkspaces as AWS does:
the ``alias`` filter is a prefix ('team' lists 'team' and 'team-b'; moto filters exactly, so the
moto test cannot show this)."""

from __future__ import annotations

import datetime

from ansible_collections.monitoring.stack.plugins.modules import amp_workspace
from tests.support.aws_stubs import run_module

ACCOUNT_ARN = "arn:aws:aps:eu-west-1:123456789012:workspace/"


def _summary(workspace_id, alias):
    return {"workspaceId": workspace_id, "alias": alias, "arn": ACCOUNT_ARN + workspace_id,
            "status": {"statusCode": "ACTIVE"}, "createdAt": datetime.datetime(2026, 1, 1), "tags": {}}


def test_alias_prefix_listing_resolves_the_exact_alias(stubbed_clients, capsys):
    amp = stubbed_clients("amp")["amp"]
    # AWS's answer for alias="team": every alias that starts with it, 'team-b' listed first.
    amp.add_response("list_workspaces", {"workspaces": [_summary("ws-b", "team-b"), _summary("ws-team", "team")]},
                     {"alias": "team", "maxResults": 100})
    amp.add_response("describe_workspace", {"workspace": dict(
        _summary("ws-team", "team"), prometheusEndpoint="https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-team/")},
        {"workspaceId": "ws-team"})
    amp.add_client_error("describe_logging_configuration", "ResourceNotFoundException", "none", 404)
    amp.add_response("tag_resource", {}, {"resourceArn": ACCOUNT_ARN + "ws-team", "tags": {"owner": "team"}})
    for _call in ("workspace_active waiter", "describe"):
        amp.add_response("describe_workspace", {"workspace": dict(_summary("ws-team", "team"), tags={"owner": "team"})},
                         {"workspaceId": "ws-team"})
    amp.add_client_error("describe_logging_configuration", "ResourceNotFoundException", "none", 404)
    out = run_module(amp_workspace, capsys, {"alias": "team", "tags": {"owner": "team"}})
    assert out.get("failed") is not True, out.get("msg")
    assert out["workspace_id"] == "ws-team" and out["changed"] is True and out["tags"] == {"owner": "team"}


def test_alias_prefix_listing_without_the_exact_alias_creates_it(stubbed_clients, capsys):
    amp = stubbed_clients("amp")["amp"]
    amp.add_response("list_workspaces", {"workspaces": [_summary("ws-b", "team-b")]}, {"alias": "team", "maxResults": 100})
    out = run_module(amp_workspace, capsys, {"alias": "team"}, check_mode=True)
    assert out["changed"] is True and out["workspace_id"] is None and out["alias"] == "team"
