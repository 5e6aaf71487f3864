"""site.yml refuses a bad inventory in its first play, before any host is contacted: the hosts
of these inventories do not exist, so reaching them would fail differently."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def _write(root, name, hosts_yml, group_vars):
    inv = root / "inventories" / name
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(hosts_yml)
    for group, text in group_vars.items():
        (inv / "group_vars" / ("%s.yml" % group)).write_text(text)
    return inv


def _site(playbook, repo_root, inventory):
    return playbook(str(repo_root / "site.yml"), inventory=inventory)


HOSTS = """
all:
  children:
    app_hosts:
      children:
        prod:
      hosts:
        stray-host:
    prod:
      hosts:
        app-1:
"""


def test_host_in_no_environment_group(playbook, repo_root, tmp_path):
    inv = _write(tmp_path, "prod", HOSTS, {"prod": "monitoring_environment: prod\n"})
    result = _site(playbook, repo_root, inv)
    assert result.rc != 0
    (name, message), = result.failures()
    assert name == "Check that every host has one environment, and every environment one inventory"
    assert "host stray-host is in no environment group" in message
    assert "app-1" not in message
    assert set(result.stats) == {"localhost"}, "no inventory host may be contacted"


def test_environment_used_in_two_inventories(playbook, repo_root, tmp_path):
    hosts = "all:\n  children:\n    prod:\n      hosts:\n        app-1:\n"
    inv = _write(tmp_path, "prod", hosts, {"prod": "monitoring_environment: prod\n"})
    _write(tmp_path, "prod-eu", hosts.replace("app-1", "app-2"), {"prod": "monitoring_environment: prod\n"})
    result = _site(playbook, repo_root, inv)
    assert result.rc != 0
    message = " ".join(m for _n, m in result.failures())
    assert "environment 'prod' is used by two inventories" in message and "prod-eu" in message
    assert set(result.stats) == {"localhost"}
