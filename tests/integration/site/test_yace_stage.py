"""inventories/stage with its group yace: the role's preflight accepts the inventory's YACE
settings, the YACE config and IAM policy it renders are the expected ones, and the prometheus
scrape job the monitoring host gets from yace_scrape_configs passes the real promtool."""

from __future__ import annotations

import sys

from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from tests.support.playbook import REPO
from tests.support.real_tools import promtool_check_config
from tests.unit.plugins.module_utils.test_prometheus_config import SETTINGS


def test_stage_yace_preflight_config_and_scrape_job(playbook):
    play = [{"name": "stage yace", "hosts": "mon-stage-1", "gather_facts": False, "tasks": [
        {"name": "Preflight", "ansible.builtin.include_role": {
            "name": "monitoring.stack.yace", "tasks_from": "preflight", "public": True}},
        {"name": "Rendered", "ansible.builtin.debug": {"msg": {
            "config": "{{ _yace_config }}",
            "policy": "{{ _yace_config | monitoring.stack.yace_iam_policy }}",
            "scrape": "{{ prometheus_extra_scrape_configs }}"}}}]}]
    result = playbook(play, inventory=REPO / "inventories" / "stage", check=True, extra_args=[
        "-e", "ansible_connection=local", "-e", "ansible_python_interpreter=%s" % sys.executable])
    assert result.rc == 0, result
    rendered = result.result("Rendered", host="mon-stage-1")["msg"]
    config = rendered["config"]
    assert config["sts-region"] == "ap-northeast-2"
    assert config["discovery"]["exportedTagsOnMetrics"] == {"AWS/RDS": ["Name"], "AWS/ApplicationELB": ["Name"]}
    assert [(j["type"], j["regions"], j["searchTags"]) for j in config["discovery"]["jobs"]] == [
        (t, ["ap-northeast-2"], [{"key": "Environment", "value": "stage"}])
        for t in ("AWS/RDS", "AWS/ApplicationELB", "AWS/ECS")]
    assert [s["Action"] for s in rendered["policy"]["Statement"]] == [
        ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "tag:GetResources"]]
    (job,) = rendered["scrape"]
    assert job["static_configs"] == [{"targets": ["10.20.0.10:5000"], "labels": {
        "environment": "stage", "service": "yace", "instance": "mon-stage-1:5000"}}]
    promtool_check_config(pc.build_config(dict(SETTINGS, extra_scrape_configs=rendered["scrape"]), []))
