"""Prometheus 2.x -> 3.x facts of module_utils/prometheus_versions.py, against the real binaries.

The oracle is the real Prometheus of each version line: 3.5 must call every flag of
FEATURES_REMOVED_IN_3 an "Unknown option" and must not call the ones it still has so; 2.x
must know them; 3.x must expand `$var` in external labels (seen on /federate) and keep a `$$`
as a literal `$`, while 2.x takes them literally. The downgrade rule is tested at its boundary
only: reading a 3.x TSDB with 2.53 belongs to the upgrade scenario.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_versions as pv
from tests.support.playbook import REPO
from tests.support.prometheus_process import PrometheusProcess

sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow
STILL_IN_3 = ("native-histograms", "exemplar-storage", "memory-snapshot-on-shutdown", "extra-scrape-metrics",
              "promql-experimental-functions", "concurrent-rule-eval")


def _binary(line):
    try:
        found = version_lines.stage(line)
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the %s line could not be staged: %s" % (line, exc))
    return os.path.join(version_lines.bindir(line), "prometheus"), found["prometheus"]


def _federated_up(prom, timeout=30):
    """/federate for `up` once the self-scrape is in (external labels are added there)."""
    body = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and 'job="self"' not in body:
        time.sleep(0.5)
        body = prom.get("/federate?match%5B%5D=up")
    return body


def _unknown_feature_options(log_text):
    return {line.split("option=")[1].strip().strip('"') for line in log_text.splitlines()
            if "Unknown option for --enable-feature" in line and "option=" in line}


@pytest.mark.parametrize("line", ["sid", "bookworm"])
def test_removed_feature_flags_are_the_ones_the_binary_does_not_know(line, tmp_path):
    binary, version = _binary(line)
    flags = sorted(pv.FEATURES_REMOVED_IN_3) + list(STILL_IN_3)
    if not pv.is_v3(version):
        flags.remove("agent")   # on 2.x it turns agent mode on, which refuses the TSDB flags
    with PrometheusProcess(binary, tmp_path, "global: {}\n", ["--enable-feature=" + ",".join(flags)]):
        pass
    unknown = _unknown_feature_options(tmp_path.joinpath("prometheus.log").read_text())
    if pv.is_v3(version):
        assert unknown == set(pv.FEATURES_REMOVED_IN_3), (version, unknown)
        assert len(pv.feature_flag_problems(flags, version)) == len(pv.FEATURES_REMOVED_IN_3)
    else:
        # 2.x: the table's flags exist; auto-gomaxprocs, auto-gomemlimit and two of 3.x's came later
        # than 2.42 (2.44-2.50), so 2.42 may not know those.
        assert unknown <= {"auto-gomaxprocs", "auto-gomemlimit", "concurrent-rule-eval",
                           "promql-experimental-functions"}, (version, unknown)
        assert {"promql-at-modifier", "expand-external-labels", "remote-write-receiver"}.isdisjoint(unknown)
        assert pv.feature_flag_problems(flags, version) == []


def test_v3_expands_dollar_in_external_labels_and_keeps_double_dollar(tmp_path):
    binary, version = _binary("sid")
    assert pv.is_v3(version)
    labels = pv.escape_external_labels({"cost_center": "ab$team", "region": "eu"}, version)
    assert labels == {"cost_center": "ab$$team", "region": "eu"}
    config = ("global:\n  scrape_interval: 1s\n  external_labels:\n    escaped: 'ab$$team'\n    raw: 'ab$team'\n"
              "scrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:PORT']\n")
    with PrometheusProcess(binary, tmp_path, config, env={"team": "EXPANDED"}) as prom:
        body = _federated_up(prom)
    assert 'escaped="ab$team"' in body, body
    assert 'raw="abEXPANDED"' in body, body


def test_v2_takes_external_labels_literally(tmp_path):
    binary, version = _binary("bookworm")
    assert pv.escape_external_labels({"cost_center": "ab$team"}, version) == {"cost_center": "ab$team"}
    config = ("global:\n  scrape_interval: 1s\n  external_labels:\n    raw: 'ab$team'\n"
              "scrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:PORT']\n")
    with PrometheusProcess(binary, tmp_path, config, env={"team": "EXPANDED"}) as prom:
        body = _federated_up(prom)
    assert 'raw="ab$team"' in body, body


def test_downgrade_rule_boundary():
    assert pv.downgrade_problem("3.5.3", "2.53.3").startswith("prometheus_version: 2.53.3 cannot read")
    assert pv.downgrade_problem("3.5.3", "2.55.0") is None
    assert pv.downgrade_problem("2.53.3", "2.42.0") is None
    assert pv.downgrade_problem("", "2.42.0") is None
