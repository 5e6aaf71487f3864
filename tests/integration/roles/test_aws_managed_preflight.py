"""Bad input to monitoring.stack.aws_managed fails in preflight, before anything is created.

Each case runs the role for real (not in check mode) against a moto server holding only the
config bucket, and asserts that the run failed in the preflight task, that the message names the
variable, that no task changed anything and that moto holds no workspace, no IAM policy or role,
no log group and no S3 object afterwards.
"""

from __future__ import annotations

import boto3
import pytest

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
BUCKET = "stage-connectly"
GOOD = {
    "aws_managed_region": REGION,
    "aws_managed_workspace_alias": "crawlinghub-stage",
    "aws_managed_rule_packs": ["service", "http_micrometer"],
    "aws_managed_alertmanager_enabled": False,
    "aws_managed_project": "crawlinghub",
    "aws_managed_config_bucket": BUCKET,
    "aws_managed_cluster": "crawlinghub-cluster-stage",
    "aws_managed_services": [{"name": "web-api", "port": 8080}, {"name": "crawl-worker", "port": 8082}],
}
CASES = [
    ({"aws_managed_services": [{"name": "web-api"}]}, "aws_managed_services[0] (web-api): has no port"),
    ({"aws_managed_services": [{"name": "web-api", "port": 8080}, {"name": "web-api", "port": 8081}]},
     "aws_managed_services[1] (web-api): duplicate service name 'web-api'"),
    ({"aws_managed_region": ""}, "aws_managed_region: is required"),
    ({"aws_managed_rule_packs": ["service", "jvm"]}, "aws_managed_rule_packs: unknown rule pack(s) jvm"),
    ({"aws_managed_alertmanager_enabled": True}, "aws_managed_alert_topic_arn: must be an SNS topic ARN"),
    ({"aws_managed_config_kms_key_arn": "alias/otel"}, "aws_managed_config_kms_key_arn: must be a key ARN"),
    ({"aws_managed_services": [{"name": "web-api", "port": 8080, "metric_prefix": ["x_"]}]},
     "aws_managed_services[0] (web-api): unknown keys metric_prefix"),
    ({"aws_managed_workspace_alias": ""}, "aws_managed_workspace_alias: is required"),
]


def _client(name):
    return boto3.client(name, region_name=REGION)


def _state():
    return {
        "workspaces": _client("amp").list_workspaces()["workspaces"],
        "policies": _client("iam").list_policies(Scope="Local")["Policies"],
        "roles": [r["RoleName"] for r in _client("iam").list_roles()["Roles"]],
        "objects": _client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0),
        "log_groups": _client("logs").describe_log_groups()["logGroups"],
    }


@pytest.mark.parametrize("change, expected", CASES, ids=[c[1].split(":")[0] for c in CASES])
def test_bad_input_fails_before_anything_is_created(aws, role_preflight, change, expected):
    _client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    before = _state()
    assert before == {"workspaces": [], "policies": [], "roles": [], "objects": 0, "log_groups": []}

    result = role_preflight.fails_before_any_change("aws_managed", dict(GOOD, **change), expected, check=False)
    [(task, message)] = result.failures()
    assert task == "monitoring.stack.aws_managed : Check the settings before anything changes"
    assert expected in message, message
    assert _state() == before


def test_good_input_passes_preflight_in_check_mode(aws, role_preflight):
    """The same base settings pass (so each case above fails for its one change only)."""
    _client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    result = role_preflight.run("aws_managed", GOOD, extra_args=["--tags", "aws_managed_amp"])
    assert result.rc == 0, result
    assert not result.result("monitoring.stack.aws_managed : Check the settings before anything changes").get("failed")
    assert result.result("monitoring.stack.aws_managed : Workspace crawlinghub-stage")["changed"] is True
    assert _client("amp").list_workspaces()["workspaces"] == []
