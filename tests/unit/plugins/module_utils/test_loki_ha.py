"""Loki HA monolithic (plugins/module_utils/loki_config.py): the ring derived from an inventory
group, and the validator's HA checks.

No Loki binary exists here (shared notes, components.md), so the oracle is the Loki
documentation and source, written out by hand below (grafana/loki at 65e30f8, 2026-08-22):
- docs/sources/get-started/deployment-modes.md, "HA Monolithic mode": every instance
  ``-target=all``, shared object storage, ``common.ring.kvstore.store: memberlist``,
  ``common.replication_factor: 3`` with at least three instances;
- docs/sources/shared/configuration.md, ``memberlist`` block: ``join_members`` (list of
  ``host:port``), ``bind_addr`` (list of IPs), ``bind_port`` (default 7946), ``advertise_addr``;
- examples/ha-monolithic/config/loki.yaml: ``join_members: ["loki-1:7946", "loki-2:7946",
  "loki-3:7946"]``, ``bind_port: 7946``, ``replication_factor: 3``, ``delete_request_store: s3``;
- docs/sources/release-notes/v3-6.md: Simple Scalable Deployment (targets read/write/backend)
  is deprecated.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.monitoring.stack.plugins.filter.loki_config import loki_ring
from ansible_collections.monitoring.stack.plugins.module_utils import loki_config as lc

# The three-host inventory of the tests: groups and hostvars as Ansible passes them.
GROUPS = {"all": ["loki-1", "loki-2", "loki-3", "app1"], "loki_ring": ["loki-1", "loki-2", "loki-3"],
          "pair": ["loki-1", "loki-2"], "alone": ["loki-1"], "empty": []}
HOSTVARS = {
    "loki-1": {"ansible_host": "10.0.1.11"},
    "loki-2": {"ansible_host": "10.0.1.12"},
    "loki-3": {"ansible_host": "10.0.1.13", "loki_grpc_listen_address": "10.0.2.13:9095"},
    "app1": {"ansible_host": "10.0.9.1"},
}


def _settings(**kwargs):
    return dict({"group": "loki_ring", "port": 7946, "replication_factor": 3,
                 "grpc_listen_address": "0.0.0.0:9095"}, **kwargs)


def test_three_hosts_join_the_other_two_on_7946_and_advertise_their_inventory_address():
    ring = loki_ring(GROUPS, HOSTVARS, "loki-1", _settings())
    assert ring["problems"] == []
    assert ring["enabled"] is True
    assert ring["instance_addr"] == "10.0.1.11"
    # the shape of examples/ha-monolithic/config/loki.yaml's memberlist block, with this inventory's hosts
    assert ring["memberlist"] == {"bind_port": 7946, "advertise_addr": "10.0.1.11",
                                  "join_members": ["10.0.1.12:7946", "10.0.2.13:7946"]}


def test_a_host_listening_on_its_own_address_binds_memberlist_there():
    ring = loki_ring(GROUPS, HOSTVARS, "loki-3", _settings(grpc_listen_address="10.0.2.13:9095"))
    assert ring["problems"] == []
    assert ring["instance_addr"] == "10.0.2.13"
    assert ring["memberlist"] == {"bind_port": 7946, "bind_addr": ["10.0.2.13"],
                                  "join_members": ["10.0.1.11:7946", "10.0.1.12:7946"]}


def test_the_memberlist_port_is_every_members_port():
    ring = loki_ring(GROUPS, HOSTVARS, "loki-2", _settings(port=7947))
    assert ring["memberlist"]["join_members"] == ["10.0.1.11:7947", "10.0.2.13:7947"]
    assert ring["memberlist"]["bind_port"] == 7947


def test_a_hostname_inventory_address_is_joined_by_name_and_not_advertised():
    hostvars = {"a": {}, "b": {"ansible_host": "b.example.internal"}, "c": {}}
    ring = loki_ring({"g": ["a", "b", "c"]}, hostvars, "a", _settings(group="g"))
    assert ring["memberlist"] == {"bind_port": 7946, "join_members": ["b.example.internal:7946", "c:7946"]}
    assert ring["instance_addr"] == "a"


def test_no_group_is_the_single_host_setup():
    ring = loki_ring(GROUPS, HOSTVARS, "loki-1", _settings(group=""))
    assert ring == {"enabled": False, "instance_addr": "", "memberlist": {}, "problems": []}


@pytest.mark.parametrize("me, settings, expected", [
    ("loki-1", _settings(group="pair"),
     "loki_replication_factor: 3 is more than the 2 hosts of loki_ha_group 'pair'"),
    ("loki-1", _settings(group="alone", replication_factor=1),
     "loki_ha_group: 'alone' has 1 host; an HA ring needs at least 2 (3 for loki_replication_factor 3)"),
    ("loki-1", _settings(group="empty"), "loki_ha_group: 'empty' has no hosts in the inventory"),
    ("loki-1", _settings(group="nosuchgroup"), "loki_ha_group: 'nosuchgroup' has no hosts in the inventory"),
    ("app1", _settings(), "loki_ha_group: this host (app1) is not a member of 'loki_ring'"),
    ("loki-1", _settings(replication_factor=0), "loki_replication_factor: must be a whole number of at least 1, got 0"),
    ("loki-1", _settings(replication_factor="three"),
     "loki_replication_factor: must be a whole number of at least 1, got 'three'"),
    ("loki-1", _settings(port=70000), "loki_memberlist_port: must be a port number, got 70000"),
], ids=["rf-more-than-members", "one-member", "empty-group", "unknown-group", "not-a-member", "rf-zero",
        "rf-not-a-number", "bad-port"])
def test_bad_rings_are_refused_naming_the_variable(me, settings, expected):
    problems = loki_ring(GROUPS, HOSTVARS, me, settings)["problems"]
    assert any(expected in p for p in problems), problems


def test_members_that_disagree_on_a_shared_setting_are_refused_without_printing_it():
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars["loki-2"]["loki_s3_bucket"] = "bucket-of-loki-2-only"
    problems = loki_ring(GROUPS, hostvars, "loki-1", _settings())["problems"]
    assert problems == ["loki_s3_bucket: the members of loki_ha_group 'loki_ring' must agree, and it differs between "
                        "loki-1 and loki-2 (set it for the group, not per host)"]
    assert "bucket-of-loki-2-only" not in problems[0]
    hostvars["loki-2"]["loki_s3_bucket"] = None
    hostvars["loki-3"]["loki_memberlist_port"] = 7950
    problems = loki_ring(GROUPS, hostvars, "loki-1", _settings())["problems"]
    assert problems and problems[0].startswith("loki_memberlist_port: the members of loki_ha_group 'loki_ring' must agree")


# --------------------------------------------------------------------------------------------
# The validator's HA checks on a whole config

# The relevant sections of an HA monolithic config, literally as in the Loki docs, with this
# collection's values: common/memberlist from examples/ha-monolithic/config/loki.yaml and
# docs/sources/configure/examples/yaml/15-Memberlist-Ring-Snippet.yaml; storage from
# 9-S3-With-SSE-KMS-Snippet.yaml (sse keys: pkg/storage/bucket/s3/config.go SSEConfig yaml tags
# type, kms_key_id, kms_encryption_context); schema from 2-S3-Cluster-Example.yaml; compactor
# from the ha-monolithic example (delete_request_store: s3).
HA_DOC = {
    "server": {"http_listen_port": 3100, "grpc_listen_port": 9095},
    "common": {"path_prefix": "/loki", "replication_factor": 3, "ring": {"kvstore": {"store": "memberlist"}},
               "storage": {"s3": {"bucketnames": "loki-chunks", "region": "eu-west-1",
                                  "sse": {"type": "SSE-KMS", "kms_key_id": "1234abcd-12ab-34cd-56ef-1234567890ab",
                                          "kms_encryption_context": '{"team": "logs"}'}}}},
    "memberlist": {"bind_addr": ["0.0.0.0"], "bind_port": 7946,
                   "join_members": ["loki-1:7946", "loki-2:7946", "loki-3:7946"]},
    "schema_config": {"configs": [{"from": "2020-05-15", "store": "tsdb", "object_store": "s3", "schema": "v13",
                                   "index": {"prefix": "index_", "period": "24h"}}]},
    "compactor": {"working_directory": "/loki/compactor", "retention_enabled": True, "delete_request_store": "s3"},
    "limits_config": {"retention_period": "7d"},
}
NAMES = {"common.storage": "loki_storage", "common.replication_factor": "loki_replication_factor",
         "memberlist.join_members": "loki_ha_group", "memberlist.bind_port": "loki_memberlist_port",
         "target": "loki_config_extra"}


def _ha(**changes):
    config = copy.deepcopy(HA_DOC)
    for path, value in changes.items():
        node = config
        parts = path.split("__")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return config


def test_the_documented_ha_config_has_no_problems():
    assert lc.config_problems(HA_DOC, NAMES) == []


@pytest.mark.parametrize("changes, expected", [
    ({"common__storage": {"filesystem": {"chunks_directory": "/loki/chunks"}},
      "schema_config": {"configs": [dict(HA_DOC["schema_config"]["configs"][0], object_store="filesystem")]},
      "compactor__delete_request_store": "filesystem"},
     "loki_storage (common.storage): filesystem storage cannot be shared by an HA ring"),
    ({"memberlist__join_members": []},
     "loki_ha_group (memberlist.join_members): required for a memberlist ring"),
    ({"common__replication_factor": 0},
     "loki_replication_factor (common.replication_factor): must be a whole number of at least 1, got 0"),
    ({"common__ring__kvstore__store": "inmemory", "memberlist": None},
     "loki_replication_factor (common.replication_factor): 3 replicas need a shared ring"),
    ({"common__ring__kvstore__store": "inmemory"},
     "memberlist.join_members is set but the ring is not shared"),
    ({"memberlist__bind_port": 9095},
     "loki_memberlist_port (memberlist.bind_port): 9095 is also the gRPC port"),
    ({"target": "write"},
     "loki_config_extra (target): 'write' is the simple-scalable mode, deprecated since Loki 3.6"),
    ({"target": "ingester"},
     "loki_config_extra (target): this role runs Loki as one process (target all), got 'ingester'"),
], ids=["filesystem", "no-join-members", "rf-zero", "rf3-inmemory", "join-without-memberlist", "port-collides",
        "simple-scalable", "microservice"])
def test_ha_config_problems_name_the_variable(changes, expected):
    problems = lc.config_problems(_ha(**changes), NAMES)
    assert any(expected in p for p in problems), problems


def test_filesystem_in_an_ha_ring_is_one_message_not_three():
    config = _ha(common__storage={"filesystem": {"chunks_directory": "/loki/chunks"}},
                 schema_config={"configs": [dict(HA_DOC["schema_config"]["configs"][0], object_store="filesystem")]},
                 compactor__delete_request_store="filesystem")
    assert [p for p in lc.config_problems(config, NAMES) if "HA ring" in p] == [
        "loki_storage (common.storage): filesystem storage cannot be shared by an HA ring (each instance would keep "
        "its own chunks and index, and a query would see only one instance's logs): use s3, an object store "
        "every member reaches"]


def test_single_host_target_all_is_fine():
    assert lc.config_problems(_ha(target="all"), NAMES) == []
