#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: amp_alertmanager_definition
short_description: Manage the Alertmanager definition of an Amazon Managed Prometheus workspace
version_added: 0.1.0
description:
  - Create, update or delete the Alertmanager definition (routing, receivers, templates) of an Amazon
    Managed Service for Prometheus workspace.
  - The definition is validated before anything is sent (C(alertmanager_config) with a C(route) whose
    receivers are all defined, optional C(template_files)), and with C(amtool check-config) when
    C(amtool) is on the PATH of the host running the module.
  - The content is compared as data, so formatting changes alone do not report a change.
author:
  - monitoring.stack contributors (!UNKNOWN)
options:
  state:
    description:
      - V(present) creates or updates the definition, V(absent) deletes it.
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
  definition:
    description:
      - The AMP Alertmanager definition, as a YAML string or as data, with the keys
        C(alertmanager_config) (an Alertmanager configuration, as data or as a YAML string) and
        optionally C(template_files) (file name to template text; list the names under
        C(alertmanager_config.templates)).
      - Required when O(state=present).
    type: raw
  amtool:
    description:
      - Run C(amtool check-config) on C(alertmanager_config) (with the template files beside it) when
        amtool is on the PATH. The structural checks always run.
    type: bool
    default: true
  wait:
    description:
      - After a write, wait until AMP reports the definition ACTIVE, and fail with AWS's reason when it
        reports C(CREATION_FAILED) or C(UPDATE_FAILED).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait at most.
    type: int
    default: 300
requirements:
  - PyYAML (Python), to parse a definition given as YAML text
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - monitoring.stack.attributes.check_diff
  - monitoring.stack.attributes.platform_aws
  - monitoring.stack.attributes.action_group_aws
notes:
  - moto does not implement this API; the module is tested with botocore's Stubber, which checks each
    request against the real AMP service model.
"""

EXAMPLES = r"""
- name: Route every alert to an SNS topic
  monitoring.stack.amp_alertmanager_definition:
    workspace_alias: prod-monitoring
    region: ap-northeast-2
    definition:
      alertmanager_config:
        route:
          receiver: sns
          group_by: [alertname, service]
        receivers:
          - name: sns
            sns_configs:
              - topic_arn: arn:aws:sns:ap-northeast-2:123456789012:alerts
                sigv4:
                  region: ap-northeast-2

- name: Remove the definition
  monitoring.stack.amp_alertmanager_definition:
    workspace_alias: prod-monitoring
    state: absent
"""

RETURN = r"""
workspace_id:
  description: The workspace id.
  returned: when state=present
  type: str
  sample: ws-01234567-89ab-cdef-0123-456789abcdef
status:
  description: The definition status code (null in check mode before creation).
  returned: when state=present
  type: str
  sample: ACTIVE
definition:
  description:
    - The definition as data (C(alertmanager_config) decoded).
    - Every secret (SigV4 keys, receiver keys, tokens, passwords, webhook URLs) is shown as
      C(<redacted>), here, in the diff and in the module arguments shown at C(-vvv).
  returned: when state=present
  type: dict
amtool_checked:
  description: Whether amtool checked the configuration (false when it is not on the PATH).
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
from ansible_collections.monitoring.stack.plugins.module_utils.amp_resources import AlertManagerDefinitions
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpApiError
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpClient
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpError
from ansible_collections.monitoring.stack.plugins.module_utils.amp_workspaces import resolve_workspace_id
from ansible_collections.monitoring.stack.plugins.module_utils.amp_validation import normalize_alertmanager_definition
from ansible_collections.monitoring.stack.plugins.module_utils.amp_validation import redact_alertmanager_secrets
from ansible_collections.monitoring.stack.plugins.module_utils.amp_validation import validate_alertmanager_definition


def masked_invocation(params):
    """The module's arguments with the definition's secrets masked (ansible shows them at -vvv)."""
    params = dict(params)
    if params.get("definition") is not None:
        try:
            params["definition"] = redact_alertmanager_secrets(normalize_alertmanager_definition(params["definition"]))
        except AmpError:
            params["definition"] = "(not shown: not a readable Alertmanager definition)"
    return {"module_args": params}


def main():
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        workspace_id=dict(type="str"),
        workspace_alias=dict(type="str"),
        definition=dict(type="raw"),
        amtool=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_one_of=[["workspace_id", "workspace_alias"]],
        mutually_exclusive=[["workspace_id", "workspace_alias"]],
        required_if=[["state", "present", ["definition"]]],
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    params = module.params
    checked = False
    try:
        if params["state"] == "present":
            # Validate before any AWS call: a bad definition fails without touching the workspace.
            definition, text, checked = validate_alertmanager_definition(params["definition"],
                                                                         run_amtool=params["amtool"])
            if params["amtool"] and not checked:
                module.warn("amtool is not on the PATH of the host running this task: the definition was checked "
                            "for structure only, not by amtool check-config")
        amp = AmpClient(module.client("amp"))
        warnings = []
        workspace_id = resolve_workspace_id(amp, params["workspace_id"], params["workspace_alias"],
                                            check_mode=module.check_mode, warnings=warnings)
        for warning in warnings:
            module.warn(warning)
        definitions = AlertManagerDefinitions(amp, workspace_id, check_mode=module.check_mode,
                                              wait=params["wait"], wait_timeout=params["wait_timeout"])
        if params["state"] == "present":
            changed, state = definitions.ensure_present(definition, text)
            state["amtool_checked"] = checked
        else:
            changed, state = definitions.ensure_absent()
    except AmpApiError as exc:
        module.fail_json_aws(exc.exception, msg="Failed to %s" % exc.action, invocation=masked_invocation(params))
    except AmpError as exc:
        module.fail_json(msg=str(exc), invocation=masked_invocation(params))
    result = dict(changed=changed, **(state or {}))
    if module._diff:
        result["diff"] = definitions.diff
    module.exit_json(invocation=masked_invocation(params), **result)


if __name__ == "__main__":
    main()
