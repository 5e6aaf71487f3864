"""Unit tests of plugins/module_utils/doctor.py: each check on small inputs, then the fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils import doctor, otel

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "doctor"
PROM = {"type": "prometheus", "uid": "prom"}


def dash(exprs, title="Service", variables=None, tags=None, datasource=None, uid="d1"):
    """A dashboard with one panel per expression (panel titles P1, P2, ...)."""
    datasource = datasource or PROM
    panels = [{"id": i + 1, "type": "timeseries", "title": "P%d" % (i + 1), "datasource": datasource,
               "targets": [{"refId": "A", "expr": e}]} for i, e in enumerate(exprs)]
    return {"uid": uid, "title": title, "tags": tags or [], "panels": panels,
            "templating": {"list": variables or []}}


def keep_job(name, regex, action="keep", **extra):
    job = {"job_name": name, "static_configs": [{"targets": ["localhost:8080"]}],
           "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": regex, "action": action}]}
    job.update(extra)
    return job


def run(dashboards, jobs=None, otel_configs=(), datasources=None, checks=doctor.DEFAULT_CHECKS, **kw):
    prom = [("prometheus.yml", {"scrape_configs": jobs})] if jobs is not None else []
    return doctor.diagnose([("d%d.json" % i, d) for i, d in enumerate(dashboards)], prometheus_configs=prom,
                           otel_configs=list(otel_configs), datasources=datasources, checks=checks, **kw)


def kinds(result):
    return sorted((f["check"], f["panel"] or f["variable"] or "") for f in result["findings"])


# --------------------------------------------------------------------------- parsing helpers

def test_selectors_names_matchers_and_or_groups():
    found = doctor.selectors('sum(rate(foo_total{job="a", environment=~"$environment"}[$__rate_interval]))'
                             ' / on() group_left {__name__="bar"} + up{a="1" or b="2"}')
    assert found[0] == {"name": "foo_total", "groups": [[("job", "=", "a"), ("environment", "=~", "$environment")]]}
    assert found[1]["name"] == "bar"
    assert found[2]["name"] == "up" and found[2]["groups"] == [[("a", "=", "1")], [("b", "=", "2")]]


def test_selectors_grafana_variable_names_are_not_metrics():
    assert [s["name"] for s in doctor.selectors('${metric}{job="a"} + $__interval_ms')] == [None]


def test_selectors_raise_on_invalid_promql():
    with pytest.raises(doctor.promql.PromQLError):
        doctor.selectors("sum(rate(x[1m])")


@pytest.mark.parametrize("query, expected", [
    ("label_values(up{job=~\"$job\"}, instance)", 'up{job=~"$job"}'),
    ({"query": "label_values(node_uname_info, job)", "refId": "x"}, "node_uname_info"),
    ("query_result(topk(5, up))", "topk(5, up)"),
    ("label_values(job)", None),
    ("metrics(http_.*)", None),
    ("label_names()", None),
    ("sum by (job) (up)", "sum by (job) (up)"),
    ("", None),
])
def test_variable_promql(query, expected):
    assert doctor.variable_promql(query) == expected


def test_variable_values():
    assert doctor.variable_values({"type": "constant", "query": "api-metrics"}) == ["api-metrics"]
    assert doctor.variable_values({"type": "custom", "query": "a,b : bee, c"}) == ["a", "bee", "c"]
    assert doctor.variable_values({"type": "custom", "query": "x",
                                   "options": [{"value": "$__all"}, {"value": "a"}]}) == ["a"]
    assert doctor.variable_values({"type": "query", "query": "label_values(up, job)"}) is None


@pytest.mark.parametrize("metric, prefix", [
    ("hikaricp_connections_active", "hikaricp_"), ("sqs_consumer_messages_total", "sqs_consumer_"),
    ("crawlinghub_crawl_task_total", "crawlinghub_"), ("up", "up")])
def test_suggested_prefix(metric, prefix):
    assert doctor.suggested_prefix(metric) == prefix


# --------------------------------------------------------------------------- scrape sources

def test_drop_reason_keep_drop_and_synthetic_series():
    keep = doctor.prometheus_scrape_entries({"scrape_configs": [keep_job("a", "(http_.*|jvm_.*)")]}, "p")[0]
    assert doctor.drop_reason(keep, "http_server_requests_seconds_count") is None
    reason = doctor.drop_reason(keep, "hikaricp_connections_active")
    assert reason[1] == "keep" and "metric_relabel_configs[0]" in reason[0] and "(http_.*|jvm_.*)" in reason[0]
    assert doctor.drop_reason(keep, "up") is None and doctor.drop_reason(keep, "scrape_series_added") is None
    # keep regexes are anchored: "http_" must not keep "xhttp_..."
    assert doctor.drop_reason(keep, "xhttp_requests_total") is not None
    drop = doctor.prometheus_scrape_entries([keep_job("b", "go_.*", "drop")], "p")[0]
    assert doctor.drop_reason(drop, "go_goroutines")[1] == "drop"
    assert doctor.drop_reason(drop, "process_open_fds") is None


def test_drop_rules_on_joined_and_missing_labels_drop_every_series():
    """Prometheus joins the source labels ('name;' without le) and a missing label reads as '':
    regex .* matches both, so each of these rules drops every series (the real Prometheus shows
    it: tests/integration/test_relabel_prometheus.py, cases drop_name_le_any and drop_absent_label_any)."""
    for rule in ({"source_labels": ["__name__", "le"], "regex": ".*", "action": "drop"},
                 {"source_labels": ["le"], "regex": ".*", "action": "drop"}):
        job = {"job_name": "a", "metric_relabel_configs": [
            rule, {"source_labels": ["__name__"], "regex": "http_.*", "action": "keep"}]}
        entry = doctor.prometheus_scrape_entries([job], "p")[0]
        reason = doctor.drop_reason(entry, "http_requests_total")
        assert reason[1] == "drop" and "metric_relabel_configs[0]" in reason[0] and "without le" in reason[0]


def test_drop_reason_rules_on_other_labels_use_the_query_labels():
    job = {"job_name": "a", "metric_relabel_configs": [
        {"source_labels": ["__name__", "status"], "regex": "http_x;5..", "action": "drop"},
        {"source_labels": ["__name__"], "regex": "http_.*", "action": "keep"}]}
    entry = doctor.prometheus_scrape_entries([job], "p")[0]
    assert doctor.drop_reason(entry, "http_x") is None
    assert doctor.drop_reason(entry, "http_x", {"status": "503"})[1] == "drop"
    assert "metric_relabel_configs[1]" in doctor.drop_reason(entry, "jvm_threads_live_threads")[0]
    result = run([dash(['http_x{job="a", status="500"}', 'http_x{job="a", status="200"}'])], jobs=[job])
    assert kinds(result) == [("metric_dropped", "P1")]


def test_a_renamed_metric_is_reported():
    job = {"job_name": "a", "metric_relabel_configs": [
        {"source_labels": ["__name__"], "regex": "jvm_(.*)", "target_label": "__name__", "replacement": "java_$1"}]}
    result = run([dash(['jvm_threads_live{job="a"}', 'java_threads_live{job="a"}'])], jobs=[job])
    assert kinds(result) == [("metric_dropped", "P1")]
    assert "renames it to java_threads_live" in result["findings"][0]["problem"]


def test_job_label_rules_see_the_job():
    job = keep_job("a", "a", "drop")
    job["metric_relabel_configs"][0]["source_labels"] = ["job"]
    assert kinds(run([dash(['http_x{job="a"}'])], jobs=[job, keep_job("b", ".*")])) == [("metric_dropped", "P1")]


def test_target_labels_are_known_when_the_scrape_config_fixes_them():
    """A rule reading instance or a static label: its value is known for one static target (and
    labels all static configs agree on); otherwise the doctor does not guess."""
    rule = {"source_labels": ["instance", "team"], "regex": "10\\.0\\..*;shop", "action": "keep"}
    one = {"job_name": "a", "static_configs": [{"targets": ["localhost:8080"], "labels": {"team": "shop"}}],
           "metric_relabel_configs": [rule]}
    entry = doctor.prometheus_scrape_entries([one], "p")[0]
    assert "metric_relabel_configs[0]" in doctor.drop_reason(entry, "http_x")[0]
    kept = dict(one, static_configs=[{"targets": ["10.0.0.5:8080"], "labels": {"team": "shop"}}])
    assert doctor.drop_reason(doctor.prometheus_scrape_entries([kept], "p")[0], "http_x") is None
    two = dict(one, static_configs=[{"targets": ["localhost:8080", "10.0.0.5:8080"], "labels": {"team": "shop"}}])
    assert doctor.drop_reason(doctor.prometheus_scrape_entries([two], "p")[0], "http_x") is None
    discovered = {"job_name": "a", "ec2_sd_configs": [{"region": "eu-west-1"}], "metric_relabel_configs": [rule]}
    assert doctor.drop_reason(doctor.prometheus_scrape_entries([discovered], "p")[0], "http_x") is None
    # a rule on an unknown value does not hide a later rule that drops for certain
    two["metric_relabel_configs"] = [{"source_labels": ["instance"], "target_label": "host"},
                                     rule, {"source_labels": ["__name__"], "regex": "jvm_.*", "action": "keep"}]
    assert "metric_relabel_configs[2]" in doctor.drop_reason(doctor.prometheus_scrape_entries([two], "p")[0], "http_x")[0]


def test_a_regex_this_code_cannot_evaluate_is_not_checked_visibly():
    job = keep_job("a", r"\pL+")
    result = run([dash(['http_x{job="a"}'])], jobs=[job])
    assert result["findings"] == []
    assert any(s.startswith("metric_dropped: p") and "cannot be evaluated here" in s for s in result["skipped"])


def test_a_regex_that_does_not_compile_is_reported_with_its_fix():
    job = keep_job("a", "(unclosed")
    entry = doctor.prometheus_scrape_entries([job], "p")[0]
    assert doctor.drop_reason(entry, "http_requests_total")[1] == "invalid"
    result = run([dash(['http_requests_total{job="a"}'])], jobs=[job])
    assert kinds(result) == [("metric_dropped", "P1")]
    assert "does not compile" in result["findings"][0]["problem"] and result["findings"][0]["fix"].startswith("fix the regex")


def test_job_labels_from_static_labels_and_relabel_configs():
    jobs = [
        {"job_name": "a", "static_configs": [{"targets": ["x:1"], "labels": {"job": "renamed"}}]},
        {"job_name": "b", "relabel_configs": [{"target_label": "job", "replacement": "fixed"}]},
        {"job_name": "c", "relabel_configs": [{"source_labels": ["__meta_x"], "target_label": "job"}]},
    ]
    entries = doctor.prometheus_scrape_entries({"scrape_configs": jobs}, "p")
    assert entries[0]["labels"] == {"renamed"} and not entries[0]["dynamic"]
    assert entries[1]["labels"] == {"fixed"}
    assert entries[2]["dynamic"], "replacement $1 from a meta label: the job value is unknown"


def test_prometheus_scrape_entries_rejects_other_yaml():
    with pytest.raises(doctor.DoctorError, match="no scrape_configs"):
        doctor.prometheus_scrape_entries({"global": {}}, "x.yml")


def test_otel_entries_take_the_filters_of_their_metrics_pipeline():
    config = otel.build_config({"project": "shop", "service": "api"})
    include = {"match_type": "regexp", "metric_names": ["^http_a$", "^shop_.*"]}
    config["processors"]["filter/x"] = {"metrics": {"include": include}}
    config["service"]["pipelines"]["metrics"]["processors"].insert(0, "filter/x")
    entries = doctor.otel_scrape_entries(config, "spec")
    assert [e["job"] for e in entries] == ["shop-api-metrics"]
    assert doctor.drop_reason(entries[0], "http_a") is None
    assert "processors.filter/x metrics.include" in doctor.drop_reason(entries[0], "http_b")[0]
    assert "metric_relabel_configs[0]" in doctor.drop_reason(entries[0], "tasks_scheduled_execution_seconds_count")[0]
    assert doctor.drop_reason(entries[0], "shop_orders_total") is None, "the project prefix is kept"


def test_hardcoded_environment_in_adot_configs_uses_the_otel_validator():
    config = otel.build_config({"project": "shop", "service": "api"})
    config["processors"]["resource"]["attributes"].append({"key": "deployment.environment", "value": "prod",
                                                           "action": "upsert"})
    result = doctor.diagnose([("d.json", dash(['up']))], otel_configs=[("otel-api.yaml", config)])
    found = [f for f in result["findings"] if f["check"] == "hardcoded_environment"]
    assert len(found) == 1 and found[0]["file"] == "otel-api.yaml"
    assert "processors.resource.attributes" in found[0]["problem"] and "'prod'" in found[0]["problem"]
    assert "otel-api.yaml (ADOT collector config)" in doctor.format_report(result)
    clean = doctor.diagnose([("d.json", dash(['up']))], otel_configs=[("o", otel.build_config(
        {"project": "shop", "service": "api"}))])
    assert clean["findings"] == []


def test_otel_dollar_escapes_in_regexes():
    config = {"receivers": {"prometheus": {"config": {"scrape_configs": [
        keep_job("j", "(http_.*|x$$)")]}}},
        "exporters": {"debug": {}},
        "service": {"pipelines": {"metrics": {"receivers": ["prometheus"], "exporters": ["debug"]}}}}
    entry = doctor.otel_scrape_entries(config, "f")[0]
    assert doctor.drop_reason(entry, "x") is None


# --------------------------------------------------------------------------- checks

def test_metric_dropped_for_a_literal_job():
    result = run([dash(['hikaricp_connections_active{job="api"}', 'jvm_threads_live_threads{job="api"}'])],
                 jobs=[keep_job("api", "(http_.*|jvm_.*)")])
    assert kinds(result) == [("metric_dropped", "P1")]
    finding = result["findings"][0]
    assert finding["ref_id"] == "A" and finding["query"] == 'hikaricp_connections_active{job="api"}'
    assert "hikaricp_connections_active" in finding["problem"] and "job api" in finding["problem"]
    assert "'hikaricp_.*'" in finding["fix"]


def test_metric_without_job_is_dropped_only_when_every_job_drops_it():
    board = dash(['sum(hikaricp_connections_active)'])
    assert kinds(run([board], jobs=[keep_job("api", "http_.*"), keep_job("db", "hikaricp_.*")])) == []
    result = run([board], jobs=[keep_job("api", "http_.*"), keep_job("web", "jvm_.*")])
    assert kinds(result) == [("metric_dropped", "P1"), ("metric_dropped", "P1")]


def test_job_variable_values_are_checked_one_by_one():
    variables = [{"name": "job", "type": "custom", "query": "api,worker"}]
    board = dash(['sum(sqs_consumer_messages_total{job=~"$job"})', 'up{job=~"$job"}'], variables=variables)
    result = run([board], jobs=[keep_job("api", ".*"), keep_job("worker", "(http_.*|jvm_.*)")])
    assert kinds(result) == [("metric_dropped", "P1")]
    assert "job worker" in result["findings"][0]["problem"]
    assert "'sqs_consumer_.*'" in result["findings"][0]["fix"]


def test_query_variable_job_reports_every_job_it_can_take_that_drops_the_metric():
    """$job from label_values(up, job) can be any scraped job: picking worker shows "No data"."""
    variables = [{"name": "job", "type": "query", "query": "label_values(up, job)", "datasource": PROM}]
    board = dash(['sum(sqs_consumer_messages_total{job=~"$job"})'], variables=variables)
    result = run([board], jobs=[keep_job("api", ".*"), keep_job("worker", "http_.*")])
    assert kinds(result) == [("metric_dropped", "P1")]
    assert "job worker" in result["findings"][0]["problem"]


def test_query_variable_job_takes_only_jobs_that_keep_its_metric():
    variables = [{"name": "job", "type": "query", "datasource": PROM,
                  "query": {"query": 'label_values(sqs_consumer_messages_total{environment=~"$environment"}, job)'}}]
    board = dash(['sum(sqs_consumer_messages_total{job=~"$job"})'], variables=variables)
    assert kinds(run([board], jobs=[keep_job("api", ".*"), keep_job("worker", "http_.*")])) == []
    variables[0]["query"] = "label_values(job)"
    assert kinds(run([board], jobs=[keep_job("api", ".*"), keep_job("worker", "http_.*")])) == [("metric_dropped", "P1")]


def test_unknown_job_literal_regex_and_variable_values():
    variables = [{"name": "job", "type": "custom", "query": "api,api-typo"}]
    board = dash(['up{job="apii"}', 'up{job=~"ap.*"}', 'up{job=~"nothing.*"}', 'up{job=~"$job"}',
                  'up{job=~"$job"} > 0'], variables=variables)
    result = run([board], jobs=[keep_job("api", ".*")])
    assert kinds(result) == [("unknown_job", "P1"), ("unknown_job", "P3"), ("unknown_job", "P4")]
    assert "'api-typo'" in result["findings"][2]["problem"] and "$job" in result["findings"][2]["problem"]
    assert "scraped: api" in result["findings"][0]["problem"]


def test_job_regex_matchers_are_re2_like_prometheus():
    """A flag group in the middle is RE2 (Prometheus matches it), not Python."""
    result = run([dash(['jvm_x{job=~"web-(?i)API"}', 'up{job=~"web-(?i)APX"}'])], jobs=[keep_job("web-api", "http_.*")])
    assert kinds(result) == [("metric_dropped", "P1"), ("unknown_job", "P2")]


def test_no_unknown_job_when_a_job_label_is_set_dynamically():
    dynamic = {"job_name": "ec2", "relabel_configs": [{"source_labels": ["__meta_ec2_tag_Service"], "target_label": "job"}]}
    assert kinds(run([dash(['up{job="whatever"}'])], jobs=[dynamic])) == []


def test_job_renamed_by_static_labels_counts_as_scraped_and_its_rules_apply():
    job = keep_job("raw", "http_.*")
    job["static_configs"][0]["labels"] = {"job": "api"}
    result = run([dash(['up{job="api"}', 'jvm_x{job="api"}'])], jobs=[job])
    assert kinds(result) == [("metric_dropped", "P2")]


def test_hardcoded_environment_everywhere_it_hides():
    variables = [{"name": "environment", "type": "constant", "query": "prod"},
                 {"name": "cluster", "type": "textbox", "query": "shop-cluster-stage"}]
    board = dash(['up{environment="prod"}', 'up{environment=~"$environment"}', 'up{environment!=""}',
                  'up{environment=~".*"}'], title="Shop API (PROD)", tags=["shop", "prod"], variables=variables)
    board["panels"][1]["title"] = "Stage latency"
    result = run([board])
    assert kinds(result) == [("hardcoded_environment", ""), ("hardcoded_environment", ""),
                             ("hardcoded_environment", "P1"), ("hardcoded_environment", "Stage latency"),
                             ("hardcoded_environment", "cluster"), ("hardcoded_environment", "environment")]
    problems = " ".join(f["problem"] for f in result["findings"])
    assert 'environment="prod"' in problems and "'Shop API (PROD)'" in problems and "tags prod" in problems


def test_inventory_environment_names_are_words_too():
    assert kinds(run([dash(['up'], title="Ops overview")])) == []
    assert kinds(run([dash(['up'], title="Ops overview")], environments=["ops"])) == [("hardcoded_environment", "")]


def test_environment_filter_is_opt_in():
    board = dash(['sum(rate(http_requests_total{job="a"}[5m]))'])
    assert kinds(run([board])) == []
    result = run([board], checks=("environment_filter",))
    assert kinds(result) == [("environment_filter", "P1")]
    assert "http_requests_total has no environment matcher" in result["findings"][0]["problem"]


def test_invalid_query_is_reported_and_loki_queries_are_not_promql():
    board = dash(['sum(rate(x[1m])'])
    board["panels"].append({"id": 9, "title": "Logs", "type": "logs", "datasource": {"type": "loki", "uid": "loki"},
                            "targets": [{"refId": "A", "expr": '{job="x"} |= "error"'}]})
    result = run([board])
    assert kinds(result) == [("invalid_query", "P1")]
    assert "not valid PromQL" in result["findings"][0]["problem"]


def test_collapsed_rows_and_query_variables_are_checked():
    board = dash([])
    board["panels"] = [{"id": 1, "type": "row", "title": "Row", "collapsed": True, "panels": [
        {"id": 2, "type": "timeseries", "title": "Inner", "datasource": PROM,
         "targets": [{"refId": "B", "expr": 'up{environment="stage"}'}]}]}]
    board["templating"]["list"] = [{"name": "instance", "type": "query", "datasource": PROM,
                                    "query": 'label_values(up{environment="dev"}, instance)'}]
    result = run([board])
    assert kinds(result) == [("hardcoded_environment", "Inner"), ("hardcoded_environment", "instance")]
    assert result["findings"][0]["ref_id"] == "B"


DATASOURCES = [{"name": "Prometheus", "type": "prometheus", "uid": "prom"},
               {"name": "CloudWatch", "type": "cloudwatch", "uid": "cw"}]


def test_unknown_datasources():
    board = dash(['up', 'up', 'up', 'up', 'up'], datasource={"type": "prometheus", "uid": "ef4r3izgbak8wb"})
    board["panels"][1]["datasource"] = "Prometheus"          # a name: fine
    board["panels"][2]["datasource"] = "Old Prometheus"       # an unknown name
    board["panels"][3]["datasource"] = {"type": "prometheus", "uid": "${missing}"}
    board["panels"][4]["datasource"] = {"type": "grafana", "uid": "-- Grafana --"}
    board["templating"]["list"] = [{"name": "logs", "type": "datasource", "query": "loki"},
                                   {"name": "ds", "type": "datasource", "query": "prometheus"}]
    board["__inputs"] = [{"name": "DS_ES", "type": "datasource", "pluginId": "elasticsearch"}]
    result = run([board], datasources=DATASOURCES)
    assert kinds(result) == [("unknown_datasource", ""), ("unknown_datasource", "P1"), ("unknown_datasource", "P3"),
                             ("unknown_datasource", "P4"), ("unknown_datasource", "logs")]
    problems = [f["problem"] for f in result["findings"]]
    assert any("ef4r3izgbak8wb" in p for p in problems) and any("DS_ES" in p for p in problems)
    assert any("${missing}" in p for p in problems)


def test_checks_without_their_inputs_are_skipped_visibly():
    result = run([dash(['hikaricp_x{job="nope"}'])])
    assert result["findings"] == []
    assert sorted(s.split(":")[0] for s in result["skipped"]) == ["metric_dropped", "unknown_datasource", "unknown_job"]


def test_unknown_check_is_refused():
    with pytest.raises(doctor.DoctorError, match="unknown check"):
        run([dash(['up'])], checks=("nope",))


def test_format_report_has_everything_to_act_on():
    result = run([dash(['hikaricp_connections_active{job="api"}'])], jobs=[keep_job("api", "http_.*")])
    report = doctor.format_report(result)
    assert report.splitlines()[0] == "monitoring.stack doctor: 1 finding(s) in 1 dashboard(s), 1 PromQL query checked"
    for text in ("d0.json", "panel 'P1'", "refId A", 'query:   hikaricp_connections_active{job="api"}',
                 "problem: metric hikaricp_connections_active", "fix:     add 'hikaricp_.*'", "not checked: unknown_datasource"):
        assert text in report


# --------------------------------------------------------------------------- reading files

def test_load_dashboards_reads_directories_and_api_responses(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text(json.dumps({"dashboard": dash(["up"], uid="b"), "meta": {}}))
    (tmp_path / "a.json").write_text(json.dumps(dash(["up"], uid="a")))
    (tmp_path / "notes.txt").write_text("not a dashboard")
    loaded = doctor.load_dashboards([str(tmp_path)])
    assert [(Path(s).name, d["uid"]) for s, d in loaded] == [("a.json", "a"), ("b.json", "b")]


def test_load_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(doctor.DoctorError, match="bad.json: invalid JSON"):
        doctor.load_dashboards([str(bad)])
    with pytest.raises(doctor.DoctorError, match="no such file"):
        doctor.load_dashboards([str(tmp_path / "missing")])
    with pytest.raises(doctor.DoctorError, match="provisioning file"):
        doctor.datasources_from_provisioning({"apiVersion": 1}, "ds.yml")


# --------------------------------------------------------------------------- the fixtures

def _fixture(kind):
    base = FIXTURES / kind
    datasources = doctor.datasources_from_provisioning(doctor.load_yaml_files([base / "datasources.yml"])[0][1])
    otel_files = sorted(base.glob("otel-config-*.yaml"))
    return dict(prometheus_configs=doctor.load_yaml_files([base / "prometheus.yml"]),
                otel_configs=doctor.load_yaml_files(otel_files),
                datasources=datasources), doctor.load_dashboards([str(base / "dashboards")])


def test_bad_fixtures_every_mistake_is_found():
    inputs, dashboards = _fixture("bad")
    result = doctor.diagnose(dashboards, **inputs)
    found = sorted((Path(f["file"]).name, f["check"], f["panel"] or f["variable"] or "") for f in result["findings"])
    assert found == sorted([
        ("api-prod.json", "hardcoded_environment", "HTTP RPS"),
        ("api-prod.json", "hardcoded_environment", ""),          # the title
        ("api-prod.json", "hardcoded_environment", ""),          # the prod tag
        ("api-prod.json", "metric_dropped", "HikariCP active"),
        ("api-prod.json", "metric_dropped", "Crawl tasks"),
        ("api-prod.json", "unknown_job", "Typo in job"),
        ("api-prod.json", "unknown_datasource", "Old datasource uid"),
        ("api-prod.json", "invalid_query", "Broken query"),
        ("api-prod.json", "metric_dropped", "Go goroutines"),
        ("worker.json", "unknown_job", "SQS messages"),
        ("worker.json", "metric_dropped", "SQS messages"),
        ("worker.json", "metric_dropped", "Executor threads"),
        ("worker.json", "hardcoded_environment", "environment"),
        ("worker.json", "unknown_datasource", "logs"),
    ])
    executor = [f for f in result["findings"] if f["panel"] == "Executor threads"][0]
    assert "processors.filter/noexecutor metrics.exclude" in executor["problem"]


def test_clean_fixtures_pass():
    inputs, dashboards = _fixture("clean")
    inputs["otel_configs"].append(("spec", otel.build_config(
        {"project": "crawlinghub", "service": "worker", "custom_metric_prefixes": ["sqs_consumer_"]})))
    result = doctor.diagnose(dashboards, **inputs)
    assert result["findings"] == [] and result["skipped"] == []
    assert result["summary"]["queries"] == 10
    assert "crawlinghub-worker-metrics" in result["summary"]["scraped_jobs"]


def test_clean_worker_fails_without_the_custom_prefix():
    inputs, dashboards = _fixture("clean")
    inputs["otel_configs"].append(("spec", otel.build_config({"project": "crawlinghub", "service": "worker"})))
    result = doctor.diagnose(dashboards, **inputs)
    assert [(f["check"], f["panel"]) for f in result["findings"]] == [("metric_dropped", "SQS messages")]
