"""module_utils/blackbox_config.py: modules, their preflight checks, and the probe jobs.

The rendered blackbox.yml is checked by the real blackbox_exporter (sid line, --config.check)
and the probe jobs by promtool; what the relabelling does to a target's labels is proven with a
real Prometheus scraping a real blackbox_exporter in tests/integration/test_blackbox_probes.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import blackbox_config as bc
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from tests.support.real_tools import promtool_check_config

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position


def exporter(name="bbx1", **kw):
    data = {"name": name, "address": name, "environment": "prod", "listen_address": "0.0.0.0:9115",
            "modules": dict(bc.DEFAULT_MODULES)}
    data.update(kw)
    return data


def app(name="app1", probes=None, **kw):
    data = {"name": name, "environment": "prod", "service": "", "probes": probes}
    data.update(kw)
    return data


def probes(hosts, exporters=None):
    return {"groups": ["blackbox_exporter"], "exporters": [exporter()] if exporters is None else exporters,
            "hosts": hosts}


def test_default_modules_are_the_roles_defaults():
    defaults = yaml.safe_load((REPO / "roles" / "blackbox_exporter" / "defaults" / "main.yml").read_text())
    assert defaults["blackbox_exporter_default_modules"] == bc.DEFAULT_MODULES
    assert defaults["blackbox_exporter_listen_address"] == bc.DEFAULT_LISTEN_ADDRESS
    assert sorted(bc.DEFAULT_MODULES) == ["http_2xx", "icmp", "tcp_connect"]


def test_user_modules_add_to_and_replace_the_defaults():
    mods = bc.effective_modules(bc.DEFAULT_MODULES, {"http_post": {"prober": "http", "http": {"method": "POST"}},
                                                     "icmp": {"prober": "icmp", "timeout": "2s"}})
    assert sorted(mods) == ["http_2xx", "http_post", "icmp", "tcp_connect"]
    assert mods["icmp"] == {"prober": "icmp", "timeout": "2s"}
    assert bc.DEFAULT_MODULES["icmp"]["timeout"] == "5s"  # not mutated


def test_unknown_prober_names_the_variable():
    problems = bc.module_problems(bc.DEFAULT_MODULES, {"ping": {"prober": "pnig"}})
    assert problems == ["blackbox_exporter_modules.ping.prober: unknown prober 'pnig' "
                        "(blackbox_exporter knows http, tcp, icmp, dns, grpc, unix)"]


@pytest.mark.parametrize("modules, expected", [
    ({"x": "http"}, "blackbox_exporter_modules.x: a module is a mapping"),
    ({"x": {}}, "blackbox_exporter_modules.x.prober: unknown prober None"),
    ({"x": {"prober": "http", "timeout": "5 s"}}, "blackbox_exporter_modules.x.timeout: '5 s' is not a duration"),
    ({"bad name": {"prober": "http"}}, "blackbox_exporter_modules.bad name: module names are"),
    ("http_2xx", "blackbox_exporter_modules: must be a mapping"),
])
def test_module_problems(modules, expected):
    problems = bc.module_problems(bc.DEFAULT_MODULES, modules)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_the_defaults_have_no_problems():
    assert bc.module_problems(bc.DEFAULT_MODULES, {}) == []


def _line_binary(line, name):
    try:
        version_lines.stage(line)
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the %s line could not be staged: %s" % (line, exc))
    path = os.path.join(version_lines.bindir(line), name)
    if not os.path.exists(path):
        pytest.skip("no %s in the %s line" % (name, line))
    return path


@pytest.mark.parametrize("line", ["sid", "trixie"])
def test_rendered_config_passes_the_real_config_check(line, tmp_path):
    binary = _line_binary(line, "prometheus-blackbox-exporter")
    mods = bc.effective_modules(bc.DEFAULT_MODULES, {"http_post": {"prober": "http", "http": {"method": "POST"}}})
    path = tmp_path / "blackbox.yml"
    path.write_text(yaml.safe_dump(bc.config_file(mods)))
    proc = subprocess.run([binary, "--config.check", "--config.file=%s" % path], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The oracle can fail: a misspelt field is refused.
    path.write_text(yaml.safe_dump(bc.config_file({"x": {"prober": "http", "htp": {}}})))
    proc = subprocess.run([binary, "--config.check", "--config.file=%s" % path], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode != 0 and "htp" in proc.stdout + proc.stderr


def test_one_job_per_module_with_the_labels_and_relabelling():
    data = probes([
        app("app1", [{"url": "http://10.0.0.5:8080/actuator/health", "module": "http_2xx", "service": "orders"},
                     {"target": "10.0.0.5:5432", "module": "tcp_connect", "service": "orders-db"}]),
        app("app2", [{"url": "http://10.0.0.6:8000/health", "labels": {"team": "reviews"}}], service="reviews",
            environment="dev"),
    ], exporters=[exporter("bbx1", address="10.0.0.9"),
                  exporter("bbx2", address="10.0.0.10", environment="dev", listen_address="10.0.0.10:19115")])
    jobs = bc.probe_jobs(data)
    assert [(variable, job["job_name"]) for variable, job in jobs] == [
        ("monitoring_probes", "blackbox_http_2xx"), ("monitoring_probes", "blackbox_tcp_connect")]
    http = jobs[0][1]
    assert http["metrics_path"] == "/probe"
    assert http["params"] == {"module": ["http_2xx"]}
    assert http["static_configs"] == [
        {"targets": ["http://10.0.0.5:8080/actuator/health"],
         "labels": {"environment": "prod", "service": "orders", "__tmp_blackbox_exporter": "10.0.0.9:9115"}},
        {"targets": ["http://10.0.0.6:8000/health"],
         "labels": {"environment": "dev", "service": "reviews", "team": "reviews",
                    "__tmp_blackbox_exporter": "10.0.0.10:19115"}},
    ]
    assert http["relabel_configs"] == [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"source_labels": ["__tmp_blackbox_exporter"], "target_label": "__address__"},
    ]
    assert jobs[1][1]["static_configs"][0]["targets"] == ["10.0.0.5:5432"]


def test_probes_with_the_same_labels_share_a_static_config():
    data = probes([app("app1", [{"url": "http://a:1/health"}, {"url": "http://a:2/health"}], service="web")])
    (_variable, job), = bc.probe_jobs(data)
    assert job["static_configs"] == [{"targets": ["http://a:1/health", "http://a:2/health"],
                                      "labels": {"environment": "prod", "service": "web",
                                                 "__tmp_blackbox_exporter": "bbx1:9115"}}]


def test_no_exporter_no_jobs():
    assert bc.probe_jobs(probes([app("app1", [{"url": "http://a:1/"}], service="web")], exporters=[])) == []
    assert bc.probe_jobs(probes([app("app1", None)])) == []


@pytest.mark.parametrize("host_probes, expected", [
    ("http://a/health", "monitoring_probes of app1: must be a list"),
    (["http://a/health"], "monitoring_probes of app1[0]: must be a mapping"),
    ([{"module": "http_2xx", "service": "web"}], "monitoring_probes of app1[0]: url (or target) is required"),
    ([{"url": "http://a/", "module": "http_200", "service": "web"}],
     "monitoring_probes of app1[0]: module 'http_200' is not a module of the blackbox exporter bbx1 "
     "(it has http_2xx, icmp, tcp_connect)"),
    ([{"url": "a:80", "service": "web"}], "monitoring_probes of app1[0]: an http module probes a URL"),
    ([{"target": "http://a/", "module": "tcp_connect", "service": "web"}],
     "monitoring_probes of app1[0]: a tcp module probes host:port"),
    ([{"target": "a:80", "module": "icmp", "service": "web"}],
     "monitoring_probes of app1[0]: an icmp module probes a host name"),
    ([{"url": "http://a/"}], "monitoring_probes of app1[0]: service is required (or set monitoring_service on app1)"),
    ([{"url": "http://a/", "service": "web", "labels": {"instance": "x"}}],
     "monitoring_probes of app1[0].labels: 'instance' is not a label a probe may set"),
    ([{"url": "http://a/", "service": "web", "labels": {"1x": "y"}}],
     "monitoring_probes of app1[0].labels: '1x' is not a label"),
    ([{"url": "http://a/", "service": "web", "path": "/x"}], "monitoring_probes of app1[0]: unknown keys path"),
])
def test_probe_problems_name_the_host_and_the_item(host_probes, expected):
    problems = bc.probe_problems(probes([app("app1", host_probes)]))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_probes_without_an_exporter_are_refused():
    problems = bc.probe_problems(probes([app("app1", [{"url": "http://a/", "service": "web"}])], exporters=[]))
    assert problems == ["monitoring_probes of app1: no blackbox exporter to probe through: no host of "
                        "prometheus_blackbox_groups (blackbox_exporter)"]


def test_a_user_module_of_the_exporter_is_known():
    bbx = exporter(modules=bc.effective_modules(bc.DEFAULT_MODULES, {"dns_udp": {"prober": "dns"}}))
    data = probes([app("app1", [{"target": "10.0.0.53", "module": "dns_udp", "service": "dns"}])], exporters=[bbx])
    assert bc.probe_problems(data) == []
    assert bc.probe_jobs(data)[0][1]["job_name"] == "blackbox_dns_udp"


SETTINGS = {
    "scrape_interval": "30s", "scrape_timeout": "10s", "evaluation_interval": "30s",
    "retention_time": "15d", "retention_size": "", "environment": "prod", "external_labels": {},
    "rule_files": [], "alertmanagers": [], "self_address": "127.0.0.1:9090", "self_instance": "mon1:9090",
    "self_scheme": "http", "file_sd_targets": {}, "file_sd_dir": "/etc/prometheus/file_sd", "ec2_sd_jobs": [],
    "extra_scrape_configs": [], "metric_filters": {}, "remote_write": [], "amp_remote_write": {},
}


def test_the_prometheus_config_has_the_probe_jobs_and_promtool_accepts_it():
    web = app("app1", [{"url": "http://10.0.0.5:8080/health"}], service="web")
    settings = dict(SETTINGS, blackbox_probes=probes([web]))
    config = pc.build_config(settings, [])
    names = [job["job_name"] for job in config["scrape_configs"]]
    assert names == ["prometheus", "blackbox_http_2xx"]
    promtool_check_config(config)


def test_the_prometheus_preflight_has_the_probe_problems():
    settings = dict(SETTINGS, blackbox_probes=probes([app("app1", [{"url": "http://a/", "module": "nope",
                                                                    "service": "web"}])]))
    problems = pc.config_problems(settings, [])
    assert any(p.startswith("monitoring_probes of app1[0]: module 'nope'") for p in problems), problems


def test_a_probe_job_name_that_clashes_is_refused():
    settings = dict(SETTINGS, blackbox_probes=probes([app("app1", [{"url": "http://a/", "service": "web"}])]),
                    extra_scrape_configs=[{"job_name": "blackbox_http_2xx", "static_configs": []}])
    assert pc.config_problems(settings, []) == [
        "prometheus_extra_scrape_configs: duplicate scrape job name 'blackbox_http_2xx' (also from monitoring_probes)"]
