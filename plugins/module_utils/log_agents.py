# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One agent-neutral log collection model, rendered as Promtail YAML or Grafana Alloy syntax.

Both log agent roles (monitoring.stack.promtail, monitoring.stack.alloy) read the same inventory
variables; this module turns them into one model (``model``), checks them before anything
changes (``input_problems``), renders each agent's configuration from the model
(``promtail_config``, ``alloy_config``) and checks the rendered output structurally
(``validate_promtail``, ``validate_alloy``). ``describe_promtail``/``describe_alloy`` read a
rendered config back into the same comparable shape, so tests can prove the two agents collect
the same files with the same labels and stages.

Pure functions, no Ansible imports. Every problem message starts with the variable to fix.
"""

from __future__ import annotations

import copy
import re

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

_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
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
    elif not _URL.match(url):
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
            key = _component_name(service)
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
    if inputs.get("journal") and not _DURATION.match(str(inputs.get("journal_max_age") or "")):
        problems.append("%s_journal_max_age: must be a duration such as 12h, got %r" % (p, inputs.get("journal_max_age")))
    stages = inputs.get("stages")
    problems.extend(stage_problems("%s_log_stages" % p, DEFAULT_STAGES if stages is None else stages))
    if not files and not inputs.get("journal"):
        problems.append("%s_log_files: empty and %s_log_journal is false: nothing to collect" % (p, p))
    return problems


def _label_problems(name, labels):
    problems = []
    for key, value in sorted(labels.items(), key=lambda kv: str(kv[0])):
        if not _LABEL.match(str(key)) or str(key).startswith("__"):
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
                if kind == "labels" and not _LABEL.match(str(label)):
                    problems.append("%s.names: %r is not a valid label name" % (where, label))
    return problems


def _component_name(service):
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
        sources.append({"kind": "file", "name": _component_name(entry["service"]),
                        "path": entry["path"], "labels": labels})
    if inputs.get("journal"):
        sources.append({"kind": "journal", "name": "journal", "labels": {"job": JOURNAL_JOB},
                        "max_age": str(inputs.get("journal_max_age") or "12h"),
                        "relabel": copy.deepcopy(JOURNAL_RELABEL)})
    external = dict((str(k), str(v)) for k, v in sorted((inputs.get("labels") or {}).items()))
    external["environment"] = str(inputs.get("environment"))
    external["host"] = str(inputs.get("host"))
    return {
        "push_url": str(inputs.get("push_url")),
        "tenant_id": str(inputs.get("tenant_id") or ""),
        "external_labels": external,
        "sources": sources,
        "stages": copy.deepcopy(stages),
        # A hardened unit hides /home and /root unless the agent must read logs there.
        "reads_home": any(s["kind"] == "file" and re.match(r"^/(home|root)(/|$)", s["path"]) for s in sources),
    }


# --------------------------------------------------------------------------------------------
# Promtail


def _promtail_stage(stage):
    kind = stage["type"]
    if kind == "regex":
        body = {"expression": stage["expression"]}
        if stage.get("source"):
            body["source"] = stage["source"]
        return {"regex": body}
    if kind == "json":
        body = {"expressions": dict(stage["expressions"])}
        if stage.get("source"):
            body["source"] = stage["source"]
        return {"json": body}
    if kind == "static_labels":
        return {"static_labels": dict(stage["values"])}
    return {kind: dict((name, "") for name in stage["names"])}


def promtail_config(mdl, listen_address="127.0.0.1:9080", positions_file="/var/lib/promtail/positions.yaml",
                    log_level="info"):
    """Promtail's configuration (a dict, written as YAML) from the model."""
    host, _sep, port = listen_address.rpartition(":")
    client = {"url": mdl["push_url"], "external_labels": dict(mdl["external_labels"])}
    if mdl.get("tenant_id"):
        client["tenant_id"] = mdl["tenant_id"]
    scrape_configs = []
    for source in mdl["sources"]:
        if source["kind"] == "file":
            labels = dict(source["labels"])
            labels["__path__"] = source["path"]
            scrape_configs.append({
                "job_name": source["name"],
                "static_configs": [{"targets": ["localhost"], "labels": labels}],
                "pipeline_stages": [_promtail_stage(s) for s in mdl["stages"]],
            })
        else:
            scrape_configs.append({
                "job_name": source["name"],
                "journal": {"max_age": source["max_age"], "labels": dict(source["labels"])},
                "relabel_configs": [dict(rule) for rule in source["relabel"]],
            })
    return {
        "server": {"http_listen_address": host.strip("[]"), "http_listen_port": int(port),
                   "grpc_listen_port": 0, "log_level": log_level},
        "positions": {"filename": positions_file},
        "clients": [client],
        "scrape_configs": scrape_configs,
    }


def validate_promtail(cfg):
    """Structural problems of a Promtail configuration (dict)."""
    problems = []
    if not isinstance(cfg, dict):
        return ["config: must be a mapping"]
    unknown = sorted(set(cfg) - {"server", "positions", "clients", "scrape_configs", "limits_config",
                                 "target_config", "options", "tracing", "global", "wal"})
    if unknown:
        problems.append("config: unknown top-level keys %s" % ", ".join(unknown))
    server = cfg.get("server") or {}
    for key in ("http_listen_port", "grpc_listen_port"):
        if key in server and (not isinstance(server[key], int) or not 0 <= server[key] <= 65535):
            problems.append("server.%s: must be a port number, got %r" % (key, server[key]))
    filename = (cfg.get("positions") or {}).get("filename")
    if not isinstance(filename, str) or not filename.startswith("/"):
        problems.append("positions.filename: must be an absolute path, got %r" % (filename,))
    clients = cfg.get("clients")
    if not isinstance(clients, list) or not clients:
        problems.append("clients: at least one client is required")
    else:
        for index, client in enumerate(clients):
            if not _URL.match(str((client or {}).get("url") or "")):
                problems.append("clients[%d].url: must be an http(s) URL, got %r" % (index, (client or {}).get("url")))
    scrape_configs = cfg.get("scrape_configs")
    if not isinstance(scrape_configs, list) or not scrape_configs:
        problems.append("scrape_configs: at least one scrape config is required")
        scrape_configs = []
    names = set()
    for index, sc in enumerate(scrape_configs):
        where = "scrape_configs[%d]" % index
        if not isinstance(sc, dict):
            problems.append("%s: must be a mapping" % where)
            continue
        job = sc.get("job_name")
        if not job:
            problems.append("%s.job_name: required" % where)
        elif job in names:
            problems.append("%s.job_name: %r is used twice" % (where, job))
        names.add(job)
        kinds = [k for k in ("static_configs", "journal") if k in sc]
        if len(kinds) != 1:
            problems.append("%s: needs exactly one of static_configs or journal, got %s" % (where, kinds or "none"))
        for sidx, static in enumerate(sc.get("static_configs") or []):
            path = ((static or {}).get("labels") or {}).get("__path__")
            if not isinstance(path, str) or not path.startswith("/"):
                problems.append("%s.static_configs[%d].labels.__path__: must be an absolute path, got %r"
                                % (where, sidx, path))
        problems.extend(_promtail_stage_problems(where + ".pipeline_stages", sc.get("pipeline_stages") or []))
    return problems


def _promtail_stage_problems(where, stages):
    problems = []
    extracted = set()
    for index, stage in enumerate(stages):
        here = "%s[%d]" % (where, index)
        if not isinstance(stage, dict) or len(stage) != 1:
            problems.append("%s: a stage is a mapping with exactly one key" % here)
            continue
        (kind, body), = stage.items()
        if kind not in STAGE_TYPES:
            problems.append("%s: unsupported stage %r" % (here, kind))
            continue
        if kind == "regex":
            try:
                extracted.update(re.compile((body or {}).get("expression", "")).groupindex)
            except re.error as exc:
                problems.append("%s.regex.expression: does not compile: %s" % (here, exc))
        elif kind == "json":
            extracted.update((body or {}).get("expressions") or {})
        elif kind in ("labels", "structured_metadata"):
            for name, source in (body or {}).items():
                if (source or name) not in extracted:
                    problems.append("%s.%s: %r is not extracted by an earlier stage" % (here, kind, source or name))
    return problems


def describe_promtail(cfg):
    """What a Promtail config collects, in a shape shared with ``describe_alloy``."""
    files, journal = [], None
    for sc in cfg["scrape_configs"]:
        if "journal" in sc:
            journal = {"labels": dict(sc["journal"].get("labels") or {}), "max_age": sc["journal"].get("max_age"),
                       "relabel": [dict(r) for r in sc.get("relabel_configs") or []]}
            continue
        stages = []
        for stage in sc.get("pipeline_stages") or []:
            (kind, body), = stage.items()
            if kind == "regex":
                stages.append({"type": "regex", "expression": body["expression"]})
            elif kind == "json":
                stages.append({"type": "json", "expressions": dict(body["expressions"])})
            elif kind == "static_labels":
                stages.append({"type": kind, "values": dict(body)})
            else:
                stages.append({"type": kind, "names": sorted(body)})
        for static in sc["static_configs"]:
            labels = dict(static["labels"])
            files.append({"path": labels.pop("__path__"), "labels": labels, "stages": stages})
    client = cfg["clients"][0]
    return {"push_url": client["url"], "external_labels": dict(client.get("external_labels") or {}),
            "files": sorted(files, key=lambda f: f["path"]), "journal": journal}


# --------------------------------------------------------------------------------------------
# Alloy syntax: values, rendering


class Ref(object):
    """An Alloy expression written as is: a component export such as ``loki.write.default.receiver``."""

    def __init__(self, expr):
        self.expr = expr

    def __eq__(self, other):
        return isinstance(other, Ref) and other.expr == self.expr

    def __repr__(self):
        return "Ref(%r)" % self.expr


class Block(object):
    """A block: ``name "label" { attributes and nested blocks }`` (label optional)."""

    def __init__(self, name, label=None, body=None):
        self.name = name
        self.label = label
        self.body = list(body or [])  # [(attribute name, value)] and Block, in order

    def attrs(self):
        return dict(item for item in self.body if isinstance(item, tuple))

    def blocks(self, name=None):
        return [item for item in self.body if isinstance(item, Block) and (name is None or item.name == name)]

    def __repr__(self):
        return "Block(%r, %r, %r)" % (self.name, self.label, self.body)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def alloy_string(value):
    """A double-quoted Alloy string with backslashes, quotes and control characters escaped."""
    out = []
    for char in str(value):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def alloy_value(value, indent=0):
    """Render a Python value as an Alloy expression."""
    pad = "  " * indent
    if isinstance(value, Ref):
        return value.expr
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return alloy_string(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return "[" + ", ".join(alloy_value(v) for v in value) + "]"
        return "[\n" + "".join("%s  %s,\n" % (pad, alloy_value(v, indent + 1)) for v in value) + pad + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{\n" + "".join("%s  %s = %s,\n" % (pad, alloy_string(k), alloy_value(v, indent + 1))
                               for k, v in value.items()) + pad + "}"
    raise TypeError("cannot render %r as Alloy" % (value,))


def render_alloy(blocks, header=None):
    """Alloy source text for a list of Blocks."""
    lines = []
    for line in header or []:
        lines.append("// " + line)
    if header:
        lines.append("")

    def emit(block, indent):
        pad = "  " * indent
        head = block.name + (" " + alloy_string(block.label) if block.label is not None else "")
        if not block.body:
            lines.append("%s%s { }" % (pad, head))
            return
        lines.append("%s%s {" % (pad, head))
        width = max([len(item[0]) for item in block.body if isinstance(item, tuple)] or [0])
        previous = None
        for item in block.body:
            if isinstance(item, tuple):
                if previous == "block":
                    lines.append("")
                lines.append("%s  %s = %s" % (pad, item[0].ljust(width), alloy_value(item[1], indent + 1)))
                previous = "attr"
            else:
                if previous is not None:
                    lines.append("")
                emit(item, indent + 1)
                previous = "block"
        lines.append("%s}" % pad)

    for index, block in enumerate(blocks):
        if index:
            lines.append("")
        emit(block, 0)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Alloy: model -> blocks -> text


def _alloy_stage(stage):
    kind = stage["type"]
    if kind == "regex":
        body = [("expression", stage["expression"])]
        if stage.get("source"):
            body.append(("source", stage["source"]))
        return Block("stage.regex", body=body)
    if kind == "json":
        body = [("expressions", dict(stage["expressions"]))]
        if stage.get("source"):
            body.append(("source", stage["source"]))
        return Block("stage.json", body=body)
    if kind == "static_labels":
        return Block("stage.static_labels", body=[("values", dict(stage["values"]))])
    return Block("stage." + kind, body=[("values", dict((name, "") for name in stage["names"]))])


def alloy_blocks(mdl, host_metrics=True, remote_write_url="", sigv4=None, scrape_interval="15s",
                 log_level="info"):
    """The Alloy configuration as Blocks (see ``alloy_config``)."""
    blocks = [Block("logging", body=[("level", log_level), ("format", "logfmt")])]
    write = Ref("loki.write.default.receiver")
    files = [s for s in mdl["sources"] if s["kind"] == "file"]
    if files:
        for source in files:
            target = dict(source["labels"])
            target["__path__"] = source["path"]
            target = dict(sorted(target.items()))
            blocks.append(Block("local.file_match", source["name"], [("path_targets", [target])]))
            blocks.append(Block("loki.source.file", source["name"], [
                ("targets", Ref("local.file_match.%s.targets" % source["name"])),
                ("forward_to", [Ref("loki.process.files.receiver")]),
            ]))
        blocks.append(Block("loki.process", "files", [("forward_to", [write])]
                            + [_alloy_stage(s) for s in mdl["stages"]]))
    for source in mdl["sources"]:
        if source["kind"] != "journal":
            continue
        rules = []
        for rule in source["relabel"]:
            body = [("source_labels", list(rule["source_labels"]))]
            if "regex" in rule:
                body.append(("regex", rule["regex"]))
            body.append(("target_label", rule["target_label"]))
            rules.append(Block("rule", body=body))
        blocks.append(Block("loki.relabel", source["name"], [("forward_to", [])] + rules))
        blocks.append(Block("loki.source.journal", source["name"], [
            ("max_age", source["max_age"]),
            ("labels", dict(source["labels"])),
            ("relabel_rules", Ref("loki.relabel.%s.rules" % source["name"])),
            ("forward_to", [write]),
        ]))
    endpoint = [("url", mdl["push_url"])]
    if mdl.get("tenant_id"):
        endpoint.append(("tenant_id", mdl["tenant_id"]))
    blocks.append(Block("loki.write", "default", [Block("endpoint", body=endpoint),
                                                  ("external_labels", dict(mdl["external_labels"]))]))
    if host_metrics and remote_write_url:
        blocks.append(Block("prometheus.exporter.unix", "host"))
        blocks.append(Block("prometheus.scrape", "host", [
            ("targets", Ref("prometheus.exporter.unix.host.targets")),
            ("scrape_interval", scrape_interval),
            ("forward_to", [Ref("prometheus.remote_write.default.receiver")]),
        ]))
    if remote_write_url:
        endpoint = [("url", remote_write_url)]
        sig = dict((k, v) for k, v in sorted((sigv4 or {}).items()) if v not in (None, ""))
        if sig:
            endpoint.append(Block("sigv4", body=list(sig.items())))
        blocks.append(Block("prometheus.remote_write", "default", [Block("endpoint", body=endpoint),
                                                                   ("external_labels", dict(mdl["external_labels"]))]))
    return blocks


def alloy_config(mdl, **options):
    """Alloy configuration text from the model (options: see ``alloy_blocks``)."""
    return render_alloy(alloy_blocks(mdl, **options),
                        header=["Managed by monitoring.stack (Ansible): local changes are overwritten."])


# --------------------------------------------------------------------------------------------
# Alloy: parser (for the structural validator and describe_alloy)


class AlloySyntaxError(ValueError):
    pass


_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<punct>[{}\[\](),=])
""", re.VERBOSE | re.DOTALL)

_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(token, line):
    body, out, index = token[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        nxt = body[index + 1]
        if nxt in _UNESCAPE:
            out.append(_UNESCAPE[nxt])
            index += 2
        elif nxt == "u" and re.match(r"^[0-9A-Fa-f]{4}$", body[index + 2:index + 6]):
            out.append(chr(int(body[index + 2:index + 6], 16)))
            index += 6
        else:
            raise AlloySyntaxError("line %d: unknown escape \\%s in a string" % (line, nxt))
    return "".join(out)


def _tokens(text):
    pos, line, out = 0, 1, []
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise AlloySyntaxError("line %d: unexpected character %r" % (line, text[pos]))
        kind = match.lastgroup
        value = match.group(kind)
        if kind != "ws":
            out.append((kind, value, line))
        line += value.count("\n")
        pos = match.end()
    out.append(("eof", "", line))
    return out


class _Parser(object):
    def __init__(self, text):
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self, offset=0):
        return self.toks[min(self.pos + offset, len(self.toks) - 1)]

    def take(self, kind=None, value=None):
        tok = self.peek()
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise AlloySyntaxError("line %d: expected %s, got %r" % (tok[2], value or kind, tok[1] or "end of file"))
        self.pos += 1
        return tok

    def body(self, closing):
        items = []
        while not (self.peek()[0] == closing[0] and self.peek()[1] == closing[1]):
            tok = self.take("ident")
            if self.peek()[1] == "=":
                if "." in tok[1]:
                    raise AlloySyntaxError("line %d: attribute name %r may not contain dots" % (tok[2], tok[1]))
                self.take("punct", "=")
                items.append((tok[1], self.value()))
            else:
                label = None
                if self.peek()[0] == "string":
                    label = _unquote(self.take("string")[1], tok[2])
                    if not _IDENT.match(label):
                        raise AlloySyntaxError("line %d: block label %r must be an identifier" % (tok[2], label))
                self.take("punct", "{")
                items.append(Block(tok[1], label, self.body(("punct", "}"))))
                self.take("punct", "}")
        return items

    def value(self):
        tok = self.peek()
        if tok[0] == "string":
            self.pos += 1
            return _unquote(tok[1], tok[2])
        if tok[0] == "raw":
            self.pos += 1
            return tok[1][1:-1]
        if tok[0] == "number":
            self.pos += 1
            return float(tok[1]) if "." in tok[1] else int(tok[1])
        if tok[0] == "ident":
            self.pos += 1
            if tok[1] in ("true", "false"):
                return tok[1] == "true"
            if tok[1] == "null":
                return None
            if self.peek()[1] == "(":
                raise AlloySyntaxError("line %d: function calls are not used by monitoring.stack configs" % tok[2])
            return Ref(tok[1])
        if tok[1] == "[":
            self.pos += 1
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
                if self.peek()[1] != "]":
                    self.take("punct", ",")
            self.take("punct", "]")
            return items
        if tok[1] == "{":
            self.pos += 1
            obj = {}
            while self.peek()[1] != "}":
                key = self.peek()
                if key[0] == "string":
                    name = _unquote(key[1], key[2])
                elif key[0] == "ident" and "." not in key[1]:
                    name = key[1]
                else:
                    raise AlloySyntaxError("line %d: object key expected, got %r" % (key[2], key[1]))
                self.pos += 1
                self.take("punct", "=")
                obj[name] = self.value()
                if self.peek()[1] != "}":
                    self.take("punct", ",")
            self.take("punct", "}")
            return obj
        raise AlloySyntaxError("line %d: value expected, got %r" % (tok[2], tok[1] or "end of file"))


def parse_alloy(text):
    """Parse Alloy text into a list of Blocks (top level); raises AlloySyntaxError."""
    parser = _Parser(text)
    items = parser.body(("eof", ""))
    for item in items:
        if not isinstance(item, Block):
            raise AlloySyntaxError("top level: attribute %r outside a block" % item[0])
    return items


# Components monitoring.stack renders, with their required arguments and (nested) blocks, and
# their exports (what other components may reference).
ALLOY_COMPONENTS = {
    "logging": {"labelled": False, "required": [], "exports": []},
    "local.file_match": {"required": ["path_targets"], "exports": ["targets"]},
    "loki.source.file": {"required": ["targets", "forward_to"], "exports": []},
    "loki.source.journal": {"required": ["forward_to"], "exports": []},
    "loki.process": {"required": ["forward_to"], "exports": ["receiver"]},
    "loki.relabel": {"required": ["forward_to"], "exports": ["receiver", "rules"]},
    "loki.write": {"required": [], "blocks": ["endpoint"], "exports": ["receiver"]},
    "prometheus.exporter.unix": {"required": [], "exports": ["targets"]},
    "prometheus.scrape": {"required": ["targets", "forward_to"], "exports": []},
    "prometheus.remote_write": {"required": [], "blocks": ["endpoint"], "exports": ["receiver"]},
}
_STAGES = ("stage.regex", "stage.json", "stage.labels", "stage.structured_metadata", "stage.static_labels")


def _refs(value):
    if isinstance(value, Ref):
        yield value.expr
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)


def validate_alloy(text):
    """Structural problems of Alloy configuration text: syntax, components, arguments, references."""
    try:
        blocks = parse_alloy(text)
    except AlloySyntaxError as exc:
        return ["syntax: %s" % exc]
    problems = []
    defined = {}
    for block in blocks:
        spec = ALLOY_COMPONENTS.get(block.name)
        where = block.name + ("" if block.label is None else ' "%s"' % block.label)
        if spec is None:
            problems.append("%s: unknown component (known: %s)" % (where, ", ".join(sorted(ALLOY_COMPONENTS))))
            continue
        if spec.get("labelled", True) and block.label is None:
            problems.append("%s: a component needs a label" % where)
        key = (block.name, block.label)
        if key in defined:
            problems.append("%s: defined twice" % where)
        defined[key] = block
        attrs = block.attrs()
        for arg in spec["required"]:
            if arg not in attrs:
                problems.append("%s: missing required argument %s" % (where, arg))
        for name in spec.get("blocks", []):
            if not block.blocks(name):
                problems.append("%s: missing required block %s" % (where, name))
        for endpoint in block.blocks("endpoint"):
            if not _URL.match(str(endpoint.attrs().get("url") or "")):
                problems.append("%s: endpoint.url must be an http(s) URL, got %r" % (where, endpoint.attrs().get("url")))
        if block.name == "loki.process":
            for nested in block.blocks():
                if nested.name not in _STAGES:
                    problems.append("%s: unsupported block %s" % (where, nested.name))
                elif nested.name == "stage.regex":
                    try:
                        re.compile(str(nested.attrs().get("expression")))
                    except re.error as exc:
                        problems.append("%s: stage.regex expression does not compile: %s" % (where, exc))
        if block.name == "local.file_match":
            for target in attrs.get("path_targets") or []:
                path = target.get("__path__") if isinstance(target, dict) else None
                if not isinstance(path, str) or not path.startswith("/"):
                    problems.append("%s: path_targets __path__ must be an absolute path, got %r" % (where, path))
    exports = {}
    for (name, label), _block in defined.items():
        for export in ALLOY_COMPONENTS[name]["exports"]:
            exports["%s.%s.%s" % (name, label, export)] = True

    def check(block, where):
        for item in block.body:
            if isinstance(item, tuple):
                for ref in _refs(item[1]):
                    if ref not in exports:
                        problems.append("%s: %s = %s refers to nothing defined in this file" % (where, item[0], ref))
            else:
                check(item, where)

    for block in blocks:
        if block.name in ALLOY_COMPONENTS:
            check(block, block.name + ("" if block.label is None else ' "%s"' % block.label))
    return problems


def describe_alloy(text):
    """What an Alloy config collects, in the shape of ``describe_promtail``."""
    blocks = parse_alloy(text)
    by_key = dict(((b.name, b.label), b) for b in blocks)
    files, journal = [], None
    for block in blocks:
        if block.name == "loki.source.file":
            match = by_key[("local.file_match", block.attrs()["targets"].expr.split(".")[2])]
            process = by_key[("loki.process", block.attrs()["forward_to"][0].expr.split(".")[2])]
            stages = []
            for stage in process.blocks():
                kind = stage.name[len("stage."):]
                attrs = stage.attrs()
                if kind == "regex":
                    stages.append({"type": kind, "expression": attrs["expression"]})
                elif kind == "json":
                    stages.append({"type": kind, "expressions": dict(attrs["expressions"])})
                elif kind == "static_labels":
                    stages.append({"type": kind, "values": dict(attrs["values"])})
                else:
                    stages.append({"type": kind, "names": sorted(attrs["values"])})
            for target in match.attrs()["path_targets"]:
                labels = dict(target)
                files.append({"path": labels.pop("__path__"), "labels": labels, "stages": stages})
        elif block.name == "loki.source.journal":
            attrs = block.attrs()
            relabel = by_key[("loki.relabel", attrs["relabel_rules"].expr.split(".")[2])]
            rules = []
            for rule in relabel.blocks("rule"):
                rules.append(dict(rule.attrs()))
            journal = {"labels": dict(attrs.get("labels") or {}), "max_age": attrs.get("max_age"), "relabel": rules}
    write = by_key[("loki.write", "default")]
    return {"push_url": write.blocks("endpoint")[0].attrs()["url"],
            "external_labels": dict(write.attrs().get("external_labels") or {}),
            "files": sorted(files, key=lambda f: f["path"]), "journal": journal}
