# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Promtail: the log agent model rendered as Promtail's configuration (a dict written as YAML),
its structural validator, and ``describe_promtail`` (what a config collects, in the shape of
``alloy_config.describe_alloy``, so tests can compare the two agents). No Ansible imports.
"""

from __future__ import annotations

import re

from ansible_collections.monitoring.stack.plugins.module_utils.common import split_address
from ansible_collections.monitoring.stack.plugins.module_utils.log_agent_model import HTTP_URL, STAGE_TYPES


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
    host, port = split_address(listen_address)
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
            if not HTTP_URL.match(str((client or {}).get("url") or "")):
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
