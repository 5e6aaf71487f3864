"""monitoring.stack.ecs_rollout with ``services`` (the bulk form) against a real moto server.

Requests go through tests/support/counting_proxy.py, so the tests assert the exact operations:
DescribeServices takes at most 10 services per call (the ECS API limit), so 12 services in one
cluster are described in 2 calls; an unchanged re-run sends those 2 and nothing else. moto
differs from AWS here: a forced deployment only renames the deployment (no new tasks start), and
``services_stable`` holds at once (the server runs with MOTO_ECS_SERVICE_RUNNING=1).
"""

from __future__ import annotations

import boto3
import pytest

from tests.support.counting_proxy import CountingProxy

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
CLUSTER = "bulk-cluster"
OTHER = "bulk-cluster-2"
TAG = "monitoring-stack:otel-config-sha256"
NAMES = ["svc-%02d" % i for i in range(12)]
SHA = {name: ("%x" % (i + 1)) * 64 for i, name in enumerate(NAMES[:9])}
SHA.update({name: "%02d" % i * 32 for i, name in enumerate(NAMES[9:], 10)})


@pytest.fixture
def proxy(aws):
    counting = CountingProxy(aws.endpoint).start()
    try:
        yield counting
    finally:
        counting.stop()


def _ecs():
    return boto3.client("ecs", region_name=REGION)


def _setup(clusters=None):
    """Every service in CLUSTER, or in the cluster ``clusters`` maps it to."""
    clusters = clusters or {}
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="svc", Description="svc", VpcId=vpc)["GroupId"]
    for cluster in {CLUSTER} | set(clusters.values()):
        _ecs().create_cluster(clusterName=cluster)
    _ecs().register_task_definition(family="bulk", networkMode="awsvpc",
                                    containerDefinitions=[{"name": "app", "image": "app:1", "memory": 256}])
    for name in NAMES:
        _ecs().create_service(cluster=clusters.get(name, CLUSTER), serviceName=name, taskDefinition="bulk",
                              desiredCount=1, launchType="FARGATE", networkConfiguration={
                                  "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}})


def _state(clusters=None):
    """{name: ([deployment ids], recorded tag)}."""
    clusters = clusters or {}
    out = {}
    for name in NAMES:
        [svc] = _ecs().describe_services(cluster=clusters.get(name, CLUSTER), services=[name],
                                         include=["TAGS"])["services"]
        tags = {t["key"]: t["value"] for t in svc.get("tags") or []}
        out[name] = ([d["id"] for d in svc["deployments"]], tags.get(TAG))
    return out


def _run(playbook, proxy, services, check=False, diff=False, **extra):
    proxy.take()
    args = dict({"cluster": CLUSTER, "region": REGION, "services": services}, **extra)
    result = playbook([{"name": "rollout", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "bulk", "monitoring.stack.ecs_rollout": args, "register": "out", "check_mode": check,
         "diff": diff}]}], env={"AWS_ENDPOINT_URL": proxy.endpoint})
    return result, result.result("bulk"), dict(proxy.take())


def _services(sha=None):
    sha = sha or SHA
    return [{"service": name, "config_sha256": sha[name]} for name in NAMES]


def test_first_run_check_mode_rerun_and_one_changed(aws, proxy, playbook):
    _setup()
    before = _state()
    n = len(NAMES)

    result, res, calls = _run(playbook, proxy, _services(), check=True, diff=True)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert [s["rolled_out"] for s in res["services"]] == [True] * n
    assert res["totals"] == {"services": n, "changed": n, "rolled_out": n, "unchanged": 0, "failed": 0}
    assert calls == {"DescribeServices": 2}
    assert _state() == before, "check mode changed a service"
    assert [d["after"]["config_sha256"] for d in res["diff"]] == [SHA[name] for name in NAMES]

    result, res, calls = _run(playbook, proxy, _services())
    assert result.rc == 0, result
    assert res["changed"] is True and res["totals"]["rolled_out"] == n
    # 2 DescribeServices to decide, 2 more to see the new deployments stable
    assert calls == {"DescribeServices": 4, "UpdateService": n, "TagResource": n}
    after = _state()
    for name in NAMES:
        assert after[name][1] == SHA[name]
        assert after[name][0] != before[name][0]
    assert [s["deployment_id"] for s in res["services"]] == [after[name][0][0] for name in NAMES]

    result, res, calls = _run(playbook, proxy, _services())
    assert result.rc == 0, result
    assert res["changed"] is False
    assert res["totals"] == {"services": n, "changed": 0, "rolled_out": 0, "unchanged": n, "failed": 0}
    assert calls == {"DescribeServices": 2}
    assert _state() == after

    changed = dict(SHA, **{"svc-10": "f" * 64})
    result, res, calls = _run(playbook, proxy, _services(changed))
    assert result.rc == 0, result
    assert [s["service"] for s in res["services"] if s["rolled_out"]] == ["svc-10"]
    assert calls == {"DescribeServices": 3, "UpdateService": 1, "TagResource": 1}
    again = _state()
    for name in NAMES:
        if name == "svc-10":
            assert again[name][0] != after[name][0] and again[name][1] == "f" * 64
        else:
            assert again[name] == after[name]


def test_services_in_two_clusters_are_described_per_cluster(aws, proxy, playbook):
    clusters = {name: OTHER for name in NAMES[:3]}
    _setup(clusters)
    services = [dict(s, cluster=clusters[s["service"]]) if s["service"] in clusters else s for s in _services()]
    result, res, calls = _run(playbook, proxy, services, wait=False)
    assert result.rc == 0, result
    # 3 in OTHER (1 call), 9 in CLUSTER (1 call); wait=false records "pending" without polling
    assert calls == {"DescribeServices": 2, "UpdateService": 12, "TagResource": 12}
    assert all(s["pending"] for s in res["services"])
    assert [s["cluster"] for s in res["services"]] == [clusters.get(name, CLUSTER) for name in NAMES]


def test_a_missing_service_fails_alone_and_the_rest_roll_out(aws, proxy, playbook):
    _setup()
    services = _services()[:5] + [{"service": "ghost", "config_sha256": "e" * 64}]
    result, res, calls = _run(playbook, proxy, services)
    assert result.rc != 0
    assert res["failed"] is True
    assert "ghost" in res["msg"] and "1 of 6" in res["msg"]
    rolled = [s["service"] for s in res["services"] if s.get("rolled_out")]
    assert rolled == NAMES[:5]
    [ghost] = [s for s in res["services"] if s["service"] == "ghost"]
    assert ghost["failed"] is True and "not found" in ghost["msg"]
    state = _state()
    assert [state[name][1] for name in NAMES[:5]] == [SHA[name] for name in NAMES[:5]]
    assert calls["UpdateService"] == 5


def test_bad_hash_or_duplicate_refuses_before_any_call(aws, proxy, playbook):
    _setup()
    services = _services()[:3]
    services[1]["config_sha256"] = "not-a-hash"
    result, res, calls = _run(playbook, proxy, services)
    assert result.rc != 0 and NAMES[1] in res["msg"] and "config_sha256" in res["msg"]
    assert calls == {}
    result, res, calls = _run(playbook, proxy, _services()[:3] + _services()[:1])
    assert result.rc != 0 and NAMES[0] in res["msg"] and "more than once" in res["msg"]
    assert calls == {}
