"""monitoring.stack.amg_service_account on a Stubber ``grafana`` client (moto has no Amazon Managed
Grafana). Stubber checks every request against botocore's own service model (names, types,
required members, the ``g-[0-9a-f]{10}`` workspace pattern, secondsToLive 1..2592000) and fails on
any call not queued here, so each test states the exact calls a run makes: a check-mode run with no
write call queued proves it makes none. The answers are shaped as the model's output shapes say
(Stubber validates them too)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.monitoring.stack.plugins.modules import amg_service_account
from tests.support.aws_stubs import run_module, throttle

WORKSPACE = "g-0123456789"
KEY = "glsa_secret_key_value_0123456789"
THIRTY_DAYS = 30 * 24 * 3600
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)


def account(name="ci", role="EDITOR", account_id="7"):
    return {"id": account_id, "name": name, "isDisabled": "false", "grafanaRole": role}


def listed(stub, *accounts):
    stub.add_response("list_workspace_service_accounts", {"serviceAccounts": list(accounts), "workspaceId": WORKSPACE},
                      {"workspaceId": WORKSPACE, "maxResults": 100})


def tokens(stub, *names, expires=NOW + datetime.timedelta(days=20)):
    stub.add_response("list_workspace_service_account_tokens", {
        "serviceAccountTokens": [{"id": "t-%s" % name, "name": name, "createdAt": NOW, "expiresAt": expires}
                                 for name in names],
        "serviceAccountId": "7", "workspaceId": WORKSPACE},
        {"workspaceId": WORKSPACE, "serviceAccountId": "7", "maxResults": 100})


def created_token(stub, name="pipeline", seconds=THIRTY_DAYS):
    stub.add_response("create_workspace_service_account_token", {
        "serviceAccountToken": {"id": "t-new", "name": name, "key": KEY}, "serviceAccountId": "7",
        "workspaceId": WORKSPACE},
        {"workspaceId": WORKSPACE, "serviceAccountId": "7", "name": name, "secondsToLive": seconds})


def args(**extra):
    base = {"workspace_id": WORKSPACE, "name": "ci", "role": "Editor"}
    base.update(extra)
    return base


TOKEN = {"name": "pipeline", "seconds_to_live": THIRTY_DAYS}


def test_four_steps_create_then_unchanged(stubbed_clients, capsys):
    stub = stubbed_clients("grafana")["grafana"]
    # 1. check mode on an empty workspace: a listing only, no write queued
    listed(stub)
    out = run_module(amg_service_account, capsys, args(account_token=TOKEN), check_mode=True)
    assert out["changed"] is True and out["operation"] == "created", out
    assert out["account_token"]["operation"] == "created" and "key" not in out["account_token"]
    # 2. apply: the account, then its token; the key is in this result only
    listed(stub)
    stub.add_response("create_workspace_service_account", {"id": "7", "name": "ci", "grafanaRole": "EDITOR",
                                                           "workspaceId": WORKSPACE},
                      {"workspaceId": WORKSPACE, "name": "ci", "grafanaRole": "EDITOR"})
    created_token(stub)
    out = run_module(amg_service_account, capsys, args(account_token=TOKEN))
    assert out.get("changed") is True and out["service_account"]["id"] == "7", out
    assert out["account_token"] == {"id": "t-new", "name": "pipeline", "operation": "created", "key": KEY}
    # 3. re-run: the token of that name exists, so no create is sent (none is queued)
    listed(stub, account())
    tokens(stub, "pipeline")
    out = run_module(amg_service_account, capsys, args(account_token=TOKEN))
    assert out["changed"] is False and out["operation"] == "unchanged"
    assert out["account_token"]["operation"] == "unchanged" and "key" not in out["account_token"]
    assert out["account_token"]["expires_at"].startswith("2026-12-21")
    # 4. check mode again: unchanged, same calls
    listed(stub, account())
    tokens(stub, "pipeline")
    assert run_module(amg_service_account, capsys, args(account_token=TOKEN), check_mode=True)["changed"] is False


def test_rotate_deletes_and_creates_the_token(stubbed_clients, capsys):
    stub = stubbed_clients("grafana")["grafana"]
    listed(stub, account())
    tokens(stub, "other", "pipeline")
    stub.add_response("delete_workspace_service_account_token",
                      {"tokenId": "t-pipeline", "serviceAccountId": "7", "workspaceId": WORKSPACE},
                      {"workspaceId": WORKSPACE, "serviceAccountId": "7", "tokenId": "t-pipeline"})
    created_token(stub, seconds=3600)
    out = run_module(amg_service_account, capsys, args(account_token=dict(TOKEN, seconds_to_live=3600, rotate=True)))
    assert out["changed"] is True and out["account_token"]["operation"] == "rotated"
    assert out["account_token"]["key"] == KEY


def test_rotate_in_check_mode_makes_no_write_call(stubbed_clients, capsys):
    stub = stubbed_clients("grafana")["grafana"]
    listed(stub, account())
    tokens(stub, "pipeline")
    out = run_module(amg_service_account, capsys, args(account_token=dict(TOKEN, rotate=True)), check_mode=True)
    assert out["changed"] is True and out["account_token"]["operation"] == "rotated"
    assert "key" not in out["account_token"]


@pytest.mark.parametrize("seconds", [0, -5, THIRTY_DAYS + 1])
def test_ttl_outside_one_second_to_thirty_days_is_refused_before_any_call(stubbed_clients, capsys, seconds):
    stubbed_clients("grafana")  # nothing queued: any call would fail the test
    out = run_module(amg_service_account, capsys, args(account_token=dict(TOKEN, seconds_to_live=seconds)))
    assert out["failed"] is True
    assert "seconds_to_live must be between 1 and 2592000 (30 days)" in out["msg"], out["msg"]


@pytest.mark.parametrize("bad, message", [
    ({"workspace_id": "ws-0123"}, "workspace_id must look like g-0123456789"),
    ({"name": "x" * 129}, "name must be 1 to 128 characters"),
    ({"account_token": {"name": "", "seconds_to_live": 60}}, "account_token.name must be 1 to 128 characters"),
])
def test_bad_names_are_refused_before_any_call(stubbed_clients, capsys, bad, message):
    stubbed_clients("grafana")
    out = run_module(amg_service_account, capsys, args(**bad))
    assert out["failed"] is True and message in out["msg"], out["msg"]


def test_another_role_is_refused_before_any_write(stubbed_clients, capsys):
    stub = stubbed_clients("grafana")["grafana"]
    listed(stub, account(role="VIEWER"))
    out = run_module(amg_service_account, capsys, args(role="Admin"))
    assert out["failed"] is True
    assert "service account ci has the role Viewer, not Admin" in out["msg"], out["msg"]


def test_absent_deletes_the_account_and_is_idempotent(stubbed_clients, capsys):
    stub = stubbed_clients("grafana")["grafana"]
    listed(stub, account())
    stub.add_response("delete_workspace_service_account", {"serviceAccountId": "7", "workspaceId": WORKSPACE},
                      {"workspaceId": WORKSPACE, "serviceAccountId": "7"})
    assert run_module(amg_service_account, capsys, args(state="absent"))["operation"] == "deleted"
    listed(stub)
    out = run_module(amg_service_account, capsys, args(state="absent"))
    assert out["changed"] is False and out["operation"] == "absent"


def test_listing_follows_next_token_and_throttling_is_retried(stubbed_clients, capsys):
    stub = stubbed_clients("grafana")["grafana"]
    throttle(stub, "list_workspace_service_accounts")
    stub.add_response("list_workspace_service_accounts", {
        "serviceAccounts": [account(name="a", account_id="1")], "workspaceId": WORKSPACE, "nextToken": "p2"},
        {"workspaceId": WORKSPACE, "maxResults": 100})
    stub.add_response("list_workspace_service_accounts", {"serviceAccounts": [account()], "workspaceId": WORKSPACE},
                      {"workspaceId": WORKSPACE, "maxResults": 100, "nextToken": "p2"})
    out = run_module(amg_service_account, capsys, args())
    assert out["changed"] is False and out["service_account"]["id"] == "7"


def test_aws_error_is_reported_without_the_key(stubbed_clients, capsys):
    stub = stubbed_clients("grafana")["grafana"]
    listed(stub, account())
    tokens(stub)
    stub.add_client_error("create_workspace_service_account_token", "ValidationException",
                          "Service accounts are only available for Grafana 9 and above", 400)
    out = run_module(amg_service_account, capsys, args(account_token=TOKEN))
    assert out["failed"] is True and "Failed to create token pipeline of service account ci" in out["msg"]
    assert KEY not in str(out)


def test_an_expired_token_is_kept_with_a_warning(stubbed_clients, capsys):
    stub = stubbed_clients("grafana")["grafana"]
    listed(stub, account())
    tokens(stub, "pipeline", expires=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
    out = run_module(amg_service_account, capsys, args(account_token=TOKEN))
    assert out["changed"] is False and out["account_token"]["operation"] == "unchanged"
    warnings = str(out.get("warnings"))  # ansible-core 2.19 returns warning summaries, not strings
    assert "token pipeline of service account ci expired at 2020-01-01" in warnings and "rotate: true" in warnings
