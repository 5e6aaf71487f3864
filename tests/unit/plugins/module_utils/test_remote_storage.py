"""plugins/module_utils/remote_storage.py: prometheus_remote_write entries by kind.

Expected entries are written out by hand from the upstream documentation: AMP's remote write
URL ``https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/api/v1/remote_write`` and
``sigv4.region`` (AMP user guide), the ``cluster`` and ``__replica__`` labels of AMP's and
Mimir's HA de-duplication, Mimir's ``X-Scope-OrgID`` and Thanos Receive's ``THANOS-TENANT``
tenant headers, VictoriaMetrics' ``/api/v1/write``; Grafana's datasource fields (``sigV4Auth``,
``sigV4Region``, ``httpHeaderName1`` / ``secureJsonData.httpHeaderValue1``). Every rendered
prometheus.yml is checked by the real promtool (tests/support/real_tools.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.filter.remote_storage import remote_storage_datasources
from ansible_collections.monitoring.stack.plugins.module_utils import grafana_provisioning as gp
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from ansible_collections.monitoring.stack.plugins.module_utils import remote_storage as rs
from tests.support import real_tools
from tests.support.playbook import REPO

SETTINGS = {
    "scrape_interval": "15s", "scrape_timeout": "10s", "evaluation_interval": "15s",
    "external_labels": {"environment": "prod", "cluster": "prom_pair"}, "rule_files": [], "alertmanagers": [],
    "self_address": "127.0.0.1:9090", "self_instance": "prom-a:9090", "self_scheme": "http",
    "file_sd_targets": {}, "file_sd_dir": "/nonexistent", "ec2_sd_jobs": [], "extra_scrape_configs": [],
    "metric_filters": {}, "remote_write": [], "amp_remote_write": {}, "version": "3.5.3",
}
REPLICA = {"replica_label": "__replica__", "replica": "prom-a"}
AMP = {"kind": "amp", "workspace_id": "ws-0123abcd", "region": "eu-west-1"}
MIMIR = {"kind": "mimir", "name": "mimir", "url": "http://mimir.example:8080/api/v1/push", "tenant": "team-a"}
THANOS = {"kind": "thanos_receive", "name": "thanos", "url": "http://receive.example:19291/api/v1/receive",
          "tenant": "team-a", "query_url": "http://query.example:10902"}
VM = {"kind": "victoriametrics", "name": "vm", "url": "http://vm.example:8428"}


def _config(remote_write=(), replica=None, **extra):
    settings = dict(SETTINGS, remote_write=list(remote_write), ha=replica or {}, **extra)
    assert pc.config_problems(settings, []) == []
    return pc.build_config(settings, [])


def _promtool_sid():
    """The promtool of the sid line (3.5), when staged: a second real checker."""
    sys.path.insert(0, str(REPO / "tests" / "hosts"))
    import version_lines  # pylint: disable=import-outside-toplevel
    path = os.path.join(version_lines.bindir("sid"), "promtool")
    return path if os.path.exists(path) else None


def _check_all(config, tmp_path):
    real_tools.promtool_check_config(config)
    promtool = _promtool_sid()
    if promtool:
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        proc = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_amp_entry_signs_for_its_region_with_the_amp_queue_and_keeps_the_ha_labels(tmp_path):
    config = _config([dict(AMP, role_arn="arn:aws:iam::123456789012:role/write")], REPLICA)
    assert config["remote_write"] == [{
        "name": "amp",
        "url": "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0123abcd/api/v1/remote_write",
        "sigv4": {"region": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:role/write"},
        "queue_config": {"max_samples_per_send": 1000, "max_shards": 200, "capacity": 2500},
        "enable_http2": False}]
    # AMP de-duplicates on cluster and __replica__: both are sent, nothing is dropped
    assert config["global"]["external_labels"] == {"environment": "prod", "cluster": "prom_pair", "__replica__": "prom-a"}
    _check_all(config, tmp_path)


def test_queue_config_of_the_entry_overrides_the_kind_defaults():
    (entry,) = rs.entries([dict(AMP, queue_config={"max_shards": 50, "batch_send_deadline": "1s"})])
    assert entry["queue_config"] == {"max_samples_per_send": 1000, "max_shards": 50, "capacity": 2500,
                                     "batch_send_deadline": "1s"}


def test_prometheus_amp_remote_write_is_the_same_kind_amp_entry():
    amp = {"workspace_id": "ws-0123abcd", "region": "eu-west-1", "name": "amp-prod"}
    via_setting = pc.build_config(dict(SETTINGS, amp_remote_write=amp), [])["remote_write"]
    via_kind = pc.build_config(dict(SETTINGS, remote_write=[dict(AMP, name="amp-prod")]), [])["remote_write"]
    assert via_setting == via_kind


def test_mimir_thanos_and_victoriametrics_entries(tmp_path):
    config = _config([MIMIR, THANOS, VM], REPLICA)
    assert config["remote_write"] == [
        {"name": "mimir", "url": "http://mimir.example:8080/api/v1/push", "headers": {"X-Scope-OrgID": "team-a"},
         "enable_http2": False},
        {"name": "thanos", "url": "http://receive.example:19291/api/v1/receive",
         "headers": {"THANOS-TENANT": "team-a"}, "enable_http2": False},
        {"name": "vm", "url": "http://vm.example:8428/api/v1/write",
         "write_relabel_configs": [{"action": "labeldrop", "regex": "__replica__"}], "enable_http2": False},
    ]
    _check_all(config, tmp_path)


def test_victoriametrics_keeps_the_replica_label_when_asked_and_outside_a_pair():
    keep = dict(VM, url="http://vm.example:8428/api/v1/write", deduplicate=False)
    assert rs.entries([keep], replica_label="__replica__") == [
        {"name": "vm", "url": "http://vm.example:8428/api/v1/write"}]
    assert rs.entries([VM]) == [{"name": "vm", "url": "http://vm.example:8428/api/v1/write"}]
    # a replica label of another name is dropped by its own name, after the user's own rules
    mine = [{"action": "drop", "source_labels": ["__name__"], "regex": "go_.*"}]
    (entry,) = rs.entries([dict(VM, write_relabel_configs=mine)], replica_label="replica")
    assert entry["write_relabel_configs"] == mine + [{"action": "labeldrop", "regex": "replica"}]


def test_an_entry_without_kind_passes_through_unchanged():
    raw = {"url": "http://store.example/api/v1/write", "basic_auth": {"username": "u", "password": "p"},
           "write_relabel_configs": [{"action": "keep", "source_labels": ["__name__"], "regex": "up"}]}
    assert rs.entries([raw], replica_label="__replica__") == [raw]
    assert rs.problems([raw]) == []


SECRET = "s3cr3t-value-never-printed"


@pytest.mark.parametrize("entry, replica_label, expected", [
    ({"kind": "amp", "workspace_id": "ws-1"}, None,
     "prometheus_remote_write[0].region: AMP needs a region"),
    ({"kind": "amp", "region": "eu-west-1"}, None, "prometheus_remote_write[0].workspace_id: AMP needs workspace_id"),
    ({"kind": "amp", "region": "eu-west-1",
      "url": "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write"}, None,
     "prometheus_remote_write[0].url: the workspace URL is in region us-east-1, but region is eu-west-1"),
    ({"kind": "amp", "region": "Ireland", "workspace_id": "ws-1"}, None,
     "prometheus_remote_write[0].region: 'Ireland' is not an AWS region name"),
    ({"kind": "amp", "region": "eu-west-1", "workspace_id": "ws-1"}, "replica",
     "prometheus_remote_write[0]: AMP de-duplicates an HA pair only on the labels cluster and __replica__"),
    ({"kind": "amp", "region": "eu-west-1", "workspace_id": "ws-1",
      "sigv4": {"region": "eu-central-1", "secret_key": SECRET}}, None,
     "prometheus_remote_write[0].sigv4.region: differs from region"),
    ({"kind": "influx", "url": "http://x"}, None, "prometheus_remote_write[0].kind: 'influx' is not one of amp"),
    ({"kind": "mimir", "basic_auth": {"username": "u", "password": SECRET}}, None,
     "prometheus_remote_write[0].url: mimir needs the url"),
    ({"kind": "mimir", "url": "http://m/api/v1/push", "deduplicate": False}, None,
     "prometheus_remote_write[0].deduplicate: only for kind victoriametrics"),
])
def test_bad_entries_are_refused_naming_the_key_and_never_the_secret(entry, replica_label, expected):
    problems = rs.problems([entry], replica_label=replica_label)
    assert any(p.startswith(expected) for p in problems), problems
    assert SECRET not in " ".join(problems)


def test_config_problems_show_the_remote_write_problems_and_amp_setting_in_a_pair():
    settings = dict(SETTINGS, remote_write=[{"kind": "amp", "workspace_id": "ws-1"}])
    assert any(p.startswith("prometheus_remote_write[0].region: AMP needs a region")
               for p in pc.config_problems(settings, []))
    pair = dict(SETTINGS, amp_remote_write={"workspace_id": "ws-1", "region": "eu-west-1"},
                ha={"replica_label": "replica", "replica": "prom-a"})
    assert [p for p in pc.config_problems(pair, []) if "AMP" in p] == [
        "prometheus_amp_remote_write: AMP de-duplicates an HA pair only on the labels cluster and __replica__, and "
        "this pair's replica label is 'replica': set prometheus_ha_replica_label: __replica__"]


def test_duplicate_names_are_refused():
    problems = rs.problems([dict(VM), dict(VM, url="http://other:8428")])
    assert problems == ["prometheus_remote_write: the name 'vm' is given to more than one entry "
                        "(Prometheus needs unique names)"]


def test_grafana_datasources_for_each_store():
    amp = dict(AMP, name="amp-prod", role_arn="arn:aws:iam::123456789012:role/read")
    vm_auth = dict(VM, name="vm-auth", basic_auth={"username": "grafana", "password": SECRET})
    no_query = {"kind": "thanos_receive", "name": "thanos-nq", "url": "http://receive:19291/api/v1/receive"}
    raw = {"url": "http://raw/api/v1/write"}
    got = remote_storage_datasources([amp, MIMIR, THANOS, VM, vm_auth, no_query, raw])
    assert got == [
        {"name": "amp-prod", "type": "prometheus", "access": "proxy",
         "url": "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0123abcd",
         "jsonData": {"sigV4Auth": True, "sigV4AuthType": "default", "sigV4Region": "eu-west-1",
                      "sigV4AssumeRoleArn": "arn:aws:iam::123456789012:role/read"}},
        {"name": "mimir", "type": "prometheus", "access": "proxy", "url": "http://mimir.example:8080/prometheus",
         "jsonData": {"prometheusType": "Mimir", "httpHeaderName1": "X-Scope-OrgID"},
         "secureJsonData": {"httpHeaderValue1": "team-a"}},
        {"name": "thanos", "type": "prometheus", "access": "proxy", "url": "http://query.example:10902",
         "jsonData": {"prometheusType": "Thanos"}},
        {"name": "vm", "type": "prometheus", "access": "proxy", "url": "http://vm.example:8428", "jsonData": {}},
        {"name": "vm-auth", "type": "prometheus", "access": "proxy", "url": "http://vm.example:8428", "jsonData": {},
         "basicAuth": True, "basicAuthUser": "grafana", "secureJsonData": {"basicAuthPassword": SECRET}},
    ]
    # the form the grafana role takes (its own checker)
    assert gp.datasource_problems(got) == []


def test_datasource_from_prometheus_amp_remote_write_and_from_an_amp_url():
    assert remote_storage_datasources([], {"workspace_id": "ws-9", "region": "ap-northeast-2"}) == [
        {"name": "amp", "type": "prometheus", "access": "proxy",
         "url": "https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-9",
         "jsonData": {"sigV4Auth": True, "sigV4AuthType": "default", "sigV4Region": "ap-northeast-2"}}]
    url = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-2/api/v1/remote_write"
    (source,) = remote_storage_datasources([{"kind": "amp", "region": "eu-west-1", "url": url}])
    assert source["url"] == "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-2"
