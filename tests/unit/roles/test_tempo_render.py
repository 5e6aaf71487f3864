"""The roles' Tempo pieces rendered by the real templating (ansible-playbook on localhost, no
host touched): the tempo role's config from its variables, the grafana role's Tempo datasource,
the alloy role's traces pipeline. Checked by the collection's validators and by parsing; no
tempo, grafana or alloy binary exists here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils.alloy_config import validate_alloy
from ansible_collections.monitoring.stack.plugins.module_utils.alloy_syntax import parse_alloy
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_provisioning import datasource_problems
from ansible_collections.monitoring.stack.plugins.module_utils.tempo_config import config_problems

REPO = Path(__file__).resolve().parents[3]
VARS_FILES = [str(REPO / "roles" / role / kind / "main.yml")
              for role in ("tempo", "grafana", "alloy") for kind in ("defaults", "vars")]

CASES = {
    "tempo_local": ("{{ _tempo_config | to_nice_yaml(sort_keys=false) }}", {}),
    "tempo_s3": ("{{ _tempo_config | to_nice_yaml(sort_keys=false) }}", {
        "tempo_storage": "s3", "tempo_s3_bucket": "traces", "tempo_s3_region": "ap-northeast-2",
        "tempo_s3_sse_type": "SSE-KMS", "tempo_s3_kms_key_id": "alias/tempo", "tempo_s3_force_path_style": True,
        "tempo_retention": "720h", "tempo_otlp_http_listen_address": ""}),
    "grafana_tempo": ("{{ _grafana_datasources_provisioning | to_nice_yaml(sort_keys=false) }}", {
        "grafana_tempo_url": "http://127.0.0.231:3200",
        "grafana_datasources": [{"name": "Prometheus", "type": "prometheus", "url": "http://127.0.0.1:9090"},
                                {"name": "Loki", "type": "loki", "url": "http://127.0.0.1:3100"}]}),
    "alloy_traces": ("{{ _alloy_config }}", {
        "monitoring_environment": "dev", "monitoring_loki_push_url": "http://127.0.0.234:3100/loki/api/v1/push",
        "monitoring_tempo_otlp_endpoint": "127.0.0.231:4317"}),
}


@pytest.fixture(scope="module")
def rendered():
    from tests.support.playbook import render_role_vars

    return render_role_vars(CASES, VARS_FILES)


@pytest.mark.slow
def test_tempo_role_local_defaults(rendered):
    config = yaml.safe_load(rendered["tempo_local"])
    assert config_problems(config) == []
    assert config["server"] == {"http_listen_address": "0.0.0.0", "http_listen_port": 3200,
                                "grpc_listen_address": "127.0.0.1", "grpc_listen_port": 9096, "log_level": "info"}
    assert config["storage"]["trace"] == {"backend": "local", "wal": {"path": "/var/lib/tempo/wal"},
                                          "local": {"path": "/var/lib/tempo/blocks"}}
    assert config["compactor"]["compaction"]["block_retention"] == "336h"


@pytest.mark.slow
def test_tempo_role_s3_sse_kms(rendered):
    config = yaml.safe_load(rendered["tempo_s3"])
    assert config_problems(config) == []
    assert config["storage"]["trace"]["s3"] == {"bucket": "traces", "region": "ap-northeast-2",
                                                "forcepathstyle": True,
                                                "sse": {"type": "SSE-KMS", "kms_key_id": "alias/tempo"}}
    assert config["distributor"]["receivers"]["otlp"]["protocols"] == {"grpc": {"endpoint": "0.0.0.0:4317"}}
    assert config["compactor"]["compaction"]["block_retention"] == "720h"


@pytest.mark.slow
def test_grafana_role_adds_the_linked_tempo_datasource(rendered):
    datasources = yaml.safe_load(rendered["grafana_tempo"])["datasources"]
    assert [(d["uid"], d["type"]) for d in datasources] == [("prometheus", "prometheus"), ("loki", "loki"),
                                                            ("tempo", "tempo")]
    tempo = datasources[2]
    assert tempo["url"] == "http://127.0.0.231:3200"
    assert tempo["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert tempo["jsonData"]["tracesToMetrics"]["datasourceUid"] == "prometheus"
    assert datasource_problems(datasources) == []


@pytest.mark.slow
def test_alloy_role_renders_the_traces_pipeline(rendered):
    text = rendered["alloy_traces"]
    assert validate_alloy(text) == []
    blocks = {(b.name, b.label): b for b in parse_alloy(text)}
    client = blocks[("otelcol.exporter.otlp", "tempo")].blocks("client")[0]
    assert client.attrs()["endpoint"] == "127.0.0.231:4317"
    assert client.blocks("tls")[0].attrs() == {"insecure": True}
    receiver = blocks[("otelcol.receiver.otlp", "default")]
    assert [b.attrs().get("endpoint") for b in receiver.blocks()[:2]] == ["127.0.0.1:4317", "127.0.0.1:4318"]
