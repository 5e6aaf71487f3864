# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana Tempo 2.9 (single binary): the config built from a few role settings (``build_config``)
and its structural validator (``config_problems``). Pure functions, no Ansible imports.

The validator is what the role has when the ``tempo`` binary (``tempo -config.verify``) is not on
the host: known top-level keys (Tempo 2.9's ``cmd/tempo/app/config.go``, the v2.9.5 manifest),
``storage.trace.backend`` local or s3 with the keys each needs, the receivers' shape, the server
ports, and every duration parsed as Tempo parses it (Go ``time.Duration``: ``336h``, no days).
Problems name the config path; ``names`` maps a path to the user's variable.
References: docs/tempo.md.
"""

from __future__ import annotations

from ansible_collections.monitoring.stack.plugins.module_utils.common import dotted_get, go_duration_seconds, split_address, variable_namer

# Top-level keys of Tempo 2.9 (cmd/tempo/app/config.go at v2.9.5; the manifest lists the sections).
TOP_LEVEL_KEYS = (
    "target", "auth_enabled", "multitenancy_enabled", "shutdown_delay", "stream_over_http_enabled",
    "http_api_prefix", "enable_go_runtime_metrics", "partition_ring_live_store", "server", "internal_server",
    "distributor", "ingester_client", "metrics_generator_client", "live_store_client", "querier",
    "query_frontend", "compactor", "ingester", "metrics_generator", "ingest", "block_builder", "storage",
    "overrides", "memberlist", "usage_report", "cache", "backend_scheduler", "backend_scheduler_client",
    "backend_worker", "live_store",
)
BACKENDS = ("local", "s3")
SSE_TYPES = ("SSE-KMS", "SSE-S3")
# Receivers Tempo's distributor embeds (configuration docs, "Distributor"), with their protocols;
# None: the receiver takes its endpoint directly (zipkin, opencensus) or its own options (kafka).
RECEIVERS = {
    "otlp": ("grpc", "http"),
    "jaeger": ("grpc", "thrift_http", "thrift_binary", "thrift_compact"),
    "zipkin": None,
    "opencensus": None,
    "kafka": None,
}
# Durations the role writes or users commonly set; Tempo reads them as Go durations.
DURATION_PATHS = (
    "shutdown_delay",
    "compactor.compaction.block_retention", "compactor.compaction.compacted_block_retention",
    "compactor.compaction.compaction_window", "compactor.compaction.compaction_cycle",
    "compactor.compaction.max_time_per_tenant",
    "ingester.max_block_duration", "ingester.trace_idle_period", "ingester.complete_block_timeout",
    "storage.trace.blocklist_poll", "storage.trace.wal.ingestion_time_range_slack",
    "storage.trace.s3.hedge_requests_at", "server.graceful_shutdown_timeout",
)
# A single binary's querier dials its own query frontend at 127.0.0.1:<grpc port>
# (cmd/tempo/app/modules.go, v2.9.5) unless querier.frontend_worker.frontend_address is set.
LOOPBACK_REACHABLE = ("", "0.0.0.0", "127.0.0.1", "localhost", "[::]", "::")

DEFAULT_SETTINGS = {
    "http_listen_address": "0.0.0.0:3200",
    # Loki's gRPC default is 9095: Tempo moves to 9096 so both can share the monitoring host.
    "grpc_listen_address": "127.0.0.1:9096",
    "otlp_grpc_listen_address": "0.0.0.0:4317",
    "otlp_http_listen_address": "0.0.0.0:4318",
    "log_level": "info",
    "data_dir": "/var/lib/tempo",
    "storage": "local",
    "retention": "336h",
    "s3_bucket": "",
    "s3_region": "",
    "s3_endpoint": "",
    "s3_prefix": "",
    "s3_force_path_style": False,
    "s3_insecure": False,
    "s3_access_key": "",
    "s3_secret_key": "",
    "s3_sse_type": "",
    "s3_kms_key_id": "",
    "s3_kms_encryption_context": "",
    "extra": {},
}


def _merge(base, over):
    out = dict(base)
    for key, value in (over or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _port(text):
    text = str(text)
    return int(text) if text.isdigit() else text


def _host(address):
    host = split_address(address)[0]
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def build_config(settings):
    """The Tempo config (a dict, in the order Tempo's docs show) from the role's settings
    (see DEFAULT_SETTINGS). It never raises on bad values: ``config_problems`` names them."""
    s = dict(DEFAULT_SETTINGS)
    s.update({k: v for k, v in (settings or {}).items() if v is not None})
    protocols = {}
    for protocol in ("grpc", "http"):
        address = s["otlp_%s_listen_address" % protocol]
        if address:
            protocols[protocol] = {"endpoint": address}
    data_dir = str(s["data_dir"]).rstrip("/")
    trace = {"backend": s["storage"], "wal": {"path": data_dir + "/wal"}}
    if s["storage"] == "s3":
        s3 = {"bucket": s["s3_bucket"], "region": s["s3_region"]}
        for key in ("endpoint", "prefix", "access_key", "secret_key"):
            if s["s3_" + key]:
                s3[key] = s["s3_" + key]
        if s["s3_force_path_style"]:
            s3["forcepathstyle"] = True
        if s["s3_insecure"]:
            s3["insecure"] = True
        if s["s3_sse_type"]:
            sse = {"type": s["s3_sse_type"]}
            if s["s3_sse_type"] == "SSE-KMS" or s["s3_kms_key_id"]:
                sse["kms_key_id"] = s["s3_kms_key_id"]
            if s["s3_kms_encryption_context"]:
                sse["kms_encryption_context"] = s["s3_kms_encryption_context"]
            s3["sse"] = sse
        trace["s3"] = s3
    else:
        trace["local"] = {"path": data_dir + "/blocks"}
    config = {
        "server": {
            "http_listen_address": _host(s["http_listen_address"]),
            "http_listen_port": _port(split_address(s["http_listen_address"])[1]),
            "grpc_listen_address": _host(s["grpc_listen_address"]),
            "grpc_listen_port": _port(split_address(s["grpc_listen_address"])[1]),
            "log_level": s["log_level"],
        },
        "distributor": {"receivers": {"otlp": {"protocols": protocols}}},
        "compactor": {"compaction": {"block_retention": s["retention"]}},
        "storage": {"trace": trace},
        "usage_report": {"reporting_enabled": False},
    }
    return _merge(config, s["extra"])


def render_config(config):
    """The config as YAML text, keys in the order built, with a header line."""
    import yaml  # PyYAML ships with ansible-core

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):
            return super(Dumper, self).increase_indent(flow, False)

    body = yaml.dump(config, Dumper=Dumper, default_flow_style=False, sort_keys=False, indent=2)
    return "# Managed by monitoring.stack (Ansible): local changes are overwritten.\n" + body


def _is_port(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 65535


def _is_endpoint(value):
    if not isinstance(value, str):
        return False
    host, port = split_address(value)
    return bool(host) and port.isdigit() and 0 < int(port) <= 65535


def config_problems(config, names=None):
    """Problems of a Tempo config dict; empty when the structure is usable. Values of secret keys
    are never quoted."""
    name = variable_namer(names)
    if not isinstance(config, dict):
        return ["the Tempo config must be a mapping, got %s" % type(config).__name__]
    problems = []
    for key in config:
        if key not in TOP_LEVEL_KEYS:
            problems.append("%s: not a Tempo 2.9 configuration key (known: %s)"
                            % (name(str(key)), ", ".join(sorted(TOP_LEVEL_KEYS))))
    _server_problems(config, name, problems)
    _storage_problems(config, name, problems)
    _receiver_problems(config, name, problems)
    _duration_problems(config, name, problems)
    return problems


def _server_problems(config, name, problems):
    server = config.get("server") or {}
    if not isinstance(server, dict):
        problems.append("%s: must be a mapping" % name("server"))
        return
    for key in ("http_listen_port", "grpc_listen_port"):
        if key in server and not _is_port(server[key]):
            problems.append("%s: must be a port number, got %r" % (name("server." + key), server[key]))
    http_port, grpc_port = server.get("http_listen_port"), server.get("grpc_listen_port")
    if _is_port(http_port) and http_port == grpc_port:
        problems.append("%s: HTTP and gRPC cannot share port %d" % (name("server.grpc_listen_port"), grpc_port))
    grpc_host = str(server.get("grpc_listen_address") or "")
    if config.get("target", "all") == "all" and grpc_host not in LOOPBACK_REACHABLE \
            and not dotted_get(config, "querier.frontend_worker.frontend_address"):
        problems.append("%s: the single binary's querier reaches its query frontend at 127.0.0.1:%s; listen on "
                        "127.0.0.1 or 0.0.0.0 (or set querier.frontend_worker.frontend_address)"
                        % (name("server.grpc_listen_address"), grpc_port if _is_port(grpc_port) else 9095))


def _absolute(value):
    return isinstance(value, str) and value.startswith("/")


def _storage_problems(config, name, problems):
    trace = dotted_get(config, "storage.trace")
    if not isinstance(trace, dict):
        problems.append("%s: required section is missing" % name("storage.trace"))
        return
    backend = trace.get("backend")
    if backend not in BACKENDS:
        problems.append("%s: must be local or s3 (the backends monitoring.stack renders), got %r"
                        % (name("storage.trace.backend"), backend))
        return
    if not _absolute(dotted_get(trace, "wal.path")):
        problems.append("%s: required (an absolute path)" % name("storage.trace.wal.path"))
    if backend == "local":
        if not _absolute(dotted_get(trace, "local.path")):
            problems.append("%s: required with backend local (an absolute path)" % name("storage.trace.local.path"))
        return
    s3 = trace.get("s3")
    if not isinstance(s3, dict):
        problems.append("%s: required with backend s3" % name("storage.trace.s3"))
        return
    if not s3.get("bucket") or not isinstance(s3.get("bucket"), str):
        problems.append("%s: required with backend s3" % name("storage.trace.s3.bucket"))
    if not s3.get("region") or not isinstance(s3.get("region"), str):
        problems.append("%s: required (monitoring.stack sets the S3 region explicitly; Tempo would infer it from "
                        "the endpoint)" % name("storage.trace.s3.region"))
    endpoint = s3.get("endpoint")
    if endpoint is not None and (not isinstance(endpoint, str) or "://" in endpoint):
        problems.append("%s: a host[:port] without a scheme (set insecure for plain http), got %r"
                        % (name("storage.trace.s3.endpoint"), endpoint))
    for key in ("access_key", "secret_key"):
        if key in s3 and not isinstance(s3[key], str):
            problems.append("%s: must be a string" % name("storage.trace.s3." + key))
    if bool(s3.get("access_key")) != bool(s3.get("secret_key")):
        problems.append("%s: access_key and secret_key go together (or leave both empty for the instance role)"
                        % name("storage.trace.s3.secret_key"))
    sse = s3.get("sse")
    if sse is None:
        return
    if not isinstance(sse, dict):
        problems.append("%s: must be a mapping" % name("storage.trace.s3.sse"))
        return
    if sse.get("type") not in SSE_TYPES:
        problems.append("%s: must be SSE-KMS or SSE-S3, got %r" % (name("storage.trace.s3.sse.type"), sse.get("type")))
    elif sse["type"] == "SSE-KMS" and not sse.get("kms_key_id"):
        problems.append("%s: required with SSE-KMS" % name("storage.trace.s3.sse.kms_key_id"))


def _receiver_problems(config, name, problems):
    receivers = dotted_get(config, "distributor.receivers")
    if not isinstance(receivers, dict) or not receivers:
        problems.append("%s: at least one receiver is required (e.g. otlp)" % name("distributor.receivers"))
        return
    for receiver, body in receivers.items():
        where = "distributor.receivers.%s" % receiver
        if receiver not in RECEIVERS:
            problems.append("%s: unknown receiver (Tempo 2.9 has %s)" % (name(where), ", ".join(sorted(RECEIVERS))))
            continue
        allowed = RECEIVERS[receiver]
        if body is None or allowed is None:
            if isinstance(body, dict) and "endpoint" in body and not _is_endpoint(body["endpoint"]):
                problems.append("%s: must be host:port, got %r" % (name(where + ".endpoint"), body["endpoint"]))
            continue
        protocols = body.get("protocols") if isinstance(body, dict) else None
        if not isinstance(protocols, dict) or not protocols:
            problems.append("%s: at least one of %s is required" % (name(where + ".protocols"), ", ".join(allowed)))
            continue
        seen = {}
        for protocol, options in protocols.items():
            here = "%s.protocols.%s" % (where, protocol)
            if protocol not in allowed:
                problems.append("%s: unknown protocol (%s has %s)" % (name(here), receiver, ", ".join(allowed)))
                continue
            if options is None:
                continue
            if not isinstance(options, dict):
                problems.append("%s: must be a mapping (or empty for the default endpoint)" % name(here))
                continue
            endpoint = options.get("endpoint")
            if endpoint is None:
                continue
            if not _is_endpoint(endpoint):
                problems.append("%s: must be host:port, got %r" % (name(here + ".endpoint"), endpoint))
            elif endpoint in seen:
                problems.append("%s: %s is also the %s endpoint" % (name(here + ".endpoint"), endpoint, seen[endpoint]))
            else:
                seen[endpoint] = protocol


def _duration_problems(config, name, problems):
    for path in DURATION_PATHS:
        value = dotted_get(config, path)
        if value is None:
            continue
        seconds = go_duration_seconds(value) if isinstance(value, str) else None
        if seconds is None:
            problems.append("%s: %r is not a duration Tempo parses (Go syntax: 336h, 90m, 1h30m; no days)"
                            % (name(path), value))
        elif path == "compactor.compaction.block_retention" and seconds <= 0:
            problems.append("%s: must be longer than 0s" % name(path))
