"""aws_managed with ``aws_managed_config_kms_key_arn: ""``: the configs are encrypted with the
bucket's default key, so when that is a customer-managed key the ADOT task role's policy must
grant kms:Decrypt on it (issue 10, item 23). Against a real moto server; the environment comes
from test_aws_managed.py's helpers (stage), with the key left to the bucket."""

from __future__ import annotations

import json

import boto3
import pytest
import yaml

from tests.integration.roles.test_aws_managed import PLAY, REGION, _inventory, _policy_document, _prepare, _statements

pytestmark = pytest.mark.slow


def _without_key_arn(inventory):
    path = inventory / "group_vars" / "all" / "aws_managed.yml"
    values = yaml.safe_load(path.read_text())
    values["aws_managed_config_kms_key_arn"] = ""
    path.write_text(yaml.safe_dump(values, sort_keys=False))


def test_bucket_default_customer_key_gets_kms_decrypt(aws, playbook, tmp_path):
    key_arn = _prepare("stage")  # the bucket's default encryption is SSE-KMS with this customer key
    inventory = _inventory(tmp_path, "stage", key_arn)
    _without_key_arn(inventory)
    result = playbook(PLAY, inventory=inventory, extra_args=["--tags", "aws_managed_iam"])
    assert result.rc == 0, result
    _arn, document = _policy_document("crawlinghub-stage-adot-task")
    statement = _statements(document)["DecryptCollectorConfig"]
    assert statement["Action"] == ["kms:Decrypt"] and statement["Resource"] == key_arn


def test_bucket_under_sse_s3_gets_no_kms_statement(aws, playbook, tmp_path):
    key_arn = _prepare("stage")
    boto3.client("s3", region_name=REGION).put_bucket_encryption(
        Bucket="stage-connectly", ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    inventory = _inventory(tmp_path, "stage", key_arn)
    _without_key_arn(inventory)
    result = playbook(PLAY, inventory=inventory, extra_args=["--tags", "aws_managed_iam"])
    assert result.rc == 0, result
    _arn, document = _policy_document("crawlinghub-stage-adot-task")
    assert "DecryptCollectorConfig" not in _statements(document)
    assert "kms:" not in json.dumps(document)
