"""The YACE config renderer, its structural validator, metric names and the exporter's IAM policy.

Oracles that are not the code under test: YACE's own example configs (literal copies, see
tests/unit/fixtures/yace/README.md; YACE's CI verifies each with the real binary), a hand-written
expected rendering, metric names copied from YACE's README and mixin dashboards, and the action
lists of YACE's README ("Authentication"). No yace binary exists here, so `yace verify-config`
cannot run: these structural checks are all that runs, and the role says so when it writes.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import aws_iam_policies as aip
from ansible_collections.monitoring.stack.plugins.module_utils import yace_config as yc

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "yace"
UPSTREAM_VALID = ["upstream-alb.yml", "upstream-ecs.yml", "upstream-rds.yml", "upstream-qldb.yml"]

SETTINGS = {
    "sts_region": "eu-west-1",
    "regions": ["eu-west-1"],
    "search_tags": {"Environment": "stage"},
    "period": 300,
    "length": 300,
    "exported_tags_on_metrics": {"AWS/RDS": ["Name"]},
    "jobs": [
        {"type": "AWS/RDS", "metrics": [{"name": "CPUUtilization", "statistics": ["Average", "Maximum"]},
                                        {"name": "DatabaseConnections", "statistics": ["Average"]}]},
        {"type": "AWS/ApplicationELB", "regions": ["eu-west-1", "eu-central-1"],
         "searchTags": [{"key": "Environment", "value": "stage"}, {"key": "Team", "value": "web"}],
         "period": 60, "length": 120,
         "metrics": [{"name": "RequestCount", "statistics": ["Sum"]},
                     {"name": "TargetResponseTime", "statistics": ["Average", "p99"], "period": 300, "length": 600}]},
    ],
}


def _fixture(name):
    return yaml.safe_load((FIXTURES / name).read_text())


@pytest.mark.parametrize("name", UPSTREAM_VALID)
def test_upstream_examples_pass(name):
    assert yc.config_problems(_fixture(name)) == []


def test_the_docs_alias_example_is_refused_naming_the_namespace():
    problems = yc.config_problems(_fixture("upstream-configuration-discovery.yml"))
    assert any("'kafka'" in p and "AWS/Kafka" in p for p in problems), problems


def test_renderer_builds_the_expected_config():
    assert yc.build_config(SETTINGS) == _fixture("expected-rendered.yml")


def test_rendered_config_passes_and_does_not_share_the_inputs():
    settings = copy.deepcopy(SETTINGS)
    config = yc.build_config(settings)
    assert yc.config_problems(config) == []
    config["discovery"]["jobs"][0]["metrics"].clear()
    assert settings == SETTINGS


def test_no_sts_region_and_no_exported_tags_leave_the_keys_out():
    config = yc.build_config(dict(SETTINGS, sts_region="", exported_tags_on_metrics={}))
    assert "sts-region" not in config and "exportedTagsOnMetrics" not in config["discovery"]


def _rds():
    return _fixture("upstream-rds.yml")


def _set(path, value):
    def mutate(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return mutate


_DELETE = object()
JOB = ("discovery", "jobs", 0)

MUTATIONS = [
    ("unknown namespace", _set(JOB + ("type",), "AWS/RDSX"), "'AWS/RDSX' is not a namespace"),
    ("no type", _set(JOB + ("type",), _DELETE), "type: is required"),
    ("bad statistic", _set(JOB + ("metrics", 0, "statistics"), ["Avg"]), "'Avg' is not a statistic"),
    ("bad percentile", _set(JOB + ("metrics", 0, "statistics"), ["p999"]), "'p999' is not a statistic"),
    ("no statistics", _set(JOB + ("metrics", 0, "statistics"), _DELETE), "statistics: is required"),
    ("no regions", _set(JOB + ("regions",), _DELETE), "regions: is required"),
    ("empty regions", _set(JOB + ("regions",), []), "regions: is required"),
    ("bad region", _set(JOB + ("regions",), ["Ireland"]), "'Ireland' is not a region"),
    ("no metrics", _set(JOB + ("metrics",), []), "metrics: is required"),
    ("metric without name", _set(JOB + ("metrics", 0, "name"), ""), "name: is required"),
    ("zero period", _set(JOB + ("period",), 0), "period: must be a positive number of seconds"),
    ("length below period", _set(JOB + ("length",), 60), "length (60) is smaller than period (300)"),
    ("api version", _set(("apiVersion",), "v1"), "apiVersion: must be v1alpha1"),
    ("typo in a job key", _set(JOB + ("searchTag",), [{"key": "env", "value": "x"}]), "unknown key 'searchTag'"),
    ("bad tag regex", _set(JOB + ("searchTags",), [{"key": "env", "value": "(prod"}]), "not a regular expression"),
    ("tag without key", _set(JOB + ("searchTags",), [{"value": "prod"}]), "key: is required"),
    ("exported tags of no job", _set(("discovery", "exportedTagsOnMetrics"), {"AWS/EC2": ["Name"]}),
     "'AWS/EC2' is not the type of any discovery job"),
    ("export all without timestamps", _set(JOB + ("metrics", 0, "exportAllDataPoints"), True),
     "exportAllDataPoints needs addCloudwatchTimestamp"),
    ("no jobs at all", _set(("discovery",), _DELETE), "at least one discovery job"),
]


@pytest.mark.parametrize("mutate,expected", [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_mutations_of_an_upstream_example_fail(mutate, expected):
    config = _rds()
    mutate(config)
    problems = yc.config_problems(config)
    assert any(expected in p for p in problems), problems


def test_unknown_namespace_lists_the_valid_ones_and_suggests_one():
    config = _rds()
    config["discovery"]["jobs"][0]["type"] = "AWS/RDSX"
    (problem,) = yc.config_problems(config, jobs_variable="yace_discovery_jobs")
    assert problem.startswith("yace_discovery_jobs[0].type: 'AWS/RDSX' is not a namespace")
    assert "did you mean AWS/RDS?" in problem
    for namespace in ("AWS/ApplicationELB", "AWS/ECS", "AWS/RDS", "ECS/ContainerInsights", "Glue"):
        assert namespace in problem


def test_extra_namespaces_are_accepted_when_given():
    config = _rds()
    config["discovery"]["jobs"][0]["type"] = "AWS/EKS"
    assert yc.config_problems(config) and yc.config_problems(config, extra_namespaces=["AWS/EKS"]) == []


def test_the_namespace_table_is_the_docs_list():
    assert len(yc.SUPPORTED_NAMESPACES) == len(set(yc.SUPPORTED_NAMESPACES)) == 103
    assert {"AWS/RDS", "AWS/ApplicationELB", "AWS/ECS", "AWS/Network Manager"} <= set(yc.SUPPORTED_NAMESPACES)


# Literal names from YACE's README ("Metrics Examples", "Query Examples") and mixin/dashboards/*.libsonnet.
NAMES = [
    ("AWS/RDS", "CPUUtilization", "Average", "aws_rds_cpuutilization_average"),
    ("AWS/RDS", "DatabaseConnections", "Sum", "aws_rds_database_connections_sum"),
    ("AWS/RDS", "FreeStorageSpace", "Average", "aws_rds_free_storage_space_average"),
    ("AWS/RDS", "ReadIOPS", "Average", "aws_rds_read_iops_average"),
    ("AWS/ELB", "HTTPCode_Backend_4XX", "Sum", "aws_elb_httpcode_backend_4_xx_sum"),
    ("AWS/EC2", "CPUUtilization", "Maximum", "aws_ec2_cpuutilization_maximum"),
    ("AWS/EC2", "StatusCheckFailed_Instance", "Sum", "aws_ec2_status_check_failed_instance_sum"),
    ("AWS/Lambda", "Duration", "p90", "aws_lambda_duration_p90"),
    ("AWS/S3", "4xxErrors", "Sum", "aws_s3_4xx_errors_sum"),
    ("AWS/EBS", "VolumeThroughputPercentage", "Average", "aws_ebs_volume_throughput_percentage_average"),
]


@pytest.mark.parametrize("namespace,metric,statistic,expected", NAMES)
def test_metric_names_follow_yace(namespace, metric, statistic, expected):
    assert yc.metric_name(namespace, metric, statistic) == expected


def test_exported_metric_names_of_a_config():
    names = yc.exported_metric_names(_fixture("expected-rendered.yml"))
    assert "aws_rds_cpuutilization_maximum" in names
    assert "aws_applicationelb_target_response_time_p99" in names
    assert "aws_rds_info" in names and "aws_applicationelb_info" in names


# IAM: README "Authentication": the bare minimum is tag:GetResources, cloudwatch:GetMetricData,
# cloudwatch:GetMetricStatistics, cloudwatch:ListMetrics; GetMetricStatistics serves only static
# jobs (pkg/job/static.go), so discovery-only configs go without it.
def _actions(policy):
    return sorted(a for s in policy["Statement"] for a in s["Action"])


def test_policy_of_rds_alb_ecs_discovery_is_the_three_read_actions():
    policy = aip.yace_exporter_policy(yc.build_config(SETTINGS))
    assert policy["Version"] == "2012-10-17"
    assert _actions(policy) == ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "tag:GetResources"]
    assert [s["Resource"] for s in policy["Statement"]] == ["*"]


def test_policy_grows_only_with_what_the_config_uses():
    config = yc.build_config(SETTINGS)
    config["discovery"]["jobs"].append({"type": "AWS/ApiGateway", "regions": ["eu-west-1"],
                                        "roles": [{"roleArn": "arn:aws:iam::123456789012:role/yace"}],
                                        "metrics": [{"name": "Count", "statistics": ["Sum"]}]})
    config["static"] = [{"name": "asg", "namespace": "AWS/AutoScaling", "regions": ["eu-west-1"],
                         "dimensions": [{"name": "AutoScalingGroupName", "value": "web"}],
                         "metrics": [{"name": "GroupInServiceInstances", "statistics": ["Minimum"]}]}]
    policy = aip.yace_exporter_policy(config, account_alias=True)
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert "apigateway:GET" in statements["YaceDiscovery"]["Action"]
    assert "cloudwatch:GetMetricStatistics" in statements["YaceRead"]["Action"]
    assert "iam:ListAccountAliases" in statements["YaceRead"]["Action"]
    assert statements["YaceAssumeRoles"] == {"Sid": "YaceAssumeRoles", "Effect": "Allow", "Action": ["sts:AssumeRole"],
                                             "Resource": "arn:aws:iam::123456789012:role/yace"}
