"""monitoring.stack.ecs_rollout with ``services``: deployment states moto cannot produce.

moto starts no tasks, so a deployment that fails (ECS's circuit breaker, ``rolloutState:
FAILED``) or stays in progress comes from botocore's Stubber, which checks every request
against the ECS service model (DescribeServices takes at most 10 services: asserted here on
the exact request parameters).
"""

from __future__ import annotations

from ansible_collections.monitoring.stack.plugins.module_utils.ecs_rollout import MARKER_TAG
from ansible_collections.monitoring.stack.plugins.modules import ecs_rollout
from tests.support.aws_stubs import run_module

NEW = "a" * 64
OLD = "b" * 64
REASON = "ECS deployment circuit breaker: tasks failed to start."


def _arn(name):
    return "arn:aws:ecs:eu-west-1:123456789012:service/c/%s" % name


def _svc(name, marker=OLD, deployments=None):
    return {"serviceArn": _arn(name), "serviceName": name, "status": "ACTIVE", "desiredCount": 1, "runningCount": 1,
            "tags": [{"key": MARKER_TAG, "value": marker}],
            "deployments": deployments or [{"id": "ecs-svc/%s-1" % name, "status": "PRIMARY", "desiredCount": 1,
                                            "runningCount": 1, "rolloutState": "COMPLETED"}]}


def _describe(ecs, names, services):
    ecs.add_response("describe_services", {"services": services, "failures": []},
                     {"cluster": "c", "services": names, "include": ["TAGS"]})


def _update(ecs, name):
    ecs.add_response("update_service", {"service": _svc(name, deployments=[
        {"id": "ecs-svc/%s-2" % name, "status": "PRIMARY", "desiredCount": 1, "runningCount": 0,
         "rolloutState": "IN_PROGRESS"}])}, {"cluster": "c", "service": name, "forceNewDeployment": True})


def test_25_unchanged_services_take_3_describe_calls(stubbed_clients, capsys):
    ecs = stubbed_clients("ecs")["ecs"]
    names = ["s%02d" % i for i in range(25)]
    for start in (0, 10, 20):
        batch = names[start:start + 10]
        _describe(ecs, batch, [_svc(n, marker=NEW) for n in batch])
    out = run_module(ecs_rollout, capsys, {"cluster": "c", "services": [
        {"service": n, "config_sha256": NEW} for n in names]})
    assert out["changed"] is False, out
    assert out["totals"] == {"services": 25, "changed": 0, "rolled_out": 0, "unchanged": 25, "failed": 0}


def test_a_failed_deployment_fails_only_its_service_and_is_not_recorded(stubbed_clients, capsys):
    ecs = stubbed_clients("ecs")["ecs"]
    _describe(ecs, ["good", "bad"], [_svc("good"), _svc("bad")])
    _update(ecs, "good")
    _update(ecs, "bad")
    _describe(ecs, ["good", "bad"], [
        _svc("good", deployments=[{"id": "ecs-svc/good-2", "status": "PRIMARY", "desiredCount": 1, "runningCount": 1,
                                   "rolloutState": "COMPLETED"}]),
        _svc("bad", deployments=[{"id": "ecs-svc/bad-2", "status": "PRIMARY", "desiredCount": 1, "runningCount": 0,
                                  "rolloutState": "FAILED", "rolloutStateReason": REASON}])])
    # only the good one is recorded: a tag_resource for "bad" would be an unexpected call
    ecs.add_response("tag_resource", {}, {"resourceArn": _arn("good"), "tags": [{"key": MARKER_TAG, "value": NEW}]})
    out = run_module(ecs_rollout, capsys, {"cluster": "c", "services": [
        {"service": "good", "config_sha256": NEW}, {"service": "bad", "config_sha256": NEW}]})
    assert out["failed"] is True
    assert out["msg"].startswith("Failed to roll out 1 of 2 ECS services (the others went on): bad: "
                                 "Failed to roll out ECS service bad in cluster c: deployment ecs-svc/bad-2 failed: "
                                 + REASON), out["msg"]
    good, bad = out["services"]
    assert good["stable"] is True and not good.get("failed")
    assert bad["failed"] is True and bad["rolled_out"] is True
    # a new deployment was forced for both (changed), one of them failed
    assert out["totals"] == {"services": 2, "changed": 2, "rolled_out": 2, "unchanged": 0, "failed": 1}
