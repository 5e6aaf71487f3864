"""Secrets of the Prometheus and Alertmanager configs never reach the output.

The roles' configure steps run for real on localhost, writing into a temporary directory, at
-vvv (and with --diff for Prometheus), with sentinel secrets; every byte ansible-playbook
printed is searched for them. The real promtool and amtool validate the files.
"""

from __future__ import annotations

import os
import shutil
import stat

import pytest

pytestmark = pytest.mark.slow

SENTINEL = "SENTINEL-7f3a"
SLACK_HOOK = "https://hooks.slack.com/services/T0/B0/%s-%%zz" % SENTINEL  # %zz: amtool rejects it


def _configure(playbook, role, extravars, diff=False):
    return playbook(
        [{"name": "configure", "hosts": "localhost", "gather_facts": False,
          "tasks": [{"name": "Configure", "ansible.builtin.include_role": {
              "name": "monitoring.stack." + role, "tasks_from": "configure"}}]}],
        extravars=extravars, diff=diff, extra_args=["-vvv"])


def _all_output(result):
    return result.stdout + result.stderr


def test_rejected_alertmanager_config_message_has_the_reason_not_the_webhook(playbook, tmp_path):
    if not shutil.which("amtool"):
        pytest.skip("amtool is not installed: the role's validation step cannot run")
    (tmp_path / "templates").mkdir()
    result = _configure(playbook, "alertmanager", {
        "alertmanager_config_dir": str(tmp_path), "alertmanager_system_group": "root",
        "alertmanager_receivers": [{"name": "team", "slack": {"api_url": SLACK_HOOK, "channel": "#a"}},
                                   {"name": "pager", "pagerduty": {"routing_key": SENTINEL + "-rk"}}],
        "alertmanager_severity_receivers": {"warning": "team", "critical": "pager"}})
    assert result.rc != 0, result
    [(task, message)] = result.failures()
    assert task.endswith("Fail with amtool's message when the config was rejected (the old one stays)")
    assert 'invalid URL escape "%zz"' in message, message
    assert SENTINEL not in _all_output(result)
    assert not (tmp_path / "alertmanager.yml").exists()


def _remote_write(password, username="writer"):
    return [{"url": "https://metrics.example.com/api/v1/write", "name": "central",
             "basic_auth": {"username": username, "password": password}}]


def _extra_jobs(token):
    return [{"job_name": "federate", "static_configs": [{"targets": ["127.0.0.1:9999"]}],
             "authorization": {"type": "Bearer", "credentials": token}},
            {"job_name": "sso", "static_configs": [{"targets": ["127.0.0.1:9998"]}],
             "oauth2": {"client_id": "visible-client", "client_secret": token + "-oauth",
                        "token_url": "https://sso.example.com/token"}}]


def test_prometheus_config_is_0640_and_diff_masks_its_secrets(playbook, tmp_path):
    if not shutil.which("promtool"):
        pytest.skip("promtool is not installed: the role's validation step cannot run")
    for sub in ("rules", "file_sd"):
        (tmp_path / sub).mkdir()
    base = {"prometheus_config_dir": str(tmp_path), "prometheus_system_group": "root",
            "prometheus_listen_address": "127.0.0.1:19090", "prometheus_node_exporter_groups": [],
            "prometheus_service_state": "stopped"}  # no reload handler: nothing runs here
    first = _configure(playbook, "prometheus", dict(base, prometheus_remote_write=_remote_write(SENTINEL + "-pw1"),
                                                    prometheus_extra_scrape_configs=_extra_jobs(SENTINEL + "-t1")),
                       diff=True)
    assert first.rc == 0, first
    config = tmp_path / "prometheus.yml"
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o640
    assert (SENTINEL + "-pw1") in config.read_text()  # the file itself has the secrets
    # A new password and a new user name: the diff shows the user name only.
    second = _configure(playbook, "prometheus", dict(base, prometheus_remote_write=_remote_write(SENTINEL + "-pw2", "writer2"),
                                                     prometheus_extra_scrape_configs=_extra_jobs(SENTINEL + "-t2")),
                        diff=True)
    assert second.rc == 0, second
    assert (SENTINEL + "-pw2") in config.read_text()
    for result in (first, second):
        assert SENTINEL not in _all_output(result)
    # --diff stays useful: the masked diff is shown, with the fields that are not secret.
    diff = second.result("monitoring.stack.install : Show the change with its secrets masked of prometheus.yml")
    assert diff["changed"] is True
    (change,) = diff["diff"]
    assert "visible-client" in change["after"] and "<redacted>" in change["after"] and "<redacted>" in change["before"]
    assert "username: writer2" in change["after"] and "username: writer\n" in change["before"]
    third = _configure(playbook, "prometheus", dict(base, prometheus_remote_write=_remote_write(SENTINEL + "-pw2", "writer2"),
                                                    prometheus_extra_scrape_configs=_extra_jobs(SENTINEL + "-t2")),
                       diff=True)
    assert third.rc == 0 and third.changed() == 0, third
