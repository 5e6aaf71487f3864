# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ADOT collector config model: build one config per ECS service, validate it, render it.

Pure functions with no Ansible imports: the ``otel_config`` module and the doctor call them, and
unit tests call them directly.

- ``build_config(spec)`` turns a few per-service values into the collector config of the
  ECS/ADOT field guide (seed 000, section 3.2): OTLP + Prometheus scrape of the app + ECS
  container metrics -> memory_limiter, resourcedetection (env, ecs), resource, metricstransform,
  batch -> Amazon Managed Prometheus (SigV4) and, optionally, traces to X-Ray.
- ``validate_config(config)`` returns every problem as its own message; an empty list means
  the config passed. The rules encode the guide's troubleshooting table (metrics dropped by the
  keep regex, collector self-scrape, "out of order sample", hard-coded environments).
- ``render_yaml(config)`` writes the config with a stable key order, so that the same input
  always gives byte-identical output (and the same SHA-256).
"""

from __future__ import annotations

import hashlib
import json
import re

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

from ansible_collections.monitoring.stack.plugins.module_utils.common import go_duration_seconds, plain_copy
from ansible_collections.monitoring.stack.plugins.module_utils.common import prometheus_duration_seconds
from ansible_collections.monitoring.stack.plugins.module_utils import relabel

# aws-observability/aws-otel-collector v0.49.0 (built on opentelemetry-collector v0.156.0),
# from pkg/defaultcomponents/defaults.go. Update the version with the data.
ADOT_VERSION = "v0.49.0"
ADOT_COMPONENTS = {
    "extensions": frozenset([
        "awsproxy", "ecs_observer", "health_check", "pprof", "sigv4auth", "zpages", "file_storage",
    ]),
    "receivers": frozenset([
        "awsecscontainermetrics", "awscontainerinsightreceiver", "awsxray", "statsd", "prometheus",
        "kafka", "jaeger", "zipkin", "otlp", "filelog",
    ]),
    "processors": frozenset([
        "groupbytrace", "tail_sampling", "attributes", "resource", "probabilistic_sampler", "span",
        "filter", "metricstransform", "resourcedetection", "metricsgeneration", "cumulativetodelta",
        "deltatorate", "batch", "memory_limiter", "k8sattributes",
    ]),
    "exporters": frozenset([
        "awsemf", "prometheusremotewrite", "prometheus", "file", "kafka", "debug", "otlp", "otlphttp",
        "awsxray", "loadbalancing", "awscloudwatchlogs",
    ]),
    "connectors": frozenset(),
}
# Known replacements for component types that are not (or no longer) in ADOT.
_REPLACEMENTS = {
    ("exporters", "logging"): "the logging exporter was removed: use 'debug'",
    ("exporters", "datadog"): "datadog is behind a deprecation gate and announced for removal",
    ("exporters", "logzio"): "logzio is behind a deprecation gate and announced for removal",
    ("exporters", "signalfx"): "signalfx is behind a deprecation gate and announced for removal",
    ("receivers", "hostmetrics"): "hostmetrics is not in ADOT: use awsecscontainermetrics on ECS",
}

KINDS = ("extensions", "receivers", "processors", "exporters", "connectors")
PIPELINE_KINDS = ("receivers", "processors", "exporters")
SIGNALS = ("metrics", "traces", "logs")

# The keep regex of seed 000 section 3.4: Spring Boot / Micrometer metrics kept by default.
DEFAULT_KEEP_PREFIXES = (
    "http_", "jvm_", "process_", "system_", "application_", "business_", "spring_", "hikaricp_",
)
# Words that must not appear literally in resource attributes: one config serves every
# environment, the environment comes from ${env:ENVIRONMENT} (seed 000 section 8 and 10.1).
ENVIRONMENT_WORDS = frozenset([
    "prod", "production", "prd", "stage", "staging", "stg", "dev", "develop", "development",
    "loadtest", "load-test", "perf", "qa", "uat", "sandbox",
])
_ENVIRONMENT_KEYS = frozenset(["environment", "env", "deployment.environment", "cluster_name", "cluster"])
COLLECTOR_SELF_PORT = "8888"

DEFAULT_SPEC = {
    "project": None,
    "service": None,
    "service_name": None,          # resource attribute service_name; default: service
    "job_name": None,              # default: <project>-<service>-metrics
    "app_port": 8080,
    "app_host": "localhost",
    "metrics_path": "/actuator/prometheus",
    "scrape_interval": "30s",
    "scrape_timeout": "10s",
    "custom_metric_prefixes": [],
    "keep_default_prefixes": True,
    "amp_endpoint": "${env:AMP_ENDPOINT}",
    "amp_region": "${env:AWS_REGION}",
    "traces": True,
    # Where the traces pipeline sends spans: X-Ray (awsxray) or Tempo / any OTLP gRPC endpoint (otlp).
    "traces_exporter": "xray",
    "traces_otlp_endpoint": None,  # host:port of the OTLP gRPC receiver (Tempo: 4317)
    "traces_otlp_insecure": False,  # plaintext gRPC (tls.insecure); TLS with the system CAs otherwise
    "traces_otlp_ca_file": None,    # CA bundle in the collector container for Tempo's certificate
    "ecs_container_metrics": True,
    "memory_limit_mib": 410,
    "memory_spike_limit_mib": 128,
}

XRAY_INDEXED_ATTRIBUTES = [
    "http.method", "http.status_code", "http.route", "rpc.service", "rpc.method", "db.system", "db.name",
]

_SUBSTITUTION = re.compile(r"\$\{(?:env:)?[A-Za-z_][A-Za-z0-9_]*\}")
_BARE_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class SpecError(ValueError):
    """A spec value that cannot build a config (the message names the option)."""


def normalize_prefix(prefix):
    """'crawlinghub' / 'crawlinghub_' / 'crawlinghub_.*' -> 'crawlinghub_'."""
    value = str(prefix).strip()
    if value.endswith(".*"):
        value = value[:-2]
    if value and not value.endswith("_"):
        value += "_"
    return value


def project_prefix(project):
    """The metric prefix of a project's custom metrics: 'crawling-hub' -> 'crawling_hub_'."""
    return normalize_prefix(re.sub(r"[^A-Za-z0-9_]", "_", str(project)))


def keep_prefixes(spec):
    """The metric name prefixes a service's keep regex holds, in order, without duplicates."""
    prefixes = list(DEFAULT_KEEP_PREFIXES) if spec.get("keep_default_prefixes", True) else []
    prefixes.append(project_prefix(spec["project"]))
    prefixes.extend(normalize_prefix(p) for p in spec.get("custom_metric_prefixes") or [])
    seen = []
    for prefix in prefixes:
        if prefix and prefix not in seen:
            seen.append(prefix)
    return seen


def keep_regex(prefixes):
    return "(" + "|".join(re.escape(p).replace("\\_", "_") + ".*" for p in prefixes) + ")"


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
_URL = re.compile(r"^https?://[^/\s:]+(:[0-9]+)?(/\S*)?$")


def is_region_shape(value):
    """``eu-west-1``, ``us-gov-west-1``, ``ap-northeast-2``: the shape of an AWS region name."""
    return isinstance(value, str) and _REGION.match(value) is not None


def _int_or_none(value):
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def spec_problems(spec):
    """Every problem with the build options of ``spec`` (merged over DEFAULT_SPEC), each naming its option."""
    s = dict(DEFAULT_SPEC)
    s.update({k: v for k, v in (spec or {}).items() if v is not None})
    problems = []
    for key in ("project", "service"):
        value = str(s.get(key) or "").strip()
        if not value:
            problems.append("%s: required to build an ADOT collector config" % key)
        elif not _NAME.match(str(s[key])):
            problems.append("%s: %r may hold only letters, digits, '-', '_' and '.' (it names the scrape job and the "
                            "S3 key)" % (key, s[key]))
    if s.get("job_name") is not None and not _NAME.match(str(s["job_name"])):
        problems.append("job_name: %r may hold only letters, digits, '-', '_' and '.'" % (s["job_name"],))
    for prefix in s.get("custom_metric_prefixes") or []:
        if not re.match(r"^[A-Za-z_:][A-Za-z0-9_:]*(_|_\.\*)?$", str(prefix)):
            problems.append("custom_metric_prefixes: %r is not a metric name prefix (e.g. scheduler_job_)" % (prefix,))
    port = _int_or_none(s["app_port"])
    if port is None:
        problems.append("app_port: must be a port number, got %r" % (s["app_port"],))
    elif not 0 < port < 65536:
        problems.append("app_port: must be between 1 and 65535, got %d" % port)
    if not str(s["app_host"]).strip() or re.search(r"\s", str(s["app_host"])):
        problems.append("app_host: %r is not a host name" % (s["app_host"],))
    if not str(s["metrics_path"]).startswith("/"):
        problems.append("metrics_path: must start with '/', got %r" % (s["metrics_path"],))
    # The interval feeds the Prometheus receiver (Prometheus grammar) and awsecscontainermetrics (Go grammar).
    interval = prometheus_duration_seconds(s["scrape_interval"])
    if interval is None or not interval > 0 or go_duration_seconds(s["scrape_interval"]) is None:
        problems.append("scrape_interval: %r is not a duration such as 30s, 1m or 1m30s" % (s["scrape_interval"],))
        interval = None
    timeout = prometheus_duration_seconds(s["scrape_timeout"])
    if timeout is None or not timeout > 0:
        problems.append("scrape_timeout: %r is not a duration such as 10s" % (s["scrape_timeout"],))
    elif interval is not None and timeout > interval:
        problems.append("scrape_timeout: %s is longer than scrape_interval %s (Prometheus refuses it)"
                        % (s["scrape_timeout"], s["scrape_interval"]))
    limit, spike = _int_or_none(s["memory_limit_mib"]), _int_or_none(s["memory_spike_limit_mib"])
    if limit is None or limit <= 0:
        problems.append("memory_limit_mib: must be a positive number of MiB, got %r" % (s["memory_limit_mib"],))
    if spike is None or spike < 0:
        problems.append("memory_spike_limit_mib: must be zero or a positive number of MiB, got %r"
                        % (s["memory_spike_limit_mib"],))
    elif limit is not None and limit > 0 and spike >= limit:
        problems.append("memory_spike_limit_mib: %d must be below memory_limit_mib %d (the memory_limiter refuses it)"
                        % (spike, limit))
    endpoint = str(s["amp_endpoint"] if s["amp_endpoint"] is not None else "")
    # A value with '$' is a substitution: the substitution rule of validate_config() checks it.
    if "$" not in endpoint and not _URL.match(endpoint):
        problems.append("amp_endpoint: %r is neither an https:// URL (the workspace's remote_write_url) nor a "
                        "substitution such as ${env:AMP_ENDPOINT}" % (s["amp_endpoint"],))
    region = s["amp_region"]
    if not (isinstance(region, str) and ("$" in region or is_region_shape(region))):
        problems.append("amp_region: %r is not an AWS region (e.g. eu-west-1) nor a substitution such as "
                        "${env:AWS_REGION}" % (region,))
    problems.extend(_traces_exporter_problems(s))
    return problems


TRACES_EXPORTERS = ("xray", "otlp")
_GRPC_TARGET = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+|\$\{(?:env:)?[A-Za-z_][A-Za-z0-9_]*\}):"
                          r"([0-9]{1,5}|\$\{(?:env:)?[A-Za-z_][A-Za-z0-9_]*\})$")


def _traces_exporter_problems(s):
    kind = s.get("traces_exporter")
    if kind not in TRACES_EXPORTERS:
        return ["traces_exporter: must be xray or otlp, got %r" % (kind,)]
    if kind != "otlp":
        return []
    endpoint = s.get("traces_otlp_endpoint")
    if not endpoint:
        return ["traces_otlp_endpoint: required with traces_exporter otlp (host:port of Tempo's OTLP gRPC receiver, "
                "e.g. tempo.internal:4317)"]
    if not _GRPC_TARGET.match(str(endpoint)):
        return ["traces_otlp_endpoint: must be host:port (gRPC), got %r" % (endpoint,)]
    if s.get("traces_otlp_insecure") and s.get("traces_otlp_ca_file"):
        return ["traces_otlp_ca_file: a CA file needs TLS (traces_otlp_insecure false)"]
    return []


def traces_exporter(s):
    """(exporter id, its config) of the traces pipeline for merged spec ``s``."""
    if s["traces_exporter"] == "otlp":
        tls = {"insecure": bool(s["traces_otlp_insecure"])}
        if s.get("traces_otlp_ca_file"):
            tls["ca_file"] = s["traces_otlp_ca_file"]
        return "otlp", {"endpoint": s["traces_otlp_endpoint"], "tls": tls}
    return "awsxray", {"region": s["amp_region"], "indexed_attributes": list(XRAY_INDEXED_ATTRIBUTES)}


def _spec(spec):
    problems = spec_problems(spec)
    if problems:
        raise SpecError("; ".join(problems))
    merged = dict(DEFAULT_SPEC)
    merged.update({k: v for k, v in (spec or {}).items() if v is not None})
    merged["app_port"] = int(merged["app_port"])
    return merged


def build_config(spec):
    """The ADOT collector config (a dict) for one service, from a few values (see DEFAULT_SPEC)."""
    s = _spec(spec)
    job_name = s["job_name"] or "%s-%s-metrics" % (s["project"], s["service"])
    service_name = s["service_name"] or s["service"]

    receivers = {
        "otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}},
        "prometheus": {"config": {
            "global": {"scrape_interval": s["scrape_interval"], "scrape_timeout": s["scrape_timeout"]},
            "scrape_configs": [{
                "job_name": job_name,
                "scrape_interval": s["scrape_interval"],
                "static_configs": [{"targets": ["%s:%d" % (s["app_host"], s["app_port"])]}],
                "metrics_path": s["metrics_path"],
                "metric_relabel_configs": [{
                    "source_labels": ["__name__"],
                    "regex": keep_regex(keep_prefixes(s)),
                    "action": "keep",
                }],
            }],
        }},
    }
    if s["ecs_container_metrics"]:
        receivers["awsecscontainermetrics"] = {"collection_interval": s["scrape_interval"]}

    processors = {
        "batch": {"timeout": "60s", "send_batch_size": 1000},
        "memory_limiter": {"check_interval": "5s", "limit_mib": int(s["memory_limit_mib"]),
                           "spike_limit_mib": int(s["memory_spike_limit_mib"])},
        "resourcedetection": {
            "detectors": ["env", "ecs"],
            "timeout": "5s",
            "override": True,
            "ecs": {"resource_attributes": {
                "aws.ecs.task.arn": {"enabled": True},
                "aws.ecs.cluster.arn": {"enabled": True},
                "aws.ecs.task.id": {"enabled": True},
                "cloud.availability_zone": {"enabled": True},
            }},
        },
        "resource": {"attributes": [
            {"key": "environment", "value": "${env:ENVIRONMENT}", "action": "upsert"},
            {"key": "cluster_name", "value": "${env:CLUSTER_NAME}", "action": "upsert"},
            {"key": "service_name", "value": service_name, "action": "upsert"},
        ]},
        "metricstransform": {"transforms": [{
            "include": ".*",
            "match_type": "regexp",
            "action": "update",
            "operations": [{"action": "add_label", "new_label": "platform", "new_value": "ecs"}],
        }]},
    }

    exporters = {
        "prometheusremotewrite": {
            "endpoint": s["amp_endpoint"],
            "auth": {"authenticator": "sigv4auth"},
            "resource_to_telemetry_conversion": {"enabled": True},
            "retry_on_failure": {"enabled": True, "initial_interval": "5s", "max_interval": "30s",
                                 "max_elapsed_time": "300s"},
        },
    }
    if s["traces"]:
        trace_exporter, trace_exporter_config = traces_exporter(s)
        exporters[trace_exporter] = trace_exporter_config

    metric_receivers = ["otlp", "prometheus"] + (["awsecscontainermetrics"] if s["ecs_container_metrics"] else [])
    pipelines = {"metrics": {
        "receivers": metric_receivers,
        "processors": ["memory_limiter", "resourcedetection", "resource", "metricstransform", "batch"],
        "exporters": ["prometheusremotewrite"],
    }}
    if s["traces"]:
        pipelines["traces"] = {
            "receivers": ["otlp"],
            "processors": ["memory_limiter", "resourcedetection", "resource", "batch"],
            "exporters": [trace_exporter],
        }

    return {
        "receivers": receivers,
        "processors": processors,
        "exporters": exporters,
        "extensions": {
            "sigv4auth": {"region": s["amp_region"], "service": "aps"},
            "health_check": {"endpoint": ":13133"},
        },
        "service": {
            "extensions": ["sigv4auth", "health_check"],
            "telemetry": {"logs": {"level": "warn", "encoding": "json"}, "metrics": {"level": "detailed"}},
            "pipelines": pipelines,
        },
    }


def required_prefixes_for(spec):
    """The prefixes ``validate_config`` must find kept for a spec: project and custom ones."""
    s = dict(DEFAULT_SPEC)
    s.update({k: v for k, v in (spec or {}).items() if v is not None})
    return [project_prefix(s["project"])] + [normalize_prefix(p) for p in s.get("custom_metric_prefixes") or []]


# --------------------------------------------------------------------------------------------
# validation


def component_type(component_id):
    """'prometheus/app' -> 'prometheus'."""
    return str(component_id).split("/", 1)[0]


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _structure_problems(config):
    problems = []
    for kind in KINDS:
        section = config.get(kind)
        if section is not None and not isinstance(section, dict):
            problems.append("%s: must be a mapping of component id to settings, got %s" % (kind, type(section).__name__))
    service = config.get("service")
    if not isinstance(service, dict):
        problems.append("service: missing (the collector needs service.pipelines)")
        return problems
    pipelines = service.get("pipelines")
    if not isinstance(pipelines, dict) or not pipelines:
        problems.append("service.pipelines: missing or empty (the collector needs at least one pipeline)")
    return problems


def _sections(config):
    return {kind: (config.get(kind) if isinstance(config.get(kind), dict) else {}) for kind in KINDS}


def _pipelines(config):
    service = config.get("service") if isinstance(config.get("service"), dict) else {}
    pipelines = service.get("pipelines")
    return pipelines if isinstance(pipelines, dict) else {}


def _reference_problems(config):
    problems = []
    sections = _sections(config)
    used = {kind: set() for kind in KINDS}
    for pipeline_id, pipeline in sorted(_pipelines(config).items()):
        signal = component_type(pipeline_id)
        if signal not in SIGNALS:
            problems.append("service.pipelines.%s: unknown signal %r (use metrics, traces or logs)" % (pipeline_id, signal))
        if not isinstance(pipeline, dict):
            problems.append("service.pipelines.%s: must be a mapping with receivers, processors, exporters" % pipeline_id)
            continue
        for kind in PIPELINE_KINDS:
            names = _as_list(pipeline.get(kind))
            if kind != "processors" and not names:
                problems.append("service.pipelines.%s: no %s (a pipeline needs at least one)" % (pipeline_id, kind))
            for name in names:
                used[kind].add(name)
                if name not in sections[kind]:
                    problems.append("service.pipelines.%s names %s %r, which is not defined under %s"
                                    % (pipeline_id, kind[:-1], name, kind))
    service = config.get("service") if isinstance(config.get("service"), dict) else {}
    for name in _as_list(service.get("extensions")):
        used["extensions"].add(name)
        if name not in sections["extensions"]:
            problems.append("service.extensions names extension %r, which is not defined under extensions" % name)
    for kind in KINDS:
        for name in sorted(sections[kind]):
            if name not in used[kind]:
                where = "service.extensions" if kind == "extensions" else "any pipeline"
                problems.append("%s.%s: defined but not used by %s (remove it or add it)" % (kind, name, where))
    return problems


def _type_problems(config):
    problems = []
    for kind, section in _sections(config).items():
        known = ADOT_COMPONENTS[kind]
        for name in sorted(section):
            ctype = component_type(name)
            if ctype in known:
                continue
            if kind == "connectors":
                problems.append("connectors.%s: the ADOT collector %s ships no connectors" % (name, ADOT_VERSION))
                continue
            hint = _REPLACEMENTS.get((kind, ctype))
            problems.append("%s.%s: unknown %s type %r for the ADOT collector %s%s (it ships: %s)" % (
                kind, name, kind[:-1], ctype, ADOT_VERSION, "; " + hint if hint else "", ", ".join(sorted(known))))
    return problems


def _walk_strings(value, path):
    if isinstance(value, dict):
        for key in value:
            yield from _walk_strings(value[key], "%s.%s" % (path, key) if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk_strings(item, "%s[%d]" % (path, index))
    elif isinstance(value, str):
        yield path, value


def substitution_problems_in(path, text):
    """Problems with `$` in one string: only ${VAR}, ${env:VAR} and $$ are allowed."""
    problems = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            i += 1
            continue
        if text.startswith("$$", i):
            i += 2
            continue
        match = _SUBSTITUTION.match(text, i)
        if match:
            i = match.end()
            continue
        bare = _BARE_VAR.match(text, i)
        if bare:
            problems.append("%s: bare $%s is not expanded by the ADOT collector: write ${env:%s} (or $$ for a literal $)"
                            % (path, bare.group(1), bare.group(1)))
        elif text.startswith("${", i):
            end = text.find("}", i)
            problems.append("%s: %r is not a substitution the ADOT collector expands: use ${VAR} or ${env:VAR}"
                            % (path, text[i:end + 1] if end > 0 else text[i:]))
        else:
            problems.append("%s: a lone '$' in %r: the ADOT collector reads '$' as the start of a substitution; "
                            "write $$ for a literal $ (e.g. $$1 in relabel replacements)" % (path, text))
        i += 1
    return problems


def _substitution_problems(config):
    problems = []
    for path, text in _walk_strings(config, ""):
        problems.extend(substitution_problems_in(path, text))
    return problems


def _prometheus_receivers(config):
    """(id, receiver) of every defined prometheus receiver."""
    receivers = _sections(config)["receivers"]
    out = []
    for name in sorted(receivers):
        if component_type(name) == "prometheus" and isinstance(receivers[name], dict):
            out.append((name, receivers[name]))
    return out


def _scrape_configs(receiver):
    cfg = receiver.get("config") if isinstance(receiver.get("config"), dict) else {}
    jobs = cfg.get("scrape_configs")
    return [job for job in _as_list(jobs) if isinstance(job, dict)]


def sample_metric_name(prefix):
    """A metric name that starts with ``prefix``, to test regexes by matching, not by substring."""
    return normalize_prefix(prefix) + "sample_total"


def _dollar_unescape(text):
    return text.replace("$$", "$")


def relabel_keeps(rules, name):
    """(kept, index of the rule that dropped or renamed it) for a series named ``name`` after a
    job's metric_relabel_configs, evaluated as Prometheus does (module_utils/relabel.py); ``$$``
    is unescaped as the collector's config loader does. Raises re.error for a regex Prometheus
    refuses; another refused rule (or one that cannot be evaluated here) claims no drop."""
    try:
        compiled = relabel.compile_rules([r for r in rules if isinstance(r, dict)], dollar_escaped=True)
    except relabel.InvalidRegex as exc:
        raise re.error(str(exc))
    except relabel.RelabelError:
        return True, None
    series = {"__name__": name}
    for index, rule in enumerate(compiled):
        series = rule.apply(series)
        if series is None or series.get("__name__") != name:
            return False, index
    return True, None


def _keep_problems(config, prefixes):
    problems = []
    for receiver_id, receiver in _prometheus_receivers(config):
        for job_index, job in enumerate(_scrape_configs(receiver)):
            job_name = job.get("job_name", "#%d" % job_index)
            rules = _as_list(job.get("metric_relabel_configs"))
            bad_regex = False
            for index, rule in enumerate(rules):
                if isinstance(rule, dict) and "regex" in rule:
                    # RE2, as the collector's Prometheus receiver compiles it, not Python's re.
                    try:
                        relabel.go_regex(_dollar_unescape(str(rule["regex"])))
                    except relabel.InvalidRegex as exc:
                        bad_regex = True
                        problems.append("receivers.%s scrape job %r: metric_relabel_configs[%d]: %s"
                                        % (receiver_id, job_name, index, exc))
                    except relabel.Unsupported:
                        pass   # relabel_keeps claims no drop for what it cannot evaluate
            if bad_regex:
                continue
            for prefix in prefixes:
                name = sample_metric_name(prefix)
                kept, index = relabel_keeps(rules, name)
                if not kept:
                    rule = rules[index]
                    problems.append(
                        "receivers.%s scrape job %r: metric_relabel_configs[%d] (%s regex %r) drops metrics with "
                        "prefix %r (e.g. %s): add '%s.*' to the keep regex, or Grafana shows \"No data\" for them"
                        % (receiver_id, job_name, index, rule.get("action"), rule.get("regex"), prefix, name, prefix))
    problems.extend(_filter_processor_problems(config, prefixes))
    return problems


def name_matches(match_type, patterns, name):
    """Whether a filter processor's ``metric_names`` match ``name``: ``strict`` (equal) or
    ``regexp`` (Go RE2, unanchored, as the collector's filterset matches)."""
    for pattern in patterns:
        pattern = _dollar_unescape(str(pattern))
        if match_type == "regexp":
            try:
                if relabel.go_regex(pattern, anchored=False).search(name):
                    return True
            except relabel.RelabelError:
                return True  # reported elsewhere would be noise; do not claim a drop
        elif pattern == name:
            return True
    return False


def _filter_processor_problems(config, prefixes):
    """The filter processor's metrics include/exclude (match_type regexp|strict) must keep prefixes."""
    problems = []
    processors = _sections(config)["processors"]
    used = set()
    for pipeline_id, pipeline in _pipelines(config).items():
        if component_type(pipeline_id) == "metrics" and isinstance(pipeline, dict):
            used.update(_as_list(pipeline.get("processors")))
    for name in sorted(used):
        proc = processors.get(name)
        if component_type(name) != "filter" or not isinstance(proc, dict):
            continue
        metrics = proc.get("metrics") if isinstance(proc.get("metrics"), dict) else {}
        for prefix in prefixes:
            sample = sample_metric_name(prefix)
            include = metrics.get("include") if isinstance(metrics.get("include"), dict) else None
            exclude = metrics.get("exclude") if isinstance(metrics.get("exclude"), dict) else None
            if include is not None and not name_matches(include.get("match_type", "strict"),
                                                        _as_list(include.get("metric_names")), sample):
                problems.append("processors.%s: metrics.include does not match prefix %r (e.g. %s): add '%s.*', "
                                "or Grafana shows \"No data\" for them" % (name, prefix, sample, prefix))
            if exclude is not None and name_matches(exclude.get("match_type", "strict"),
                                                    _as_list(exclude.get("metric_names")), sample):
                problems.append("processors.%s: metrics.exclude drops prefix %r (e.g. %s)" % (name, prefix, sample))
    return problems


def _self_scrape_problems(config):
    problems = []
    for receiver_id, receiver in _prometheus_receivers(config):
        for job in _scrape_configs(receiver):
            targets = []
            for static in _as_list(job.get("static_configs")):
                if isinstance(static, dict):
                    targets.extend(str(t) for t in _as_list(static.get("targets")))
            self_targets = [t for t in targets if t.rsplit(":", 1)[-1] == COLLECTOR_SELF_PORT]
            if self_targets:
                problems.append(
                    "receivers.%s scrape job %r scrapes the collector's own metrics (%s): remove the self-scrape job; "
                    "every task sends the same series and they collide in AMP (use awsecscontainermetrics instead)"
                    % (receiver_id, job.get("job_name"), ", ".join(self_targets)))
    return problems


def _ecs_problems(config):
    """Scraping on ECS needs resourcedetection with the ecs detector in each metrics pipeline."""
    problems = []
    processors = _sections(config)["processors"]
    for pipeline_id, pipeline in sorted(_pipelines(config).items()):
        if component_type(pipeline_id) != "metrics" or not isinstance(pipeline, dict):
            continue
        if not any(component_type(r) == "prometheus" for r in _as_list(pipeline.get("receivers"))):
            continue
        detection = [p for p in _as_list(pipeline.get("processors")) if component_type(p) == "resourcedetection"]
        if not detection:
            problems.append(
                "service.pipelines.%s scrapes Prometheus targets on ECS without a resourcedetection processor "
                "(detectors: [env, ecs]): every task sends the same series and AMP rejects them as "
                "\"out of order sample\"" % pipeline_id)
            continue
        for name in detection:
            proc = processors.get(name)
            detectors = _as_list(proc.get("detectors")) if isinstance(proc, dict) else []
            if "ecs" not in detectors:
                problems.append(
                    "processors.%s: detectors %s lack 'ecs': without the ECS task id every task sends the same "
                    "series and AMP rejects them as \"out of order sample\"" % (name, detectors))
    return problems


def _environment_words(value, environments):
    """The environment names ``value`` holds literally (word by word; a substitution holds none)."""
    if not isinstance(value, str) or "$" in value:
        return []
    tokens = set(t.lower() for t in re.split(r"[^A-Za-z0-9]+", value) if t)
    words = sorted(tokens & environments)
    words += sorted(e for e in environments if "-" in e and e in value.lower() and e not in words)
    return words


def _environment_problem(where, key, value, environments):
    words = _environment_words(value, environments)
    if not words and not (str(key).lower() in _ENVIRONMENT_KEYS and isinstance(value, str) and "$" not in value):
        return None
    return ("%s (%s: %r): hard-coded environment%s; one config serves every environment, so take it from ${env:%s}"
            % (where, key, value, " name " + ", ".join(words) if words else "",
               "CLUSTER_NAME" if "cluster" in str(key).lower() else "ENVIRONMENT"))


def _relabel_environment_problems(where, rules, environments):
    problems = []
    for index, rule in enumerate(_as_list(rules)):
        if not isinstance(rule, dict) or "replacement" not in rule:
            continue
        problem = _environment_problem("%s[%d]" % (where, index), rule.get("target_label", "replacement"),
                                       rule["replacement"], environments)
        if problem:
            problems.append(problem)
    return problems


def hardcoded_environment_problems(config, environments=ENVIRONMENT_WORDS):
    """Every place an ADOT collector config names an environment literally, each as a message.

    One config serves every environment (the environment comes from ``${env:ENVIRONMENT}``), so
    a literal environment name (one of ``environments``, compared word by word and case-blind) or
    any literal value of an environment/cluster key is a problem, in: resource and attributes
    processor attributes; scrape job ``static_configs`` labels and the replacements of
    ``relabel_configs``/``metric_relabel_configs``; ``metricstransform`` operations (labels
    added, label values set) and renamed metrics. ``[]`` when there is none.
    """
    environments = frozenset(str(e).lower() for e in environments)
    problems = []
    if not isinstance(config, dict):
        return problems
    processors = _sections(config)["processors"]
    for name in sorted(processors):
        proc = processors[name]
        if not isinstance(proc, dict):
            continue
        if component_type(name) in ("resource", "attributes"):
            for index, attr in enumerate(_as_list(proc.get("attributes"))):
                if isinstance(attr, dict):
                    problem = _environment_problem("processors.%s.attributes[%d]" % (name, index),
                                                   attr.get("key"), attr.get("value"), environments)
                    if problem:
                        problems.append(problem)
        elif component_type(name) == "metricstransform":
            for t_index, transform in enumerate(_as_list(proc.get("transforms"))):
                if not isinstance(transform, dict):
                    continue
                where = "processors.%s.transforms[%d]" % (name, t_index)
                problem = _environment_problem(where, "new_name", transform.get("new_name"), environments)
                if problem:
                    problems.append(problem)
                for o_index, operation in enumerate(_as_list(transform.get("operations"))):
                    if not isinstance(operation, dict):
                        continue
                    op_where = "%s.operations[%d]" % (where, o_index)
                    if "new_value" in operation:
                        problem = _environment_problem(op_where, operation.get("new_label") or operation.get("label"),
                                                       operation["new_value"], environments)
                        if problem:
                            problems.append(problem)
                    for v_index, action in enumerate(_as_list(operation.get("value_actions"))):
                        if isinstance(action, dict):
                            problem = _environment_problem("%s.value_actions[%d]" % (op_where, v_index),
                                                           operation.get("label"), action.get("new_value"), environments)
                            if problem:
                                problems.append(problem)
    for receiver_id, receiver in _prometheus_receivers(config):
        for job_index, job in enumerate(_scrape_configs(receiver)):
            where = "receivers.%s scrape job %r" % (receiver_id, job.get("job_name", "#%d" % job_index))
            for s_index, static in enumerate(_as_list(job.get("static_configs"))):
                labels = static.get("labels") if isinstance(static, dict) else None
                for key, value in sorted((labels or {}).items()) if isinstance(labels, dict) else []:
                    problem = _environment_problem("%s static_configs[%d].labels" % (where, s_index), key, value,
                                                   environments)
                    if problem:
                        problems.append(problem)
            for field in ("relabel_configs", "metric_relabel_configs"):
                problems.extend(_relabel_environment_problems("%s %s" % (where, field), job.get(field), environments))
    return problems


def validate_config(config, *, required_prefixes=(), on_ecs=True, default_prefixes=DEFAULT_KEEP_PREFIXES):
    """Every problem with an ADOT collector config, each its own message ([] when it passes).

    ``required_prefixes``: metric name prefixes (project, custom ones) that must survive the keep
    regex in addition to ``default_prefixes``. ``on_ecs``: the collector runs as an ECS sidecar.
    """
    if not isinstance(config, dict):
        return ["the ADOT collector config must be a mapping, got %s" % type(config).__name__]
    problems = _structure_problems(config)
    problems += _reference_problems(config)
    problems += _type_problems(config)
    problems += _substitution_problems(config)
    prefixes = []
    for prefix in list(default_prefixes or ()) + list(required_prefixes or ()):
        prefix = normalize_prefix(prefix)
        if prefix and prefix not in prefixes:
            prefixes.append(prefix)
    problems += _keep_problems(config, prefixes)
    problems += _self_scrape_problems(config)
    if on_ecs:
        problems += _ecs_problems(config)
    problems += hardcoded_environment_problems(config)
    return problems


# --------------------------------------------------------------------------------------------
# rendering

_TOP_ORDER = ("extensions", "receivers", "processors", "exporters", "connectors", "service")
_SERVICE_ORDER = ("extensions", "telemetry", "pipelines")
_PIPELINE_ORDER = ("receivers", "processors", "exporters")


def _ordered(value, order=None, depth=0, parent=None):
    if isinstance(value, dict):
        keys = list(value)
        if order:
            first = [k for k in order if k in value]
            rest = sorted((k for k in keys if k not in order), key=str)
            keys = first + rest
        else:
            keys = sorted(keys, key=str)
        out = {}
        for key in keys:
            child_order = None
            if depth == 0 and key == "service":
                child_order = _SERVICE_ORDER
            elif parent == "pipelines":
                child_order = _PIPELINE_ORDER
            elif key == "pipelines" and parent == "service":
                child_order = ()
            out[key] = _ordered(value[key], child_order, depth + 1, key)
        return out
    if isinstance(value, (list, tuple)):
        return [_ordered(item, None, depth + 1, parent) for item in value]
    return value


def canonical(config):
    """A deep copy with the render key order: component sections, then service."""
    return _ordered(plain_copy(config), _TOP_ORDER)


if HAS_YAML:
    class _Dumper(yaml.SafeDumper):
        """SafeDumper that keeps dict order and indents lists under their key."""

        def increase_indent(self, flow=False, indentless=False):
            return super().increase_indent(flow, False)

    _Dumper.add_representer(dict, lambda dumper, data: dumper.represent_mapping(
        "tag:yaml.org,2002:map", data.items()))


def render_yaml(config, header=None):
    """The config as YAML with a stable key order (same input -> byte-identical output)."""
    if not HAS_YAML:
        raise RuntimeError("PyYAML is required to render the ADOT collector config")
    body = yaml.dump(canonical(config), Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=4096)
    lines = ["# " + line if line else "#" for line in (header or "").splitlines()]
    return ("\n".join(lines) + "\n" if lines else "") + body


def render_compact(config):
    """One-line JSON (valid YAML) of the config: the value for the AOT_CONFIG_CONTENT variable."""
    return json.dumps(canonical(config), separators=(",", ":"), ensure_ascii=False)


# Keys whose value is a credential (compared case-blind, as substrings of the key), and the
# mappings (HTTP headers) whose every value is treated as one.
SECRET_KEY_PARTS = ("authorization", "password", "passwd", "secret", "token", "api_key", "apikey",
                    "access_key", "private_key", "credential", "cookie")
SECRET_MAPPINGS = frozenset(["headers"])
MASK = "********"
_SUBSTITUTIONS = re.compile(r"\$\{(?:env:)?[A-Za-z_][A-Za-z0-9_]*\}")
_AUTH_SCHEMES = frozenset(["bearer", "basic", "token", "apikey", "api-key"])


def _is_secret_key(key):
    key = str(key).lower()
    return any(part in key for part in SECRET_KEY_PARTS)


def _is_literal_credential(value):
    """A value that holds more than substitutions and an auth scheme word ('Bearer ${env:TOKEN}' is fine)."""
    if not isinstance(value, str):
        return value is not None and not isinstance(value, (bool, dict, list))
    rest = _SUBSTITUTIONS.sub(" ", value).replace("$$", " ")
    return any(word.lower() not in _AUTH_SCHEMES for word in rest.split())


def _secret_walk(value, path, in_secret_mapping=False):
    """(path, value) of every literal credential below ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = "%s.%s" % (path, key) if path else str(key)
            if isinstance(item, (dict, list)):
                yield from _secret_walk(item, child, str(key).lower() in SECRET_MAPPINGS)
            elif (in_secret_mapping or _is_secret_key(key)) and _is_literal_credential(item):
                yield child, item
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _secret_walk(item, "%s[%d]" % (path, index), in_secret_mapping)


def literal_credentials(config):
    """Paths of credentials written literally in a config (headers, tokens, passwords, keys)."""
    return [path for path, _value in _secret_walk(config, "")]


def mask_secrets(value, _in_secret_mapping=False):
    """A copy of ``value`` (a config) with every literal credential replaced by ``MASK``."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                out[key] = mask_secrets(item, str(key).lower() in SECRET_MAPPINGS)
            elif (_in_secret_mapping or _is_secret_key(key)) and _is_literal_credential(item):
                out[key] = MASK
            else:
                out[key] = item
        return out
    if isinstance(value, list):
        return [mask_secrets(item, _in_secret_mapping) for item in value]
    return value


def mask_unlike(old, new):
    """``old`` with every value that ``new`` does not hold at the same place replaced by ``MASK``.

    For the "before" of a SecureString: its decrypted content is secret as a whole, so only what
    the new (shown) config repeats stays visible; a changed or removed value shows as masked."""
    if isinstance(old, dict):
        same = new if isinstance(new, dict) else {}
        return {key: mask_unlike(item, same.get(key, _ABSENT)) for key, item in old.items()}
    if isinstance(old, list):
        same = new if isinstance(new, list) else []
        return [mask_unlike(item, same[index] if index < len(same) else _ABSENT) for index, item in enumerate(old)]
    return old if old == new else MASK


_ABSENT = object()


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_config(value):
    """A user-supplied config (dict or YAML text) -> dict; raises ValueError with the cause."""
    if isinstance(value, dict):
        return plain_copy(value)
    if isinstance(value, str):
        if not HAS_YAML:
            raise ValueError("PyYAML is required to read a YAML config")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ValueError("the config is not valid YAML: %s" % exc) from None
        if not isinstance(parsed, dict):
            raise ValueError("the config must be a YAML mapping, got %s" % type(parsed).__name__)
        return parsed
    raise ValueError("the config must be a mapping or YAML text, got %s" % type(value).__name__)


def s3_config_uri(bucket, region, key):
    """The S3 URI form the ADOT collector's --config accepts."""
    return "s3://%s.s3.%s.amazonaws.com/%s" % (bucket, region, key.lstrip("/"))
