"""The ADOT sidecar on an ECS task definition, against a real moto server.

Input is seed 001's task definition (its JSON, literally, with its :latest image), registered
with moto and described back: the described shape (revision, status, ARNs, ECS' defaults) is
what the function must handle. Registering the result must be accepted by botocore's ECS model
and moto; describing it and applying the function again must say "same" (no new revision).
"""

from __future__ import annotations

import json

import boto3
import pytest

from ansible_collections.monitoring.stack.plugins.module_utils import ecs_sidecar
from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError

pytestmark = pytest.mark.slow
REGION = "ap-northeast-2"
# seed 001, "ECS Task Definition 예시" (family and memory added: ECS requires them).
SEED_001 = json.loads("""
{
  "containerDefinitions": [
    {
      "name": "app",
      "image": "app-image:latest",
      "portMappings": [{"containerPort": 8080}]
    },
    {
      "name": "adot-collector",
      "image": "public.ecr.aws/aws-observability/aws-otel-collector:latest",
      "environment": [
        {
          "name": "AOT_CONFIG_CONTENT",
          "value": "base64-encoded-config"
        }
      ]
    }
  ]
}
""")
SSM_ARN = "arn:aws:ssm:%s:123456789012:parameter/otel/crawlinghub-web-api" % REGION
SPEC = {"app_container": "app", "name": "adot-collector", "config_delivery": "ssm", "ssm_parameter_arn": SSM_ARN,
        "region": REGION, "log_group": "/ecs/otel/crawlinghub-web-api"}


def _registered(ecs, definition):
    arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    return ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]


@pytest.fixture
def seed_definition(aws):
    ecs = boto3.client("ecs", region_name=REGION)
    definition = dict(SEED_001, family="crawlinghub-web-api", cpu="512", memory="1024",
                      requiresCompatibilities=["FARGATE"], networkMode="awsvpc")
    return ecs, _registered(ecs, definition)


def test_collector_replaces_the_copy_pasted_one_and_registers(seed_definition):
    ecs, described = seed_definition
    assert described["revision"] == 1
    desired = ecs_sidecar.with_collector(described, SPEC)
    assert not ecs_sidecar.same_definition(described, desired)
    collector = [c for c in desired["containerDefinitions"] if c["name"] == "adot-collector"]
    assert len(collector) == 1
    collector = collector[0]
    assert collector["image"] == ecs_sidecar.DEFAULT_IMAGE and not collector["image"].endswith(":latest")
    assert collector["essential"] is False
    assert collector["secrets"] == [{"name": "AOT_CONFIG_CONTENT", "valueFrom": SSM_ARN}]
    # The seed's inline AOT_CONFIG_CONTENT would override any other config source: it must go.
    assert "environment" not in collector
    app = [c for c in desired["containerDefinitions"] if c["name"] == "app"][0]
    assert app == [c for c in described["containerDefinitions"] if c["name"] == "app"][0]
    again = _registered(ecs, desired)
    assert again["revision"] == 2
    assert ecs_sidecar.same_definition(again, ecs_sidecar.with_collector(again, SPEC))


def test_s3_delivery_uses_the_config_flag(seed_definition):
    _ecs, described = seed_definition
    spec = dict(SPEC, config_delivery="s3", s3_uri="s3://prod-connectly.s3.%s.amazonaws.com/otel-config/"
                "crawlinghub-web-api/otel-config.yaml" % REGION)
    del spec["ssm_parameter_arn"]
    collector = [c for c in ecs_sidecar.with_collector(described, spec)["containerDefinitions"]
                 if c["name"] == "adot-collector"][0]
    assert collector["command"] == ["--config", spec["s3_uri"]]
    # AOT_CONFIG_CONTENT, set at all, overrides --config: neither the seed's env nor a secret stays.
    assert "secrets" not in collector and "environment" not in collector
    policies = ecs_sidecar.collector_policies(spec, "arn:aws:kms:%s:123456789012:key/abc" % REGION)
    assert policies["execution_role"] == []
    assert [s["Action"] for s in policies["task_role"]] == [["s3:GetObject"], ["kms:Decrypt"]]
    assert policies["task_role"][0]["Resource"] == \
        "arn:aws:s3:::prod-connectly/otel-config/crawlinghub-web-api/otel-config.yaml"


def test_bad_specs_are_refused_naming_every_problem(seed_definition):
    _ecs, described = seed_definition
    spec = dict(SPEC, app_container="web", ssm_parameter_arn=SSM_ARN.replace(REGION, "us-east-1"), cpu=-1)
    with pytest.raises(MonitoringError) as err:
        ecs_sidecar.with_collector(described, spec)
    message = str(err.value)
    assert message.startswith("Failed to add the ADOT collector to task definition crawlinghub-web-api: ")
    assert "app_container: 'web' is not a container" in message and "app, adot-collector" in message
    assert "ssm_parameter_arn: the parameter is in us-east-1 but the task runs in %s" % REGION in message
    assert "cpu: must be a positive integer, got -1" in message
