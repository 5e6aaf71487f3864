"""The webhook sink counts what a real Alertmanager sends it: one alert posted to a real
Alertmanager (0.33, sid line) arrives once, with its name and status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.playbook import REPO
from tests.support.prometheus_process import free_port
from tests.support.webhook_sink import WebhookSink

sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow


def test_a_real_alertmanager_notification_is_counted_once(tmp_path):
    try:
        version_lines.stage("sid")
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the sid line could not be staged: %s" % exc)
    binary = os.path.join(version_lines.bindir("sid"), "prometheus-alertmanager")
    with WebhookSink() as sink:
        port = free_port()
        config = tmp_path / "alertmanager.yml"
        config.write_text("route: {receiver: sink, group_wait: 1s, group_interval: 1m, repeat_interval: 1h}\n"
                          "receivers:\n  - name: sink\n    webhook_configs: [{url: '%s'}]\n" % sink.url)
        proc = subprocess.Popen([binary, "--config.file=%s" % config, "--storage.path=%s" % (tmp_path / "data"),
                                 "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address="],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            base = "http://127.0.0.1:%d" % port
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(base + "/-/ready", timeout=1).read()
                    break
                except OSError:
                    assert time.monotonic() < deadline and proc.poll() is None, "alertmanager did not start"
                    time.sleep(0.2)
            alert = json.dumps([{"labels": {"alertname": "SinkTest", "severity": "critical"}}]).encode()
            urllib.request.urlopen(urllib.request.Request(base + "/api/v2/alerts", data=alert, method="POST",
                                                          headers={"Content-Type": "application/json"}), timeout=5)
            deadline = time.monotonic() + 20
            while sink.stats()["requests"] == 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)   # a duplicate would come within group_wait
            stats = sink.stats()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert stats["requests"] == 1, stats
    assert stats["alerts"] == {"SinkTest/firing": 1}, stats
