"""Bad role input fails in preflight, before anything changes on the host.

Each case goes through the shared harness (tests/support/role_preflight.py): the role runs in
check mode against localhost, the run must fail with a message naming the variable, and no task
may report a change. The bad-input cases of one role share one run, each case a host of its own
(``RolePreflight.run_cases``).
"""

from __future__ import annotations

import hashlib

import pytest

from tests.support.playbook import run_playbook
from tests.support.role_preflight import CasesByRole, case_id

CASES = {
    "node_exporter": [
        ({"node_exporter_install_method": "snap"}, "node_exporter_install_method"),
        ({"node_exporter_install_method": "archive", "node_exporter_archive_url": ""}, "node_exporter_archive_url"),
        ({"node_exporter_install_method": "archive", "node_exporter_archive_checksum": ""},
         "node_exporter_archive_checksum: required"),
        ({"node_exporter_install_method": "archive", "node_exporter_archive_checksum": "sha256:" + "0" * 63},
         "node_exporter_archive_checksum: a sha256 digest has 64 hex characters, got 63"),
        ({"node_exporter_listen_address": "9100"}, "node_exporter_listen_address: must be host:port"),
        ({"node_exporter_listen_address": "127.0.0.1:99999"}, "node_exporter_listen_address: must be host:port"),
        ({"node_exporter_install_method": "local"}, "node_exporter_local_archive: required"),
        ({"node_exporter_enabled_collectors": ["systemd"], "node_exporter_disabled_collectors": ["systemd"]},
         "both name systemd"),
        # A missing local archive is found before any user, group or directory is created.
        ({"node_exporter_install_method": "local", "node_exporter_local_archive": "/nonexistent/ne-1.5.0.tar.gz"},
         "node_exporter_local_archive: /nonexistent/ne-1.5.0.tar.gz does not exist on the controller"),
        # -e gives a string where a list is expected: refused, not rendered letter by letter.
        ({"node_exporter_enabled_collectors": "systemd,textfile"},
         "node_exporter_enabled_collectors: must be a list, got the string 'systemd,textfile'"),
        ({"node_exporter_disabled_collectors": "wifi"}, "node_exporter_disabled_collectors: must be a list"),
    ],
    "prometheus": [
        ({"prometheus_install_method": "local", "prometheus_local_archive": "/nonexistent/prometheus.tar.gz"},
         "prometheus_local_archive: /nonexistent/prometheus.tar.gz does not exist on the controller"),
        ({"prometheus_scrape_groups": "app_hosts,web"}, "prometheus_scrape_groups: must be a list"),
        ({"prometheus_extra_rules": [{"name": "mine", "rules": [
            {"alert": "Broken", "expr": "rate(http_requests_total[5m]"}]}]},
         "prometheus_extra_rules[0].rules[0] (Broken): invalid PromQL in expr"),
        ({"prometheus_extra_rules": [{"name": "mine", "rules": [{"alert": "NoExpr"}]}]},
         "prometheus_extra_rules[0].rules[0] (NoExpr): needs expr"),
    ],
    "alertmanager": [
        ({"alertmanager_install_method": "local", "alertmanager_local_archive": "/nonexistent/am.tar.gz"},
         "alertmanager_local_archive: /nonexistent/am.tar.gz does not exist on the controller"),
        ({"alertmanager_group_by": "alertname,service"}, "alertmanager_group_by: must be a list"),
        ({"alertmanager_cluster_peers": "10.0.0.2:9094"}, "alertmanager_cluster_peers: must be a list"),
        ({"alertmanager_receivers": [{"name": "hook", "webhook": {"url": "127.0.0.1:5001/SECRET-PATH"}}],
          "alertmanager_route_receiver": "hook"},
         "alertmanager_receivers[0] (hook): webhook[0].url has no scheme (http:// or https://)"),
        ({"alertmanager_receivers": [{"name": "s", "slack": {"api_url": "hooks.slack.com/services/SECRET-PATH"}}],
          "alertmanager_route_receiver": "s"},
         "alertmanager_receivers[0] (s): slack[0].api_url has no scheme (http:// or https://)"),
    ],
}
SECRETS = ["SECRET-PATH"]


def _cases():
    for role, cases in CASES.items():
        for index, (_extravars, expected) in enumerate(cases):
            yield pytest.param(role, index, expected, id=case_id(role, expected))


@pytest.fixture(scope="module")
def bad_input_runs(tmp_path_factory):
    """Each role's bad-input cases, made in one ansible-playbook run per role on first use."""
    return CasesByRole({role: [extravars for extravars, _expected in cases] for role, cases in CASES.items()},
                       tmp_path_factory.mktemp("preflight-cases"), run_playbook)


@pytest.mark.slow
@pytest.mark.parametrize("role, index, expected", _cases())
def test_bad_input_fails_before_any_change(bad_input_runs, role, index, expected):
    bad_input_runs(role).fails_before_any_change(index, expected, secrets=SECRETS)


# Each role's own settings that its preflight needs to pass (besides the install settings).
ROLE_BASE = {
    "node_exporter": {}, "prometheus": {}, "alertmanager": {},
    "grafana": {"grafana_admin_password": "preflight-test-password"},
    "loki": {},
    "alloy": {"monitoring_log_agent": "alloy", "monitoring_environment": "dev",
              "monitoring_loki_push_url": "http://127.0.0.63:3100/loki/api/v1/push"},
    "promtail": {"monitoring_log_agent": "promtail", "monitoring_environment": "dev",
                 "monitoring_loki_push_url": "http://127.0.0.63:3100/loki/api/v1/push",
                 "monitoring_log_files": [{"path": "/var/log/app/*.log", "service": "app"}]},
}


def _local_archive(tmp_path):
    archive = tmp_path / "product-1.0.0.linux-amd64.tar.gz"
    archive.write_bytes(b"not really an archive, preflight only reads its checksum")
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("role", sorted(ROLE_BASE))
def test_local_method_with_the_default_checksum_passes_preflight(role_preflight, tmp_path, role):
    """The default checksum is a URL under the mirror: with the local method it is not a digest to
    compare, so preflight passes (and says the archive is not verified) instead of failing."""
    archive, _digest = _local_archive(tmp_path)
    result = role_preflight.run(role, dict(ROLE_BASE[role], **{role + "_install_method": "local",
                                                               role + "_local_archive": str(archive)}),
                                tasks_from="preflight")
    assert result.rc == 0 and result.failures() == [], result
    assert result.changed() == 0, result
    note = result.result("monitoring.stack.install : Say that the local archive is not verified")
    assert "%s_archive_checksum" % role in note["msg"] and "not verified" in note["msg"], note


@pytest.mark.slow
def test_local_archive_with_a_wrong_digest_fails_in_preflight(role_preflight, tmp_path):
    archive, digest = _local_archive(tmp_path)
    role_preflight.fails_before_any_change("node_exporter", {
        "node_exporter_install_method": "local", "node_exporter_local_archive": str(archive),
        "node_exporter_archive_checksum": "sha256:" + "0" * 64},
        "node_exporter_archive_checksum: %s has sha256 %s, expected %s" % (archive, digest, "0" * 64))
    result = role_preflight.run("node_exporter", {
        "node_exporter_install_method": "local", "node_exporter_local_archive": str(archive),
        "node_exporter_archive_checksum": digest.upper()}, tasks_from="preflight")
    assert result.rc == 0 and result.failures() == [], result


def _controller_release():
    try:
        with open("/etc/os-release") as handle:
            return dict(line.strip().split("=", 1) for line in handle if "=" in line).get("VERSION_CODENAME")
    except OSError:
        return None


@pytest.mark.slow
@pytest.mark.skipif(_controller_release() != "bookworm",
                    reason="the preflight runs on localhost; the refusal applies to Debian 12 (bookworm) hosts only")
@pytest.mark.parametrize("extravars, variable", [
    ({"prometheus_amp_remote_write": {"workspace_id": "ws-1", "region": "eu-west-1"}}, "prometheus_amp_remote_write"),
    ({"prometheus_remote_write": [{"url": "https://aps.example/api/v1/remote_write", "sigv4": {"region": "eu-west-1"}}]},
     "prometheus_remote_write"),
])
def test_sigv4_remote_write_with_debian_12s_package_is_refused(role_preflight, extravars, variable):
    """Debian 12's packaged 2.42 sends sigv4 remote write unsigned (test_sigv4_remote_write.py shows
    it with the real binary): with the package method on bookworm, preflight refuses it; the archive
    method passes."""
    role_preflight.fails_before_any_change("prometheus", dict(extravars, prometheus_install_method="package"),
                                           "%s: Debian 12's prometheus package (2.42) sends SigV4 remote write "
                                           "unsigned" % variable)
    result = role_preflight.run("prometheus", dict(extravars, prometheus_install_method="archive"),
                                tasks_from="preflight")
    assert result.rc == 0 and result.failures() == [], result
