# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the aws_managed role (logic in module_utils/aws_iam_policies.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_managed_adot_policy
short_description: Least-privilege IAM policy of the ADOT collector's ECS task role
description:
  - Returns the policy document (as data) for the task role the ADOT collector sidecar runs with, granting
    C(aps:RemoteWrite) on the workspace ARN only; C(s3:GetObject) on the config objects;
    C(kms:Decrypt) on the bucket's KMS key when the configs are in S3 under a customer-managed key;
    the X-Ray write actions on C(*) (X-Ray has no resource-level permissions) when traces are on.
  - Companion filters in this file, used by the same role
    C(aws_managed_grafana_policy) (Amazon Managed Grafana data-source role, the four AMP query actions
    on the workspace ARNs, CloudWatch reads on C(*) when its argument is true),
    C(aws_managed_trust_policy) (assume-role policy for a service principal),
    C(aws_managed_config_key) (S3 key of a service's collector config),
    C(aws_managed_otel_services) (the role's services as the O(monitoring.stack.otel_config#module:services) list),
    C(aws_managed_rollout_services) (the configs' hashes, and the task definitions with the sidecar, as the
    O(monitoring.stack.ecs_rollout#module:services) list),
    C(aws_managed_sidecar_services) (the services with a C(task_definition_family), each with its config's C(s3_uri)),
    C(aws_managed_bucket_kms_keys) (the customer-managed KMS key of a bucket's default encryption, from
    M(amazon.aws.s3_bucket_info) with C(bucket_encryption)),
    C(aws_managed_s3_object_arns) (object ARNs of keys in a bucket),
    C(aws_managed_needs_traces) (whether any service keeps the traces pipeline) and
    C(aws_managed_problems) (preflight messages, each naming the variable to fix).
positional: config_object_arns, kms_key_arns, traces
options:
  _input:
    description: The AMP workspace ARN.
    type: str
    required: true
  config_object_arns:
    description: ARNs of the S3 objects holding the collector configs.
    type: list
    elements: str
  kms_key_arns:
    description: ARNs of the KMS keys the objects are encrypted with (ignored without objects).
    type: list
    elements: str
  traces:
    description: Add the X-Ray write actions.
    type: bool
    default: false
"""

EXAMPLES = r"""
policy: "{{ amp.arn | monitoring.stack.aws_managed_adot_policy(['arn:aws:s3:::bucket/key'], [kms_key_arn], true) }}"
grafana: "{{ [amp.arn] | monitoring.stack.aws_managed_grafana_policy(true) }}"
"""

RETURN = r"""
_value:
  description: An IAM policy document (Version, Statement), ready for C(to_json).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.monitoring.stack.plugins.module_utils import aws_iam_policies as aip


def aws_managed_adot_policy(workspace_arn, config_object_arns=None, kms_key_arns=None, traces=False):
    try:
        return aip.adot_task_policy(workspace_arn, config_object_arns, kms_key_arns, traces)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def aws_managed_grafana_policy(workspace_arns, cloudwatch=True):
    try:
        return aip.grafana_datasource_policy(workspace_arns, cloudwatch)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def aws_managed_bucket_kms_keys(bucket_info, bucket, workspace_arn):
    """[the bucket's customer-managed default KMS key ARN] from an s3_bucket_info result, or []."""
    for found in (bucket_info or {}).get("buckets") or []:
        if found.get("name") == bucket:
            try:
                key = aip.bucket_kms_key_arn(found.get("bucket_encryption"), workspace_arn)
            except ValueError as exc:
                raise AnsibleFilterError(str(exc))
            return [key] if key else []
    return []


def aws_managed_config_key(service, prefix, project):
    return aip.config_key(prefix, project, service)


# role service key -> otel_config services element key (name and port handled apart)
_OTEL_KEYS = {"service_name": "service_name", "job_name": "job_name", "metrics_path": "metrics_path",
              "scrape_interval": "scrape_interval", "scrape_timeout": "scrape_timeout",
              "metric_prefixes": "custom_metric_prefixes", "traces": "traces",
              "ecs_container_metrics": "ecs_container_metrics"}


def aws_managed_otel_services(services, prefix, project):
    """aws_managed_services -> the ``services`` option of otel_config (only the keys a service sets)."""
    out = []
    for service in services or []:
        element = {"service": service["name"], "app_port": service["port"],
                   "s3_key": aip.config_key(prefix, project, service["name"])}
        element.update({dst: service[src] for src, dst in _OTEL_KEYS.items() if service.get(src) is not None})
        out.append(element)
    return out


def aws_managed_sidecar_services(otel_results, services):
    """The services with a ``task_definition_family``, each with its config's ``s3_uri`` (loop items of
    ecs_collector_sidecar)."""
    by_name = {result["service"]: result for result in otel_results or []}
    return [dict(service, s3_uri=by_name.get(service["name"], {}).get("s3_uri"))
            for service in services or [] if service.get("task_definition_family")]


def aws_managed_rollout_services(otel_results, services, default_cluster="", sidecar_results=None):
    """otel_config's per-service results -> the ``services`` option of ecs_rollout; with
    ``sidecar_results`` (ecs_collector_sidecar's loop results), each service with a new or current
    task definition ARN is rolled onto it."""
    by_name = {result["service"]: result for result in otel_results or []}
    definitions = {r["item"]["name"]: r.get("task_definition_arn")
                   for r in sidecar_results or [] if isinstance(r, dict) and r.get("item")}
    out = []
    for service in services or []:
        if service["name"] not in by_name:
            raise AnsibleFilterError("aws_managed_rollout_services: no collector config for service %s"
                                     % service["name"])
        element = {"service": service.get("ecs_service") or service["name"],
                   "cluster": service.get("cluster") or default_cluster,
                   "config_sha256": by_name[service["name"]]["sha256"]}
        if definitions.get(service["name"]):
            element["task_definition"] = definitions[service["name"]]
        out.append(element)
    return out


def aws_managed_s3_object_arns(keys, bucket, partition_from=""):
    partition = aip.partition_of(partition_from)
    return [aip.s3_object_arn(bucket, key, partition) for key in keys or []]


class FilterModule(object):
    def filters(self):
        return {
            "aws_managed_adot_policy": aws_managed_adot_policy,
            "aws_managed_grafana_policy": aws_managed_grafana_policy,
            "aws_managed_trust_policy": aip.trust_policy,
            "aws_managed_config_key": aws_managed_config_key,
            "aws_managed_bucket_kms_keys": aws_managed_bucket_kms_keys,
            "aws_managed_s3_object_arns": aws_managed_s3_object_arns,
            "aws_managed_otel_services": aws_managed_otel_services,
            "aws_managed_rollout_services": aws_managed_rollout_services,
            "aws_managed_sidecar_services": aws_managed_sidecar_services,
            "aws_managed_needs_traces": aip.services_need_traces,
            "aws_managed_problems": aip.settings_problems,
        }
