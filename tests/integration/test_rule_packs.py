"""The rule packs in rules/ are valid, complete and behave as their promtool tests say.

Runs the real promtool (`promtool check rules`, `promtool test rules`) of every version line
(bookworm's 2.42 on PATH, trixie's 2.53 and sid's 3.x staged by tests/hosts/version_lines.py):
a pack must hold on the Prometheus 3 our users run, not only on Debian 12's. Every test here
skips with a visible reason when a line's promtool cannot be had.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"
PACKS = sorted(p.stem for p in RULES.glob("*.yml"))
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not on PATH (Debian package prometheus)")
sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position


def _promtool(*args, cwd=RULES, promtool=None):
    return subprocess.run([promtool or PROMTOOL, *args], cwd=str(cwd), capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture(scope="module", params=version_lines.LINES)
def line_promtool(request):
    """promtool of one version line, staged once (cached); skipped visibly when it cannot be had."""
    try:
        version_lines.stage(request.param)
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("promtool of the %s line could not be staged: %s" % (request.param, exc))
    path = os.path.join(version_lines.bindir(request.param), "promtool")
    if not os.path.exists(path):
        pytest.skip("no promtool in the %s line (%s)" % (request.param, path))
    return path


def test_there_are_packs():
    assert {"service", "http_micrometer", "http_prometheus_client", "node", "prometheus", "blackbox"} <= set(PACKS)


@pytest.mark.parametrize("pack", PACKS)
def test_every_rule_has_severity_summary_description(pack):
    data = yaml.safe_load((RULES / (pack + ".yml")).read_text())
    rules = [rule for group in data["groups"] for rule in group["rules"]]
    assert rules, pack
    for rule in rules:
        assert "alert" in rule, "%s: only alerting rules in packs, got %r" % (pack, rule)
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert rule["annotations"]["description"].strip(), rule["alert"]
        assert "{{" not in rule["expr"], "%s: packs are plain Prometheus rules, no Jinja" % rule["alert"]


@pytest.mark.parametrize("pack", PACKS)
def test_pack_passes_promtool_check(pack, line_promtool):
    proc = _promtool("check", "rules", pack + ".yml", promtool=line_promtool)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


@pytest.mark.parametrize("pack", PACKS)
def test_pack_promtool_unit_tests(pack, line_promtool):
    test_file = RULES / "tests" / (pack + "_test.yml")
    assert test_file.is_file(), "pack %s has no rules/tests/%s_test.yml" % (pack, pack)
    tests = yaml.safe_load(test_file.read_text())
    alerts = {rule["alert"] for group in yaml.safe_load((RULES / (pack + ".yml")).read_text())["groups"]
              for rule in group["rules"]}
    cases = [case for test in tests["tests"] for case in test.get("alert_rule_test", [])]
    # Every alert of the pack is tested firing (expected alerts) and not firing (an empty case).
    for alert in alerts:
        assert any(c["alertname"] == alert and c["exp_alerts"] for c in cases), "%s never tested firing" % alert
    assert any(not c["exp_alerts"] for c in cases), "%s has no not-firing case" % pack
    proc = _promtool("test", "rules", test_file.name, cwd=test_file.parent, promtool=line_promtool)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


@needs_promtool
def test_promtool_tests_catch_a_broken_rule(tmp_path):
    """The unit tests can fail: with ServiceDown's threshold broken, its test fails."""
    (tmp_path / "tests").mkdir()
    shutil.copy(RULES / "tests" / "service_test.yml", tmp_path / "tests")
    broken = (RULES / "service.yml").read_text().replace("expr: up == 0", "expr: up == 2")
    assert broken != (RULES / "service.yml").read_text()
    (tmp_path / "service.yml").write_text(broken)
    proc = _promtool("test", "rules", "service_test.yml", cwd=tmp_path / "tests")
    assert proc.returncode != 0
    assert "ServiceDown" in proc.stdout + proc.stderr
