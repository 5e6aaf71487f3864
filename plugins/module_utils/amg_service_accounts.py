# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Amazon Managed Grafana workspace service accounts and their tokens, through boto3's ``grafana``
client (AWS API: CreateWorkspaceServiceAccount, CreateWorkspaceServiceAccountToken, List...,
Delete...), on the collection's AWS base (``aws_transport.AmpClient``: retries on throttling,
errors wrapped as AmpApiError). No AnsibleModule here: ``ensure_present`` / ``ensure_absent``
return ``(changed, result)`` and make no write call in check mode.

The AWS API has no call that changes a service account's role, and a token's key is shown only
in the answer that creates it: an existing token of the wanted name is kept (its key cannot be
read back) unless ``rotate``, which deletes and re-creates it.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpError

# the AWS API reference's limits (API_CreateWorkspaceServiceAccountToken.html, and botocore's model)
WORKSPACE_ID_RE = re.compile(r"^g-[0-9a-f]{10}$")
NAME_MAX = 128
MAX_SECONDS_TO_LIVE = 30 * 24 * 3600  # "up to 30 days in the future"; secondsToLive 1..2592000
ROLES = {"Viewer": "VIEWER", "Editor": "EDITOR", "Admin": "ADMIN"}
PAGE_SIZE = 100  # maxResults allows 1..100
MAX_PAGES = 100


def validate(workspace_id, name, token=None):
    """Every check that needs no AWS call; raises AmpError before anything is sent."""
    if not WORKSPACE_ID_RE.match(workspace_id or ""):
        raise AmpError("check the Amazon Managed Grafana workspace", "workspace_id must look like g-0123456789 "
                       "(g- and 10 hex digits), got %r" % workspace_id, "use the id from the workspace URL")
    if not 1 <= len(name or "") <= NAME_MAX:
        raise AmpError("check the service account", "name must be 1 to %d characters" % NAME_MAX, None)
    if token is not None:
        if not 1 <= len(token.get("name") or "") <= NAME_MAX:
            raise AmpError("check the service account token", "account_token.name must be 1 to %d characters"
                           % NAME_MAX, None)
        seconds = token.get("seconds_to_live")
        if seconds is None or not 1 <= seconds <= MAX_SECONDS_TO_LIVE:
            raise AmpError("check the service account token", "account_token.seconds_to_live must be between 1 and "
                           "%d (30 days), got %s" % (MAX_SECONDS_TO_LIVE, seconds),
                           "Amazon Managed Grafana tokens live at most 30 days; rotate them with rotate: true")


def _iso(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


class WorkspaceServiceAccounts:
    def __init__(self, client, workspace_id, check_mode=False, clock=None):
        self.client = client  # an AmpClient on boto3's "grafana" client
        self.workspace_id = workspace_id
        self.check_mode = check_mode
        self.clock = clock or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self.warnings = []

    def _list(self, action, operation, key, **kwargs):
        items, next_token = [], None
        for _page in range(MAX_PAGES):
            query = dict(kwargs, workspaceId=self.workspace_id, maxResults=PAGE_SIZE)
            if next_token:
                query["nextToken"] = next_token
            answer = self.client.call(action, operation, **query)
            items.extend(answer.get(key) or [])
            next_token = answer.get("nextToken")
            if not next_token:
                break
        return items

    def find(self, name):
        for account in self._list("list the workspace's service accounts", "list_workspace_service_accounts",
                                  "serviceAccounts"):
            if account.get("name") == name:
                return account
        return None

    def ensure_present(self, name, role, token=None):
        wanted = ROLES[role]
        account = self.find(name)
        operation = "unchanged"
        if account is not None and account.get("grafanaRole") != wanted:
            have = dict((v, k) for k, v in ROLES.items()).get(account.get("grafanaRole"), account.get("grafanaRole"))
            raise AmpError("ensure service account %s" % name, "service account %s has the role %s, not %s, and the "
                           "AWS API cannot change a workspace service account's role" % (name, have, role),
                           "delete it (state: absent) and create it again, or set role: %s" % have)
        if account is None:
            operation = "created"
            if self.check_mode:
                account = {"id": None, "name": name, "grafanaRole": wanted}
            else:
                account = self.client.call("create service account %s" % name, "create_workspace_service_account",
                                           workspaceId=self.workspace_id, name=name, grafanaRole=wanted)
        result = {"operation": operation, "service_account": _account(account)}
        changed = operation == "created"
        if token is not None:
            token_result = self._ensure_token(name, account, token, fresh=operation == "created")
            changed = changed or token_result["operation"] != "unchanged"
            result["account_token"] = token_result
        return changed, result

    def _ensure_token(self, account_name, account, token, fresh=False):
        name = token["name"]
        existing = None
        if not fresh:  # an account created in this run has no tokens to list
            for item in self._list("list the tokens of service account %s" % account_name,
                                   "list_workspace_service_account_tokens", "serviceAccountTokens",
                                   serviceAccountId=account["id"]):
                if item.get("name") == name:
                    existing = item
        if existing is not None and not token.get("rotate"):
            expires = existing.get("expiresAt")
            if isinstance(expires, datetime.datetime) and expires <= self.clock():
                self.warnings.append("token %s of service account %s expired at %s; set account_token.rotate: true "
                                     "to replace it" % (name, account_name, _iso(expires)))
            return {"id": existing.get("id"), "name": name, "operation": "unchanged", "expires_at": _iso(expires)}
        operation = "rotated" if existing is not None else "created"
        if self.check_mode:
            return {"id": None, "name": name, "operation": operation}
        if existing is not None:
            self.client.call("delete token %s of service account %s" % (name, account_name),
                             "delete_workspace_service_account_token", workspaceId=self.workspace_id,
                             serviceAccountId=account["id"], tokenId=existing["id"])
        answer = self.client.call("create token %s of service account %s" % (name, account_name),
                                  "create_workspace_service_account_token", workspaceId=self.workspace_id,
                                  serviceAccountId=account["id"], name=name, secondsToLive=token["seconds_to_live"])
        created = answer.get("serviceAccountToken") or {}
        return {"id": created.get("id"), "name": created.get("name", name), "operation": operation,
                "key": created.get("key")}

    def ensure_absent(self, name):
        account = self.find(name)
        if account is None:
            return False, {"operation": "absent", "service_account": {}}
        if not self.check_mode:
            self.client.call("delete service account %s" % name, "delete_workspace_service_account",
                             workspaceId=self.workspace_id, serviceAccountId=account["id"])
        return True, {"operation": "deleted", "service_account": _account(account)}


def _account(account):
    role = dict((v, k) for k, v in ROLES.items()).get(account.get("grafanaRole"), account.get("grafanaRole"))
    return {"id": account.get("id"), "name": account.get("name"), "role": role,
            "is_disabled": str(account.get("isDisabled", "false")).lower() == "true"}
