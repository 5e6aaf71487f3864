"""An HA pair of real Prometheus replicas alerting through a real three-node Alertmanager mesh.

Real binaries of the sid line (Prometheus 3.5, Alertmanager 0.33, tests/hosts/version_lines.py)
as processes on loopback, each Alertmanager on its own 127.0.0.15x address; a webhook sink
(tests/support/webhook_sink.py) counts the notifications. The flags of the mesh come from
``ha.mesh_settings`` and the replicas' prometheus.yml from ``prometheus_config.build_config`` -
the code under test; the oracle is what the real Alertmanagers report (``/api/v2/status``) and
what reaches the sink: both replicas fire the alert, three Alertmanagers receive it twice each,
and one notification holding one alert arrives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import ha
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from tests.support.playbook import REPO
from tests.support.prometheus_process import PrometheusProcess, free_port, stop_process
from tests.support.webhook_sink import WebhookSink

sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow

ADDRESSES = ["127.0.0.151", "127.0.0.152", "127.0.0.153"]
# Alertmanager waits peer position x peer timeout before it notifies, then reads the mesh's
# notification log: a short timeout keeps the test short (the default is 15 s).
PEER_TIMEOUT = 2


def _staged(name):
    try:
        version_lines.stage("sid")
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the sid line could not be staged: %s" % exc)
    path = os.path.join(version_lines.bindir("sid"), name)
    if not os.path.exists(path):
        pytest.skip("no %s in the sid line (%s)" % (name, path))
    return path


def _get_json(url):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read().decode())


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("not within %d s: %s" % (timeout, what))


class Mesh(object):
    """Three Alertmanagers started with the gossip flags ha.mesh_settings derives."""

    def __init__(self, binary, workdir, sink_url):
        self.binary, self.workdir = binary, workdir
        self.gossip_port = free_port(ADDRESSES[0])
        self.web = {address: "%s:%d" % (address, free_port(address)) for address in ADDRESSES}
        self.members = [{"name": "am%d" % i, "address": a, "listen_address": self.web[a]}
                        for i, a in enumerate(ADDRESSES, 1)]
        self.config = workdir / "alertmanager.yml"
        self.config.write_text(yaml.safe_dump({
            "route": {"receiver": "sink", "group_by": ["alertname"], "group_wait": "1s",
                      "group_interval": "5m", "repeat_interval": "4h"},
            "receivers": [{"name": "sink", "webhook_configs": [{"url": sink_url, "send_resolved": False}]}]}))
        self.procs = {}

    def flags(self, name):
        mesh = ha.mesh_settings(name, self.members, port=self.gossip_port)
        assert mesh["enabled"], mesh
        out = ["--cluster.listen-address=" + mesh["listen_address"]]
        out += ["--cluster.advertise-address=" + mesh["advertise_address"]] if mesh["advertise_address"] else []
        return out + ["--cluster.peer=" + peer for peer in mesh["peers"]]

    def start(self, member):
        name = member["name"]
        log = open(self.workdir / ("%s.log" % name), "w")  # pylint: disable=consider-using-with
        self.procs[name] = subprocess.Popen(
            [self.binary, "--config.file=%s" % self.config, "--storage.path=%s" % (self.workdir / name),
             "--web.listen-address=" + member["listen_address"], "--cluster.peer-timeout=%ds" % PEER_TIMEOUT]
            + self.flags(name), stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def stop(self, name):
        stop_process(self.procs.pop(name, None))

    def status(self, member):
        return _get_json("http://%s/api/v2/status" % member["listen_address"])

    def peers_seen(self, member):
        cluster = self.status(member)["cluster"]
        return cluster["status"], sorted(p["address"] for p in cluster.get("peers") or [])

    def log(self, name):
        return (self.workdir / ("%s.log" % name)).read_text()[-2000:]

    def __enter__(self):
        for member in self.members:
            self.start(member)
        return self

    def __exit__(self, *exc):
        for name in list(self.procs):
            self.stop(name)


def _replica_config(name, mesh, rule_file):
    settings = {
        "scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s",
        "external_labels": {"environment": "prod", "cluster": "prom_pair"},
        "rule_files": [str(rule_file)], "alertmanagers": [m["listen_address"] for m in mesh.members],
        "self_address": "127.0.0.1:PORT", "self_instance": name, "self_scheme": "http",
        "file_sd_targets": {}, "file_sd_dir": "/nonexistent", "ec2_sd_jobs": [], "extra_scrape_configs": [],
        "metric_filters": {}, "remote_write": [], "amp_remote_write": {}, "version": "3.5.3",
        "ha": ha.replica_settings(name, ["prom-a", "prom-b"], "__replica__"),
    }
    return yaml.safe_dump(pc.build_config(settings, []))


def test_two_replicas_three_alertmanagers_one_notification_and_one_alertmanager_lost(tmp_path):
    alertmanager, prometheus = _staged("prometheus-alertmanager"), _staged("prometheus")
    rule_file = tmp_path / "rules.yml"
    with WebhookSink() as sink, Mesh(alertmanager, tmp_path, sink.url) as mesh:
        every = sorted("%s:%d" % (a, mesh.gossip_port) for a in ADDRESSES)
        for member in mesh.members:
            _wait(lambda m=member: mesh.peers_seen(m) == ("ready", every), 60,
                  "%s sees the whole mesh: %s" % (member["name"], mesh.log(member["name"])))
        # The second alert starts firing a while after the first: after one Alertmanager is stopped.
        second_at = int(time.time()) + 30
        rule_file.write_text(yaml.safe_dump({"groups": [{"name": "ha", "rules": [
            {"alert": "HAFirst", "expr": "vector(1)", "labels": {"severity": "critical"}},
            {"alert": "HASecond", "expr": "vector(time()) > %d" % second_at, "labels": {"severity": "critical"}}]}]}))
        # Alerts evaluated before a replica has found the Alertmanagers are sent again only
        # after the resend delay (1m by default): a short one keeps the test short.
        flags = ["--rules.alert.resend-delay=2s"]
        with PrometheusProcess(prometheus, tmp_path, _replica_config("prom-a", mesh, rule_file), flags, name="prom-a"), \
                PrometheusProcess(prometheus, tmp_path, _replica_config("prom-b", mesh, rule_file), flags, name="prom-b"):
            _wait(lambda: sink.stats()["requests"] >= 1, 60, "a notification reaches the sink")
            # every Alertmanager holds the alert of both replicas (one alert: the replica label is dropped)
            for member in mesh.members:
                url = "http://%s/api/v2/alerts" % member["listen_address"]
                alerts = _wait(lambda u=url: [a for a in _get_json(u) if a["labels"]["alertname"] == "HAFirst"], 20,
                               "%s holds HAFirst" % member["name"])
                assert len(alerts) == 1 and "__replica__" not in alerts[0]["labels"], alerts
                assert alerts[0]["labels"]["cluster"] == "prom_pair", alerts
            time.sleep(3 * PEER_TIMEOUT + 4)  # the other two members' turn has passed
            stats = sink.stats()
            assert stats["requests"] == 1 and stats["alerts"] == {"HAFirst/firing": 1}, stats

            # one Alertmanager lost: the rest still notify once, and see a mesh of two
            mesh.stop("am1")
            second = _wait(lambda: sink.stats()["alerts"].get("HASecond/firing"), 90, "HASecond reaches the sink")
            time.sleep(3 * PEER_TIMEOUT + 4)
            stats = sink.stats()
            assert second == 1 and stats["requests"] == 2 and stats["alerts"]["HASecond/firing"] == 1, stats
            two = [e for e in every if not e.startswith(ADDRESSES[0] + ":")]
            _wait(lambda: mesh.peers_seen(mesh.members[1])[1] == two, 60, "am2 sees am1 leave")

            # am1 back: the mesh is whole again
            mesh.start(mesh.members[0])
            for member in mesh.members:
                _wait(lambda m=member: mesh.peers_seen(m) == ("ready", every), 60,
                      "%s sees the whole mesh again: %s" % (member["name"], mesh.log(member["name"])))
