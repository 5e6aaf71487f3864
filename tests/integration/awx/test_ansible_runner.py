"""site.yml run the way AWX runs it: ansible-runner with a private data dir holding the project
(this checkout), an inventory and extra vars, against a real systemd test host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from tests.support.playbook import REPO

HOST = "ms-awx-app"
ADDRESS = "127.0.0.75:19100"

pytestmark = pytest.mark.slow


def _runner():
    try:
        import ansible_runner  # pylint: disable=import-outside-toplevel
    except ImportError:
        pytest.skip("ansible-runner is not installed")
    return ansible_runner


@pytest.fixture
def awx_host(testhosts, tmp_path):
    """One systemd test host, made with the same playbook as `make demo`, removed afterwards."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"children": {"testhosts": {"hosts": {HOST: {}}}}}}))
    env = dict(os.environ, DOCKER_HOST=testhosts)
    playbook = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                str(REPO / "playbooks" / "testhosts.yml")]
    subprocess.run(playbook, cwd=REPO, env=env, check=True, capture_output=True, timeout=600)
    yield testhosts
    subprocess.run(playbook + ["-e", "testhosts_state=absent"], cwd=REPO, env=env, check=False,
                   capture_output=True, timeout=300)


def _private_data_dir(root, docker_host):
    (root / "inventory").mkdir(parents=True)
    (root / "env").mkdir()
    os.symlink(REPO, root / "project")  # AWX checks the project out; a link is the same tree
    (root / "inventory" / "hosts.yml").write_text(json.dumps({"all": {"children": {
        "app_hosts": {"children": {"prod": {"hosts": {HOST: {}}}}},
        "prod": {"vars": {"monitoring_environment": "prod"}},
    }, "vars": {
        "ansible_connection": "community.docker.docker",
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_docker_extra_args": "-H " + docker_host,
    }}}))
    # Survey answers arrive as extra vars.
    (root / "env" / "extravars").write_text(json.dumps({
        "node_exporter_listen_address": ADDRESS,
        "node_exporter_disabled_collectors": ["wifi"],
        # Alloy cannot be downloaded here: its configuration and unit are deployed, not the binary.
        "monitoring_log_agent": "alloy",
        "alloy_obtain_binary": False,
        "alloy_listen_address": "127.0.0.75:12345",
        "monitoring_loki_push_url": "http://127.0.0.75:13100/loki/api/v1/push",
    }))
    (root / "env" / "envvars").write_text(json.dumps({"DOCKER_HOST": docker_host}))


def test_site_runs_under_ansible_runner(awx_host, tmp_path):
    ansible_runner = _runner()
    root = tmp_path / "awx"
    _private_data_dir(root, awx_host)

    first = ansible_runner.run(private_data_dir=str(root), playbook="site.yml", quiet=True)
    assert first.status == "successful" and first.rc == 0, first.stdout.read()[-3000:]
    assert sum(first.stats["changed"].values()) > 0
    assert HOST in first.stats["ok"]

    body = urllib.request.urlopen("http://%s/metrics" % ADDRESS, timeout=10).read().decode()
    assert "node_exporter_build_info" in body
    assert "node_wifi" not in body

    second = ansible_runner.run(private_data_dir=str(root), playbook="site.yml", quiet=True)
    assert second.status == "successful", second.stdout.read()[-3000:]
    assert sum(second.stats["changed"].values()) == 0, "a second AWX run changed something"
