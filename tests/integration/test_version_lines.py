"""The three version lines of real binaries the tests run (bookworm, trixie, sid).

Versions are read from the binaries (`--version`), never assumed: sid moves. The figures are
written to tests/output/logs/version-lines.json so a run says which versions it tested. Each
line's promtool and amtool must accept a minimal config and reject a broken one: the staged
binaries are real tools, not files that merely exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile

import pytest

from tests.support.playbook import REPO

HOSTS = REPO / "tests" / "hosts"
sys.path.insert(0, str(HOSTS))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow


def _key(version):
    return tuple(int(part) for part in version.split("."))


@pytest.fixture(scope="module")
def staged():
    found = {line: version_lines.stage(line) for line in version_lines.LINES}
    logs = REPO / "tests" / "output" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "version-lines.json").write_text(json.dumps(found, indent=2, sort_keys=True))
    return found


def test_every_line_reports_versions_in_order(staged):
    for line in version_lines.LINES:
        for binary in ("prometheus", "promtool", "prometheus-alertmanager", "amtool", "prometheus-node-exporter"):
            assert staged[line].get(binary), "%s: %s reports no version" % (line, binary)
    for binary in ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter"):
        bookworm, trixie, sid = (_key(staged[line][binary]) for line in version_lines.LINES)
        assert bookworm < trixie <= sid, (binary, bookworm, trixie, sid)
    assert _key(staged["sid"]["prometheus"])[0] >= 3, "sid is the Prometheus 3 line"
    assert _key(staged["bookworm"]["prometheus"])[0] == 2


@pytest.mark.parametrize("line", version_lines.LINES)
def test_each_line_has_working_validators(staged, line, tmp_path):
    tools = version_lines.bindir(line)
    good = tmp_path / "prometheus.yml"
    good.write_text("global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: self\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:9090']\n")
    bad = tmp_path / "bad.yml"
    bad.write_text("scrape_configs:\n  - job_name: self\n    scrape_interval: thirty\n")
    promtool = os.path.join(tools, "promtool")
    assert subprocess.run([promtool, "check", "config", str(good)], capture_output=True, timeout=60, check=False).returncode == 0
    assert subprocess.run([promtool, "check", "config", str(bad)], capture_output=True, timeout=60, check=False).returncode != 0
    am_good = tmp_path / "am.yml"
    am_good.write_text("route:\n  receiver: none\nreceivers:\n  - name: none\n")
    am_bad = tmp_path / "am-bad.yml"
    am_bad.write_text("route:\n  receiver: missing\nreceivers:\n  - name: none\n")
    amtool = os.path.join(tools, "amtool")
    assert subprocess.run([amtool, "check-config", str(am_good)], capture_output=True, timeout=60, check=False).returncode == 0
    assert subprocess.run([amtool, "check-config", str(am_bad)], capture_output=True, timeout=60, check=False).returncode != 0


@pytest.mark.parametrize("line", ["trixie", "sid"])
def test_mirror_builds_upstream_layout_archives_per_line(staged, line, tmp_path):
    out = subprocess.run([sys.executable, str(HOSTS / "mirror.py"), "build", "--root", str(tmp_path), "--product",
                          "prometheus", "--line", line], capture_output=True, text=True, check=True, timeout=300)
    path, digest, version = out.stdout.split()
    assert version == staged[line]["prometheus"]
    with open(path, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == digest
    sums = (tmp_path / ("v" + version) / "sha256sums.txt").read_text()
    assert "%s  prometheus-%s.linux-amd64.tar.gz" % (digest, version) in sums
    with tarfile.open(path) as tar:
        names = tar.getnames()
    top = "prometheus-%s.linux-amd64" % version
    assert {top + "/prometheus", top + "/promtool"} <= set(names)


@pytest.mark.parametrize("line", version_lines.LINES)
def test_each_line_has_the_templates_its_alertmanager_reads(staged, line):
    # Debian's alertmanager reads these from its share directory (upstream embeds them); the
    # prometheus_lines scenario copies them onto the host beside the archive's binary.
    where = version_lines.templates_dir(line)
    with open(os.path.join(version_lines.bindir(line), "prometheus-alertmanager"), "rb") as handle:
        assert b"/usr/share/prometheus/alertmanager" in handle.read()
    for name in ("default.tmpl", "email.tmpl"):
        with open(os.path.join(where, name)) as handle:
            assert '{{ define "' in handle.read(), (line, name)
