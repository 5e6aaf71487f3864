"""monitoring.stack.otel_config against a real moto server, in amazon.aws's four steps.

moto differs from AWS here: under SSE-KMS moto's ETag is the MD5 of the content (on AWS it is
not). The module never decides "unchanged" from the ETag but from the SHA-256 it stores as
``x-amz-meta-content-sha256``; the tests assert that metadata and that a re-upload happens
when only the metadata differs (an object uploaded by hand with the same bytes, whose ETag
matches), which an ETag comparison would miss.
"""

from __future__ import annotations

import hashlib
import os
import stat

import boto3
import pytest
import yaml

from tests.support.playbook import run_steps

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
BUCKET = "prod-connectly"
KEY = "otel-config/crawlinghub-web-api/otel-config.yaml"
SPEC = {"project": "crawlinghub", "service": "web-api", "app_port": 8080}


def _play(args, name="otel"):
    return [{"name": "otel", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": name, "monitoring.stack.otel_config": dict(args, region=REGION),
                        "register": "out"}]}]


def _run(playbook, args, **kwargs):
    result = playbook(_play(args), **kwargs)
    return result, result.result("otel")


def _steps(playbook, steps, name="otel"):
    return run_steps(playbook, _play, steps, name)


def _s3():
    return boto3.client("s3", region_name=REGION)


def _kms_bucket(bucket=BUCKET):
    """A KMS key and a bucket whose default encryption is SSE-KMS with it."""
    key_arn = boto3.client("kms", region_name=REGION).create_key(Description="otel")["KeyMetadata"]["Arn"]
    _s3().create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    _s3().put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]})
    return key_arn


def _objects(bucket=BUCKET):
    return [o["Key"] for o in _s3().list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_s3_kms_four_steps(aws, playbook):
    key_arn = _kms_bucket()
    args = dict(SPEC, s3_bucket=BUCKET)

    result, res = _run(playbook, args, check=True, diff=True)
    assert result.rc == 0, result
    assert res["changed"] is True and res["destinations"]["s3"]["changed"] is True
    assert res["diff"][0]["before"] == "" and res["diff"][0]["after"] == res["content"]
    assert res["diff"][0]["after_header"] == "s3://%s/%s" % (BUCKET, KEY)
    assert _objects() == [], "check mode uploaded"

    result, res = _run(playbook, args)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert res["s3_uri"] == "s3://%s.s3.%s.amazonaws.com/%s" % (BUCKET, REGION, KEY)
    content = res["content"]
    assert res["sha256"] == hashlib.sha256(content.encode()).hexdigest()
    head = _s3().head_object(Bucket=BUCKET, Key=KEY)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn, "the bucket's default KMS key was not used"
    assert head["Metadata"] == {"content-sha256": res["sha256"]}
    body = _s3().get_object(Bucket=BUCKET, Key=KEY)["Body"].read().decode()
    assert body == content
    config = yaml.safe_load(body)
    assert config["receivers"]["prometheus"]["config"]["scrape_configs"][0]["job_name"] == "crawlinghub-web-api-metrics"
    assert yaml.safe_load(res["aot_config_content"]) == config

    result, (res, apply_res) = _steps(playbook, [(args, True, True), (args, False, False)])
    assert result.rc == 0, result
    assert res["changed"] is False and res["diff"] == []
    assert apply_res["changed"] is False
    assert _s3().head_object(Bucket=BUCKET, Key=KEY)["LastModified"] == head["LastModified"]

    # a change: new custom prefix -> diff shows it, upload, new hash
    args["custom_metric_prefixes"] = ["scheduler_job_"]
    result, res = _run(playbook, args, diff=True)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert res["destinations"]["s3"]["previous_sha256"] == head["Metadata"]["content-sha256"]
    assert "scheduler_job_" not in res["diff"][0]["before"] and "scheduler_job_.*" in res["diff"][0]["after"]
    assert _s3().head_object(Bucket=BUCKET, Key=KEY)["Metadata"]["content-sha256"] == res["sha256"]


def test_s3_same_bytes_without_hash_metadata_is_reuploaded(aws, playbook):
    """Same content, same ETag (moto: MD5), but no content hash recorded: the module re-uploads once."""
    _kms_bucket()
    result, res = _run(playbook, dict(SPEC))  # render only
    assert result.rc == 0 and res["changed"] is False and res["destinations"] == {}
    _s3().put_object(Bucket=BUCKET, Key=KEY, Body=res["content"].encode(), ServerSideEncryption="aws:kms")
    etag = _s3().head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    assert etag.strip('"') == hashlib.md5(res["content"].encode()).hexdigest()  # moto only; not on AWS
    result, (res, again) = _steps(playbook, [(dict(SPEC, s3_bucket=BUCKET), False, False)] * 2)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert again["changed"] is False


def test_s3_explicit_kms_key_and_key_change(aws, playbook):
    _kms_bucket()
    other = boto3.client("kms", region_name=REGION).create_key(Description="other")["KeyMetadata"]
    args = dict(SPEC, s3_bucket=BUCKET, kms_key_id=other["KeyId"])
    result, res = _run(playbook, args)
    assert result.rc == 0 and res["changed"] is True, result
    assert _s3().head_object(Bucket=BUCKET, Key=KEY)["SSEKMSKeyId"].endswith(other["KeyId"])
    result, (res, by_arn) = _steps(playbook, [(args, False, False), (dict(args, kms_key_id=other["Arn"]), False, False)])
    assert res["changed"] is False, "same key given as id, object reports the ARN"
    assert by_arn["changed"] is False


def test_bad_input_uploads_nothing(aws, playbook):
    _kms_bucket()
    bad = {
        "receivers": {"prometheus": {"config": {"scrape_configs": [{
            "job_name": "app", "static_configs": [{"targets": ["localhost:8080"]}],
            "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": "(http_.*|jvm_.*)", "action": "keep"}],
        }]}}},
        "processors": {"resource": {"attributes": [{"key": "environment", "value": "$ENVIRONMENT", "action": "upsert"}]}},
        "exporters": {"logging": {}},
        "service": {"pipelines": {"metrics": {"receivers": ["prometheus", "statsd"], "processors": ["resource"],
                                              "exporters": ["logging"]}}},
    }
    result, res = _run(playbook, {"config": bad, "s3_bucket": BUCKET, "s3_key": "x/otel.yaml",
                                  "required_metric_prefixes": ["crawlinghub_"]})
    assert result.rc != 0
    assert res["failed"] is True
    assert res["msg"].startswith("Failed to validate the ADOT collector config: ")
    problems = res["problems"]
    for fragment in ("names receiver 'statsd', which is not defined", "unknown exporter type 'logging'",
                     "bare $ENVIRONMENT", "prefix 'crawlinghub_'", "prefix 'hikaricp_'",
                     "without a resourcedetection processor"):
        assert any(fragment in p for p in problems), (fragment, problems)
    assert _objects() == [], "a bad config was uploaded"

    # an existing good object stays as it is when the next config is bad
    result, res = _run(playbook, dict(SPEC, s3_bucket=BUCKET))
    assert result.rc == 0, result
    before = _s3().head_object(Bucket=BUCKET, Key=KEY)
    result, res = _run(playbook, dict(SPEC, s3_bucket=BUCKET, custom_metric_prefixes=["bad prefix"]))
    assert result.rc != 0 and "custom_metric_prefixes" in res["msg"]
    result, res = _run(playbook, dict(SPEC, s3_bucket=BUCKET, amp_endpoint="$AMP_ENDPOINT"))
    assert result.rc != 0 and "bare $AMP_ENDPOINT" in res["msg"]
    after = _s3().head_object(Bucket=BUCKET, Key=KEY)
    assert after["Metadata"] == before["Metadata"] and after["LastModified"] == before["LastModified"]


def test_missing_bucket_error_is_clear(aws, playbook):
    result, res = _run(playbook, dict(SPEC, s3_bucket="no-such-bucket"))
    assert result.rc != 0
    # the first call is GetBucketLocation now (the S3 URI names the bucket's region)
    assert res["msg"].startswith("Failed to find the region of bucket no-such-bucket: "), res["msg"]
    assert "NoSuchBucket" in res["msg"] and "Hint: bucket no-such-bucket does not exist" in res["msg"]


@pytest.mark.parametrize("parameter_type", ["String", "SecureString"])
def test_ssm_four_steps(aws, playbook, parameter_type):
    name = "/crawlinghub/otel/web-api"
    args = dict(SPEC, ssm_parameter=name, ssm_parameter_type=parameter_type)
    ssm = boto3.client("ssm", region_name=REGION)

    result, res = _run(playbook, args, check=True, diff=True)
    assert result.rc == 0, result
    assert res["changed"] is True and res["destinations"]["ssm"]["changed"] is True
    assert res["diff"][0]["after_header"] == "ssm:" + name
    assert ssm.describe_parameters()["Parameters"] == []

    result, res = _run(playbook, args)
    assert result.rc == 0 and res["changed"] is True, result
    parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert parameter["Value"] == res["content"] and parameter["Type"] == parameter_type
    assert parameter["Version"] == 1

    result, found = _steps(playbook, [(args, True, False), (args, False, False)])
    assert result.rc == 0 and [res["changed"] for res in found] == [False, False], result
    assert ssm.get_parameter(Name=name)["Parameter"]["Version"] == 1

    result, res = _run(playbook, dict(args, app_port=9090), diff=True)
    before = res["diff"][0]["before"]
    if parameter_type == "SecureString":
        # A SecureString's old value is secret as a whole: only what the new config repeats shows.
        assert res["changed"] is True and "localhost:8080" not in before and "********" in before
        assert "prometheusremotewrite" in before
    else:
        assert res["changed"] is True and "localhost:8080" in before
    assert ssm.get_parameter(Name=name)["Parameter"]["Version"] == 2


def test_file_four_steps_with_mode(aws, playbook, tmp_path):
    dest = tmp_path / "otel-config.yaml"
    args = dict(SPEC, dest=str(dest), mode="0640")

    result, res = _run(playbook, args, check=True, diff=True)
    assert result.rc == 0 and res["changed"] is True, result
    assert res["destinations"] == {"file": {"path": str(dest), "changed": True}}
    assert not dest.exists()

    result, res = _run(playbook, args)
    assert result.rc == 0 and res["changed"] is True, result
    assert dest.read_text() == res["content"]
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    assert res["content"].startswith("# ADOT collector config for crawlinghub-web-api\n")

    result, found = _steps(playbook, [(args, True, False), (args, False, False)])
    assert result.rc == 0 and [res["changed"] for res in found] == [False, False], result

    os.chmod(dest, 0o600)
    result, res = _run(playbook, args)
    assert res["changed"] is True and stat.S_IMODE(os.stat(dest).st_mode) == 0o640


def test_all_destinations_at_once_and_user_config(aws, playbook, tmp_path):
    _kms_bucket()
    dest = tmp_path / "c.yaml"
    text = (tmp_path / "in.yaml")
    result, res = _run(playbook, dict(SPEC))
    text.write_text(res["content"])
    args = {"config": text.read_text(), "required_metric_prefixes": ["crawlinghub"], "dest": str(dest),
            "s3_bucket": BUCKET, "s3_key": KEY, "ssm_parameter": "/x/otel"}
    result, res = _run(playbook, args)
    assert result.rc == 0, result
    assert {k: v["changed"] for k, v in res["destinations"].items()} == {"file": True, "s3": True, "ssm": True}
    # only the file goes missing: only the file is rewritten
    dest.unlink()
    result, (res, again) = _steps(playbook, [(args, False, False)] * 2)
    assert {k: v["changed"] for k, v in res["destinations"].items()} == {"file": True, "s3": False, "ssm": False}
    assert again["changed"] is False


def test_s3_uri_names_the_buckets_own_region(aws, playbook):
    """Issue 10, item 12: a bucket in us-west-2 used from a task whose region is eu-west-1."""
    boto3.client("s3", region_name="us-west-2").create_bucket(
        Bucket="configs-oregon", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    result, res = _run(playbook, dict(SPEC, s3_bucket="configs-oregon"))
    assert result.rc == 0, result
    assert res["s3_uri"] == "s3://configs-oregon.s3.us-west-2.amazonaws.com/%s" % KEY
    assert REGION not in res["s3_uri"]


def test_a_missing_bucket_writes_no_other_destination(aws, playbook, tmp_path):
    """Issue 10, item 11: every destination is read before any is written."""
    dest = tmp_path / "otel.yaml"
    name = "/crawlinghub/otel/web-api"
    result, res = _run(playbook, dict(SPEC, dest=str(dest), ssm_parameter=name, s3_bucket="no-such-bucket"))
    assert result.rc != 0
    assert "no-such-bucket" in res["msg"] and res["msg"].endswith("Nothing was written")
    assert res["written"] == []
    assert not dest.exists()
    assert boto3.client("ssm", region_name=REGION).describe_parameters()["Parameters"] == []
