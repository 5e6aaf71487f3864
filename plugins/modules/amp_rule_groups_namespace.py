#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: amp_rule_groups_namespace
short_description: Manage rule groups namespaces (recording and alerting rules) in Amazon Managed Prometheus
version_added: 0.1.0
description:
  - Upload a Prometheus rule file to an Amazon Managed Service for Prometheus workspace as a rule
    groups namespace, update it when its content differs, or delete it.
  - The rules are always validated before anything is sent (YAML, groups with a unique name and
    rules, each rule C(alert) or C(record) with C(expr), C(labels)/C(annotations) maps, durations),
    and with C(promtool check rules) when C(promtool) is on the PATH of the host running the module.
    AMP accepts bad content at first and only reports it later through the namespace status, so
    this validation is what keeps broken rules out.
  - The content is compared as data, so formatting or comment changes alone do not report a change.
author:
  - monitoring.stack contributors (!UNKNOWN)
options:
  state:
    description:
      - V(present) creates or updates the namespace, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  workspace_id:
    description:
      - The workspace id. One of O(workspace_id) or O(workspace_alias) is required.
    type: str
  workspace_alias:
    description:
      - The workspace alias (matched exactly; must match one workspace).
      - In check mode a workspace that does not exist yet is not an error (the M(monitoring.stack.amp_workspace)
        task before would create it); the module warns and reports what it would create in it. Use
        O(workspace_alias) rather than the id registered from that task, which is null in check mode then.
    type: str
  name:
    description:
      - The namespace name.
    type: str
    required: true
  rules:
    description:
      - The Prometheus rule file, as a YAML string (for example from a C(file) lookup of a rule pack)
        or as data (a dict with C(groups)).
      - Required when O(state=present).
    type: raw
  promtool:
    description:
      - Run C(promtool check rules) on the content when promtool is on the PATH.
      - The structural checks always run.
    type: bool
    default: true
  wait:
    description:
      - After a write, wait until AMP reports the namespace ACTIVE, and fail with AWS's reason when it
        reports C(CREATION_FAILED) or C(UPDATE_FAILED).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait at most.
    type: int
    default: 300
requirements:
  - PyYAML (Python), to parse rules given as YAML text
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - monitoring.stack.attributes.check_diff
  - monitoring.stack.attributes.platform_aws
  - monitoring.stack.attributes.action_group_aws
notes:
  - moto accepts content that does not parse and duplicate group names; AWS rejects them later
    through the namespace status. Both are refused here before any call.
"""

EXAMPLES = r"""
- name: Upload the host rule pack
  monitoring.stack.amp_rule_groups_namespace:
    workspace_alias: stage-monitoring
    name: host
    rules: "{{ lookup('ansible.builtin.file', 'rules/host.yml') }}"

- name: Rules given as data
  monitoring.stack.amp_rule_groups_namespace:
    workspace_id: "{{ amp.workspace_id }}"
    name: service
    rules:
      groups:
        - name: service
          rules:
            - alert: ServiceDown
              expr: up == 0
              for: 5m
              labels:
                severity: critical
              annotations:
                summary: "Target {% raw %}{{ $labels.instance }}{% endraw %} is down"

- name: Remove a namespace
  monitoring.stack.amp_rule_groups_namespace:
    workspace_alias: stage-monitoring
    name: old-rules
    state: absent
"""

RETURN = r"""
workspace_id:
  description: The workspace id.
  returned: when state=present
  type: str
  sample: ws-01234567-89ab-cdef-0123-456789abcdef
name:
  description: The namespace name.
  returned: when state=present
  type: str
  sample: host
arn:
  description: The namespace ARN (null in check mode before creation).
  returned: when state=present
  type: str
status:
  description: The namespace status code.
  returned: when state=present
  type: str
  sample: ACTIVE
tags:
  description: The namespace tags.
  returned: when state=present
  type: dict
data:
  description: The rules as data.
  returned: when state=present
  type: dict
promtool_checked:
  description: Whether promtool checked the rules (false when it is not on the PATH).
  returned: when state=present
  type: bool
"""

try:
    import botocore  # noqa: F401  pylint: disable=unused-import
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.monitoring.stack.plugins.module_utils.amp_validation import HAS_YAML
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpApiError
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpClient
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpError
from ansible_collections.monitoring.stack.plugins.module_utils.amp_resources import RuleGroupsNamespaces
from ansible_collections.monitoring.stack.plugins.module_utils.amp_workspaces import resolve_workspace_id
from ansible_collections.monitoring.stack.plugins.module_utils.amp_validation import validate_rules


def main():
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        workspace_id=dict(type="str"),
        workspace_alias=dict(type="str"),
        name=dict(type="str", required=True),
        rules=dict(type="raw"),
        promtool=dict(type="bool", default=True),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_one_of=[["workspace_id", "workspace_alias"]],
        mutually_exclusive=[["workspace_id", "workspace_alias"]],
        required_if=[["state", "present", ["rules"]]],
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    params = module.params
    checked = False
    try:
        if params["state"] == "present":
            # Validate before any AWS call: bad rules fail without touching the workspace.
            data, text, checked = validate_rules(params["rules"], run_promtool=params["promtool"])
            if params["promtool"] and not checked:
                module.warn("promtool is not on the PATH of the host running this task: the rules were checked "
                            "for structure only, not by promtool check rules (AMP rejects bad PromQL later)")
        amp = AmpClient(module.client("amp"))
        warnings = []
        workspace_id = resolve_workspace_id(amp, params["workspace_id"], params["workspace_alias"],
                                            check_mode=module.check_mode, warnings=warnings)
        for warning in warnings:
            module.warn(warning)
        namespaces = RuleGroupsNamespaces(amp, workspace_id, check_mode=module.check_mode, wait=params["wait"],
                                          wait_timeout=params["wait_timeout"])
        if params["state"] == "present":
            changed, state = namespaces.ensure_present(params["name"], data, text, tags=params["tags"],
                                                       purge_tags=params["purge_tags"])
            state["name"] = state.get("name") or params["name"]
            state["promtool_checked"] = checked
        else:
            changed, state = namespaces.ensure_absent(params["name"])
    except AmpApiError as exc:
        module.fail_json_aws(exc.exception, msg="Failed to %s" % exc.action)
    except AmpError as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=changed, **(state or {}))
    if module._diff:
        result["diff"] = namespaces.diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
