# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The blackbox_exporter configuration and the Prometheus probe jobs, built from inventory data.

Pure functions, no Ansible imports: plugins/filter/blackbox.py turns inventory into plain data
and calls these; the prometheus role's config (module_utils/prometheus_config.py) adds the
probe jobs; unit tests call them directly.

Inventory conventions:

* ``monitoring_probes`` on a service host (a host of the prometheus role's
  ``prometheus_scrape_groups``): a list of ``{url, module, service, labels}`` (``target``
  instead of ``url`` for tcp and icmp modules: ``host:port`` or ``host``). ``module`` defaults
  to ``http_2xx``, ``service`` to the host's ``monitoring_service``.
* Hosts of ``prometheus_blackbox_groups`` are the blackbox exporters; each is reached at its
  ``blackbox_exporter_listen_address`` (default ``0.0.0.0:9115``, the wildcard replaced by the
  host's ``ansible_host``). A probe goes through the first exporter of the probed host's
  environment, else through the first exporter.
"""

from __future__ import annotations

import re

from ansible_collections.monitoring.stack.plugins.module_utils.common import (
    LABEL_NAME,
    WILDCARD_HOSTS,
    is_prometheus_duration,
    plain_copy,
    split_address,
)

# The probers blackbox_exporter 0.28 knows; it accepts any other name at --config.check and
# answers every probe of such a module with 400 "Unknown prober".
PROBERS = ("http", "tcp", "icmp", "dns", "grpc", "unix")
# The role's blackbox_exporter_default_modules (tests/unit checks that the two agree).
DEFAULT_MODULES = {
    "http_2xx": {"prober": "http", "timeout": "5s", "http": {"preferred_ip_protocol": "ip4"}},
    "tcp_connect": {"prober": "tcp", "timeout": "5s", "tcp": {"preferred_ip_protocol": "ip4"}},
    "icmp": {"prober": "icmp", "timeout": "5s", "icmp": {"preferred_ip_protocol": "ip4"}},
}
DEFAULT_LISTEN_ADDRESS = "0.0.0.0:9115"
DEFAULT_MODULE = "http_2xx"
JOB_PREFIX = "blackbox_"
# Prometheus leaves the __tmp prefix to users; the label is gone after relabelling.
EXPORTER_LABEL = "__tmp_blackbox_exporter"
MODULE_NAME = re.compile(r"^[a-zA-Z0-9_.:-]+$")
URL = re.compile(r"^https?://[^/\s:]+(:[0-9]+)?(/\S*)?$|^https?://\[[0-9a-fA-F:.]+\](:[0-9]+)?(/\S*)?$")


def effective_modules(default_modules, modules):
    """The modules the exporter serves: the defaults, with the user's modules added or replacing them."""
    out = plain_copy(default_modules if isinstance(default_modules, dict) else {})
    out.update(plain_copy(modules if isinstance(modules, dict) else {}))
    return out


def module_problems(default_modules, modules):
    """Preflight messages for the role's module settings, each naming the variable."""
    problems = []
    for variable, value in (("blackbox_exporter_default_modules", default_modules),
                            ("blackbox_exporter_modules", modules)):
        if not isinstance(value, dict):
            problems.append("%s: must be a mapping of module name to module, got %r" % (variable, value))
            continue
        for name in sorted(value, key=str):
            module = value[name]
            item = "%s.%s" % (variable, name)
            if not MODULE_NAME.match(str(name)):
                problems.append("%s: module names are letters, digits, '_', '.', ':' and '-'" % item)
            if not isinstance(module, dict):
                problems.append("%s: a module is a mapping {prober, timeout, ...}, got %r" % (item, module))
                continue
            prober = module.get("prober")
            if prober not in PROBERS:
                problems.append("%s.prober: unknown prober %r (blackbox_exporter knows %s)" % (
                    item, prober, ", ".join(PROBERS)))
            if "timeout" in module and not is_prometheus_duration(module["timeout"]):
                problems.append("%s.timeout: %r is not a duration (e.g. 5s)" % (item, module["timeout"]))
    return problems


def config_file(modules):
    """The blackbox.yml data."""
    return {"modules": {name: plain_copy(modules[name]) for name in sorted(modules)}}


# ---------------------------------------------------------------------------------------------
# Probe jobs for Prometheus


def _connect_host(listen_host, exporter):
    if listen_host in WILDCARD_HOSTS:
        return exporter.get("address") or exporter["name"]
    return listen_host


def exporter_address(exporter):
    listen_host, port = split_address(exporter.get("listen_address") or DEFAULT_LISTEN_ADDRESS)
    return "%s:%s" % (_connect_host(listen_host, exporter), port)


def _choose_exporter(exporters, environment):
    same = [e for e in exporters if environment and e.get("environment") == environment]
    return (same or exporters)[0]


def _target(probe):
    return probe.get("url") if probe.get("url") not in (None, "") else probe.get("target")


def _target_problem(prober, target):
    text = str(target)
    if prober == "http":
        return None if URL.match(text) else "an http module probes a URL (http:// or https://), got %r" % (target,)
    if prober in ("tcp", "grpc"):
        host, port = split_address(text)
        if "://" in text or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            return "a %s module probes host:port, got %r" % (prober, target)
    if prober == "icmp" and ("/" in text or (":" in text and not text.startswith("["))):
        return "an icmp module probes a host name or address (no scheme, no port), got %r" % (target,)
    return None


def probe_problems(data):
    """Preflight messages for the probes of the inventory (data: from the filter blackbox_probes)."""
    data = data or {}
    exporters = data.get("exporters") or []
    problems = []
    for host in data.get("hosts") or []:
        probes = host.get("probes")
        if probes is None:
            continue
        where = "monitoring_probes of %s" % host["name"]
        if not isinstance(probes, list):
            problems.append("%s: must be a list of {url, module, service, labels}, got %r" % (where, probes))
            continue
        if probes and not exporters:
            problems.append("%s: no blackbox exporter to probe through: no host of prometheus_blackbox_groups (%s)"
                            % (where, ", ".join(data.get("groups") or []) or "empty"))
            continue
        for index, probe in enumerate(probes):
            item = "%s[%d]" % (where, index)
            if not isinstance(probe, dict):
                problems.append("%s: must be a mapping {url, module, service, labels}, got %r" % (item, probe))
                continue
            unknown = sorted(set(probe) - {"url", "target", "module", "service", "labels"})
            if unknown:
                problems.append("%s: unknown keys %s (url or target, module, service, labels)" % (item, ", ".join(unknown)))
            target = _target(probe)
            if target in (None, ""):
                problems.append("%s: url (or target) is required" % item)
            module = probe.get("module") or DEFAULT_MODULE
            exporter = _choose_exporter(exporters, host.get("environment"))
            modules = exporter.get("modules") or {}
            if module not in modules:
                problems.append("%s: module %r is not a module of the blackbox exporter %s (it has %s)" % (
                    item, module, exporter["name"], ", ".join(sorted(modules)) or "none"))
            elif target not in (None, ""):
                problem = _target_problem((modules[module] or {}).get("prober"), target)
                if problem:
                    problems.append("%s: %s" % (item, problem))
            if not (probe.get("service") or host.get("service")):
                problems.append("%s: service is required (or set monitoring_service on %s)" % (item, host["name"]))
            labels = probe.get("labels")
            if labels is not None and not isinstance(labels, dict):
                problems.append("%s.labels: must be a mapping of label name to value, got %r" % (item, labels))
            for name in sorted(labels or {}, key=str) if isinstance(labels, dict) else []:
                if not LABEL_NAME.match(str(name)) or str(name).startswith("__") or name == "instance":
                    problems.append("%s.labels: %r is not a label a probe may set (a Prometheus label name, "
                                    "not starting with __, not instance)" % (item, name))
    return problems


def _relabel_configs():
    return [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"source_labels": [EXPORTER_LABEL], "target_label": "__address__"},
    ]


def probe_jobs(data):
    """[(variable, job)]: one scrape job per module, in module order.

    Each probe is a target (the URL) with the labels environment, service and its own labels,
    and the address of its blackbox exporter in a temporary label; relabelling turns the target
    into the ``target`` parameter and the ``instance`` label, and scrapes the exporter.
    """
    data = data or {}
    exporters = data.get("exporters") or []
    if not exporters:
        return []
    groups = {}
    for host in data.get("hosts") or []:
        for probe in host.get("probes") or []:
            module = probe.get("module") or DEFAULT_MODULE
            exporter = _choose_exporter(exporters, host.get("environment"))
            labels = {"environment": host.get("environment") or "",
                      "service": probe.get("service") or host.get("service") or ""}
            labels.update({str(k): str(v) for k, v in (probe.get("labels") or {}).items()})
            labels = {k: v for k, v in labels.items() if v != ""}
            labels[EXPORTER_LABEL] = exporter_address(exporter)
            static = groups.setdefault(module, [])
            for config in static:
                if config["labels"] == labels:
                    config["targets"].append(str(_target(probe)))
                    break
            else:
                static.append({"targets": [str(_target(probe))], "labels": labels})
    jobs = []
    for module in sorted(groups):
        jobs.append(("monitoring_probes", {
            "job_name": JOB_PREFIX + module,
            "metrics_path": "/probe",
            "params": {"module": [module]},
            "static_configs": groups[module],
            "relabel_configs": _relabel_configs(),
        }))
    return jobs
