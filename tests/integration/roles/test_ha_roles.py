"""The roles' HA settings from an inventory: the Alertmanager mesh flags of every member, the
external labels and alert relabelling of an HA pair's replicas, and the bad inventories the
roles refuse in preflight (a pair whose replicas differ, a mesh whose members list different
peers, a replica label a series already carries).

Each run is the role's preflight (check mode, local connection, every inventory host this
machine) followed by a look at the variables the role derives; the real binaries that take
these flags and configs are in tests/integration/test_ha_alerting.py.
"""

from __future__ import annotations

import hashlib
import sys

import pytest
import yaml

from tests.support.playbook import run_playbook

pytestmark = pytest.mark.slow


def _inventory(tmp_path, host_vars=None, group_vars=None):
    archive = tmp_path / "product-1.0.0.linux-amd64.tar.gz"
    archive.write_bytes(b"not really an archive, preflight only reads its checksum")
    digest = "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "monitoring_environment": "prod"}
    for role in ("prometheus", "alertmanager"):
        local.update({role + "_install_method": "local", role + "_local_archive": str(archive),
                      role + "_archive_checksum": digest})
    local["prometheus_version"] = "3.5.3"
    local["alertmanager_version"] = "0.33.1"
    hosts = {
        "prom-a": {"ansible_host": "127.0.0.51", "prometheus_listen_address": "127.0.0.51:9090"},
        "prom-b": {"ansible_host": "127.0.0.52", "prometheus_listen_address": "127.0.0.52:9090"},
        "am1": {"ansible_host": "127.0.0.61", "alertmanager_listen_address": "127.0.0.61:9093"},
        "am2": {"ansible_host": "127.0.0.62", "alertmanager_listen_address": "127.0.0.62:9093"},
        "am3": {"ansible_host": "127.0.0.63", "alertmanager_listen_address": "127.0.0.63:9093"},
    }
    for name, values in (host_vars or {}).items():
        hosts[name].update(values)
    data = {"all": {"vars": dict(local, **(group_vars or {})), "children": {
        "prom_pair": {"hosts": {h: hosts[h] for h in ("prom-a", "prom-b")},
                      "vars": {"prometheus_ha_group": "prom_pair"}},
        "alertmanager": {"hosts": {h: hosts[h] for h in ("am1", "am2", "am3")}},
        "app_hosts": {"hosts": {"app1": {"monitoring_service": "orders",
                                         "monitoring_scrape_targets": [{"service": "orders", "port": 8080}]}}},
    }}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _play(hosts, role, show):
    return [{"name": "ha", "hosts": hosts, "gather_facts": False, "tasks": [
        {"name": "Preflight", "ansible.builtin.include_role": {
            "name": "monitoring.stack." + role, "tasks_from": "preflight", "public": True}},
        {"name": "Show", "ansible.builtin.debug": {"msg": "{{ %s }}" % show}}]}]


def _shown(result, host):
    return result.result("Show", host)["msg"]


def test_alertmanagers_of_the_group_form_a_mesh_of_three(tmp_path):
    result = run_playbook(_play("alertmanager", "alertmanager", "_alertmanager_flags"),
                          inventory=_inventory(tmp_path), check=True)
    assert result.rc == 0, result
    flags = {host: [f for f in _shown(result, host) if f.startswith("--cluster.")] for host in ("am1", "am2", "am3")}
    assert flags == {
        "am1": ["--cluster.listen-address=127.0.0.61:9094", "--cluster.peer=127.0.0.62:9094", "--cluster.peer=127.0.0.63:9094"],
        "am2": ["--cluster.listen-address=127.0.0.62:9094", "--cluster.peer=127.0.0.61:9094", "--cluster.peer=127.0.0.63:9094"],
        "am3": ["--cluster.listen-address=127.0.0.63:9094", "--cluster.peer=127.0.0.61:9094", "--cluster.peer=127.0.0.62:9094"],
    }


def test_one_alertmanager_alone_has_no_mesh(tmp_path):
    result = run_playbook(_play("am1", "alertmanager", "_alertmanager_flags"),
                          inventory=_inventory(tmp_path, group_vars={"alertmanager_cluster_group": "nonexistent"}),
                          check=True)
    assert result.rc == 0, result
    assert [f for f in _shown(result, "am1") if f.startswith("--cluster.")] == ["--cluster.listen-address="]


def test_replicas_carry_their_labels_and_drop_the_replica_label_from_alerts(tmp_path):
    result = run_playbook(_play("prom_pair", "prometheus", "_prometheus_config"), inventory=_inventory(tmp_path), check=True)
    assert result.rc == 0, result
    for host in ("prom-a", "prom-b"):
        config = _shown(result, host)
        assert config["global"]["external_labels"] == {"environment": "prod", "cluster": "prom_pair", "__replica__": host}
        assert config["alerting"]["alert_relabel_configs"] == [{"action": "labeldrop", "regex": "__replica__"}]
        assert config["alerting"]["alertmanagers"][0]["static_configs"] == [
            {"targets": ["127.0.0.61:9093", "127.0.0.62:9093", "127.0.0.63:9093"]}]
    a, b = _shown(result, "prom-a"), _shown(result, "prom-b")
    assert [j["job_name"] for j in a["scrape_configs"]] == [j["job_name"] for j in b["scrape_configs"]]


@pytest.mark.parametrize("hosts, role, host_vars, group_vars, expected", [
    ("prom_pair", "prometheus", {"prom-b": {"prometheus_extra_scrape_configs": [
        {"job_name": "only-b", "static_configs": [{"targets": ["127.0.0.9:9999"]}]}]}}, {},
     "prometheus_extra_scrape_configs: the replicas of prometheus_ha_group 'prom_pair' must be identical"),
    ("prom_pair", "prometheus", {}, {"prometheus_ha_replica_label": "service"},
     "prometheus_ha_replica_label: 'service' collides with a label of every target"),
    ("alertmanager", "alertmanager", {"am1": {"alertmanager_cluster_peers": ["127.0.0.62:9094"]},
                                      "am2": {"alertmanager_cluster_peers": ["127.0.0.61:9094", "127.0.0.63:9094"]}}, {},
     "alertmanager_cluster_peers: the members of the mesh list different peers"),
], ids=["pair-differs", "replica-label-collides", "mesh-peers-differ"])
def test_bad_ha_inventory_fails_in_preflight_naming_the_variable(tmp_path, hosts, role, host_vars, group_vars, expected):
    result = run_playbook(_play(hosts, role, "'unreached'"), inventory=_inventory(tmp_path, host_vars, group_vars),
                          check=True)
    assert result.rc != 0, result
    failed = [h for h in ("prom-a", "prom-b", "am1", "am2", "am3") if any(expected in m for _n, m in result.failures(h))]
    assert failed, result
    assert result.changed("prom-a") == result.changed("am1") == 0, result
