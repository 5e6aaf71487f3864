# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renderer and structural validator of the Tempo config (plugins/module_utils/tempo_config.py).

Oracles are Tempo's own files (tests/unit/fixtures/tempo/README.md): the v2.9.5 manifest (every
option with its default) and the docker-compose examples. No tempo binary is on this machine.
"""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils.tempo_config import (
    build_config,
    config_problems,
    render_config,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "tempo")


def _fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return yaml.safe_load(handle)


def _paths(value, prefix=""):
    """Every key path of a mapping, with the value at its leaf."""
    out = {}
    for key, item in value.items():
        path = prefix + str(key)
        if isinstance(item, dict) and item:
            out.update(_paths(item, path + "."))
        else:
            out[path] = item
    return out


LOCAL = {"data_dir": "/var/lib/tempo"}
S3 = {
    "data_dir": "/var/lib/tempo",
    "storage": "s3",
    "s3_bucket": "traces-prod",
    "s3_region": "ap-northeast-2",
    "s3_endpoint": "s3.ap-northeast-2.amazonaws.com",
    "s3_sse_type": "SSE-KMS",
    "s3_kms_key_id": "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "s3_access_key": "AKIAEXAMPLE",
    "s3_secret_key": "very-secret-value",
}


# --- the upstream examples are accepted -------------------------------------------------------


@pytest.mark.parametrize("name", ["docker-compose-shared-tempo-v2.9.5.yaml", "docker-compose-local-tempo-v2.9.5.yaml"])
def test_upstream_local_examples_have_no_problems(name):
    assert config_problems(_fixture(name)) == []


def test_upstream_s3_example_lacks_only_the_region_the_role_requires():
    assert config_problems(_fixture("migrate-to-3-tempo-v2.yaml")) == [
        "storage.trace.s3.region: required (monitoring.stack sets the S3 region explicitly; Tempo would infer it "
        "from the endpoint)"]


# --- the rendered config against the upstream structure ---------------------------------------


def _manifest_paths():
    return _paths(_fixture("manifest-v2.9.5.yaml"))


@pytest.mark.parametrize("settings", [LOCAL, S3], ids=["local", "s3"])
def test_every_rendered_option_exists_in_the_v2_9_5_manifest_with_its_type(settings):
    manifest = _manifest_paths()
    rendered = _paths(build_config(settings))
    receivers = {p: v for p, v in rendered.items() if p.startswith("distributor.receivers.")}
    assert receivers  # checked against the docker-compose example below (the manifest shows receivers: {})
    unknown = sorted(p for p in rendered if p not in manifest and p not in receivers)
    assert unknown == []
    for path, value in rendered.items():
        if path in receivers:
            continue
        assert type(value) is type(manifest[path]), path  # noqa: E721 (bool is not int here)


def test_rendered_receivers_have_the_shape_of_the_upstream_example():
    upstream = _fixture("docker-compose-local-tempo-v2.9.5.yaml")["distributor"]["receivers"]["otlp"]
    rendered = build_config(LOCAL)["distributor"]["receivers"]["otlp"]
    assert sorted(_paths(rendered)) == sorted(_paths(upstream)) == [
        "protocols.grpc.endpoint", "protocols.http.endpoint"]


def test_rendered_local_storage_has_the_shape_of_the_upstream_example():
    upstream = _fixture("docker-compose-shared-tempo-v2.9.5.yaml")
    rendered = build_config(LOCAL)
    assert sorted(_paths(rendered["storage"])) == sorted(_paths(upstream["storage"]))
    assert sorted(_paths(rendered["compactor"])) == sorted(_paths(upstream["compactor"]))


def test_rendered_s3_storage_keys_are_those_of_the_upstream_example_plus_region_and_sse():
    upstream = _paths(_fixture("migrate-to-3-tempo-v2.yaml")["storage"]["trace"]["s3"])
    rendered = _paths(build_config(S3)["storage"]["trace"]["s3"])
    assert sorted(set(rendered) - set(upstream)) == ["region", "sse.kms_key_id", "sse.type"]
    assert sorted(set(upstream) - set(rendered)) == ["insecure"]


# --- what the renderer writes -------------------------------------------------------------------


def test_render_local_literal():
    text = render_config(build_config(dict(LOCAL, http_listen_address="127.0.0.231:3200",
                                           otlp_grpc_listen_address="127.0.0.232:4317",
                                           otlp_http_listen_address="127.0.0.232:4318", retention="720h")))
    assert text == """\
# Managed by monitoring.stack (Ansible): local changes are overwritten.
server:
  http_listen_address: 127.0.0.231
  http_listen_port: 3200
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: 9096
  log_level: info
distributor:
  receivers:
    otlp:
      protocols:
        grpc:
          endpoint: 127.0.0.232:4317
        http:
          endpoint: 127.0.0.232:4318
compactor:
  compaction:
    block_retention: 720h
storage:
  trace:
    backend: local
    wal:
      path: /var/lib/tempo/wal
    local:
      path: /var/lib/tempo/blocks
usage_report:
  reporting_enabled: false
"""


def test_render_s3_with_sse_kms():
    config = build_config(S3)
    assert config["storage"]["trace"] == {
        "backend": "s3",
        "wal": {"path": "/var/lib/tempo/wal"},
        "s3": {
            "bucket": "traces-prod",
            "region": "ap-northeast-2",
            "endpoint": "s3.ap-northeast-2.amazonaws.com",
            "access_key": "AKIAEXAMPLE",
            "secret_key": "very-secret-value",
            "sse": {"type": "SSE-KMS",
                    "kms_key_id": "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
        },
    }
    assert config_problems(config) == []


def test_only_one_otlp_protocol_when_the_other_address_is_empty():
    config = build_config(dict(LOCAL, otlp_http_listen_address=""))
    assert config["distributor"]["receivers"]["otlp"]["protocols"] == {"grpc": {"endpoint": "0.0.0.0:4317"}}


def test_extra_is_merged_over_the_rendered_config():
    config = build_config(dict(LOCAL, extra={"ingester": {"max_block_duration": "5m"}, "server": {"log_level": "warn"}}))
    assert config["ingester"] == {"max_block_duration": "5m"}
    assert config["server"]["log_level"] == "warn"
    assert config["server"]["http_listen_port"] == 3200


# --- bad input: each a clear message, naming the user's variable ------------------------------

NAMES = {"storage.trace.s3.region": "tempo_s3_region", "storage.trace.s3.bucket": "tempo_s3_bucket",
         "storage.trace.backend": "tempo_storage", "compactor.compaction.block_retention": "tempo_retention"}


def test_s3_without_region_is_refused_naming_the_variable():
    problems = config_problems(build_config(dict(S3, s3_region="")), NAMES)
    assert problems == ["tempo_s3_region (storage.trace.s3.region): required (monitoring.stack sets the S3 region "
                        "explicitly; Tempo would infer it from the endpoint)"]


def test_s3_without_bucket_is_refused():
    problems = config_problems(build_config(dict(S3, s3_bucket="")), NAMES)
    assert problems == ["tempo_s3_bucket (storage.trace.s3.bucket): required with backend s3"]


def test_sse_kms_without_a_key_and_an_unknown_sse_type():
    assert config_problems(build_config(dict(S3, s3_kms_key_id=""))) == [
        "storage.trace.s3.sse.kms_key_id: required with SSE-KMS"]
    assert config_problems(build_config(dict(S3, s3_sse_type="AES256"))) == [
        "storage.trace.s3.sse.type: must be SSE-KMS or SSE-S3, got 'AES256'"]


def test_problems_never_print_the_secret_key():
    config = build_config(dict(S3, s3_region="", s3_bucket=""))
    config["storage"]["trace"]["s3"]["secret_key"] = ["very-secret-value"]
    problems = config_problems(config)
    assert problems and not any("very-secret-value" in p for p in problems)
    assert "storage.trace.s3.secret_key: must be a string" in problems


def test_unknown_backend_and_missing_sub_keys():
    config = build_config(LOCAL)
    config["storage"]["trace"]["backend"] = "gcs"
    assert config_problems(config, NAMES) == [
        "tempo_storage (storage.trace.backend): must be local or s3 (the backends monitoring.stack renders), got 'gcs'"]
    config = build_config(LOCAL)
    del config["storage"]["trace"]["local"]
    del config["storage"]["trace"]["wal"]
    assert config_problems(config) == ["storage.trace.wal.path: required (an absolute path)",
                                       "storage.trace.local.path: required with backend local (an absolute path)"]


def test_unknown_top_level_key_and_missing_sections():
    assert config_problems({"storage_config": {}}) == [
        "storage_config: not a Tempo 2.9 configuration key (known: auth_enabled, backend_scheduler, "
        "backend_scheduler_client, backend_worker, block_builder, cache, compactor, distributor, "
        "enable_go_runtime_metrics, http_api_prefix, ingest, ingester, ingester_client, internal_server, "
        "live_store, live_store_client, memberlist, metrics_generator, metrics_generator_client, "
        "multitenancy_enabled, overrides, partition_ring_live_store, querier, query_frontend, server, "
        "shutdown_delay, storage, stream_over_http_enabled, target, usage_report)",
        "storage.trace: required section is missing",
        "distributor.receivers: at least one receiver is required (e.g. otlp)"]
    assert config_problems(["server"]) == ["the Tempo config must be a mapping, got list"]


@pytest.mark.parametrize("value", ["7d", "two weeks", "", 336, "1.5"])
def test_retention_must_be_a_go_duration(value):
    config = build_config(LOCAL)
    config["compactor"]["compaction"]["block_retention"] = value
    assert config_problems(config, NAMES) == [
        "tempo_retention (compactor.compaction.block_retention): %r is not a duration Tempo parses (Go syntax: "
        "336h, 90m, 1h30m; no days)" % (value,)]


def test_retention_zero_keeps_nothing():
    config = build_config(dict(LOCAL, retention="0s"))
    assert config_problems(config) == ["compactor.compaction.block_retention: must be longer than 0s"]


def test_other_durations_are_parsed_too():
    config = build_config(dict(LOCAL, extra={"ingester": {"max_block_duration": "5 minutes"}}))
    assert config_problems(config) == [
        "ingester.max_block_duration: '5 minutes' is not a duration Tempo parses (Go syntax: 336h, 90m, 1h30m; "
        "no days)"]


def test_receivers_shape():
    config = _fixture("docker-compose-shared-tempo-v2.9.5.yaml")
    bad = copy.deepcopy(config)
    bad["distributor"]["receivers"]["otlp"]["protocols"]["thrift"] = None
    bad["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = "4317"
    bad["distributor"]["receivers"]["otel"] = {}
    assert config_problems(bad) == [
        "distributor.receivers.otlp.protocols.grpc.endpoint: must be host:port, got '4317'",
        "distributor.receivers.otlp.protocols.thrift: unknown protocol (otlp has grpc, http)",
        "distributor.receivers.otel: unknown receiver (Tempo 2.9 has jaeger, kafka, opencensus, otlp, zipkin)"]
    none = copy.deepcopy(config)
    none["distributor"]["receivers"]["otlp"] = {"protocols": {}}
    assert config_problems(none) == ["distributor.receivers.otlp.protocols: at least one of grpc, http is required"]


def test_otlp_grpc_and_http_cannot_share_an_endpoint():
    config = build_config(dict(LOCAL, otlp_http_listen_address="0.0.0.0:4317"))
    assert config_problems(config) == [
        "distributor.receivers.otlp.protocols.http.endpoint: 0.0.0.0:4317 is also the grpc endpoint"]


def test_server_ports_and_the_single_binary_frontend_address():
    config = build_config(dict(LOCAL, http_listen_address="0.0.0.0:99999"))
    assert config_problems(config) == ["server.http_listen_port: must be a port number, got 99999"]
    config = build_config(dict(LOCAL, grpc_listen_address="10.0.0.5:9096"))
    assert config_problems(config) == [
        "server.grpc_listen_address: the single binary's querier reaches its query frontend at 127.0.0.1:9096; "
        "listen on 127.0.0.1 or 0.0.0.0 (or set querier.frontend_worker.frontend_address)"]
    config = build_config(dict(LOCAL, http_listen_address="0.0.0.0:9096"))
    assert config_problems(config) == ["server.grpc_listen_port: HTTP and gRPC cannot share port 9096"]
