from __future__ import annotations

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils import aws_iam_policies as aip

WS = "arn:aws:aps:eu-west-1:123456789012:workspace/ws-0123"
WS2 = "arn:aws:aps:eu-west-1:123456789012:workspace/ws-4567"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OBJ = "arn:aws:s3:::prod-connectly/otel-config/crawlinghub-web-api/otel-config.yaml"
PACKS = ["service", "node", "prometheus", "http_micrometer", "http_prometheus_client"]


def _by_sid(document):
    assert document["Version"] == "2012-10-17"
    return {s["Sid"]: s for s in document["Statement"]}


def test_adot_policy_is_remote_write_on_the_workspace_only():
    doc = aip.adot_task_policy(WS)
    assert doc["Statement"] == [{"Sid": "AmpRemoteWrite", "Effect": "Allow", "Action": ["aps:RemoteWrite"],
                                 "Resource": WS}]


def test_adot_policy_with_s3_kms_and_traces():
    other = OBJ.replace("web-api", "scheduler")
    statements = _by_sid(aip.adot_task_policy(WS, [OBJ, other, OBJ], [KEY], traces=True))
    assert statements["ReadCollectorConfig"] == {"Sid": "ReadCollectorConfig", "Effect": "Allow",
                                                 "Action": ["s3:GetObject"], "Resource": sorted([OBJ, other])}
    assert statements["DecryptCollectorConfig"]["Action"] == ["kms:Decrypt"]
    assert statements["DecryptCollectorConfig"]["Resource"] == KEY
    assert statements["XRayWrite"]["Action"] == ["xray:GetSamplingRules", "xray:PutTelemetryRecords",
                                                 "xray:PutTraceSegments"]
    assert statements["XRayWrite"]["Resource"] == "*"
    # nothing but X-Ray is on "*"
    assert [sid for sid, s in statements.items() if s["Resource"] == "*"] == ["XRayWrite"]


def test_adot_policy_kms_only_with_objects_and_a_key():
    assert set(_by_sid(aip.adot_task_policy(WS, [], [KEY]))) == {"AmpRemoteWrite"}
    assert set(_by_sid(aip.adot_task_policy(WS, [OBJ], ["", None]))) == {"AmpRemoteWrite", "ReadCollectorConfig"}


def test_adot_policy_needs_the_workspace():
    with pytest.raises(ValueError, match="workspace ARN"):
        aip.adot_task_policy("")


def test_grafana_policy_queries_on_the_workspace_and_cloudwatch_reads():
    statements = _by_sid(aip.grafana_datasource_policy(WS))
    assert statements["AmpQuery"] == {"Sid": "AmpQuery", "Effect": "Allow", "Resource": WS, "Action": [
        "aps:GetLabels", "aps:GetMetricMetadata", "aps:GetSeries", "aps:QueryMetrics"]}
    assert statements["CloudWatchRead"]["Resource"] == "*"
    assert all(a.startswith("cloudwatch:") and (":Get" in a or ":List" in a or ":Describe" in a)
               for a in statements["CloudWatchRead"]["Action"])
    assert "aps:ListWorkspaces" not in str(statements) and "aps:RemoteWrite" not in str(statements)


def test_grafana_policy_several_workspaces_without_cloudwatch():
    doc = aip.grafana_datasource_policy([WS2, WS, WS], cloudwatch=False)
    assert doc["Statement"] == [dict(_by_sid(aip.grafana_datasource_policy(WS))["AmpQuery"], Resource=[WS, WS2])]
    with pytest.raises(ValueError):
        aip.grafana_datasource_policy([])


def test_trust_policy_keys_and_arns():
    trust = aip.trust_policy("ecs-tasks.amazonaws.com")
    assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}]
    assert aip.config_key("otel-config/", "crawlinghub", "web-api") == "otel-config/crawlinghub-web-api/otel-config.yaml"
    assert aip.s3_object_arn("b", "/k/x.yaml") == "arn:aws:s3:::b/k/x.yaml"
    assert aip.partition_of("arn:aws-cn:aps:cn-north-1:123456789012:workspace/ws-1") == "aws-cn"
    assert aip.partition_of("not an arn") == "aws"
    assert aip.is_workspace_arn(WS) and not aip.is_workspace_arn("ws-0123")


def test_services_need_traces_by_default():
    assert aip.services_need_traces([{"name": "a", "port": 1}])
    assert not aip.services_need_traces([{"name": "a", "port": 1, "traces": False}])
    assert not aip.services_need_traces([])


GOOD = {
    "region": "eu-west-1", "workspace_alias": "crawlinghub-prod", "rule_packs": ["service", "node"],
    "alertmanager_enabled": True, "alert_topic_arn": "arn:aws:sns:eu-west-1:123456789012:alerts",
    "services": [{"name": "web-api", "port": 8080}, {"name": "scheduler", "port": "8081", "cluster": "c2"}],
    "cluster": "c1", "rollout_enabled": True, "project": "crawlinghub", "config_bucket": "prod-connectly",
    "config_kms_key_arn": KEY, "iam_enabled": True, "adot_policy_name": "a", "grafana_policy_name": "g",
}


def test_good_settings_have_no_problems():
    assert aip.settings_problems(GOOD, PACKS) == []
    assert aip.settings_problems(dict(GOOD, services=[], project="", config_bucket="", cluster=""), PACKS) == []


@pytest.mark.parametrize("change, expected", [
    ({"region": ""}, "aws_managed_region: is required"),
    ({"region": "Europe"}, "aws_managed_region: 'Europe' is not a region name"),
    ({"workspace_alias": ""}, "aws_managed_workspace_alias: is required"),
    ({"rule_packs": ["service", "nodes"]}, "aws_managed_rule_packs: unknown rule pack(s) nodes (available: "),
    ({"rule_packs": "service"}, "aws_managed_rule_packs: must be a list"),
    ({"rule_packs": ["node", "node"]}, "aws_managed_rule_packs: lists a pack twice"),
    ({"alert_topic_arn": ""}, "aws_managed_alert_topic_arn: must be an SNS topic ARN"),
    ({"services": [{"name": "web-api"}]}, "aws_managed_services[0] (web-api): has no port"),
    ({"services": [{"name": "web-api", "port": 70000}]}, "aws_managed_services[0] (web-api): port must be"),
    ({"services": [{"name": "web-api", "port": True}]}, "aws_managed_services[0] (web-api): port must be"),
    ({"services": [{"name": "a", "port": 1}, {"name": "a", "port": 2}]},
     "aws_managed_services[1] (a): duplicate service name 'a' (also aws_managed_services[0])"),
    ({"services": [{"port": 1}]}, "aws_managed_services[0]: has no name"),
    ({"services": ["web-api"]}, "aws_managed_services[0]: must be a mapping"),
    ({"services": {"web-api": 8080}}, "aws_managed_services: must be a list"),
    ({"services": [{"name": "a", "port": 1, "metric_prefix": ["x_"]}]},
     "aws_managed_services[0] (a): unknown keys metric_prefix"),
    ({"services": [{"name": "a", "port": 1, "metric_prefixes": "x_"}]}, "aws_managed_services[0] (a): metric_prefixes must be a list"),
    ({"services": [{"name": "a b", "port": 1}]}, "aws_managed_services[0] (a b): name must be letters"),
    ({"cluster": ""}, "aws_managed_services[0] (web-api): no ECS cluster"),
    ({"project": ""}, "aws_managed_project: is required with aws_managed_services"),
    ({"config_bucket": ""}, "aws_managed_config_bucket: is required with aws_managed_services"),
    ({"config_kms_key_arn": "alias/otel"}, "aws_managed_config_kms_key_arn: must be a key ARN"),
    ({"adot_policy_name": ""}, "aws_managed_adot_policy_name: is required"),
])
def test_each_problem_names_the_variable(change, expected):
    problems = aip.settings_problems(dict(GOOD, **change), PACKS)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_disabled_parts_need_nothing():
    settings = dict(GOOD, alertmanager_enabled=False, alert_topic_arn="", rollout_enabled=False, cluster="",
                    iam_enabled=False, adot_policy_name="", services=[{"name": "web-api", "port": 8080}])
    assert aip.settings_problems(settings, PACKS) == []


WS_ARN = "arn:aws:aps:ap-northeast-2:123456789012:workspace/ws-1"
CMK = "arn:aws:kms:ap-northeast-2:123456789012:key/1111aaaa-2222-3333-4444-555566667777"


def _encryption(algorithm, key=None):
    default = {"SSEAlgorithm": algorithm}
    if key:
        default["KMSMasterKeyID"] = key
    return {"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}}


@pytest.mark.parametrize("encryption, expected", [
    (_encryption("aws:kms", CMK), CMK),
    (_encryption("aws:kms", "1111aaaa-2222-3333-4444-555566667777"), CMK),
    (_encryption("aws:kms"), None),   # the AWS-managed aws/s3 key
    (_encryption("AES256"), None),    # SSE-S3
    (None, None),                     # no default encryption
])
def test_bucket_kms_key_arn(encryption, expected):
    assert aip.bucket_kms_key_arn(encryption, WS_ARN) == expected


def test_bucket_kms_alias_is_refused_naming_the_variable():
    with pytest.raises(ValueError, match="set aws_managed_config_kms_key_arn"):
        aip.bucket_kms_key_arn(_encryption("aws:kms", "alias/otel"), WS_ARN)
