#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_service_account
short_description: Grafana service account by name, with its role and an optional token
version_added: 0.2.0
description:
  - Ensures a Grafana service account (found by O(name)) exists with O(role) and O(disabled), or is absent,
    through Grafana's service account API (C(/api/serviceaccounts), the same on every Grafana generation).
    Service-account tokens replace the API keys Grafana removed in 11.3.
  - With O(account_token), ensures a token of that name exists. A token that exists is never created again (its key
    cannot be read back) unless O(account_token.regenerate=true), which deletes and re-creates it. The key of a new token
    is returned once, in RV(account_token.key); register the result with C(no_log) and store it (AWX credential, vault).
  - Bad input (a role Grafana does not have, a token lifetime in the past or of zero seconds with
    O(account_token.expires_at)) fails before any request.
author:
  - monitoring.stack contributors (!UNKNOWN)
extends_documentation_fragment:
  - monitoring.stack.grafana
  - monitoring.stack.attributes.check_diff
  - monitoring.stack.attributes.platform_grafana
  - monitoring.stack.attributes.action_group_grafana
options:
  name:
    description: Name of the service account (unique in the org).
    type: str
    required: true
  role:
    description: The service account's basic role in the org.
    type: str
    choices: [Viewer, Editor, Admin]
    default: Viewer
  disabled:
    description: Whether the service account is disabled (its tokens stop working).
    type: bool
    default: false
  account_token:
    description: A token of the service account (named so because O(token) is the connection's own token).
    type: dict
    suboptions:
      name:
        description: Name of the token (unique per service account).
        type: str
        required: true
      seconds_to_live:
        description:
          - Lifetime in seconds from now when the token is created; V(0) never expires.
          - A negative value is refused before any request. Mutually exclusive with O(account_token.expires_at).
        type: int
      expires_at:
        description:
          - Expiry as an ISO 8601 UTC time (V(2027-01-31T00:00:00Z)); turned into a lifetime when the token is
            created. A time that is not in the future is refused before any request.
        type: str
      regenerate:
        description: Delete the token of this name and create it again (a new key), even when it exists.
        type: bool
        default: false
  state:
    description: Whether the service account should exist. Deleting it deletes its tokens.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Amazon Managed Grafana workspaces mint service-account tokens through the AWS API
    (C(CreateWorkspaceServiceAccountToken), at most 30 days) with M(monitoring.stack.amg_service_account); this
    module speaks to Grafana's own API.
seealso:
  - module: monitoring.stack.amg_service_account
  - module: monitoring.stack.grafana_dashboard
"""

EXAMPLES = r"""
- name: Service account for the dashboard pipeline, with a 30-day token
  monitoring.stack.grafana_service_account:
    url: http://127.0.0.1:3000
    url_username: admin
    url_password: "{{ grafana_admin_password }}"
    name: ansible-dashboards
    role: Editor
    account_token:
      name: pipeline
      seconds_to_live: 2592000
  register: dashboards_sa
  no_log: true
"""

RETURN = r"""
operation:
  description: V(created), V(updated), V(unchanged), V(deleted) or V(absent) (the service account).
  returned: always
  type: str
  sample: created
service_account:
  description: The service account (C(id), C(name), C(role), C(isDisabled)); empty when absent.
  returned: always
  type: dict
  sample: {"id": 2, "name": "ansible-dashboards", "role": "Editor", "isDisabled": false}
account_token:
  description: The token of O(account_token).
  returned: O(account_token) is set and O(state=present)
  type: dict
  contains:
    id:
      description: Id of the token (not in check mode when it would be created).
      type: int
      returned: success
    name:
      description: Name of the token.
      type: str
      returned: success
    operation:
      description: V(created), V(regenerated) or V(unchanged).
      type: str
      returned: success
    expiration:
      description: Expiry of an existing token as Grafana reports it (null when it never expires).
      type: str
      returned: when unchanged
    key:
      description: The secret; only when the token was created in this run (never in check mode).
      type: str
      returned: when created or regenerated, not in check mode
  sample: {"id": 7, "name": "pipeline", "operation": "created", "key": "glsa_..."}
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_module import (
    client_from_module,
    grafana_argument_spec,
)
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_sync import api_call

ACCOUNT_KEYS = ("id", "name", "role", "isDisabled")


def token_lifetime(token, now=None):
    """Seconds to live of the token options (0: never expires); a MonitoringError for a lifetime
    in the past, checked before any request."""
    if token.get("expires_at"):
        text = token["expires_at"].strip().replace("Z", "+00:00")
        try:
            when = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise MonitoringError("check token %s" % token["name"], "expires_at %r is not an ISO 8601 time"
                                  % token["expires_at"], "write it like 2027-01-31T00:00:00Z")
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        now = now or datetime.datetime.now(datetime.timezone.utc)
        seconds = int((when - now).total_seconds())
        if seconds <= 0:
            raise MonitoringError("check token %s" % token["name"], "expires_at %s is not in the future (now is %s)"
                                  % (token["expires_at"], now.strftime("%Y-%m-%dT%H:%M:%SZ")),
                                  "give a later time, or seconds_to_live")
        return seconds
    seconds = token.get("seconds_to_live") or 0
    if seconds < 0:
        raise MonitoringError("check token %s" % token["name"], "seconds_to_live %d is in the past" % seconds,
                              "give a positive number of seconds, or 0 for a token that never expires")
    return seconds


def ensure_token(module, client, account, lifetime):
    spec = module.params["account_token"]
    if account is None:  # check mode, account to be created
        return {"name": spec["name"], "operation": "created"}, True
    existing = next((t for t in api_call("list tokens of %s" % account["name"], client.list_service_account_tokens,
                                         account["id"]) if t.get("name") == spec["name"]), None)
    if existing and not spec["regenerate"]:
        return {"id": existing.get("id"), "name": spec["name"], "operation": "unchanged",
                "expiration": existing.get("expiration")}, False
    operation = "regenerated" if existing else "created"
    if module.check_mode:
        return {"name": spec["name"], "operation": operation}, True
    if existing:
        api_call("delete token %s" % spec["name"], client.delete_service_account_token, account["id"], existing["id"])
    created = api_call("create token %s" % spec["name"], client.create_service_account_token, account["id"],
                       spec["name"], lifetime)
    return {"id": created.get("id"), "name": spec["name"], "operation": operation, "key": created.get("key")}, True


def run(module):
    params = module.params
    lifetime = token_lifetime(params["account_token"]) if params["account_token"] and params["state"] == "present" else None
    client = client_from_module(module)
    found = api_call("find service account %s" % params["name"], client.find_service_account, params["name"])
    before = dict((k, found.get(k)) for k in ACCOUNT_KEYS) if found else {}
    if params["state"] == "absent":
        if not found:
            return {"changed": False, "operation": "absent", "service_account": {}, "before": {}, "after": {}}
        if not module.check_mode:
            api_call("delete service account %s" % params["name"], client.delete_service_account, found["id"])
        return {"changed": True, "operation": "deleted", "service_account": {}, "before": before, "after": {}}
    wanted = {"role": params["role"], "isDisabled": params["disabled"]}
    account = found
    if not found:
        operation = "created"
        if not module.check_mode:
            account = api_call("create service account %s" % params["name"], client.create_service_account,
                               params["name"], params["role"], params["disabled"])
    elif any(found.get(k) != v for k, v in wanted.items()):
        operation = "updated"
        if not module.check_mode:
            api_call("update service account %s" % params["name"], client.update_service_account, found["id"],
                     params["role"], params["disabled"])
        account = dict(found, **wanted)
    else:
        operation = "unchanged"
    after = dict((k, (account or {}).get(k)) for k in ACCOUNT_KEYS)
    after.update(wanted, name=params["name"])
    result = {"changed": operation != "unchanged", "operation": operation, "service_account": after,
              "before": before, "after": after}
    if params["account_token"]:
        token, changed = ensure_token(module, client, account if account and account.get("id") else None, lifetime)
        result["token"] = token
        result["changed"] = result["changed"] or changed
        # the diff names the token, never its key
        result["after"] = dict(after, token={"name": token["name"], "operation": token["operation"]})
    return result


def main():
    module = AnsibleModule(
        argument_spec=grafana_argument_spec(
            name=dict(type="str", required=True),
            role=dict(type="str", choices=["Viewer", "Editor", "Admin"], default="Viewer"),
            disabled=dict(type="bool", default=False),
            account_token=dict(type="dict", no_log=False, options=dict(
                name=dict(type="str", required=True, no_log=False),
                seconds_to_live=dict(type="int"),
                expires_at=dict(type="str"),
                regenerate=dict(type="bool", default=False),
            ), mutually_exclusive=[("seconds_to_live", "expires_at")]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except MonitoringError as exc:
        module.fail_json(msg=str(exc))
    output = dict((k, result[k]) for k in ("changed", "operation", "service_account"))
    if "token" in result:
        output["account_token"] = result["token"]
    if module._diff:
        output["diff"] = {"before": result["before"], "after": result["after"],
                          "before_header": "service account %s" % module.params["name"],
                          "after_header": "service account %s" % module.params["name"]}
    module.exit_json(**output)


if __name__ == "__main__":
    main()
