# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Least-privilege IAM policy documents and input checks of the aws_managed role.

Pure functions (no Ansible, no boto3): the role calls them through the filters in
plugins/filter/aws_managed.py, unit tests call them directly. The design is the one of
docs/aws_managed.md: every AMP action is scoped to the workspace ARN, S3 reads to the config
objects, kms:Decrypt to the bucket's key; X-Ray and CloudWatch reads have no resource-level
permissions, so they are the only statements on "*".
"""

from __future__ import annotations

import re

from ansible_collections.monitoring.stack.plugins.module_utils.otel import is_region_shape

POLICY_VERSION = "2012-10-17"

ADOT_WRITE_ACTIONS = ["aps:RemoteWrite"]
XRAY_ACTIONS = ["xray:GetSamplingRules", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
GRAFANA_QUERY_ACTIONS = ["aps:GetLabels", "aps:GetMetricMetadata", "aps:GetSeries", "aps:QueryMetrics"]
CLOUDWATCH_READ_ACTIONS = [
    "cloudwatch:DescribeAlarmHistory",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:DescribeAlarmsForMetric",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:ListMetrics",
]

SERVICE_KEYS = (
    "name", "port", "metrics_path", "job_name", "service_name", "metric_prefixes", "cluster",
    "ecs_service", "traces", "ecs_container_metrics", "scrape_interval", "scrape_timeout",
    # the collector sidecar in the service's task definition (ecs_collector_sidecar)
    "task_definition_family", "app_container", "collector_log_group",
)

_WORKSPACE_ARN = re.compile(r"^arn:aws[a-z-]*:aps:[a-z0-9-]+:[0-9]{12}:workspace/[A-Za-z0-9-]+$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$")
_SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def _statement(sid, actions, resources):
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": sorted(resources) if len(resources) > 1 else resources[0],
    }


def partition_of(arn):
    """The partition of an ARN (aws, aws-cn, aws-us-gov); aws when it is not an ARN."""
    parts = (arn or "").split(":")
    return parts[1] if len(parts) > 1 and parts[0] == "arn" and parts[1].startswith("aws") else "aws"


def s3_object_arn(bucket, key, partition="aws"):
    """The ARN of one S3 object."""
    return "arn:%s:s3:::%s/%s" % (partition, bucket, key.lstrip("/"))


def config_key(prefix, project, service):
    """The S3 key of a service's collector config (otel_config's default layout under `prefix`)."""
    return "%s/%s-%s/otel-config.yaml" % (prefix.strip("/"), project, service)


def adot_task_policy(workspace_arn, config_object_arns=None, kms_key_arns=None, traces=False):
    """The policy of the ECS task role the ADOT collector runs with.

    aps:RemoteWrite on the workspace only; s3:GetObject on the config objects when the collector
    reads its config from S3; kms:Decrypt on the key when those objects are under SSE-KMS with a
    customer-managed key; the X-Ray write actions (no resource-level permissions) when traces are on.
    """
    if not workspace_arn:
        raise ValueError("adot_task_policy needs the workspace ARN")
    statements = [_statement("AmpRemoteWrite", ADOT_WRITE_ACTIONS, [workspace_arn])]
    objects = sorted(set(config_object_arns or []))
    if objects:
        statements.append(_statement("ReadCollectorConfig", ["s3:GetObject"], objects))
    keys = sorted(set(k for k in (kms_key_arns or []) if k))
    if keys and objects:
        statements.append(_statement("DecryptCollectorConfig", ["kms:Decrypt"], keys))
    if traces:
        statements.append(_statement("XRayWrite", XRAY_ACTIONS, ["*"]))
    return {"Version": POLICY_VERSION, "Statement": statements}


def bucket_kms_key_arn(encryption, workspace_arn):
    """The ARN of the customer-managed KMS key a bucket's default encryption names, or None.

    ``encryption`` is GetBucketEncryption's answer (``ServerSideEncryptionConfiguration``);
    None when the bucket uses SSE-S3 or the AWS-managed ``aws/s3`` key (no KMSMasterKeyID), which
    need no kms:Decrypt in the task role's policy. A bare key id becomes an ARN in the partition,
    region and account of the workspace; an alias cannot be resolved here (ValueError).
    """
    rules = ((encryption or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") not in ("aws:kms", "aws:kms:dsse"):
            continue
        key = default.get("KMSMasterKeyID")
        if not key:
            return None
        if _KMS_KEY_ARN.match(key):
            return key
        if key.startswith("alias/") or ":alias/" in key:
            raise ValueError("the config bucket's default encryption names the KMS alias %r, which an IAM policy "
                             "cannot use: set aws_managed_config_kms_key_arn to the key's ARN" % key)
        parts = (workspace_arn or "").split(":")
        if len(parts) < 5:
            raise ValueError("cannot make an ARN of the bucket's KMS key id %r without the workspace ARN: set "
                             "aws_managed_config_kms_key_arn" % key)
        return "arn:%s:kms:%s:%s:key/%s" % (parts[1], parts[3], parts[4], key)
    return None


def grafana_datasource_policy(workspace_arns, cloudwatch=True):
    """The policy of Amazon Managed Grafana's data-source role.

    The four AMP query actions on the workspace(s) only (no ListWorkspaces/DescribeWorkspace:
    the data source is configured with the workspace URL); CloudWatch reads on "*" (they are not
    resource-scoped) for the RDS/ALB dashboards when `cloudwatch` is true.
    """
    if isinstance(workspace_arns, str):
        workspace_arns = [workspace_arns]
    arns = sorted(set(a for a in workspace_arns or [] if a))
    if not arns:
        raise ValueError("grafana_datasource_policy needs at least one workspace ARN")
    statements = [_statement("AmpQuery", GRAFANA_QUERY_ACTIONS, arns)]
    if cloudwatch:
        statements.append(_statement("CloudWatchRead", CLOUDWATCH_READ_ACTIONS, ["*"]))
    return {"Version": POLICY_VERSION, "Statement": statements}


def trust_policy(service_principal):
    """An assume-role policy for an AWS service principal (ecs-tasks.amazonaws.com, grafana.amazonaws.com)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service_principal}, "Action": "sts:AssumeRole"}],
    }


def services_need_traces(services):
    """True when any service keeps the traces pipeline (otel_config's default is on)."""
    return any(bool(s.get("traces", True)) for s in services or [] if isinstance(s, dict))


def is_workspace_arn(value):
    return bool(_WORKSPACE_ARN.match(value or ""))


def _is_port(value):
    if isinstance(value, bool):
        return False
    try:
        port = int(value)
    except (TypeError, ValueError):
        return False
    return str(port) == str(value).strip() and 0 < port < 65536


def service_problems(services, cluster="", rollout=True, variable="aws_managed_services"):
    """Problems with the services list, each naming the variable and the entry."""
    if not isinstance(services, list):
        return ["%s: must be a list of services ({name, port, ...}), got %s" % (variable, type(services).__name__)]
    problems = []
    seen = {}
    for index, service in enumerate(services):
        where = "%s[%d]" % (variable, index)
        if not isinstance(service, dict):
            problems.append("%s: must be a mapping with at least name and port, got %r" % (where, service))
            continue
        name = service.get("name")
        if not name or not isinstance(name, str):
            problems.append("%s: has no name" % where)
        else:
            where = "%s[%d] (%s)" % (variable, index, name)
            if not _NAME.match(name):
                problems.append("%s: name must be letters, digits, '-' or '_'" % where)
            if name in seen:
                problems.append("%s: duplicate service name %r (also %s[%d])" % (where, name, variable, seen[name]))
            else:
                seen[name] = index
        if "port" not in service or service.get("port") in (None, ""):
            problems.append("%s: has no port (the port the application serves its metrics on)" % where)
        elif not _is_port(service["port"]):
            problems.append("%s: port must be a number from 1 to 65535, got %r" % (where, service["port"]))
        unknown = sorted(set(service) - set(SERVICE_KEYS))
        if unknown:
            problems.append("%s: unknown keys %s (known: %s)" % (where, ", ".join(unknown), ", ".join(SERVICE_KEYS)))
        prefixes = service.get("metric_prefixes", [])
        if not isinstance(prefixes, list) or not all(isinstance(p, str) and p for p in prefixes):
            problems.append("%s: metric_prefixes must be a list of non-empty strings" % where)
        if rollout and not (service.get("cluster") or cluster):
            problems.append("%s: no ECS cluster (set cluster on the service or aws_managed_cluster)" % where)
    return problems


def settings_problems(settings, available_packs):
    """Problems with the aws_managed role's settings; each message starts with the variable name.

    `settings` holds the role's public variables without the `aws_managed_` prefix.
    """
    problems = []
    region = settings.get("region") or ""
    if not region:
        problems.append("aws_managed_region: is required (the region of the workspace, bucket and cluster)")
    elif not is_region_shape(region):
        problems.append("aws_managed_region: %r is not a region name (like eu-west-1)" % region)
    alias = settings.get("workspace_alias") or ""
    if not alias:
        problems.append("aws_managed_workspace_alias: is required (one workspace per environment, found by alias)")
    packs = settings.get("rule_packs")
    if not isinstance(packs, list):
        problems.append("aws_managed_rule_packs: must be a list of rule pack names")
    else:
        unknown = [p for p in packs if p not in available_packs]
        if unknown:
            problems.append("aws_managed_rule_packs: unknown rule pack(s) %s (available: %s)"
                            % (", ".join(map(str, unknown)), ", ".join(sorted(available_packs))))
        if len(set(map(str, packs))) != len(packs):
            problems.append("aws_managed_rule_packs: lists a pack twice")
    if settings.get("alertmanager_enabled"):
        topic = settings.get("alert_topic_arn") or ""
        if not _SNS_ARN.match(topic):
            problems.append("aws_managed_alert_topic_arn: must be an SNS topic ARN when aws_managed_alertmanager_enabled "
                            "is true, got %r" % topic)
    services = settings.get("services")
    problems.extend(service_problems(services, settings.get("cluster") or "", bool(settings.get("rollout_enabled"))))
    if isinstance(services, list) and services:
        if not settings.get("project"):
            problems.append("aws_managed_project: is required with aws_managed_services (names the scrape jobs and "
                            "the S3 keys)")
        if not settings.get("config_bucket"):
            problems.append("aws_managed_config_bucket: is required with aws_managed_services (the collector "
                            "configs are stored there under SSE-KMS)")
    kms = settings.get("config_kms_key_arn") or ""
    if kms and not _KMS_KEY_ARN.match(kms):
        problems.append("aws_managed_config_kms_key_arn: must be a key ARN (arn:aws:kms:<region>:<account>:key/<id>) "
                        "for the IAM policy, got %r" % kms)
    if settings.get("iam_enabled"):
        for variable in ("adot_policy_name", "grafana_policy_name"):
            if not settings.get(variable):
                problems.append("aws_managed_%s: is required when aws_managed_iam_enabled is true" % variable)
    return problems


# YACE (yet-another-cloudwatch-exporter), README "Authentication": the minimum of every job, and
# what discovery of some namespaces needs on top. cloudwatch:GetMetricStatistics serves static jobs
# only (YACE's pkg/job/static.go), iam:ListAccountAliases only the alias label of aws_account_info.
# None of them has resource-level permissions, hence "*"; AWS/RDS, AWS/ApplicationELB and AWS/ECS
# need nothing beyond the minimum.
YACE_READ_ACTIONS = ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "tag:GetResources"]
YACE_STATIC_ACTIONS = ["cloudwatch:GetMetricStatistics"]
YACE_ACCOUNT_ALIAS_ACTIONS = ["iam:ListAccountAliases"]
YACE_DISCOVERY_ACTIONS = {
    "AWS/ApiGateway": ["apigateway:GET"],
    "AWS/AutoScaling": ["autoscaling:DescribeAutoScalingGroups"],
    "AWS/DMS": ["dms:DescribeReplicationInstances", "dms:DescribeReplicationTasks"],
    "AWS/EC2Spot": ["ec2:DescribeSpotFleetRequests"],
    "AWS/Prometheus": ["aps:ListWorkspaces"],
    "AWS/StorageGateway": ["storagegateway:ListGateways", "storagegateway:ListTagsForResource"],
    "AWS/TransitGateway": ["ec2:DescribeTransitGatewayAttachments"],
    "AWS/DDoSProtection": ["shield:ListProtections"],
}


def yace_exporter_policy(config, account_alias=False):
    """The least-privilege policy of the identity YACE runs as, for a rendered YACE config.

    The three read actions always; cloudwatch:GetMetricStatistics only with static jobs; the
    discovery actions of the namespaces the jobs use; sts:AssumeRole on the jobs' roleArns only.
    """
    config = config or {}
    jobs = [j for section in ("static", "customNamespace") for j in config.get(section) or []]
    discovery = (config.get("discovery") or {}).get("jobs") or []
    read = list(YACE_READ_ACTIONS)
    if config.get("static"):
        read += YACE_STATIC_ACTIONS
    if account_alias:
        read += YACE_ACCOUNT_ALIAS_ACTIONS
    statements = [_statement("YaceRead", read, ["*"])]
    extra = sorted(set(a for j in discovery for a in YACE_DISCOVERY_ACTIONS.get(j.get("type"), [])))
    if extra:
        statements.append(_statement("YaceDiscovery", extra, ["*"]))
    roles = sorted(set(r.get("roleArn") for j in discovery + jobs for r in j.get("roles") or []
                       if isinstance(r, dict) and r.get("roleArn")))
    if roles:
        statements.append(_statement("YaceAssumeRoles", ["sts:AssumeRole"], roles))
    return {"Version": POLICY_VERSION, "Statement": statements}
