"""The real Prometheus tools as test oracles: promtool and amtool check what a renderer built.

Each check writes the data as YAML into a temporary directory and fails the test with the tool's
own message when the tool rejects it; without the tool the test is skipped visibly.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import tempfile

import pytest
import yaml


def _tool(name):
    path = shutil.which(name)
    if not path:
        pytest.skip("%s is not installed: the rendered file cannot be checked by the real tool" % name)
    return path


def _run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


def promtool_check_rules(rules):
    """`promtool check rules` on rule file data; returns the data."""
    promtool = _tool("promtool")
    with tempfile.TemporaryDirectory(prefix="ms-rules-") as tmp:
        path = os.path.join(tmp, "rules.yml")
        with open(path, "w") as handle:
            yaml.safe_dump(rules, handle, sort_keys=False)
        rc, output = _run([promtool, "check", "rules", path])
    assert rc == 0, "promtool check rules rejected the rules:\n%s" % output
    return rules


def promtool_check_config(config):
    """`promtool check config` on prometheus.yml data; returns the data unchanged.

    promtool also opens the files the config points to: rule files and password files are
    pointed at empty stand-ins in the checked copy (only their paths differ).
    """
    promtool = _tool("promtool")
    checked = copy.deepcopy(config)
    with tempfile.TemporaryDirectory(prefix="ms-prom-") as tmp:
        rules = os.path.join(tmp, "rules.yml")
        with open(rules, "w") as handle:
            handle.write("groups: []\n")
        secret = os.path.join(tmp, "password")
        with open(secret, "w") as handle:
            handle.write("stand-in")
        if checked.get("rule_files"):
            checked["rule_files"] = [rules]
        for job in checked.get("scrape_configs") or []:
            if (job.get("basic_auth") or {}).get("password_file"):
                job["basic_auth"]["password_file"] = secret
        path = os.path.join(tmp, "prometheus.yml")
        with open(path, "w") as handle:
            yaml.safe_dump(checked, handle, sort_keys=False)
        rc, output = _run([promtool, "check", "config", path])
    assert rc == 0, "promtool check config rejected the config:\n%s" % output
    return config


def amtool_check_config(config, amtool=None):
    """`amtool check-config` on alertmanager.yml data; returns the data. ``amtool``: the binary
    of a version line (default: the one on PATH)."""
    amtool = amtool or _tool("amtool")
    with tempfile.TemporaryDirectory(prefix="ms-am-") as tmp:
        path = os.path.join(tmp, "alertmanager.yml")
        with open(path, "w") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)
        rc, output = _run([amtool, "check-config", path])
    assert rc == 0, "amtool check-config rejected the config:\n%s" % output
    return config
