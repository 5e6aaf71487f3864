"""S3/SSM delivery and ECS rollout logic with botocore's Stubber (every request is checked
against the real service model): the error paths moto cannot produce (AccessDenied under
SSE-KMS, a service that never becomes stable)."""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from ansible_collections.monitoring.stack.plugins.module_utils import ecs_rollout, otel_delivery

SHA = "c" * 64
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _client(service):
    return boto3.client(service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_access_denied_under_kms_names_the_kms_permissions():
    s3 = _client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}}]}})
        stub.add_client_error("put_object", "AccessDenied", "Access Denied", http_status_code=403,
                              expected_params={"Bucket": "b", "Key": "k", "Body": ANY, "ContentType": "application/yaml",
                                               "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KEY_ARN,
                                               "Metadata": {"content-sha256": SHA}})
        with pytest.raises(otel_delivery.DeliveryError) as info:
            otel_delivery.S3Destination(s3, "b", "k").ensure("x: 1\n", SHA)
    err = info.value
    assert err.action == "upload the ADOT collector config to s3://b/k"
    assert "kms:GenerateDataKey and kms:Decrypt on the bucket's default KMS key" in err.hint
    assert "AccessDenied" in str(err)


def test_unchanged_is_one_head_request_and_ignores_the_etag():
    s3 = _client("s3")
    with Stubber(s3) as stub:
        stub.add_response("head_object", {"Metadata": {"content-sha256": SHA}, "ServerSideEncryption": "aws:kms",
                                          "SSEKMSKeyId": KEY_ARN, "ETag": '"not-an-md5-under-kms"'})
        changed, result = otel_delivery.S3Destination(s3, "b", "k", kms_key_id="11111111-2222-3333-4444-555555555555") \
            .ensure("x: 1\n", SHA)
        stub.assert_no_pending_responses()
    assert changed is False and result["changed"] is False


def test_object_under_another_key_or_without_kms_is_rewritten_in_check_mode_without_writing():
    s3 = _client("s3")
    body = StreamingBody(io.BytesIO(b"old: 1\n"), 7)
    with Stubber(s3) as stub:
        stub.add_response("head_object", {"Metadata": {"content-sha256": SHA}, "ServerSideEncryption": "AES256"})
        stub.add_response("get_object", {"Body": body})
        # check mode reads the bucket's default key too: the result names the key the object would be under
        stub.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}}]}})
        changed, result = otel_delivery.S3Destination(s3, "b", "k", check_mode=True, want_before=True).ensure("x: 1\n", SHA)
        stub.assert_no_pending_responses()
    assert changed is True and result["before"] == "old: 1\n" and result["kms_key_id"] == KEY_ARN


@pytest.mark.parametrize("actual, wanted, ok", [
    (KEY_ARN, None, True), (KEY_ARN, KEY_ARN, True), (KEY_ARN, "11111111-2222-3333-4444-555555555555", True),
    (KEY_ARN, "alias/otel", True), (KEY_ARN, "99999999-2222-3333-4444-555555555555", False), (None, KEY_ARN, False),
])
def test_kms_key_matches(actual, wanted, ok):
    assert otel_delivery.kms_key_matches(actual, wanted) is ok


def test_ssm_secure_string_access_denied_hint():
    ssm = _client("ssm")
    with Stubber(ssm) as stub:
        stub.add_client_error("get_parameter", "AccessDeniedException", "denied")
        with pytest.raises(otel_delivery.DeliveryError) as info:
            otel_delivery.SsmDestination(ssm, "/p", "SecureString").ensure("x", SHA)
    assert info.value.action == "read SSM parameter /p"
    assert "kms:Decrypt" in info.value.hint


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _service(tags=None, deployments=None):
    return {"serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/c/s", "serviceName": "s", "status": "ACTIVE",
            "tags": tags or [], "deployments": deployments or [{"id": "ecs-svc/1", "status": "PRIMARY"}]}


def test_wait_timeout_does_not_record_the_rollout():
    ecs = _client("ecs")
    unstable = _service(deployments=[{"id": "ecs-svc/2", "status": "PRIMARY", "runningCount": 0, "desiredCount": 1},
                                     {"id": "ecs-svc/1", "status": "ACTIVE", "runningCount": 1, "desiredCount": 1}])
    with Stubber(ecs) as stub:
        stub.add_response("describe_services", {"services": [_service()], "failures": []})
        stub.add_response("update_service", {"service": unstable})
        for _poll in range(3):  # at 0s, 1s and 2s of a fake clock
            stub.add_response("describe_services", {"services": [unstable], "failures": []})
        # no tag_resource expected: the Stubber would fail on an unexpected call
        clock = FakeClock()
        with pytest.raises(ecs_rollout.RolloutError) as info:
            ecs_rollout.EcsRollout(ecs, sleep=clock.sleep, clock=clock).ensure("c", "s", SHA, wait=True,
                                                                               wait_timeout=2, delay=1)
        stub.assert_no_pending_responses()
    assert info.value.action == "wait for ECS service s in cluster c to become stable within 2s"
    assert "the config hash was not recorded: the next run rolls the service out again" in info.value.hint


def test_recorded_hash_means_no_call_but_describe():
    ecs = _client("ecs")
    with Stubber(ecs) as stub:
        tagged = _service(tags=[{"key": ecs_rollout.MARKER_TAG, "value": SHA}])
        stub.add_response("describe_services", {"services": [tagged], "failures": []})
        changed, result = ecs_rollout.EcsRollout(ecs).ensure("c", "s", SHA, wait=True)
        stub.assert_no_pending_responses()
    assert changed is False and result["rolled_out"] is False and result["previous_config_sha256"] == SHA


def test_wait_settings_are_bounded():
    assert ecs_rollout.wait_settings(600) == (15, 40)
    assert ecs_rollout.wait_settings(5) == (5, 1)
    assert ecs_rollout.wait_settings(0) == (1, 1)
