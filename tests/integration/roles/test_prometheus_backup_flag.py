"""prometheus_backup_enabled: the admin API flag, and what a real Prometheus then answers.

The oracle is the Debian prometheus binary on this machine (2.42): started with exactly the flags
the role renders, its TSDB snapshot endpoint works only when backups are on.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from tests.support.playbook import REPO
from tests.support.prometheus_process import PrometheusProcess, free_port
from tests.unit.plugins.module_utils.test_prometheus3_config import settings

pytestmark = pytest.mark.slow
PROMETHEUS = shutil.which("prometheus")


def test_the_role_defaults_keep_the_admin_api_off():
    defaults = yaml.safe_load((REPO / "roles" / "prometheus" / "defaults" / "main.yml").read_text())
    role_vars = yaml.safe_load((REPO / "roles" / "prometheus" / "vars" / "main.yml").read_text())
    assert defaults["prometheus_backup_enabled"] is False
    assert role_vars["_prometheus_settings"]["admin_api"] == "{{ prometheus_backup_enabled }}"


@pytest.mark.parametrize("enabled", [False, True])
def test_the_flag_is_rendered_only_with_backups(enabled):
    flags = pc.build_flags(settings(admin_api=enabled))
    assert ("--web.enable-admin-api" in flags) is enabled
    # the admin API has no listener of its own: it is served on the one listen address
    assert [f for f in flags if f.startswith("--web.listen-address=")] == ["--web.listen-address=127.0.0.1:9090"]


class _Rendered(PrometheusProcess):
    def __init__(self, binary, tmp_path, flags, port):
        super().__init__(binary, tmp_path, "global: {}\n", ["--storage.rendered"], name="rendered")
        self.port = port
        self.args = [binary] + flags


def _snapshot(url):
    request = urllib.request.Request(url + "/api/v1/admin/tsdb/snapshot", data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.skipif(PROMETHEUS is None, reason="no prometheus binary on this machine")
@pytest.mark.parametrize("enabled", [False, True])
def test_a_real_prometheus_takes_snapshots_only_with_backups(enabled, tmp_path):
    port = free_port()
    chosen = settings(version="2.42.0", admin_api=enabled, config_file=str(tmp_path / "rendered.yml"),
                      data_dir=str(tmp_path / "data"), listen_address="127.0.0.1:%d" % port, console_dir="")
    with _Rendered(PROMETHEUS, tmp_path, pc.build_flags(chosen), port) as prom:
        status, body = _snapshot(prom.url)
        running_flags = json.loads(prom.get("/api/v1/status/flags"))["data"]
    assert running_flags["web.enable-admin-api"] == ("true" if enabled else "false")
    if enabled:
        assert status == 200 and body["status"] == "success", body
        assert (tmp_path / "data" / "snapshots" / body["data"]["name"]).is_dir()
    else:
        assert status != 200 and body["error"] == "admin APIs disabled", body
        assert not (tmp_path / "data" / "snapshots").exists()
