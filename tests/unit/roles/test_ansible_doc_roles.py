"""`ansible-doc -t role` lists every variable of the new roles (the reference the role READMEs
point to); tests/unit/roles/test_argument_specs.py keeps the spec and the defaults in step."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]


def _ansible_doc(role):
    binary = shutil.which("ansible-doc")
    if binary is None:
        pytest.skip("ansible-doc is not on PATH (the venv's ansible-core)")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"))
    proc = subprocess.run([binary, "-t", "role", "--json", "monitoring.stack." + role], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["monitoring.stack." + role]["entry_points"]["main"]["options"]


@pytest.mark.parametrize("role, names", [
    ("blackbox_exporter", None),
    ("prometheus", ["prometheus_blackbox_groups"]),
])
def test_ansible_doc_lists_the_variables(role, names):
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())
    wanted = sorted(defaults) if names is None else names
    listed = _ansible_doc(role)
    assert [name for name in wanted if name not in listed] == []
    assert all(listed[name].get("description") for name in wanted)
