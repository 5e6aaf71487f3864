from __future__ import annotations

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from tests.support.real_tools import promtool_check_config, promtool_check_rules

SETTINGS = {
    "scrape_interval": "30s", "scrape_timeout": "10s", "evaluation_interval": "30s",
    "retention_time": "15d", "retention_size": "", "environment": "prod",
    "external_labels": {"environment": "prod", "cluster": "eu-1", "empty": ""},
    "rule_files": ["/etc/prometheus/rules/monitoring-stack.rules.yml"],
    "alertmanagers": [], "self_address": "127.0.0.1:9090", "self_instance": "mon1:9090", "self_scheme": "http",
    "file_sd_targets": {}, "file_sd_dir": "/etc/prometheus/file_sd", "ec2_sd_jobs": [],
    "extra_scrape_configs": [], "metric_filters": {}, "remote_write": [], "amp_remote_write": {},
}


def host(name, **kw):
    data = {"name": name, "address": name, "environment": "prod", "service": "", "scrape_targets": None,
            "node_exporter_listen_address": "", "alertmanager_listen_address": "",
            "in_scrape_groups": True, "in_node_groups": True, "in_alertmanager_groups": False}
    data.update(kw)
    return data


def settings(**kw):
    out = dict(SETTINGS)
    out.update(kw)
    return out


def build(settings_, hosts):
    """pc.build_config, with every config it builds checked by the real promtool."""
    return promtool_check_config(pc.build_config(settings_, hosts))


def jobs_by_name(config):
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_inventory_gives_one_job_per_service_with_labels_and_readable_instance():
    hosts = [
        host("app1", address="10.0.0.1", scrape_targets=[
            {"service": "web-api", "port": 8080, "metrics_path": "/actuator/prometheus", "labels": {"team": "a"}}]),
        host("app2", address="10.0.0.2", environment="dev",
             scrape_targets=[{"service": "web-api", "port": 8080, "metrics_path": "/actuator/prometheus"}]),
    ]
    config = build(settings(), hosts)
    job = jobs_by_name(config)["web-api"]
    assert job["metrics_path"] == "/actuator/prometheus" and job["scheme"] == "http"
    assert job["static_configs"] == [
        {"targets": ["10.0.0.1:8080"], "labels": {"environment": "prod", "service": "web-api",
                                                  "instance": "app1:8080", "team": "a"}},
        {"targets": ["10.0.0.2:8080"], "labels": {"environment": "dev", "service": "web-api",
                                                  "instance": "app2:8080"}},
    ]
    assert config["global"]["external_labels"] == {"environment": "prod", "cluster": "eu-1"}
    assert config["rule_files"] == ["/etc/prometheus/rules/monitoring-stack.rules.yml"]


def test_node_job_uses_the_listen_address_or_the_host_address_for_wildcards():
    hosts = [host("a", node_exporter_listen_address="127.0.0.32:19100", service="web-api"),
             host("b", address="10.0.0.9", node_exporter_listen_address="0.0.0.0:9100"),
             host("c"),  # no node_exporter: not scraped
             host("d", node_exporter_listen_address="10.1.1.1:9100", in_node_groups=False)]
    node = jobs_by_name(build(settings(), hosts))["node"]
    assert node["static_configs"] == [
        {"targets": ["127.0.0.32:19100"], "labels": {"environment": "prod", "service": "web-api", "instance": "a:19100"}},
        {"targets": ["10.0.0.9:9100"], "labels": {"environment": "prod", "service": "node", "instance": "b:9100"}},
    ]


def test_self_job_alertmanagers_and_hosts_outside_scrape_groups():
    hosts = [host("mon", alertmanager_listen_address="0.0.0.0:9093", address="10.0.0.5", in_alertmanager_groups=True,
                  in_scrape_groups=False, scrape_targets=[{"service": "x", "port": 1}])]
    config = build(settings(alertmanagers=["am2:9093"], self_basic_auth={"username": "u", "password_file": "/p"}),
                   hosts)
    assert config["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["10.0.0.5:9093", "am2:9093"]}]
    jobs = jobs_by_name(config)
    assert "x" not in jobs
    assert jobs["prometheus"]["basic_auth"] == {"username": "u", "password_file": "/p"}
    assert jobs["prometheus"]["static_configs"][0]["labels"]["instance"] == "mon1:9090"


def test_metric_filters_per_job_and_for_every_job():
    hosts = [host("a", node_exporter_listen_address="1.2.3.4:9100")]
    config = build(settings(metric_filters={"*": {"drop": ["go_.*"]}, "node": {"keep": ["node_.*", "up"]}}),
                   hosts)
    jobs = jobs_by_name(config)
    assert jobs["prometheus"]["metric_relabel_configs"] == [
        {"source_labels": ["__name__"], "regex": "(?:go_.*)", "action": "drop"}]
    assert jobs["node"]["metric_relabel_configs"][1] == {"source_labels": ["__name__"], "regex": "(?:node_.*)|(?:up)",
                                                         "action": "keep"}


def test_file_sd_ec2_extra_jobs_and_amp_remote_write():
    config = build(settings(
        file_sd_targets={"batch": [{"targets": ["10.0.0.7:9000"], "labels": {"service": "batch"}}]},
        ec2_sd_jobs=[{"job_name": "ecs-api", "region": "ap-northeast-2", "port": 8080,
                      "tag_filters": {"Service": "api"}, "role_arn": "arn:aws:iam::1:role/r"}],
        extra_scrape_configs=[{"job_name": "raw", "static_configs": [{"targets": ["x:1"]}]}],
        amp_remote_write={"workspace_id": "ws-123", "region": "ap-northeast-2", "role_arn": "arn:aws:iam::1:role/w"},
    ), [])
    jobs = jobs_by_name(config)
    assert list(jobs) == ["prometheus", "batch", "ecs-api", "raw"]
    assert jobs["batch"]["file_sd_configs"][0]["files"] == ["/etc/prometheus/file_sd/batch.yml"]
    ec2 = jobs["ecs-api"]["ec2_sd_configs"][0]
    assert ec2["region"] == "ap-northeast-2" and ec2["role_arn"] == "arn:aws:iam::1:role/r"
    assert {"name": "tag:Service", "values": ["api"]} in ec2["filters"]
    assert jobs["ecs-api"]["relabel_configs"][0]["replacement"] == "${1}:8080"
    (remote,) = config["remote_write"]
    assert remote["url"] == "https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-123/api/v1/remote_write"
    assert remote["sigv4"] == {"region": "ap-northeast-2", "role_arn": "arn:aws:iam::1:role/w"}
    assert pc.file_sd_files({"batch": [{"targets": ["a:1"]}]}) == {"batch": [{"targets": ["a:1"], "labels": {}}]}


@pytest.mark.parametrize("target, expected", [
    ({"service": "web"}, "monitoring_scrape_targets of app1[0]: port is required"),
    ({"service": "web", "port": 70000}, "port must be 1-65535"),
    ({"port": 80}, "service is required"),
    ({"service": "web", "port": 80, "labels": {"bad-name": "x"}}, "'bad-name' is not a valid Prometheus label name"),
    ({"service": "web", "port": 80, "labels": {"__reserved": "x"}}, "'__reserved' is not a valid"),
    ({"service": "web", "port": 80, "scheme": "ftp"}, "scheme must be http or https"),
    ({"service": "web", "port": 80, "metrics_path": "metrics"}, "metrics_path must start with /"),
])
def test_target_problems_name_the_variable(target, expected):
    problems = pc.config_problems(settings(), [host("app1", scrape_targets=[target])])
    assert any(expected in p for p in problems), problems


def test_duplicate_job_names():
    problems = pc.config_problems(settings(extra_scrape_configs=[{"job_name": "web"}]),
                                  [host("a", scrape_targets=[{"service": "web", "port": 80}])])
    assert problems == ["prometheus_extra_scrape_configs: duplicate scrape job name 'web' (also from monitoring_scrape_targets)"]
    hosts = [host("a", scrape_targets=[{"service": "web", "port": 80}]),
             host("b", scrape_targets=[{"service": "web", "port": 80, "metrics_path": "/other"}])]
    problems = pc.config_problems(settings(), hosts)
    assert problems and "duplicate scrape job name 'web'" in problems[0]


@pytest.mark.parametrize("key, value, expected", [
    ("retention_time", "15 days", "prometheus_retention_time: '15 days' is not a duration"),
    ("retention_size", "50G", "prometheus_retention_size: '50G' is not a size"),
    ("scrape_interval", "5s", "prometheus_scrape_timeout: 10s is longer than prometheus_scrape_interval (5s)"),
    ("scrape_interval", "", "prometheus_scrape_interval"),
    ("external_labels", {"1abc": "x"}, "prometheus_external_labels: '1abc'"),
    ("amp_remote_write", {"workspace_id": "ws"}, "prometheus_amp_remote_write: needs workspace_id and region"),
    ("basic_auth_users", [{"name": "u"}], "prometheus_basic_auth_users[0]: needs name and password"),
    ("basic_auth_users", [{"name": "u", "password_hash": "$2b$" + "x" * 56}], "at least one user needs a plain password"),
    ("file_sd_targets", {"j": [{"targets": ["host-without-port"]}]}, "prometheus_file_sd_targets.j[0]: target"),
    ("metric_filters", {"node": {"drop": ["("]}}, "prometheus_metric_filters.node.drop: bad regex"),
    ("ec2_sd_jobs", [{"job_name": "x", "region": "r"}], "prometheus_ec2_sd_jobs[0]: port is required"),
])
def test_settings_problems(key, value, expected):
    problems = pc.config_problems(settings(**{key: value}), [])
    assert any(p.startswith(expected) or expected in p for p in problems), problems


def test_good_settings_have_no_problems():
    assert pc.config_problems(settings(retention_size="512MB", retention_time="1h30m"), [host("a")]) == []
    assert pc.is_duration("15d") and pc.is_duration("1h30m") and not pc.is_duration("1.5h")
    assert pc.duration_seconds("1h30m") == 5400 and pc.duration_seconds("1m500ms") == 60.5
    assert pc.duration_seconds("soon") is None


PACKS = {"service": {"groups": [{"name": "service", "rules": [{"alert": "ServiceDown", "expr": "up == 0", "for": "2m"}]}]},
         "node": {"groups": [{"name": "node", "rules": [{"alert": "HostHighCpuUsage", "expr": "x", "for": "10m"}]}]}}


def test_rule_file_selects_packs_in_order_overrides_for_and_adds_extra_rules():
    extra = [{"name": "mine", "rules": [{"alert": "Mine", "expr": "vector(1)", "for": "1m"}]}]
    out = promtool_check_rules(pc.rule_file(PACKS, ["node", "service"], {"ServiceDown": "15s", "Mine": "0s"}, extra))
    assert [g["name"] for g in out["groups"]] == ["node", "service", "mine"]
    assert out["groups"][1]["rules"][0]["for"] == "15s"
    assert out["groups"][0]["rules"][0]["for"] == "10m"
    assert out["groups"][2]["rules"][0]["for"] == "0s"
    assert PACKS["service"]["groups"][0]["rules"][0]["for"] == "2m"  # the pack data is not modified


def test_rule_problems():
    alerts = {"service": ["ServiceDown"]}
    assert pc.rule_problems(["service", "node"], ["service"], {"ServiceDown": "5s"}, [], alerts) == []
    (msg,) = pc.rule_problems(["service", "node"], ["service", "nodes"], {}, [], alerts)
    assert msg.startswith("prometheus_rule_packs: unknown rule pack 'nodes'")
    problems = pc.rule_problems(["service"], ["service"], {"ServiceDwn": "5s", "ServiceDown": "five"}, [], alerts)
    assert "prometheus_rule_for_overrides: no selected rule has the alert 'ServiceDwn'" in problems
    assert "prometheus_rule_for_overrides.ServiceDown: 'five' is not a duration" in problems
    assert pc.rule_problems(["service"], ["service"], {}, [{"rules": []}], alerts) == [
        "prometheus_extra_rules[0]: a rule group needs name and a list of rules"]


def test_extra_rules_are_parsed_by_the_given_promql_checker():
    seen = []

    def checker(expr):
        seen.append(expr)
        return "unclosed left parenthesis" if expr.count("(") != expr.count(")") else None

    extra = [{"name": "mine", "rules": [{"alert": "Ok", "expr": "up == 0", "for": "1m"},
                                        {"alert": "Broken", "expr": "rate(x[5m]"},
                                        {"record": "job:x:rate5m"},
                                        {"expr": "up"},
                                        {"alert": "SlowFor", "expr": "up", "for": "a while"}]}]
    assert pc.rule_problems(["service"], ["service"], {}, extra, {}, checker) == [
        "prometheus_extra_rules[0].rules[1] (Broken): invalid PromQL in expr: unclosed left parenthesis",
        "prometheus_extra_rules[0].rules[2] (job:x:rate5m): needs expr",
        "prometheus_extra_rules[0].rules[3]: needs alert or record",
        "prometheus_extra_rules[0].rules[4] (SlowFor): for: 'a while' is not a duration",
    ]
    assert seen == ["up == 0", "rate(x[5m]", "up"]  # a rule without a name is not parsed


def test_web_users_keep_a_matching_hash_and_rehash_a_changed_password():
    made = []

    def hasher(password):
        made.append(password)
        return "$2b$10$" + "N" * 22 + "H" * 31

    def verifier(password, hashed):
        return password == "right"

    old = "$2b$10$" + "a" * 22 + "b" * 31
    assert pc.web_users([{"name": "u", "password": "right"}], {"u": old}, hasher, verifier) == {"u": old}
    assert made == []
    new = pc.web_users([{"name": "u", "password": "changed"}], {"u": old}, hasher, verifier)
    assert new["u"] != old and made == ["changed"]
    assert pc.web_users([{"name": "v", "password_hash": "$2y$x"}], {}, hasher, verifier) == {"v": "$2y$x"}
    assert pc.web_config({"u": "h"}, {"cert_file": "c", "key_file": "k", "client_ca_file": ""}) == {
        "tls_server_config": {"cert_file": "c", "key_file": "k"}, "basic_auth_users": {"u": "h"}}
