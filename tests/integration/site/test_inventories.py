"""The shipped inventories pass site.yml's own inventory check (playbooks/check_inventory.yml,
site.yml's first play, which runs on the controller only) and give every host one environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.playbook import REPO

INVENTORIES = sorted(p.name for p in (REPO / "inventories").iterdir() if p.is_dir())
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", INVENTORIES)
def test_site_inventory_check_passes(playbook, name):
    result = playbook(str(REPO / "playbooks" / "check_inventory.yml"), inventory=REPO / "inventories" / name)
    assert result.rc == 0, result
    check = result.result("Check that every host has one environment, and every environment one inventory")
    assert check["problems"] == []
    assert check["environments"], "no environment found in %s" % name


@pytest.mark.parametrize("name", [n for n in INVENTORIES if n != "local"])
def test_environment_inventories_hold_one_environment(name):
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"),
                          "-i", str(REPO / "inventories" / name), "--list"],
                         capture_output=True, text=True, check=True, cwd=REPO)
    hostvars = json.loads(out.stdout)["_meta"]["hostvars"]
    assert hostvars
    assert {v.get("monitoring_environment") for v in hostvars.values()} == {name}
