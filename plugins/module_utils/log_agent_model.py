# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent-neutral log collection model of the alloy and promtail roles: inputs -> problems -> model.

Both log agent roles read the same inventory variables; ``input_problems`` checks them before
anything changes (every message starts with the variable to fix) and ``model`` turns them into
the one model that ``promtail_config`` (module promtail_config) and ``alloy_config`` (module
alloy_config) render. Pure functions, no Ansible imports.
"""

from __future__ import annotations

import re

from ansible_collections.monitoring.stack.plugins.module_utils.common import (
    go_duration_seconds,
    is_label_name,
    plain_copy,
)

AGENTS = ("alloy", "promtail")
STAGE_TYPES = ("regex", "json", "labels", "structured_metadata", "static_labels")

# Spring Boot logs (seed 003): "<timestamp>  INFO <pid> --- [app] [thread] logger : msg", with a
# traceId written by the application ("traceId=<hex>" or "traceId: <hex>"). The level becomes a
# label (few values); the traceId goes to structured metadata (one value per request: as a label
# it would create a stream per request).
DEFAULT_STAGES = [
    {"type": "regex", "expression": r"^\S+(?:\s\S+)?\s+(?P<level>TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\b"},
    {"type": "regex", "expression": r"traceId[=:]\s*(?P<traceId>[0-9A-Fa-f-]{16,36})"},
    {"type": "labels", "names": ["level"]},
    {"type": "structured_metadata", "names": ["traceId"]},
]

JOURNAL_JOB = "systemd-journal"
# Journal fields -> labels, identical for both agents: the unit (without ".service") is the
# service, the priority keyword is the level.
JOURNAL_RELABEL = [
    {"source_labels": ["__journal__systemd_unit"], "regex": r"(.+?)(?:\.service)?", "target_label": "service"},
    {"source_labels": ["__journal__systemd_unit"], "target_label": "unit"},
    {"source_labels": ["__journal_priority_keyword"], "target_label": "level"},
]

# An http(s) URL with a host: the Loki push URL, and endpoint URLs in rendered configs.
HTTP_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
_RESERVED_LABELS = ("environment", "host", "job", "service")


# --------------------------------------------------------------------------------------------
# Inputs -> problems -> model


def input_problems(inputs):
    """Problems with the role inputs (see ``model`` for the keys); each names the variable."""
    p = inputs.get("prefix", "log_agent")
    problems = []
    agent = inputs.get("agent")
    if agent not in AGENTS:
        problems.append("monitoring_log_agent: unknown log agent %r (choose %s)" % (agent, " or ".join(AGENTS)))
    elif inputs.get("role") and agent != inputs["role"]:
        problems.append("monitoring_log_agent: this host runs %s, but the monitoring.stack.%s role was applied "
                        "(apply monitoring.stack.log_agent, which follows monitoring_log_agent)" % (agent, inputs["role"]))
    if not str(inputs.get("environment") or "").strip():
        problems.append("%s_environment: required (monitoring_environment of the host's environment group, "
                        "e.g. prod, stage, dev, loadtest)" % p)
    url = str(inputs.get("push_url") or "").strip()
    if not url:
        problems.append("%s_loki_push_url: required (monitoring_loki_push_url, e.g. "
                        "http://<loki host:port>/loki/api/v1/push)" % p)
    elif not HTTP_URL.match(url):
        problems.append("%s_loki_push_url: must be an http(s) URL, got %r" % (p, url))
    files = inputs.get("files")
    if files is None:
        files = []
    if not isinstance(files, list):
        problems.append("%s_log_files: must be a list of {path, service, labels}, got %s" % (p, type(files).__name__))
        files = []
    seen = {}
    for index, entry in enumerate(files):
        name = "%s_log_files[%d]" % (p, index)
        if not isinstance(entry, dict):
            problems.append("%s: must be a dict with path and service, got %r" % (name, entry))
            continue
        unknown = sorted(set(entry) - {"path", "service", "labels"})
        if unknown:
            problems.append("%s: unknown keys %s (use path, service, labels)" % (name, ", ".join(unknown)))
        path = entry.get("path")
        if not isinstance(path, str) or not path.strip():
            problems.append("%s.path: required (an absolute path or glob, e.g. /var/log/app/*.log)" % name)
        elif not path.startswith("/"):
            problems.append("%s.path: must be an absolute path, got %r (agents resolve relative paths against "
                            "their own working directory)" % (name, path))
        service = entry.get("service")
        if not isinstance(service, str) or not service.strip():
            problems.append("%s.service: required (the service label of these logs)" % name)
        else:
            key = component_name(service)
            if key in seen:
                problems.append("%s.service: %r collides with %s (both give the component name %r); "
                                "use one entry per service" % (name, service, seen[key], key))
            seen[key] = "%s.service" % name
        labels = entry.get("labels") or {}
        if not isinstance(labels, dict):
            problems.append("%s.labels: must be a dict of label: value" % name)
        else:
            problems.extend(_label_problems("%s.labels" % name, labels))
    extra = inputs.get("labels") or {}
    if not isinstance(extra, dict):
        problems.append("%s_labels: must be a dict of label: value" % p)
    else:
        problems.extend(_label_problems("%s_labels" % p, extra))
    # Promtail and Alloy both parse max_age with Go's time.ParseDuration.
    if inputs.get("journal") and (go_duration_seconds(str(inputs.get("journal_max_age") or "")) or 0) <= 0:
        problems.append("%s_journal_max_age: must be a duration such as 12h (Go syntax, above zero), got %r"
                        % (p, inputs.get("journal_max_age")))
    stages = inputs.get("stages")
    problems.extend(stage_problems("%s_log_stages" % p, DEFAULT_STAGES if stages is None else stages))
    if not files and not inputs.get("journal"):
        problems.append("%s_log_files: empty and %s_log_journal is false: nothing to collect" % (p, p))
    return problems


def _label_problems(name, labels):
    problems = []
    for key, value in sorted(labels.items(), key=lambda kv: str(kv[0])):
        if not is_label_name(str(key)) or str(key).startswith("__"):
            problems.append("%s: %r is not a valid label name ([A-Za-z_][A-Za-z0-9_]*, not starting with __)"
                            % (name, key))
        elif key in _RESERVED_LABELS:
            problems.append("%s: %r is set by the role (environment, host, job, service); remove it" % (name, key))
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            problems.append("%s: the value of %r must be a string, got %r" % (name, key, value))
    return problems


def stage_problems(name, stages):
    """Problems with agent-neutral pipeline stages; labels must be extracted by an earlier stage."""
    if not isinstance(stages, list):
        return ["%s: must be a list of stages, got %s" % (name, type(stages).__name__)]
    problems = []
    extracted = set()
    for index, stage in enumerate(stages):
        where = "%s[%d]" % (name, index)
        if not isinstance(stage, dict) or stage.get("type") not in STAGE_TYPES:
            problems.append("%s: type must be one of %s, got %r" % (
                where, ", ".join(STAGE_TYPES), stage.get("type") if isinstance(stage, dict) else stage))
            continue
        kind = stage["type"]
        if kind == "regex":
            expression = stage.get("expression")
            if not isinstance(expression, str) or not expression:
                problems.append("%s.expression: required" % where)
                continue
            try:
                compiled = re.compile(expression)
            except re.error as exc:
                problems.append("%s.expression: does not compile: %s" % (where, exc))
                continue
            if not compiled.groupindex:
                problems.append("%s.expression: has no named group (?P<name>...): extracts nothing" % where)
            extracted.update(compiled.groupindex)
        elif kind == "json":
            expressions = stage.get("expressions")
            if not isinstance(expressions, dict) or not expressions:
                problems.append("%s.expressions: required (a dict of name: JMESPath expression)" % where)
                continue
            extracted.update(expressions)
        elif kind == "static_labels":
            values = stage.get("values")
            if not isinstance(values, dict) or not values:
                problems.append("%s.values: required (a dict of label: value)" % where)
                continue
            problems.extend(_label_problems("%s.values" % where, values))
        else:
            names = stage.get("names")
            if not isinstance(names, list) or not names:
                problems.append("%s.names: required (a list of extracted names)" % where)
                continue
            for label in names:
                if label not in extracted:
                    problems.append("%s.names: %r is not extracted by an earlier regex or json stage" % (where, label))
                if kind == "labels" and not is_label_name(str(label)):
                    problems.append("%s.names: %r is not a valid label name" % (where, label))
    return problems


def component_name(service):
    """The component (and Promtail job) name of a service: an identifier."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(service).strip())
    if not name or name[0].isdigit():
        name = "_" + name
    return name


def model(inputs):
    """The agent-neutral model. Inputs (all from the role's variables):

    agent, role, prefix, environment, host, push_url, files [{path, service, labels}], journal (bool),
    journal_max_age, stages (None for DEFAULT_STAGES), labels (extra static labels of every stream),
    tenant_id (optional).
    """
    stages = DEFAULT_STAGES if inputs.get("stages") is None else inputs["stages"]
    sources = []
    for entry in inputs.get("files") or []:
        labels = dict((str(k), str(v)) for k, v in sorted((entry.get("labels") or {}).items()))
        labels["service"] = str(entry["service"])
        labels["job"] = str(entry["service"])
        sources.append({"kind": "file", "name": component_name(entry["service"]),
                        "path": entry["path"], "labels": labels})
    if inputs.get("journal"):
        sources.append({"kind": "journal", "name": "journal", "labels": {"job": JOURNAL_JOB},
                        "max_age": str(inputs.get("journal_max_age") or "12h"),
                        "relabel": plain_copy(JOURNAL_RELABEL)})
    external = dict((str(k), str(v)) for k, v in sorted((inputs.get("labels") or {}).items()))
    external["environment"] = str(inputs.get("environment"))
    external["host"] = str(inputs.get("host"))
    return {
        "push_url": str(inputs.get("push_url")),
        "tenant_id": str(inputs.get("tenant_id") or ""),
        "external_labels": external,
        "sources": sources,
        "stages": plain_copy(stages),
        # A hardened unit hides /home and /root unless the agent must read logs there.
        "reads_home": any(s["kind"] == "file" and re.match(r"^/(home|root)(/|$)", s["path"]) for s in sources),
    }
