"""Module `attributes` come from one doc fragment (plugins/doc_fragments/attributes.py).

A module's DOCUMENTATION may only add `details` to an attribute; the description, support level,
platforms and action-group membership are the fragment's, and `ansible-doc` shows them.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.playbook import REPO

BIN = Path(sys.executable).parent
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py"))

# What each module supports, as its code does (check mode everywhere; the doctor, the
# inventory check and host_state only read and return no diff).
EXPECTED = {
    "amg_service_account": ("full", "aws", "monitoring.stack.aws"),
    "amp_alertmanager_definition": ("full", "aws", "monitoring.stack.aws"),
    "amp_rule_groups_namespace": ("full", "aws", "monitoring.stack.aws"),
    "amp_workspace": ("full", "aws", "monitoring.stack.aws"),
    "doctor": ("none", "posix", None),
    "ecs_collector_sidecar": ("full", "aws", "monitoring.stack.aws"),
    "ecs_rollout": ("full", "aws", "monitoring.stack.aws"),
    "grafana_dashboard": ("full", "all", "monitoring.stack.grafana"),
    "grafana_dashboards": ("full", "all", "monitoring.stack.grafana"),
    "grafana_datasource": ("full", "all", "monitoring.stack.grafana"),
    "grafana_folder": ("full", "all", "monitoring.stack.grafana"),
    "grafana_service_account": ("full", "all", "monitoring.stack.grafana"),
    "host_state": ("none", "posix", None),
    "inventory_check": ("none", "posix", None),
    "otel_config": ("full", "aws", "monitoring.stack.aws"),
}


def _documentation(module):
    tree = ast.parse((REPO / "plugins" / "modules" / (module + ".py")).read_text())
    [value] = [node.value.value for node in tree.body if isinstance(node, ast.Assign)
               and any(getattr(t, "id", None) == "DOCUMENTATION" for t in node.targets)]
    return yaml.safe_load(value)


def test_expected_covers_every_module():
    assert sorted(EXPECTED) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_attributes_come_from_the_fragment(module):
    doc = _documentation(module)
    fragments = doc.get("extends_documentation_fragment") or []
    assert any(f.startswith("monitoring.stack.attributes") for f in fragments), fragments
    assert "ansible.builtin.action_common_attributes" not in fragments, fragments
    for name, attribute in (doc.get("attributes") or {}).items():
        assert set(attribute) <= {"details"}, "%s repeats the fragment in attribute %s: %s" % (module, name, attribute)


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_shows_the_attributes(module):
    proc = subprocess.run([str(BIN / "ansible-doc"), "--json", "-t", "module", "monitoring.stack." + module],
                          cwd=str(REPO), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    attributes = json.loads(proc.stdout)["monitoring.stack." + module]["doc"]["attributes"]
    diff_support, platforms, group = EXPECTED[module]
    assert attributes["check_mode"]["support"] == "full"
    assert attributes["diff_mode"]["support"] == diff_support
    assert attributes["platform"]["platforms"] == platforms and attributes["platform"]["support"] == "full"
    if group:
        assert attributes["action_group"]["membership"] == [group]
        assert attributes["action_group"]["support"] == "full"
    else:
        assert "action_group" not in attributes
    for attribute in attributes.values():
        assert attribute["description"], attribute
