"""The fast path of the package method on a real systemd host (Debian's prometheus-node-exporter).

A fresh host installs the package and masks its unit; the re-run skips the whole package step
(the probe read dpkg's status and the mask) and changes nothing. Then the test removes the package
with apt-get (dpkg keeps it as "deinstall ok config-files") and deletes the mask: the next run
must report the probe's reasons, install and mask again, and the run after that changes nothing.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.roles.test_fast_path_drift import changed_items, converge, docker_exec, probe_drift
from tests.support.playbook import fresh_testhosts

pytestmark = pytest.mark.slow

HOST = "ms-fastpath-package"
ADDRESS = "127.0.0.196"
PACKAGE = "prometheus-node-exporter"
PLAY = [{"name": "node_exporter by package", "hosts": HOST, "gather_facts": True,
         "roles": [{"role": "monitoring.stack.node_exporter"}]}]
INSTALL = "Install the packages of node_exporter"
MASK = "Mask the package's own units before installing"


@pytest.fixture(name="host")
def _host(testhosts, tmp_path):
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"all": {"children": {"testhosts": {"hosts": {HOST: {}}}}, "vars": {
        "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_docker_extra_args": "-H " + testhosts, "monitoring_environment": "dev",
        "node_exporter_install_method": "package", "node_exporter_listen_address": ADDRESS + ":19100"}}}))
    with fresh_testhosts(inventory, testhosts) as env:
        yield inventory, env


def task_names(result):
    return [name.split(" : ", 1)[-1] for name, _res in result.results(HOST)]


def test_package_drift_is_repaired(host):
    inventory, env = host
    first = converge(inventory, env, PLAY, HOST)
    assert INSTALL in [task for task, _item in changed_items(first, HOST)], changed_items(first, HOST)
    rerun = converge(inventory, env, PLAY, HOST)
    assert rerun.changed(HOST) == 0, changed_items(rerun, HOST)
    assert probe_drift(rerun, HOST) == []
    assert INSTALL not in task_names(rerun) and MASK not in task_names(rerun), task_names(rerun)

    docker_exec(env, "DEBIAN_FRONTEND=noninteractive apt-get remove -y -q %s >/dev/null\n"
                     "rm /etc/systemd/system/%s.service" % (PACKAGE, PACKAGE), HOST)
    assert "deinstall ok config-files" in docker_exec(env, "dpkg-query -W -f '${Status}' %s" % PACKAGE, HOST).stdout
    repair = converge(inventory, env, PLAY, HOST)
    changed, drift = [task for task, _item in changed_items(repair, HOST)], probe_drift(repair, HOST)
    assert INSTALL in changed and MASK in changed, changed
    assert "package %s: is deinstall ok config-files, not installed" % PACKAGE in drift, drift
    assert "/etc/systemd/system/%s.service: does not exist" % PACKAGE in drift, drift
    state = docker_exec(env, "dpkg-query -W -f '${Status}\\n' %s; readlink /etc/systemd/system/%s.service; "
                             "systemctl is-active node_exporter" % (PACKAGE, PACKAGE), HOST).stdout.splitlines()
    assert state == ["install ok installed", "/dev/null", "active"], state
    again = converge(inventory, env, PLAY, HOST)
    assert again.changed(HOST) == 0, changed_items(again, HOST)
