"""The probe jobs of module_utils/blackbox_config.py against the oracle: a real Prometheus
scraping a real blackbox_exporter (the sid line's binary) that probes a loopback HTTP endpoint.

What the role README documents for every probe target: job ``blackbox_<module>``, ``instance``
the probed URL (or host:port), ``environment`` and ``service`` from the inventory, the probe's
own labels, no temporary label left; the scrape goes to the blackbox exporter with the module
and the target as parameters. When the endpoint stops answering, probe_success goes to 0.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import blackbox_config as bc
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from tests.support.loopback_http import LoopbackServer
from tests.support.playbook import REPO
from tests.support.prometheus_process import PrometheusProcess, free_port, stop_process

sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow


def _staged(line, name):
    try:
        version_lines.stage(line)
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the %s line could not be staged: %s" % (line, exc))
    path = os.path.join(version_lines.bindir(line), name)
    if not os.path.exists(path):
        pytest.skip("no %s in the %s line (%s)" % (name, line, path))
    return path


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        with self.server.lock:
            self.server.stats["requests"] = self.server.stats.get("requests", 0) + 1
        code = 200 if self.path == "/health" else 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "UP"}' if code == 200 else b"{}")

    def log_message(self, *args):
        pass


class BlackboxProcess(object):
    def __init__(self, binary, workdir, modules):
        self.port = free_port()
        self.config = workdir / "blackbox.yml"
        self.config.write_text(yaml.safe_dump(bc.config_file(modules)))
        self.log = workdir / "blackbox.log"
        self.args = [binary, "--config.file=%s" % self.config, "--web.listen-address=127.0.0.1:%d" % self.port]
        self.proc = None

    def __enter__(self):
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("blackbox_exporter exited: %s" % self.log.read_text()[-2000:])
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/-/healthy" % self.port, timeout=1).read()
                return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise AssertionError("blackbox_exporter not ready in 30 s: %s" % self.log.read_text()[-2000:])

    def __exit__(self, *exc):
        stop_process(self.proc)


SETTINGS = {
    "scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s", "external_labels": {},
    "rule_files": [], "alertmanagers": [], "self_address": "127.0.0.1:PORT", "self_instance": "", "self_scheme": "http",
    "file_sd_targets": {}, "file_sd_dir": "/nonexistent", "ec2_sd_jobs": [], "extra_scrape_configs": [],
    "metric_filters": {}, "remote_write": [], "amp_remote_write": {},
}


@pytest.mark.parametrize("prometheus_line", ["bookworm", "sid"])
def test_real_prometheus_probes_through_a_real_blackbox_exporter(prometheus_line, tmp_path):
    prometheus = _staged(prometheus_line, "prometheus")
    blackbox = _staged("sid", "prometheus-blackbox-exporter")
    app = LoopbackServer(Health, {})
    app.__enter__()
    try:
        app_address = "%s:%d" % app.httpd.server_address[:2]
        health, missing = "http://%s/health" % app_address, "http://%s/missing" % app_address
        with BlackboxProcess(blackbox, tmp_path, bc.DEFAULT_MODULES) as bbx:
            data = {"groups": ["blackbox_exporter"],
                    "exporters": [{"name": "bbx1", "address": "127.0.0.1", "environment": "prod",
                                   "listen_address": "0.0.0.0:%d" % bbx.port, "modules": bc.DEFAULT_MODULES}],
                    "hosts": [{"name": "app1", "environment": "prod", "service": "orders", "probes": [
                        {"url": health, "labels": {"team": "shop"}},
                        {"url": missing, "module": "http_2xx", "service": "orders-missing"},
                        {"target": app_address, "module": "tcp_connect", "service": "orders-port"}]}]}
            assert bc.probe_problems(data) == []
            config = pc.build_config(dict(SETTINGS, blackbox_probes=data), [])
            with PrometheusProcess(prometheus, tmp_path, yaml.safe_dump(config)) as prom:
                result = prom.wait_for("probe_success", lambda r: len(r) == 3)
                got = {r["metric"]["instance"]: (r["metric"], r["value"][1]) for r in result}
                assert got == {
                    health: ({"__name__": "probe_success", "job": "blackbox_http_2xx", "instance": health,
                              "environment": "prod", "service": "orders", "team": "shop"}, "1"),
                    missing: ({"__name__": "probe_success", "job": "blackbox_http_2xx", "instance": missing,
                               "environment": "prod", "service": "orders-missing"}, "0"),
                    app_address: ({"__name__": "probe_success", "job": "blackbox_tcp_connect", "instance": app_address,
                                   "environment": "prod", "service": "orders-port"}, "1"),
                }, result
                # The scrape goes to the exporter, with the module and the target as parameters.
                targets = json.loads(prom.get("/api/v1/targets?state=active"))["data"]["activeTargets"]
                urls = sorted(t["scrapeUrl"] for t in targets if t["labels"]["job"].startswith("blackbox_"))
                base = "http://127.0.0.1:%d/probe?" % bbx.port
                assert urls == sorted(base + urllib.parse.urlencode({"module": m, "target": t}) for m, t in
                                      [("http_2xx", health), ("http_2xx", missing), ("tcp_connect", app_address)])
                assert app.stats()["requests"] >= 2
                # The endpoint stops: its probe fails, on the same series.
                app.__exit__()
                app = None
                down = prom.wait_for('probe_success{instance="%s"}' % health,
                                     lambda r: bool(r) and r[0]["value"][1] == "0", timeout=20)
                assert down and down[0]["value"][1] == "0", down
    finally:
        if app is not None:
            app.__exit__()
