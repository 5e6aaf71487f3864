"""SigV4 remote write, end to end without AWS: a real Prometheus signs (aws-sdk-go's signer),
the loopback verifier stand-in (tests/support/sigv4_verifier.py) checks each signature with
botocore's signer and forwards accepted samples to a second real Prometheus (remote-write
receiver), where they are queried back.

Two independent implementations of SigV4 must agree for samples to arrive; a wrong region or
a wrong secret must be rejected, and Prometheus' own failure counters must show it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.playbook import REPO
from tests.support.prometheus_process import PrometheusProcess
from tests.support.sigv4_verifier import Sigv4Verifier

sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow
ACCESS_KEY, SECRET_KEY, REGION = "AKIDSTANDINEXAMPLE", "standin-secret-key-for-tests", "eu-west-1"


def _binary(line):
    try:
        version_lines.stage(line)
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the %s line could not be staged: %s" % (line, exc))
    return os.path.join(version_lines.bindir(line), "prometheus")


def _sender_config(url, region, secret):
    return ("global:\n  scrape_interval: 1s\n  external_labels: {replica: a}\n"
            "scrape_configs:\n  - job_name: self\n    static_configs: [{targets: ['127.0.0.1:PORT']}]\n"
            "remote_write:\n  - url: %s\n    sigv4: {region: %s, access_key: %s, secret_key: %s}\n"
            "    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 200ms}\n"
            % (url, region, ACCESS_KEY, secret))


def _counter(prom, expr):
    result = prom.query("sum(%s)" % expr)
    return float(result[0]["value"][1]) if result else 0.0


@pytest.mark.parametrize("line", ["sid", "trixie"])
def test_signed_samples_arrive(line, tmp_path):
    binary = _binary(line)
    receiver = PrometheusProcess(_binary("sid"), tmp_path, "global: {}\n", ["--web.enable-remote-write-receiver"],
                                 name="receiver")
    with receiver:
        with Sigv4Verifier(ACCESS_KEY, SECRET_KEY, REGION, upstream=receiver.url + "/api/v1/write") as verifier:
            with PrometheusProcess(binary, tmp_path, _sender_config(verifier.url, REGION, SECRET_KEY), name="sender"):
                arrived = receiver.wait_for('up{job="self", replica="a"}', timeout=40)
            stats = verifier.stats()
    assert arrived, "no sample reached the receiver; verifier: %s" % stats
    assert stats["accepted"] > 0 and stats["rejected"] == 0, stats


@pytest.mark.parametrize("region, secret, reason", [
    ("us-east-1", SECRET_KEY, "wrong region in the credential scope (us-east-1)"),
    (REGION, "not-the-secret", "signature mismatch"),
])
def test_wrong_region_or_secret_is_rejected_and_prometheus_counts_it(region, secret, reason, tmp_path):
    binary = _binary("sid")
    with Sigv4Verifier(ACCESS_KEY, SECRET_KEY, REGION) as verifier:
        with PrometheusProcess(binary, tmp_path, _sender_config(verifier.url, region, secret), name="sender") as prom:
            failed = prom.wait_for("prometheus_remote_storage_samples_failed_total > 0", timeout=40)
            stats = verifier.stats()
    assert stats["accepted"] == 0, stats
    assert stats["rejected"] > 0 and set(stats["reasons"]) == {reason}, stats
    assert failed, "Prometheus did not count the rejected samples"


def test_debian_12_packaged_prometheus_sends_sigv4_remote_write_unsigned(tmp_path):
    """A finding, kept as a test so it is noticed when it changes: Debian 12's prometheus
    2.42.0+ds package accepts `sigv4:` in remote_write but sends the requests without any
    signature (its build leaves the SigV4 signer out), so AMP would refuse every sample. The
    prometheus role must therefore not rely on that package for AMP remote write."""
    binary = _binary("bookworm")
    with Sigv4Verifier(ACCESS_KEY, SECRET_KEY, REGION) as verifier:
        with PrometheusProcess(binary, tmp_path, _sender_config(verifier.url, REGION, SECRET_KEY), name="sender") as prom:
            prom.wait_for("prometheus_remote_storage_samples_failed_total > 0", timeout=40)
            stats = verifier.stats()
    assert stats["accepted"] == 0 and set(stats["reasons"]) == {"no SigV4 Authorization header"}, stats
