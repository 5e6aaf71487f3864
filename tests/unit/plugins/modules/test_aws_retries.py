"""Every AWS call of the collection goes through one retry policy (issue 10, item 7).

Each test makes the service throttle the first attempt of each call (S3 answers ``SlowDown``,
SSM, ECS and AMP ``ThrottlingException``) and then succeed: the task succeeds, and Stubber's
queue proves each call was made twice (a call that is not retried fails the task).
"""

from __future__ import annotations

import datetime

from botocore.stub import ANY

from ansible_collections.monitoring.stack.plugins.modules import amp_workspace
from ansible_collections.monitoring.stack.plugins.modules import ecs_rollout
from ansible_collections.monitoring.stack.plugins.modules import otel_config
from tests.support.aws_stubs import run_module, throttle

KMS = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
SHA = "a" * 64
CLUSTER = "c"
SERVICE_ARN = "arn:aws:ecs:eu-west-1:123456789012:service/c/web-api"


def test_otel_config_s3_and_ssm_retry_throttling(stubbed_clients, capsys):
    stubs = stubbed_clients("s3", "ssm")
    s3, ssm = stubs["s3"], stubs["ssm"]
    throttle(s3, "get_bucket_location", "SlowDown", 503)
    s3.add_response("get_bucket_location", {"LocationConstraint": "eu-west-1"}, {"Bucket": "b"})
    throttle(s3, "head_object", "SlowDown", 503)
    s3.add_client_error("head_object", "404", "Not Found", 404)
    throttle(s3, "get_bucket_encryption", "SlowDown", 503)
    s3.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS}}]}})
    throttle(ssm, "get_parameter")
    ssm.add_client_error("get_parameter", "ParameterNotFound", "none", 400)
    throttle(s3, "put_object", "SlowDown", 503)
    s3.add_response("put_object", {"SSEKMSKeyId": KMS, "ServerSideEncryption": "aws:kms"}, {
        "Bucket": "b", "Key": "k", "Body": ANY, "ContentType": "application/yaml",
        "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS, "Metadata": ANY})
    throttle(ssm, "put_parameter")
    ssm.add_response("put_parameter", {"Version": 1, "Tier": "Standard"})
    out = run_module(otel_config, capsys, {"project": "p", "service": "web-api", "s3_bucket": "b",
                                           "s3_key": "k", "ssm_parameter": "/p/web-api"})
    assert out.get("failed") is not True, out.get("msg")
    assert out["changed"] is True
    assert out["destinations"]["s3"]["changed"] is True and out["destinations"]["ssm"]["version"] == 1


def _service(tags=None, deployments=None):
    return {"serviceArn": SERVICE_ARN, "serviceName": "web-api", "status": "ACTIVE", "desiredCount": 1,
            "runningCount": 1, "tags": tags or [],
            "deployments": deployments or [{"id": "ecs-svc/1", "status": "PRIMARY", "desiredCount": 1,
                                            "runningCount": 1, "rolloutState": "COMPLETED"}]}


def test_ecs_rollout_retries_throttling(stubbed_clients, capsys):
    ecs = stubbed_clients("ecs")["ecs"]
    throttle(ecs, "describe_services")
    ecs.add_response("describe_services", {"services": [_service()], "failures": []})
    throttle(ecs, "update_service")
    ecs.add_response("update_service", {"service": _service(deployments=[
        {"id": "ecs-svc/2", "status": "PRIMARY", "desiredCount": 1, "runningCount": 0, "rolloutState": "IN_PROGRESS"},
        {"id": "ecs-svc/1", "status": "ACTIVE", "desiredCount": 1, "runningCount": 1, "rolloutState": "COMPLETED"}])})
    throttle(ecs, "describe_services")
    ecs.add_response("describe_services", {"services": [_service(deployments=[
        {"id": "ecs-svc/2", "status": "PRIMARY", "desiredCount": 1, "runningCount": 1,
         "rolloutState": "COMPLETED"}])], "failures": []})
    throttle(ecs, "tag_resource")
    ecs.add_response("tag_resource", {}, {"resourceArn": SERVICE_ARN,
                                          "tags": [{"key": "monitoring-stack:otel-config-sha256", "value": SHA}]})
    out = run_module(ecs_rollout, capsys, {"cluster": CLUSTER, "service": "web-api", "config_sha256": SHA})
    assert out.get("failed") is not True, out.get("msg")
    assert out["changed"] is True and out["deployment_id"] == "ecs-svc/2" and out["stable"] is True


def test_amp_workspace_retries_throttling(stubbed_clients, capsys):
    amp = stubbed_clients("amp")["amp"]
    workspace = {"workspaceId": "ws-1", "alias": "prod", "arn": "arn:aws:aps:eu-west-1:123456789012:workspace/ws-1",
                 "status": {"statusCode": "ACTIVE"}, "createdAt": datetime.datetime(2026, 1, 1), "tags": {}}
    throttle(amp, "list_workspaces")
    amp.add_response("list_workspaces", {"workspaces": [workspace]}, {"alias": "prod", "maxResults": 100})
    throttle(amp, "describe_workspace")
    amp.add_response("describe_workspace", {"workspace": dict(
        workspace, prometheusEndpoint="https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/")},
        {"workspaceId": "ws-1"})
    throttle(amp, "describe_logging_configuration")
    amp.add_client_error("describe_logging_configuration", "ResourceNotFoundException", "none", 404)
    out = run_module(amp_workspace, capsys, {"alias": "prod"})
    assert out.get("failed") is not True, out.get("msg")
    assert out["changed"] is False and out["workspace_id"] == "ws-1"
