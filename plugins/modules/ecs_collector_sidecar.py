#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_collector_sidecar
short_description: Add the ADOT collector sidecar to an ECS task definition
version_added: 0.1.0
description:
  - Takes the latest ACTIVE revision of an ECS task definition family (or a definition given as
    O(definition)) and adds the ADOT collector container to it, or brings an existing one up to
    date; the other containers and settings are kept as they are.
  - The collector container gets a pinned image, C(essential=false), reserved CPU and memory, a
    health check (the image's C(/healthcheck), which asks the collector's C(health_check)
    extension), C(awslogs) logging to CloudWatch Logs, and its config either as
    C(AOT_CONFIG_CONTENT) from an SSM parameter through C(secrets[].valueFrom)
    (O(config_delivery=ssm)) or as C(--config s3://<bucket>.s3.<region>.amazonaws.com/<key>)
    (O(config_delivery=s3)). Any other C(AOT_CONFIG_CONTENT) on that container is removed (set
    at all, it overrides every C(--config)).
  - A new revision is registered only when the resulting definition differs from the latest one
    (ignoring what C(DescribeTaskDefinition) adds); C(changed) is true only then, or when the IAM
    policy changed. Give RV(task_definition_arn) to M(monitoring.stack.ecs_rollout) to point the
    service at it.
  - With O(attach_policy), puts the least-privilege inline policy for reading the config on the
    role that reads it, the task B(execution) role for SSM (ECS injects the secret before the
    container starts; C(ssm:GetParameters) on the parameter, C(kms:Decrypt) on its key unless it is
    the AWS-managed C(aws/ssm) key), the task role for S3 (the collector fetches the object itself;
    C(s3:GetObject) on the object, C(kms:Decrypt) on the key the object is encrypted with).
  - Every check (the application container is in the definition, the parameter is in the task's
    region, the config and the role exist) runs before any write; a failure changes nothing.
author:
  - monitoring.stack contributors (@monitoring-stack)
options:
  family:
    description:
      - The task definition family. Its latest ACTIVE revision is the starting point unless
        O(definition) is given.
    type: str
    required: true
  definition:
    description:
      - A task definition to start from instead of the latest registered revision, as
        C(RegisterTaskDefinition) takes it (C(containerDefinitions), C(cpu), C(memory), ...);
        O(family) is set on it. Use it for a family that is not registered yet.
    type: dict
  app_container:
    description:
      - The name of the application container the collector scrapes; it must be a container of
        the task definition.
    type: str
    required: true
  container_name:
    description: The name of the collector container.
    type: str
    default: aws-otel-collector
  image:
    description: The collector image (pinned; the default is a tested ADOT release, never C(:latest)).
    type: str
  cpu:
    description: CPU units reserved for the collector container.
    type: int
    default: 256
  memory_reservation:
    description: Memory (MiB) reserved for the collector container (soft limit).
    type: int
    default: 512
  log_group:
    description: The CloudWatch Logs group of the collector's C(awslogs) log driver.
    type: str
    required: true
  log_stream_prefix:
    description: The C(awslogs-stream-prefix).
    type: str
    default: otel
  config_delivery:
    description:
      - How the collector gets its config. V(ssm) needs O(ssm_parameter_arn), V(s3) needs O(s3_uri).
    type: str
    choices: [ssm, s3]
    required: true
  ssm_parameter_arn:
    description:
      - The ARN of the SSM parameter holding the config (written by M(monitoring.stack.otel_config)
        with O(monitoring.stack.otel_config#module:ssm_parameter)). It must be in the module's region;
        ECS reads secrets of the task's region only.
    type: str
  s3_uri:
    description:
      - The config object as RV(monitoring.stack.otel_config#module:s3_uri) returns it,
        C(s3://<bucket>.s3.<region>.amazonaws.com/<key>).
    type: str
  task_role_arn:
    description: Set the task role (C(taskRoleArn)) of the definition; default, keep the definition's.
    type: str
  execution_role_arn:
    description: Set the task execution role (C(executionRoleArn)); default, keep the definition's.
    type: str
  attach_policy:
    description:
      - Put the inline policy RV(policy) on the role that reads the config (execution role for
        V(ssm), task role for V(s3)); that role must be set on the definition and exist.
      - With V(false), only return the policy document.
    type: bool
    default: true
  policy_name:
    description: The name of the inline policy; default C(<family>-otel-collector-config).
    type: str
  kms_key_arn:
    description:
      - The KMS key ARN the config is encrypted with; default, the key the parameter
        (C(DescribeParameters)) or the object (C(HeadObject)) actually uses.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - monitoring.stack.attributes.check_diff
  - monitoring.stack.attributes.platform_aws
  - monitoring.stack.attributes.action_group_aws
attributes:
  diff_mode:
    details:
      - The diff shows the registrable task definition before and after, every C(environment) value
        masked, and the inline policy.
notes:
  - Needs C(ecs:DescribeTaskDefinition), C(ecs:RegisterTaskDefinition), C(iam:PassRole) on the
    roles, C(iam:GetRole), C(iam:GetRolePolicy), C(iam:PutRolePolicy), and C(ssm:DescribeParameters)
    or C(s3:GetObject) (C(HeadObject)) on the config.
  - In check mode a config that does not exist yet (its M(monitoring.stack.otel_config) task also ran
    in check mode) is a warning, not an error; the policy then has no C(kms:Decrypt) statement.
  - Tested against moto (ECS task definitions, SSM, S3, IAM). AWS calls go through the collection's
    retrying client (throttling retried with backoff), the one the other AWS modules use.
seealso:
  - module: monitoring.stack.otel_config
  - module: monitoring.stack.ecs_rollout
  - name: Specifying sensitive data using Systems Manager Parameter Store
    description: ECS secrets, valueFrom and the execution role's permissions.
    link: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html
"""

EXAMPLES = r"""
- name: Store the collector config in SSM
  monitoring.stack.otel_config:
    project: crawlinghub
    service: web-api
    app_port: 8080
    ssm_parameter: /crawlinghub/otel/web-api
    ssm_parameter_type: SecureString
  register: otel

- name: Add the collector to the task definition
  monitoring.stack.ecs_collector_sidecar:
    family: crawlinghub-web-api
    app_container: app
    config_delivery: ssm
    ssm_parameter_arn: "arn:aws:ssm:ap-northeast-2:123456789012:parameter/crawlinghub/otel/web-api"
    log_group: /ecs/crawlinghub-web-api/otel
    execution_role_arn: arn:aws:iam::123456789012:role/crawlinghub-web-api-execution
  register: sidecar

- name: Point the service at the new revision
  monitoring.stack.ecs_rollout:
    cluster: crawlinghub-cluster-prod
    service: web-api
    config_sha256: "{{ otel.sha256 }}"
    task_definition: "{{ sidecar.task_definition_arn }}"
"""

RETURN = r"""
task_definition_arn:
  description:
    - The ARN of the revision the service should run (the new one, or the latest when nothing
      changed; null in check mode when a revision would be registered).
  returned: always
  type: str
  sample: arn:aws:ecs:ap-northeast-2:123456789012:task-definition/crawlinghub-web-api:7
revision:
  description: Its revision number (null as above).
  returned: always
  type: int
registered:
  description: Whether a new revision was registered (or would be, in check mode).
  returned: always
  type: bool
definition:
  description: The registrable task definition with the collector, C(environment) values masked.
  returned: always
  type: dict
policy_role:
  description: The role the policy is for (C(execution_role) or C(task_role)) and its ARN.
  returned: always
  type: dict
  sample: {"kind": "execution_role", "arn": "arn:aws:iam::123456789012:role/web-api-execution"}
policy:
  description: The least-privilege policy document for reading the config.
  returned: always
  type: dict
policy_changed:
  description: Whether the inline policy was put (or would be, in check mode).
  returned: always
  type: bool
"""

import json

try:
    import botocore  # noqa: F401  pylint: disable=unused-import
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.monitoring.stack.plugins.module_utils import ecs_sidecar
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import retrying
from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError


def latest_definition(module, ecs, family):
    """The latest ACTIVE revision of ``family`` as described, None when none is registered."""
    try:
        return ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    except is_boto3_error_code("ClientException"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:  # pylint: disable=duplicate-except
        module.fail_json_aws(exc, msg="Failed to describe task definition %s" % family)


def config_key(module, spec):
    """The KMS key the config actually uses (None: none needed or not known), failing when the
    config is missing (a warning in check mode: otel_config may have run in check mode too)."""
    missing = None
    if spec["config_delivery"] == "ssm":
        arn = spec["ssm_parameter_arn"]
        name = arn.split(":parameter", 1)[1]
        ssm = retrying(module.client("ssm"))
        try:
            found = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}])
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            module.fail_json_aws(exc, msg="Failed to describe SSM parameter %s" % name)
        parameters = found.get("Parameters") or []
        if parameters:
            return ecs_sidecar.kms_key_arn(parameters[0].get("KeyId"), arn)
        missing = "SSM parameter %s does not exist" % name
    else:
        host, _sep, key = spec["s3_uri"][len("s3://"):].partition("/")
        bucket = host.split(".s3.")[0]
        s3 = retrying(module.client("s3"))
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
            return head.get("SSEKMSKeyId")
        except is_boto3_error_code(["404", "NoSuchKey", "NoSuchBucket"]):
            missing = "the config object s3://%s/%s does not exist" % (bucket, key)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:  # pylint: disable=duplicate-except
            module.fail_json_aws(exc, msg="Failed to read the config object s3://%s/%s" % (bucket, key))
    if module.check_mode:
        module.warn("%s (yet); in check mode the policy has no kms:Decrypt statement" % missing)
        return None
    module.fail_json(msg="Failed to add the ADOT collector to task definition %s: %s. Hint: write it with "
                         "monitoring.stack.otel_config first" % (module.params["family"], missing))
    return None


def current_policy(module, iam, role, policy_name):
    """The inline policy document ``policy_name`` of ``role`` (None when absent); fails when the role is missing."""
    try:
        iam.get_role(RoleName=role)
    except is_boto3_error_code("NoSuchEntity"):
        module.fail_json(msg="Failed to add the ADOT collector to task definition %s: IAM role %s does not exist. "
                             "Hint: create it first (or set attach_policy=false)" % (module.params["family"], role))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:  # pylint: disable=duplicate-except
        module.fail_json_aws(exc, msg="Failed to get IAM role %s" % role)
    try:
        document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    except is_boto3_error_code("NoSuchEntity"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:  # pylint: disable=duplicate-except
        module.fail_json_aws(exc, msg="Failed to get inline policy %s of IAM role %s" % (policy_name, role))
    return json.loads(document) if isinstance(document, str) else document


def main():
    argument_spec = dict(
        family=dict(type="str", required=True),
        definition=dict(type="dict"),
        app_container=dict(type="str", required=True),
        container_name=dict(type="str", default="aws-otel-collector"),
        image=dict(type="str"),
        cpu=dict(type="int", default=256),
        memory_reservation=dict(type="int", default=512),
        log_group=dict(type="str", required=True),
        log_stream_prefix=dict(type="str", default="otel"),
        config_delivery=dict(type="str", required=True, choices=["ssm", "s3"]),
        ssm_parameter_arn=dict(type="str"),
        s3_uri=dict(type="str"),
        task_role_arn=dict(type="str"),
        execution_role_arn=dict(type="str"),
        attach_policy=dict(type="bool", default=True),
        policy_name=dict(type="str"),
        kms_key_arn=dict(type="str", no_log=False),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True,
                              required_if=[["config_delivery", "ssm", ["ssm_parameter_arn"]],
                                           ["config_delivery", "s3", ["s3_uri"]]])
    params = module.params
    family = params["family"]
    spec = {"app_container": params["app_container"], "name": params["container_name"], "image": params["image"],
            "cpu": params["cpu"], "memory_reservation": params["memory_reservation"], "log_group": params["log_group"],
            "log_stream_prefix": params["log_stream_prefix"], "config_delivery": params["config_delivery"],
            "ssm_parameter_arn": params["ssm_parameter_arn"], "s3_uri": params["s3_uri"], "region": module.region}

    ecs = retrying(module.client("ecs"))
    current = latest_definition(module, ecs, family)
    base = dict(params["definition"], family=family) if params["definition"] else current
    if base is None:
        module.fail_json(msg="Failed to add the ADOT collector to task definition %s: no revision is registered. "
                             "Hint: register the application's task definition first or give it as definition"
                             % family)
    base = ecs_sidecar.registrable(base)
    for key, option in (("taskRoleArn", "task_role_arn"), ("executionRoleArn", "execution_role_arn")):
        if params[option]:
            base[key] = params[option]
    try:
        desired = ecs_sidecar.with_collector(base, spec)
    except MonitoringError as exc:
        module.fail_json(msg=str(exc))

    kind = "execution_role" if spec["config_delivery"] == "ssm" else "task_role"
    role_arn = desired.get("executionRoleArn" if kind == "execution_role" else "taskRoleArn")
    policy_name = params["policy_name"] or "%s-otel-collector-config" % family
    role = ecs_sidecar.role_name(role_arn)
    if params["attach_policy"] and not role:
        module.fail_json(msg="Failed to add the ADOT collector to task definition %s: the %s reads the config but "
                             "the definition has %s. Hint: set %s_arn (or attach_policy=false)"
                             % (family, kind.replace("_", " "), "none" if not role_arn else "%r, not a role ARN"
                                % role_arn, kind))
    # Every check before any write: the role, then the config and its key.
    iam = retrying(module.client("iam")) if params["attach_policy"] else None
    existing_policy = current_policy(module, iam, role, policy_name) if iam else None
    key_arn = params["kms_key_arn"] or config_key(module, spec)
    policy = ecs_sidecar.policy_document(ecs_sidecar.collector_policies(spec, key_arn)[kind])
    policy_changed = bool(iam) and existing_policy != policy

    registered = current is None or not ecs_sidecar.same_definition(current, desired)
    result = {"registered": registered, "policy_changed": policy_changed, "definition": ecs_sidecar.masked(desired),
              "policy_role": {"kind": kind, "arn": role_arn}, "policy": policy,
              "task_definition_arn": (current or {}).get("taskDefinitionArn"),
              "revision": (current or {}).get("revision")}
    if registered and module.check_mode:
        result.update(task_definition_arn=None, revision=None)
    if not module.check_mode:
        if policy_changed:
            try:
                iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                module.fail_json_aws(exc, msg="Failed to put inline policy %s on IAM role %s" % (policy_name, role))
        if registered:
            try:
                new = ecs.register_task_definition(**desired)["taskDefinition"]
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                module.fail_json_aws(exc, msg="Failed to register task definition %s" % family)
            result.update(task_definition_arn=new["taskDefinitionArn"], revision=new["revision"])
    if module._diff:
        result["diff"] = [
            {"before": ecs_sidecar.masked(ecs_sidecar.registrable(current)) if current else {},
             "after": result["definition"] if registered else ecs_sidecar.masked(ecs_sidecar.registrable(current)),
             "before_header": "task definition %s" % family, "after_header": "task definition %s" % family},
            {"before": existing_policy or {}, "after": policy if policy_changed else (existing_policy or {}),
             "before_header": "inline policy %s" % policy_name, "after_header": "inline policy %s" % policy_name},
        ]
    module.exit_json(changed=registered or policy_changed, **result)


if __name__ == "__main__":
    main()
