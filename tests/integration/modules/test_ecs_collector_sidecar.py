"""monitoring.stack.ecs_collector_sidecar against a real moto server (ECS, SSM, S3, IAM), in
the four steps, and the bad inputs that must fail before any write.

The starting point is seed 001's task definition (its copy-pasted collector with an inline
AOT_CONFIG_CONTENT and :latest). What is asserted is what moto holds afterwards, described back
(revisions, the collector container, the role's inline policy), not only the changed flags.
"""

from __future__ import annotations

import json

import boto3
import pytest

pytestmark = pytest.mark.slow

REGION = "ap-northeast-2"
FAMILY = "crawlinghub-web-api"
PARAMETER = "/crawlinghub/otel/web-api"
ACCOUNT = "123456789012"
SSM_ARN = "arn:aws:ssm:%s:%s:parameter%s" % (REGION, ACCOUNT, PARAMETER)
EXECUTION_ROLE = "crawlinghub-web-api-execution"
TASK_ROLE = "crawlinghub-web-api-task"
POLICY = FAMILY + "-otel-collector-config"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]})
APP = {"name": "app", "image": "app-image:1.4.2", "portMappings": [{"containerPort": 8080}],
       "environment": [{"name": "DB_PASSWORD", "value": "hunter2-not-for-diffs"}]}
SEED_COLLECTOR = {"name": "adot-collector", "image": "public.ecr.aws/aws-observability/aws-otel-collector:latest",
                  "environment": [{"name": "AOT_CONFIG_CONTENT", "value": "base64-encoded-config"}]}


def _client(service):
    return boto3.client(service, region_name=REGION)


def _role_arn(name):
    return "arn:aws:iam::%s:role/%s" % (ACCOUNT, name)


def _setup(roles=(EXECUTION_ROLE, TASK_ROLE), key=True):
    """Seed 001's definition registered, the roles, and the SecureString parameter otel_config writes."""
    iam = _client("iam")
    for role in roles:
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    key_arn = _client("kms").create_key()["KeyMetadata"]["Arn"] if key else None
    extra = {"KeyId": key_arn} if key_arn else {}
    _client("ssm").put_parameter(Name=PARAMETER, Type="SecureString", Value="receivers: {}", **extra)
    _client("ecs").register_task_definition(
        family=FAMILY, cpu="512", memory="1024", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        executionRoleArn=_role_arn(EXECUTION_ROLE), taskRoleArn=_role_arn(TASK_ROLE),
        containerDefinitions=[APP, SEED_COLLECTOR])
    return key_arn


def _state():
    ecs = _client("ecs")
    arns = ecs.list_task_definitions(familyPrefix=FAMILY)["taskDefinitionArns"]
    latest = ecs.describe_task_definition(taskDefinition=FAMILY)["taskDefinition"] if arns else None
    policies = {}
    for role in (EXECUTION_ROLE, TASK_ROLE):
        try:
            names = _client("iam").list_role_policies(RoleName=role)["PolicyNames"]
        except _client("iam").exceptions.NoSuchEntityException:
            continue
        policies[role] = {n: _client("iam").get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]
                          for n in names}
    return arns, latest, policies


def _play(args):
    return [{"name": "sidecar", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "sidecar", "monitoring.stack.ecs_collector_sidecar": dict(args, region=REGION), "register": "out"}]}]


ARGS = {"family": FAMILY, "app_container": "app", "container_name": "adot-collector", "config_delivery": "ssm",
        "ssm_parameter_arn": SSM_ARN, "log_group": "/ecs/crawlinghub-web-api/otel"}


def _collector(definition):
    return [c for c in definition["containerDefinitions"] if c["name"] == "adot-collector"]


def test_four_steps_ssm(aws, playbook):
    key_arn = _setup()
    before = _state()

    result = playbook(_play(ARGS), check=True, diff=True)
    res = result.result("sidecar")
    assert result.rc == 0, result
    assert res["changed"] is True and res["registered"] is True and res["policy_changed"] is True
    assert res["task_definition_arn"] is None
    assert _state() == before, "check mode registered or put a policy"
    assert "hunter2" not in json.dumps(res) and "hunter2" not in result.stdout

    result = playbook(_play(ARGS))
    res = result.result("sidecar")
    assert result.rc == 0, result
    assert res["changed"] is True and res["revision"] == 2
    arns, latest, policies = _state()
    assert len(arns) == 2 and latest["taskDefinitionArn"] == res["task_definition_arn"]
    [collector] = _collector(latest)
    assert collector["image"].startswith("public.ecr.aws/aws-observability/aws-otel-collector:v")
    assert collector["essential"] is False
    assert collector["secrets"] == [{"name": "AOT_CONFIG_CONTENT", "valueFrom": SSM_ARN}]
    assert not collector.get("environment"), "the seed's inline AOT_CONFIG_CONTENT must go"
    assert collector["cpu"] == 256 and collector["memoryReservation"] == 512
    assert collector["healthCheck"]["command"] == ["CMD", "/healthcheck"]
    assert collector["logConfiguration"] == {"logDriver": "awslogs", "options": {
        "awslogs-group": "/ecs/crawlinghub-web-api/otel", "awslogs-region": REGION, "awslogs-stream-prefix": "otel"}}
    [app] = [c for c in latest["containerDefinitions"] if c["name"] == "app"]
    assert app["image"] == APP["image"] and app["environment"] == APP["environment"]
    # ECS reads the secret with the execution role: only that role gets the policy.
    assert list(policies) == [EXECUTION_ROLE, TASK_ROLE] and policies[TASK_ROLE] == {}
    document = policies[EXECUTION_ROLE][POLICY]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"] == [
        {"Sid": "ReadCollectorConfigParameter", "Effect": "Allow", "Action": ["ssm:GetParameters"],
         "Resource": SSM_ARN},
        {"Sid": "DecryptCollectorConfig", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn}]
    applied = _state()

    result = playbook(_play(ARGS))
    res = result.result("sidecar")
    assert result.rc == 0 and res["changed"] is False and res["registered"] is False, result
    assert res["revision"] == 2
    assert _state() == applied

    result = playbook(_play(ARGS), check=True, diff=True)
    res = result.result("sidecar")
    assert result.rc == 0 and res["changed"] is False, result
    assert res["task_definition_arn"] == applied[1]["taskDefinitionArn"]
    assert res["diff"][0]["before"] == res["diff"][0]["after"]
    assert "hunter2" not in json.dumps(res)
    assert _state() == applied


def test_s3_delivery_policy_on_the_task_role_and_a_change_is_one_revision(aws, playbook):
    _setup()
    s3 = _client("s3")
    s3.create_bucket(Bucket="prod-connectly", CreateBucketConfiguration={"LocationConstraint": REGION})
    key_arn = _client("kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_object(Bucket="prod-connectly", Key="otel-config/crawlinghub-web-api/otel-config.yaml", Body=b"x",
                  ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    uri = "s3://prod-connectly.s3.%s.amazonaws.com/otel-config/crawlinghub-web-api/otel-config.yaml" % REGION
    args = dict(ARGS, config_delivery="s3", s3_uri=uri)
    del args["ssm_parameter_arn"]
    result = playbook(_play(args))
    assert result.rc == 0 and result.result("sidecar")["revision"] == 2, result
    _arns, latest, policies = _state()
    [collector] = _collector(latest)
    assert collector["command"] == ["--config", uri] and not collector.get("secrets")
    assert policies[EXECUTION_ROLE] == {}
    document = policies[TASK_ROLE][POLICY]
    document = json.loads(document) if isinstance(document, str) else document
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [
        (["s3:GetObject"], "arn:aws:s3:::prod-connectly/otel-config/crawlinghub-web-api/otel-config.yaml"),
        (["kms:Decrypt"], key_arn)]

    # One changed setting: one new revision, and unchanged again after it.
    result = playbook(_play(dict(args, memory_reservation=256)))
    assert result.rc == 0 and result.result("sidecar")["revision"] == 3, result
    assert _collector(_state()[1])[0]["memoryReservation"] == 256
    result = playbook(_play(dict(args, memory_reservation=256)))
    assert result.rc == 0 and result.result("sidecar")["changed"] is False, result


@pytest.mark.parametrize("bad, expected", [
    ({"app_container": "web"}, "app_container: 'web' is not a container of the task definition "
                               "(containers: app, adot-collector)"),
    ({"ssm_parameter_arn": SSM_ARN.replace(REGION, "us-east-1")},
     "the parameter is in us-east-1 but the task runs in %s" % REGION),
    ({"execution_role_arn": _role_arn("no-such-role")}, "IAM role no-such-role does not exist"),
])
def test_bad_input_fails_before_any_write(aws, playbook, bad, expected):
    _setup()
    before = _state()
    result = playbook(_play(dict(ARGS, **bad)))
    assert result.rc != 0
    msg = result.result("sidecar")["msg"]
    assert msg.startswith("Failed to add the ADOT collector to task definition %s: " % FAMILY) and expected in msg, msg
    assert _state() == before


def test_missing_parameter_fails_before_any_write(aws, playbook):
    _setup()
    before = _state()
    missing = SSM_ARN + "-typo"
    result = playbook(_play(dict(ARGS, ssm_parameter_arn=missing)))
    assert result.rc != 0
    assert "SSM parameter %s-typo does not exist" % PARAMETER in result.result("sidecar")["msg"]
    assert _state() == before


def _network():
    ec2 = _client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="svc", Description="svc", VpcId=vpc)["GroupId"]
    return {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}


def test_ecs_rollout_points_the_service_at_the_new_revision_once(aws, playbook):
    """sidecar -> ecs_rollout(task_definition): the service runs revision 2 afterwards; a re-run
    (no new revision) deploys nothing; check mode first changes nothing."""
    _setup()
    ecs = _client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.create_service(cluster="c", serviceName="web-api", taskDefinition=FAMILY + ":1", desiredCount=1,
                       launchType="FARGATE", networkConfiguration=_network())
    sha = "c" * 64

    def play():
        return [{"name": "p", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "sidecar", "monitoring.stack.ecs_collector_sidecar": dict(ARGS, region=REGION), "register": "td"},
            {"name": "rollout", "monitoring.stack.ecs_rollout": {
                "region": REGION, "cluster": "c", "service": "web-api", "config_sha256": sha, "wait": True,
                "wait_timeout": 30, "task_definition": "{{ td.task_definition_arn or omit }}"}}]}]

    def running():
        [svc] = ecs.describe_services(cluster="c", services=["web-api"])["services"]
        return svc["taskDefinition"], [d["id"] for d in svc["deployments"]]

    before = running()
    assert before[0].endswith(":1")
    result = playbook(play(), check=True, diff=True)
    assert result.rc == 0 and result.result("rollout")["changed"] is True, result
    assert running() == before

    result = playbook(play(), diff=True)
    assert result.rc == 0, result
    res = result.result("rollout")
    assert res["changed"] is True and res["previous_task_definition"] == before[0]
    assert res["diff"]["after"]["task_definition"].endswith(":2")
    rolled = running()
    assert rolled[0] == result.result("sidecar")["task_definition_arn"] and rolled[0].endswith(":2")
    assert rolled[1] != before[1]

    for check in (True, False):
        result = playbook(play(), check=check)
        assert result.rc == 0 and result.changed() == 0, result
        assert running() == rolled
