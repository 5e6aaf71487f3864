"""The shared rules of module_utils/common.py, against literal examples from upstream docs.

Prometheus durations: the examples of the configuration docs ("5h", "1h30m", "5m", "10s") and
model.ParseDuration's rules (units once, descending, integers). Go durations: the examples of
time.ParseDuration's documentation ("300ms", "-1.5h", "2h45m").
"""

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils import common


@pytest.mark.parametrize("text, seconds", [
    ("5h", 18000), ("1h30m", 5400), ("5m", 300), ("10s", 10), ("0s", 0), ("0", 0),
    ("2w", 1209600), ("1y", 31536000), ("500ms", 0.5), ("1d12h", 129600),
])
def test_prometheus_durations_from_the_docs(text, seconds):
    assert common.prometheus_duration_seconds(text) == seconds
    assert common.is_prometheus_duration(text)


@pytest.mark.parametrize("text", ["thirty", "30 seconds", "1.5h", "30m1h", "", "5", "-5m", "1hh", None, 30, True])
def test_not_prometheus_durations(text):
    assert common.prometheus_duration_seconds(text) is None
    assert not common.is_prometheus_duration(text)


@pytest.mark.parametrize("text, seconds", [
    ("300ms", 0.3), ("-1.5h", -5400), ("2h45m", 9900), ("1.5s", 1.5), ("0", 0), ("1µs", 1e-6), ("5s", 5),
])
def test_go_durations_from_the_docs(text, seconds):
    assert common.go_duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5", "thirty", "1d", "", ".s", "1h 30m", None, 5])
def test_not_go_durations(text):
    assert common.go_duration_seconds(text) is None


def test_label_names_classic_and_utf8():
    assert common.is_label_name("environment")
    assert common.is_label_name("_private")
    assert not common.is_label_name("1abc")
    assert not common.is_label_name("service.name")
    assert common.is_label_name("service.name", utf8=True)
    assert not common.is_label_name("", utf8=True)
    assert not common.is_label_name(None)


def test_error_message_shape():
    err = common.MonitoringError("upload the config", "AccessDenied", "grant s3:PutObject")
    assert str(err) == "Failed to upload the config: AccessDenied. Hint: grant s3:PutObject"
    assert str(common.MonitoringError("x", "y")) == "Failed to x: y"
    assert (err.action, err.cause, err.hint) == ("upload the config", "AccessDenied", "grant s3:PutObject")


@pytest.mark.parametrize("listen, url", [
    ("0.0.0.0:9090", "http://127.0.0.1:9090/-/ready"), (":9093", "http://127.0.0.1:9093/-/ready"),
    ("[::]:9100", "http://[::1]:9100/-/ready"), ("127.0.0.11:9090", "http://127.0.0.11:9090/-/ready"),
])
def test_local_url(listen, url):
    assert common.local_url(listen, path="/-/ready") == url
