"""The shipped dashboards in dashboards/: structure, variables, and every query.

Every PromQL expression of every panel target and query variable is parsed with promql_parser
itself (Grafana's range variables replaced by a duration here, independently of the collection's
own code), and every vector selector must carry the environment and job matchers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import promql_parser
import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import doctor, yace_config
from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import prepare_dashboard

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "dashboards"
FILES = sorted(DASHBOARDS.rglob("*.json"))
EXPECTED = {
    "ms-overview": "services", "ms-spring-boot-api": "services", "ms-spring-boot-scheduler": "services",
    "ms-spring-boot-worker": "services", "ms-python-fastapi": "services", "ms-host": "infrastructure",
    "ms-aws-ecs": "aws", "ms-aws-rds": "aws", "ms-aws-alb": "aws",
    "ms-aws-rds-yace": "aws", "ms-aws-alb-yace": "aws",
}
CLOUDWATCH_NAMESPACES = {
    "ms-aws-ecs": {"AWS/ECS", "ECS/ContainerInsights"},
    "ms-aws-rds": {"AWS/RDS"},
    "ms-aws-alb": {"AWS/ApplicationELB"},
}


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def _variables(dashboard):
    return {v["name"]: v for v in dashboard["templating"]["list"]}


def _is_prometheus(dashboard):
    return any(t.get("expr") for p in _panels(dashboard) for t in p.get("targets", []))


def _parseable(expr):
    """Grafana range variables -> 5m; any other $ outside a string literal is not expected."""
    text = re.sub(r"\[\s*\$\{?[A-Za-z_][A-Za-z0-9_]*\}?\s*\]", "[5m]", expr)
    outside = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert "$" not in outside, "unexpected Grafana variable outside a string or range in %r" % expr
    return text


def _selectors(expr):
    found = []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(promql_parser.parse(_parseable(expr)), visit)
    return found


def _matchers(selector):
    return {(m.name, str(m.op).rsplit(".", maxsplit=1)[-1], m.value) for m in selector.matchers.matchers}


def _prom_queries(dashboard):
    """(where, expr, variable name or None) for every panel target and Prometheus query variable."""
    out = []
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            if "expr" in target:
                out.append(("panel %r target %s" % (panel["title"], target["refId"]), target["expr"], None))
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query" and var.get("datasource", {}).get("type") == "prometheus":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            match = re.match(r"^label_values\((.*),\s*[A-Za-z_]+\)$", query)
            assert match, "variable %s: expected label_values(<selector>, <label>), got %r" % (var["name"], query)
            out.append(("variable $%s" % var["name"], match.group(1), var["name"]))
    return out


def test_the_expected_dashboards_ship_in_their_folders():
    found = {}
    for path in FILES:
        found[_load(path)["uid"]] = path.parent.name
    assert found == EXPECTED


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_dashboard_metadata(path):
    dashboard = _load(path)
    assert dashboard["uid"].startswith("ms-") and len(dashboard["uid"]) <= 40
    assert path.stem == dashboard["uid"][3:], "file name follows the uid"
    assert dashboard["title"].strip()
    assert "monitoring-stack" in dashboard["tags"]
    assert "id" not in dashboard, "no server-specific id"
    panels = list(_panels(dashboard))
    assert 5 <= len(panels) <= 40, "compact: tens of panels at most"
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["targets"], "panel %r has no query" % panel["title"]


def test_uids_and_titles_are_unique():
    dashboards = [_load(p) for p in FILES]
    assert len({d["uid"] for d in dashboards}) == len(dashboards)
    assert len({d["title"] for d in dashboards}) == len(dashboards)


PROM_FILES = [p for p in FILES if _is_prometheus(_load(p))]
CW_FILES = [p for p in FILES if not _is_prometheus(_load(p))]


def test_both_kinds_are_covered():
    assert len(PROM_FILES) == 8 and len(CW_FILES) == 3


@pytest.mark.parametrize("path", PROM_FILES, ids=lambda p: p.name)
def test_prometheus_dashboard_variables(path):
    dashboard = _load(path)
    variables = _variables(dashboard)
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    env = variables["environment"]
    assert env["type"] == "query" and env["query"]["query"] == "label_values(up, environment)"
    assert env["includeAll"] and env["allValue"] == ".*"
    job = variables["job"]
    assert job["type"] == "query" and 'environment=~"$environment"' in job["query"]["query"]
    if dashboard["uid"].startswith("ms-spring-boot-"):
        assert "aws_ecs_task_id" in variables["task_id"]["query"]["query"]
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


@pytest.mark.parametrize("path", PROM_FILES, ids=lambda p: p.name)
def test_every_promql_parses_and_every_selector_is_filtered(path):
    dashboard = _load(path)
    queries = _prom_queries(dashboard)
    assert len(queries) >= 5
    for where, expr, variable in queries:
        try:
            found = _selectors(expr)
        except ValueError as exc:
            pytest.fail("%s: %s: invalid PromQL %r" % (path.name, where, expr) + str(exc))
        assert found, "%s: no selector in %r" % (where, expr)
        for selector in found:
            matchers = _matchers(selector)
            if variable == "environment":
                continue  # the variable that lists the environments
            assert ("environment", "Re", "$environment") in matchers, "%s: %s lacks the environment matcher" % (where, expr)
            if variable != "job":
                assert ("job", "Re", "$job") in matchers, "%s: %s lacks job=~\"$job\"" % (where, expr)


def test_spring_dashboards_filter_jvm_panels_by_task():
    for uid in ("spring-boot-api", "spring-boot-scheduler", "spring-boot-worker"):
        dashboard = _load(DASHBOARDS / "services" / (uid + ".json"))
        jvm = [t["expr"] for p in _panels(dashboard) for t in p.get("targets", []) if "jvm_" in t.get("expr", "")]
        assert jvm and all('aws_ecs_task_id=~"$task_id"' in e for e in jvm), uid


def test_overview_repeats_a_row_per_job():
    dashboard = _load(DASHBOARDS / "services" / "overview.json")
    rows = [p for p in dashboard["panels"] if p["type"] == "row" and p.get("repeat")]
    assert [r["repeat"] for r in rows] == ["job"]


def test_service_dashboards_use_the_seed_metrics():
    text = {p.stem: p.read_text() for p in PROM_FILES}
    assert "http_server_requests_seconds_bucket" in text["spring-boot-api"]
    assert "hikaricp_connections_active" in text["spring-boot-api"]
    assert "http_requests_total" in text["python-fastapi"] and "http_request_duration_seconds_bucket" in text["python-fastapi"]
    assert "tasks_scheduled_execution_seconds_count" in text["spring-boot-scheduler"]
    assert "worker_tasks_total" in text["spring-boot-worker"]
    assert "node_filesystem_avail_bytes" in text["host"]


@pytest.mark.parametrize("path", CW_FILES, ids=lambda p: p.name)
def test_cloudwatch_dashboards(path):
    dashboard = _load(path)
    variables = _variables(dashboard)
    assert variables["cw_datasource"]["type"] == "datasource" and variables["cw_datasource"]["query"] == "cloudwatch"
    assert "region" in variables
    namespaces = set()
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "cloudwatch", "uid": "${cw_datasource}"}
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "cloudwatch", "uid": "${cw_datasource}"}
            assert target["metricName"] and target["statistic"] and target["region"] == "$region"
            assert isinstance(target["dimensions"], dict) and target["dimensions"]
            namespaces.add(target["namespace"])
    assert namespaces == CLOUDWATCH_NAMESPACES[dashboard["uid"]]


def test_shipped_dashboards_pass_the_doctor_without_scrape_configs():
    """No invalid query, no hard-coded environment, no selector without the environment filter."""
    result = doctor.diagnose(doctor.load_dashboards([str(DASHBOARDS)]),
                             datasources=[{"name": "Prometheus", "type": "prometheus", "uid": "prometheus"},
                                          {"name": "CloudWatch", "type": "cloudwatch", "uid": "cloudwatch"}],
                             checks=("invalid_query", "hardcoded_environment", "unknown_datasource", "environment_filter"))
    assert result["findings"] == []
    assert result["summary"]["dashboards"] == len(EXPECTED) and result["summary"]["queries"] > 100


def test_docs_list_every_dashboard():
    docs = (REPO / "docs" / "dashboards.md").read_text()
    for uid, folder in EXPECTED.items():
        assert "`%s`" % uid in docs, uid


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_add_environment_leaves_the_shipped_dashboards_as_they_are(path):
    """They filter on $environment already: preparing them with add_environment (as the grafana
    role and modules do) changes nothing; the CloudWatch ones get no $environment variable."""
    dashboard = _load(path)
    notes = []
    out = prepare_dashboard(dashboard, add_environment=True, report=notes,
                            datasources=[{"name": "Prometheus", "type": "prometheus", "uid": "prometheus", "isDefault": True},
                                         {"name": "CloudWatch", "type": "cloudwatch", "uid": "cloudwatch"}])
    assert out == dashboard
    if path in CW_FILES:
        assert notes == ["no Prometheus query: the $environment variable was not added"]
    else:
        assert notes == []


@pytest.mark.parametrize("path", PROM_FILES, ids=lambda p: p.name)
def test_every_promql_passes_promtool(path, tmp_path):
    """Prometheus' own parser on every query of the dashboard (as recording rules)."""
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed: the Prometheus parser check cannot run")
    queries = _prom_queries(_load(path))
    rules = [{"record": "dashboard:query_%d" % index, "expr": _parseable(expr)} for index, (_w, expr, _v) in enumerate(queries)]
    rule_file = tmp_path / "rules.yml"
    rule_file.write_text(json.dumps({"groups": [{"name": path.stem, "rules": rules}]}))
    proc = subprocess.run([promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: %d rules found" % len(rules) in proc.stdout


# The exporter variants of the RDS and ALB dashboards (either source: CloudWatch datasource or YACE).
YACE_VARIANTS = {"ms-aws-rds-yace": ("ms-aws-rds", "AWS/RDS"), "ms-aws-alb-yace": ("ms-aws-alb", "AWS/ApplicationELB")}


def _role_default_yace_config():
    defaults = yaml.safe_load((REPO / "roles" / "yace" / "defaults" / "main.yml").read_text())
    return yace_config.build_config({"regions": ["eu-west-1"], "jobs": defaults["yace_discovery_jobs"]})


@pytest.mark.parametrize("uid", sorted(YACE_VARIANTS))
def test_yace_dashboards_query_only_what_the_role_makes_yace_export(uid):
    """Every aws_* metric of an exporter dashboard is one the yace role's default jobs export
    (names by YACE's rule, checked against YACE's own names in test_yace_config.py), and the
    variant covers the namespace of its CloudWatch-datasource twin."""
    from ansible_collections.monitoring.stack.plugins.module_utils import yace_config

    exported = yace_config.exported_metric_names(_role_default_yace_config())
    twin, namespace = YACE_VARIANTS[uid]
    path = DASHBOARDS / "aws" / (uid[3:] + ".json")
    dashboard = _load(path)
    used = set()
    for _where, expr, variable in _prom_queries(dashboard):
        if variable != "environment":  # label_values(up, environment), as on every dashboard
            used.update(s.name for s in _selectors(expr))
    assert used and used <= exported, sorted(used - exported)
    prefix = yace_config.metric_name(namespace, "X", "Y").rsplit("_x_y", 1)[0] + "_"
    assert all(name.startswith(prefix) for name in used)
    assert (DASHBOARDS / "aws" / (twin[3:] + ".json")).is_file()
    assert "yace" in dashboard["tags"]
