"""The yace role on localhost: bad input refused before any change, and the config it writes.

No yace binary exists here (no package, GitHub unreachable): the role must say that only the
collection's structural validator checked the config, and this test asserts that warning.
"""

from __future__ import annotations

import json

import boto3
import yaml

JOBS = [{"type": "AWS/RDS", "metrics": [{"name": "CPUUtilization", "statistics": ["Average"]}]}]


def test_bad_input_is_refused_before_any_change(role_preflight):
    """Three bad-input cases in one ansible-playbook run (one inventory host per case)."""
    cases = role_preflight.run_cases("yace", [
        {"yace_regions": ["eu-west-1"], "yace_discovery_jobs": [dict(JOBS[0], type="AWS/RDSX")]},
        {"yace_discovery_jobs": [{"type": "AWS/ECS", "metrics": [{"name": "CPUUtilization", "statistics": ["Avg"]}]}]},
        {"yace_regions": ["eu-west-1"], "yace_version": "0.66.0"},
    ])
    result = cases.fails_before_any_change(
        0, "yace_discovery_jobs[0].type: 'AWS/RDSX' is not a namespace YACE discovers (did you mean AWS/RDS?)")
    assert "AWS/ApplicationELB" in " ".join(m for _n, m in result.failures("case-0"))
    cases.fails_before_any_change(1, "yace_discovery_jobs[0].regions: is required")
    assert "'Avg' is not a statistic" in " ".join(m for _n, m in result.failures("case-1"))
    cases.fails_before_any_change(2, "yace_archive_checksum: is required for YACE 0.66.0")


def _configure(playbook, tmp_path, check=False, **extra):
    play = [{"name": "configure", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Configure", "ansible.builtin.include_role": {"name": "monitoring.stack.yace", "tasks_from": "configure"}}]}]
    extravars = {"yace_config_dir": str(tmp_path), "yace_system_group": "root", "yace_regions": ["eu-west-1"],
                 "yace_search_tags": {"Environment": "stage"}, "yace_binary_dir": str(tmp_path / "bin"),
                 "yace_service_state": "stopped"}  # no reload request to a YACE that is not there
    extravars.update(extra)
    return playbook(play, extravars=extravars, check=check, diff=check)


def test_configure_writes_the_rendered_config_warns_and_is_idempotent(playbook, tmp_path):
    check = _configure(playbook, tmp_path, check=True)
    assert check.rc == 0, check
    written_in_check = check.result("monitoring.stack.yace : Write the YACE configuration")
    assert written_in_check["changed"] and not (tmp_path / "config.yml").exists()
    assert "apiVersion: v1alpha1" in written_in_check["diff"][0]["after"]
    first = _configure(playbook, tmp_path)
    assert first.rc == 0, first
    warning = first.result("monitoring.stack.yace : Warn that YACE's own checker cannot run")["msg"]
    assert "checked only by monitoring.stack's structural validator, not by 'yace verify-config'" in warning
    assert first.result("monitoring.stack.yace : Write the YACE configuration")["changed"]
    written = yaml.safe_load((tmp_path / "config.yml").read_text())
    assert written["apiVersion"] == "v1alpha1"
    assert [j["type"] for j in written["discovery"]["jobs"]] == ["AWS/RDS", "AWS/ApplicationELB", "AWS/ECS"]
    assert all(j["regions"] == ["eu-west-1"] and j["searchTags"] == [{"key": "Environment", "value": "stage"}]
               and j["period"] == 300 and j["length"] == 300 for j in written["discovery"]["jobs"])
    assert (tmp_path / "config.yml").stat().st_mode & 0o777 == 0o640
    again = _configure(playbook, tmp_path)
    assert again.rc == 0 and not again.result("monitoring.stack.yace : Write the YACE configuration")["changed"], again


def test_iam_policy_four_steps_against_moto(aws, playbook):
    """check -> apply -> check -> apply of the role's IAM step on a real moto server."""
    # The four steps as four includes of one run: each runs the module in a process of its own.
    steps = [{"name": "IAM (step %d)" % index, "ansible.builtin.include_role": {
        "name": "monitoring.stack.yace", "tasks_from": "iam", "apply": {"check_mode": check}}}
        for index, check in enumerate((True, False, True, False), 1)]
    play = [{"name": "iam", "hosts": "localhost", "gather_facts": False, "tasks": steps}]
    extravars = {"yace_regions": ["eu-west-1"], "yace_iam_policy_name": "yace-stage"}
    name = "monitoring.stack.yace : IAM policy of the identity YACE runs as"
    result = playbook(play, extravars=extravars)
    assert result.rc == 0, result
    changed = [res["changed"] for task, res in result.results() if task == name]
    assert changed == [True, True, False, False]
    iam = boto3.client("iam", region_name="eu-west-1")
    (policy,) = [p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == "yace-stage"]
    document = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    assert [s["Action"] for s in document["Statement"]] == [
        ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "tag:GetResources"]]
