"""plugins/module_utils/amp_*.py and aws_transport.py: validation (pure) and the AWS logic on a Stubber-checked client.

botocore's Stubber validates every request against the real AMP service model, so these tests
cover what moto cannot: the Alertmanager definition API (not implemented in moto), a workspace
that reports its KMS key (moto never returns kmsKeyArn), CREATING/UPDATE_FAILED statuses (moto is
always ACTIVE), and AWS's prefix alias filter (moto's is exact).
"""

from __future__ import annotations

import shutil

import boto3
import pytest
import yaml
from botocore.stub import ANY, Stubber

from ansible_collections.monitoring.stack.plugins.module_utils import amp_resources
from ansible_collections.monitoring.stack.plugins.module_utils import amp_validation
from ansible_collections.monitoring.stack.plugins.module_utils import amp_workspaces
from ansible_collections.monitoring.stack.plugins.module_utils import aws_transport

WS = "ws-01234567-89ab-cdef-0123-456789abcdef"
ARN = "arn:aws:aps:eu-west-1:123456789012:workspace/" + WS
ENDPOINT = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/%s/" % WS
KMS_A = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
KMS_B = "arn:aws:kms:eu-west-1:123456789012:key/66666666-7777-8888-9999-000000000000"

GOOD_RULES = {"groups": [{"name": "g", "rules": [
    {"alert": "Down", "expr": "up == 0", "for": "5m", "labels": {"severity": "critical"},
     "annotations": {"summary": "{{ $labels.job }} down"}},
    {"record": "job:up:sum", "expr": "sum by (job) (up)"},
]}]}

SNS_DEFINITION = {
    "alertmanager_config": {
        "route": {"receiver": "sns", "group_by": ["alertname"],
                  "routes": [{"receiver": "sns", "matchers": ["severity=\"critical\""]}]},
        "receivers": [{"name": "sns", "sns_configs": [{
            "topic_arn": "arn:aws:sns:eu-west-1:123456789012:alerts", "sigv4": {"region": "eu-west-1"}}]}],
    },
}


def _amtool_checked(definition):
    """Every definition these tests render is checked by the real amtool check-config."""
    if not shutil.which("amtool"):
        pytest.skip("amtool not on PATH: the Alertmanager definitions of this test are not checked by amtool")
    result = amp_validation.validate_alertmanager_definition(definition)
    assert result[2] is True, "amtool did not check the definition"
    return result


def _promtool_checked(rules):
    """Every rules content these tests send is checked by the real promtool check rules."""
    if not shutil.which("promtool"):
        pytest.skip("promtool not on PATH: the rules of this test are not checked by promtool")
    result = amp_validation.validate_rules(rules)
    assert result[2] is True, "promtool did not check the rules"
    return result


@pytest.fixture
def stubbed():
    client = boto3.client("amp", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _amp(client, clock=None):
    clock = clock or FakeClock()
    return aws_transport.AmpClient(client, sleep=clock.sleep, clock=clock)


def _summary(**extra):
    """A ListWorkspaces entry (no prometheusEndpoint, as in the service model)."""
    summary = _workspace(**extra)
    summary.pop("prometheusEndpoint")
    return summary


def _workspace(**extra):
    description = {"workspaceId": WS, "alias": "prod", "arn": ARN, "status": {"statusCode": "ACTIVE"},
                   "prometheusEndpoint": ENDPOINT, "createdAt": "2026-01-01T00:00:00Z", "tags": {"a": "1"}}
    description.update(extra)
    return description


# -- pure helpers -----------------------------------------------------------------------------

def test_endpoint_urls():
    assert amp_workspaces.endpoint_urls(ENDPOINT) == (ENDPOINT + "api/v1/remote_write", ENDPOINT + "api/v1/query")
    assert amp_workspaces.endpoint_urls(ENDPOINT.rstrip("/")) == (ENDPOINT + "api/v1/remote_write", ENDPOINT + "api/v1/query")
    assert amp_workspaces.endpoint_urls(None) == (None, None)


def test_normalize_log_group_arn():
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/prometheus/x"
    assert amp_workspaces.normalize_log_group_arn(arn) == arn + ":*"
    assert amp_workspaces.normalize_log_group_arn(arn + ":*") == arn + ":*"
    assert amp_workspaces.normalize_log_group_arn("") == ""


def test_good_rules_have_no_problems():
    assert amp_validation.rule_problems(GOOD_RULES) == []


@pytest.mark.parametrize("data, expected", [
    ([], "must be a mapping with a 'groups' list"),
    ({"groups": []}, "'groups' must be a non-empty list"),
    ({"groups": [{"rules": [{"record": "a", "expr": "up"}]}]}, "groups[0]: 'name' is required"),
    ({"groups": [{"name": "g", "rules": []}]}, "group 'g': 'rules' must be a non-empty list"),
    ({"groups": [{"name": "g", "rules": [{"record": "a", "expr": "up"}]}] * 2}, "duplicate group name"),
    ({"groups": [{"name": "g", "rules": [{"expr": "up"}]}]}, "needs exactly one of 'alert' or 'record'"),
    ({"groups": [{"name": "g", "rules": [{"alert": "A", "record": "b", "expr": "up"}]}]}, "exactly one of"),
    ({"groups": [{"name": "g", "rules": [{"record": "bad name", "expr": "up"}]}]}, "not a valid metric name"),
    ({"groups": [{"name": "g", "rules": [{"record": "a", "expr": ""}]}]}, "'expr' must be a non-empty"),
    ({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up", "for": "5 min"}]}]}, "not a Prometheus duration"),
    ({"groups": [{"name": "g", "interval": "often", "rules": [{"record": "a", "expr": "up"}]}]}, "g'.interval"),
    ({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up", "labels": ["x"]}]}]}, "labels: must be a mapping"),
    ({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up", "labels": {"bad-name": "x"}}]}]},
     "'bad-name' is not a valid label name"),
    ({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up", "annotations": {"s": {"x": 1}}}]}]},
     "annotations.s: must be a string"),
    ({"groups": [{"name": "g", "rules": [{"record": "a", "expr": "up", "for": "5m"}]}]}, "only allowed on alerting"),
    ({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up", "severity": "x"}]}]}, "unknown key 'severity'"),
    ({"groups": [{"name": "g", "rules": [{"record": "a", "expr": "up"}]}], "extra": 1}, "unknown top-level key"),
])
def test_rule_problems(data, expected):
    problems = amp_validation.rule_problems(data)
    assert any(expected in p for p in problems), problems


def test_validate_rules_keeps_text_and_dumps_data():
    text = yaml.safe_dump(GOOD_RULES)
    data, out, _checked = _promtool_checked("# comment\n" + text)
    assert data == GOOD_RULES and out == "# comment\n" + text
    data, out, checked = _promtool_checked(GOOD_RULES)
    assert yaml.safe_load(out) == GOOD_RULES and checked is True
    assert amp_validation.validate_rules(GOOD_RULES, run_promtool=False)[2] is False  # promtool: false


def test_validate_rules_bad_yaml():
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_validation.validate_rules("groups:\n - name: x\n   rules: [\n", run_promtool=False)
    assert str(exc.value).startswith("Failed to parse rules: not valid YAML")
    assert "Hint:" in str(exc.value)


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool not on PATH: promtool checks skipped")
def test_promtool_accepts_good_and_reports_bad_promql():
    assert amp_validation.validate_rules(GOOD_RULES)[2] is True
    bad = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "sum(rate(up[5m])"}]}]}
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_validation.validate_rules(bad)
    assert "promtool check rules:" in str(exc.value)
    assert "/tmp" not in str(exc.value)


def test_promtool_absent_is_reported_not_silent(monkeypatch):
    """Without promtool on the PATH the rules are not called checked (the module then warns:
    tests/unit/plugins/modules/test_amp_rule_groups_namespace.py); with it, bad PromQL fails."""
    monkeypatch.setattr(amp_validation.shutil, "which", lambda name: None)
    assert amp_validation.promtool_problems("groups: []") == (False, [])
    bad = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "sum(rate(up[5m])"}]}]}
    _data, _text, checked = amp_validation.validate_rules(bad)
    assert checked is False  # not claimed checked: the structure is fine, the PromQL was not looked at


@pytest.mark.parametrize("definition, expected", [
    ("[]", "must be a mapping"),
    ({"template_files": {}}, "alertmanager_config: required"),
    ({"alertmanager_config": {"route": {"receiver": "x"}}}, "receivers: must be a non-empty list"),
    ({"alertmanager_config": {"receivers": [{"name": "a"}]}}, "route: needs a default 'receiver'"),
    ({"alertmanager_config": {"route": {"receiver": "b"}, "receivers": [{"name": "a"}]}}, "receiver 'b' is not defined"),
    ({"alertmanager_config": {"route": {"receiver": "a", "routes": [{"receiver": "c"}]}, "receivers": [{"name": "a"}]}},
     "route.routes[0]: receiver 'c' is not defined"),
    ({"alertmanager_config": {"route": {"receiver": "a"}, "receivers": [{"name": "a"}, {"name": "a"}]}},
     "duplicate receiver 'a'"),
    ({"alertmanager_config": "route: [", "template_files": {}}, "Failed to parse alertmanager_config"),
    (dict(SNS_DEFINITION, template_files={"t": 1}), "template_files: must be a mapping"),
    (dict(SNS_DEFINITION, extra=1), "unknown top-level key 'extra'"),
])
def test_alertmanager_problems(definition, expected):
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_validation.validate_alertmanager_definition(definition, run_amtool=False)
    assert expected in str(exc.value)
    assert str(exc.value).startswith("Failed to ")


def test_alertmanager_definition_renders_amp_format():
    definition, text, _checked = _amtool_checked(SNS_DEFINITION)
    stored = yaml.safe_load(text)
    assert isinstance(stored["alertmanager_config"], str)
    assert yaml.safe_load(stored["alertmanager_config"]) == SNS_DEFINITION["alertmanager_config"]
    # A string with alertmanager_config as a string is the same definition.
    again, _text, _checked = _amtool_checked(text)
    assert again == definition


@pytest.mark.skipif(not shutil.which("amtool"), reason="amtool not on PATH: amtool checks skipped")
def test_amtool_accepts_sns_with_templates_and_reports_bad_config():
    definition = dict(SNS_DEFINITION, template_files={"default": '{{ define "x" }}x{{ end }}'})
    definition["alertmanager_config"] = dict(SNS_DEFINITION["alertmanager_config"], templates=["default"])
    assert amp_validation.validate_alertmanager_definition(definition)[2] is True
    bad = {"alertmanager_config": {"route": {"receiver": "a", "group_wait": "soon"}, "receivers": [{"name": "a"}]}}
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_validation.validate_alertmanager_definition(bad)
    assert "amtool check-config:" in str(exc.value)


# -- workspaces on a stubbed client --------------------------------------------------------------

def test_alias_prefix_matches_are_ignored_and_duplicates_fail(stubbed):
    client, stubber = stubbed
    other = _summary(workspaceId="ws-other", alias="prod-old")
    second = _summary(workspaceId="ws-second")
    # AWS filters by prefix: 'prod' returns 'prod-old' too, which must not count.
    stubber.add_response("list_workspaces", {"workspaces": [_summary(), other, second]},
                         {"alias": "prod", "maxResults": 100})
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_workspaces.Workspaces(_amp(client)).find(alias="prod")
    assert "alias 'prod' matches 2 workspaces (%s, ws-second)" % WS in str(exc.value)
    assert "ws-other" not in str(exc.value)


def test_alias_found_over_two_pages(stubbed):
    client, stubber = stubbed
    stubber.add_response("list_workspaces", {"workspaces": [_summary(alias="prod-x", workspaceId="ws-x")],
                                             "nextToken": "t"}, {"alias": "prod", "maxResults": 100})
    stubber.add_response("list_workspaces", {"workspaces": [_summary()]},
                         {"alias": "prod", "maxResults": 100, "nextToken": "t"})
    stubber.add_response("describe_workspace", {"workspace": _workspace()}, {"workspaceId": WS})
    assert amp_workspaces.Workspaces(_amp(client)).find(alias="prod")["workspaceId"] == WS


def test_kms_key_change_is_refused_when_aws_reports_the_key(stubbed):
    client, stubber = stubbed
    stubber.add_response("describe_workspace", {"workspace": _workspace(kmsKeyArn=KMS_A)}, {"workspaceId": WS})
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_workspaces.Workspaces(_amp(client)).ensure_present(workspace_id=WS, kms_key_arn=KMS_B)
    message = str(exc.value)
    assert message.startswith("Failed to update workspace %s: kms_key_arn is %s, asked for %s" % (WS, KMS_A, KMS_B))
    assert "cannot change" in message and "Hint: keep the current kms_key_arn" in message


def test_same_kms_key_is_unchanged(stubbed):
    client, stubber = stubbed
    stubber.add_response("describe_workspace", {"workspace": _workspace(kmsKeyArn=KMS_A)}, {"workspaceId": WS})
    stubber.add_response("describe_logging_configuration", {"loggingConfiguration": {
        "status": {"statusCode": "ACTIVE"}, "workspace": WS, "logGroupArn": "arn:aws:logs:eu-west-1:123456789012:log-group:g:*",
        "createdAt": "2026-01-01T00:00:00Z", "modifiedAt": "2026-01-01T00:00:00Z"}}, {"workspaceId": WS})
    workspaces = amp_workspaces.Workspaces(_amp(client))
    changed, state = workspaces.ensure_present(workspace_id=WS, kms_key_arn=KMS_A, tags={"a": "1"})
    assert changed is False
    assert state["kms_key_arn"] == KMS_A and state["remote_write_url"] == ENDPOINT + "api/v1/remote_write"
    assert state["log_group_arn"].endswith(":g:*")
    assert workspaces.warnings == []


def test_create_waits_with_the_workspace_active_waiter(stubbed):
    """AWS answers CREATING first; the botocore waiter polls DescribeWorkspace until ACTIVE."""
    client, stubber = stubbed
    stubber.add_response("list_workspaces", {"workspaces": []}, {"alias": "prod", "maxResults": 100})
    stubber.add_response("create_workspace", {"workspaceId": WS, "arn": ARN, "status": {"statusCode": "CREATING"},
                                              "kmsKeyArn": KMS_A},
                         {"alias": "prod", "tags": {"a": "1"}, "kmsKeyArn": KMS_A})
    stubber.add_response("describe_workspace", {"workspace": _workspace(status={"statusCode": "CREATING"})},
                         {"workspaceId": WS})
    stubber.add_response("describe_workspace", {"workspace": _workspace()}, {"workspaceId": WS})
    stubber.add_response("create_logging_configuration", {"status": {"statusCode": "CREATING"}},
                         {"workspaceId": WS, "logGroupArn": "arn:aws:logs:eu-west-1:123456789012:log-group:g:*"})
    stubber.add_response("describe_workspace", {"workspace": _workspace()}, {"workspaceId": WS})
    workspaces = amp_workspaces.Workspaces(_amp(client), wait_timeout=10)
    waiter_delays = []
    original = client.get_waiter

    def fast_waiter(name):
        waiter = original(name)
        waiter.config.delay = 0
        waiter_delays.append(name)
        return waiter

    client.get_waiter = fast_waiter
    changed, state = workspaces.ensure_present(alias="prod", tags={"a": "1"}, kms_key_arn=KMS_A,
                                               log_group_arn="arn:aws:logs:eu-west-1:123456789012:log-group:g")
    assert changed is True and waiter_delays == ["workspace_active"]
    assert state["workspace_id"] == WS and state["status"] == "ACTIVE" and state["kms_key_arn"] == KMS_A
    assert workspaces.diff["before"] == {} and workspaces.diff["after"]["alias"] == "prod"


def test_check_mode_makes_no_write_calls(stubbed):
    client, stubber = stubbed
    stubber.add_response("describe_workspace", {"workspace": _workspace()}, {"workspaceId": WS})
    stubber.add_client_error("describe_logging_configuration", "ResourceNotFoundException", "none", 404,
                             expected_params={"workspaceId": WS})
    workspaces = amp_workspaces.Workspaces(_amp(client), check_mode=True)
    changed, state = workspaces.ensure_present(workspace_id=WS, alias="renamed", tags={"b": "2"},
                                               log_group_arn="arn:aws:logs:eu-west-1:123456789012:log-group:g")
    assert changed is True  # no update/tag/untag/create_logging call was stubbed: none was made
    assert state["alias"] == "renamed" and state["tags"] == {"b": "2"}
    assert workspaces.diff["after"]["log_group_arn"].endswith(":g:*")


def test_bad_log_group_arn_fails_before_any_call(stubbed):
    client, _stubber = stubbed
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_workspaces.Workspaces(_amp(client)).ensure_present(alias="x", log_group_arn="my-log-group")
    assert "is not a CloudWatch log group ARN" in str(exc.value)


def test_api_error_carries_the_action(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("describe_workspace", "AccessDeniedException", "no", 403, expected_params={"workspaceId": WS})
    with pytest.raises(aws_transport.AmpApiError) as exc:
        amp_workspaces.Workspaces(_amp(client)).find(workspace_id=WS)
    assert exc.value.action == "describe workspace %s" % WS


# -- Alertmanager definition on a stubbed client (moto does not implement this API) --------------

def _definition_response(data, status="ACTIVE", reason=None):
    status_block = {"statusCode": status}
    if reason:
        status_block["statusReason"] = reason
    return {"alertManagerDefinition": {"status": status_block, "data": data.encode(),
                                       "createdAt": "2026-01-01T00:00:00Z", "modifiedAt": "2026-01-01T00:00:00Z"}}


def test_alertmanager_create_then_wait_active(stubbed):
    client, stubber = stubbed
    definition, text, _checked = _amtool_checked(SNS_DEFINITION)
    stubber.add_client_error("describe_alert_manager_definition", "ResourceNotFoundException", "none", 404,
                             expected_params={"workspaceId": WS})
    stubber.add_response("create_alert_manager_definition", {"status": {"statusCode": "CREATING"}},
                         {"workspaceId": WS, "data": text.encode()})
    stubber.add_response("describe_alert_manager_definition", _definition_response(text, "CREATING"), {"workspaceId": WS})
    stubber.add_response("describe_alert_manager_definition", _definition_response(text), {"workspaceId": WS})
    definitions = amp_resources.AlertManagerDefinitions(_amp(client), WS)
    changed, state = definitions.ensure_present(definition, text)
    assert changed is True and state["status"] == "ACTIVE"
    assert definitions.diff["before"] == "" and "sns_configs" in definitions.diff["after"]


def test_alertmanager_unchanged_when_only_formatting_differs(stubbed):
    client, stubber = stubbed
    definition, text, _checked = _amtool_checked(SNS_DEFINITION)
    stored = yaml.safe_dump({"alertmanager_config": yaml.safe_dump(SNS_DEFINITION["alertmanager_config"],
                                                                   default_flow_style=True)})
    stubber.add_response("describe_alert_manager_definition", _definition_response(stored), {"workspaceId": WS})
    changed, state = amp_resources.AlertManagerDefinitions(_amp(client), WS).ensure_present(definition, text)
    assert changed is False and state["status"] == "ACTIVE"


def test_alertmanager_update_failed_reports_aws_reason(stubbed):
    client, stubber = stubbed
    definition, text, _checked = _amtool_checked(SNS_DEFINITION)
    old = amp_validation.render_alertmanager_definition({"alertmanager_config": {"route": {"receiver": "x"},
                                                                                 "receivers": [{"name": "x"}]}})
    stubber.add_response("describe_alert_manager_definition", _definition_response(old), {"workspaceId": WS})
    stubber.add_response("put_alert_manager_definition", {"status": {"statusCode": "UPDATING"}},
                         {"workspaceId": WS, "data": ANY})
    stubber.add_response("describe_alert_manager_definition",
                         _definition_response(text, "UPDATE_FAILED", "sns topic not in this region"), {"workspaceId": WS})
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_resources.AlertManagerDefinitions(_amp(client), WS).ensure_present(definition, text)
    assert "AWS reports UPDATE_FAILED: sns topic not in this region" in str(exc.value)


def test_alertmanager_wait_is_bounded(stubbed):
    client, stubber = stubbed
    definition, text, _checked = _amtool_checked(SNS_DEFINITION)
    stubber.add_client_error("describe_alert_manager_definition", "ResourceNotFoundException", "none", 404,
                             expected_params={"workspaceId": WS})
    stubber.add_response("create_alert_manager_definition", {"status": {"statusCode": "CREATING"}},
                         {"workspaceId": WS, "data": ANY})
    for _attempt in range(3):
        stubber.add_response("describe_alert_manager_definition", _definition_response(text, "CREATING"),
                             {"workspaceId": WS})
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_resources.AlertManagerDefinitions(_amp(client), WS, wait_timeout=10).ensure_present(definition, text)
    assert "still CREATING after 10s" in str(exc.value) and "raise wait_timeout" in str(exc.value)


def test_alertmanager_check_mode_and_delete(stubbed):
    client, stubber = stubbed
    definition, text, _checked = _amtool_checked(SNS_DEFINITION)
    stubber.add_client_error("describe_alert_manager_definition", "ResourceNotFoundException", "none", 404,
                             expected_params={"workspaceId": WS})
    changed, state = amp_resources.AlertManagerDefinitions(_amp(client), WS, check_mode=True).ensure_present(definition, text)
    assert changed is True and state["status"] is None
    stubber.add_response("describe_alert_manager_definition", _definition_response(text), {"workspaceId": WS})
    stubber.add_response("delete_alert_manager_definition", {}, {"workspaceId": WS})
    changed, state = amp_resources.AlertManagerDefinitions(_amp(client), WS).ensure_absent()
    assert changed is True and state is None
    stubber.add_client_error("describe_alert_manager_definition", "ResourceNotFoundException", "none", 404,
                             expected_params={"workspaceId": WS})
    assert amp_resources.AlertManagerDefinitions(_amp(client), WS).ensure_absent() == (False, None)


def test_rule_namespace_creation_failed_reports_aws_reason(stubbed):
    client, stubber = stubbed
    data, text, _checked = _promtool_checked(GOOD_RULES)
    stubber.add_client_error("describe_rule_groups_namespace", "ResourceNotFoundException", "none", 404,
                             expected_params={"workspaceId": WS, "name": "g"})
    stubber.add_response("create_rule_groups_namespace", {"name": "g", "arn": ARN + "/g", "status": {"statusCode": "CREATING"}},
                         {"workspaceId": WS, "name": "g", "data": text.encode()})
    stubber.add_response("describe_rule_groups_namespace", {"ruleGroupsNamespace": {
        "arn": ARN + "/g", "name": "g", "status": {"statusCode": "CREATION_FAILED", "statusReason": "bad expr"},
        "data": text.encode(), "createdAt": "2026-01-01T00:00:00Z", "modifiedAt": "2026-01-01T00:00:00Z"}},
        {"workspaceId": WS, "name": "g"})
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_resources.RuleGroupsNamespaces(_amp(client), WS).ensure_present("g", data, text)
    assert "AWS reports CREATION_FAILED: bad expr" in str(exc.value)


def test_check_mode_on_a_workspace_not_created_yet(stubbed):
    """A role in check mode on a fresh environment: the workspace task only predicted creation."""
    client, stubber = stubbed
    stubber.add_response("list_workspaces", {"workspaces": []}, {"alias": "new", "maxResults": 100})
    warnings = []
    workspace_id = amp_workspaces.resolve_workspace_id(_amp(client), workspace_alias="new", check_mode=True, warnings=warnings)
    assert workspace_id is None
    assert warnings and "there is no workspace with alias 'new' yet" in warnings[0]
    data, text, _checked = _promtool_checked(GOOD_RULES)
    changed, state = amp_resources.RuleGroupsNamespaces(_amp(client), None, check_mode=True).ensure_present("g", data, text)
    assert changed is True and state["workspace_id"] is None  # and no AWS call: nothing else stubbed
    stubber.add_response("list_workspaces", {"workspaces": []}, {"alias": "new", "maxResults": 100})
    with pytest.raises(aws_transport.AmpError) as exc:
        amp_workspaces.resolve_workspace_id(_amp(client), workspace_alias="new")
    assert "Failed to find workspace: no workspace with alias 'new'" in str(exc.value)
