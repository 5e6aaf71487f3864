# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Amazon Managed Service for Prometheus (AMP) workspaces: find (by id or exact alias), create,
update and delete them over an ``aws_transport.AmpClient``.

Every ``ensure_*`` method returns ``(changed, state)`` and runs the same path in check mode
with the writes skipped.
"""

from __future__ import annotations

import re

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpError
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import status_code as _status

LOG_GROUP_ARN = re.compile(r"^arn:aws[a-z0-9-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[A-Za-z0-9.\-_#/]{1,512}:\*$")
MAX_PAGES = 100


def endpoint_urls(prometheus_endpoint):
    """``remote_write_url`` and ``query_url`` from a workspace's ``prometheusEndpoint``."""
    if not prometheus_endpoint:
        return None, None
    base = prometheus_endpoint if prometheus_endpoint.endswith("/") else prometheus_endpoint + "/"
    return base + "api/v1/remote_write", base + "api/v1/query"


def normalize_log_group_arn(arn):
    """AMP wants the log group ARN with a trailing ``:*``; accept it with or without."""
    if not arn:
        return arn
    return arn if arn.endswith(":*") else arn + ":*"


def workspace_state(description, log_group_arn=None):
    """The module's return values from a DescribeWorkspace ``workspace`` structure."""
    description = description or {}
    endpoint = description.get("prometheusEndpoint")
    remote_write_url, query_url = endpoint_urls(endpoint)
    return {
        "workspace_id": description.get("workspaceId"),
        "arn": description.get("arn"),
        "alias": description.get("alias"),
        "status": _status(description),
        "prometheus_endpoint": endpoint,
        "remote_write_url": remote_write_url,
        "query_url": query_url,
        "kms_key_arn": description.get("kmsKeyArn"),
        "tags": dict(description.get("tags") or {}),
        "log_group_arn": log_group_arn,
    }


class Workspaces:
    """Find, create, update and delete AMP workspaces."""

    def __init__(self, amp, check_mode=False, wait=True, wait_timeout=300):
        self.amp = amp
        self.check_mode = check_mode
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.warnings = []
        self.diff = {}

    # -- reading ---------------------------------------------------------------------------
    def describe(self, workspace_id):
        result = self.amp.call_or_none("describe workspace %s" % workspace_id, "describe_workspace",
                                       workspaceId=workspace_id)
        return None if result is None else result["workspace"]

    def list_by_alias(self, alias):
        """Every workspace whose alias is exactly ``alias`` (AWS filters by prefix, moto exactly)."""
        found, token = [], None
        for _page in range(MAX_PAGES):
            kwargs = {"alias": alias, "maxResults": 100}
            if token:
                kwargs["nextToken"] = token
            page = self.amp.call("list workspaces with alias %r" % alias, "list_workspaces", **kwargs)
            found.extend(w for w in page.get("workspaces", [])
                         if w.get("alias") == alias and _status(w) != "DELETING")
            token = page.get("nextToken")
            if not token:
                break
        return found

    def find(self, workspace_id=None, alias=None):
        """The workspace's description, or None; fails when an alias matches several."""
        if workspace_id:
            return self.describe(workspace_id)
        if not alias:
            raise AmpError("find workspace", "neither workspace_id nor alias given", "set one of them")
        matches = self.list_by_alias(alias)
        if len(matches) > 1:
            ids = ", ".join(sorted(w["workspaceId"] for w in matches))
            raise AmpError("find workspace", "alias %r matches %d workspaces (%s)" % (alias, len(matches), ids),
                           "AMP aliases are not unique: pass workspace_id to choose one, or delete the extra workspaces")
        if not matches:
            return None
        return self.describe(matches[0]["workspaceId"])

    def log_group_arn(self, workspace_id):
        result = self.amp.call_or_none("describe logging configuration of workspace %s" % workspace_id,
                                       "describe_logging_configuration", workspaceId=workspace_id)
        # AWS answers ResourceNotFoundException when there is none; moto an empty structure.
        config = (result or {}).get("loggingConfiguration") or {}
        if _status(config) == "DELETING":
            return None
        return config.get("logGroupArn")

    # -- writing ---------------------------------------------------------------------------
    def _write(self, action, operation, **kwargs):
        if self.check_mode:
            return {}
        return self.amp.call(action, operation, **kwargs)

    def _sync_logging(self, workspace_id, current, desired):
        """Create, update or delete the logging configuration; ``desired`` None leaves it alone."""
        if desired is None or (current or "") == desired:
            return False
        if desired == "":
            self._write("delete logging configuration of workspace %s" % workspace_id,
                        "delete_logging_configuration", workspaceId=workspace_id)
        elif current:
            self._write("update logging configuration of workspace %s" % workspace_id,
                        "update_logging_configuration", workspaceId=workspace_id, logGroupArn=desired)
        else:
            self._write("create logging configuration of workspace %s" % workspace_id,
                        "create_logging_configuration", workspaceId=workspace_id, logGroupArn=desired)
        return True

    def _wait_active(self, workspace_id):
        if self.wait and not self.check_mode:
            self.amp.wait_waiter("wait for workspace %s to become ACTIVE" % workspace_id, "workspace_active",
                                 self.wait_timeout, workspaceId=workspace_id)

    def ensure_present(self, workspace_id=None, alias=None, tags=None, purge_tags=True, kms_key_arn=None,
                       log_group_arn=None):
        """Create or update a workspace. Returns ``(changed, state)``; the diff is left in ``self.diff``."""
        if log_group_arn:
            log_group_arn = normalize_log_group_arn(log_group_arn)
            if not LOG_GROUP_ARN.match(log_group_arn):
                raise AmpError("configure workspace logging", "log_group_arn %r is not a CloudWatch log group ARN" % log_group_arn,
                               "use arn:aws:logs:<region>:<account>:log-group:<name>:*")
        current = self.find(workspace_id, alias)
        if current is None:
            if workspace_id:
                raise AmpError("find workspace", "workspace %s does not exist" % workspace_id,
                               "AWS chooses workspace ids: omit workspace_id and set alias to create one")
            return self._create(alias, tags, kms_key_arn, log_group_arn)
        return self._update(current, alias, tags, purge_tags, kms_key_arn, log_group_arn)

    def _create(self, alias, tags, kms_key_arn, log_group_arn):
        kwargs = {"alias": alias}
        if tags:
            kwargs["tags"] = dict(tags)
        if kms_key_arn:
            kwargs["kmsKeyArn"] = kms_key_arn
        after = {"alias": alias, "tags": dict(tags or {}), "kms_key_arn": kms_key_arn,
                 "log_group_arn": log_group_arn or None}
        diff = {"before": {}, "after": after}
        if self.check_mode:
            state = workspace_state({"alias": alias, "tags": dict(tags or {}), "kmsKeyArn": kms_key_arn},
                                    log_group_arn or None)
            self.diff = diff
            return True, state
        created = self.amp.call("create workspace with alias %r" % alias, "create_workspace", **kwargs)
        workspace_id = created["workspaceId"]
        self._wait_active(workspace_id)
        self._sync_logging(workspace_id, None, log_group_arn)
        description = self.describe(workspace_id) or {}
        if kms_key_arn and not description.get("kmsKeyArn"):
            description["kmsKeyArn"] = created.get("kmsKeyArn") or kms_key_arn
        self.diff = diff
        return True, workspace_state(description, log_group_arn or None)

    def _update(self, current, alias, tags, purge_tags, kms_key_arn, log_group_arn):
        workspace_id = current["workspaceId"]
        current_kms = current.get("kmsKeyArn")
        # AWS reports kmsKeyArn only for a customer-managed key: none means an AWS-owned key.
        if kms_key_arn and current_kms != kms_key_arn:
            raise AmpError("update workspace %s" % workspace_id,
                           "kms_key_arn is %s, asked for %s; the KMS key of a workspace is set at creation and cannot "
                           "change" % (current_kms or "an AWS-owned key (AWS reports no kmsKeyArn)", kms_key_arn),
                           "omit kms_key_arn for this workspace, or create a new workspace (new alias) with the key "
                           "and move writers to it" if not current_kms else
                           "keep the current kms_key_arn, or create a new workspace (new alias) and move writers to it")
        current_log = self.log_group_arn(workspace_id)
        before = {"alias": current.get("alias"), "tags": dict(current.get("tags") or {}),
                  "kms_key_arn": current_kms, "log_group_arn": current_log}
        after = dict(before, tags=dict(before["tags"]))
        changed = False

        if alias is not None and alias != current.get("alias"):
            self._write("update alias of workspace %s" % workspace_id, "update_workspace_alias",
                        workspaceId=workspace_id, alias=alias)
            after["alias"] = alias
            changed = True

        if tags is not None:
            to_set, to_remove = compare_aws_tags(before["tags"], tags, purge_tags)
            if to_remove:
                self._write("remove tags from workspace %s" % workspace_id, "untag_resource",
                            resourceArn=current["arn"], tagKeys=list(to_remove))
                for key in to_remove:
                    after["tags"].pop(key, None)
            if to_set:
                self._write("tag workspace %s" % workspace_id, "tag_resource", resourceArn=current["arn"], tags=to_set)
                after["tags"].update(to_set)
            changed = changed or bool(to_set or to_remove)

        if self._sync_logging(workspace_id, current_log, log_group_arn):
            after["log_group_arn"] = log_group_arn or None
            changed = True

        if changed and not self.check_mode:
            self._wait_active(workspace_id)
            description = self.describe(workspace_id) or current
            description.setdefault("kmsKeyArn", current_kms)
            state = workspace_state(description, self.log_group_arn(workspace_id))
        else:
            predicted = dict(current, alias=after["alias"], tags=after["tags"])
            state = workspace_state(predicted, after["log_group_arn"])
        self.diff = {"before": before, "after": after}
        return changed, state

    def ensure_absent(self, workspace_id=None, alias=None):
        """Delete the workspace if it exists. Returns ``(changed, state)``; the diff is in ``self.diff``."""
        current = self.find(workspace_id, alias)
        if current is None:
            self.diff = {"before": {}, "after": {}}
            return False, None
        workspace_id = current["workspaceId"]
        before = {"alias": current.get("alias"), "tags": dict(current.get("tags") or {}),
                  "kms_key_arn": current.get("kmsKeyArn")}
        if not self.check_mode:
            self.amp.call("delete workspace %s" % workspace_id, "delete_workspace", workspaceId=workspace_id)
            if self.wait:
                self.amp.wait_waiter("wait for workspace %s to be deleted" % workspace_id, "workspace_deleted",
                                     self.wait_timeout, workspaceId=workspace_id)
        self.diff = {"before": before, "after": {}}
        return True, None


def resolve_workspace_id(amp, workspace_id=None, workspace_alias=None, check_mode=False, warnings=None):
    """The id of an existing workspace given by id or by (exact, unique) alias.

    In check mode a missing workspace is not an error: the amp_workspace task before this one
    would have created it, so everything in it would be created too. Returns None then and
    appends a warning to ``warnings``.
    """
    workspaces = Workspaces(amp)
    found = workspaces.find(workspace_id, workspace_alias)
    what = workspace_id or "with alias %r" % workspace_alias
    if found is None and check_mode:
        if warnings is not None:
            warnings.append("Check mode: there is no workspace %s yet; reporting what a run after its creation "
                            "would do" % what)
        return None
    if found is None:
        raise AmpError("find workspace", "no workspace %s" % what, "create it first with monitoring.stack.amp_workspace")
    return found["workspaceId"]
