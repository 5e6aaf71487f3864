"""The loki role in HA monolithic mode, from a three-host inventory: the config each member
renders (its relevant sections compared with literal fixtures from the Loki docs), and the bad
rings the role refuses in preflight, naming the variable, before anything changes.

Every inventory host is this machine (local connection, check mode unless said otherwise); no
Loki binary exists here (shared notes, components.md), so no Loki process checks or runs these
configs: the oracle is the documentation of grafana/loki (at 65e30f8), cited at each fixture.
"""

from __future__ import annotations

import copy
import sys

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils.loki_config import config_problems
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.slow

SECRET = "SENTINEL-loki-ha-s3-9d41"
KMS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
RING_VARS = {
    "loki_ha_group": "loki_ring",
    "loki_storage": "s3",
    "loki_s3_bucket": "company-loki-chunks",
    "loki_s3_region": "eu-west-1",
    "loki_s3_access_key_id": "AKIALOKIHA0000000001",
    "loki_s3_secret_access_key": SECRET,
    "loki_s3_kms_key_id": KMS_KEY,
    "loki_s3_kms_encryption_context": '{"team": "logs"}',
}
HOSTS = {"loki-1": "127.0.0.71", "loki-2": "127.0.0.72", "loki-3": "127.0.0.73"}


def _inventory(tmp_path, group_vars=None, host_vars=None, groups=None):
    # A key on this machine's filesystem: should preflight ever let a case through, the run stays off the network.
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
             "loki_repository_key_url": "file:///nonexistent/monitoring-stack-test-key.gpg"}
    hosts = {name: {"ansible_host": address} for name, address in HOSTS.items()}
    for name, values in (host_vars or {}).items():
        hosts.setdefault(name, {}).update(values)
    children = {"loki_ring": {"hosts": {h: hosts[h] for h in HOSTS}, "vars": dict(RING_VARS, **(group_vars or {}))}}
    for name, members in (groups or {}).items():
        children[name] = {"hosts": {h: hosts.get(h, {}) for h in members}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"vars": local, "children": children}}))
    return path


def _show_play(hosts):
    return [{"name": "loki ha", "hosts": hosts, "gather_facts": False, "tasks": [
        {"name": "Preflight", "ansible.builtin.include_role": {
            "name": "monitoring.stack.loki", "tasks_from": "preflight", "public": True}},
        {"name": "Show", "ansible.builtin.debug": {"msg": "{{ _loki_config }}"}}]}]


# --- fixtures, literally from the Loki docs (values adapted to this inventory) ----------------
# docs/sources/configure/examples/yaml/15-Memberlist-Ring-Snippet.yaml and
# examples/ha-monolithic/config/loki.yaml ("replication_factor: 3", "kvstore: store: memberlist").
DOC_COMMON_RING = yaml.safe_load("""
replication_factor: 3
ring:
  kvstore:
    store: memberlist
""")
# examples/ha-monolithic/config/loki.yaml: memberlist.bind_port 7946, join_members host:7946;
# docs/sources/shared/configuration.md (memberlist block): advertise_addr is the gossip address
# the others use. Here each member lists the other two (as ha.py does for the Alertmanager mesh).
DOC_MEMBERLIST = {
    "loki-1": yaml.safe_load("""
bind_port: 7946
advertise_addr: 127.0.0.71
join_members:
  - 127.0.0.72:7946
  - 127.0.0.73:7946
"""),
    "loki-2": yaml.safe_load("""
bind_port: 7946
advertise_addr: 127.0.0.72
join_members:
  - 127.0.0.71:7946
  - 127.0.0.73:7946
"""),
    "loki-3": yaml.safe_load("""
bind_port: 7946
advertise_addr: 127.0.0.73
join_members:
  - 127.0.0.71:7946
  - 127.0.0.72:7946
"""),
}
# docs/sources/configure/examples/yaml/9-S3-With-SSE-KMS-Snippet.yaml (sse: type SSE-KMS,
# kms_key_id); kms_encryption_context is the third yaml tag of SSEConfig in
# pkg/storage/bucket/s3/config.go (a JSON object, pkg/storage/chunk/client/aws/sse_config.go).
DOC_S3 = yaml.safe_load("""
bucketnames: company-loki-chunks
region: eu-west-1
s3forcepathstyle: false
access_key_id: AKIALOKIHA0000000001
secret_access_key: %s
sse:
  type: SSE-KMS
  kms_key_id: %s
  kms_encryption_context: '{"team": "logs"}'
""" % (SECRET, KMS_KEY))
# docs/sources/configure/examples/yaml/2-S3-Cluster-Example.yaml (tsdb, object_store s3, v13, 24h);
# the from date is the role's default period.
DOC_SCHEMA = yaml.safe_load("""
- from: "2024-04-01"
  store: tsdb
  object_store: s3
  schema: v13
  index:
    prefix: index_
    period: 24h
""")


@pytest.fixture(scope="module")
def ring_configs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("loki-ring")
    result = run_playbook(_show_play("loki_ring"), inventory=_inventory(tmp_path), check=True)
    assert result.rc == 0, result
    return {host: result.result("Show", host)["msg"] for host in HOSTS}


def test_each_member_joins_the_other_two_over_memberlist(ring_configs):
    for host, config in ring_configs.items():
        assert {k: config["common"][k] for k in ("replication_factor", "ring")} == DOC_COMMON_RING, host
        assert config["memberlist"] == DOC_MEMBERLIST[host], host
        # the address the others reach its gRPC server (ingester ring) on
        assert config["common"]["instance_addr"] == HOSTS[host], host


def test_each_member_uses_the_shared_s3_store_with_sse_kms(ring_configs):
    for host, config in ring_configs.items():
        assert config["common"]["storage"] == {"s3": DOC_S3}, host
        assert config["schema_config"]["configs"] == DOC_SCHEMA, host
        # examples/ha-monolithic/config/loki.yaml: compactor deletes on the object store
        assert config["compactor"]["delete_request_store"] == "s3", host
        assert config["compactor"]["retention_enabled"] is True, host
        assert "target" not in config, host  # the binary's default: all
        assert config_problems(config) == [], host


def test_members_differ_only_in_their_own_addresses(ring_configs):
    def without_addresses(config):
        config = copy.deepcopy(config)
        del config["common"]["instance_addr"], config["memberlist"]
        return config

    first, *others = [without_addresses(c) for c in ring_configs.values()]
    assert all(other == first for other in others)


def test_no_group_keeps_the_single_host_config(tmp_path):
    result = run_playbook(_show_play("loki-1"), inventory=_inventory(tmp_path, group_vars={"loki_ha_group": ""}),
                          check=True)
    assert result.rc == 0, result
    config = result.result("Show", "loki-1")["msg"]
    assert config["common"]["replication_factor"] == 1
    assert config["common"]["ring"] == {"kvstore": {"store": "inmemory"}}
    assert config["common"]["instance_addr"] == "127.0.0.1"
    assert "memberlist" not in config


# --- refusals, through the whole role -------------------------------------------------------
REFUSALS = [
    ({"loki_storage": "filesystem"}, {}, {},
     "loki_storage (common.storage): filesystem storage cannot be shared by an HA ring"),
    ({"loki_replication_factor": 4}, {}, {},
     "loki_replication_factor: 4 is more than the 3 hosts of loki_ha_group 'loki_ring'"),
    ({"loki_ha_group": "lonely"}, {}, {"lonely": ["loki-1"]},
     "loki_replication_factor: 3 is more than the 1 hosts of loki_ha_group 'lonely'"),
    ({"loki_ha_group": "lonely", "loki_replication_factor": 1}, {}, {"lonely": ["loki-1"]},
     "loki_ha_group: 'lonely' has 1 host; an HA ring needs at least 2"),
    ({"loki_ha_group": "typo"}, {}, {}, "loki_ha_group: 'typo' has no hosts in the inventory"),
    ({}, {"loki-2": {"loki_s3_bucket": "another-bucket"}}, {},
     "loki_s3_bucket: the members of loki_ha_group 'loki_ring' must agree, and it differs between loki-1 and loki-2"),
    ({"loki_config_extra": {"target": "write"}}, {}, {},
     "loki_config_extra (target): 'write' is the simple-scalable mode, deprecated since Loki 3.6"),
    ({"loki_memberlist_port": 9095}, {}, {}, "loki_memberlist_port (memberlist.bind_port): 9095 is also the gRPC port"),
]


@pytest.mark.parametrize("group_vars, host_vars, groups, expected", REFUSALS,
                         ids=["filesystem", "rf-more-than-hosts", "rf3-one-host", "one-host", "unknown-group",
                              "members-differ", "simple-scalable", "port-collides"])
def test_bad_ring_fails_in_preflight_naming_the_variable(tmp_path, group_vars, host_vars, groups, expected):
    play = [{"name": "loki ha", "hosts": "loki-1", "gather_facts": False, "roles": [{"role": "monitoring.stack.loki"}]}]
    result = run_playbook(play, inventory=_inventory(tmp_path, group_vars, host_vars, groups), check=True)
    assert result.rc != 0, result
    messages = " | ".join(msg for _name, msg in result.failures("loki-1"))
    assert expected in messages, result
    assert result.changed("loki-1") == 0, result
    assert SECRET not in result.stdout + result.stderr, "the S3 secret key is in the output"
    assert "another-bucket" not in messages


def test_a_refused_ring_leaves_the_existing_config_untouched(tmp_path):
    """Not check mode: preflight, then the role's configure step, against a config directory that
    already holds a config; the refusal stops the run before the write."""
    config_dir = tmp_path / "etc-loki"
    config_dir.mkdir()
    existing = "# the config Loki runs with today\nauth_enabled: false\n"
    (config_dir / "config.yml").write_text(existing)
    play = [{"name": "loki ha", "hosts": "loki-1", "gather_facts": False, "tasks": [
        {"name": "Preflight", "ansible.builtin.include_role": {
            "name": "monitoring.stack.loki", "tasks_from": "preflight", "public": True}},
        {"name": "Configure", "ansible.builtin.include_role": {
            "name": "monitoring.stack.loki", "tasks_from": "configure", "public": True}}]}]
    inventory = _inventory(tmp_path, {"loki_storage": "filesystem", "loki_config_dir": str(config_dir),
                                      "loki_system_group": "root"})
    result = run_playbook(play, inventory=inventory, check=False)
    assert result.rc != 0, result
    assert any("filesystem storage cannot be shared by an HA ring" in m for _n, m in result.failures("loki-1")), result
    assert "Write the Loki configuration" not in [name for name, _res in result.results("loki-1")]
    assert (config_dir / "config.yml").read_text() == existing
    assert result.changed("loki-1") == 0, result
