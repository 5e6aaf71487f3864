"""aws_managed with ``task_definition_family``: the collector sidecar goes into the service's task
definition (config by --config s3://..., the task role's inline policy for that object and key),
and ecs_rollout deploys the service onto the new revision; a re-run and check mode afterwards
change nothing. Against a real moto server; the state is described back from moto.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.roles.test_aws_managed import ACCOUNT, ENVIRONMENTS, PLAY, REGION, _client, _inventory
from tests.integration.roles.test_aws_managed import _prepare

pytestmark = pytest.mark.slow
TASK_ROLE = "crawlinghub-stage-web-api-task"
SIDECAR = "monitoring.stack.aws_managed : ADOT collector sidecar in the task definitions of the services"


def _running(service):
    [svc] = _client("ecs").describe_services(cluster="crawlinghub-cluster-stage", services=[service])["services"]
    return svc["taskDefinition"], [d["id"] for d in svc["deployments"]]


def test_sidecar_revision_and_rollout_onto_it_once(aws, playbook, tmp_path):
    key_arn = _prepare("stage")
    iam = _client("iam")
    iam.create_role(RoleName=TASK_ROLE, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}))
    ecs = _client("ecs")
    ecs.register_task_definition(family="crawlinghub-stage-web-api", networkMode="awsvpc",
                                 taskRoleArn="arn:aws:iam::%s:role/%s" % (ACCOUNT, TASK_ROLE),
                                 containerDefinitions=[{"name": "api", "image": "api:3", "memory": 512}])
    [existing] = ecs.describe_services(cluster="crawlinghub-cluster-stage", services=["web-api"])["services"]
    ecs.update_service(cluster="crawlinghub-cluster-stage", service="web-api",
                       taskDefinition="crawlinghub-stage-web-api:1")
    services = [dict(ENVIRONMENTS["stage"]["services"][0], task_definition_family="crawlinghub-stage-web-api",
                     app_container="api")] + ENVIRONMENTS["stage"]["services"][1:]
    inventory = _inventory(tmp_path, "stage", key_arn)
    extra = {"aws_managed_services": services}
    assert existing["serviceName"] == "web-api"
    before = _running("web-api")

    result = playbook(PLAY, inventory=inventory, extravars=extra)
    assert result.rc == 0, result
    latest = ecs.describe_task_definition(taskDefinition="crawlinghub-stage-web-api")["taskDefinition"]
    assert latest["revision"] == 2
    [collector] = [c for c in latest["containerDefinitions"] if c["name"] == "aws-otel-collector"]
    uri = ("s3://stage-connectly.s3.%s.amazonaws.com/otel-config/crawlinghub-web-api/otel-config.yaml" % REGION)
    assert collector["command"] == ["--config", uri] and collector["essential"] is False
    assert collector["logConfiguration"]["options"]["awslogs-group"] == "/ecs/otel/web-api"
    rolled = _running("web-api")
    assert rolled[0] == latest["taskDefinitionArn"] and rolled[1] != before[1]
    document = iam.get_role_policy(RoleName=TASK_ROLE, PolicyName="crawlinghub-stage-web-api-otel-collector-config")
    document = document["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [
        (["s3:GetObject"], "arn:aws:s3:::stage-connectly/otel-config/crawlinghub-web-api/otel-config.yaml"),
        (["kms:Decrypt"], key_arn)]
    # crawl-worker has no task_definition_family: its task definition is left alone.
    assert _running("crawl-worker")[0].endswith("crawlinghub-stage:1")

    for check in (False, True):
        result = playbook(PLAY, inventory=inventory, extravars=extra, check=check)
        assert result.rc == 0 and result.changed() == 0, result
        assert result.result(SIDECAR)["results"][0]["registered"] is False
        assert _running("web-api") == rolled
    assert len(ecs.list_task_definitions(familyPrefix="crawlinghub-stage-web-api")["taskDefinitionArns"]) == 2
