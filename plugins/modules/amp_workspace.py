#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: amp_workspace
short_description: Manage Amazon Managed Service for Prometheus (AMP) workspaces
version_added: 0.1.0
description:
  - Create, update and delete an Amazon Managed Service for Prometheus workspace, found by
    O(workspace_id) or by O(alias).
  - Manages the alias, the tags and the CloudWatch logging configuration idempotently, and returns the
    remote-write and query URLs that collectors (ADOT) and Grafana need.
  - The KMS key is set at creation only. Asking for another key on an existing workspace fails
    instead of recreating the workspace (which would lose its data).
author:
  - monitoring.stack contributors (!UNKNOWN)
options:
  state:
    description:
      - V(present) creates or updates the workspace, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  workspace_id:
    description:
      - The id of an existing workspace (C(ws-...)). Takes precedence over O(alias) for finding it;
        O(alias) then renames the workspace.
      - AWS chooses workspace ids, so a workspace is only created when it is found by O(alias).
    type: str
  alias:
    description:
      - The workspace alias. Without O(workspace_id), the workspace whose alias is exactly this
        (AWS's own filter is a prefix match; this module compares exactly) is managed.
      - Aliases are not unique in AMP. When several workspaces have this alias the module fails and
        lists their ids; pass O(workspace_id) to choose one.
    type: str
  kms_key_arn:
    description:
      - ARN of a customer-managed KMS key to encrypt the workspace with. Applied at creation only.
      - On an existing workspace under another key the module fails and changes nothing. AWS
        reports C(kmsKeyArn) only for a customer-managed key, so a workspace that reports none is
        under an AWS-owned key and fails too (against moto, which never returns the key, every
        existing workspace does).
    type: str
  log_group_arn:
    description:
      - CloudWatch Logs log group ARN that receives the workspace's vended logs (rule and
        Alertmanager errors). The trailing V(:*) that AMP requires is added when missing.
      - Not set leaves the logging configuration as it is; an empty string removes it.
    type: str
  wait:
    description:
      - Wait for the workspace to become ACTIVE (or to be deleted) with botocore's
        C(workspace_active) / C(workspace_deleted) waiters.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait at most.
    type: int
    default: 600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - monitoring.stack.attributes.check_diff
  - monitoring.stack.attributes.platform_aws
  - monitoring.stack.attributes.action_group_aws
notes:
  - Tested against moto, which always reports ACTIVE, never returns C(kmsKeyArn) and filters aliases
    exactly; the module behaves the same on AWS because it filters aliases exactly itself.
"""

EXAMPLES = r"""
- name: Workspace for the stage environment, logging to CloudWatch
  monitoring.stack.amp_workspace:
    alias: stage-monitoring
    region: ap-northeast-2
    log_group_arn: arn:aws:logs:ap-northeast-2:123456789012:log-group:/aws/prometheus/stage
    tags:
      environment: stage
  register: amp

- name: Point the collectors at it
  ansible.builtin.debug:
    msg: "remote write to {{ amp.remote_write_url }}"

- name: Rename a workspace found by id
  monitoring.stack.amp_workspace:
    workspace_id: ws-01234567-89ab-cdef-0123-456789abcdef
    alias: prod-monitoring

- name: Delete it
  monitoring.stack.amp_workspace:
    alias: stage-monitoring
    state: absent
"""

RETURN = r"""
workspace_id:
  description: The workspace id (null in check mode before creation).
  returned: when state=present
  type: str
  sample: ws-01234567-89ab-cdef-0123-456789abcdef
arn:
  description: The workspace ARN.
  returned: when state=present
  type: str
  sample: arn:aws:aps:ap-northeast-2:123456789012:workspace/ws-01234567-89ab-cdef-0123-456789abcdef
alias:
  description: The workspace alias.
  returned: when state=present
  type: str
  sample: stage-monitoring
status:
  description: The workspace status code.
  returned: when state=present
  type: str
  sample: ACTIVE
prometheus_endpoint:
  description: The workspace's Prometheus endpoint.
  returned: when state=present
  type: str
  sample: https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-0123/
remote_write_url:
  description: The remote-write URL (endpoint + C(api/v1/remote_write)).
  returned: when state=present
  type: str
  sample: https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-0123/api/v1/remote_write
query_url:
  description: The query URL (endpoint + C(api/v1/query)).
  returned: when state=present
  type: str
  sample: https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-0123/api/v1/query
kms_key_arn:
  description: The KMS key ARN when the workspace reports one (moto never does).
  returned: when state=present
  type: str
tags:
  description: The workspace tags.
  returned: when state=present
  type: dict
  sample: {"environment": "stage"}
log_group_arn:
  description: The CloudWatch log group of the logging configuration, or null.
  returned: when state=present
  type: str
"""

try:
    import botocore  # noqa: F401  pylint: disable=unused-import
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpApiError
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpClient
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpError
from ansible_collections.monitoring.stack.plugins.module_utils.amp_workspaces import Workspaces


def main():
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        workspace_id=dict(type="str"),
        alias=dict(type="str"),
        kms_key_arn=dict(type="str", no_log=False),
        log_group_arn=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_one_of=[["workspace_id", "alias"]],
        supports_check_mode=True,
    )
    amp = AmpClient(module.client("amp"))
    workspaces = Workspaces(amp, check_mode=module.check_mode, wait=module.params["wait"],
                            wait_timeout=module.params["wait_timeout"])
    params = module.params
    try:
        if params["state"] == "present":
            changed, state = workspaces.ensure_present(
                workspace_id=params["workspace_id"], alias=params["alias"], tags=params["tags"],
                purge_tags=params["purge_tags"], kms_key_arn=params["kms_key_arn"],
                log_group_arn=params["log_group_arn"])
        else:
            changed, state = workspaces.ensure_absent(workspace_id=params["workspace_id"], alias=params["alias"])
    except AmpApiError as exc:
        module.fail_json_aws(exc.exception, msg="Failed to %s" % exc.action)
    except AmpError as exc:
        module.fail_json(msg=str(exc))
    for warning in workspaces.warnings:
        module.warn(warning)
    result = dict(changed=changed, **(state or {}))
    if module._diff:
        result["diff"] = workspaces.diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
