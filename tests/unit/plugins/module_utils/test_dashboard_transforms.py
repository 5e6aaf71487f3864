"""Dashboard transforms on real-world shapes: exports with __inputs, collapsed rows, library
panels, template variables (string and object), mixed datasources, CloudWatch and Loki targets."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    DashboardError,
    all_panels,
    load_json,
    normalize_for_compare,
    prepare_dashboard,
    stable_uid,
)

ENV = 'environment=~"$environment"'
SERVER = [
    {"uid": "amp-uid", "name": "AMP", "type": "prometheus", "isDefault": True},
    {"uid": "cw-uid", "name": "CloudWatch", "type": "cloudwatch"},
    {"uid": "loki-uid", "name": "Loki", "type": "loki"},
]


def exported():
    """An 'Export for sharing externally' dashboard like the seed's four (trimmed)."""
    return {
        "__inputs": [
            {"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus",
             "pluginName": "Prometheus"},
            {"name": "DS_CLOUDWATCH", "label": "CloudWatch", "type": "datasource", "pluginId": "cloudwatch"},
            {"name": "VAR_JOB", "type": "constant", "label": "job", "value": "fileflow-web-api-metrics"},
        ],
        "__requires": [{"type": "grafana", "id": "grafana", "version": "10.4.1"}],
        "__elements": {},
        "id": None,
        "uid": "fileflow-api",
        "title": "FileFlow API",
        "tags": ["fileflow", "prod"],
        "version": 7,
        "schemaVersion": 39,
        "templating": {"list": [
            {"name": "job", "type": "constant", "query": "${VAR_JOB}"},
            {"name": "task_id", "type": "query", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
             "definition": 'label_values(up{job="$job"}, aws_ecs_task_id)',
             "query": {"qryType": 1, "query": 'label_values(up{job="$job"}, aws_ecs_task_id)', "refId": "X"}},
            {"name": "instance", "type": "query", "datasource": "${DS_PROMETHEUS}",
             "query": 'label_values(up{job="$job"}, instance)'},
            {"name": "cw_datasource", "type": "datasource", "query": "cloudwatch"},
        ]},
        "panels": [
            {"type": "stat", "title": "UP", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
             "targets": [{"refId": "A", "expr": 'sum(up{job="$job"})'}]},
            {"type": "row", "title": "JVM", "collapsed": True, "panels": [
                {"type": "timeseries", "title": "Heap",
                 "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                 "targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                              "expr": 'sum by (aws_ecs_task_id) (jvm_memory_used_bytes{job="$job",area="heap"})'}]},
            ]},
            {"type": "timeseries", "title": "ECS CPU", "datasource": {"type": "cloudwatch", "uid": "$cw_datasource"},
             "targets": [{"refId": "A", "namespace": "AWS/ECS", "metricName": "CPUUtilization",
                          "expr": "not promql at all {"}]},
            {"type": "timeseries", "title": "Mixed", "datasource": {"type": "datasource", "uid": "-- Mixed --"},
             "targets": [
                 {"refId": "A", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                  "expr": "rate(http_server_requests_seconds_count[$__rate_interval])"},
                 {"refId": "B", "datasource": {"type": "loki", "uid": "loki-uid"},
                  "expr": 'sum(count_over_time({app="api"} |= "error" [5m]))'},
            ]},
            {"id": 9, "gridPos": {"h": 8, "w": 12, "x": 0, "y": 30},
             "libraryPanel": {"uid": "lib-1", "name": "Shared errors"}},
        ],
    }


def targets(dashboard):
    return dict(((p.get("title"), t.get("refId")), t.get("expr")) for p in all_panels(dashboard)
                for t in p.get("targets") or [])


def test_input_is_untouched_and_result_is_new():
    source = exported()
    before = copy.deepcopy(source)
    prepare_dashboard(source, datasources=SERVER, add_environment=True, drop_tags=["prod"])
    assert source == before


def test_inputs_resolved_by_server_lookup_and_export_keys_removed():
    out = prepare_dashboard(exported(), datasources=SERVER)
    assert not any(key.startswith("__") for key in out)
    text = json.dumps(out)
    assert "${DS_" not in text and "${VAR_JOB}" not in text
    assert out["panels"][0]["datasource"] == {"type": "prometheus", "uid": "amp-uid"}
    assert out["templating"]["list"][0]["query"] == "fileflow-web-api-metrics"
    # a whole-string legacy reference becomes a {type, uid} reference
    assert out["templating"]["list"][2]["datasource"] == {"type": "prometheus", "uid": "amp-uid"}
    # dashboard variables that are not inputs survive
    assert out["panels"][2]["datasource"]["uid"] == "$cw_datasource"
    assert "id" not in out and out["uid"] == "fileflow-api"


def test_inputs_resolved_by_explicit_map_without_server():
    out = prepare_dashboard(exported(), datasource_uids={"DS_PROMETHEUS": "p1", "DS_CLOUDWATCH": "c1"})
    assert out["panels"][0]["datasource"]["uid"] == "p1"


def test_unknown_input_names_input_type_and_what_exists():
    with pytest.raises(DashboardError) as err:
        prepare_dashboard(exported(), datasources=[{"uid": "l", "name": "Loki", "type": "loki"}])
    msg = str(err.value)
    assert "DS_PROMETHEUS" in msg and "prometheus" in msg and "Loki (type loki, uid l)" in msg
    assert "datasource_uids" in msg


def test_ambiguous_input_prefers_label_then_default():
    servers = [{"uid": "a", "name": "Other", "type": "prometheus"},
               {"uid": "b", "name": "Prometheus", "type": "prometheus"},
               {"uid": "cw", "name": "CW", "type": "cloudwatch"}]
    out = prepare_dashboard(exported(), datasources=servers)
    assert out["panels"][0]["datasource"]["uid"] == "b"
    servers[1]["name"] = "Third"
    with pytest.raises(DashboardError, match="ambiguous"):
        prepare_dashboard(exported(), datasources=servers)


def test_literal_uid_remap_like_the_seed():
    """Seed 000 5.5: the dashboards carry "uid": "ef4r3izgbak8wb"; swap it for this workspace's."""
    dash = {"uid": "overview", "title": "Overview", "panels": [
        {"title": "p", "datasource": {"type": "prometheus", "uid": "ef4r3izgbak8wb"},
         "targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": "ef4r3izgbak8wb"}, "expr": "up"}]},
        {"title": "legacy", "datasource": "ef4r3izgbak8wb", "targets": []},
        {"title": "other", "datasource": {"type": "cloudwatch", "uid": "keep-me"}, "targets": []},
    ]}
    out = prepare_dashboard(dash, datasource_uids={"ef4r3izgbak8wb": "amp-uid"})
    assert out["panels"][0]["datasource"]["uid"] == "amp-uid"
    assert out["panels"][0]["targets"][0]["datasource"]["uid"] == "amp-uid"
    assert out["panels"][1]["datasource"] == "amp-uid"
    assert out["panels"][2]["datasource"]["uid"] == "keep-me"


def test_add_environment_everywhere_prometheus_and_nowhere_else():
    notes = []
    out = prepare_dashboard(exported(), datasources=SERVER, add_environment=True, drop_tags=["prod"], report=notes)
    exprs = targets(out)
    assert exprs[("UP", "A")] == 'sum(up{job="$job",%s})' % ENV
    assert exprs[("Heap", "A")] == ('sum by (aws_ecs_task_id) (jvm_memory_used_bytes{job="$job",area="heap",%s})'
                                    % ENV)  # inside a collapsed row
    assert exprs[("Mixed", "A")] == "rate(http_server_requests_seconds_count{%s}[$__rate_interval])" % ENV
    assert exprs[("Mixed", "B")] == 'sum(count_over_time({app="api"} |= "error" [5m]))'  # Loki untouched
    assert exprs[("ECS CPU", "A")] == "not promql at all {"  # CloudWatch (via $cw_datasource) untouched
    variables = {v["name"]: v for v in out["templating"]["list"]}
    assert out["templating"]["list"][0]["name"] == "environment"
    env = variables["environment"]
    assert env["type"] == "query" and env["includeAll"] and env["multi"]
    assert env["query"]["query"] == "label_values(up, environment)"
    assert env["datasource"] == {"type": "prometheus", "uid": "amp-uid"}
    assert variables["task_id"]["query"]["query"] == 'label_values(up{job="$job",%s}, aws_ecs_task_id)' % ENV
    assert variables["task_id"]["definition"] == variables["task_id"]["query"]["query"]
    assert variables["instance"]["query"] == 'label_values(up{job="$job",%s}, instance)' % ENV
    assert out["tags"] == ["fileflow"]
    # the library panel is left alone but reported
    assert out["panels"][4] == exported()["panels"][4]
    assert any("Shared errors" in note for note in notes)


def test_add_environment_is_idempotent_and_keeps_an_existing_variable():
    once = prepare_dashboard(exported(), datasources=SERVER, add_environment=True)
    twice = prepare_dashboard(once, datasources=SERVER, add_environment=True)
    assert twice == once
    assert [v["name"] for v in twice["templating"]["list"]].count("environment") == 1


def test_old_rows_layout_and_custom_label():
    dash = {"title": "Old", "rows": [{"panels": [{"title": "x", "targets": [{"refId": "A", "expr": "up"}]}]}]}
    out = prepare_dashboard(dash, add_environment=True, environment_label="env")
    assert out["rows"][0]["panels"][0]["targets"][0]["expr"] == 'up{env=~"$env"}'
    assert out["templating"]["list"][0]["name"] == "env"
    assert out["uid"] == stable_uid("Old")


def test_invalid_promql_names_panel_and_ref_id():
    dash = {"uid": "u", "title": "T", "panels": [{"title": "Broken", "targets": [{"refId": "B", "expr": "sum(up"}]}]}
    with pytest.raises(DashboardError) as err:
        prepare_dashboard(dash, add_environment=True)
    assert "'Broken'" in str(err.value) and "target B" in str(err.value)


def test_neither_uid_nor_title():
    with pytest.raises(DashboardError, match="neither a uid nor a title"):
        prepare_dashboard({"panels": []})


@pytest.mark.parametrize("uid", ["has space", "x" * 41, "a/b"])
def test_invalid_uid(uid):
    with pytest.raises(DashboardError, match="invalid dashboard uid"):
        prepare_dashboard({"title": "T"}, uid=uid)


def test_uid_parameter_wins_and_stable_uid_is_valid():
    assert prepare_dashboard({"title": "T", "uid": "old"}, uid="new")["uid"] == "new"
    uid = stable_uid("Überblick / Service Overview — prod " * 3)
    assert len(uid) <= 40 and uid == stable_uid("Überblick / Service Overview — prod " * 3)
    assert all(c.isalnum() or c in "-_" for c in uid)


def test_normalize_for_compare_ignores_server_fields():
    desired = prepare_dashboard(exported(), datasources=SERVER)
    stored = copy.deepcopy(desired)
    stored.update({"id": 42, "version": 3, "schemaVersion": 41})
    assert normalize_for_compare(stored) == normalize_for_compare(desired)
    assert normalize_for_compare({"dashboard": stored, "meta": {"folderUid": ""}}) == normalize_for_compare(desired)
    stored["title"] = "Changed"
    assert normalize_for_compare(stored) != normalize_for_compare(desired)


def test_load_json_names_source_line_and_column():
    with pytest.raises(DashboardError) as err:
        load_json('{\n  "title": "x",\n  oops\n}', "dash.json")
    assert "dash.json" in str(err.value) and "line 3 column 3" in str(err.value)
