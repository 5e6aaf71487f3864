"""The fast path on a real systemd host: every kind of drift makes the real task run and repair it.

node_exporter + alertmanager + prometheus (local archive method) converge a fresh Debian 12 host
(tests/hosts/testhosts.sh); a re-run changes nothing and its probes report no drift. Then the
test breaks the host in every way the probe covers (a config's content, a config's mode, a
directory's group, a unit file, a stopped and a disabled service, a replaced binary, a deleted
user, stale files) and checks that the next run reports each task that repairs it as changed,
that the probe named each drift, and that the host is repaired (a third run changes nothing).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.playbook import REPO, fresh_testhosts, run_playbook

pytestmark = pytest.mark.slow

HOST = "ms-fastpath-drift"
ADDRESS = "127.0.0.191"
PRODUCTS = ("node_exporter", "alertmanager", "prometheus")
PLAY = [{"name": "monitoring host", "hosts": HOST, "gather_facts": True,
         "roles": [{"role": "monitoring.stack.%s" % product} for product in PRODUCTS]}]


def docker_exec(env, script, host=HOST):
    return subprocess.run(["docker", "exec", host, "sh", "-ec", script], env=env, capture_output=True, text=True,
                          check=True, timeout=120)


@pytest.fixture(name="host")
def _host(testhosts, tmp_path):
    variables = {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3",
                 "ansible_docker_extra_args": "-H " + testhosts, "monitoring_environment": "dev",
                 "node_exporter_listen_address": ADDRESS + ":19100",
                 "alertmanager_listen_address": ADDRESS + ":19093", "prometheus_listen_address": ADDRESS + ":19090",
                 "prometheus_file_sd_targets": {"api": [{"targets": ["%s:18080" % ADDRESS]}]}}
    for product in PRODUCTS:
        root = tmp_path / "mirror" / product
        out = subprocess.run([sys.executable, str(REPO / "tests/hosts/mirror.py"), "build", "--root", str(root),
                              "--product", product], capture_output=True, text=True, check=True, timeout=300)
        version = out.stdout.split()[-1]
        variables.update({"%s_install_method" % product: "local", "%s_version" % product: version,
                          "%s_local_archive" % product: str(sorted(root.glob("v%s/*.tar.gz" % version))[0])})
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"all": {"children": {
        "testhosts": {"hosts": {HOST: {}}}, "monitoring": {"hosts": {HOST: {}}},
        "alertmanager": {"hosts": {HOST: {}}}}, "vars": variables}}))
    with fresh_testhosts(inventory, testhosts) as env:
        yield inventory, env


def converge(inventory, env, play=None, host=HOST):
    result = run_playbook(play or PLAY, inventory=inventory,
                          env={"DOCKER_HOST": env["DOCKER_HOST"], "ANSIBLE_PIPELINING": "true"})
    assert result.rc == 0 and not result.failures(host), result
    return result


def changed_items(result, host=HOST):
    """(task name without its role, dest/path/name of the changed item or task) for every change.

    A task with no_log (the configs, which may hold secrets) shows no path: "" stands for it.
    """
    found = []
    for name, res in result.results(host):
        for item in res.get("results") or [res]:
            if item.get("changed"):
                found.append((name.split(" : ", 1)[-1],
                              str(item.get("dest") or item.get("path") or item.get("name") or "")))
    return found


def probe_drift(result, host=HOST):
    return [reason for name, res in result.results(host) if "Read in one call the state on the host of " in name
            for reason in res.get("drift", [])]


# (what to break, shell, task that must report changed, what it changed, a word of the probe's reason)
DRIFTS = [
    ("config content", "echo '# edited' >> /etc/prometheus/prometheus.yml",
     "Write the main config (checked by promtool check config)", "",
     "/etc/prometheus/prometheus.yml: content differs"),
    ("config mode", "chmod 0644 /etc/alertmanager/alertmanager.yml",
     "Write the config (checked by amtool check-config)", "",
     "/etc/alertmanager/alertmanager.yml: mode is 0644, not 0640"),
    ("directory group", "chgrp root /etc/prometheus/rules",
     "Create the directories of prometheus", "/etc/prometheus/rules",
     "/etc/prometheus/rules: group is root, not prometheus"),
    ("unit file", "sed -i 's/^RestartSec=5s/RestartSec=1s/' /etc/systemd/system/alertmanager.service",
     "Write the systemd unit of alertmanager", "/etc/systemd/system/alertmanager.service",
     "/etc/systemd/system/alertmanager.service: content differs"),
    ("stopped service", "systemctl stop node_exporter",
     "Set the state of node_exporter", "node_exporter.service", "unit node_exporter.service: is inactive"),
    ("disabled service", "systemctl disable prometheus",
     "Set the state of prometheus", "prometheus.service", "unit prometheus.service: is disabled"),
    ("replaced binary", "printf x >> /usr/local/bin/node_exporter",
     "Put the binaries in place", "/usr/local/bin/node_exporter", "/usr/local/bin/node_exporter: content differs"),
    ("deleted user", "userdel prometheus",
     "Create the system user prometheus", "prometheus", "user prometheus: does not exist"),
    ("stale file_sd file", "touch /etc/prometheus/file_sd/gone.yml",
     "Remove file_sd files of jobs that are gone", "/etc/prometheus/file_sd/gone.yml", "holds gone.yml"),
    ("stale template", "touch /etc/alertmanager/templates/old.tmpl",
     "Remove templates that are gone", "/etc/alertmanager/templates/old.tmpl", "holds old.tmpl"),
    ("file_sd content", "echo '[]' > /etc/prometheus/file_sd/api.yml",
     "Write the file_sd target files (re-read by Prometheus, no reload)", "/etc/prometheus/file_sd/api.yml",
     "/etc/prometheus/file_sd/api.yml: content differs"),
    ("data marker", "echo 0.0.1 > /var/lib/prometheus/.monitoring-stack-version",
     "Record the newest Prometheus version that ran on the data directory",
     "/var/lib/prometheus/.monitoring-stack-version", "/var/lib/prometheus/.monitoring-stack-version: content differs"),
]


def test_every_drift_is_repaired(host):
    inventory, env = host
    converge(inventory, env)
    rerun = converge(inventory, env)
    assert rerun.changed(HOST) == 0, changed_items(rerun)
    # The products' binaries are the machine's Debian builds; alertmanager's looks for the
    # package's default.tmpl and restarts in a loop, which the probe reports (and the task re-runs).
    assert [d for d in probe_drift(rerun) if "alertmanager.service" not in d] == []

    docker_exec(env, "\n".join(shell for _what, shell, _task, _item, _reason in DRIFTS))
    repair = converge(inventory, env)
    changed, drift = changed_items(repair), probe_drift(repair)
    for what, _shell, task, item, reason in DRIFTS:
        assert (task, item) in changed, "%s: %s did not repair %s; changed: %s" % (what, task, item, changed)
        assert any(reason in d for d in drift), "%s: the probe did not report it: %s" % (what, drift)

    state = docker_exec(env, "stat -c '%a %G' /etc/alertmanager/alertmanager.yml /etc/prometheus/rules; "
                             "systemctl is-active node_exporter; systemctl is-enabled prometheus; id -u prometheus; "
                             "ls /etc/prometheus/file_sd /etc/alertmanager/templates").stdout.split()
    assert state[:4] == ["640", "alertmanager", "755", "prometheus"], state
    assert state[4:6] == ["active", "enabled"], state
    assert "gone.yml" not in state and "old.tmpl" not in state, state
    again = converge(inventory, env)
    assert again.changed(HOST) == 0, changed_items(again)
