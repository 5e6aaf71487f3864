# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AMP content checks: rule groups namespaces (Prometheus rule files) and Alertmanager
definitions. Structural checks are pure; ``promtool check rules`` and ``amtool check-config``
run when they are on PATH, and say so (``checked`` False) when they are not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

from ansible_collections.monitoring.stack.plugins.module_utils.alertmanager_config import (
    RECEIVER_SECRET_KEYS,
    REDACTED,
    mask_secrets,
    redact_secrets,
    secret_values,
)
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpError
from ansible_collections.monitoring.stack.plugins.module_utils.common import is_label_name
from ansible_collections.monitoring.stack.plugins.module_utils.common import is_prometheus_duration

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
TOOL_TIMEOUT = 60


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
    if not is_prometheus_duration(value):
        return "%s: %r is not a Prometheus duration (e.g. 30s, 5m, 1h30m)" % (where, value)
    return None


def _string_map_problems(where, value):
    if not isinstance(value, dict):
        return ["%s: must be a mapping of names to strings" % where]
    problems = []
    for key, item in value.items():
        if not is_label_name(key):
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

# What is secret in an Alertmanager config is decided in one place, module_utils/alertmanager_config.py
# (shared with the alertmanager role): AMP definitions are Alertmanager configs.
ALERTMANAGER_SECRET_KEYS = RECEIVER_SECRET_KEYS
SECRET_MASK = REDACTED


def redact_alertmanager_secrets(value):
    """A copy of an Alertmanager config (or AMP definition) with every secret field masked."""
    return mask_secrets(value)


def redact_text(text, config):
    """``text`` (a validator's message) with every secret value of ``config`` replaced."""
    return redact_secrets(text, secret_values(config))


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
        output = redact_text(output.replace(tmp + "/", ""), config)
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
