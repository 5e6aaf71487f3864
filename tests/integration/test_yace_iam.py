"""The YACE exporter's IAM policy against a real moto server (IAM's policy-document validator).

moto checks a managed policy's document when it is created (grammar, Effect, Action shape) and
returns it as stored; a malformed action is refused, so this oracle can fail. What moto does not
check: whether the actions are enough for YACE at runtime (no yace binary here).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import aws_iam_policies as aip
from ansible_collections.monitoring.stack.plugins.module_utils import yace_config as yc

RDS = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "yace" / "upstream-rds.yml"


def _iam():
    return boto3.client("iam", region_name="eu-west-1")


def test_policy_is_accepted_and_stored_as_given(aws):
    policy = aip.yace_exporter_policy(yaml.safe_load(RDS.read_text()))
    created = _iam().create_policy(PolicyName="yace-stage", PolicyDocument=json.dumps(policy))["Policy"]
    stored = _iam().get_policy_version(PolicyArn=created["Arn"], VersionId=created["DefaultVersionId"])
    document = stored["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document == policy
    assert document["Statement"][0]["Action"] == ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics",
                                                  "tag:GetResources"]


def test_a_malformed_action_is_refused(aws):
    policy = aip.yace_exporter_policy(yaml.safe_load(RDS.read_text()))
    policy["Statement"][0]["Action"][0] = "cloudwatch GetMetricData"
    with pytest.raises(_iam().exceptions.MalformedPolicyDocumentException):
        _iam().create_policy(PolicyName="yace-bad", PolicyDocument=json.dumps(policy))


def test_the_rendered_role_default_config_gives_the_same_three_actions(aws):
    config = yc.build_config({"regions": ["eu-west-1"], "jobs": [
        {"type": t, "metrics": [{"name": "CPUUtilization", "statistics": ["Average"]}]}
        for t in ("AWS/RDS", "AWS/ApplicationELB", "AWS/ECS")]})
    policy = aip.yace_exporter_policy(config)
    assert _iam().create_policy(PolicyName="yace-3", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    assert [s["Action"] for s in policy["Statement"]] == [aip.YACE_READ_ACTIONS]
