"""monitoring.stack.amp_alertmanager_definition: main() end to end on a Stubber-checked client.

moto does not implement the Alertmanager definition API (404), so this module is tested with
botocore's Stubber, which checks every request against the real AMP service model and fails on
any call that was not expected (that is how "check mode writes nothing" is asserted). The module
runs through AnsibleAWSModule with ansible-core 2.19's patch_module_args; only its ``client()``
is replaced to hand out the stubbed client.
"""

from __future__ import annotations

import json
import shutil

import boto3
import pytest
import yaml
from botocore.stub import ANY, Stubber

from ansible_collections.monitoring.stack.plugins.module_utils import amp_validation
from ansible_collections.monitoring.stack.plugins.modules import amp_alertmanager_definition as module
from tests.support.aws_stubs import run_module

WS = "ws-01234567-89ab-cdef-0123-456789abcdef"
ARN = "arn:aws:aps:eu-west-1:123456789012:workspace/" + WS
CONFIG = {
    "route": {"receiver": "sns", "group_by": ["alertname", "service"]},
    "receivers": [{"name": "sns", "sns_configs": [{
        "topic_arn": "arn:aws:sns:eu-west-1:123456789012:alerts", "sigv4": {"region": "eu-west-1"}}]}],
}
DEFINITION = {"alertmanager_config": CONFIG}


@pytest.fixture
def stubber(monkeypatch):
    client = boto3.client("amp", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(module.AnsibleAWSModule, "client", lambda self, *args, **kwargs: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture(autouse=True)
def _real_amtool(request):
    """Every definition these tests send is checked by the real amtool check-config."""
    if not shutil.which("amtool"):
        pytest.skip("amtool not on PATH: the definitions of these tests are not checked by amtool")


def _run(capsys, args, check_mode=False, diff=False):
    return run_module(module, capsys, args, check_mode=check_mode, diff=diff)


def _stored(definition=None, status="ACTIVE"):
    text = amp_validation.render_alertmanager_definition(definition or DEFINITION)
    return {"alertManagerDefinition": {"status": {"statusCode": status}, "data": text.encode(),
                                       "createdAt": "2026-01-01T00:00:00Z", "modifiedAt": "2026-01-01T00:00:00Z"}}


def _not_found(stubber):
    stubber.add_client_error("describe_alert_manager_definition", "ResourceNotFoundException", "none", 404,
                             expected_params={"workspaceId": WS})


def _describe_workspace(stubber):
    stubber.add_response("describe_workspace", {"workspace": {
        "workspaceId": WS, "arn": ARN, "status": {"statusCode": "ACTIVE"}, "createdAt": "2026-01-01T00:00:00Z"}},
        {"workspaceId": WS})


def test_four_steps(stubber, capsys):
    args = {"workspace_id": WS, "definition": DEFINITION}

    _describe_workspace(stubber)
    _not_found(stubber)
    out = _run(capsys, args, check_mode=True, diff=True)
    assert out["changed"] is True and out["status"] is None
    assert "sns_configs" in out["diff"]["after"]

    _describe_workspace(stubber)
    _not_found(stubber)
    text = amp_validation.render_alertmanager_definition(DEFINITION)
    stubber.add_response("create_alert_manager_definition", {"status": {"statusCode": "CREATING"}},
                         {"workspaceId": WS, "data": text.encode()})
    stubber.add_response("describe_alert_manager_definition", _stored(), {"workspaceId": WS})
    out = _run(capsys, args)
    assert out["changed"] is True and out["status"] == "ACTIVE" and out["amtool_checked"] is True
    assert out["definition"] == DEFINITION and out["workspace_id"] == WS

    for check_mode in (True, False):
        _describe_workspace(stubber)
        stubber.add_response("describe_alert_manager_definition", _stored(), {"workspaceId": WS})
        out = _run(capsys, args, check_mode=check_mode)
        assert out["changed"] is False, check_mode


def test_update_and_yaml_string_input(stubber, capsys):
    old = {"alertmanager_config": {"route": {"receiver": "x"}, "receivers": [{"name": "x"}]}}
    _describe_workspace(stubber)
    stubber.add_response("describe_alert_manager_definition", _stored(old), {"workspaceId": WS})
    stubber.add_response("put_alert_manager_definition", {"status": {"statusCode": "UPDATING"}},
                         {"workspaceId": WS, "data": ANY})
    stubber.add_response("describe_alert_manager_definition", _stored(), {"workspaceId": WS})
    text = yaml.safe_dump({"alertmanager_config": yaml.safe_dump(CONFIG)})
    out = _run(capsys, {"workspace_id": WS, "definition": text}, diff=True)
    assert out["changed"] is True and out["amtool_checked"] is True
    assert "receiver: x" in out["diff"]["before"] and "sns_configs" in out["diff"]["after"]


def test_workspace_by_alias_and_delete(stubber, capsys):
    stubber.add_response("list_workspaces", {"workspaces": [{
        "workspaceId": WS, "alias": "prod", "arn": ARN, "status": {"statusCode": "ACTIVE"},
        "createdAt": "2026-01-01T00:00:00Z"}]}, {"alias": "prod", "maxResults": 100})
    _describe_workspace(stubber)
    stubber.add_response("describe_alert_manager_definition", _stored(), {"workspaceId": WS})
    stubber.add_response("delete_alert_manager_definition", {}, {"workspaceId": WS})
    out = _run(capsys, {"workspace_alias": "prod", "state": "absent"})
    assert out["changed"] is True


def test_invalid_definition_fails_before_any_call(stubber, capsys):
    bad = {"alertmanager_config": {"route": {"receiver": "missing"}, "receivers": [{"name": "sns"}]}}
    out = _run(capsys, {"workspace_id": WS, "definition": bad})
    assert out["failed"] is True
    assert out["msg"].startswith("Failed to validate Alertmanager definition: alertmanager_config.route: "
                                 "receiver 'missing' is not defined in receivers")


@pytest.mark.skipif(not shutil.which("amtool"), reason="amtool not on PATH: amtool check-config skipped")
def test_amtool_message_is_reported(stubber, capsys):
    bad = {"alertmanager_config": {"route": {"receiver": "sns", "group_interval": "often"},
                                   "receivers": [{"name": "sns"}]}}
    out = _run(capsys, {"workspace_id": WS, "definition": bad})
    assert out["failed"] is True
    assert "amtool check-config:" in out["msg"] and "often" in out["msg"]


def test_api_error_uses_fail_json_aws(stubber, capsys):
    _describe_workspace(stubber)
    stubber.add_client_error("describe_alert_manager_definition", "AccessDeniedException", "denied", 403,
                             expected_params={"workspaceId": WS})
    out = _run(capsys, {"workspace_id": WS, "definition": DEFINITION})
    assert out["failed"] is True
    assert out["msg"].startswith("Failed to describe the Alertmanager definition of workspace %s" % WS)
    assert out["error"]["code"] == "AccessDeniedException"


SECRETS = ("AKIAS3NTINELKEY", "s3ntinel-sigv4-secret", "s3ntinel-slack-T000/B000", "s3ntinel-pagerduty-key",
           "s3ntinel-smtp-password")
SECRET_CONFIG = {
    "global": {"smtp_smarthost": "smtp.example.com:587", "smtp_from": "am@example.com",
               "smtp_auth_username": "am", "smtp_auth_password": SECRETS[4]},
    "route": {"receiver": "sns", "routes": [{"receiver": "oncall", "matchers": ['severity="critical"']}]},
    "receivers": [
        {"name": "sns", "sns_configs": [{"topic_arn": "arn:aws:sns:eu-west-1:123456789012:alerts", "sigv4": {
            "region": "eu-west-1", "access_key": SECRETS[0], "secret_key": SECRETS[1]}}]},
        {"name": "oncall",
         "slack_configs": [{"api_url": "https://hooks.slack.com/services/" + SECRETS[2], "channel": "#oncall"}],
         "pagerduty_configs": [{"routing_key": SECRETS[3]}],
         "email_configs": [{"to": "oncall@example.com"}]},
    ],
}


@pytest.mark.skipif(not shutil.which("amtool"), reason="amtool not on PATH: the definition is not checked by amtool")
def test_secrets_never_appear_in_result_diff_or_arguments(stubber, capsys):
    """Issue 10, item 5: sigv4 keys and receiver secrets are masked in the returned definition,
    the diff (before and after) and the module arguments; the real amtool checks the definition."""
    definition = {"alertmanager_config": SECRET_CONFIG}
    old = {"alertmanager_config": dict(SECRET_CONFIG, route={"receiver": "sns"})}
    _describe_workspace(stubber)
    stubber.add_response("describe_alert_manager_definition", _stored(old), {"workspaceId": WS})
    out = _run(capsys, {"workspace_id": WS, "definition": definition}, check_mode=True, diff=True)
    assert out.get("failed") is not True, out.get("msg")
    assert out["changed"] is True and out["amtool_checked"] is True
    text = json.dumps(out)
    for secret in SECRETS:
        assert secret not in text, secret
    sigv4 = out["definition"]["alertmanager_config"]["receivers"][0]["sns_configs"][0]["sigv4"]
    assert sigv4 == {"region": "eu-west-1", "access_key": "<redacted>", "secret_key": "<redacted>"}
    assert "routing_key: <redacted>" in out["diff"]["after"] and "secret_key: <redacted>" in out["diff"]["before"]
    assert "topic_arn: arn:aws:sns:eu-west-1:123456789012:alerts" in out["diff"]["after"]


@pytest.mark.skipif(not shutil.which("amtool"), reason="amtool not on PATH: amtool's message cannot be checked")
def test_amtool_rejection_keeps_the_reason_and_hides_the_webhook_url(stubber, capsys):
    hook = "https://hooks.example.com/s3ntinel-webhook-token%zz"
    bad = {"alertmanager_config": {"route": {"receiver": "hook"},
                                   "receivers": [{"name": "hook", "webhook_configs": [{"url": hook}]}]}}
    out = _run(capsys, {"workspace_id": WS, "definition": bad})
    assert out["failed"] is True
    assert "amtool check-config:" in out["msg"] and 'invalid URL escape "%zz"' in out["msg"]
    assert "s3ntinel-webhook-token" not in json.dumps(out)
