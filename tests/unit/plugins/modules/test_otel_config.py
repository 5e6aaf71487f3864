"""monitoring.stack.otel_config in-process on Stubber-checked S3/SSM clients: secrets never in the
output (item 4), every destination read before any is written and an exact report of what was
written when one fails (item 11), the bucket's own region in the S3 URI (item 12), bad options
refused naming the option (item 19)."""

from __future__ import annotations

import json

import pytest
import yaml
from botocore.stub import ANY

from ansible_collections.monitoring.stack.plugins.module_utils import otel
from ansible_collections.monitoring.stack.plugins.module_utils import otel_delivery
from ansible_collections.monitoring.stack.plugins.modules import otel_config
from tests.support.aws_stubs import run_module

TOKEN = "s3ntinel-adot-header-token-5be2"
OLD_TOKEN = "s3ntinel-old-ssm-secret-77aa"
KMS = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"


@pytest.fixture(autouse=True)
def fresh_bucket_regions(monkeypatch):
    monkeypatch.setattr(otel_delivery, "_BUCKET_REGIONS", {})


def _config(token=TOKEN):
    config = otel.build_config({"project": "p", "service": "web-api"})
    config["exporters"]["otlphttp/vendor"] = {"endpoint": "https://otlp.example.com",
                                              "headers": {"Authorization": "Bearer " + token}}
    config["service"]["pipelines"]["traces"]["exporters"].append("otlphttp/vendor")
    return config


def test_secure_string_and_header_token_never_appear_in_the_output(stubbed_clients, capsys):
    ssm = stubbed_clients("ssm")["ssm"]
    old = otel.render_yaml(_config(OLD_TOKEN))
    ssm.add_response("get_parameter", {"Parameter": {"Name": "/p/otel", "Type": "SecureString", "Value": old,
                                                     "Version": 3}}, {"Name": "/p/otel", "WithDecryption": True})
    out = run_module(otel_config, capsys, {"config": _config(), "required_metric_prefixes": ["p_"],
                                           "ssm_parameter": "/p/otel", "ssm_parameter_type": "SecureString"},
                     check_mode=True, diff=True)
    assert out.get("failed") is not True, out.get("msg")
    text = json.dumps(out)
    assert TOKEN not in text and OLD_TOKEN not in text
    assert out["changed"] is True
    [diff] = out["diff"]
    assert "Authorization: '********'" in diff["before"] and "Authorization: '********'" in diff["after"]
    assert "otlphttp/vendor" in diff["before"]
    assert yaml.safe_load(out["content"])["exporters"]["otlphttp/vendor"]["headers"] == {"Authorization": "********"}
    assert json.loads(out["aot_config_content"])["exporters"]["otlphttp/vendor"]["headers"]["Authorization"] == "********"
    assert out["invocation"]["module_args"]["config"]["exporters"]["otlphttp/vendor"]["headers"] == {
        "Authorization": "********"}
    [warning] = out["warnings"]
    warning = warning["event"]["msg"] if isinstance(warning, dict) else warning  # ansible-core 2.19 WarningSummary
    assert warning.startswith("The ADOT collector config holds a literal credential at "
                              "exporters.otlphttp/vendor.headers.Authorization")
    # the hash is of the real content (what the collector reads), not of the masked one
    assert out["sha256"] == otel.sha256(otel.render_yaml(_config(), header="ADOT collector config\n" + otel_config.HEADER))


def test_unreadable_old_secure_string_is_not_shown(stubbed_clients, capsys):
    ssm = stubbed_clients("ssm")["ssm"]
    ssm.add_response("get_parameter", {"Parameter": {"Name": "/p/otel", "Type": "SecureString",
                                                     "Value": "password=" + OLD_TOKEN + ": [", "Version": 1}})
    out = run_module(otel_config, capsys, {"project": "p", "service": "web-api", "ssm_parameter": "/p/otel",
                                           "ssm_parameter_type": "SecureString"}, check_mode=True, diff=True)
    assert OLD_TOKEN not in json.dumps(out)
    assert out["diff"][0]["before"].startswith("(previous content not shown:")


def test_a_failing_destination_is_found_before_anything_is_written(stubbed_clients, capsys, tmp_path):
    stubs = stubbed_clients("s3", "ssm")
    stubs["s3"].add_response("get_bucket_location", {"LocationConstraint": "eu-west-1"})
    stubs["s3"].add_client_error("head_object", "404", "Not Found", 404)
    stubs["s3"].add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS}}]}})
    stubs["ssm"].add_client_error("get_parameter", "AccessDeniedException", "denied", 400)
    dest = tmp_path / "otel.yaml"
    out = run_module(otel_config, capsys, {"project": "p", "service": "web-api", "s3_bucket": "b", "s3_key": "k",
                                           "ssm_parameter": "/p/otel", "dest": str(dest)})
    assert out["failed"] is True
    assert out["msg"].startswith("Failed to read SSM parameter /p/otel: ")
    assert out["msg"].endswith("Nothing was written")
    assert out["written"] == [] and not dest.exists()  # no put_object stubbed: an upload would fail the test


def test_a_failed_write_reports_exactly_what_was_written(stubbed_clients, capsys, tmp_path):
    stubs = stubbed_clients("s3", "ssm")
    s3, ssm = stubs["s3"], stubs["ssm"]
    s3.add_response("get_bucket_location", {"LocationConstraint": "eu-west-1"})
    s3.add_client_error("head_object", "404", "Not Found", 404)
    s3.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS}}]}})
    ssm.add_client_error("get_parameter", "ParameterNotFound", "none", 400)
    s3.add_response("put_object", {"SSEKMSKeyId": KMS, "VersionId": "v1"}, {
        "Bucket": "b", "Key": "k", "Body": ANY, "ContentType": "application/yaml", "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": KMS, "Metadata": ANY})
    ssm.add_client_error("put_parameter", "ParameterLimitExceeded", "too many", 400)
    dest = tmp_path / "otel.yaml"
    out = run_module(otel_config, capsys, {"project": "p", "service": "web-api", "s3_bucket": "b", "s3_key": "k",
                                           "ssm_parameter": "/p/otel", "dest": str(dest)})
    assert out["failed"] is True
    assert out["msg"].startswith("Failed to write SSM parameter /p/otel: ")
    assert out["msg"].endswith("Written before the failure: s3")
    assert out["written"] == ["s3"] and out["destinations"]["s3"]["version_id"] == "v1"
    assert not dest.exists(), "the file comes after the failed destination"


@pytest.mark.parametrize("location, region", [("ap-northeast-2", "ap-northeast-2"), (None, "us-east-1"),
                                              ("EU", "eu-west-1")])
def test_s3_uri_takes_the_buckets_region(stubbed_clients, capsys, location, region):
    s3 = stubbed_clients("s3")["s3"]
    s3.add_response("get_bucket_location", {"LocationConstraint": location} if location else {}, {"Bucket": "b"})
    s3.add_response("head_object", {"Metadata": {"content-sha256": "x"}, "ServerSideEncryption": "aws:kms",
                                    "SSEKMSKeyId": KMS})
    s3.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS}}]}})
    out = run_module(otel_config, capsys, {"project": "p", "service": "web-api", "s3_bucket": "b", "s3_key": "k"},
                     check_mode=True)
    assert out["s3_uri"] == "s3://b.s3.%s.amazonaws.com/k" % region
    assert out["destinations"]["s3"]["kms_key_id"] == KMS


@pytest.mark.parametrize("args, fragment", [
    ({"region": "eu-wset-1", "s3_bucket": "b"}, "region: 'eu-wset-1' is not a region botocore knows"),
    ({"amp_region": "eu-wset-1"}, "amp_region: 'eu-wset-1' is not a region botocore knows"),
    ({"scrape_interval": "thirty", "memory_limit_mib": -5}, "scrape_interval: 'thirty' is not a duration"),
    ({"service": "web api"}, "service: 'web api' may hold only letters"),
    ({"traces_exporter": "otlp"}, "traces_otlp_endpoint: required with traces_exporter otlp"),
])
def test_bad_options_fail_before_any_call(stubbed_clients, capsys, args, fragment):
    stubbed_clients("s3")  # no response stubbed: any AWS call fails the test
    args = dict({"project": "p", "service": "web-api"}, **args)
    region = args.pop("region", "eu-west-1")
    out = run_module(otel_config, capsys, args, region=region)
    assert out["failed"] is True
    assert fragment in out["msg"] and out["msg"].startswith("Failed to ")


def test_traces_exporter_otlp_renders_the_otlp_exporter(stubbed_clients, capsys, tmp_path):
    stubbed_clients("s3")  # nothing stubbed: only the file is written
    dest = tmp_path / "otel.yaml"
    out = run_module(otel_config, capsys, {"project": "p", "service": "web-api", "dest": str(dest),
                                           "traces_exporter": "otlp", "traces_otlp_endpoint": "10.0.1.20:4317",
                                           "traces_otlp_insecure": True}, region="eu-west-1")
    assert out["changed"] is True, out
    written = yaml.safe_load(dest.read_text())
    assert written["exporters"]["otlp"] == {"endpoint": "10.0.1.20:4317", "tls": {"insecure": True}}
    assert "awsxray" not in written["exporters"]
    assert written["service"]["pipelines"]["traces"]["exporters"] == ["otlp"]
