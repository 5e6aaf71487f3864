"""Bad input of the prometheus role's version-aware settings fails in preflight, before any change.

Through the shared harness (tests/support/role_preflight.py): the role runs in check mode on
localhost (the version cases in one run, a host per case); the run fails, the message names the
variable, nothing changed. Archive cases take
the version from prometheus_version; package cases read it from the installed binary
(/usr/bin/prometheus here is Debian 12's 2.42, whatever prometheus_version says).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.playbook import REPO
from tests.support.role_preflight import CasesByRole, case_id

sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

ARCHIVE_3 = {"prometheus_install_method": "archive", "prometheus_version": "3.5.3"}
ARCHIVE_2 = {"prometheus_install_method": "archive", "prometheus_version": "2.53.3"}
AGENT = dict(ARCHIVE_3, prometheus_agent_mode=True)

CASES = [
    (dict(ARCHIVE_3, prometheus_feature_flags=["exemplar-storage", "promql-at-modifier"]),
     "prometheus_feature_flags: 'promql-at-modifier' was removed in Prometheus 3 (3.5.3 is selected): "
     "always on in 3.x: drop the flag"),
    (dict(ARCHIVE_3, prometheus_extra_flags={"enable-feature": "remote-write-receiver"}),
     "prometheus_extra_flags.enable-feature: 'remote-write-receiver' was removed in Prometheus 3"),
    (dict(AGENT, prometheus_rule_packs=["service", "http_micrometer"]),
     "prometheus_rule_packs: agent mode (prometheus_agent_mode) evaluates no rules"),
    (dict(AGENT, prometheus_extra_rules=[{"name": "own", "rules": [{"record": "x", "expr": "up"}]}]),
     "prometheus_extra_rules: agent mode (prometheus_agent_mode) has no rules and no alerting"),
    (dict(AGENT, prometheus_alertmanager_urls=["127.0.0.1:9093"]),
     "prometheus_alertmanager_urls: agent mode (prometheus_agent_mode) has no rules and no alerting"),
    (dict(ARCHIVE_2, prometheus_metric_name_validation_scheme="utf8"),
     "prometheus_metric_name_validation_scheme: needs Prometheus 3 (2.53.3 is selected)"),
    (dict(ARCHIVE_2, prometheus_fallback_scrape_protocol="PrometheusText0.0.4"),
     "prometheus_fallback_scrape_protocol: needs Prometheus 3 (2.53.3 is selected)"),
    (dict(ARCHIVE_2, prometheus_version="2.42.0", prometheus_always_scrape_classic_histograms=True),
     "prometheus_always_scrape_classic_histograms: needs Prometheus 2.45 or newer (2.42.0 is selected)"),
    (dict(ARCHIVE_2, prometheus_remote_write=[{"url": "http://127.0.0.1:9/w",
                                               "protobuf_message": "io.prometheus.write.v2.Request"}]),
     "prometheus_remote_write[0].protobuf_message: needs Prometheus 3 (2.53.3 is selected)"),
    (dict(ARCHIVE_3, prometheus_remote_write=[{"url": "http://127.0.0.1:9/w", "protobuf_message": "v2"}]),
     "prometheus_remote_write[0].protobuf_message: 'v2' is not one of"),
    (dict(ARCHIVE_2, prometheus_external_labels={"k8s.cluster": "eu"}),
     "prometheus_external_labels: 'k8s.cluster' is not a valid Prometheus label name (letters, digits"),
    (dict(ARCHIVE_3, prometheus_metric_name_validation_scheme="legacy", prometheus_external_labels={"k8s.cluster": "eu"}),
     "prometheus_external_labels: 'k8s.cluster' is not a valid Prometheus label name"),
    # The package method reads the version from /usr/bin/prometheus (2.42), not prometheus_version (3.5.3).
    ({"prometheus_install_method": "package", "prometheus_metric_name_validation_scheme": "utf8"},
     "prometheus_metric_name_validation_scheme: needs Prometheus 3 (2.42.0 is selected)"),
]


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def version_case_runs(tmp_path_factory):
    """CASES in one ansible-playbook run, each host with an empty data directory of its own."""
    root = tmp_path_factory.mktemp("prometheus3-cases")
    cases = []
    for index, (extravars, _expected) in enumerate(CASES):
        (root / ("data-%d" % index)).mkdir()
        cases.append(dict(extravars, prometheus_data_dir=str(root / ("data-%d" % index))))
    return CasesByRole({"prometheus": cases}, root)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CASES)), ids=[case_id("prometheus", c[1]) for c in CASES])
def test_version_settings_fail_before_any_change(version_case_runs, index):
    version_case_runs("prometheus").fails_before_any_change(index, CASES[index][1])


@pytest.mark.slow
@pytest.mark.parametrize("method, target", [("archive", "2.53.3"), ("package", "2.42.0")])
def test_downgrade_below_2_55_over_a_data_dir_written_by_3x_is_refused(role_preflight, data_dir, method, target):
    """The role's marker says 3.5.3 ran on the data directory; the package case reads its target
    version (2.42) from the installed binary."""
    (data_dir / ".monitoring-stack-version").write_text("3.5.3\n")
    before = sorted(os.listdir(data_dir))
    result = role_preflight.fails_before_any_change(
        "prometheus", {"prometheus_install_method": method, "prometheus_version": target,
                       "prometheus_data_dir": str(data_dir)},
        "prometheus_version: %s cannot read the data directory, last written by Prometheus 3.5.3: a TSDB written "
        "by 3.x is readable only by 2.55 or newer" % target)
    assert str(data_dir) in " ".join(msg for _name, msg in result.failures())
    assert sorted(os.listdir(data_dir)) == before


@pytest.mark.slow
def test_downgrade_is_refused_from_the_installed_3x_binary_without_a_marker(role_preflight, data_dir, tmp_path):
    """No marker (a data directory from before the role wrote one): a WAL there and the real 3.5
    binary in prometheus_binary_dir say that 3.x wrote it."""
    try:
        version_lines.stage("sid")
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the sid line could not be staged: %s" % exc)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "prometheus").symlink_to(os.path.join(version_lines.bindir("sid"), "prometheus"))
    (data_dir / "wal").mkdir()
    role_preflight.fails_before_any_change(
        "prometheus", dict(ARCHIVE_2, prometheus_binary_dir=str(bindir), prometheus_data_dir=str(data_dir)),
        "prometheus_version: 2.53.3 cannot read the data directory, last written by Prometheus 3.5.3")
