"""The handlers of the grafana and alloy roles reload through the products' HTTP APIs.

Grafana: a change of the datasource or dashboard provisioning file calls Grafana's admin
provisioning reload API (no restart); only grafana.ini (and plugins, binary, unit) restart it.
Alloy: a config change calls POST /-/reload, and a rejected config fails the handler with
Alloy's reason. Neither product exists here: tests/support/reload_standin.py answers as their
sources do (a stand-in, not the product). The roles' real configure tasks run on localhost with
every path in a temporary directory; restarts would need systemd, which this machine lacks, so
a test that expects no restart also proves the restart handler did not run.
"""

from __future__ import annotations

import pytest

from tests.support.reload_standin import ReloadStandIn

pytestmark = pytest.mark.slow

PASSWORD = "handler-test-admin-password"


@pytest.fixture
def standin():
    server = ReloadStandIn(admin_user="admin", admin_password=PASSWORD).start()
    yield server
    server.stop()


def _ran(result, suffix):
    """Results of the tasks whose name ends with `suffix` (role tasks carry the role's prefix)."""
    return [res for name, res in result.results() if name.endswith(suffix)]


def _grafana_run(playbook, tmp_path, standin, **extravars):
    config = tmp_path / "etc-grafana"
    for sub in ("provisioning/datasources", "provisioning/dashboards"):
        (config / sub).mkdir(parents=True, exist_ok=True)
    (tmp_path / "dashboards").mkdir(exist_ok=True)
    variables = {
        "grafana_config_dir": str(config), "grafana_dashboards_dir": str(tmp_path / "dashboards"),
        "grafana_system_group": "root", "grafana_admin_password": PASSWORD,
        "grafana_listen_address": standin.address,
        "grafana_datasources": [{"name": "Loki", "type": "loki", "url": "http://127.0.0.1:3100"}],
        "grafana_service_state": "started",
        "_grafana_dashboards": [],  # preflight's result: no dashboard files
    }
    variables.update(extravars)
    return playbook(
        [{"name": "grafana configure", "hosts": "localhost", "gather_facts": False,
          "tasks": [{"name": "Configure", "ansible.builtin.include_role": {
              "name": "monitoring.stack.grafana", "tasks_from": "configure"}}]}],
        extravars=variables)


def test_grafana_datasource_change_reloads_without_restart(playbook, tmp_path, standin):
    first = _grafana_run(playbook, tmp_path, standin, grafana_service_state="stopped")
    assert first.rc == 0, first
    assert standin.requests == []  # stopped: nothing to reload

    changed = _grafana_run(playbook, tmp_path, standin, grafana_datasources=[
        {"name": "Loki", "type": "loki", "url": "http://127.0.0.2:3100"}])
    assert changed.rc == 0, changed
    assert _ran(changed, "Write the datasource provisioning file")[0]["changed"]
    assert not _ran(changed, "Write grafana.ini")[0]["changed"]
    assert standin.requests == [("POST", "/api/admin/provisioning/datasources/reload", "admin")]
    assert _ran(changed, "Restart Grafana") == []
    assert PASSWORD not in changed.stdout + changed.stderr

    again = _grafana_run(playbook, tmp_path, standin, grafana_datasources=[
        {"name": "Loki", "type": "loki", "url": "http://127.0.0.2:3100"}])
    assert again.rc == 0 and again.changed() == 0, again
    assert len(standin.requests) == 1  # unchanged files: no call


def test_grafana_dashboard_provider_change_reloads_dashboards(playbook, tmp_path, standin):
    assert _grafana_run(playbook, tmp_path, standin, grafana_service_state="stopped").rc == 0
    (tmp_path / "elsewhere").mkdir()
    moved = _grafana_run(playbook, tmp_path, standin, grafana_dashboards_dir=str(tmp_path / "elsewhere"))
    assert moved.rc == 0, moved
    assert standin.requests == [("POST", "/api/admin/provisioning/dashboards/reload", "admin")]
    assert _ran(moved, "Restart Grafana") == []


def test_grafana_reload_failure_fails_with_grafanas_answer(playbook, tmp_path, standin):
    assert _grafana_run(playbook, tmp_path, standin, grafana_service_state="stopped").rc == 0
    standin.grafana_failure = True
    failed = _grafana_run(playbook, tmp_path, standin, grafana_datasources=[
        {"name": "Loki", "type": "loki", "url": "http://127.0.0.3:3100"}])
    assert failed.rc != 0
    messages = [msg for _name, msg in failed.failures()]
    assert messages == ["Failed to reload Grafana's datasources provisioning: HTTP 500 Internal Server Error. "
                        "Hint: Grafana logged why: journalctl -u grafana.service"], failed
    assert PASSWORD not in failed.stdout + failed.stderr


def test_grafana_reload_with_a_wrong_password_names_the_variables(playbook, tmp_path, standin):
    assert _grafana_run(playbook, tmp_path, standin, grafana_service_state="stopped").rc == 0
    standin.admin_password = "changed-in-the-ui"
    failed = _grafana_run(playbook, tmp_path, standin, grafana_datasources=[
        {"name": "Loki", "type": "loki", "url": "http://127.0.0.4:3100"}])
    assert failed.rc != 0
    message = " ".join(msg for _name, msg in failed.failures())
    assert "HTTP 401 Invalid username or password" in message and "grafana_admin_password" in message, failed
    assert PASSWORD not in failed.stdout + failed.stderr


TOKEN = "glsa_handler_test_token_0123456789"


def test_grafana_reload_with_a_service_account_token(playbook, tmp_path, standin):
    """grafana_api_token replaces the admin password in the handlers' calls; a token without
    provisioning:reload (every service account on Grafana OSS) fails naming the variable."""
    standin.tokens[TOKEN] = {"provisioning:reload"}
    assert _grafana_run(playbook, tmp_path, standin, grafana_service_state="stopped").rc == 0
    allowed = _grafana_run(playbook, tmp_path, standin, grafana_api_token=TOKEN, grafana_datasources=[
        {"name": "Loki", "type": "loki", "url": "http://127.0.0.5:3100"}])
    assert allowed.rc == 0, allowed
    assert standin.requests == [("POST", "/api/admin/provisioning/datasources/reload", "token")]  # no basic auth

    standin.tokens[TOKEN] = set()  # Grafana OSS: a service account cannot hold provisioning:reload
    denied = _grafana_run(playbook, tmp_path, standin, grafana_api_token=TOKEN, grafana_datasources=[
        {"name": "Loki", "type": "loki", "url": "http://127.0.0.6:3100"}])
    assert denied.rc != 0
    assert standin.requests[1:] == [("POST", "/api/admin/provisioning/datasources/reload", "token")]
    message = " ".join(msg for _name, msg in denied.failures())
    assert "HTTP 403 You'll need additional permissions to perform this action. Permissions needed: " \
        "provisioning:reload" in message and "grafana_api_token" in message, denied
    for run in (allowed, denied):
        assert TOKEN not in run.stdout + run.stderr and PASSWORD not in run.stdout + run.stderr


def test_grafana_ini_change_restarts_and_does_not_reload(playbook, tmp_path, standin):
    assert _grafana_run(playbook, tmp_path, standin, grafana_service_state="stopped").rc == 0
    restarted = _grafana_run(playbook, tmp_path, standin, grafana_ini={"dataproxy": {"timeout": 61}})
    assert _ran(restarted, "Write grafana.ini")[0]["changed"]
    # The restart handler ran (it fails here only because this machine has no systemd).
    assert len(_ran(restarted, "Restart Grafana")) == 1, restarted
    assert standin.requests == []


def _alloy_run(playbook, tmp_path, standin, **extravars):
    variables = {
        "alloy_config_dir": str(tmp_path / "etc-alloy"), "alloy_binary_dir": str(tmp_path / "bin"),
        "alloy_system_group": "root", "alloy_listen_address": standin.address,
        "alloy_service_state": "started", "monitoring_log_agent": "alloy",
        "monitoring_environment": "dev", "monitoring_loki_push_url": "http://127.0.0.1:3100/loki/api/v1/push",
    }
    variables.update(extravars)
    (tmp_path / "etc-alloy").mkdir(exist_ok=True)
    return playbook(
        [{"name": "alloy configure", "hosts": "localhost", "gather_facts": False,
          "tasks": [{"name": "Configure", "ansible.builtin.include_role": {
              "name": "monitoring.stack.alloy", "tasks_from": "configure"}}]}],
        extravars=variables)


def test_alloy_config_change_reloads_over_http(playbook, tmp_path, standin):
    assert _alloy_run(playbook, tmp_path, standin, alloy_service_state="stopped").rc == 0
    assert standin.requests == []
    changed = _alloy_run(playbook, tmp_path, standin, alloy_log_level="debug")
    assert changed.rc == 0, changed
    assert standin.requests == [("POST", "/-/reload", None)]
    assert _ran(changed, "Reload alloy")[0]["status"] == 200
    assert _ran(changed, "Restart alloy") == []


def test_alloy_rejected_config_fails_with_alloys_message(playbook, tmp_path, standin):
    assert _alloy_run(playbook, tmp_path, standin, alloy_service_state="stopped").rc == 0
    standin.alloy_rejection = "error: /etc/alloy/config.alloy:3:1: component \"loki.write\" does not exist"
    failed = _alloy_run(playbook, tmp_path, standin, alloy_log_level="warn")
    assert failed.rc != 0
    message = " ".join(msg for _name, msg in failed.failures())
    assert "Failed to reload Alloy: it rejected" in message, failed
    assert "(HTTP 400): error: /etc/alloy/config.alloy:3:1: component \"loki.write\" does not exist" in message
    assert "Alloy keeps running its previous configuration" in message
