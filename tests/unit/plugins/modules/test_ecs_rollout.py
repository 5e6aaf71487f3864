"""monitoring.stack.ecs_rollout: a deployment whose new tasks fail is not recorded as rolled out
(issue 10, item 10), by default and with ``wait: false``.

moto starts no tasks (a forced deployment only renames it), so the failing deployment states
come from botocore's Stubber: ECS's deployment circuit breaker reports ``rolloutState: FAILED``
with a ``rolloutStateReason``; a rollback leaves the old deployment PRIMARY and the new one gone.
"""

from __future__ import annotations

from ansible_collections.monitoring.stack.plugins.module_utils.ecs_rollout import MARKER_TAG
from ansible_collections.monitoring.stack.plugins.modules import ecs_rollout
from tests.support.aws_stubs import run_module

SHA = "a" * 64
OLD = "b" * 64
ARN = "arn:aws:ecs:eu-west-1:123456789012:service/c/web-api"
ARGS = {"cluster": "c", "service": "web-api", "config_sha256": SHA}
REASON = "ECS deployment circuit breaker: tasks failed to start."


def _deployment(id_, status="PRIMARY", running=1, state="COMPLETED", **extra):
    return dict({"id": id_, "status": status, "desiredCount": 1, "runningCount": running, "rolloutState": state}, **extra)


def _service(marker=OLD, deployments=None):
    return {"services": [{"serviceArn": ARN, "serviceName": "web-api", "status": "ACTIVE", "desiredCount": 1,
                          "runningCount": 1, "tags": [{"key": MARKER_TAG, "value": marker}] if marker else [],
                          "deployments": deployments or [_deployment("ecs-svc/1")]}], "failures": []}


def _update(ecs, new_id="ecs-svc/2"):
    ecs.add_response("update_service", {"service": _service(deployments=[
        _deployment(new_id, running=0, state="IN_PROGRESS"),
        _deployment("ecs-svc/1", status="ACTIVE"),
    ])["services"][0]}, {"cluster": "c", "service": "web-api", "forceNewDeployment": True})


def _tagged(ecs, value):
    ecs.add_response("tag_resource", {}, {"resourceArn": ARN, "tags": [{"key": MARKER_TAG, "value": value}]})


def test_default_waits_and_a_failed_deployment_is_not_recorded(stubbed_clients, capsys):
    ecs = stubbed_clients("ecs")["ecs"]
    ecs.add_response("describe_services", _service())
    _update(ecs)
    ecs.add_response("describe_services", _service(deployments=[
        _deployment("ecs-svc/2", running=0, state="FAILED", failedTasks=3, rolloutStateReason=REASON),
        _deployment("ecs-svc/1", status="ACTIVE")]))
    # no tag_resource stubbed: recording the hash would be an unexpected call
    out = run_module(ecs_rollout, capsys, ARGS)
    assert out["failed"] is True
    assert out["msg"] == ("Failed to roll out ECS service web-api in cluster c: deployment ecs-svc/2 failed: %s "
                          "Hint: the new deployment was started, but the config hash was not recorded: the next run "
                          "rolls the service out again; see the service's events for why tasks do not start" % REASON)

    # The next run sees the old hash and rolls out again; this time the tasks start.
    ecs.add_response("describe_services", _service())
    _update(ecs, "ecs-svc/3")
    ecs.add_response("describe_services", _service(deployments=[_deployment("ecs-svc/3")]))
    _tagged(ecs, SHA)
    out = run_module(ecs_rollout, capsys, ARGS)
    assert out["changed"] is True and out["rolled_out"] is True and out["stable"] is True
    assert out["deployment_id"] == "ecs-svc/3"


def test_no_wait_records_pending_and_the_next_run_repairs_a_failed_deployment(stubbed_clients, capsys):
    ecs = stubbed_clients("ecs")["ecs"]
    args = dict(ARGS, wait=False)
    ecs.add_response("describe_services", _service())
    _update(ecs)
    _tagged(ecs, SHA + " pending ecs-svc/2")
    out = run_module(ecs_rollout, capsys, args)
    assert out["changed"] is True and out["pending"] is True and out["stable"] is None

    # Still in progress: nothing to do, nothing recorded.
    pending = SHA + " pending ecs-svc/2"
    ecs.add_response("describe_services", _service(pending, [_deployment("ecs-svc/2", running=0, state="IN_PROGRESS"),
                                                             _deployment("ecs-svc/1", status="ACTIVE")]))
    out = run_module(ecs_rollout, capsys, args)
    assert out["changed"] is False and out["pending"] is True and out["rolled_out"] is False

    # Rolled back by the circuit breaker: the next run (even with wait: false) rolls out again.
    ecs.add_response("describe_services", _service(pending, [
        _deployment("ecs-svc/1", rolloutStateReason="rolled back")]))
    _update(ecs, "ecs-svc/4")
    _tagged(ecs, SHA + " pending ecs-svc/4")
    out = run_module(ecs_rollout, capsys, args)
    assert out["changed"] is True and out["rolled_out"] is True
    assert out["previous_failure"] == "deployment ecs-svc/2 is gone (rolled back to ecs-svc/1)"

    # Stable now: the hash is recorded without a new deployment, and then nothing changes.
    ecs.add_response("describe_services", _service(SHA + " pending ecs-svc/4", [_deployment("ecs-svc/4")]))
    _tagged(ecs, SHA)
    out = run_module(ecs_rollout, capsys, args)
    assert out["changed"] is True and out["rolled_out"] is False and out["stable"] is True
    ecs.add_response("describe_services", _service(SHA))
    out = run_module(ecs_rollout, capsys, args)
    assert out["changed"] is False and out["rolled_out"] is False
