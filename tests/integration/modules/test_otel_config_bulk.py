"""monitoring.stack.otel_config with ``services`` (the bulk form) against a real moto server.

Every AWS request the module sends goes through tests/support/counting_proxy.py (a loopback
proxy in front of the same moto server), so the tests assert the exact list of operations: on an
unchanged re-run one HeadObject per service and one GetBucketLocation per bucket, nothing else.
moto differs from AWS here: under SSE-KMS its ETag is the MD5 (on AWS it is not); the module
decides "unchanged" from the SHA-256 in ``x-amz-meta-content-sha256``, never the ETag.
"""

from __future__ import annotations

import hashlib

import boto3
import pytest
import yaml

from tests.support.counting_proxy import CountingProxy

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
BUCKET = "bulk-configs"
PROJECT = "crawlinghub"
NAMES = ["web-api", "scheduler", "crawl-worker", "resizer", "notifier"]
TOKEN = "s3ntinel-bulk-header-token-91c3"

LOCATION = "S3 GET bucket?location"
ENCRYPTION = "S3 GET bucket?encryption"
HEAD = "S3 HEAD object"
GET = "S3 GET object"
PUT = "S3 PUT object"


@pytest.fixture
def proxy(aws):
    counting = CountingProxy(aws.endpoint).start()
    try:
        yield counting
    finally:
        counting.stop()


def _s3():
    return boto3.client("s3", region_name=REGION)


def _kms_bucket():
    key_arn = boto3.client("kms", region_name=REGION).create_key(Description="otel")["KeyMetadata"]["Arn"]
    _s3().create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    _s3().put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]})
    return key_arn


def _key(name):
    return "otel-config/%s-%s/otel-config.yaml" % (PROJECT, name)


def _objects():
    return sorted(o["Key"] for o in _s3().list_objects_v2(Bucket=BUCKET).get("Contents", []))


def _services(ports=None):
    ports = ports or {}
    return [{"service": name, "app_port": ports.get(name, 8080 + i)} for i, name in enumerate(NAMES)]


def _play(args, name="bulk", check=False, diff=False):
    return [{"name": "otel", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": name, "monitoring.stack.otel_config": dict(args, region=REGION), "register": "out",
         "check_mode": check, "diff": diff}]}]


def _run(playbook, proxy, args, check=False, diff=False):
    proxy.take()
    result = playbook(_play(args, check=check, diff=diff), env={"AWS_ENDPOINT_URL": proxy.endpoint})
    calls = dict(proxy.take())
    return result, result.result("bulk"), calls


def _args(services):
    return {"project": PROJECT, "s3_bucket": BUCKET, "services": services}


def test_first_run_check_mode_and_unchanged_rerun_calls(aws, proxy, playbook):
    key_arn = _kms_bucket()
    n = len(NAMES)

    # check mode on a fresh bucket: would upload every service, uploads nothing
    result, res, calls = _run(playbook, proxy, _args(_services()), check=True, diff=True)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert [s["service"] for s in res["services"]] == NAMES
    assert [s["changed"] for s in res["services"]] == [True] * n
    assert res["totals"] == {"services": n, "changed": n, "unchanged": 0, "written": 0}
    assert [d["after_header"] for d in res["diff"]] == ["s3://%s/%s" % (BUCKET, _key(name)) for name in NAMES]
    assert all(d["before"] == "" for d in res["diff"])
    assert _objects() == []
    assert calls == {LOCATION: 1, HEAD: n, ENCRYPTION: 1}

    # first run: one PutObject per service, the bucket's location and encryption read once
    result, res, calls = _run(playbook, proxy, _args(_services()))
    assert result.rc == 0, result
    assert res["changed"] is True
    assert res["totals"] == {"services": n, "changed": n, "unchanged": 0, "written": n}
    assert calls == {LOCATION: 1, HEAD: n, ENCRYPTION: 1, PUT: n}
    assert _objects() == sorted(_key(name) for name in NAMES)
    for i, (name, svc) in enumerate(zip(NAMES, res["services"])):
        body = _s3().get_object(Bucket=BUCKET, Key=_key(name))["Body"].read().decode()
        head = _s3().head_object(Bucket=BUCKET, Key=_key(name))
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
        assert head["Metadata"]["content-sha256"] == hashlib.sha256(body.encode()).hexdigest() == svc["sha256"]
        assert svc["s3_uri"] == "s3://%s.s3.%s.amazonaws.com/%s" % (BUCKET, REGION, _key(name))
        assert svc["written"] == ["s3"]
        scrape = yaml.safe_load(body)["receivers"]["prometheus"]["config"]["scrape_configs"][0]
        assert scrape["job_name"] == "%s-%s-metrics" % (PROJECT, name)
        assert scrape["static_configs"][0]["targets"] == ["localhost:%d" % (8080 + i)]

    # unchanged re-run: exactly one HeadObject per service (and the bucket's location once)
    result, res, calls = _run(playbook, proxy, _args(_services()))
    assert result.rc == 0, result
    assert res["changed"] is False
    assert res["totals"] == {"services": n, "changed": 0, "unchanged": n, "written": 0}
    assert calls == {LOCATION: 1, HEAD: n}

    # and in check mode with diff, the same calls and no diff
    result, res, calls = _run(playbook, proxy, _args(_services()), check=True, diff=True)
    assert result.rc == 0, result
    assert res["changed"] is False and res["diff"] == []
    assert calls == {LOCATION: 1, HEAD: n}


def test_bulk_renders_what_the_single_service_form_renders(aws, proxy, playbook):
    """The same service in both forms: the same bytes, so switching forms re-uploads nothing."""
    _kms_bucket()
    single = playbook([{"name": "single", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "single", "monitoring.stack.otel_config": {
            "project": PROJECT, "service": "web-api", "app_port": 8080, "s3_bucket": BUCKET, "region": REGION,
            "custom_metric_prefixes": ["crawl_"]}}]}])
    assert single.rc == 0, single
    services = [{"service": "web-api", "app_port": 8080, "custom_metric_prefixes": ["crawl_"]}]
    result, res, calls = _run(playbook, proxy, _args(services))
    assert result.rc == 0, result
    assert res["changed"] is False
    assert res["services"][0]["sha256"] == single.result("single")["sha256"]
    assert res["services"][0]["content"] == single.result("single")["content"]
    assert calls == {LOCATION: 1, HEAD: 1}


def test_one_changed_service_out_of_n_uploads_only_it(aws, proxy, playbook):
    _kms_bucket()
    result, first, _calls = _run(playbook, proxy, _args(_services()))
    assert result.rc == 0, result
    versions = {name: _s3().head_object(Bucket=BUCKET, Key=_key(name))["Metadata"]["content-sha256"]
                for name in NAMES}

    result, res, calls = _run(playbook, proxy, _args(_services({"resizer": 9100})), diff=True)
    assert result.rc == 0, result
    assert res["changed"] is True
    assert [s["service"] for s in res["services"] if s["changed"]] == ["resizer"]
    assert res["totals"] == {"services": len(NAMES), "changed": 1, "unchanged": len(NAMES) - 1, "written": 1}
    # the before of the diff is read (one GetObject) for the changed service only
    assert calls == {LOCATION: 1, HEAD: len(NAMES), ENCRYPTION: 1, GET: 1, PUT: 1}
    [diff] = res["diff"]
    assert diff["after_header"] == "s3://%s/%s" % (BUCKET, _key("resizer"))
    assert "localhost:%d" % (8080 + NAMES.index("resizer")) in diff["before"]
    assert "localhost:9100" in diff["after"]
    for name in NAMES:
        stored = _s3().head_object(Bucket=BUCKET, Key=_key(name))["Metadata"]["content-sha256"]
        if name == "resizer":
            assert stored != versions[name]
            assert stored == res["services"][NAMES.index(name)]["sha256"]
        else:
            assert stored == versions[name] == first["services"][NAMES.index(name)]["sha256"]


def test_a_bad_service_refuses_the_whole_run_before_any_call(aws, proxy, playbook):
    _kms_bucket()
    services = _services()
    services[3]["scrape_interval"] = "30 seconds"
    result, res, calls = _run(playbook, proxy, _args(services))
    assert result.rc != 0
    assert res["failed"] is True
    assert "resizer" in res["msg"] and "scrape_interval" in res["msg"]
    assert "nothing was written" in res["msg"].lower()
    assert calls == {}, "an AWS call was made before the configs were validated"
    assert _objects() == []


def test_a_config_that_fails_validation_refuses_the_whole_run(aws, proxy, playbook):
    """A prefix list the keep regex cannot hold (validate_config, not spec_problems)."""
    _kms_bucket()
    services = _services()
    services[1]["keep_default_prefixes"] = False
    services[1]["required_metric_prefixes"] = ["http_"]
    result, res, calls = _run(playbook, proxy, _args(services))
    assert result.rc != 0
    assert "scheduler" in res["msg"]
    assert calls == {}
    assert _objects() == []


def test_duplicate_service_names_are_refused(aws, proxy, playbook):
    _kms_bucket()
    services = _services() + [{"service": "web-api", "app_port": 9999}]
    result, res, calls = _run(playbook, proxy, _args(services))
    assert result.rc != 0
    assert "web-api" in res["msg"] and "services" in res["msg"]
    assert calls == {} and _objects() == []


def test_secrets_never_in_results_or_diffs(aws, proxy, playbook):
    """A literal credential in a service's config (via a full config element) is masked everywhere."""
    _kms_bucket()
    result, res, _calls = _run(playbook, proxy, _args(_services()))
    assert result.rc == 0, result
    config = yaml.safe_load(res["services"][0]["content"])
    config["exporters"]["otlphttp/vendor"] = {"endpoint": "https://otlp.example.com",
                                              "headers": {"Authorization": "Bearer " + TOKEN}}
    config["service"]["pipelines"]["traces"]["exporters"].append("otlphttp/vendor")
    services = [{"service": "web-api", "config": config, "s3_key": _key("web-api")}] + _services()[1:]
    result, res, _calls = _run(playbook, proxy, _args(services), diff=True)
    assert result.rc == 0, result
    assert TOKEN not in result.stdout and TOKEN not in result.stderr
    assert [s["service"] for s in res["services"] if s["changed"]] == ["web-api"]
    assert len(res["diff"]) == 1
    # stored in clear (the warning says so), shown masked
    body = _s3().get_object(Bucket=BUCKET, Key=_key("web-api"))["Body"].read().decode()
    assert TOKEN in body
    assert any("web-api" in w and "literal credential" in w for w in res.get("warnings", []))
