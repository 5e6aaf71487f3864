"""The Tempo datasource the grafana role provisions: trace to logs (Loki) and trace to metrics
(Prometheus) links, checked against Grafana's own provisioning example
(tests/unit/fixtures/grafana_tempo/README.md)."""

from __future__ import annotations

import copy
import os

import yaml

from ansible_collections.monitoring.stack.plugins.module_utils.grafana_provisioning import (
    datasource_problems,
    tempo_datasource,
)

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "grafana_tempo", "provision-example.yaml")
LOKI = {"name": "Loki", "type": "loki", "url": "http://127.0.0.1:3100"}
PROMETHEUS = {"name": "Prometheus", "type": "prometheus", "url": "http://127.0.0.1:9090"}


def _upstream():
    with open(FIXTURE) as handle:
        return yaml.safe_load(handle)["datasources"][0]


def test_tempo_datasource_literal():
    assert tempo_datasource({"url": "http://127.0.0.231:3200"}) == {
        "name": "Tempo",
        "type": "tempo",
        "uid": "tempo",
        "url": "http://127.0.0.231:3200",
        "access": "proxy",
        "jsonData": {
            "tracesToLogsV2": {
                "datasourceUid": "loki",
                "spanStartTimeShift": "-5m",
                "spanEndTimeShift": "5m",
                "tags": [{"key": "service.name", "value": "service"}],
                "filterByTraceID": True,
                "filterBySpanID": False,
            },
            "tracesToMetrics": {
                "datasourceUid": "prometheus",
                "spanStartTimeShift": "-5m",
                "spanEndTimeShift": "5m",
                "tags": [{"key": "service.name", "value": "service"}],
            },
            "nodeGraph": {"enabled": True},
        },
    }


def test_every_link_key_written_is_a_key_of_grafanas_example():
    upstream = _upstream()["jsonData"]
    ours = tempo_datasource({"url": "http://tempo:3200", "metrics_queries": [{"name": "Rate", "query": "sum(x)"}]})
    for block in ("tracesToLogsV2", "tracesToMetrics", "nodeGraph"):
        assert set(ours["jsonData"][block]) <= set(upstream[block]), block
        for key, value in ours["jsonData"][block].items():
            assert type(value) is type(upstream[block][key]), (block, key)  # noqa: E721
    assert ours["jsonData"]["tracesToMetrics"]["queries"] == [{"name": "Rate", "query": "sum(x)"}]


def test_grafanas_example_is_accepted_when_its_uids_are_provisioned():
    loki, prom = dict(LOKI, uid="loki"), dict(PROMETHEUS, uid="prom")
    assert datasource_problems([loki, prom, _upstream()]) == []


def test_role_defaults_link_to_the_uids_of_loki_and_prometheus_by_name():
    assert datasource_problems([LOKI, PROMETHEUS, tempo_datasource({"url": "http://tempo:3200"})]) == []


def test_links_to_missing_or_wrong_datasources_are_refused():
    tempo = tempo_datasource({"url": "http://tempo:3200"})
    assert datasource_problems([PROMETHEUS, tempo]) == [
        "grafana_datasources[1] (name 'Tempo'): jsonData.tracesToLogsV2.datasourceUid 'loki' is not the uid of a "
        "provisioned datasource (provisioned: prometheus, tempo)"]
    wrong = dict(LOKI, uid="loki", type="elasticsearch")
    assert datasource_problems([wrong, PROMETHEUS, tempo]) == [
        "grafana_datasources[2] (name 'Tempo'): jsonData.tracesToLogsV2.datasourceUid 'loki' is a elasticsearch "
        "datasource; trace to logs needs loki"]
    assert datasource_problems([LOKI, dict(PROMETHEUS, uid="metrics"), tempo]) == [
        "grafana_datasources[2] (name 'Tempo'): jsonData.tracesToMetrics.datasourceUid 'prometheus' is not the uid "
        "of a provisioned datasource (provisioned: loki, metrics, tempo)"]


def test_the_old_traces_to_logs_block_is_named():
    tempo = copy.deepcopy(tempo_datasource({"url": "http://tempo:3200"}))
    tempo["jsonData"]["tracesToLogs"] = tempo["jsonData"].pop("tracesToLogsV2")
    assert datasource_problems([LOKI, PROMETHEUS, tempo]) == [
        "grafana_datasources[2] (name 'Tempo'): jsonData.tracesToLogs is the old trace to logs block: use "
        "tracesToLogsV2 (datasourceUid, tags, spanStartTimeShift...)"]
