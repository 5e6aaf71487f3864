"""The fast path of the grafana, loki and alloy roles on a real systemd host.

Their binaries cannot be downloaded here (no Grafana, Loki or Alloy binary on these machines): as
in the demo, each role deploys its user, directories, configuration and unit, and the services
stay stopped. A fresh converge writes everything; the re-run changes nothing, its probes report no
drift and the install and configure tasks do not run at all. Then the test breaks what each probe
covers (a dashboard's content, a stale dashboard in a folder, a config's mode, a deleted config,
a running unit of the other log agent) and checks that the next run names each drift, repairs it with the real task, and that the run
after that changes nothing.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.integration.roles.test_fast_path_drift import changed_items, converge, docker_exec, probe_drift
from tests.support.playbook import REPO, fresh_testhosts

pytestmark = pytest.mark.slow

HOST = "ms-fastpath-grafana"
ADDRESS = "127.0.0.197"
# Alloy through the log_agent role, as site.yml runs it (monitoring_log_agent defaults to alloy).
PLAY = [{"name": "grafana, loki and alloy", "hosts": HOST, "gather_facts": True,
         "roles": [{"role": "monitoring.stack.%s" % role} for role in ("loki", "grafana", "log_agent")]}]
DASHBOARDS = "/var/lib/grafana/dashboards"
# Tasks a re-run with nothing to change must not run (the probe found their items in sync).
SKIPPED_WHEN_IN_SYNC = [
    "Create the system user grafana", "Create the directories of grafana", "Create the directories of loki",
    "Create the directories of alloy", "Write grafana.ini", "Write the datasource provisioning file",
    "Write the prepared dashboards", "Find dashboards that are no longer provisioned", "Write the Loki configuration",
    "Write the Alloy configuration", "Write the systemd unit of grafana", "Write the systemd unit of loki",
    "Write the systemd unit of alloy", "Look for the loki binary", "Look for the Alloy binary",
    # the Alloy probe found no unit of the other agent (Promtail)
    "Look for the other agent's unit", "Stop and disable the other agent",
]
PROMTAIL_UNIT = "/etc/systemd/system/promtail.service"


@pytest.fixture(name="host")
def _host(testhosts, tmp_path):
    source = tmp_path / "dashboards"
    (source / "Services").mkdir(parents=True)
    shutil.copy(REPO / "dashboards/services/overview.json", source / "overview.json")
    shutil.copy(REPO / "dashboards/services/python-fastapi.json", source / "Services" / "python-fastapi.json")
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"all": {"children": {"testhosts": {"hosts": {HOST: {}}}}, "vars": {
        "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_docker_extra_args": "-H " + testhosts, "monitoring_environment": "dev",
        # Without the binaries the units are written and enabled, never started (as in the demo).
        "grafana_obtain_binary": False, "grafana_install_method": "archive", "grafana_service_state": "stopped",
        "grafana_listen_address": ADDRESS + ":13000", "grafana_admin_password": "fast-path-test-only",
        "grafana_datasources": [{"name": "Prometheus", "uid": "prometheus", "type": "prometheus",
                                 "url": "http://%s:19090" % ADDRESS, "isDefault": True}],
        "grafana_dashboards_src": str(source), "grafana_dashboard_datasource_uids": {"DS_PROMETHEUS": "prometheus"},
        "loki_obtain_binary": False, "loki_install_method": "archive", "loki_service_state": "stopped",
        "loki_http_listen_address": ADDRESS + ":13100", "loki_grpc_listen_address": ADDRESS + ":19095",
        "alloy_obtain_binary": False, "alloy_listen_address": ADDRESS + ":12345",
        "alloy_loki_push_url": "http://%s:13100/loki/api/v1/push" % ADDRESS}}}))
    with fresh_testhosts(inventory, testhosts) as env:
        yield inventory, env


def task_names(result):
    """The tasks that ran (a task skipped by its `when` has a result too: not counted)."""
    return [name.split(" : ", 1)[-1] for name, res in result.results(HOST) if not res.get("skipped")]


# (what to break, shell, task that must report changed, the item it changed, a word of the probe's reason)
DRIFTS = [
    ("dashboard content", "echo ' ' >> %s/Services/python-fastapi.json" % DASHBOARDS,
     "Write the prepared dashboards", DASHBOARDS + "/Services/python-fastapi.json",
     DASHBOARDS + "/Services/python-fastapi.json: content differs"),
    ("stale dashboard in a folder", "echo '{}' > %s/Services/gone.json" % DASHBOARDS,
     "Remove dashboards that are no longer provisioned", DASHBOARDS + "/Services/gone.json",
     "holds Services/gone.json"),
    ("config mode", "chmod 0644 /etc/loki/config.yml", "Write the Loki configuration", "/etc/loki/config.yml",
     "/etc/loki/config.yml: mode is 0644, not 0640"),
    ("deleted config", "rm /etc/alloy/config.alloy", "Write the Alloy configuration", "/etc/alloy/config.alloy",
     "/etc/alloy/config.alloy: does not exist"),
    # a host that ran Promtail before the switch to Alloy: its unit must be stopped and disabled
    ("the other agent's unit", "printf '[Service]\\nExecStart=/bin/sleep infinity\\n[Install]\\nWantedBy=multi-user.target\\n' > %s"
     " && systemctl daemon-reload && systemctl enable --now promtail.service" % PROMTAIL_UNIT,
     "Stop and disable the other agent", "promtail.service", PROMTAIL_UNIT + ": exists"),
]


def test_rerun_skips_and_drift_is_repaired(host):
    inventory, env = host
    first = converge(inventory, env, PLAY, HOST)
    written = [task for task, _item in changed_items(first, HOST)]
    assert {"Write grafana.ini", "Write the prepared dashboards", "Write the Loki configuration",
            "Write the Alloy configuration"} <= set(written), written
    original = docker_exec(env, "cat %s/Services/python-fastapi.json" % DASHBOARDS, HOST).stdout

    rerun = converge(inventory, env, PLAY, HOST)
    assert rerun.changed(HOST) == 0, changed_items(rerun, HOST)
    assert probe_drift(rerun, HOST) == []
    ran = task_names(rerun)
    assert [task for task in SKIPPED_WHEN_IN_SYNC if task in ran] == [], ran

    docker_exec(env, "\n".join(shell for _what, shell, _task, _item, _reason in DRIFTS), HOST)
    repair = converge(inventory, env, PLAY, HOST)
    changed, drift = changed_items(repair, HOST), probe_drift(repair, HOST)
    for what, _shell, task, item, reason in DRIFTS:
        assert (task, item) in changed, (what, changed)
        assert [r for r in drift if reason in r], (what, reason, drift)
    # Only what drifted was rewritten: the other dashboard and grafana.ini stay untouched.
    assert ("Write the prepared dashboards", DASHBOARDS + "/overview.json") not in changed, changed
    assert "Write grafana.ini" not in [task for task, _item in changed], changed
    state = docker_exec(env, "cat %s/Services/python-fastapi.json; ls %s/Services; stat -c %%a /etc/loki/config.yml; "
                             "test -s /etc/alloy/config.alloy && echo alloy-config" % (DASHBOARDS, DASHBOARDS),
                        HOST).stdout
    assert state == original + "python-fastapi.json\n640\nalloy-config\n", state
    promtail = docker_exec(env, "systemctl is-active promtail.service || true; systemctl is-enabled promtail.service || true",
                           HOST).stdout.split()
    assert promtail == ["inactive", "disabled"], promtail
    again = converge(inventory, env, PLAY, HOST)
    assert again.changed(HOST) == 0, changed_items(again, HOST)
