"""The prometheus role's version-aware flags and config, against the real binaries of each line.

For 2.42 (bookworm), 2.53 (trixie) and 3.5 (sid) the config and flags the role renders for that
version (module_utils/prometheus_config.py, the code the role's filters call) are checked by that
line's own promtool and run by that line's own prometheus; the versions are read from the
binaries. Agent mode runs for real on 3.5 (/api/v1/status/flags, no query API, a WAL), and 2.42 shows
what it refuses (3.x's --agent) and what it takes instead (the agent feature).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_versions as pv
from tests.support.playbook import REPO
from tests.support.prometheus_process import PrometheusProcess, free_port
from tests.unit.plugins.module_utils.test_prometheus3_config import settings

sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow
LINES = ["bookworm", "trixie", "sid"]


def _line(line):
    try:
        found = version_lines.stage(line)
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the %s line could not be staged: %s" % (line, exc))
    where = version_lines.bindir(line)
    return os.path.join(where, "prometheus"), os.path.join(where, "promtool"), found["prometheus"]


def _line_settings(version, tmp_path, port, **overrides):
    """What the role would pass for this version: every version-dependent setting that version takes."""
    chosen = dict(version=version, config_file=str(tmp_path / "prometheus.yml"), data_dir=str(tmp_path / "data"),
                  listen_address="127.0.0.1:%d" % port, self_address="127.0.0.1:%d" % port,
                  console_dir=str(tmp_path / "release"), rule_files=[str(tmp_path / "rules.yml")],
                  external_labels={"environment": "dev", "cost_center": "a$b"},
                  feature_flags=["exemplar-storage"], native_histograms=True,
                  remote_write=[{"url": "http://127.0.0.1:9/api/v1/write"}])
    if pv.at_least(version, (2, 45, 0)):
        chosen["always_scrape_classic_histograms"] = True
    if pv.is_v3(version):
        chosen.update(metric_name_validation_scheme="utf8", fallback_scrape_protocol="PrometheusText0.0.4",
                      external_labels={"environment": "dev", "cost_center": "a$b", "k8s.cluster": "eu"},
                      remote_write=[{"url": "http://127.0.0.1:9/api/v1/write",
                                     "protobuf_message": "io.prometheus.write.v2.Request"}])
    chosen.update(overrides)
    return settings(**chosen)


def _write(tmp_path, config):
    (tmp_path / "rules.yml").write_text("groups: []\n")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp_path / "prometheus.yml"


def _promtool_check(promtool, path):
    proc = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, check=False,
                          timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


class _Rendered(PrometheusProcess):
    """A real prometheus started with exactly the flags the role renders."""

    def __init__(self, binary, tmp_path, flags, port):
        # The rendered flags name the storage path: the base class adds none.
        super().__init__(binary, tmp_path, (tmp_path / "prometheus.yml").read_text(), ["--storage.rendered"],
                         name="rendered")
        self.port = port
        self.args = [binary] + flags


@pytest.mark.parametrize("line", LINES)
def test_rendered_config_and_flags_run_on_each_line(line, tmp_path):
    binary, promtool, version = _line(line)
    port = free_port()
    chosen = _line_settings(version, tmp_path, port)
    config = pc.build_config(chosen, [])
    assert pc.config_problems(chosen, []) == []
    path = _write(tmp_path, config)
    rc, output = _promtool_check(promtool, path)
    assert rc == 0, "%s promtool rejected the config:\n%s" % (version, output)
    flags = pc.build_flags(chosen)
    assert any(flag.startswith("--web.console.") for flag in flags) is not pv.is_v3(version), flags
    with _Rendered(binary, tmp_path, flags, port) as prom:
        loaded = yaml.safe_load(json.loads(prom.get("/api/v1/status/config"))["data"]["yaml"])
        running_flags = json.loads(prom.get("/api/v1/status/flags"))["data"]
    log = (tmp_path / "rendered.log").read_text()
    assert "Unknown option for --enable-feature" not in log, log
    assert "native-histograms" in running_flags["enable-feature"]
    assert loaded["remote_write"][0]["enable_http2"] is False
    # the role writes a$$b for 3.x (which expands $b from the environment) and a$b for 2.x: both run a$b
    assert config["global"]["external_labels"]["cost_center"] == ("a$$b" if pv.is_v3(version) else "a$b")
    assert loaded["global"]["external_labels"]["cost_center"] == "a$b"
    if pv.is_v3(version):
        assert loaded["global"]["metric_name_validation_scheme"] == "utf8"
        assert loaded["global"]["always_scrape_classic_histograms"] is True
        assert loaded["scrape_configs"][0]["fallback_scrape_protocol"] == "PrometheusText0.0.4"
        assert loaded["remote_write"][0]["protobuf_message"] == "io.prometheus.write.v2.Request"
    else:
        assert running_flags["web.console.templates"] == str(tmp_path / "release" / "consoles")
    if line == "trixie":
        assert loaded["scrape_configs"][0]["scrape_classic_histograms"] is True


@pytest.mark.parametrize("line", ["trixie", "sid"])
def test_remote_write_http2_default_per_line(line, tmp_path):
    """What the role's explicit enable_http2: false replaces: 2.x's default is true, 3.x's false."""
    binary, _promtool, version = _line(line)
    config = ("global: {}\nremote_write:\n  - url: http://127.0.0.1:9/api/v1/write\n")
    with PrometheusProcess(binary, tmp_path, config) as prom:
        loaded = yaml.safe_load(json.loads(prom.get("/api/v1/status/config"))["data"]["yaml"])
    assert loaded["remote_write"][0]["enable_http2"] is (not pv.is_v3(version))


@pytest.mark.parametrize("line", LINES)
def test_each_line_refuses_what_the_role_refuses_for_it(line, tmp_path):
    """The preflight refusals per version hold against that line's promtool."""
    _binary, promtool, version = _line(line)
    v3_only = _line_settings("3.5.3", tmp_path, 9090)
    config = pc.build_config(v3_only, [])
    rc, _output = _promtool_check(promtool, _write(tmp_path, config))
    assert (rc == 0) is pv.is_v3(version), (version, _output)
    refused = pc.config_problems(dict(v3_only, version=version), [])
    assert bool(refused) is not pv.is_v3(version), refused


def test_agent_mode_on_3x_runs_as_an_agent(tmp_path):
    binary, promtool, version = _line("sid")
    assert pv.is_v3(version)
    port = free_port()
    chosen = _line_settings(version, tmp_path, port, agent_mode=True, retention_size="1GB")
    config = pc.build_config(chosen, [{"name": "am1", "address": "127.0.0.1",
                                       "alertmanager_listen_address": "127.0.0.1:9093", "in_alertmanager_groups": True}])
    assert "rule_files" not in config and "alerting" not in config
    rc, output = _promtool_check(promtool, _write(tmp_path, config))
    assert rc == 0, output
    flags = pc.build_flags(chosen)
    assert "--agent" in flags and not any(f.startswith("--storage.tsdb") for f in flags), flags
    with _Rendered(binary, tmp_path, flags, port) as prom:
        running = json.loads(prom.get("/api/v1/status/flags"))["data"]
        with pytest.raises(urllib.error.HTTPError):
            prom.query("up")   # an agent has no TSDB to query
    assert running["agent"] == "true"
    assert running["storage.agent.path"] == str(tmp_path / "data")
    assert (tmp_path / "data" / "wal").is_dir()


def test_an_agent_config_with_rules_is_refused_by_3x(tmp_path):
    """Why preflight refuses rules in agent mode: the agent itself will not load them."""
    binary, _promtool, _version = _line("sid")
    config = pc.build_config(_line_settings("3.5.3", tmp_path, 9090), [])
    _write(tmp_path, config)
    proc = subprocess.run([binary, "--agent", "--config.file=%s" % (tmp_path / "prometheus.yml"),
                           "--storage.agent.path=%s" % (tmp_path / "data"),
                           "--web.listen-address=127.0.0.1:%d" % free_port()],
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode != 0
    assert "rule_files" in proc.stdout + proc.stderr


def test_2x_refuses_3x_agent_flag_and_runs_the_agent_feature(tmp_path):
    binary, _promtool, version = _line("bookworm")
    assert not pv.is_v3(version)
    port = free_port()
    v3_flags = pc.build_flags(_line_settings("3.5.3", tmp_path, port, agent_mode=True))
    config = pc.build_config(_line_settings(version, tmp_path, port, agent_mode=True), [])
    _write(tmp_path, config)
    proc = subprocess.run([binary] + v3_flags, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode != 0 and "--agent" in proc.stdout + proc.stderr, proc.stderr
    flags = pc.build_flags(_line_settings(version, tmp_path, port, agent_mode=True))
    assert "--enable-feature=exemplar-storage,agent,native-histograms" in flags
    with _Rendered(binary, tmp_path, flags, port) as prom:
        running = json.loads(prom.get("/api/v1/status/flags"))["data"]
    assert "agent" in running["enable-feature"].split(",")
    assert (tmp_path / "data" / "wal").is_dir()
    assert "rule_files" not in config
