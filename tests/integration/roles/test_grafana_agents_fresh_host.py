"""`--check` on a freshly started systemd host: the grafana, loki and log agent roles get through.

On a fresh host no unit exists yet, and `systemd_service` fails on a unit it cannot find
(`Could not find the requested service grafana.service`). The roles' handlers and service tasks
must therefore not touch systemd for a unit that check mode only pretends to write. The host is a
real Debian 12 container with systemd (tests/hosts/testhosts.sh), removed afterwards.
"""

from __future__ import annotations

import json

import pytest

from tests.support.playbook import fresh_testhosts, run_playbook

pytestmark = pytest.mark.slow

HOST = "ms-graf-fresh"
ADDRESS = "127.0.0.81"


@pytest.fixture
def fresh_host(testhosts, tmp_path):
    """One fresh systemd test host and an inventory that reaches it; removed afterwards."""
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"all": {
        "children": {"testhosts": {"hosts": {HOST: {}}}},
        "vars": {"ansible_connection": "community.docker.docker",
                 "ansible_python_interpreter": "/usr/bin/python3",
                 "ansible_docker_extra_args": "-H " + testhosts}}}))
    with fresh_testhosts(inventory, testhosts) as env:
        yield inventory, env


def test_check_mode_on_a_fresh_host_succeeds(fresh_host):
    inventory, env = fresh_host
    result = run_playbook(
        [{"name": "monitoring host and log agent, fresh", "hosts": HOST, "gather_facts": True,
          "roles": [{"role": "monitoring.stack.grafana"}, {"role": "monitoring.stack.loki"},
                    {"role": "monitoring.stack.log_agent"}]}],
        inventory=inventory, check=True, env={"DOCKER_HOST": env["DOCKER_HOST"]},
        extravars={
            # The services are meant to run (the default): the handlers are notified for real.
            "grafana_install_method": "archive", "grafana_obtain_binary": False,
            "grafana_admin_password": "fresh-host-check", "grafana_listen_address": ADDRESS + ":13000",
            "grafana_datasources": [{"name": "Loki", "type": "loki", "url": "http://%s:13100" % ADDRESS}],
            "loki_install_method": "archive", "loki_obtain_binary": False,
            "loki_http_listen_address": ADDRESS + ":13100", "loki_grpc_listen_address": ADDRESS + ":19095",
            "monitoring_log_agent": "alloy", "monitoring_environment": "dev", "alloy_obtain_binary": False,
            "alloy_listen_address": ADDRESS + ":12345",
            "monitoring_loki_push_url": "http://%s:13100/loki/api/v1/push" % ADDRESS,
        })
    assert result.failures(HOST) == [], result.failures(HOST)
    assert result.rc == 0, result
    # The run reached the handlers: they were notified, and skipped instead of failing.
    for handler in ("monitoring.stack.grafana : Restart Grafana", "monitoring.stack.loki : Restart Loki"):
        assert result.result(handler, HOST).get("skipped"), result.result(handler, HOST)
    assert result.changed(HOST) > 0  # check mode reports what a real run would change
