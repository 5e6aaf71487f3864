"""Render the grafana and loki roles' configs from representative variables and check them.

The configs are built in the roles' vars/main.yml from their defaults; this renders them with
ansible-playbook (the real templating, filters included) without touching a host, then checks
the output with the collection's structural validators and by parsing it. No Grafana or Loki
binary exists here, so their own checks (loki -verify-config) are not part of this test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.filter.grafana_provisioning import FilterModule as GrafanaFilters
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_provisioning import (
    datasource_problems,
    ini_problems,
    parse_ini,
)
from ansible_collections.monitoring.stack.plugins.module_utils.loki_config import config_problems

REPO = Path(__file__).resolve().parents[3]
DASHBOARDS = REPO / "extensions" / "molecule" / "grafana_loki_default" / "files" / "dashboards"
VARS_FILES = [str(REPO / "roles" / role / kind / "main.yml") for role in ("grafana", "loki") for kind in ("defaults", "vars")]

DATASOURCES = [
    {"name": "Prometheus", "type": "prometheus", "url": "http://127.0.0.1:9090", "isDefault": True},
    {"name": "AMP", "type": "prometheus", "uid": "amp", "url": "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1",
     "jsonData": {"sigV4Auth": True, "sigV4AuthType": "default", "sigV4Region": "eu-west-1"}},
    {"name": "Loki", "type": "loki", "url": "http://127.0.0.1:3100"},
    {"name": "Tempo", "type": "tempo", "url": "http://127.0.0.1:3200"},
    {"name": "CloudWatch", "type": "cloudwatch", "jsonData": {"authType": "default", "defaultRegion": "eu-west-1"}},
]

CASES = {
    "grafana_basic": ("{{ _grafana_ini_data | monitoring.stack.to_grafana_ini }}",
                      {"grafana_admin_password": "s3cret-pw", "grafana_listen_address": "[::1]:3300"}),
    "grafana_proxy_oauth": ("{{ _grafana_ini_data | monitoring.stack.to_grafana_ini }}", {
        "grafana_admin_password": "s3cret-pw", "grafana_root_url": "https://example.com/grafana/",
        "grafana_serve_from_sub_path": True, "grafana_auth_anonymous_enabled": True,
        "grafana_users": [{"email": "admin@example.com", "role": "Admin"}, {"email": "dev@example.com", "role": "Editor"}],
        "grafana_auth_generic_oauth": {"client_id": "c", "client_secret": "oauth-secret", "scopes": "openid profile email",
                                       "auth_url": "https://sso/a", "token_url": "https://sso/t"},
        "grafana_ini": {"smtp": {"enabled": True, "host": "mail:25"}, "security": {"disable_gravatar": False}}}),
    "grafana_datasources": ("{{ _grafana_datasources_provisioning | to_nice_yaml(sort_keys=false) }}",
                            {"grafana_datasources": DATASOURCES}),
    "grafana_dashboards": ("{{ _grafana_dashboards_provisioning | to_nice_yaml }}", {}),
    "loki_filesystem": ("{{ _loki_config | to_nice_yaml(sort_keys=false) }}",
                        {"loki_http_listen_address": "127.0.0.52:3100", "loki_grpc_listen_address": "0.0.0.0:9095"}),
    "loki_s3_kms": ("{{ _loki_config | to_nice_yaml(sort_keys=false) }}", {
        "loki_storage": "s3", "loki_s3_bucket": "logs", "loki_s3_region": "eu-west-1",
        "loki_s3_kms_key_id": "arn:aws:kms:eu-west-1:111122223333:key/k", "loki_retention_period": "2160h",
        "loki_limits": {"ingestion_rate_mb": 8, "ingestion_burst_size_mb": 16, "max_query_length": "2160h"},
        "loki_config_extra": {"server": {"log_format": "json"}}}),
    "loki_no_retention": ("{{ _loki_config | to_nice_yaml(sort_keys=false) }}", {"loki_retention_enabled": False}),
}


@pytest.fixture(scope="module")
def rendered():
    from tests.support.playbook import render_role_vars

    return render_role_vars(CASES, VARS_FILES)


@pytest.mark.slow
def test_grafana_ini_basic(rendered):
    ini = parse_ini(rendered["grafana_basic"])
    assert ini["server"]["http_addr"] == "::1" and ini["server"]["http_port"] == "3300"
    assert ini["security"]["admin_password"] == "s3cret-pw"
    assert ini["auth.anonymous"]["enabled"] == "false"
    assert ini["auth.basic"]["enabled"] == "true"
    assert ini["analytics"]["reporting_enabled"] == "false"
    assert "auth.generic_oauth" not in ini
    assert ini["paths"]["provisioning"] == "/etc/grafana/provisioning"
    assert ini_problems(ini) == []


@pytest.mark.slow
def test_grafana_ini_behind_a_proxy_with_oauth(rendered):
    ini = parse_ini(rendered["grafana_proxy_oauth"])
    assert ini["server"]["root_url"] == "https://example.com/grafana/"
    assert ini["server"]["serve_from_sub_path"] == "true"
    assert ini["security"]["cookie_secure"] == "true"
    assert ini["security"]["disable_gravatar"] == "false"  # grafana_ini wins over the role's setting
    assert ini["auth.anonymous"] == {"enabled": "true", "org_role": "Viewer"}
    oauth = ini["auth.generic_oauth"]
    assert oauth["enabled"] == "true" and oauth["client_secret"] == "oauth-secret"
    assert oauth["role_attribute_path"] == ("contains(['admin@example.com'], email) && 'Admin' || "
                                            "contains(['dev@example.com'], email) && 'Editor' || 'Viewer'")
    assert ini["smtp"] == {"enabled": "true", "host": "mail:25"}
    assert ini_problems(ini) == []


@pytest.mark.slow
def test_grafana_datasources_file(rendered):
    data = yaml.safe_load(rendered["grafana_datasources"])
    assert data["apiVersion"] == 1
    assert [ds["uid"] for ds in data["datasources"]] == ["prometheus", "amp", "loki", "tempo", "cloudwatch"]
    assert all(ds["access"] == "proxy" for ds in data["datasources"])
    assert datasource_problems(data["datasources"]) == []


@pytest.mark.slow
def test_grafana_dashboard_provider_uses_folders_from_files(rendered):
    provider = yaml.safe_load(rendered["grafana_dashboards"])["providers"][0]
    assert provider["options"] == {"path": "/var/lib/grafana/dashboards", "foldersFromFilesStructure": True}


@pytest.mark.slow
def test_loki_filesystem(rendered):
    config = yaml.safe_load(rendered["loki_filesystem"])
    assert config_problems(config) == []
    assert config["server"]["http_listen_address"] == "127.0.0.52" and config["server"]["http_listen_port"] == 3100
    assert config["server"]["grpc_listen_port"] == 9095
    assert config["common"]["instance_addr"] == "127.0.0.1"
    assert config["schema_config"]["configs"][0]["object_store"] == "filesystem"
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    assert config["limits_config"]["retention_period"] == "744h"


@pytest.mark.slow
def test_loki_s3_with_kms(rendered):
    config = yaml.safe_load(rendered["loki_s3_kms"])
    assert config_problems(config) == []
    assert config["common"]["storage"] == {"s3": {
        "bucketnames": "logs", "region": "eu-west-1", "s3forcepathstyle": False,
        "sse": {"type": "SSE-KMS", "kms_key_id": "arn:aws:kms:eu-west-1:111122223333:key/k"}}}
    assert config["schema_config"]["configs"][0]["object_store"] == "s3"
    assert config["compactor"]["delete_request_store"] == "s3"
    assert config["limits_config"] == {"ingestion_rate_mb": 8, "ingestion_burst_size_mb": 16,
                                       "max_query_length": "2160h", "retention_period": "2160h"}
    assert config["server"]["log_format"] == "json"


@pytest.mark.slow
def test_loki_without_retention(rendered):
    config = yaml.safe_load(rendered["loki_no_retention"])
    assert config["compactor"]["retention_enabled"] is False
    assert "retention_period" not in config["limits_config"]
    assert config_problems(config) == []


def test_dashboard_prepare_filter_applies_the_transforms():
    prepare = GrafanaFilters().filters()["grafana_dashboard_prepare"]
    source = DASHBOARDS / "Infrastructure" / "node.json"
    board = prepare(source.read_text(), str(source), {"DS_PROMETHEUS": "prometheus"}, DATASOURCES, True)
    assert "__inputs" not in board and "id" not in board
    assert board["panels"][0]["datasource"]["uid"] == "prometheus"
    assert 'environment=~"$environment"' in board["panels"][0]["targets"][0]["expr"]
    check = GrafanaFilters().filters()["grafana_dashboard_problems"]
    problems = check([{"source": str(source), "dashboard": board}], DATASOURCES)
    assert problems == []


def test_dashboard_prepare_filter_error_names_the_file_and_position():
    from ansible.errors import AnsibleFilterError

    prepare = GrafanaFilters().filters()["grafana_dashboard_prepare"]
    with pytest.raises(AnsibleFilterError) as exc:
        prepare('{"title": "x",\n "panels": [}', "dash/broken.json")
    assert "dash/broken.json: invalid JSON at line 2 column 13" in str(exc.value)
    with pytest.raises(AnsibleFilterError, match="^dash/untitled.json: .*no title"):
        prepare(json.dumps({"uid": "u", "panels": []}), "dash/untitled.json")


@pytest.mark.slow
@pytest.mark.parametrize("role", ["grafana", "loki"])
def test_ansible_doc_lists_every_variable(role):
    import subprocess
    import sys

    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "-t", "role", "--json",
                           "monitoring.stack." + role], cwd=str(REPO), capture_output=True, text=True, check=False,
                          env=dict(__import__("os").environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")), timeout=300)
    assert proc.returncode == 0, proc.stderr
    options = json.loads(proc.stdout)["monitoring.stack." + role]["entry_points"]["main"]["options"]
    assert sorted(options) == sorted(defaults)
