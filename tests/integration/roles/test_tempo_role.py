"""The tempo role: bad input fails in preflight before any change, and a check-mode run on
localhost gets through, prints the warning that Tempo's own checker could not run (no tempo
binary exists on this machine) and reports the config and unit it would write.

Through the shared harness (tests/support/role_preflight.py), in check mode against localhost.
"""

from __future__ import annotations

import pytest

from tests.support.role_preflight import CasesByRole, case_id

SECRET = "tempo-preflight-secret-key"
S3 = {"tempo_storage": "s3", "tempo_s3_bucket": "traces", "tempo_s3_region": "ap-northeast-2"}

CASES = [
    ({"tempo_storage": "s3", "tempo_s3_bucket": "traces", "tempo_s3_access_key": "AKIAEXAMPLE",
      "tempo_s3_secret_key": SECRET},
     "tempo_s3_region (storage.trace.s3.region): required"),
    ({"tempo_storage": "s3", "tempo_s3_region": "ap-northeast-2"},
     "tempo_s3_bucket (storage.trace.s3.bucket): required with backend s3"),
    (dict(S3, tempo_s3_sse_type="SSE-KMS"),
     "tempo_s3_kms_key_id (storage.trace.s3.sse.kms_key_id): required with SSE-KMS"),
    (dict(S3, tempo_s3_endpoint="https://s3.ap-northeast-2.amazonaws.com"),
     "tempo_s3_endpoint (storage.trace.s3.endpoint): a host[:port] without a scheme"),
    ({"tempo_retention": "14d"},
     "tempo_retention (compactor.compaction.block_retention): '14d' is not a duration Tempo parses"),
    ({"tempo_otlp_http_listen_address": "0.0.0.0:4317"},
     "tempo_otlp_http_listen_address (distributor.receivers.otlp.protocols.http.endpoint): 0.0.0.0:4317 is also"),
    ({"tempo_otlp_grpc_listen_address": "", "tempo_otlp_http_listen_address": ""},
     "at least one OTLP receiver is required"),
    ({"tempo_grpc_listen_address": "10.1.2.3:9096"},
     "tempo_grpc_listen_address (server.grpc_listen_address): the single binary's querier reaches"),
    ({"tempo_http_listen_address": "3200"}, "tempo_http_listen_address: must be host:port"),
    ({"tempo_config_extra": {"storage_config": {}}}, "storage_config: not a Tempo 2.9 configuration key"),
]


# The alloy role's traces to Tempo (otelcol.receiver.otlp -> otelcol.exporter.otlp).
AGENT = {"monitoring_log_agent": "alloy", "monitoring_environment": "dev",
         "monitoring_loki_push_url": "http://127.0.0.234:3100/loki/api/v1/push"}
ALLOY_CASES = [
    (dict(AGENT, alloy_traces_tempo_endpoint="http://127.0.0.233:4317"),
     "alloy_traces_tempo_endpoint: must be host:port of the OTLP gRPC receiver (no scheme)"),
    (dict(AGENT, alloy_traces_tempo_endpoint="127.0.0.233:4317", alloy_otlp_grpc_listen_address="",
          alloy_otlp_http_listen_address=""),
     "alloy_otlp_grpc_listen_address and alloy_otlp_http_listen_address: at least one is required with traces"),
    (dict(AGENT, alloy_traces_tempo_endpoint="127.0.0.233:4317", alloy_traces_tls_ca_file="/ca.pem"),
     "alloy_traces_tls_ca_file: a CA file needs TLS"),
    (dict(AGENT, alloy_traces_tempo_endpoint="127.0.0.233:4317", alloy_otlp_grpc_listen_address="4317"),
     "alloy_otlp_grpc_listen_address: must be host:port"),
]
# The grafana role's Tempo datasource: its links must point at provisioned Loki / Prometheus uids.
GRAFANA_CASES = [
    ({"grafana_admin_password": "tempo-preflight-pw", "grafana_tempo_url": "http://127.0.0.231:3200",
      "grafana_datasources": [{"name": "Prometheus", "type": "prometheus", "url": "http://127.0.0.232:9090"}]},
     "jsonData.tracesToLogsV2.datasourceUid 'loki' is not the uid of a provisioned datasource"),
]
ALL_CASES = {"tempo": CASES, "alloy": ALLOY_CASES, "grafana": GRAFANA_CASES}


@pytest.fixture(scope="module")
def bad_input_runs(tmp_path_factory):
    return CasesByRole({role: [extravars for extravars, _expected in cases] for role, cases in ALL_CASES.items()},
                       tmp_path_factory.mktemp("tempo-cases"))


@pytest.mark.slow
@pytest.mark.parametrize("role, index, expected", [pytest.param(role, i, e, id=case_id(role, e))
                                                   for role, cases in ALL_CASES.items()
                                                   for i, (_v, e) in enumerate(cases)])
def test_bad_input_fails_before_any_change(bad_input_runs, role, index, expected):
    bad_input_runs(role).fails_before_any_change(index, expected, secrets=[SECRET])


@pytest.mark.slow
def test_check_mode_run_warns_that_only_the_structural_validator_ran(role_preflight):
    result = role_preflight.run("tempo", {
        "tempo_obtain_binary": False, "tempo_http_listen_address": "127.0.0.231:3200",
        "tempo_otlp_grpc_listen_address": "127.0.0.231:4317", "tempo_otlp_http_listen_address": "127.0.0.231:4318",
        "tempo_storage": "s3", "tempo_s3_bucket": "traces", "tempo_s3_region": "ap-northeast-2",
        "tempo_s3_sse_type": "SSE-KMS", "tempo_s3_kms_key_id": "alias/tempo",
        "tempo_s3_access_key": "AKIAEXAMPLE", "tempo_s3_secret_key": SECRET}, extra_args=["--diff"])
    assert result.rc == 0, result
    warning = result.result("monitoring.stack.tempo : Warn that Tempo's own checker cannot run")
    assert "/usr/local/bin/tempo is missing" in warning["msg"]
    assert "not by 'tempo -config.verify'" in warning["msg"]
    written = result.result("monitoring.stack.tempo : Write the Tempo configuration")
    assert written["changed"] is True
    assert SECRET not in result.stdout + result.stderr
