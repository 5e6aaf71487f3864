"""The loki role's structural validator (pure functions)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.loki_config import (
    LokiConfigError,
    config_problems,
    duration_seconds,
)

GOOD = {
    "auth_enabled": False,
    "server": {"http_listen_address": "127.0.0.1", "http_listen_port": 3100,
               "grpc_listen_address": "127.0.0.1", "grpc_listen_port": 9095},
    "common": {"path_prefix": "/var/lib/loki", "replication_factor": 1, "ring": {"kvstore": {"store": "inmemory"}},
               "storage": {"filesystem": {"chunks_directory": "/var/lib/loki/chunks"}}},
    "schema_config": {"configs": [{"from": "2024-04-01", "store": "tsdb", "object_store": "filesystem", "schema": "v13",
                                   "index": {"prefix": "index_", "period": "24h"}}]},
    "compactor": {"working_directory": "/var/lib/loki/compactor", "retention_enabled": True,
                  "delete_request_store": "filesystem"},
    "limits_config": {"retention_period": "744h", "ingestion_rate_mb": 4, "ingestion_burst_size_mb": 6,
                      "max_query_length": "721h"},
}

S3 = {"s3": {"bucketnames": "logs", "region": "eu-west-1",
             "sse": {"type": "SSE-KMS", "kms_key_id": "arn:aws:kms:eu-west-1:111122223333:key/k"}}}


def _with(path, value):
    config = copy.deepcopy(GOOD)
    node = config
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[part] if not part.isdigit() else node[int(part)]
    if value is None:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return config


@pytest.mark.parametrize("text, seconds", [("24h", 86400), ("31d", 31 * 86400), ("1w2d", 9 * 86400),
                                           ("2h30m", 9000), ("0s", 0), ("0", 0), ("500ms", 0.5)])
def test_durations(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "1.5h", "24 h", "forever"])
def test_bad_durations(text):
    with pytest.raises(LokiConfigError):
        duration_seconds(text)


def test_good_config_filesystem_and_s3():
    assert config_problems(GOOD) == []
    s3 = _with("common.storage", S3)
    s3["schema_config"]["configs"][0]["object_store"] = "s3"
    s3["compactor"]["delete_request_store"] = "s3"
    assert config_problems(s3) == []


def test_retention_shorter_than_index_period_names_the_variable():
    problems = config_problems(_with("limits_config.retention_period", "12h"),
                               {"limits_config.retention_period": "loki_retention_period"})
    assert problems == ["loki_retention_period (limits_config.retention_period): 12h is shorter than the index "
                        "period (24h); Loki deletes whole index periods, so retention must be at least 24h "
                        "(or 0s to keep everything)"]
    assert config_problems(_with("limits_config.retention_period", "24h")) == []
    assert config_problems(_with("limits_config.retention_period", "0s")) == []


@pytest.mark.parametrize("path, value, fragment", [
    ("server", None, "server: required section is missing"),
    ("schema_config", None, "schema_config: required section is missing"),
    ("schema_config.configs", [], "schema_config.configs: must be a non-empty list"),
    ("schema_config.configs.0.from", "01/04/2024", "must be a date YYYY-MM-DD"),
    ("schema_config.configs.0.store", "cassandra", "schema_config.configs[0].store: must be one of"),
    ("schema_config.configs.0.schema", "v12", "the tsdb store needs schema v13"),
    ("schema_config.configs.0.index", {"prefix": "index_", "period": "168h"}, "needs a 24h index period"),
    ("schema_config.configs.0.index", {"period": "24h"}, "schema_config.configs[0].index.prefix: required"),
    ("schema_config.configs.0.object_store", "s3", "'s3' has no storage configured"),
    ("schema_config.configs.0.object_store", "tape", "unknown object store 'tape'"),
    ("compactor.delete_request_store", None, "compactor.delete_request_store: required when"),
    ("compactor.retention_enabled", False, "nothing would be deleted"),
    ("limits_config.retention_period", "a month", "is not a duration"),
    ("limits_config.ingestion_burst_size_mb", 2, "the burst (2) must be at least the rate (4)"),
    ("limits_config.ingestion_rate_mb", -1, "must be a positive number"),
    ("limits_config.max_query_length", "30 days", "limits_config.max_query_length: '30 days' is not a duration"),
    ("server.http_listen_port", 70000, "server.http_listen_port: must be a port number"),
    ("server.grpc_listen_port", 3100, "HTTP and gRPC cannot share"),
])
def test_bad_configs(path, value, fragment):
    problems = config_problems(_with(path, value))
    assert any(fragment in p for p in problems), problems


def test_periods_must_increase():
    config = copy.deepcopy(GOOD)
    config["schema_config"]["configs"].append(dict(config["schema_config"]["configs"][0], **{"from": "2023-01-01"}))
    assert any("increasing date order" in p for p in config_problems(config))


@pytest.mark.parametrize("s3, fragment", [
    ({"bucketnames": "logs", "region": "eu-west-1", "sse": {"type": "SSE-KMS"}}, "sse.kms_key_id): required with SSE-KMS"),
    ({"bucketnames": "logs", "region": "eu-west-1", "sse": {"type": "AES"}}, "sse.type: must be one of"),
    ({"region": "eu-west-1"}, "common.storage.s3.bucketnames: required"),
    ({"bucketnames": "logs"}, "common.storage.s3.region: required"),
    ({"bucketnames": "logs", "region": "r", "access_key_id": "AKIA"}, "go together"),
])
def test_bad_s3(s3, fragment):
    config = _with("common.storage", {"s3": s3})
    config["schema_config"]["configs"][0]["object_store"] = "s3"
    config["compactor"]["delete_request_store"] = "s3"
    problems = config_problems(config, {"common.storage.s3.sse.kms_key_id": "loki_s3_kms_key_id"})
    assert any(fragment in p for p in problems), problems
    if "kms_key_id" in fragment:
        assert any(p.startswith("loki_s3_kms_key_id (") for p in problems)


def test_not_a_mapping():
    assert config_problems(["x"]) == ["the Loki config must be a mapping, got list"]
