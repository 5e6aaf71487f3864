"""Bad grafana and loki input fails in preflight, before anything changes on the host.

Through the shared harness (tests/support/role_preflight.py): the cases of a role run in one
check-mode run against localhost, a host per case, and each case asserts that its host failed,
that the failure names the variable, and that it reported no change. The admin password must
never appear in the output.
"""

from __future__ import annotations

import pytest

from tests.support.role_preflight import CasesByRole, case_id

PASSWORD = "preflight-test-password"
PROMETHEUS = {"name": "Prometheus", "type": "prometheus", "url": "http://127.0.0.1:9090"}

CASES = {
    "grafana": [
        ({}, "grafana_admin_password: required"),
        ({"grafana_admin_password": "admin"}, "grafana_admin_password: must not be Grafana's default 'admin'"),
        ({"grafana_admin_password": PASSWORD, "grafana_datasources": [{"name": "Prometheus", "type": "prometheus"}]},
         "grafana_datasources[0] (name 'Prometheus'): url is required for type prometheus"),
        ({"grafana_admin_password": PASSWORD, "grafana_datasources": [PROMETHEUS, dict(PROMETHEUS, url="http://b:9090")]},
         "grafana_datasources[1] (name 'Prometheus'): uid 'prometheus' is also the uid"),
        ({"grafana_admin_password": PASSWORD, "grafana_listen_address": "3000"},
         "grafana_listen_address: must be host:port"),
        ({"grafana_admin_password": PASSWORD, "grafana_install_method": "archive", "grafana_archive_checksum": ""},
         "grafana_archive_checksum: required"),
        ({"grafana_admin_password": PASSWORD, "grafana_auth_generic_oauth": {"client_id": "c"}},
         "grafana_auth_generic_oauth.auth_url: required when generic OAuth is enabled"),
        ({"grafana_admin_password": PASSWORD, "grafana_dashboards_src": "/nonexistent/ms-dashboards"},
         "grafana_dashboards_src: /nonexistent/ms-dashboards is not a directory"),
    ],
    "loki": [
        ({"loki_retention_period": "12h"},
         "loki_retention_period (limits_config.retention_period): 12h is shorter than the index period (24h)"),
        ({"loki_retention_period": "a month"}, "loki_retention_period (limits_config.retention_period): 'a month' is not a duration"),
        ({"loki_storage": "s3", "loki_s3_bucket": "logs", "loki_s3_region": "eu-west-1"},
         "loki_s3_kms_key_id (common.storage.s3.sse.kms_key_id): required with SSE-KMS"),
        ({"loki_storage": "s3", "loki_s3_region": "eu-west-1", "loki_s3_kms_key_id": "k"},
         "loki_s3_bucket (common.storage.s3.bucketnames): required"),
        ({"loki_grpc_listen_address": "0.0.0.0:3100"}, "loki_http_listen_address and loki_grpc_listen_address: must differ"),
        ({"loki_http_listen_address": "localhost"}, "loki_http_listen_address: must be host:port"),
        ({"loki_limits": {"ingestion_rate_mb": 10, "ingestion_burst_size_mb": 5}},
         "loki_limits (limits_config.ingestion_burst_size_mb): the burst (5) must be at least the rate (10)"),
        ({"loki_schema_configs": [{"from": "2024-04-01", "store": "tsdb", "schema": "v12",
                                   "index": {"prefix": "index_", "period": "24h"}}]},
         "loki_schema_configs (schema_config.configs[0].schema): the tsdb store needs schema v13"),
    ],
}


def _cases():
    for role, cases in CASES.items():
        for index, (_extravars, expected) in enumerate(cases):
            yield pytest.param(role, index, expected, id=case_id(role, expected))


@pytest.fixture(scope="module")
def bad_input_runs(tmp_path_factory):
    """Each role's cases in one ansible-playbook run per role, made on first use."""
    return CasesByRole({role: [extravars for extravars, _expected in cases] for role, cases in CASES.items()},
                       tmp_path_factory.mktemp("grafana-loki-cases"))


@pytest.mark.slow
@pytest.mark.parametrize("role, index, expected", _cases())
def test_bad_input_fails_before_any_change(bad_input_runs, role, index, expected):
    bad_input_runs(role).fails_before_any_change(index, expected, secrets=[PASSWORD])


@pytest.mark.slow
def test_broken_dashboard_names_the_file_and_position(role_preflight, tmp_path):
    folder = tmp_path / "Infra"
    folder.mkdir()
    (folder / "broken.json").write_text('{\n  "title": "Broken",\n  "panels": [,]\n}\n')
    role_preflight.fails_before_any_change(
        "grafana", {"grafana_admin_password": PASSWORD, "grafana_dashboards_src": str(tmp_path)},
        "%s: invalid JSON at line 3 column 14" % (folder / "broken.json"))


@pytest.mark.slow
def test_dashboard_with_unknown_datasource_uid_fails(role_preflight, tmp_path):
    (tmp_path / "board.json").write_text(
        '{"uid": "b", "title": "B", "panels": [{"datasource": {"type": "prometheus", "uid": "nope"},'
        ' "targets": [{"expr": "up"}]}]}')
    role_preflight.fails_before_any_change(
        "grafana", {"grafana_admin_password": PASSWORD, "grafana_dashboards_src": str(tmp_path),
                    "grafana_datasources": [PROMETHEUS]},
        "board.json: references datasource uid(s) nope that no provisioned datasource has (known: prometheus)")
