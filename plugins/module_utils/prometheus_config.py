# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus configuration, built from inventory data in one place.

Pure functions, no Ansible imports: the filter plugin (plugins/filter/prometheus.py) turns
inventory into plain data and calls these; unit tests call them directly.

Inventory conventions (shared by every role of the collection):

* ``monitoring_environment`` on each host (prod, stage, dev, loadtest) becomes the
  ``environment`` label of every target of that host.
* ``monitoring_scrape_targets`` on application hosts: a list of
  ``{service, port, metrics_path, scheme, labels, address}``; ``address`` defaults to the
  host's ``ansible_host``, then its inventory name. One job per service.
* A host that sets ``node_exporter_listen_address`` is scraped by the job ``node``.
"""

from __future__ import annotations

import re

from ansible_collections.monitoring.stack.plugins.module_utils import blackbox_config
from ansible_collections.monitoring.stack.plugins.module_utils import ha
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_versions as pv
from ansible_collections.monitoring.stack.plugins.module_utils import remote_storage
from ansible_collections.monitoring.stack.plugins.module_utils.common import (
    WILDCARD_HOSTS,
    is_label_name,
    is_prometheus_duration as is_duration,
    plain_copy,
    prometheus_duration_seconds as duration_seconds,
    split_address,
)

SIZE = re.compile(r"^[0-9]+(B|KB|MB|GB|TB|PB|EB)$")
JOB_NAME = re.compile(r"^[a-zA-Z0-9_.:-]+$")
NODE_JOB = "node"
SELF_JOB = "prometheus"
# The role's default prometheus_rule_packs (defaults/main.yml): in agent mode they are not loaded,
# any other list is refused (an agent evaluates no rules).
DEFAULT_RULE_PACKS = ("service", "node", "prometheus")


def is_size(value):
    return SIZE.match(str(value if value is not None else "")) is not None


def _connect_host(listen_host, host):
    # A wildcard listener is reached from another host at that host's address.
    if listen_host in WILDCARD_HOSTS:
        return host.get("address") or host["name"]
    return listen_host


def _port(value):
    try:
        port = int(str(value))
    except (TypeError, ValueError):
        return None
    return port if 1 <= port <= 65535 else None


def label_problems(variable, labels, utf8=False):
    """``utf8``: the selected Prometheus takes UTF-8 label names (3.x unless its
    metric_name_validation_scheme is legacy); else the classic rule."""
    problems = []
    if labels is None:
        return problems
    if not isinstance(labels, dict):
        return ["%s: labels must be a mapping of label name to value, got %r" % (variable, labels)]
    for name in sorted(labels, key=str):
        if not is_label_name(str(name), utf8=utf8) or str(name).startswith("__"):
            rule = ("any UTF-8 text, not starting with __" if utf8 else
                    "letters, digits and _, not starting with a digit or __")
            problems.append("%s: %r is not a valid Prometheus label name (%s)" % (variable, name, rule))
    return problems


def utf8_names(settings):
    return pv.utf8_names(settings.get("version"), settings.get("metric_name_validation_scheme") or "")


# ---------------------------------------------------------------------------------------------
# Targets from the inventory


def service_targets(hosts):
    """{(service, metrics_path, scheme): [static_config]} from the hosts' monitoring_scrape_targets."""
    jobs = {}
    for host in hosts:
        for target in host.get("scrape_targets") or []:
            service = target["service"]
            port = _port(target["port"])
            address = target.get("address") or host.get("address") or host["name"]
            labels = {"environment": host.get("environment") or "", "service": service,
                      "instance": "%s:%s" % (host["name"], port)}
            labels.update({str(k): str(v) for k, v in (target.get("labels") or {}).items()})
            labels = {k: v for k, v in labels.items() if v != ""}
            key = (service, target.get("metrics_path") or "/metrics", target.get("scheme") or "http")
            jobs.setdefault(key, []).append({"targets": ["%s:%s" % (address, port)], "labels": labels})
    return jobs


def node_targets(hosts):
    """Static configs of the node job: every host with a node_exporter_listen_address."""
    configs = []
    for host in hosts:
        listen = host.get("node_exporter_listen_address")
        if not listen:
            continue
        listen_host, port = split_address(listen)
        labels = {"environment": host.get("environment") or "", "service": host.get("service") or NODE_JOB,
                  "instance": "%s:%s" % (host["name"], port)}
        configs.append({"targets": ["%s:%s" % (_connect_host(listen_host, host), port)],
                        "labels": {k: v for k, v in labels.items() if v != ""}})
    return configs


def alertmanager_targets(hosts, urls=()):
    targets = [str(u) for u in urls or []]
    for host in hosts:
        listen = host.get("alertmanager_listen_address")
        if listen:
            listen_host, port = split_address(listen)
            targets.append("%s:%s" % (_connect_host(listen_host, host), port))
    return sorted(set(targets))


# ---------------------------------------------------------------------------------------------
# Checks (preflight)


def target_problems(hosts, utf8=False):
    problems = []
    for host in hosts:
        targets = host.get("scrape_targets")
        if targets is None:
            continue
        where = "monitoring_scrape_targets of %s" % host["name"]
        if not isinstance(targets, list):
            problems.append("%s: must be a list of {service, port, ...}, got %r" % (where, targets))
            continue
        for index, target in enumerate(targets):
            item = "%s[%d]" % (where, index)
            if not isinstance(target, dict):
                problems.append("%s: must be a mapping {service, port, ...}, got %r" % (item, target))
                continue
            service = target.get("service")
            if not service or not JOB_NAME.match(str(service)):
                problems.append("%s: service is required (letters, digits, '_', '.', ':', '-'), got %r" % (item, service))
            if "port" not in target or target.get("port") in (None, ""):
                problems.append("%s: port is required (service %s)" % (item, service))
            elif _port(target["port"]) is None:
                problems.append("%s: port must be 1-65535, got %r" % (item, target["port"]))
            if target.get("scheme", "http") not in ("http", "https"):
                problems.append("%s: scheme must be http or https, got %r" % (item, target.get("scheme")))
            path = target.get("metrics_path", "/metrics")
            if not str(path).startswith("/"):
                problems.append("%s: metrics_path must start with /, got %r" % (item, path))
            problems.extend(label_problems(item + ".labels", target.get("labels"), utf8))
    return problems


def job_name_problems(named_jobs):
    """named_jobs: [(variable, job name)] in config order; duplicates name both variables."""
    problems, seen = [], {}
    for variable, name in named_jobs:
        if name in seen:
            problems.append("%s: duplicate scrape job name %r (also from %s)" % (variable, name, seen[name]))
        else:
            seen[name] = variable
    return problems


def settings_problems(settings):
    """Problems with the prometheus role's own settings (see build_config for the keys)."""
    problems = []
    for key in ("scrape_interval", "scrape_timeout", "evaluation_interval", "retention_time"):
        value = settings.get(key)
        if key == "retention_time" and value in (None, ""):
            continue
        if not is_duration(value):
            problems.append("prometheus_%s: %r is not a duration (e.g. 15s, 1m, 15d, 1h30m)" % (key, value))
    interval, timeout = duration_seconds(settings.get("scrape_interval")), duration_seconds(settings.get("scrape_timeout"))
    if interval is not None and timeout is not None and timeout > interval:
        problems.append("prometheus_scrape_timeout: %s is longer than prometheus_scrape_interval (%s)" % (
            settings.get("scrape_timeout"), settings.get("scrape_interval")))
    size = settings.get("retention_size")
    if size not in (None, "") and not is_size(size):
        problems.append("prometheus_retention_size: %r is not a size (e.g. 512MB, 50GB)" % (size,))
    utf8 = utf8_names(settings)
    problems.extend(label_problems("prometheus_external_labels", settings.get("external_labels"), utf8))
    for job, targets in sorted((settings.get("file_sd_targets") or {}).items()):
        for index, group in enumerate(targets or []):
            item = "prometheus_file_sd_targets.%s[%d]" % (job, index)
            if not isinstance(group, dict) or not group.get("targets"):
                problems.append("%s: needs targets: [host:port, ...]" % item)
                continue
            for target in group["targets"]:
                if _port(split_address(target)[1]) is None:
                    problems.append("%s: target %r has no port (host:port)" % (item, target))
            problems.extend(label_problems(item + ".labels", group.get("labels"), utf8))
    for index, job in enumerate(settings.get("ec2_sd_jobs") or []):
        item = "prometheus_ec2_sd_jobs[%d]" % index
        for key in ("job_name", "region", "port"):
            if not job.get(key):
                problems.append("%s: %s is required" % (item, key))
        problems.extend(label_problems(item + ".labels", job.get("labels"), utf8))
    for index, job in enumerate(settings.get("extra_scrape_configs") or []):
        if not isinstance(job, dict) or not job.get("job_name"):
            problems.append("prometheus_extra_scrape_configs[%d]: needs a job_name" % index)
    for job, filters in sorted((settings.get("metric_filters") or {}).items()):
        if not isinstance(filters, dict) or set(filters) - {"keep", "drop"}:
            problems.append("prometheus_metric_filters.%s: takes keep and drop lists of regexes, got %r" % (job, filters))
            continue
        for kind in ("keep", "drop"):
            for regex in filters.get(kind) or []:
                try:
                    re.compile(str(regex))
                except re.error as exc:
                    problems.append("prometheus_metric_filters.%s.%s: bad regex %r (%s)" % (job, kind, regex, exc))
    amp = settings.get("amp_remote_write") or {}
    if amp and not (amp.get("workspace_id") and amp.get("region")):
        problems.append("prometheus_amp_remote_write: needs workspace_id and region")
    users = settings.get("basic_auth_users") or []
    for index, user in enumerate(users):
        if not isinstance(user, dict) or not user.get("name") or not (user.get("password") or user.get("password_hash")):
            problems.append("prometheus_basic_auth_users[%d]: needs name and password (or password_hash)" % index)
        elif user.get("password_hash") and not str(user["password_hash"]).startswith("$2"):
            problems.append("prometheus_basic_auth_users[%d]: password_hash must be a bcrypt hash ($2...)" % index)
    if users and not any(isinstance(u, dict) and u.get("password") for u in users):
        problems.append("prometheus_basic_auth_users: at least one user needs a plain password "
                        "(used to scrape Prometheus itself and to reload it)")
    return problems


def _is_on(settings, key):
    # Booleans may arrive from templates as text.
    value = settings.get(key)
    return value is True or str(value).lower() in ("true", "yes", "1")


def _extra_flag_features(settings):
    value = (settings.get("extra_flags") or {}).get("enable-feature")
    if value in (None, "", True, False):
        return []
    return [f.strip() for f in str(value).split(",") if f.strip()]


def version_problems(settings):
    """What the selected Prometheus version (settings ``version``) does not take, each naming
    the variable: feature flags 3.x removed, 3.x-only settings on 2.x, agent mode with rules or
    alerting."""
    version = settings.get("version") or ""
    v3 = pv.is_v3(version)
    problems = []
    features = settings.get("feature_flags") or []
    if not isinstance(features, list):
        problems.append("prometheus_feature_flags: must be a list of feature names, got %r" % (features,))
        features = []
    problems.extend(pv.feature_flag_problems([str(f) for f in features], version, "prometheus_feature_flags"))
    problems.extend(pv.feature_flag_problems(_extra_flag_features(settings), version,
                                             "prometheus_extra_flags.enable-feature"))
    if _is_on(settings, "agent_mode"):
        packs = settings.get("rule_packs")
        if packs and list(packs) != list(DEFAULT_RULE_PACKS):
            problems.append("prometheus_rule_packs: agent mode (prometheus_agent_mode) evaluates no rules; "
                            "set prometheus_rule_packs: [] and load the packs where the samples are written")
        for variable, key in (("prometheus_extra_rules", "extra_rules"), ("prometheus_rule_for_overrides", "rule_for_overrides"),
                              ("prometheus_alertmanager_urls", "alertmanagers")):
            if settings.get(key):
                problems.append("%s: agent mode (prometheus_agent_mode) has no rules and no alerting; empty it "
                                "or turn agent mode off" % variable)
    scheme = settings.get("metric_name_validation_scheme") or ""
    if scheme and scheme not in pv.METRIC_NAME_VALIDATION_SCHEMES:
        problems.append("prometheus_metric_name_validation_scheme: %r is not one of %s"
                        % (scheme, ", ".join(pv.METRIC_NAME_VALIDATION_SCHEMES)))
    elif scheme and not v3:
        problems.append("prometheus_metric_name_validation_scheme: needs Prometheus 3 (%s is selected); "
                        "2.x takes only the classic names" % version)
    protocol = settings.get("fallback_scrape_protocol") or ""
    if protocol and protocol not in pv.FALLBACK_SCRAPE_PROTOCOLS:
        problems.append("prometheus_fallback_scrape_protocol: %r is not one of %s"
                        % (protocol, ", ".join(pv.FALLBACK_SCRAPE_PROTOCOLS)))
    elif protocol and not v3:
        problems.append("prometheus_fallback_scrape_protocol: needs Prometheus 3 (%s is selected); 2.x falls back "
                        "to the Prometheus text format by itself" % version)
    if _is_on(settings, "always_scrape_classic_histograms") and not pv.at_least(version, pv.CLASSIC_HISTOGRAMS_SINCE):
        problems.append("prometheus_always_scrape_classic_histograms: needs Prometheus 2.45 or newer "
                        "(%s is selected)" % version)
    for index, entry in enumerate(settings.get("remote_write") or []):
        message = entry.get("protobuf_message") if isinstance(entry, dict) else None
        if message is None:
            continue
        item = "prometheus_remote_write[%d].protobuf_message" % index
        if message not in pv.REMOTE_WRITE_MESSAGES:
            problems.append("%s: %r is not one of %s (remote write 1.0, 2.0)"
                            % (item, message, ", ".join(pv.REMOTE_WRITE_MESSAGES)))
        elif not v3:
            problems.append("%s: needs Prometheus 3 (%s is selected); 2.x sends remote write 1.0 only" % (item, version))
    return problems


def enabled_features(settings):
    """The --enable-feature values: prometheus_feature_flags, the enable-feature of
    prometheus_extra_flags, and the ones the role's own settings need on this version."""
    version = settings.get("version") or ""
    features = [str(f) for f in settings.get("feature_flags") or []] + _extra_flag_features(settings)
    if _is_on(settings, "agent_mode") and not pv.is_v3(version):
        features.append("agent")
    if _is_on(settings, "native_histograms") and not pv.at_least(version, pv.NATIVE_HISTOGRAMS_SETTING_SINCE):
        features.append("native-histograms")
    unique = []
    for feature in features:
        if feature not in unique:
            unique.append(feature)
    return unique


def build_flags(settings):
    """The command line of the unit, for the selected version (settings ``version``).

    Agent mode: ``--agent`` on 3.x (the ``agent`` feature on 2.x), the WAL in
    ``--storage.agent.path``, no TSDB retention. 2.x from a release archive reads the console
    templates the archive ships (``console_dir``); 3.x archives ship none, so no console flags.
    """
    version = settings.get("version") or ""
    agent = _is_on(settings, "agent_mode")
    storage = "--storage.agent.path=" if agent else "--storage.tsdb.path="
    flags = ["--config.file=" + settings["config_file"], storage + settings["data_dir"],
             "--web.listen-address=" + settings["listen_address"], "--web.enable-lifecycle"]
    # Backups (playbooks/backup.yml) take TSDB snapshots through the admin API; it is served on
    # the one listen address above, with the same auth, and can also delete series: off otherwise.
    if _is_on(settings, "admin_api") and not agent:
        flags.append("--web.enable-admin-api")
    if agent and pv.is_v3(version):
        flags.append("--agent")
    if not agent and settings.get("retention_time"):
        flags.append("--storage.tsdb.retention.time=%s" % settings["retention_time"])
    if not agent and settings.get("retention_size"):
        flags.append("--storage.tsdb.retention.size=%s" % settings["retention_size"])
    if settings.get("web_config_file"):
        flags.append("--web.config.file=" + settings["web_config_file"])
    if settings.get("external_url"):
        flags.append("--web.external-url=" + settings["external_url"])
    if settings.get("console_dir") and not pv.is_v3(version):
        flags.append("--web.console.templates=%s/consoles" % settings["console_dir"])
        flags.append("--web.console.libraries=%s/console_libraries" % settings["console_dir"])
    features = enabled_features(settings)
    if features:
        flags.append("--enable-feature=" + ",".join(features))
    for name, value in sorted((settings.get("extra_flags") or {}).items()):
        if name == "enable-feature":
            continue
        flags.append("--" + name if value is True else "--%s=%s" % (name, value))
    return flags


# ---------------------------------------------------------------------------------------------
# The configuration


def _metric_relabel(filters, job_name):
    rules = []
    for key in ("*", job_name):
        for kind in ("keep", "drop"):
            regexes = (filters.get(key) or {}).get(kind) or []
            if regexes:
                rules.append({"source_labels": ["__name__"], "regex": "|".join("(?:%s)" % r for r in regexes),
                              "action": kind})
    return rules


def _ec2_job(job):
    sd = {"region": job["region"], "port": int(job["port"])}
    if job.get("role_arn"):
        sd["role_arn"] = job["role_arn"]
    filters = [{"name": "tag:%s" % k, "values": v if isinstance(v, list) else [str(v)]}
               for k, v in sorted((job.get("tag_filters") or {}).items())]
    filters.append({"name": "instance-state-name", "values": ["running"]})
    sd["filters"] = filters
    relabel = [
        {"source_labels": ["__meta_ec2_private_ip"], "target_label": "__address__",
         "replacement": "${1}:%s" % int(job["port"])},
        {"source_labels": ["__meta_ec2_tag_Name", "__meta_ec2_instance_id"], "separator": ";",
         "regex": "(.+);.*|;(.+)", "target_label": "instance", "replacement": "${1}${2}"},
        {"source_labels": ["__meta_ec2_availability_zone"], "target_label": "availability_zone"},
    ]
    for label, tag in sorted((job.get("tag_labels") or {"service": "Service", "environment": "Environment"}).items()):
        relabel.append({"source_labels": ["__meta_ec2_tag_%s" % tag], "regex": "(.+)", "target_label": label})
    for label, value in sorted((job.get("labels") or {}).items()):
        relabel.append({"target_label": label, "replacement": str(value)})
    out = {"job_name": job["job_name"], "metrics_path": job.get("metrics_path", "/metrics"),
           "scheme": job.get("scheme", "http"), "ec2_sd_configs": [sd], "relabel_configs": relabel}
    return out


def amp_remote_write(amp, replica_label=None):
    """prometheus_amp_remote_write as a remote_write entry: a kind=amp entry of
    module_utils/remote_storage.py (one code path for both variables)."""
    return remote_storage.render(remote_storage.from_amp_setting(amp), replica_label)


def scrape_jobs(settings, hosts):
    """[(variable, job)] in config order; variable names where the job came from."""
    filters = settings.get("metric_filters") or {}
    jobs = []
    self_labels = {"environment": settings.get("environment") or "", "service": "prometheus",
                   "instance": settings.get("self_instance") or ""}
    self_job = {"job_name": SELF_JOB, "scheme": settings.get("self_scheme") or "http",
                "static_configs": [{"targets": [settings["self_address"]],
                                    "labels": {k: v for k, v in self_labels.items() if v}}]}
    if settings.get("self_basic_auth"):
        self_job["basic_auth"] = dict(settings["self_basic_auth"])
    if settings.get("self_tls_config"):
        self_job["tls_config"] = dict(settings["self_tls_config"])
    jobs.append(("prometheus_listen_address", self_job))
    node_hosts = [h for h in hosts if h.get("in_node_groups")]
    node = node_targets(node_hosts)
    if node:
        jobs.append(("node_exporter_listen_address", {"job_name": NODE_JOB, "static_configs": node}))
    service_hosts = [h for h in hosts if h.get("in_scrape_groups")]
    for (service, path, scheme), static in sorted(service_targets(service_hosts).items()):
        jobs.append(("monitoring_scrape_targets",
                     {"job_name": service, "metrics_path": path, "scheme": scheme, "static_configs": static}))
    for job, targets in sorted((settings.get("file_sd_targets") or {}).items()):
        jobs.append(("prometheus_file_sd_targets",
                     {"job_name": job, "file_sd_configs": [{"files": ["%s/%s.yml" % (settings["file_sd_dir"], job)],
                                                            "refresh_interval": "1m"}]}))
    for job in settings.get("ec2_sd_jobs") or []:
        jobs.append(("prometheus_ec2_sd_jobs", _ec2_job(job)))
    # Probes of the inventory through the blackbox exporters (module_utils/blackbox_config.py).
    jobs.extend(blackbox_config.probe_jobs(settings.get("blackbox_probes")))
    for job in settings.get("extra_scrape_configs") or []:
        jobs.append(("prometheus_extra_scrape_configs", plain_copy(job)))
    for _variable, job in jobs:
        relabel = _metric_relabel(filters, job["job_name"])
        if relabel:
            job["metric_relabel_configs"] = list(job.get("metric_relabel_configs") or []) + relabel
    return jobs


def config_problems(settings, hosts):
    """Every problem with the settings and the inventory, each naming the variable to fix."""
    problems = (settings_problems(settings) + version_problems(settings)
                + target_problems([h for h in hosts if h.get("in_scrape_groups")], utf8_names(settings)))
    problems += blackbox_config.probe_problems(settings.get("blackbox_probes"))
    replica = settings.get("ha") or {}
    problems += ha.replica_label_problems(replica.get("replica_label"), "cluster", settings.get("external_labels"),
                                          [h for h in hosts if h.get("in_scrape_groups")], settings.get("file_sd_targets"))
    problems += list(replica.get("problems") or [])
    problems += remote_storage.problems(settings.get("remote_write"), settings.get("amp_remote_write"),
                                        replica.get("replica_label"))
    if problems:
        return problems
    names = [(variable, job["job_name"]) for variable, job in scrape_jobs(settings, hosts)]
    return job_name_problems(names)


def _global_version_settings(settings):
    version = settings.get("version") or ""
    out = {}
    if settings.get("metric_name_validation_scheme") and pv.is_v3(version):
        out["metric_name_validation_scheme"] = settings["metric_name_validation_scheme"]
    if _is_on(settings, "always_scrape_classic_histograms") and pv.is_v3(version):
        out["always_scrape_classic_histograms"] = True
    if _is_on(settings, "native_histograms") and pv.at_least(version, pv.NATIVE_HISTOGRAMS_SETTING_SINCE):
        out["scrape_native_histograms"] = True
    return out


def _job_version_settings(settings):
    """Per scrape job (where the version has no global setting); a job's own value wins."""
    version = settings.get("version") or ""
    out = {}
    if settings.get("fallback_scrape_protocol") and pv.is_v3(version):
        out["fallback_scrape_protocol"] = settings["fallback_scrape_protocol"]
    if _is_on(settings, "always_scrape_classic_histograms") and not pv.is_v3(version):
        out["scrape_classic_histograms"] = True
    return out


def build_config(settings, hosts):
    """The prometheus.yml data.

    settings keys: scrape_interval, scrape_timeout, evaluation_interval, external_labels,
    rule_files, alertmanagers (host:port list), alertmanager_path_prefix, self_address,
    self_scheme, self_instance, self_basic_auth, self_tls_config, environment, file_sd_targets,
    file_sd_dir, ec2_sd_jobs, extra_scrape_configs, metric_filters, remote_write (entries may
    carry a ``kind``: module_utils/remote_storage.py), amp_remote_write, ha ({replica_label,
    replica} of an HA pair's replica); and what depends on the Prometheus version: version,
    agent_mode (no rule_files, no alerting), metric_name_validation_scheme, fallback_scrape_protocol,
    always_scrape_classic_histograms, native_histograms. External labels are escaped for the
    version (a literal ``$`` is ``$$`` on 3.x); remote write entries get ``enable_http2: false``
    (3.x's default) unless they set it.
    hosts: [{name, address, environment, service, scrape_targets, node_exporter_listen_address,
    alertmanager_listen_address, in_scrape_groups, in_node_groups, in_alertmanager_groups}].
    """
    config = {
        "global": {
            "scrape_interval": settings["scrape_interval"],
            "scrape_timeout": settings["scrape_timeout"],
            "evaluation_interval": settings["evaluation_interval"],
        },
    }
    version = settings.get("version") or ""
    agent = _is_on(settings, "agent_mode")
    labels = {str(k): str(v) for k, v in (settings.get("external_labels") or {}).items() if v not in (None, "")}
    replica = settings.get("ha") or {}
    if replica.get("replica_label"):
        # A replica of an HA pair: its series carry the replica label (the store de-duplicates on
        # it with the cluster label); its alerts do not, so Alertmanager merges both replicas'.
        labels[replica["replica_label"]] = replica["replica"]
    if labels:
        config["global"]["external_labels"] = pv.escape_external_labels(labels, version)
    config["global"].update(_global_version_settings(settings))
    if settings.get("rule_files") and not agent:
        config["rule_files"] = list(settings["rule_files"])
    managers = alertmanager_targets([h for h in hosts if h.get("in_alertmanager_groups")],
                                    settings.get("alertmanagers"))
    if managers and not agent:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": managers}],
                                                 "api_version": "v2"}]}
        if replica.get("replica_label"):
            config["alerting"]["alert_relabel_configs"] = ha.alert_relabel_configs(replica["replica_label"])
    config["scrape_configs"] = [job for _variable, job in scrape_jobs(settings, hosts)]
    for job in config["scrape_configs"]:
        job.update({k: v for k, v in _job_version_settings(settings).items() if k not in job})
    # Entries with a kind (amp, mimir, thanos_receive, victoriametrics) are rendered for their
    # store, the replica label dropped for VictoriaMetrics (module_utils/remote_storage.py).
    remote = remote_storage.entries(settings.get("remote_write"), settings.get("amp_remote_write"),
                                    replica.get("replica_label"))
    for entry in remote:
        # 3.x's default, rendered on every version: an upgrade does not change the transport.
        entry.setdefault("enable_http2", False)
    if remote:
        config["remote_write"] = remote
    return config


def file_sd_files(file_sd_targets):
    """{job: file content data}: each file is a list of {targets, labels}."""
    out = {}
    for job, groups in sorted((file_sd_targets or {}).items()):
        out[job] = [{"targets": list(g["targets"]), "labels": {str(k): str(v) for k, v in (g.get("labels") or {}).items()}}
                    for g in groups or []]
    return out


# ---------------------------------------------------------------------------------------------
# Rule packs


def _extra_rule_problems(item, rule, expr_error):
    if not isinstance(rule, dict):
        return ["%s: a rule is a mapping {alert or record, expr, ...}, got %r" % (item, rule)]
    name = rule.get("alert") or rule.get("record")
    if not name:
        return ["%s: needs alert or record" % item]
    item = "%s (%s)" % (item, name)
    expr = rule.get("expr")
    if expr in (None, ""):
        return ["%s: needs expr" % item]
    problems = []
    error = expr_error(str(expr)) if expr_error else None
    if error:
        problems.append("%s: invalid PromQL in expr: %s" % (item, error))
    if "for" in rule and not is_duration(rule["for"]):
        problems.append("%s: for: %r is not a duration" % (item, rule["for"]))
    return problems


def rule_problems(available, selected, for_overrides, extra_rules, pack_alerts, expr_error=None):
    """available: pack names; pack_alerts: {pack: [alert names]} of the selected known packs.

    ``expr_error(expr)`` returns why a PromQL expression does not parse (None when it does); the
    filter plugin passes a real parser, so that bad extra rules fail in preflight, not at write.
    """
    problems = []
    if not isinstance(selected, list):
        return ["prometheus_rule_packs: must be a list of pack names (%s)" % ", ".join(sorted(available))]
    for name in selected:
        if name not in available:
            problems.append("prometheus_rule_packs: unknown rule pack %r (available: %s)" % (name, ", ".join(sorted(available))))
    alerts = set()
    for names in pack_alerts.values():
        alerts.update(names)
    if not isinstance(extra_rules, list):
        problems.append("prometheus_extra_rules: must be a list of rule groups ({name, rules})")
        extra_rules = []
    for index, group in enumerate(extra_rules):
        if not isinstance(group, dict) or not group.get("name") or not isinstance(group.get("rules"), list):
            problems.append("prometheus_extra_rules[%d]: a rule group needs name and a list of rules" % index)
            continue
        for rule_index, rule in enumerate(group["rules"]):
            problems.extend(_extra_rule_problems("prometheus_extra_rules[%d].rules[%d]" % (index, rule_index),
                                                 rule, expr_error))
            if isinstance(rule, dict) and rule.get("alert"):
                alerts.add(rule["alert"])
    for alert, duration in sorted((for_overrides or {}).items()):
        if alert not in alerts:
            problems.append("prometheus_rule_for_overrides: no selected rule has the alert %r" % alert)
        if not is_duration(duration):
            problems.append("prometheus_rule_for_overrides.%s: %r is not a duration" % (alert, duration))
    return problems


def rule_file(packs, selected, for_overrides=None, extra_rules=None):
    """One rule file: the groups of the selected packs in order, then the extra groups.

    packs: {name: parsed rule file}. ``for_overrides`` ({alert: duration}) replaces ``for:``.
    """
    groups = []
    for name in selected:
        groups.extend(plain_copy(packs[name].get("groups") or []))
    groups.extend(plain_copy(extra_rules or []))
    overrides = for_overrides or {}
    for group in groups:
        for rule in group.get("rules") or []:
            if rule.get("alert") in overrides:
                rule["for"] = str(overrides[rule["alert"]])
    return {"groups": groups}


# ---------------------------------------------------------------------------------------------
# Web config (basic auth, TLS)


def bcrypt_parts(hashed):
    """'$2b$12$<22 salt><31 hash>' -> (ident, rounds, salt) or None."""
    match = re.match(r"^\$(2[abxy]?)\$([0-9]{2})\$([./A-Za-z0-9]{22})[./A-Za-z0-9]{31}$", str(hashed or ""))
    if not match:
        return None
    return match.group(1), int(match.group(2)), match.group(3)


def web_users(users, existing, hasher, verifier):
    """{name: bcrypt hash} for the web config.

    A pre-hashed ``password_hash`` is used as is. For a plain ``password``, the hash already in
    the host's web config is kept when it still verifies (so the file stays the same across
    runs); otherwise ``hasher(password)`` makes a new one.
    """
    out = {}
    for user in users or []:
        name = user["name"]
        if user.get("password_hash"):
            out[name] = user["password_hash"]
            continue
        old = (existing or {}).get(name)
        if old and bcrypt_parts(old) and verifier(user["password"], old):
            out[name] = old
        else:
            out[name] = hasher(user["password"])
    return out


def web_config(users_hashed, tls=None):
    config = {}
    if tls:
        config["tls_server_config"] = {k: v for k, v in tls.items() if v not in (None, "")}
    if users_hashed:
        config["basic_auth_users"] = dict(sorted(users_hashed.items()))
    return config
