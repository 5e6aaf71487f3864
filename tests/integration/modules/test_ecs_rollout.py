"""monitoring.stack.ecs_rollout against a real moto server, in amazon.aws's four steps.

moto differs from AWS here: services need a VPC, subnet and security group first (created
below); a forced deployment only renames the deployment (no new tasks start), so the tests
assert the new deployment id and the recorded config hash; ``services_stable`` is met at once
because the server runs with MOTO_ECS_SERVICE_RUNNING=1. moto supports ECS service tags
(tag_resource, describe_services include=TAGS), where the rolled-out hash is recorded.
"""

from __future__ import annotations

import boto3
import pytest

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
CLUSTER = "crawlinghub-cluster-prod"
TAG = "monitoring-stack:otel-config-sha256"
SHA_A = "a" * 64
SHA_B = "b" * 64


def _ecs():
    return boto3.client("ecs", region_name=REGION)


def _network():
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="svc", Description="svc", VpcId=vpc)["GroupId"]
    return {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}


def _cluster():
    _ecs().create_cluster(clusterName=CLUSTER)
    _ecs().register_task_definition(family="crawlinghub", networkMode="awsvpc", containerDefinitions=[
        {"name": "app", "image": "app:1", "memory": 512},
        {"name": "adot-collector", "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0",
         "memory": 256},
    ])
    return _network()


def _service(name, network):
    _ecs().create_service(cluster=CLUSTER, serviceName=name, taskDefinition="crawlinghub", desiredCount=1,
                          launchType="FARGATE", networkConfiguration=network)


def _describe(name):
    [svc] = _ecs().describe_services(cluster=CLUSTER, services=[name], include=["TAGS"])["services"]
    tags = {t["key"]: t["value"] for t in svc.get("tags") or []}
    return [d["id"] for d in svc["deployments"]], tags


def _play(tasks):
    return [{"name": "rollout", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def _task(args, name="rollout", **extra):
    return dict({"name": name, "monitoring.stack.ecs_rollout": dict(args, region=REGION, cluster=CLUSTER),
                 "register": "out"}, **extra)


def test_four_steps_with_wait(aws, playbook):
    network = _cluster()
    _service("web-api", network)
    deployments, tags = _describe("web-api")
    assert TAG not in tags
    args = {"service": "web-api", "config_sha256": SHA_A, "wait": True, "wait_timeout": 30}

    result = playbook(_play([_task(args)]), check=True, diff=True)
    res = result.result("rollout")
    assert result.rc == 0, result
    assert res["changed"] is True and res["rolled_out"] is True and res["deployment_id"] is None
    assert res["diff"]["before"] == {"config_sha256": None} and res["diff"]["after"] == {"config_sha256": SHA_A}
    assert _describe("web-api") == (deployments, tags), "check mode deployed or tagged"

    result = playbook(_play([_task(args)]))
    res = result.result("rollout")
    assert result.rc == 0, result
    assert res["changed"] is True and res["stable"] is True
    new_deployments, tags = _describe("web-api")
    assert new_deployments != deployments and res["deployment_id"] == new_deployments[0]
    assert tags[TAG] == SHA_A

    # the idempotent check and apply, in one run (each task a module process of its own)
    result = playbook(_play([_task(args, name="check", check_mode=True), _task(args, name="apply")]))
    res = result.result("check")
    assert result.rc == 0 and res["changed"] is False and res["rolled_out"] is False, result
    res = result.result("apply")
    assert res["changed"] is False, result
    assert _describe("web-api")[0] == new_deployments, "an unchanged config redeployed"

    # a new config hash rolls out again, and records the new value
    result = playbook(_play([_task(dict(args, config_sha256=SHA_B))]))
    res = result.result("rollout")
    assert res["changed"] is True and res["previous_config_sha256"] == SHA_A
    assert _describe("web-api")[0] != new_deployments and _describe("web-api")[1][TAG] == SHA_B


def test_one_failing_service_does_not_stop_the_others_and_rerun_converges(aws, playbook):
    """The role loops over services with this module: a failing item fails alone, the loop goes on."""
    network = _cluster()
    _service("web-api", network)
    _service("crawl-worker", network)
    services = [{"service": "scheduler", "sha": SHA_A}, {"service": "web-api", "sha": SHA_A},
                {"service": "crawl-worker", "sha": SHA_B}]
    task = _task({"service": "{{ item.service }}", "config_sha256": "{{ item.sha }}"},
                 loop=services)
    before = {name: _describe(name)[0] for name in ("web-api", "crawl-worker")}

    result = playbook(_play([task]))
    assert result.rc != 0
    items = result.result("rollout")["results"]
    by_service = {item["item"]["service"]: item for item in items}
    assert by_service["scheduler"]["failed"] is True
    assert by_service["scheduler"]["msg"] == (
        "Failed to roll out ECS service scheduler in cluster %s: the service was not found (MISSING). "
        "Hint: check the service name and the cluster; create the service before rolling it out" % CLUSTER)
    for name, sha in (("web-api", SHA_A), ("crawl-worker", SHA_B)):
        assert by_service[name]["changed"] is True and not by_service[name].get("failed")
        deployments, tags = _describe(name)
        assert deployments != before[name] and tags[TAG] == sha

    # fix the cause, re-run: only the service that failed rolls out
    _service("scheduler", network)
    rolled = {name: _describe(name)[0] for name in ("web-api", "crawl-worker")}
    result = playbook(_play([task]))
    assert result.rc == 0, result
    changed = {item["item"]["service"]: item["changed"] for item in result.result("rollout")["results"]}
    assert changed == {"scheduler": True, "web-api": False, "crawl-worker": False}
    assert {name: _describe(name)[0] for name in rolled} == rolled
    assert _describe("scheduler")[1][TAG] == SHA_A

    result = playbook(_play([task]))
    assert result.rc == 0 and result.changed() == 0, result


def test_upload_then_failed_rollout_is_repaired_by_the_next_run(aws, playbook, tmp_path):
    """otel_config uploads (changed), ecs_rollout fails (cluster missing); the re-run, with nothing
    left to upload, still rolls the service out because the recorded hash differs."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="cfg", CreateBucketConfiguration={"LocationConstraint": REGION})
    tasks = [
        {"name": "config", "monitoring.stack.otel_config": {
            "project": "crawlinghub", "service": "web-api", "s3_bucket": "cfg", "region": REGION},
         "register": "otel"},
        _task({"service": "web-api", "config_sha256": "{{ otel.sha256 }}"}),
    ]
    result = playbook(_play(tasks))
    assert result.rc != 0
    assert result.result("config")["changed"] is True
    assert "Failed to describe ECS service web-api in cluster %s" % CLUSTER in result.result("rollout")["msg"]
    assert "Hint: cluster %s does not exist" % CLUSTER in result.result("rollout")["msg"]

    network = _cluster()
    _service("web-api", network)
    result = playbook(_play(tasks))
    assert result.rc == 0, result
    assert result.result("config")["changed"] is False
    res = result.result("rollout")
    assert res["changed"] is True and res["previous_config_sha256"] is None
    assert _describe("web-api")[1][TAG] == result.result("config")["sha256"]


def test_bad_hash_is_refused(aws, playbook):
    result = playbook(_play([_task({"service": "web-api", "config_sha256": "abc"})]))
    assert result.rc != 0
    assert result.result("rollout")["msg"] == (
        "Failed to roll out ECS service web-api: config_sha256: expected 64 lowercase hex digits "
        "(the sha256 that otel_config returns), got 'abc'")
