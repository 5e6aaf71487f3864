# -*- coding: utf-8 -*-
# Copyright (c) monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ADOT collector as a sidecar of an ECS task definition (seed 001's task definition,
seed 000's per-service table), as plain functions.

``with_collector(task_definition, spec)`` returns the definition to register: the given one
with the collector container added or brought up to date, and nothing else changed. The
collector gets its config either as ``AOT_CONFIG_CONTENT`` from an SSM parameter through
``secrets[].valueFrom`` (ECS' agent reads it with the task *execution* role), or as
``--config s3://<bucket>.s3.<region>.amazonaws.com/<key>`` (the collector reads it with the
task role). ``same_definition`` compares what ECS would register, ignoring the read-only
fields ``describe_task_definition`` adds, so a new revision is registered only on a change.
"""

from __future__ import annotations

import re

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError, plain_copy

__all__ = [
    "DEFAULT_IMAGE",
    "REGISTRABLE_KEYS",
    "collector_policies",
    "registrable",
    "same_definition",
    "with_collector",
]

# Pinned, never :latest: a new collector release changes behaviour under a running service.
DEFAULT_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
# What register_task_definition takes; describe_task_definition adds taskDefinitionArn,
# revision, status, requiresAttributes, compatibilities, registeredAt/By, deregisteredAt.
REGISTRABLE_KEYS = (
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
    "placementConstraints", "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode",
    "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage", "runtimePlatform", "enableFaultInjection",
)
_SSM_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:([a-z0-9-]+):[0-9]{12}:parameter/.+$")
# The collector image's health probe; it asks the health_check extension (port 13133).
HEALTH_CHECK = {"command": ["CMD", "/healthcheck"], "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 10}


def registrable(task_definition):
    """The keys of a described task definition that register_task_definition accepts."""
    return {key: plain_copy(value) for key, value in (task_definition or {}).items()
            if key in REGISTRABLE_KEYS and value not in (None, [], {})}


def _container(definition, name):
    for container in definition.get("containerDefinitions") or []:
        if container.get("name") == name:
            return container
    return None


def _problems(definition, spec):
    problems = []
    containers = definition.get("containerDefinitions") or []
    names = [c.get("name") for c in containers]
    app = spec.get("app_container")
    if not app:
        problems.append("app_container: required (the application container the collector scrapes)")
    elif app not in names:
        problems.append("app_container: %r is not a container of the task definition (containers: %s)"
                        % (app, ", ".join(str(n) for n in names) or "none"))
    delivery = spec.get("config_delivery")
    if delivery == "ssm":
        match = _SSM_ARN.match(spec.get("ssm_parameter_arn") or "")
        if not match:
            problems.append("ssm_parameter_arn: must be the ARN of the SSM parameter otel_config wrote "
                            "(arn:aws:ssm:<region>:<account>:parameter/<name>)")
        elif spec.get("region") and match.group(1) != spec["region"]:
            problems.append("ssm_parameter_arn: the parameter is in %s but the task runs in %s; ECS reads "
                            "secrets of its own region only" % (match.group(1), spec["region"]))
    elif delivery == "s3":
        if not spec.get("s3_uri", "").startswith("s3://"):
            problems.append("s3_uri: must be s3://<bucket>.s3.<region>.amazonaws.com/<key> (as otel_config returns it)")
    else:
        problems.append("config_delivery: must be ssm or s3, got %r" % (delivery,))
    for key in ("cpu", "memory_reservation"):
        value = spec.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            problems.append("%s: must be a positive integer, got %r" % (key, value))
    if not spec.get("log_group"):
        problems.append("log_group: required (the collector's CloudWatch Logs group)")
    return problems


def collector_container(spec):
    """The collector's container definition from the spec."""
    container = {
        "name": spec.get("name") or "aws-otel-collector",
        "image": spec.get("image") or DEFAULT_IMAGE,
        "essential": False,
        "cpu": spec.get("cpu", 256),
        "memoryReservation": spec.get("memory_reservation", 512),
        "healthCheck": plain_copy(HEALTH_CHECK),
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": spec["log_group"],
                "awslogs-region": spec.get("region") or "",
                "awslogs-stream-prefix": spec.get("log_stream_prefix") or "otel",
            },
        },
    }
    if not container["logConfiguration"]["options"]["awslogs-region"]:
        del container["logConfiguration"]["options"]["awslogs-region"]
    if spec["config_delivery"] == "ssm":
        container["secrets"] = [{"name": "AOT_CONFIG_CONTENT", "valueFrom": spec["ssm_parameter_arn"]}]
    else:
        container["command"] = ["--config", spec["s3_uri"]]
    return container


def with_collector(task_definition, spec):
    """The task definition to register: ``task_definition`` (as described or as registered)
    with the collector container added or replaced. Raises MonitoringError naming every
    problem of the spec before anything is built."""
    definition = registrable(task_definition)
    problems = _problems(definition, spec)
    if problems:
        raise MonitoringError("add the ADOT collector to task definition %s" % definition.get("family", "?"),
                              "; ".join(problems))
    wanted = collector_container(spec)
    containers = [c for c in definition.get("containerDefinitions") or [] if c.get("name") != wanted["name"]]
    current = _container(definition, wanted["name"])
    if current is not None:
        # Keep what a person added to the collector container that we do not manage, except any
        # other AOT_CONFIG_CONTENT: set at all, it overrides every --config and our secret.
        merged = plain_copy(current)
        merged.pop("command", None)
        for key in ("environment", "secrets"):
            kept = [e for e in merged.get(key) or [] if e.get("name") != "AOT_CONFIG_CONTENT"]
            if kept:
                merged[key] = kept
            else:
                merged.pop(key, None)
        merged.update(wanted)
        wanted = merged
    containers.append(wanted)
    definition["containerDefinitions"] = containers
    return definition


def _normalized(definition):
    data = registrable(definition)
    containers = []
    for container in data.get("containerDefinitions") or []:
        # ECS returns empty lists and defaults for fields a registration left out.
        containers.append({k: v for k, v in container.items() if v not in (None, [], {})})
    data["containerDefinitions"] = sorted(containers, key=lambda c: c.get("name", ""))
    return data


def same_definition(current, desired):
    """True when registering ``desired`` would change nothing of ``current``."""
    return _normalized(current) == _normalized(desired)


def collector_policies(spec, kms_key_arn=None, partition="aws"):
    """Least-privilege statements for the collector's config, by delivery:

    - ``ssm``: the task *execution* role reads the parameter (ECS injects the secret before the
      container starts): ssm:GetParameters on that parameter, kms:Decrypt on its key;
    - ``s3``: the task role reads the object (the collector fetches it itself): s3:GetObject on
      that object, kms:Decrypt on the key that encrypts it.

    Returns ``{"execution_role": [...], "task_role": [...]}`` (lists of statements).
    """
    statements = {"execution_role": [], "task_role": []}
    if spec["config_delivery"] == "ssm":
        role = "execution_role"
        statements[role].append({"Sid": "ReadCollectorConfigParameter", "Effect": "Allow",
                                 "Action": ["ssm:GetParameters"], "Resource": spec["ssm_parameter_arn"]})
    else:
        role = "task_role"
        bucket_host, _sep, key = spec["s3_uri"][len("s3://"):].partition("/")
        bucket = bucket_host.split(".s3.")[0]
        statements[role].append({"Sid": "ReadCollectorConfigObject", "Effect": "Allow", "Action": ["s3:GetObject"],
                                 "Resource": "arn:%s:s3:::%s/%s" % (partition, bucket, key)})
    if kms_key_arn:
        statements[role].append({"Sid": "DecryptCollectorConfig", "Effect": "Allow", "Action": ["kms:Decrypt"],
                                 "Resource": kms_key_arn})
    return statements


MASK = "********"


def masked(definition):
    """``definition`` for diffs and results: every ``environment`` value replaced by MASK
    (an application's environment may hold a secret; ``secrets`` only name ARNs)."""
    data = plain_copy(definition)
    for container in data.get("containerDefinitions") or []:
        for entry in container.get("environment") or []:
            if "value" in entry:
                entry["value"] = MASK
    return data


def policy_document(statements):
    """An IAM policy document of ``statements`` (None when there are none)."""
    if not statements:
        return None
    return {"Version": "2012-10-17", "Statement": statements}


_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/(?:.*/)?([^/]+)$")


def role_name(role_arn):
    """The role name of an IAM role ARN (the last path segment), None when it is not one."""
    match = _ROLE_ARN.match(role_arn or "")
    return match.group(1) if match else None


def kms_key_arn(key_id, resource_arn):
    """The ARN of ``key_id`` (a key ARN, or a bare key id in the account and region of
    ``resource_arn``); None for AWS-managed aliases (``alias/aws/ssm``: ECS needs no kms:Decrypt)
    and for nothing given."""
    if not key_id or key_id.startswith("alias/aws/"):
        return None
    if key_id.startswith("arn:"):
        return key_id
    parts = resource_arn.split(":")
    if len(parts) < 5 or key_id.startswith("alias/"):
        return None
    return "arn:%s:kms:%s:%s:key/%s" % (parts[1], parts[3], parts[4], key_id)
