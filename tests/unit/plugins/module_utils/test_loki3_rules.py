"""Loki 3's start-up rules in our validator, from the Loki 3 upgrade guide and Loki's own checks.

Fixtures: the "new Loki installs" schema of Loki's storage-schema docs (tsdb, v13, 24h), and
the typical 2.x config that Loki 3 refuses to start with ("CONFIG ERROR: schema v13 is required
to store Structured Metadata ... Set `allow_structured_metadata: false`", and the `tsdb` index
type error), plus the shared_store keys the 3.0 upgrade guide removes.
"""

import copy

from ansible_collections.monitoring.stack.plugins.module_utils.loki_config import config_problems

DOCS_SCHEMA = {"configs": [{"from": "2024-04-01", "object_store": "s3", "store": "tsdb", "schema": "v13",
                            "index": {"prefix": "index_", "period": "24h"}}]}
BASE = {
    "server": {"http_listen_port": 3100},
    "common": {"path_prefix": "/var/lib/loki", "storage": {"s3": {"bucketnames": "logs", "region": "eu-west-1"}}},
}
LOKI2_SCHEMA = {"configs": [{"from": "2020-10-24", "store": "boltdb-shipper", "object_store": "filesystem",
                             "schema": "v11", "index": {"prefix": "index_", "period": "24h"}}]}


def _config(schema, **extra):
    config = copy.deepcopy(BASE)
    config["schema_config"] = copy.deepcopy(schema)
    config.update(extra)
    return config


def _loki3(problems):
    return [p for p in problems if "Loki 3" in p]


def test_the_docs_recommended_schema_passes():
    assert _loki3(config_problems(_config(DOCS_SCHEMA))) == []


def test_a_loki_2_schema_is_refused_as_loki_3_refuses_it():
    config = _config(LOKI2_SCHEMA)
    config["common"]["storage"] = {"filesystem": {"chunks_directory": "/var/lib/loki/chunks"}}
    problems = _loki3(config_problems(config))
    assert len(problems) == 2, problems
    assert problems[0].startswith("schema_config.configs[0].schema: Loki 3 stores structured metadata")
    assert "v11" in problems[0] and "allow_structured_metadata: false" in problems[0]
    assert problems[1].startswith("schema_config.configs[0].store:") and "boltdb-shipper" in problems[1]


def test_allow_structured_metadata_false_lets_the_old_schema_run():
    config = _config(LOKI2_SCHEMA, limits_config={"allow_structured_metadata": False})
    config["common"]["storage"] = {"filesystem": {"chunks_directory": "/var/lib/loki/chunks"}}
    assert _loki3(config_problems(config)) == []


def test_the_active_period_decides_not_the_first():
    schema = copy.deepcopy(LOKI2_SCHEMA)
    schema["configs"][0]["object_store"] = "s3"
    schema["configs"].append(dict(DOCS_SCHEMA["configs"][0], **{"from": "2024-05-01"}))
    assert _loki3(config_problems(_config(schema))) == []
    future = copy.deepcopy(schema)
    future["configs"][1]["from"] = "2999-01-01"   # not active yet: the v11 period still is
    assert len(_loki3(config_problems(_config(future)))) == 2


def test_removed_shared_store_keys_are_named():
    config = _config(DOCS_SCHEMA, storage_config={"tsdb_shipper": {"shared_store": "s3"}},
                     compactor={"shared_store": "s3", "working_directory": "/var/lib/loki/compactor"})
    problems = _loki3(config_problems(config))
    assert [p.split(":")[0] for p in problems] == ["storage_config.tsdb_shipper.shared_store", "compactor.shared_store"]
