# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alloy: the log agent model rendered as an Alloy configuration (``alloy_blocks``/``alloy_config``),
its structural validator (``validate_alloy``: syntax, known components, required arguments,
references) and ``describe_alloy`` (the shape of ``promtail_config.describe_promtail``).
No Ansible imports.
"""

from __future__ import annotations

import re

from ansible_collections.monitoring.stack.plugins.module_utils.alloy_syntax import (
    AlloySyntaxError,
    Block,
    Ref,
    parse_alloy,
    render_alloy,
)
from ansible_collections.monitoring.stack.plugins.module_utils.log_agent_model import HTTP_URL


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


def _traces_blocks(traces):
    """OTLP in (the application's SDK sends to this host's Alloy) -> OTLP gRPC out to Tempo.
    ``traces``: {endpoint, insecure, ca_file, grpc_listen_address, http_listen_address}; an empty
    listen address leaves that protocol out. Component and argument names: Alloy's reference
    (otelcol.receiver.otlp, otelcol.exporter.otlp; docs/tempo.md)."""
    receiver = []
    for protocol in ("grpc", "http"):
        address = traces.get(protocol + "_listen_address")
        if address:
            receiver.append(Block(protocol, body=[("endpoint", address)]))
    receiver.append(Block("output", body=[("traces", [Ref("otelcol.exporter.otlp.tempo.input")])]))
    tls = [("insecure", bool(traces.get("insecure")))]
    if traces.get("ca_file"):
        tls.append(("ca_file", traces["ca_file"]))
    client = Block("client", body=[("endpoint", traces["endpoint"]), Block("tls", body=tls)])
    return [Block("otelcol.receiver.otlp", "default", receiver), Block("otelcol.exporter.otlp", "tempo", [client])]


def alloy_blocks(mdl, host_metrics=True, remote_write_url="", sigv4=None, scrape_interval="15s",
                 log_level="info", traces=None):
    """The Alloy configuration as Blocks (see ``alloy_config``); ``traces`` (see ``_traces_blocks``)
    adds the OTLP receiver and the exporter to Tempo when it has an endpoint."""
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
    if traces and traces.get("endpoint"):
        blocks.extend(_traces_blocks(traces))
    return blocks


def alloy_config(mdl, **options):
    """Alloy configuration text from the model (options: see ``alloy_blocks``)."""
    return render_alloy(alloy_blocks(mdl, **options),
                        header=["Managed by monitoring.stack (Ansible): local changes are overwritten."])


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
    # Alloy reference: otelcol.receiver.otlp takes no arguments, only blocks (output required);
    # otelcol.exporter.otlp requires the client block and exports input.
    "otelcol.receiver.otlp": {"required": [], "blocks": ["output"], "exports": []},
    "otelcol.exporter.otlp": {"required": [], "blocks": ["client"], "exports": ["input"]},
}
_GRPC_ENDPOINT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$")
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
            if not HTTP_URL.match(str(endpoint.attrs().get("url") or "")):
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
        if block.name == "otelcol.exporter.otlp":
            for client in block.blocks("client"):
                endpoint = client.attrs().get("endpoint")
                if not _GRPC_ENDPOINT.match(str(endpoint or "")):
                    problems.append("%s: client.endpoint must be host:port (gRPC), got %r" % (where, endpoint))
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
