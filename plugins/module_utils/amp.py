# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Amazon Managed Service for Prometheus (AMP): the logic behind the amp_* modules.

Plain classes and functions over a boto3 ``amp`` client (or a botocore Stubber-wrapped one in
unit tests). Nothing here imports Ansible except amazon.aws's pure ``compare_aws_tags``.

Errors are raised, never printed:
- ``AmpError``: a problem with the request itself (bad input, ambiguous alias, create-only
  setting changed); its message follows "Failed to <action>: <cause>" and may carry a hint;
- ``AmpApiError``: an AWS API call failed; carries the action and the botocore exception so the
  module can hand it to ``fail_json_aws``.

Every ``ensure_*`` method returns ``(changed, state)`` and runs the same path in check mode
with the writes skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing dependency

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

FAILED_STATES = ("CREATION_FAILED", "UPDATE_FAILED")
DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LOG_GROUP_ARN = re.compile(r"^arn:aws[a-z0-9-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[A-Za-z0-9.\-_#/]{1,512}:\*$")
TOOL_TIMEOUT = 60
MAX_PAGES = 100


class AmpError(Exception):
    """A request that cannot be carried out as asked; ``str()`` is the whole message."""

    def __init__(self, action, cause, hint=None):
        self.action = action
        self.cause = cause
        self.hint = hint
        message = "Failed to %s: %s" % (action, cause)
        if hint:
            message += ". Hint: %s" % hint
        super().__init__(message)


class AmpApiError(Exception):
    """An AWS call failed while doing ``action``; ``exception`` is the botocore error."""

    def __init__(self, action, exception):
        self.action = action
        self.exception = exception
        super().__init__("Failed to %s: %s" % (action, exception))


def _error_code(exception):
    response = getattr(exception, "response", None) or {}
    return response.get("Error", {}).get("Code", "")


def _is_not_found(exception):
    return _error_code(exception) == "ResourceNotFoundException"


def _decode(blob):
    if isinstance(blob, bytes):
        return blob.decode("utf-8")
    return blob or ""


def _status(description):
    return ((description or {}).get("status") or {}).get("statusCode")


class AmpClient:
    """A thin wrapper over a boto3 ``amp`` client: one place for retries and error wrapping.

    ``retry`` is an optional decorator (the module passes ``AWSRetry.jittered_backoff()``);
    ``sleep`` and ``clock`` are injectable so that status polling is testable.
    """

    def __init__(self, client, retry=None, sleep=time.sleep, clock=time.monotonic):
        self.client = client
        self.retry = retry
        self.sleep = sleep
        self.clock = clock

    def call(self, action, operation, **kwargs):
        method = getattr(self.client, operation)
        if self.retry is not None:
            method = self.retry(method)
        try:
            return method(**kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise AmpApiError(action, exc)

    def call_or_none(self, action, operation, **kwargs):
        """Like ``call`` but returns None when AWS answers ResourceNotFoundException."""
        try:
            return self.call(action, operation, **kwargs)
        except AmpApiError as exc:
            if _is_not_found(exc.exception):
                return None
            raise

    def wait_for(self, action, describe, timeout, delay=5):
        """Poll ``describe()`` (returns a description with a status) until ACTIVE.

        Fails on a *_FAILED status with AWS's reason, and when ``timeout`` seconds pass.
        """
        deadline = self.clock() + timeout
        while True:
            description = describe()
            status = _status(description)
            if status == "ACTIVE" or description is None:
                return description
            if status in FAILED_STATES:
                reason = (description.get("status") or {}).get("statusReason") or "no reason given"
                raise AmpError(action, "AWS reports %s: %s" % (status, reason),
                               "fix the content and run again; AMP validates it after accepting the request")
            if self.clock() >= deadline:
                raise AmpError(action, "still %s after %ss" % (status, timeout), "raise wait_timeout")
            self.sleep(delay)

    def wait_waiter(self, action, name, timeout, delay=2, **kwargs):
        """botocore's own waiter (``workspace_active``, ``workspace_deleted``) bounded by ``timeout``."""
        attempts = max(1, int(timeout // delay) + 1)
        try:
            self.client.get_waiter(name).wait(WaiterConfig={"Delay": delay, "MaxAttempts": attempts}, **kwargs)
        except botocore.exceptions.WaiterError as exc:
            raise AmpError(action, "%s did not finish within %ss (%s)" % (name, timeout, exc), "raise wait_timeout")


# ---------------------------------------------------------------------------------------------
# Workspaces
# ---------------------------------------------------------------------------------------------

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
        if kms_key_arn and current_kms and current_kms != kms_key_arn:
            raise AmpError("update workspace %s" % workspace_id,
                           "kms_key_arn is %s, asked for %s; the KMS key of a workspace is set at creation and cannot change"
                           % (current_kms, kms_key_arn),
                           "keep the current kms_key_arn, or create a new workspace (new alias) and move writers to it")
        if kms_key_arn and not current_kms:
            self.warnings.append(
                "Workspace %s does not report a KMS key, so kms_key_arn could not be compared: AWS omits kmsKeyArn for "
                "workspaces encrypted with an AWS-owned key (and moto never returns it). kms_key_arn is only applied "
                "at creation." % workspace_id)
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


# ---------------------------------------------------------------------------------------------
# Rules and Alertmanager content: validation (pure) and external checkers (when on PATH)
# ---------------------------------------------------------------------------------------------

def load_yaml(content, what):
    """``content`` as data: a YAML string is parsed, anything else returned as is."""
    if not isinstance(content, str):
        return content
    if not HAS_YAML:
        raise AmpError("parse %s" % what, "PyYAML is not installed", "install PyYAML on the host running the module")
    try:
        return yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise AmpError("parse %s" % what, "not valid YAML: %s" % str(exc).replace("\n", " "),
                       "check indentation and quoting (a PromQL expression with ':' or '{' is safest quoted)")


def dump_yaml(data):
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False, allow_unicode=True)


def _duration_problem(where, value):
    if not isinstance(value, str) or value == "" or not DURATION.match(value):
        return "%s: %r is not a Prometheus duration (e.g. 30s, 5m, 1h30m)" % (where, value)
    return None


def _string_map_problems(where, value):
    if not isinstance(value, dict):
        return ["%s: must be a mapping of names to strings" % where]
    problems = []
    for key, item in value.items():
        if not isinstance(key, str) or not LABEL_NAME.match(key):
            problems.append("%s: %r is not a valid label name" % (where, key))
        if isinstance(item, (dict, list)) or item is None:
            problems.append("%s.%s: must be a string" % (where, key))
    return problems


RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
GROUP_KEYS = {"name", "interval", "rules", "limit", "query_offset", "labels"}


def rule_problems(data):
    """Structural problems in a Prometheus rule file (as data); [] when it looks right."""
    if not isinstance(data, dict):
        return ["the rules must be a mapping with a 'groups' list, got %s" % type(data).__name__]
    problems = ["unknown top-level key %r (only 'groups')" % key for key in data if key != "groups"]
    groups = data.get("groups")
    if not isinstance(groups, list) or not groups:
        return problems + ["'groups' must be a non-empty list"]
    seen = set()
    for index, group in enumerate(groups):
        where = "groups[%d]" % index
        if not isinstance(group, dict):
            problems.append("%s: must be a mapping with 'name' and 'rules'" % where)
            continue
        name = group.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append("%s: 'name' is required" % where)
        else:
            where = "group %r" % name
            if name in seen:
                problems.append("%s: duplicate group name" % where)
            seen.add(name)
        problems.extend("%s: unknown key %r" % (where, key) for key in group if key not in GROUP_KEYS)
        for key in ("interval", "query_offset"):
            if key in group:
                problem = _duration_problem("%s.%s" % (where, key), group[key])
                if problem:
                    problems.append(problem)
        if "labels" in group:
            problems.extend(_string_map_problems("%s.labels" % where, group["labels"]))
        rules = group.get("rules")
        if not isinstance(rules, list) or not rules:
            problems.append("%s: 'rules' must be a non-empty list" % where)
            continue
        for rule_index, rule in enumerate(rules):
            problems.extend(_one_rule_problems("%s rules[%d]" % (where, rule_index), rule))
    return problems


def _one_rule_problems(where, rule):
    if not isinstance(rule, dict):
        return ["%s: must be a mapping" % where]
    problems = ["%s: unknown key %r" % (where, key) for key in rule if key not in RULE_KEYS]
    alert, record = rule.get("alert"), rule.get("record")
    if (alert is None) == (record is None):
        problems.append("%s: needs exactly one of 'alert' or 'record'" % where)
    if record is not None:
        if not isinstance(record, str) or not METRIC_NAME.match(record):
            problems.append("%s: record %r is not a valid metric name" % (where, record))
        for key in ("for", "keep_firing_for", "annotations"):
            if key in rule:
                problems.append("%s: %r is only allowed on alerting rules" % (where, key))
    if alert is not None and (not isinstance(alert, str) or not alert.strip()):
        problems.append("%s: 'alert' must be a non-empty string" % where)
    expr = rule.get("expr")
    if isinstance(expr, bool) or not isinstance(expr, (str, int, float)) or str(expr).strip() == "":
        problems.append("%s: 'expr' must be a non-empty PromQL expression" % where)
    for key in ("for", "keep_firing_for"):
        if key in rule and alert is not None:
            problem = _duration_problem("%s.%s" % (where, key), rule[key])
            if problem:
                problems.append(problem)
    for key in ("labels", "annotations"):
        if key in rule and not (record is not None and key == "annotations"):
            problems.extend(_string_map_problems("%s.%s" % (where, key), rule[key]))
    return problems


def _run_tool(args, timeout=TOOL_TIMEOUT):
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 1, "%s did not finish within %ss" % (args[0], timeout)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def promtool_problems(text, promtool=None):
    """``promtool check rules`` on ``text``: (checked, problems). Not checked when promtool is absent."""
    promtool = promtool or shutil.which("promtool")
    if not promtool:
        return False, []
    with tempfile.TemporaryDirectory(prefix="amp-rules-") as tmp:
        path = os.path.join(tmp, "rules.yml")
        with open(path, "w") as handle:
            handle.write(text)
        rc, output = _run_tool([promtool, "check", "rules", path])
    if rc == 0:
        return True, []
    return True, ["promtool check rules: %s" % output.replace(path, "<rules>")]


def validate_rules(content, run_promtool=True):
    """Parse and check rules content; returns ``(data, text, checked_by_promtool)`` or raises AmpError."""
    data = load_yaml(content, "rules")
    problems = rule_problems(data)
    if problems:
        raise AmpError("validate rules", "; ".join(problems),
                       "the rules use Prometheus's rule file format: groups -> name, rules -> alert|record, expr")
    text = content if isinstance(content, str) else dump_yaml(data)
    checked = False
    if run_promtool:
        checked, problems = promtool_problems(text)
        if problems:
            raise AmpError("validate rules", "; ".join(problems), "run promtool check rules on the file to see it locally")
    return data, text, checked


ALERTMANAGER_KEYS = {"alertmanager_config", "template_files"}


def alertmanager_problems(definition):
    """Structural problems in an AMP Alertmanager definition (``alertmanager_config`` parsed)."""
    if not isinstance(definition, dict):
        return ["the definition must be a mapping with 'alertmanager_config', got %s" % type(definition).__name__]
    problems = ["unknown top-level key %r (only alertmanager_config, template_files)" % key
                for key in definition if key not in ALERTMANAGER_KEYS]
    templates = definition.get("template_files")
    if templates is not None:
        if not isinstance(templates, dict) or not all(isinstance(v, str) for v in templates.values()):
            problems.append("template_files: must be a mapping of file names to template text")
    config = definition.get("alertmanager_config")
    if not isinstance(config, dict):
        return problems + ["alertmanager_config: required, a mapping (or a YAML string of one) with route and receivers"]
    receivers = config.get("receivers")
    names = []
    if not isinstance(receivers, list) or not receivers:
        problems.append("alertmanager_config.receivers: must be a non-empty list")
    else:
        for index, receiver in enumerate(receivers):
            if not isinstance(receiver, dict) or not isinstance(receiver.get("name"), str):
                problems.append("alertmanager_config.receivers[%d]: needs a 'name'" % index)
                continue
            if receiver["name"] in names:
                problems.append("alertmanager_config.receivers: duplicate receiver %r" % receiver["name"])
            names.append(receiver["name"])
    route = config.get("route")
    if not isinstance(route, dict) or not route.get("receiver"):
        problems.append("alertmanager_config.route: needs a default 'receiver'")
    elif isinstance(receivers, list):
        problems.extend(_route_problems("alertmanager_config.route", route, names))
    return problems


def _route_problems(where, route, names):
    problems = []
    receiver = route.get("receiver")
    if receiver is not None and receiver not in names:
        problems.append("%s: receiver %r is not defined in receivers" % (where, receiver))
    for index, child in enumerate(route.get("routes") or []):
        if isinstance(child, dict):
            problems.extend(_route_problems("%s.routes[%d]" % (where, index), child, names))
    return problems


def amtool_problems(config, template_files, amtool=None):
    """``amtool check-config`` on the config with the templates beside it: (checked, problems)."""
    amtool = amtool or shutil.which("amtool")
    if not amtool:
        return False, []
    with tempfile.TemporaryDirectory(prefix="amp-alertmanager-") as tmp:
        config = dict(config)
        if template_files:
            for name, text in template_files.items():
                with open(os.path.join(tmp, os.path.basename(name)), "w") as handle:
                    handle.write(text)
            config["templates"] = [os.path.join(tmp, os.path.basename(t)) for t in config.get("templates") or []]
        path = os.path.join(tmp, "alertmanager.yml")
        with open(path, "w") as handle:
            handle.write(dump_yaml(config))
        rc, output = _run_tool([amtool, "check-config", path])
        output = output.replace(tmp + "/", "")
    if rc == 0:
        return True, []
    return True, ["amtool check-config: %s" % output]


def normalize_alertmanager_definition(content):
    """Content (string or data) -> the definition with ``alertmanager_config`` as data."""
    definition = load_yaml(content, "Alertmanager definition")
    if isinstance(definition, dict) and isinstance(definition.get("alertmanager_config"), str):
        definition = dict(definition)
        definition["alertmanager_config"] = load_yaml(definition["alertmanager_config"], "alertmanager_config")
    return definition


def render_alertmanager_definition(definition):
    """The document AMP stores: ``alertmanager_config`` as a YAML string, templates as strings."""
    out = {}
    if definition.get("template_files"):
        out["template_files"] = dict(definition["template_files"])
    out["alertmanager_config"] = dump_yaml(definition["alertmanager_config"])
    return dump_yaml(out)


def validate_alertmanager_definition(content, run_amtool=True):
    """Parse and check a definition; returns ``(definition, text, checked_by_amtool)`` or raises AmpError."""
    definition = normalize_alertmanager_definition(content)
    problems = alertmanager_problems(definition)
    if problems:
        raise AmpError("validate Alertmanager definition", "; ".join(problems),
                       "AMP takes alertmanager_config (an Alertmanager config) and optional template_files")
    checked = False
    if run_amtool:
        checked, problems = amtool_problems(definition["alertmanager_config"], definition.get("template_files"))
        if problems:
            raise AmpError("validate Alertmanager definition", "; ".join(problems),
                           "run amtool check-config on alertmanager_config to see it locally")
    return definition, render_alertmanager_definition(definition), checked


# ---------------------------------------------------------------------------------------------
# Rule groups namespaces and the Alertmanager definition
# ---------------------------------------------------------------------------------------------

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


class RuleGroupsNamespaces:
    """One rule groups namespace in one workspace."""

    def __init__(self, amp, workspace_id, check_mode=False, wait=True, wait_timeout=300):
        self.amp = amp
        self.workspace_id = workspace_id
        self.check_mode = check_mode
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.diff = {}

    def describe(self, name):
        if self.workspace_id is None:  # check mode, workspace not created yet
            return None
        result = self.amp.call_or_none("describe rule groups namespace %r" % name, "describe_rule_groups_namespace",
                                       workspaceId=self.workspace_id, name=name)
        return None if result is None else result["ruleGroupsNamespace"]

    def _state(self, description, data):
        description = description or {}
        return {"workspace_id": self.workspace_id, "name": description.get("name"), "arn": description.get("arn"),
                "status": _status(description), "tags": dict(description.get("tags") or {}), "data": data}

    def _wait(self, name):
        if self.wait and not self.check_mode:
            return self.amp.wait_for("apply rule groups namespace %r" % name, lambda: self.describe(name),
                                     self.wait_timeout)
        return self.describe(name)

    def ensure_present(self, name, data, text, tags=None, purge_tags=True):
        current = self.describe(name)
        if current is None:
            diff = {"before": "", "after": dump_yaml(data)}
            if self.check_mode:
                self.diff = diff
                return True, self._state({"name": name, "tags": tags or {}}, data)
            kwargs = {"workspaceId": self.workspace_id, "name": name, "data": text.encode("utf-8")}
            if tags:
                kwargs["tags"] = dict(tags)
            self.amp.call("create rule groups namespace %r" % name, "create_rule_groups_namespace", **kwargs)
            self.diff = diff
            return True, self._state(self._wait(name), data)
        try:
            current_data = load_yaml(_decode(current.get("data")), "stored rules")
        except AmpError:
            current_data = None  # unreadable content is replaced
        changed = False
        diff = {"before": dump_yaml(current_data) if current_data is not None else _decode(current.get("data")),
                "after": dump_yaml(data)}
        if current_data != data:
            changed = True
            if not self.check_mode:
                self.amp.call("update rule groups namespace %r" % name, "put_rule_groups_namespace",
                              workspaceId=self.workspace_id, name=name, data=text.encode("utf-8"))
        tags_now = dict(current.get("tags") or {})
        if tags is not None:
            to_set, to_remove = compare_aws_tags(tags_now, tags, purge_tags)
            if to_remove and not self.check_mode:
                self.amp.call("remove tags from rule groups namespace %r" % name, "untag_resource",
                              resourceArn=current["arn"], tagKeys=list(to_remove))
            if to_set and not self.check_mode:
                self.amp.call("tag rule groups namespace %r" % name, "tag_resource",
                              resourceArn=current["arn"], tags=to_set)
            for key in to_remove:
                tags_now.pop(key, None)
            tags_now.update(to_set)
            changed = changed or bool(to_set or to_remove)
        if changed and not self.check_mode:
            self.diff = diff
            return True, self._state(self._wait(name), data)
        self.diff = diff
        return changed, self._state(dict(current, tags=tags_now), data)

    def ensure_absent(self, name):
        current = self.describe(name)
        if current is None:
            self.diff = {"before": "", "after": ""}
            return False, None
        if not self.check_mode:
            self.amp.call("delete rule groups namespace %r" % name, "delete_rule_groups_namespace",
                          workspaceId=self.workspace_id, name=name)
        self.diff = {"before": _decode(current.get("data")), "after": ""}
        return True, None


class AlertManagerDefinitions:
    """The (single) Alertmanager definition of one workspace."""

    def __init__(self, amp, workspace_id, check_mode=False, wait=True, wait_timeout=300):
        self.amp = amp
        self.workspace_id = workspace_id
        self.check_mode = check_mode
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.diff = {}

    def describe(self):
        if self.workspace_id is None:  # check mode, workspace not created yet
            return None
        result = self.amp.call_or_none("describe the Alertmanager definition of workspace %s" % self.workspace_id,
                                       "describe_alert_manager_definition", workspaceId=self.workspace_id)
        return None if result is None else result["alertManagerDefinition"]

    def _state(self, description, definition):
        return {"workspace_id": self.workspace_id, "status": _status(description), "definition": definition}

    def _wait(self):
        if self.wait and not self.check_mode:
            return self.amp.wait_for("apply the Alertmanager definition of workspace %s" % self.workspace_id,
                                     self.describe, self.wait_timeout)
        return self.describe()

    def ensure_present(self, definition, text):
        current = self.describe()
        after = dump_yaml(definition)
        if current is None:
            if not self.check_mode:
                self.amp.call("create the Alertmanager definition of workspace %s" % self.workspace_id,
                              "create_alert_manager_definition", workspaceId=self.workspace_id, data=text.encode("utf-8"))
                current = self._wait()
            self.diff = {"before": "", "after": after}
            return True, self._state(current, definition)
        try:
            current_definition = normalize_alertmanager_definition(_decode(current.get("data")))
        except AmpError:
            current_definition = None
        before = dump_yaml(current_definition) if current_definition is not None else _decode(current.get("data"))
        if current_definition == definition:
            self.diff = {"before": before, "after": after}
            return False, self._state(current, definition)
        if not self.check_mode:
            self.amp.call("update the Alertmanager definition of workspace %s" % self.workspace_id,
                          "put_alert_manager_definition", workspaceId=self.workspace_id, data=text.encode("utf-8"))
            current = self._wait()
        self.diff = {"before": before, "after": after}
        return True, self._state(current, definition)

    def ensure_absent(self):
        current = self.describe()
        if current is None:
            self.diff = {"before": "", "after": ""}
            return False, None
        if not self.check_mode:
            self.amp.call("delete the Alertmanager definition of workspace %s" % self.workspace_id,
                          "delete_alert_manager_definition", workspaceId=self.workspace_id)
        self.diff = {"before": _decode(current.get("data")), "after": ""}
        return True, None
