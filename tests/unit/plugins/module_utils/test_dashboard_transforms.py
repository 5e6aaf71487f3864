"""Dashboard transforms on real-world shapes: exports with __inputs, collapsed rows, library
panels, template variables (string and object), mixed datasources, CloudWatch and Loki targets."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    DashboardError,
    all_panels,
    iter_datasource_refs,
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
    # no datasource: the default one, which the server list says is Prometheus
    out = prepare_dashboard(dash, datasources=SERVER, add_environment=True, environment_label="env")
    assert out["rows"][0]["panels"][0]["targets"][0]["expr"] == 'up{env=~"$env"}'
    assert out["templating"]["list"][0]["name"] == "env"
    assert out["uid"] == stable_uid("Old")


def test_invalid_promql_names_panel_and_ref_id():
    dash = {"uid": "u", "title": "T", "panels": [{"title": "Broken", "targets": [{"refId": "B", "expr": "sum(up"}]}]}
    with pytest.raises(DashboardError) as err:
        prepare_dashboard(dash, datasources=SERVER, add_environment=True)
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


# --------------------------------------------------------------------------- datasource types
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dashboards"
BY_NAME_SERVER = [
    {"uid": "prom-main", "name": "Prometheus", "type": "prometheus", "isDefault": True},
    {"uid": "loki-main", "name": "Loki", "type": "loki"},
    {"uid": "cw-main", "name": "CloudWatch", "type": "cloudwatch"},
]


def fixture(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def by_place(dashboard):
    """{(panel title, refId): target} over every panel, collapsed rows included."""
    return dict(((p.get("title"), t.get("refId")), t) for p in all_panels(dashboard) for t in p.get("targets") or [])


def without_datasource(item):
    return dict((k, v) for k, v in item.items() if k != "datasource")


def test_loki_dashboard_is_left_byte_identical():
    """LogQL with pipelines (|=, |~, | json, | logfmt, unwrap, line_format, pattern) and Loki
    variables and annotations: nothing is rewritten, and no Prometheus variable is added."""
    source = fixture("loki_logs_exported.json")
    notes = []
    out = prepare_dashboard(source, datasources=BY_NAME_SERVER, add_environment=True, report=notes)
    before, after = by_place(source), by_place(out)
    assert len(after) == 5 and set(after) == set(before)
    for place, target in after.items():
        assert target["expr"] == before[place]["expr"], place
        assert without_datasource(target) == without_datasource(before[place])
        assert target["datasource"] == {"type": "loki", "uid": "loki-main"}
    assert [without_datasource(v) for v in out["templating"]["list"]] == \
        [without_datasource(v) for v in source["templating"]["list"]]
    assert [without_datasource(a) for a in out["annotations"]["list"]] == \
        [without_datasource(a) for a in source["annotations"]["list"]]
    assert "environment" not in [v["name"] for v in out["templating"]["list"]]
    assert any("no Prometheus query" in note for note in notes)


def test_mixed_dashboard_with_datasources_referenced_by_name():
    source = fixture("mixed_by_name.json")
    notes = []
    out = prepare_dashboard(source, datasources=BY_NAME_SERVER, add_environment=True, report=notes)
    before, after = by_place(source), by_place(out)
    assert after[("API error ratio", "A")]["expr"] == (
        'sum(rate(http_requests_total{job="api",code=~"5..",%s}[$__rate_interval])) / '
        'sum(rate(http_requests_total{job="api",%s}[$__rate_interval]))' % (ENV, ENV))
    assert after[("Requests vs error log lines", "A")]["expr"] == \
        'sum(rate(http_requests_total{job="api",%s}[5m]))' % ENV
    assert after[("Requests vs error log lines", "C")]["expr"] == \
        'max_over_time(up{job="api",%s}[$__range:])' % ENV
    untouched = [("API logs", "A"), ("API logs", "B"), ("Time spent per route (logs)", "A"),
                 ("Requests vs error log lines", "B"), ("ALB 5xx (CloudWatch)", "A"),
                 ("ALB 5xx (CloudWatch)", "B"), ("ECS errors (Logs Insights)", "A")]
    for place in untouched:
        assert json.dumps(after[place], sort_keys=True) == json.dumps(before[place], sort_keys=True), place
    annotations = {a["name"]: a for a in out["annotations"]["list"]}
    assert annotations["Restarts"]["expr"] == 'changes(process_start_time_seconds{job="api",%s}[2m]) > 0' % ENV
    assert annotations["Deploys"]["target"]["expr"] == "max(deploy_timestamp_seconds{%s}) by (version)" % ENV
    assert annotations["Panics"] == source["annotations"]["list"][3]
    assert annotations["Annotations & Alerts"] == source["annotations"]["list"][0]
    variables = {v["name"]: v for v in out["templating"]["list"]}
    assert variables["instance"]["query"] == 'label_values({instance!="",%s}, instance)' % ENV
    assert variables["instance"]["definition"] == variables["instance"]["query"]
    assert variables["app"] == source["templating"]["list"][1]
    assert variables["environment"]["datasource"] == {"type": "prometheus", "uid": "prom-main"}
    assert notes == []


def test_names_without_server_datasources_are_not_guessed():
    """Without the server's datasources a name says nothing about the type: nothing behind a
    name is rewritten (Loki's pipelines used to fail the import), and each one is noted."""
    source = fixture("mixed_by_name.json")
    notes = []
    out = prepare_dashboard(source, add_environment=True, report=notes)
    before, after = by_place(source), by_place(out)
    for place, target in after.items():
        if place == ("Requests vs error log lines", "C"):  # {type: prometheus, uid}: the type is known
            assert target["expr"] == 'max_over_time(up{job="api",%s}[$__range:])' % ENV
        else:
            assert target == before[place], place
    assert any("'API error ratio' target A" in n and "'Prometheus'" in n and "datasources" in n for n in notes)
    assert any("'API logs' target B" in n for n in notes)
    assert any("annotation 'Restarts'" in n for n in notes)
    assert any("variable 'instance'" in n for n in notes)
    assert out["annotations"]["list"][1] == source["annotations"]["list"][1]


def test_unknown_name_and_unknown_default_are_left_alone_and_noted():
    dash = {"uid": "u", "title": "T", "panels": [
        {"title": "Gone", "datasource": "Old Prometheus", "targets": [{"refId": "A", "expr": "up"}]},
        {"title": "Default", "targets": [{"refId": "A", "expr": "{app=\"x\"} |= \"y\""}]},
    ]}
    notes = []
    out = prepare_dashboard(dash, datasources=[{"uid": "l", "name": "Loki", "type": "loki"},
                                               {"uid": "p", "name": "Prom", "type": "prometheus"}],
                            add_environment=True, report=notes)
    assert by_place(out) == by_place(dash)
    assert any("'Gone' target A" in n and "'Old Prometheus'" in n for n in notes)
    assert any("'Default' target A" in n and "default datasource" in n for n in notes)


def test_default_datasource_of_the_server_decides():
    dash = {"uid": "u", "title": "T", "panels": [{"title": "p", "targets": [
        {"refId": "A", "expr": "{app=\"x\"} | json"}]}]}
    loki_default = [{"uid": "l", "name": "Loki", "type": "loki", "isDefault": True},
                    {"uid": "p", "name": "Prom", "type": "prometheus"}]
    assert by_place(prepare_dashboard(dash, datasources=loki_default, add_environment=True)) == by_place(dash)
    dash["panels"][0]["targets"][0]["expr"] = "up"
    out = prepare_dashboard(dash, datasources=[dict(d, isDefault=d["type"] == "prometheus") for d in loki_default],
                            add_environment=True)
    assert by_place(out)[("p", "A")]["expr"] == "up{%s}" % ENV
    assert out["templating"]["list"][0]["datasource"] == {"type": "prometheus", "uid": "p"}


def test_environment_variable_follows_the_dashboards_prometheus_variable():
    dash = {"uid": "u", "title": "T",
            "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"},
                                    {"name": "logs", "type": "datasource", "query": "loki"}]},
            "panels": [{"title": "p", "datasource": "${datasource}", "targets": [{"refId": "A", "expr": "up"}]},
                       {"title": "l", "datasource": "$logs", "targets": [{"refId": "A", "expr": "{a=\"b\"} |= \"c\""}]}]}
    out = prepare_dashboard(dash, add_environment=True)
    names = [v["name"] for v in out["templating"]["list"]]
    assert names == ["datasource", "environment", "logs"]
    assert out["templating"]["list"][1]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert by_place(out)[("p", "A")]["expr"] == "up{%s}" % ENV
    assert by_place(out)[("l", "A")]["expr"] == '{a="b"} |= "c"'


def test_grafana_variables_in_ranges_no_longer_fail_the_dashboard():
    dash = {"uid": "u", "title": "T", "panels": [{"title": "p", "datasource": {"type": "prometheus", "uid": "x"},
                                                  "targets": [
        {"refId": "A", "expr": "max_over_time(rate(x[$__rate_interval])[$__range:])"},
        {"refId": "B", "expr": "avg_over_time(x[$__interval:$__interval] offset ${__range_s}s)"},
        {"refId": "C", "expr": "sum(rate($metric[5m]))"}]}]}
    notes = []
    out = by_place(prepare_dashboard(dash, add_environment=True, report=notes))
    assert out[("p", "A")]["expr"] == "max_over_time(rate(x{%s}[$__rate_interval])[$__range:])" % ENV
    assert out[("p", "B")]["expr"] == "avg_over_time(x{%s}[$__interval:$__interval] offset ${__range_s}s)" % ENV
    assert out[("p", "C")]["expr"] == "sum(rate($metric[5m]))"
    assert len(notes) == 1 and "'p' target C" in notes[0] and "$metric" in notes[0]


@pytest.mark.parametrize("query, expected", [
    ("label_values(job)", 'label_values({job!="",%s}, job)' % ENV),
    ("label_values(up, job)", 'label_values(up{%s}, job)' % ENV),
    ('label_values(up{job="$job"}, instance)', 'label_values(up{job="$job",%s}, instance)' % ENV),
    ("query_result(topk(5, sum by (job) (up)))", "query_result(topk(5, sum by (job) (up{%s})))" % ENV),
    ("up", "up{%s}" % ENV),
])
def test_variable_queries(query, expected):
    dash = {"uid": "u", "title": "T", "templating": {"list": [
        {"name": "v", "type": "query", "datasource": {"type": "prometheus", "uid": "p"}, "query": query}]}}
    out = prepare_dashboard(dash, add_environment=True)
    assert out["templating"]["list"][1]["query"] == expected


def test_label_values_of_a_label_keeps_a_non_empty_matcher():
    """Why label_values(job) becomes label_values({job!="",...}, job), not {environment=~"$environment"}:
    with "All" selected the value is .*, and Prometheus refuses a selector whose only matcher
    matches the empty string. promtool is the judge."""
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed: the Prometheus parser check cannot run")

    def promtool_ok(expr, tmp):
        path = tmp / "rules.yml"
        path.write_text(json.dumps({"groups": [{"name": "g", "rules": [{"record": "r:x", "expr": expr}]}]}))
        return subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, timeout=60, check=False).returncode == 0

    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        assert not promtool_ok('{environment=~".*"}', tmp)
        dash = {"uid": "u", "title": "T", "templating": {"list": [
            {"name": "v", "type": "query", "datasource": {"type": "prometheus", "uid": "p"}, "query": "label_values(job)"}]}}
        query = prepare_dashboard(dash, add_environment=True)["templating"]["list"][1]["query"]
        selector = query[len("label_values("):query.rindex(",")]
        for value in (".*", "prod"):
            assert promtool_ok(selector.replace("$environment", value), tmp), selector


def test_a_variable_listing_the_environments_is_not_filtered_by_itself():
    dash = {"uid": "u", "title": "T", "templating": {"list": [
        {"name": "env", "type": "query", "datasource": {"type": "prometheus", "uid": "p"},
         "query": "label_values(up, environment)"}]}}
    notes = []
    out = prepare_dashboard(dash, add_environment=True, report=notes)
    assert out["templating"]["list"][1]["query"] == "label_values(up, environment)"
    assert any("variable 'env'" in n for n in notes)


def test_iter_datasource_refs_walks_panels_targets_variables_annotations():
    dash = {"annotations": {"list": [{"name": "a", "datasource": "Loki", "expr": "{x=\"y\"}"}]},
            "templating": {"list": [{"name": "v", "type": "query", "datasource": "$ds", "query": "up"},
                                    {"name": "ds", "type": "datasource", "query": "prometheus"}]},
            "panels": [
                {"title": "mixed", "datasource": "-- Mixed --", "targets": [
                    {"refId": "A", "datasource": {"uid": "u1"}, "expr": "up"}, {"refId": "B", "expr": "up"}]},
                {"type": "row", "title": "r", "collapsed": True, "panels": [
                    {"title": "inner", "datasource": "Prometheus", "targets": [{"refId": "A", "expr": "up"}]}]}],
            "rows": [{"panels": [{"title": "old", "targets": [{"refId": "A", "expr": "up"}]}]}]}
    found = [(where, ref, target is not None) for where, ref, target in iter_datasource_refs(dash)]
    assert found == [
        ({"panel": "mixed"}, "-- Mixed --", False),
        ({"panel": "mixed", "ref_id": "A"}, {"uid": "u1"}, True),
        ({"panel": "mixed", "ref_id": "B"}, None, True),
        ({"panel": "r"}, None, False),
        ({"panel": "inner"}, "Prometheus", False),
        ({"panel": "inner", "ref_id": "A"}, "Prometheus", True),
        ({"panel": "old"}, None, False),
        ({"panel": "old", "ref_id": "A"}, None, True),
        ({"variable": "v"}, "$ds", True),
        ({"annotation": "a"}, "Loki", True),
    ]


@pytest.mark.parametrize("text, kind", [("[1, 2]", "a list"), ('"a dashboard"', "a string"), ("42", "a number"),
                                        ("null", "null")])
def test_load_json_refuses_what_is_not_an_object(text, kind):
    with pytest.raises(DashboardError) as err:
        load_json(text, "dash/odd.json")
    cause = ("dash/odd.json: the JSON is %s, not an object. Hint: a dashboard file holds one dashboard "
             "object ({\"title\": ..., \"panels\": [...]}); several dashboards go in a directory for "
             "monitoring.stack.grafana_dashboards" % kind)
    assert str(err.value) == cause  # what the modules put after "Failed to prepare dashboard: "
    assert err.value.message == "Failed to prepare dashboard: " + cause
    assert isinstance(err.value, ValueError)


def test_prepare_dashboard_refuses_a_list():
    with pytest.raises(DashboardError) as err:
        prepare_dashboard([{"title": "T"}], source="dash/list.json")
    assert str(err.value).startswith("dash/list.json: the dashboard is a list, not an object")
    with pytest.raises(DashboardError, match="^the dashboard is a str, not an object"):
        prepare_dashboard("T")


def test_amazon_managed_prometheus_plugin_counts_as_prometheus():
    dash = {"uid": "u", "title": "T", "panels": [
        {"title": "p", "datasource": {"type": "grafana-amazonprometheus-datasource", "uid": "amp"},
         "targets": [{"refId": "A", "expr": "sum(rate(x[$__rate_interval]))"}]}]}
    out = prepare_dashboard(dash, add_environment=True)
    assert by_place(out)[("p", "A")]["expr"] == "sum(rate(x{%s}[$__rate_interval]))" % ENV
    assert out["templating"]["list"][0]["datasource"] == {"type": "grafana-amazonprometheus-datasource", "uid": "amp"}


def test_a_dashboard_without_prometheus_queries_is_not_given_an_empty_templating():
    dash = {"uid": "u", "title": "Logs", "panels": [
        {"title": "l", "datasource": {"type": "loki", "uid": "l"}, "targets": [{"refId": "A", "expr": "{a=\"b\"} | json"}]}]}
    assert prepare_dashboard(dash, add_environment=True) == dash


@pytest.mark.parametrize("broken", [
    {"templating": ["not", "an", "object"]},
    {"templating": {"list": "nope"}},
    {"annotations": ["x"]},
    {"annotations": {"list": {"name": "x"}}},
])
def test_malformed_sections_are_refused_or_skipped_not_crashed_on(broken):
    dash = dict({"uid": "u", "title": "T", "panels": [
        {"title": "p", "datasource": {"type": "prometheus", "uid": "p"}, "targets": [{"refId": "A", "expr": "up"}]}]},
        **broken)
    assert [where for where, _r, _t in iter_datasource_refs(dash)] == [{"panel": "p"}, {"panel": "p", "ref_id": "A"}]
    if "templating" in broken:
        with pytest.raises(DashboardError, match="templating"):
            prepare_dashboard(dash, add_environment=True)
    else:
        out = prepare_dashboard(dash, add_environment=True)
        assert by_place(out)[("p", "A")]["expr"] == "up{%s}" % ENV
