"""plugins/module_utils/ha.py: the Alertmanager mesh and the Prometheus HA pair from the inventory.

Expected values are written out by hand from Alertmanager's flag reference (one
``--cluster.peer`` per other member, ``--cluster.advertise-address`` an IP:port) and AMP's
de-duplication guide (external labels ``cluster`` and ``__replica__``); the rendered prometheus.yml
of a replica is checked by the real promtool (tests/support/real_tools.py).
"""

from __future__ import annotations

import pytest

from ansible_collections.monitoring.stack.plugins.filter.alertmanager import alertmanager_mesh
from ansible_collections.monitoring.stack.plugins.filter.prometheus import prometheus_replica
from ansible_collections.monitoring.stack.plugins.module_utils import ha
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from tests.support import real_tools


def _am(name, web, **kwargs):
    return dict({"name": name, "address": name, "listen_address": web}, **kwargs)


THREE = [_am("am1", "127.0.0.61:9093"), _am("am2", "127.0.0.62:9093"), _am("am3", "127.0.0.63:9093")]


def test_three_members_gossip_on_their_own_addresses_and_peer_with_the_other_two():
    assert ha.mesh_settings("am2", THREE) == {
        "enabled": True, "listen_address": "127.0.0.62:9094", "advertise_address": "",
        "peers": ["127.0.0.61:9094", "127.0.0.63:9094"]}


def test_one_host_has_no_mesh_unless_asked():
    alone = [_am("am1", "127.0.0.61:9093")]
    assert ha.mesh_settings("am1", alone)["enabled"] is False
    assert ha.mesh_settings("am1", alone)["listen_address"] == ""
    assert ha.mesh_settings("am1", alone, mode="mesh") == {
        "enabled": True, "listen_address": "127.0.0.61:9094", "advertise_address": "", "peers": []}
    assert ha.mesh_settings("am1", THREE, mode="off")["enabled"] is False
    # an explicit gossip address on one host still turns it on, as before this setting existed
    assert ha.mesh_settings("am1", [_am("am1", "", cluster_listen_address="127.0.0.61:9300")])["listen_address"] == \
        "127.0.0.61:9300"


def test_wildcard_listen_advertises_the_inventory_ip_and_peers_use_it():
    members = [_am("am1", "0.0.0.0:9093", address="10.0.0.1"), _am("am2", "0.0.0.0:9093", address="10.0.0.2"),
               _am("am3", "0.0.0.0:9093", address="am3.example.internal")]
    assert ha.mesh_settings("am1", members, port=9300) == {
        "enabled": True, "listen_address": "0.0.0.0:9300", "advertise_address": "10.0.0.1:9300",
        "peers": ["10.0.0.2:9300", "am3.example.internal:9300"]}
    # a host name cannot be advertised (Alertmanager parses it as an IP): left to Alertmanager
    assert ha.mesh_settings("am3", members, port=9300)["advertise_address"] == ""


def test_members_listing_different_peers_are_refused_naming_the_variable():
    members = [_am("am1", "127.0.0.61:9093", cluster_peers=["127.0.0.62:9094"]),
               _am("am2", "127.0.0.62:9093", cluster_peers=["127.0.0.61:9094", "127.0.0.63:9094"]),
               _am("am3", "127.0.0.63:9093")]
    [problem] = ha.mesh_problems(members)
    assert problem.startswith("alertmanager_cluster_peers: the members of the mesh list different peers: am1 sees")
    consistent = [_am("am1", "127.0.0.61:9093", cluster_peers=["127.0.0.62:9094"]),
                  _am("am2", "127.0.0.62:9093", cluster_peers=["127.0.0.61:9094"])]
    assert ha.mesh_problems(consistent) == []
    assert ha.mesh_problems(members, mode="off") == []


def test_filter_reads_the_other_members_from_hostvars():
    groups = {"alertmanager": ["am1", "am2"], "other": ["x"]}
    hostvars = {"am1": {"ansible_host": "127.0.0.61"},
                "am2": {"ansible_host": "127.0.0.62", "alertmanager_listen_address": "127.0.0.62:9093"},
                "x": {}}
    mine = {"group": "alertmanager", "mode": "auto", "port": 9094, "listen_address": "127.0.0.61:9093",
            "cluster_listen_address": "", "cluster_advertise_address": "", "cluster_peers": []}
    assert alertmanager_mesh(groups, hostvars, "am1", mine) == {
        "enabled": True, "listen_address": "127.0.0.61:9094", "advertise_address": "",
        "peers": ["127.0.0.62:9094"], "problems": []}
    # a host outside the mesh group is a mesh of its own: none
    assert alertmanager_mesh(groups, hostvars, "x", dict(mine, listen_address="127.0.0.70:9093"))["enabled"] is False


HA_GROUPS = {"prom_pair": ["prom-a", "prom-b"], "app": ["app1"]}


def _hostvars(**b_overrides):
    shared = {"prometheus_scrape_groups": ["app"], "prometheus_extra_scrape_configs": [
        {"job_name": "secured", "basic_auth": {"username": "u", "password": "HA-SECRET-1"}}]}
    return {"prom-a": dict(shared), "prom-b": dict(shared, **b_overrides), "app1": {}}


def test_replica_of_a_pair_gets_the_replica_label_and_the_group_as_cluster():
    out = prometheus_replica(HA_GROUPS, _hostvars(), "prom-b", "prom_pair", "__replica__", "prom-b")
    assert out == {"replica_label": "__replica__", "replica": "prom-b", "cluster": "prom_pair", "problems": []}
    assert prometheus_replica(HA_GROUPS, _hostvars(), "app1", "prom_pair", "__replica__") == {"cluster": "", "problems": []}
    assert prometheus_replica(HA_GROUPS, _hostvars(), "prom-a", "", "__replica__") == {"cluster": "", "problems": []}


def test_replicas_with_different_scrape_configs_are_refused_without_printing_them():
    hostvars = _hostvars(prometheus_extra_scrape_configs=[
        {"job_name": "secured", "basic_auth": {"username": "u", "password": "HA-SECRET-2"}}])
    [problem] = prometheus_replica(HA_GROUPS, hostvars, "prom-a", "prom_pair", "__replica__")["problems"]
    assert problem.startswith("prometheus_extra_scrape_configs: the replicas of prometheus_ha_group 'prom_pair' "
                              "must be identical, and it differs between prom-a and prom-b")
    assert "HA-SECRET" not in problem


@pytest.mark.parametrize("label, labels, hosts, expected", [
    ("environment", {}, [], "'environment' collides with a label of every target"),
    ("cluster", {}, [], "'cluster' collides with the cluster label"),
    ("dc", {"dc": "eu"}, [], "'dc' collides with a key of prometheus_external_labels"),
    ("replica", {}, [{"name": "app1", "scrape_targets": [{"service": "x", "port": 80, "labels": {"replica": "1"}}]}],
     "'replica' collides with a label of app1's monitoring_scrape_targets"),
    ("1bad", {}, [], "'1bad' is not a label name"),
])
def test_replica_label_that_collides_is_refused(label, labels, hosts, expected):
    [problem] = ha.replica_label_problems(label, "cluster", labels, hosts)
    assert problem.startswith("prometheus_ha_replica_label: ") and expected in problem, problem
    assert ha.replica_label_problems("__replica__", "cluster", labels, hosts) == []


SETTINGS = {
    "scrape_interval": "15s", "scrape_timeout": "10s", "evaluation_interval": "15s",
    "external_labels": {"environment": "prod", "cluster": "prom_pair"},
    "rule_files": [], "alertmanagers": [], "self_address": "127.0.0.1:9090", "self_instance": "prom-a:9090",
    "self_scheme": "http", "file_sd_targets": {}, "file_sd_dir": "/nonexistent", "ec2_sd_jobs": [],
    "extra_scrape_configs": [], "metric_filters": {}, "remote_write": [], "amp_remote_write": {},
    "version": "3.5.3",
}
MANAGERS = [{"name": "am%d" % i, "address": "127.0.0.6%d" % i, "alertmanager_listen_address": "127.0.0.6%d:9093" % i,
             "in_alertmanager_groups": True} for i in (1, 2, 3)]


def test_replica_config_labels_series_drops_the_label_from_alerts_and_promtool_accepts_it():
    settings = dict(SETTINGS, ha={"replica_label": "__replica__", "replica": "prom-a"})
    config = pc.build_config(settings, MANAGERS)
    assert config["global"]["external_labels"] == {"environment": "prod", "cluster": "prom_pair", "__replica__": "prom-a"}
    assert config["alerting"]["alert_relabel_configs"] == [{"action": "labeldrop", "regex": "__replica__"}]
    assert config["alerting"]["alertmanagers"][0]["static_configs"] == [
        {"targets": ["127.0.0.61:9093", "127.0.0.62:9093", "127.0.0.63:9093"]}]
    real_tools.promtool_check_config(config)
    # not a replica: neither
    plain = pc.build_config(SETTINGS, MANAGERS)
    assert "__replica__" not in plain["global"]["external_labels"] and "alert_relabel_configs" not in plain["alerting"]


def test_replicas_writing_to_different_stores_are_refused_without_printing_them():
    # AMP and Mimir keep one replica per cluster: a replica that writes elsewhere loses data there.
    store = {"kind": "mimir", "url": "http://mimir-a:9009", "basic_auth": {"username": "u", "password": "HA-SECRET-3"}}
    other = dict(store, url="http://mimir-b:9009")
    hostvars = _hostvars(prometheus_remote_write=[other])
    hostvars["prom-a"]["prometheus_remote_write"] = [store]
    [problem] = prometheus_replica(HA_GROUPS, hostvars, "prom-a", "prom_pair", "__replica__")["problems"]
    assert problem.startswith("prometheus_remote_write: the replicas of prometheus_ha_group 'prom_pair' must be identical")
    assert "HA-SECRET" not in problem and "mimir-" not in problem
