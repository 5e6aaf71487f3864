"""The yace filters: the Prometheus scrape job of the exporters, checked by the real promtool
inside the prometheus role's own config builder (as prometheus_extra_scrape_configs)."""

from __future__ import annotations

import re

import pytest

from ansible_collections.monitoring.stack.plugins.filter import yace as yf
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from tests.support.playbook import REPO
from tests.support.real_tools import promtool_check_config
from tests.unit.plugins.module_utils.test_prometheus_config import SETTINGS

GROUPS = {"yace": ["cw1", "cw2"], "monitoring": ["mon1", "cw1"]}
HOSTVARS = {
    "cw1": {"ansible_host": "10.0.0.5", "monitoring_environment": "stage"},
    "cw2": {"monitoring_environment": "stage", "yace_listen_address": "10.0.0.6:5001"},
    "mon1": {},
}


def test_scrape_job_of_the_yace_group_passes_promtool():
    jobs = yf.yace_scrape_configs(GROUPS, HOSTVARS, ["yace"])
    config = promtool_check_config(pc.build_config(dict(SETTINGS, extra_scrape_configs=jobs), []))
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "yace"]
    assert job["scrape_interval"] == "60s" and job["scrape_timeout"] == "30s"
    assert job["static_configs"] == [
        {"targets": ["10.0.0.5:5000"], "labels": {"environment": "stage", "service": "yace", "instance": "cw1:5000"}},
        {"targets": ["10.0.0.6:5001"], "labels": {"environment": "stage", "service": "yace", "instance": "cw2:5001"}},
    ]
    assert job["metric_relabel_configs"] == [
        {"source_labels": ["__name__"], "regex": "aws.*|yace_.*", "action": "keep"}]


def test_scrape_job_keeps_every_metric_of_the_yace_dashboards_and_drops_the_runtime_ones():
    """The shipped YACE dashboards' metrics (the oracle: the dashboard JSON, not our namer) pass the
    keep rule (Prometheus anchors it: fullmatch); the exporter's Go runtime metrics do not."""
    (job,) = yf.yace_scrape_configs(GROUPS, HOSTVARS, ["yace"])
    keep = re.compile(job["metric_relabel_configs"][0]["regex"])
    metrics = set()
    for name in ("aws-rds-yace.json", "aws-alb-yace.json"):
        text = (REPO / "dashboards" / "aws" / name).read_text()
        metrics.update(re.findall(r"\b(aws_[a-z0-9_]+)\{", text))
    assert len(metrics) >= 15, metrics
    assert all(keep.fullmatch(m) for m in metrics)
    assert not any(keep.fullmatch(m) for m in ("process_cpu_seconds_total", "go_goroutines", "jvm_memory_used_bytes"))


def test_keep_metrics_empty_keeps_all():
    (job,) = yf.yace_scrape_configs(GROUPS, HOSTVARS, ["yace"], keep_metrics="")
    assert "metric_relabel_configs" not in job


def test_no_yace_host_no_job():
    assert yf.yace_scrape_configs({"monitoring": ["mon1"]}, HOSTVARS, ["yace"]) == []


def test_promtool_refuses_a_timeout_above_the_interval():
    """The oracle can fail: the same job with a timeout above its interval is rejected."""
    jobs = yf.yace_scrape_configs(GROUPS, HOSTVARS, ["yace"], scrape_interval="20s", scrape_timeout="30s")
    with pytest.raises(AssertionError, match="promtool check config rejected"):
        promtool_check_config(pc.build_config(dict(SETTINGS, extra_scrape_configs=jobs), []))
