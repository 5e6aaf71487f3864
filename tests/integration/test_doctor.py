"""playbooks/doctor.yml end to end: ansible-playbook runs the doctor module on the fixtures.

Bad fixtures (tests/fixtures/doctor/bad) must fail the run with every finding in the output; clean
ones and the shipped dashboards (against scrape configs that scrape their jobs) must pass.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.filter.yace import yace_scrape_configs
from tests.support.playbook import REPO

pytestmark = pytest.mark.slow

PLAYBOOK = REPO / "playbooks" / "doctor.yml"
FIXTURES = REPO / "tests" / "fixtures" / "doctor"
TASK = 'Check dashboards for the causes of "No data"'
CHECKS_ALL = ["invalid_query", "metric_dropped", "unknown_job", "hardcoded_environment", "unknown_datasource"]


def _vars(kind, **extra):
    base = FIXTURES / kind
    out = {
        "doctor_dashboards": [str(base / "dashboards")],
        "doctor_prometheus_configs": [str(base / "prometheus.yml")],
        "doctor_otel_configs": [str(p) for p in sorted(base.glob("otel-config-*.yaml"))],
        "doctor_datasource_files": [str(base / "datasources.yml")],
    }
    out.update(extra)
    return out


def test_bad_fixtures_fail_with_every_finding(playbook):
    result = playbook(str(PLAYBOOK), extravars=_vars("bad"))
    assert result.rc != 0, result
    task = result.result(TASK)
    assert task["failed"] is True
    findings = task["findings"]
    assert sorted(set(f["check"] for f in findings)) == sorted(CHECKS_ALL)
    assert len(findings) == 14
    msg = task["msg"]
    assert msg.startswith("monitoring.stack doctor: 14 finding(s) in 2 dashboard(s)")
    for text in (
        "bad/dashboards/api-prod.json (dashboard 'Crawlinghub API (prod)', panel 'HikariCP active', refId A)",
        "metric hikaricp_connections_active is dropped before it is stored for job crawlinghub-web-api-metrics",
        "fix:     add 'hikaricp_.*' to the keep regex",
        "job 'crawlinghub-api-metrics' (job=\"crawlinghub-api-metrics\") is not scraped",
        "job 'crawlinghub-download-worker-metrics' (a value of the $job variable) is not scraped",
        'hard-coded environment matcher environment="prod"',
        "datasource uid 'ef4r3izgbak8wb' does not exist",
        "processors.filter/noexecutor metrics.exclude",
        "the query is not valid PromQL",
        "the $environment variable is a constant with the fixed value prod",
    ):
        assert text in msg, text
    with pytest.raises(KeyError):
        result.result("Show the report")


def test_clean_fixtures_pass(playbook):
    extra = {"doctor_otel_specs": [{"project": "crawlinghub", "service": "worker",
                                    "custom_metric_prefixes": ["sqs_consumer_"]}]}
    result = playbook(str(PLAYBOOK), extravars=_vars("clean", **extra))
    assert result.rc == 0, result
    task = result.result(TASK)
    assert task["findings"] == [] and task["not_checked"] == [] and task["changed"] is False
    assert task["summary"]["queries"] == 10
    assert "crawlinghub-worker-metrics" in task["summary"]["scraped_jobs"]
    report = result.result("Show the report")["msg"]
    assert report == ["monitoring.stack doctor: 0 finding(s) in 2 dashboard(s), 10 PromQL queries checked"]


def test_clean_fixtures_fail_without_the_workers_custom_prefix(playbook):
    extra = {"doctor_otel_specs": [{"project": "crawlinghub", "service": "worker"}]}
    result = playbook(str(PLAYBOOK), extravars=_vars("clean", **extra))
    assert result.rc != 0
    findings = result.result(TASK)["findings"]
    assert [(f["check"], f["panel"]) for f in findings] == [("metric_dropped", "SQS messages")]
    assert "custom_metric_prefixes: [sqs_consumer_]" in findings[0]["fix"]


SHIPPED_SPECS = [
    {"project": "shop", "service": "web-api"},
    {"project": "shop", "service": "scheduler", "custom_metric_prefixes": ["tasks_scheduled_"]},
    {"project": "shop", "service": "worker", "custom_metric_prefixes": ["worker_", "executor_"]},
]


def _shipped_inputs(tmp_path, specs, yace=True):
    # The YACE exporter's job as the stack renders it for a host of the group yace.
    yace_jobs = yace_scrape_configs({"yace": ["cw1"]}, {"cw1": {"monitoring_environment": "stage"}}) if yace else []
    prometheus = {"scrape_configs": yace_jobs + [
        {"job_name": "node", "static_configs": [{"targets": ["127.0.0.1:9100"]}],
         "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": "node_.*", "action": "keep"}]},
        {"job_name": "reviewlens-api", "static_configs": [{"targets": ["127.0.0.1:8000"]}],
         "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": "(http_.*|process_.*)", "action": "keep"}]},
    ]}
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(prometheus))
    return {"doctor_prometheus_configs": [str(path)], "doctor_otel_specs": specs,
            "doctor_datasources": [{"name": "Prometheus", "type": "prometheus"},
                                   {"name": "CloudWatch", "type": "cloudwatch", "jsonData": {"defaultRegion": "ap-northeast-2"}}]}


def test_shipped_dashboards_pass_against_scrape_configs_of_their_jobs(playbook, tmp_path):
    """The default doctor_dashboards (the shipped dashboards/) against ADOT configs of three
    Spring services, a node job and a FastAPI job. Each service dashboard's $job offers only the
    jobs that keep its own metric; the services overview offers every service, so its one JVM
    panel is empty for the FastAPI job, and the doctor says so (a $job value that drops a metric
    is reported even when other values keep it)."""
    result = playbook(str(PLAYBOOK), extravars=_shipped_inputs(tmp_path, SHIPPED_SPECS))
    assert result.rc != 0, result
    task = result.result(TASK)
    assert [(f["uid"], f["check"], f["panel"]) for f in task["findings"]] == [
        ("ms-overview", "metric_dropped", "JVM heap used")], "the YACE job (it keeps aws* and yace_* only) is not a service of ms-overview"
    assert "for job reviewlens-api (a value $job can take)" in task["findings"][0]["problem"]
    assert "let $job offer only the jobs this dashboard is for" in task["findings"][0]["fix"]
    assert task["not_checked"] == []
    assert task["summary"]["dashboards"] == 11 and task["summary"]["queries"] > 100
    assert set(task["summary"]["scraped_jobs"]) == {"node", "reviewlens-api", "shop-web-api-metrics",
                                                    "shop-scheduler-metrics", "shop-worker-metrics", "yace"}


def test_shipped_yace_dashboards_need_the_yace_job(playbook, tmp_path):
    """Without a YACE exporter to scrape, every panel of the two YACE dashboards is "No data"."""
    result = playbook(str(PLAYBOOK), extravars=_shipped_inputs(tmp_path, SHIPPED_SPECS, yace=False))
    assert result.rc != 0
    findings = [f for f in result.result(TASK)["findings"] if f["uid"] != "ms-overview"]
    assert {f["uid"] for f in findings} == {"ms-aws-rds-yace", "ms-aws-alb-yace"}
    assert all(f["check"] == "metric_dropped" and re.search(r"\baws_(rds|applicationelb)_", f["query"])
               for f in findings)


def test_shipped_scheduler_dashboard_needs_its_prefix_kept(playbook, tmp_path):
    specs = [dict(s) for s in SHIPPED_SPECS]
    specs[1]["custom_metric_prefixes"] = []
    result = playbook(str(PLAYBOOK), extravars=_shipped_inputs(tmp_path, specs))
    assert result.rc != 0
    findings = result.result(TASK)["findings"]
    overview = [f["panel"] for f in findings if f["uid"] == "ms-overview"]
    findings = [f for f in findings if f["uid"] != "ms-overview"]
    assert overview == ["JVM heap used"], "the one finding of the shipped dashboards (test above)"
    assert findings and {f["uid"] for f in findings} == {"ms-spring-boot-scheduler"}
    assert all(f["check"] == "metric_dropped" and "tasks_scheduled_execution" in f["query"] for f in findings)


def test_scrape_config_from_the_inventory(playbook, tmp_path):
    """doctor_prometheus_host's prometheus_metric_filters and the app hosts' scrape targets build
    the scrape config with the prometheus role's own filter; its datasources are checked too."""
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
                         "children": {
                             "monitoring": {"hosts": {"prom1": {
                                 "prometheus_metric_filters": {"api": {"keep": ["http_.*", "jvm_.*"]}},
                                 "grafana_datasources": [{"name": "Prometheus", "type": "prometheus", "uid": "prom"}]}}},
                             "app_hosts": {"hosts": {"app1": {
                                 "monitoring_environment": "stage",
                                 "monitoring_scrape_targets": [{"service": "api", "port": 8080}]}}}}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    board = {"uid": "inv", "title": "API", "templating": {"list": []}, "panels": [
        {"id": 1, "type": "timeseries", "title": "Pool", "datasource": {"type": "prometheus", "uid": "prom"},
         "targets": [{"refId": "A", "expr": 'hikaricp_connections_active{job="api"}'}]},
        {"id": 2, "type": "timeseries", "title": "Heap", "datasource": {"type": "prometheus", "uid": "gone"},
         "targets": [{"refId": "A", "expr": 'jvm_memory_used_bytes{job="api", environment="stage"}'}]}]}
    (tmp_path / "board.json").write_text(json.dumps(board))
    result = playbook(str(PLAYBOOK), inventory=tmp_path / "hosts.yml",
                      extravars={"doctor_dashboards": [str(tmp_path / "board.json")]})
    assert result.rc != 0
    findings = result.result(TASK)["findings"]
    assert sorted((f["check"], f["panel"]) for f in findings) == [
        ("hardcoded_environment", "Heap"), ("metric_dropped", "Pool"), ("unknown_datasource", "Heap")]
    dropped = [f for f in findings if f["check"] == "metric_dropped"][0]
    assert "job api" in dropped["problem"] and "(?:http_.*)|(?:jvm_.*)" in dropped["problem"]


SENTINEL = "doctor-sentinel-pw-7f3c91"


@pytest.mark.parametrize("callback", ["ansible.builtin.default", "ansible.posix.json"])
def test_datasource_secrets_never_reach_the_output(playbook, tmp_path, callback):
    """The inventory's grafana_datasources carry secureJsonData and basicAuthPassword: the doctor
    needs only uid, name and type, and nothing else may be printed, at -vvv, with the default
    and the JSON callbacks, on success and on failure."""
    secret_ds = {"name": "Prometheus", "type": "prometheus", "uid": "prom", "url": "http://127.0.0.1:9090",
                 "basicAuth": True, "basicAuthUser": "grafana", "basicAuthPassword": SENTINEL,
                 "jsonData": {"httpHeaderName1": "Authorization"},
                 "secureJsonData": {"basicAuthPassword": SENTINEL, "httpHeaderValue1": "Bearer " + SENTINEL}}
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                                 "ansible_python_interpreter": sys.executable}},
                         "children": {"monitoring": {"hosts": {"prom1": {"grafana_datasources": [secret_ds]}}}}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    good = {"uid": "ok", "title": "API", "templating": {"list": []}, "panels": [
        {"id": 1, "type": "timeseries", "title": "Up", "datasource": {"type": "prometheus", "uid": "prom"},
         "targets": [{"refId": "A", "expr": "up"}]}]}
    bad = dict(good, uid="bad", panels=[dict(good["panels"][0], datasource={"type": "prometheus", "uid": "gone"})])
    for name, board, failed in (("good", good, False), ("bad", bad, True)):
        (tmp_path / ("%s.json" % name)).write_text(json.dumps(board))
        result = playbook(str(PLAYBOOK), inventory=tmp_path / "hosts.yml", extra_args=["-vvv"],
                          env={"ANSIBLE_STDOUT_CALLBACK": callback},
                          extravars={"doctor_dashboards": [str(tmp_path / ("%s.json" % name))],
                                     "doctor_prometheus_from_inventory": False})
        output = result.stdout + result.stderr
        assert (result.rc != 0) is failed, output[-3000:]
        assert "Check dashboards for the causes" in output  # the task ran and printed
        assert output.count(SENTINEL) == 0, "secret printed (%s, %s dashboard)" % (callback, name)
        assert '"basicAuthUser": "grafana"' not in output and "127.0.0.1:9090" not in output, \
            "the playbook passes uid, name and type only"
        if failed:
            assert "datasource uid 'gone' does not exist (have: Prometheus (prometheus, uid prom))" in output


def test_the_module_called_with_a_full_datasource_shows_no_secret(playbook, tmp_path):
    """Called directly with a grafana_datasources entry as it is, the module reads name, type
    and uid, and masks the secret fields (no_log) at -vvv; an unknown field is refused."""
    board = {"uid": "x", "title": "X", "panels": [
        {"id": 1, "type": "timeseries", "title": "Up", "datasource": {"type": "prometheus", "uid": "gone"},
         "targets": [{"refId": "A", "expr": "up"}]}]}
    (tmp_path / "board.json").write_text(json.dumps(board))
    full = {"name": "Prometheus", "type": "prometheus", "url": "http://127.0.0.1:9090", "access": "proxy",
            "basicAuth": True, "basicAuthUser": "grafana", "basicAuthPassword": SENTINEL, "password": SENTINEL,
            "jsonData": {"timeInterval": "30s"}, "secureJsonData": {"basicAuthPassword": SENTINEL}}
    tasks = [{"name": "Doctor with a full datasource", "ignore_errors": True, "monitoring.stack.doctor": {
        "dashboards": [str(tmp_path / "board.json")], "datasources": [full]}},
        {"name": "Doctor with an unknown datasource field", "ignore_errors": True, "monitoring.stack.doctor": {
            "dashboards": [str(tmp_path / "board.json")], "datasources": [dict(full, colour="blue")]}}]
    result = playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], extra_args=["-vvv"])
    task = result.result("Doctor with a full datasource")
    assert task["failed"] is True
    assert [f["check"] for f in task["findings"]] == ["unknown_datasource"]
    assert "have: Prometheus (prometheus, uid prometheus)" in task["findings"][0]["problem"]
    unknown = result.result("Doctor with an unknown datasource field")
    assert unknown["failed"] is True and "colour" in unknown["msg"] and "findings" not in unknown
    assert SENTINEL not in result.stdout + result.stderr


def _restated_defaults(playbook_text):
    """The prometheus role defaults the doctor uses whose values the playbook restates."""
    defaults = yaml.safe_load((REPO / "roles" / "prometheus" / "defaults" / "main.yml").read_text())
    used = ("prometheus_scrape_interval", "prometheus_scrape_timeout", "prometheus_evaluation_interval",
            "prometheus_listen_address", "prometheus_config_dir", "prometheus_scrape_groups",
            "prometheus_node_exporter_groups")
    restated = []
    for key in used:
        values = defaults[key] if isinstance(defaults[key], list) else [defaults[key]]
        restated.extend("%s=%s" % (key, v) for v in values
                        if re.search(r"(?:: |default\(\[?)'%s'" % re.escape(str(v)), playbook_text))
    return restated


def test_doctor_playbook_reads_the_prometheus_role_defaults():
    """One place for the role's defaults: doctor.yml loads roles/prometheus/defaults/main.yml
    (it ships next to playbooks/ in the installed collection) and restates none of them."""
    text = PLAYBOOK.read_text()
    plays = yaml.safe_load(text)
    loads = [t["ansible.builtin.include_vars"] for t in plays[0]["tasks"] if "ansible.builtin.include_vars" in t]
    assert [t["file"] for t in loads] == ["{{ playbook_dir }}/../roles/prometheus/defaults/main.yml"]
    assert _restated_defaults(text) == []
    assert "prometheus_scrape_groups=app_hosts" in _restated_defaults("x: default(['app_hosts'])"), "it can fail"


def test_unreadable_inputs_fail_with_the_collections_message(playbook, tmp_path):
    result = playbook(str(PLAYBOOK), extravars={"doctor_dashboards": [str(tmp_path / "missing")]})
    task = result.result(TASK)
    assert task["failed"] is True
    assert task["msg"] == ("Failed to read the doctor's inputs: %s: no such file or directory. Hint: paths are read "
                           "on the host the module runs on; give absolute paths (playbooks/doctor.yml makes them "
                           "absolute)" % (tmp_path / "missing"))
