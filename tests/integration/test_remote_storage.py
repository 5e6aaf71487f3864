"""Long-term storage by remote write, with real binaries: an HA pair of real Prometheus 3.5
replicas writing to real VictoriaMetrics, and SigV4 (the AMP configuration) through the loopback
verifier into VictoriaMetrics.

Binaries of the sid line (tests/hosts/version_lines.py: Prometheus 3.5.3, VictoriaMetrics
1.145), every process on its own 127.0.0.17x address. The configs come from the code under test
(``prometheus_config.build_config`` with ``kind`` entries of ``prometheus_remote_write``); the
oracles are VictoriaMetrics' own Prometheus API (which series it stored), the verifier's
signature check (botocore's signer) and Prometheus' own failure counters.

* De-duplication: both replicas scrape the same two targets and write to two VictoriaMetrics,
  both started with ``-dedup.minScrapeInterval``: ``kind: victoriametrics`` (the replica label
  dropped on the way out) gives one series per target, ``deduplicate: false`` two.
* SigV4: ``kind: amp`` with ``url`` pointed at the verifier and the credentials in the
  Prometheus process' environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, as an instance's
  default chain would give them): samples arrive in VictoriaMetrics; a wrong region or a wrong
  secret is rejected by the verifier, counted in
  ``prometheus_remote_storage_samples_failed_total``, and nothing arrives.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import ha
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from tests.support.playbook import REPO
from tests.support.prometheus_process import PrometheusProcess, free_port, stop_process
from tests.support.sigv4_verifier import Sigv4Verifier

sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow

VM_DEDUP, VM_RAW, VM_SIGV4, VERIFIER, PROM_A, PROM_B, PROM_SIGV4 = (
    "127.0.0.171", "127.0.0.172", "127.0.0.173", "127.0.0.174", "127.0.0.175", "127.0.0.176", "127.0.0.177")
ACCESS_KEY, SECRET_KEY, REGION = "AKIDSTANDINEXAMPLE", "standin-secret-key-for-tests", "eu-west-1"
FAST_QUEUE = {"batch_send_deadline": "1s", "min_backoff": "100ms", "max_backoff": "500ms"}


def _staged(name):
    try:
        version_lines.stage("sid")
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the sid line could not be staged: %s" % exc)
    path = os.path.join(version_lines.bindir("sid"), name)
    if not os.path.exists(path):
        pytest.skip("no %s in the sid line (%s)" % (name, path))
    return path


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read().decode()


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("not within %d s: %s (last: %r)" % (timeout, what, value))


class VictoriaMetrics(object):
    """A real single-node VictoriaMetrics on ``host``, its data in ``workdir``; always stopped."""

    def __init__(self, binary, workdir, host, name):
        self.host, self.port = host, free_port(host)
        self.log = workdir / ("%s.log" % name)
        # latencyOffset: answer queries up to 1 s ago (30 s by default), so the test is short.
        self.args = [binary, "-storageDataPath=%s" % (workdir / name), "-httpListenAddr=%s:%d" % (host, self.port),
                     "-dedup.minScrapeInterval=1s", "-search.latencyOffset=1s", "-search.disableCache"]
        self.proc = None

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def url(self):
        return "http://" + self.address

    def series(self, match):
        """The label sets VictoriaMetrics stored for ``match`` over the last 5 minutes."""
        query = urllib.parse.urlencode({"match[]": match, "start": int(time.time()) - 300})
        return json.loads(_get(self.url + "/api/v1/series?" + query))["data"]

    def query(self, expr):
        return json.loads(_get(self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})))["data"]["result"]

    @staticmethod
    def version():
        """Debian's build embeds no version (-version and vm_app_version are empty): the staged
        package's file name says it."""
        debs = glob.glob(os.path.join(version_lines.cache_root(), "sid", "apt", "debs", "victoria-metrics_*.deb"))
        return os.path.basename(debs[0]).split("_")[1] if debs else "unknown"

    def __enter__(self):
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait(lambda: _get(self.url + "/health").strip() == "OK", 30, "VictoriaMetrics answers /health")
        except AssertionError:
            self.__exit__()
            raise AssertionError("VictoriaMetrics did not start: %s" % self.log.read_text()[-2000:])
        return self

    def __exit__(self, *exc):
        stop_process(self.proc)


class Prometheus(PrometheusProcess):
    """PrometheusProcess on its own loopback address ``host`` instead of 127.0.0.1."""

    def __init__(self, binary, workdir, config, host, env=None, name="prometheus"):
        super().__init__(binary, workdir, config, env=env, name=name)
        self.host, old = host, self.port
        self.port = free_port(host)
        self.config_path.write_text(config.replace("PORT", str(self.port)))
        self.args = [a.replace("127.0.0.1:%d" % old, "%s:%d" % (host, self.port)) for a in self.args]

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)


def _config(name, host, remote_write, extra_jobs=(), external_labels=None, replica=True):
    settings = {
        "scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s",
        "external_labels": dict({"environment": "prod", "cluster": "prom_pair"}, **(external_labels or {})),
        "rule_files": [], "alertmanagers": [], "self_address": "%s:PORT" % host, "self_instance": name,
        "self_scheme": "http", "file_sd_targets": {}, "file_sd_dir": "/nonexistent", "ec2_sd_jobs": [],
        "extra_scrape_configs": list(extra_jobs), "metric_filters": {}, "remote_write": remote_write,
        "amp_remote_write": {}, "version": "3.5.3",
        "ha": ha.replica_settings(name, ["prom-a", "prom-b"], "__replica__") if replica else {},
    }
    assert pc.config_problems(settings, []) == []
    return yaml.safe_dump(pc.build_config(settings, []))


def _per_target(series):
    counts = {}
    for labels in series:
        counts[labels["instance"]] = counts.get(labels["instance"], 0) + 1
    return counts


def _sent(prom, name):
    result = prom.query('sum(prometheus_remote_storage_samples_total{remote_name="%s"})' % name)
    return float(result[0]["value"][1]) if result else 0.0


def test_ha_pair_into_victoriametrics_one_series_per_target_with_dedup_two_without(tmp_path, record_property):
    vm_binary, prometheus = _staged("victoria-metrics"), _staged("prometheus")
    with VictoriaMetrics(vm_binary, tmp_path, VM_DEDUP, "vm-dedup") as dedup, \
            VictoriaMetrics(vm_binary, tmp_path, VM_RAW, "vm-raw") as raw:
        targets = [{"job_name": "vm", "static_configs": [{"targets": [dedup.address, raw.address]}]}]
        remote = [{"kind": "victoriametrics", "name": "vm-dedup", "url": dedup.url, "queue_config": FAST_QUEUE},
                  {"kind": "victoriametrics", "name": "vm-raw", "url": raw.url, "deduplicate": False,
                   "queue_config": FAST_QUEUE}]
        with Prometheus(prometheus, tmp_path, _config("prom-a", PROM_A, remote, targets), PROM_A, name="prom-a") as a, \
                Prometheus(prometheus, tmp_path, _config("prom-b", PROM_B, remote, targets), PROM_B, name="prom-b") as b:
            # both replicas have sent to both stores (samples_total counts what reached them)
            for prom in (a, b):
                for name in ("vm-dedup", "vm-raw"):
                    _wait(lambda p=prom, n=name: _sent(p, n) > 0, 40, "%s sends to %s" % (prom.host, name))
            match = 'up{job="vm"}'
            raw_series = _wait(lambda: len(raw.series(match)) >= 4 and raw.series(match), 30,
                               "both replicas' series in the store without de-duplication")
            dedup_series = _wait(lambda: len(dedup.series(match)) >= 2 and dedup.series(match), 30,
                                 "series in the de-duplicating store")
            time.sleep(3)  # a few more sends from both replicas: no new series may appear
            raw_series, dedup_series = raw.series(match), dedup.series(match)
            dedup_up = dedup.query('count by (instance) (up{job="vm"})')
            version = dedup.version()
    with_dedup, without = _per_target(dedup_series), _per_target(raw_series)
    figures = {"victoriametrics": version, "series_per_target_with_dedup": with_dedup,
               "series_per_target_without_dedup": without,
               "count_by_instance_up_with_dedup": {r["metric"]["instance"]: r["value"][1] for r in dedup_up}}
    print("remote storage figures: %s" % json.dumps(figures, sort_keys=True))
    record_property("remote_storage_dedup", json.dumps(figures, sort_keys=True))
    instances = {dedup.address, raw.address}
    assert with_dedup == {i: 1 for i in instances}, dedup_series
    assert without == {i: 2 for i in instances}, raw_series
    assert {r["value"][1] for r in dedup_up} == {"1"}, dedup_up
    # the cluster label stays; the replica label is gone from one store and tells the replicas apart in the other
    assert all(s["cluster"] == "prom_pair" and "__replica__" not in s for s in dedup_series), dedup_series
    assert sorted(s["__replica__"] for s in raw_series) == ["prom-a", "prom-a", "prom-b", "prom-b"], raw_series


def _sigv4_run(tmp_path, vm_binary, prometheus, region, secret, case):
    """One Prometheus with a kind=amp entry writing through the verifier into VictoriaMetrics:
    (verifier stats, samples failed, series that arrived)."""
    with VictoriaMetrics(vm_binary, tmp_path, VM_SIGV4, "vm-" + case) as vm, \
            Sigv4Verifier(ACCESS_KEY, SECRET_KEY, REGION, upstream=vm.url + "/api/v1/write", bind=VERIFIER) as verifier:
        remote = [{"kind": "amp", "name": "amp", "region": region, "url": verifier.url,
                   "queue_config": FAST_QUEUE}]
        config = _config("prom-sigv4", PROM_SIGV4, remote, external_labels={"sigv4_case": case}, replica=False)
        rendered = yaml.safe_load(config)["remote_write"][0]
        assert rendered["sigv4"] == {"region": region} and secret not in config, rendered
        env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": secret,
               "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
               "AWS_EC2_METADATA_DISABLED": "true"}
        with Prometheus(prometheus, tmp_path, config, PROM_SIGV4, env=env, name="prom-" + case) as prom:
            if case == "good":
                _wait(lambda: vm.series('up{sigv4_case="good"}'), 40, "signed samples arrive in VictoriaMetrics")
                failed = 0.0
            else:
                result = prom.wait_for("prometheus_remote_storage_samples_failed_total > 0", timeout=40)
                failed = sum(float(r["value"][1]) for r in result)
            stats = verifier.stats()
        arrived = vm.series('{sigv4_case="%s"}' % case)
    return stats, failed, arrived


def test_amp_sigv4_signs_for_the_region_and_a_wrong_region_or_secret_is_rejected(tmp_path, record_property):
    vm_binary, prometheus = _staged("victoria-metrics"), _staged("prometheus")
    figures = {}
    for case, region, secret, reason in (
            ("good", REGION, SECRET_KEY, None),
            ("wrong_region", "us-east-1", SECRET_KEY, "wrong region in the credential scope (us-east-1)"),
            ("wrong_secret", REGION, "not-the-secret", "signature mismatch")):
        stats, failed, arrived = _sigv4_run(tmp_path, vm_binary, prometheus, region, secret, case)
        figures[case] = {"accepted": stats["accepted"], "rejected": stats["rejected"],
                         "samples_failed": failed, "series_in_victoriametrics": len(arrived)}
        if reason is None:
            assert stats["accepted"] > 0 and stats["rejected"] == 0, stats
            assert arrived, "no signed sample reached VictoriaMetrics: %s" % stats
        else:
            assert stats["accepted"] == 0 and stats["rejected"] > 0 and set(stats["reasons"]) == {reason}, stats
            assert failed > 0, "Prometheus did not count the rejected samples"
            assert arrived == [], arrived
    print("sigv4 figures: %s" % json.dumps(figures, sort_keys=True))
    record_property("remote_storage_sigv4", json.dumps(figures, sort_keys=True))
