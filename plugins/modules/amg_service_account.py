#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: amg_service_account
short_description: Amazon Managed Grafana workspace service account and token, through the AWS API
version_added: 0.2.0
description:
  - Ensures a service account (found by O(name)) of an Amazon Managed Grafana workspace exists with O(role), or is
    absent, through the AWS API (C(ListWorkspaceServiceAccounts), C(CreateWorkspaceServiceAccount),
    C(DeleteWorkspaceServiceAccount)), with AWS credentials; no Grafana token is needed, so this is how the first
    token of a workspace is minted. Service accounts exist on workspaces of Grafana 9 and later.
  - With O(account_token), ensures a token of that name exists (C(ListWorkspaceServiceAccountTokens),
    C(CreateWorkspaceServiceAccountToken)). Its key is returned once, in RV(account_token.key), by the run that
    creates it; register the result with C(no_log) and give the key to the Grafana modules as their C(token).
    A token of that name that exists is never created again unless O(account_token.rotate=true), which deletes it
    (C(DeleteWorkspaceServiceAccountToken)) and creates it again with a new key.
  - Bad input (a workspace id that is not C(g-) and 10 hex digits, names over 128 characters, a token lifetime
    outside 1 second to 30 days) fails before any AWS call. The AWS API cannot change a service account's role, so
    an existing account with another role fails before any write.
  - For the service accounts of a self-hosted Grafana (Grafana's own API) use M(monitoring.stack.grafana_service_account).
author:
  - monitoring.stack contributors (!UNKNOWN)
options:
  workspace_id:
    description: Id of the workspace (C(g-0123456789), the first label of the workspace URL).
    type: str
    required: true
  name:
    description: Name of the service account (1 to 128 characters).
    type: str
    required: true
  role:
    description: The service account's Grafana role in the workspace (C(grafanaRole)). Set at creation only.
    type: str
    choices: [Viewer, Editor, Admin]
    default: Viewer
  state:
    description: Whether the service account should exist. Deleting it deletes its tokens.
    type: str
    choices: [present, absent]
    default: present
  account_token:
    description: A token of the service account.
    type: dict
    suboptions:
      name:
        description: Name of the token (1 to 128 characters, unique in the workspace).
        type: str
        required: true
      seconds_to_live:
        description:
          - Lifetime in seconds from creation, V(1) to V(2592000) (30 days, the most AWS allows).
        type: int
        required: true
      rotate:
        description: Delete the token of this name and create it again (a new key), even when it exists.
        type: bool
        default: false
        aliases: [regenerate]
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - monitoring.stack.attributes.check_diff
  - monitoring.stack.attributes.platform_aws
  - monitoring.stack.attributes.action_group_aws
notes:
  - Tested with botocore's Stubber, which checks every request against botocore's service model (moto has no
    Amazon Managed Grafana).
  - A token that expired is kept (with a warning) until O(account_token.rotate=true).
seealso:
  - module: monitoring.stack.grafana_service_account
  - name: CreateWorkspaceServiceAccountToken
    description: The AWS API reference of the call that mints the token.
    link: https://docs.aws.amazon.com/grafana/latest/APIReference/API_CreateWorkspaceServiceAccountToken.html
"""

EXAMPLES = r"""
- name: A 30-day token for the dashboard pipeline
  monitoring.stack.amg_service_account:
    region: ap-northeast-2
    workspace_id: g-0123456789
    name: ansible-dashboards
    role: Editor
    account_token:
      name: pipeline
      seconds_to_live: 2592000
  register: amg_sa
  no_log: true

- name: Dashboards with it
  monitoring.stack.grafana_dashboards:
    url: https://g-0123456789.grafana-workspace.ap-northeast-2.amazonaws.com
    token: "{{ amg_sa.account_token.key }}"
    path: dashboards
  when: amg_sa.account_token.key is defined

- name: Monthly rotation (a new key every run with rotate)
  monitoring.stack.amg_service_account:
    workspace_id: g-0123456789
    name: ansible-dashboards
    role: Editor
    account_token:
      name: pipeline
      seconds_to_live: 2592000
      rotate: true
  register: amg_sa
  no_log: true
"""

RETURN = r"""
operation:
  description: V(created), V(unchanged), V(deleted) or V(absent) (the service account).
  returned: always
  type: str
  sample: created
service_account:
  description: The service account (C(id), C(name), C(role), C(is_disabled)); empty when absent; C(id) null in check
    mode before creation.
  returned: always
  type: dict
  sample: {"id": "7", "name": "ansible-dashboards", "role": "Editor", "is_disabled": false}
account_token:
  description: The token of O(account_token).
  returned: O(account_token) is set and O(state=present)
  type: dict
  contains:
    id:
      description: Id of the token (null in check mode when it would be created).
      type: str
      returned: success
    name:
      description: Name of the token.
      type: str
      returned: success
    operation:
      description: V(created), V(rotated) or V(unchanged).
      type: str
      returned: success
    expires_at:
      description: Expiry of the existing token, as AWS reports it.
      type: str
      returned: when unchanged
    key:
      description: The secret, returned once; only when the token was created in this run (never in check mode).
      type: str
      returned: when created or rotated, not in check mode
  sample: {"id": "12", "name": "pipeline", "operation": "created", "key": "glsa_..."}
"""

try:
    import botocore  # noqa: F401  pylint: disable=unused-import
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.monitoring.stack.plugins.module_utils.amg_service_accounts import WorkspaceServiceAccounts
from ansible_collections.monitoring.stack.plugins.module_utils.amg_service_accounts import validate
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpApiError
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpClient
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpError


def main():
    argument_spec = dict(
        workspace_id=dict(type="str", required=True),
        name=dict(type="str", required=True),
        role=dict(type="str", default="Viewer", choices=["Viewer", "Editor", "Admin"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        account_token=dict(type="dict", no_log=False, options=dict(  # name and lifetime; the key is only returned
            name=dict(type="str", required=True, no_log=False),
            seconds_to_live=dict(type="int", required=True),
            rotate=dict(type="bool", default=False, aliases=["regenerate"]),
        )),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    token = params["account_token"] if params["state"] == "present" else None
    try:
        validate(params["workspace_id"], params["name"], token)
    except AmpError as exc:
        module.fail_json(msg=str(exc))
    accounts = WorkspaceServiceAccounts(AmpClient(module.client("grafana")), params["workspace_id"],
                                        check_mode=module.check_mode)
    try:
        if params["state"] == "present":
            changed, result = accounts.ensure_present(params["name"], params["role"], token)
        else:
            changed, result = accounts.ensure_absent(params["name"])
    except AmpApiError as exc:
        module.fail_json_aws(exc.exception, msg="Failed to %s" % exc.action)
    except AmpError as exc:
        module.fail_json(msg=str(exc))
    for warning in accounts.warnings:
        module.warn(warning)
    if module._diff:
        before = {} if result["operation"] == "created" else {"service_account": params["name"]}
        after = {} if result["operation"] in ("deleted", "absent") else {"service_account": params["name"]}
        if "account_token" in result:
            before["token"] = None if result["account_token"]["operation"] == "created" else token["name"]
            after["token"] = token["name"] + (" (new key)" if result["account_token"]["operation"] == "rotated" else "")
        result["diff"] = {"before": before, "after": after}
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
