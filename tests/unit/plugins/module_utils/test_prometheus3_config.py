"""Version-aware flags, config and preflight problems of the prometheus role (module_utils).

The real binaries of each line check the same renderings in
tests/integration/roles/test_prometheus3.py; these pin the decisions per version.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.filter import prometheus as f
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc

ROLE = Path(__file__).resolve().parents[4] / "roles" / "prometheus"


def settings(**overrides):
    base = {
        "version": "3.5.3", "agent_mode": False, "feature_flags": [], "extra_flags": {},
        "config_file": "/etc/prometheus/prometheus.yml", "data_dir": "/var/lib/prometheus",
        "listen_address": "127.0.0.1:9090", "web_config_file": "", "external_url": "",
        "console_dir": "/opt/monitoring-stack/prometheus/VERSION", "retention_time": "15d", "retention_size": "",
        "metric_name_validation_scheme": "", "fallback_scrape_protocol": "",
        "always_scrape_classic_histograms": False, "native_histograms": False,
        "rule_packs": list(pc.DEFAULT_RULE_PACKS), "extra_rules": [], "rule_for_overrides": {},
        "scrape_interval": "30s", "scrape_timeout": "10s", "evaluation_interval": "30s",
        "environment": "dev", "external_labels": {"environment": "dev"},
        "rule_files": ["/etc/prometheus/rules/monitoring-stack.rules.yml"], "alertmanagers": [],
        "self_address": "127.0.0.1:9090", "self_instance": "mon1:9090", "self_scheme": "http",
        "file_sd_targets": {}, "file_sd_dir": "/etc/prometheus/file_sd", "ec2_sd_jobs": [],
        "extra_scrape_configs": [], "metric_filters": {}, "remote_write": [], "amp_remote_write": {},
        "basic_auth_users": [],
    }
    base.update(overrides)
    return base


AM_HOST = [{"name": "am1", "address": "10.0.0.5", "alertmanager_listen_address": "0.0.0.0:9093",
            "in_alertmanager_groups": True}]


def test_the_default_rule_packs_are_the_roles_defaults():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults["prometheus_rule_packs"] == list(pc.DEFAULT_RULE_PACKS)
    assert defaults["prometheus_version"] == "3.5.3"


@pytest.mark.parametrize("version, console", [("2.42.0", True), ("2.53.3", True), ("3.5.3", False)])
def test_console_flags_only_on_2x(version, console):
    flags = pc.build_flags(settings(version=version))
    assert ("--web.console.templates=/opt/monitoring-stack/prometheus/VERSION/consoles" in flags) is console
    assert any(flag.startswith("--web.console.libraries=") for flag in flags) is console
    assert flags[:4] == ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/var/lib/prometheus",
                         "--web.listen-address=127.0.0.1:9090", "--web.enable-lifecycle"]
    assert "--storage.tsdb.retention.time=15d" in flags


def test_package_method_passes_no_console_dir():
    assert not any("console" in flag for flag in pc.build_flags(settings(version="2.42.0", console_dir="")))


@pytest.mark.parametrize("version, expected", [
    ("3.5.3", ["--storage.agent.path=/var/lib/prometheus", "--agent"]),
    ("2.53.3", ["--storage.agent.path=/var/lib/prometheus", "--enable-feature=agent"]),
])
def test_agent_mode_flags(version, expected):
    flags = pc.build_flags(settings(version=version, agent_mode=True, retention_size="1GB"))
    for flag in expected:
        assert flag in flags
    assert not any(flag.startswith("--storage.tsdb.") for flag in flags), flags
    assert "--agent" not in flags or version.startswith("3.")


def test_agent_mode_config_has_no_rules_and_no_alerting():
    config = pc.build_config(settings(agent_mode=True), AM_HOST)
    assert "rule_files" not in config and "alerting" not in config
    normal = pc.build_config(settings(), AM_HOST)
    assert normal["rule_files"] and normal["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "10.0.0.5:9093"]


def test_features_merge_into_one_flag_without_duplicates():
    flags = pc.build_flags(settings(feature_flags=["exemplar-storage"], native_histograms=True,
                                    extra_flags={"enable-feature": "exemplar-storage,memory-snapshot-on-shutdown",
                                                 "log.level": "debug", "web.enable-admin-api": True}))
    assert [flag for flag in flags if flag.startswith("--enable-feature")] == [
        "--enable-feature=exemplar-storage,memory-snapshot-on-shutdown,native-histograms"]
    assert flags[-2:] == ["--log.level=debug", "--web.enable-admin-api"]


def test_native_histograms_are_a_setting_from_3_8():
    config = pc.build_config(settings(version="3.8.0", native_histograms=True), [])
    assert config["global"]["scrape_native_histograms"] is True
    assert not any(flag.startswith("--enable-feature") for flag in pc.build_flags(
        settings(version="3.8.0", native_histograms=True)))
    assert "scrape_native_histograms" not in pc.build_config(settings(native_histograms=True), [])["global"]


def test_dollar_in_external_labels_per_version():
    labels = {"environment": "dev", "cost": "a$b"}
    assert pc.build_config(settings(external_labels=labels), [])["global"]["external_labels"]["cost"] == "a$$b"
    assert pc.build_config(settings(version="2.53.3", external_labels=labels),
                           [])["global"]["external_labels"]["cost"] == "a$b"


def test_version_settings_per_line():
    v3 = pc.build_config(settings(metric_name_validation_scheme="legacy", fallback_scrape_protocol="PrometheusText0.0.4",
                                  always_scrape_classic_histograms=True,
                                  extra_scrape_configs=[{"job_name": "own", "fallback_scrape_protocol": "PrometheusProto",
                                                         "static_configs": [{"targets": ["a:1"]}]}]), [])
    assert v3["global"]["metric_name_validation_scheme"] == "legacy"
    assert v3["global"]["always_scrape_classic_histograms"] is True
    assert {j["job_name"]: j["fallback_scrape_protocol"] for j in v3["scrape_configs"]} == {
        "prometheus": "PrometheusText0.0.4", "own": "PrometheusProto"}
    v2 = pc.build_config(settings(version="2.53.3", always_scrape_classic_histograms=True), [])
    assert v2["scrape_configs"][0]["scrape_classic_histograms"] is True
    assert "always_scrape_classic_histograms" not in v2["global"]


def test_remote_write_gets_3x_http2_default_unless_set():
    config = pc.build_config(settings(remote_write=[{"url": "http://a/w"}, {"url": "http://b/w", "enable_http2": True}],
                                      amp_remote_write={"workspace_id": "ws", "region": "eu-west-1"}), [])
    assert [r["enable_http2"] for r in config["remote_write"]] == [False, True, False]


@pytest.mark.parametrize("overrides, expected", [
    ({"feature_flags": ["promql-at-modifier"]},
     "prometheus_feature_flags: 'promql-at-modifier' was removed in Prometheus 3 (3.5.3 is selected)"),
    ({"extra_flags": {"enable-feature": "exemplar-storage,agent"}},
     "prometheus_extra_flags.enable-feature: 'agent' was removed in Prometheus 3 (3.5.3 is selected): "
     "use prometheus_agent_mode: true"),
    ({"agent_mode": True, "rule_packs": ["service"]}, "prometheus_rule_packs: agent mode (prometheus_agent_mode)"),
    ({"agent_mode": True, "extra_rules": [{"name": "g", "rules": []}]},
     "prometheus_extra_rules: agent mode (prometheus_agent_mode) has no rules and no alerting"),
    ({"agent_mode": True, "alertmanagers": ["am:9093"]},
     "prometheus_alertmanager_urls: agent mode (prometheus_agent_mode) has no rules and no alerting"),
    ({"version": "2.53.3", "metric_name_validation_scheme": "utf8"},
     "prometheus_metric_name_validation_scheme: needs Prometheus 3 (2.53.3 is selected)"),
    ({"metric_name_validation_scheme": "unicode"}, "prometheus_metric_name_validation_scheme: 'unicode' is not one of"),
    ({"version": "2.53.3", "fallback_scrape_protocol": "PrometheusText0.0.4"},
     "prometheus_fallback_scrape_protocol: needs Prometheus 3 (2.53.3 is selected)"),
    ({"fallback_scrape_protocol": "text"}, "prometheus_fallback_scrape_protocol: 'text' is not one of"),
    ({"version": "2.42.0", "always_scrape_classic_histograms": True},
     "prometheus_always_scrape_classic_histograms: needs Prometheus 2.45 or newer (2.42.0 is selected)"),
    ({"version": "2.53.3", "remote_write": [{"url": "http://a/w", "protobuf_message": "io.prometheus.write.v2.Request"}]},
     "prometheus_remote_write[0].protobuf_message: needs Prometheus 3 (2.53.3 is selected)"),
    ({"remote_write": [{"url": "http://a/w", "protobuf_message": "v2"}]},
     "prometheus_remote_write[0].protobuf_message: 'v2' is not one of"),
    ({"version": "2.53.3", "external_labels": {"k8s.cluster": "a"}},
     "prometheus_external_labels: 'k8s.cluster' is not a valid Prometheus label name (letters, digits and _"),
    ({"metric_name_validation_scheme": "legacy", "external_labels": {"k8s.cluster": "a"}},
     "prometheus_external_labels: 'k8s.cluster' is not a valid Prometheus label name"),
])
def test_version_problems(overrides, expected):
    problems = pc.config_problems(settings(**overrides), [])
    assert any(p.startswith(expected) for p in problems), problems


def test_what_each_version_accepts():
    assert pc.config_problems(settings(external_labels={"k8s.cluster": "a"}, feature_flags=["exemplar-storage"],
                                       remote_write=[{"url": "http://a/w",
                                                      "protobuf_message": "io.prometheus.write.v2.Request"}]), []) == []
    # the agent's default rule packs are not an error; 2.x keeps its removed-in-3 features
    assert pc.config_problems(settings(agent_mode=True), []) == []
    assert pc.config_problems(settings(version="2.53.3", feature_flags=["promql-at-modifier"]), []) == []
    hosts = [{"name": "app1", "in_scrape_groups": True,
              "scrape_targets": [{"service": "api", "port": 80, "labels": {"team.name": "x"}}]}]
    assert pc.config_problems(settings(), hosts) == []
    assert pc.config_problems(settings(version="2.42.0"), hosts)[0].startswith(
        "monitoring_scrape_targets of app1[0].labels: 'team.name' is not a valid")


def test_probe_output():
    out = ("prometheus, version 2.42.0+ds (branch: debian/sid, revision: 2.42.0+ds-5+deb12u1)\n"
           "  build user: x\nprometheus:\n  Installed: 2.42.0+ds-5+deb12u1\n  Candidate: 2.42.0+ds-5+deb12u1\n"
           "data_version=3.5.3\ndata_dir=populated\n")
    assert f.prometheus_probe(out) == {"installed": "2.42.0", "candidate": "2.42.0", "data_version": "3.5.3"}
    assert f.prometheus_probe("prometheus, version 3.5.3+ds1 (x)\ndata_dir=populated\n")["data_version"] == "3.5.3"
    assert f.prometheus_probe("  Candidate: 1:2.53.3+ds1-1\n") == {"installed": None, "candidate": "2.53.3",
                                                                   "data_version": None}
    assert f.prometheus_probe("")["data_version"] is None


def test_newest_version_and_downgrade():
    assert f.prometheus_newest_version(["3.5.3", "2.53.3", "", None]) == "3.5.3"
    assert f.prometheus_newest_version(["", None]) == ""
    assert f.prometheus_downgrade_problem("3.5.3", "2.42.0").startswith("prometheus_version: 2.42.0 cannot read")
    assert f.prometheus_downgrade_problem(None, "2.42.0") == ""
