# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Structural validator of a Loki (3.x, single binary) configuration.

Pure functions with no Ansible imports. They check what ``loki -verify-config`` would reject
or what Loki accepts but runs wrongly (retention shorter than the index period, retention on
without a delete request store, SSE-KMS without a key), so the role can refuse before anything
changes even where the Loki binary is not installed.

Problems name the config path; ``names`` maps a path to the user's variable so that messages
name the setting to change (``loki_retention_period (limits_config.retention_period): ...``).

HA monolithic (Loki's docs, get-started/deployment-modes.md): every instance runs ``-target=all``,
shares one object store, and forms the ring over memberlist (``common.ring.kvstore.store:
memberlist``, ``memberlist.join_members``) with ``common.replication_factor`` (3 with at least
three instances). ``ring_settings`` derives a member's ring settings from its inventory group
(plugins/module_utils/ha.py does the address derivation, as for the Alertmanager mesh);
``config_problems`` refuses a ring on filesystem storage and the deprecated simple-scalable targets.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.monitoring.stack.plugins.module_utils import ha
from ansible_collections.monitoring.stack.plugins.module_utils.common import (
    dotted_get, prometheus_duration_seconds, split_address, variable_namer)

STORES = ("tsdb", "boltdb-shipper")
OBJECT_STORES = ("filesystem", "s3", "gcs", "azure", "swift", "bos", "cos", "alibabacloud", "inmemory")
SSE_TYPES = ("SSE-KMS", "SSE-S3")
REQUIRED_SECTIONS = ("server", "schema_config")
# Object stores one instance cannot share with another.
LOCAL_STORES = ("filesystem", "inmemory")
# Targets of the simple-scalable mode, deprecated since Loki 3.6 (docs/sources/release-notes/v3-6.md).
SIMPLE_SCALABLE_TARGETS = ("read", "write", "backend")
DEFAULT_MEMBERLIST_PORT = 7946
# Role variables every member of loki_ha_group must agree on: they shape the shared ring, the
# shared store and what is kept. Their values are never printed (one is a secret key).
RING_VARIABLES = (
    "loki_ha_group", "loki_memberlist_port", "loki_replication_factor", "loki_auth_enabled",
    "loki_storage", "loki_s3_bucket", "loki_s3_region", "loki_s3_endpoint", "loki_s3_force_path_style",
    "loki_s3_access_key_id", "loki_s3_secret_access_key", "loki_s3_sse_type", "loki_s3_kms_key_id",
    "loki_s3_kms_encryption_context", "loki_schema_configs", "loki_retention_enabled", "loki_retention_period",
    "loki_retention_delete_delay", "loki_limits",
)


class LokiConfigError(ValueError):
    """A value Loki cannot parse."""


def duration_seconds(value):
    """Seconds of a duration of Loki's limits and retention (``744h``, ``31d``, ``1w2d``, ``0s``; ``0``
    too): Loki parses them as Prometheus durations (prometheus/common model.Duration)."""
    seconds = prometheus_duration_seconds(str(value).strip())
    if seconds is None:
        raise LokiConfigError("%r is not a duration (use e.g. 24h, 31d, 744h)" % (value,))
    return seconds


def config_problems(config, names=None):
    """Problems of a Loki config dict; empty when the structure is usable."""
    name = variable_namer(names)
    if not isinstance(config, dict):
        return ["the Loki config must be a mapping, got %s" % type(config).__name__]
    problems = []
    for section in REQUIRED_SECTIONS:
        if not isinstance(config.get(section), dict):
            problems.append("%s: required section is missing" % name(section))
    if not isinstance(config.get("common"), dict) and not isinstance(config.get("storage_config"), dict):
        problems.append("%s: either common.storage or storage_config is required" % name("common"))

    server = config.get("server") or {}
    for key in ("http_listen_port", "grpc_listen_port"):
        port = server.get(key)
        if port is not None and (not isinstance(port, int) or not 0 <= port <= 65535):
            problems.append("%s: must be a port number, got %r" % (name("server." + key), port))
    if server.get("http_listen_port") and server.get("http_listen_port") == server.get("grpc_listen_port") \
            and server.get("http_listen_address") == server.get("grpc_listen_address"):
        problems.append("%s: HTTP and gRPC cannot share the same address and port" % name("server.grpc_listen_port"))

    periods = _schema_problems(config, name, problems)
    _retention_problems(config, name, problems, periods)
    _storage_problems(config, name, problems)
    _limit_problems(config, name, problems)
    _loki3_problems(config, name, problems)
    _ring_problems(config, name, problems)
    return problems


def _is_port(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 65535


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _ring_problems(config, name, problems):
    target = config.get("target")
    if target is not None and target != "all":
        if target in SIMPLE_SCALABLE_TARGETS:
            problems.append("%s: %r is the simple-scalable mode, deprecated since Loki 3.6 (removed in 4.0); this "
                            "role runs Loki monolithic (target all): for more than one host set loki_ha_group "
                            "(HA monolithic)" % (name("target"), target))
        else:
            problems.append("%s: this role runs Loki as one process (target all), got %r; for more than one host "
                            "set loki_ha_group (HA monolithic)" % (name("target"), target))
    store = dotted_get(config, "common.ring.kvstore.store")
    factor = dotted_get(config, "common.replication_factor")
    join = dotted_get(config, "memberlist.join_members")
    if factor is not None and not _is_count(factor):
        problems.append("%s: must be a whole number of at least 1, got %r" % (name("common.replication_factor"), factor))
    if store != "memberlist":
        if _is_count(factor) and factor > 1:
            problems.append("%s: %d replicas need a shared ring (common.ring.kvstore.store: memberlist with "
                            "memberlist.join_members); a %s ring sees only this instance"
                            % (name("common.replication_factor"), factor, store or "default"))
        if join and store is not None:
            problems.append("%s: memberlist.join_members is set but the ring is not shared (store %s): set "
                            "common.ring.kvstore.store: memberlist" % (name("common.ring.kvstore.store"), store))
        return
    # An HA ring: every member reads and writes the same object store.
    used = {entry.get("object_store") for entry in dotted_get(config, "schema_config.configs") or [] if isinstance(entry, dict)}
    used.add(dotted_get(config, "compactor.delete_request_store"))
    common_storage = dotted_get(config, "common.storage")
    if isinstance(common_storage, dict):
        used.update(key for key in common_storage if key in OBJECT_STORES)
    if used & set(LOCAL_STORES):
        problems.append("%s: %s storage cannot be shared by an HA ring (each instance would keep its own chunks and "
                        "index, and a query would see only one instance's logs): use s3, an object store every "
                        "member reaches" % (name("common.storage"), "/".join(sorted(used & set(LOCAL_STORES)))))
    if not join or not isinstance(join, list):
        problems.append("%s: required for a memberlist ring (the other members' host:port), got %r"
                        % (name("memberlist.join_members"), join))
    port = dotted_get(config, "memberlist.bind_port")
    if port is not None:
        if not _is_port(port):
            problems.append("%s: must be a port number, got %r" % (name("memberlist.bind_port"), port))
        else:
            for key, what in (("grpc_listen_port", "gRPC"), ("http_listen_port", "HTTP")):
                if port == dotted_get(config, "server." + key):
                    problems.append("%s: %d is also the %s port (server.%s)"
                                    % (name("memberlist.bind_port"), port, what, key))


def _address_host(address):
    return split_address(address or "")[0].strip("[]")


def ring_members(groups, hostvars, group, me, my_grpc_listen_address):
    """The members of ``group`` as ha.mesh_settings() takes them: each one's gRPC listen address
    (its own variable from hostvars; ``my_grpc_listen_address`` for host ``me``, whose defaults and
    play variables hostvars do not hold) and inventory address."""
    members = []
    for member in ha.group_members(groups, group):
        values = hostvars.get(member) or {}
        listen = my_grpc_listen_address if member == me else values.get("loki_grpc_listen_address")
        members.append({"name": member, "address": values.get("ansible_host") or member, "listen_address": listen})
    return members


def ring_settings(me, members, port=DEFAULT_MEMBERLIST_PORT):
    """{instance_addr, memberlist} of host ``me``: the address the other members reach its gRPC
    server on (common.instance_addr), and its memberlist block (bind_port, bind_addr when it
    listens on one IP, advertise_addr when it listens on all and its inventory address is an IP,
    join_members: the other members, each on ``port``)."""
    mesh = ha.mesh_settings(me, members, mode="mesh", port=port)
    member = next(m for m in members if m["name"] == me)
    listen_host = _address_host(mesh["listen_address"])
    memberlist = {"bind_port": port}
    if listen_host not in ("", "0.0.0.0", "::"):
        memberlist["bind_addr"] = [listen_host]
        instance_addr = listen_host
    else:
        instance_addr = member["address"]
    if mesh["advertise_address"]:
        memberlist["advertise_addr"] = _address_host(mesh["advertise_address"])
    memberlist["join_members"] = list(mesh["peers"])
    return {"instance_addr": instance_addr, "memberlist": memberlist}


def ring_problems(group, me, members, members_vars, replication_factor, port):
    """Preflight messages of an HA ring from the inventory; the config-level ones (shared storage,
    join_members, ports) are config_problems' on the rendered config."""
    names = [m["name"] for m in members]
    problems = []
    if not names:
        return ["loki_ha_group: %r has no hosts in the inventory" % (group,)]
    if me not in names:
        return ["loki_ha_group: this host (%s) is not a member of %r (its hosts: %s)" % (me, group, ", ".join(names))]
    if not _is_count(replication_factor):
        problems.append("loki_replication_factor: must be a whole number of at least 1, got %r" % (replication_factor,))
    elif replication_factor > len(names):
        problems.append("loki_replication_factor: %d is more than the %d hosts of loki_ha_group %r: every stream "
                        "is written to that many different members (use at most %d, or add hosts)"
                        % (replication_factor, len(names), group, len(names)))
    if len(names) == 1:
        problems.append("loki_ha_group: %r has 1 host; an HA ring needs at least 2 (3 for loki_replication_factor 3)"
                        % (group,))
    if not _is_port(port):
        problems.append("loki_memberlist_port: must be a port number, got %r" % (port,))
    first = names[0]
    for variable in RING_VARIABLES:
        for host in names[1:]:
            if (members_vars.get(host) or {}).get(variable) != (members_vars.get(first) or {}).get(variable):
                problems.append("%s: the members of loki_ha_group %r must agree, and it differs between %s and %s "
                                "(set it for the group, not per host)" % (variable, group, first, host))
                break
    return problems


# Keys Loki 3.0 removed (its upgrade guide): the index shippers and the compactor take the
# object store from schema_config, and deletes go to compactor.delete_request_store.
REMOVED_IN_LOKI_3 = (
    "storage_config.tsdb_shipper.shared_store", "storage_config.tsdb_shipper.shared_store_key_prefix",
    "storage_config.boltdb_shipper.shared_store", "storage_config.boltdb_shipper.shared_store_key_prefix",
    "compactor.shared_store", "compactor.shared_store_key_prefix",
)


def _active_period(configs, today=None):
    """The schema period in force today, as Loki's ActivePeriodConfig picks it: the last one
    whose ``from`` is not in the future (the first when all are)."""
    today = today or datetime.date.today()
    active = 0
    for index, entry in enumerate(configs):
        try:
            if datetime.date.fromisoformat(str(entry.get("from"))) <= today:
                active = index
        except (AttributeError, ValueError):
            continue
    return active


def _loki3_problems(config, name, problems):
    for path in REMOVED_IN_LOKI_3:
        if dotted_get(config, path) is not None:
            problems.append("%s: removed in Loki 3 (the object store comes from schema_config; deletes use "
                            "compactor.delete_request_store): remove it" % name(path))
    configs = dotted_get(config, "schema_config.configs")
    if not isinstance(configs, list) or not configs or not all(isinstance(c, dict) for c in configs):
        return
    allow = dotted_get(config, "limits_config.allow_structured_metadata")
    if allow is False:
        return
    index = _active_period(configs)
    entry = configs[index]
    where = "schema_config.configs[%d]" % index
    schema = str(entry.get("schema", ""))
    if re.match(r"^v\d+$", schema) and int(schema[1:]) < 13:
        problems.append("%s: Loki 3 stores structured metadata by default and then needs schema v13 in the active "
                        "period (this one is %s): add a period with schema v13 from a future date, or set "
                        "limits_config.allow_structured_metadata: false" % (name(where + ".schema"), schema))
    if entry.get("store") not in (None, "tsdb"):
        problems.append("%s: Loki 3 stores structured metadata by default and then needs the tsdb index in the "
                        "active period (this one is %s): add a tsdb period from a future date, or set "
                        "limits_config.allow_structured_metadata: false" % (name(where + ".store"), entry.get("store")))


def _schema_problems(config, name, problems):
    configs = dotted_get(config, "schema_config.configs")
    if configs is None:
        if isinstance(config.get("schema_config"), dict):
            problems.append("%s: required (at least one period)" % name("schema_config.configs"))
        return []
    if not isinstance(configs, list) or not configs:
        problems.append("%s: must be a non-empty list of periods" % name("schema_config.configs"))
        return []
    periods = []
    previous = None
    storages = _object_stores(config)
    for index, entry in enumerate(configs):
        where = "schema_config.configs[%d]" % index
        if not isinstance(entry, dict):
            problems.append("%s: must be a mapping" % name(where))
            continue
        for key in ("from", "store", "object_store", "schema", "index"):
            if key not in entry:
                problems.append("%s: required" % name(where + "." + key))
        start = entry.get("from")
        if start is not None:
            try:
                day = datetime.date.fromisoformat(str(start))
            except ValueError:
                problems.append("%s: must be a date YYYY-MM-DD, got %r" % (name(where + ".from"), start))
            else:
                if previous is not None and day <= previous:
                    problems.append("%s: periods must be in increasing date order (%s is not after %s)"
                                    % (name(where + ".from"), day, previous))
                previous = day
        store = entry.get("store")
        if store is not None and store not in STORES:
            problems.append("%s: must be one of %s, got %r" % (name(where + ".store"), ", ".join(STORES), store))
        object_store = entry.get("object_store")
        if object_store is not None:
            if object_store not in OBJECT_STORES and object_store not in storages:
                problems.append("%s: unknown object store %r" % (name(where + ".object_store"), object_store))
            elif object_store != "inmemory" and storages and object_store not in storages:
                problems.append("%s: %r has no storage configured (configured: %s)"
                                % (name(where + ".object_store"), object_store, ", ".join(sorted(storages))))
        schema = entry.get("schema")
        if schema is not None and not re.match(r"^v\d+$", str(schema)):
            problems.append("%s: must look like v13, got %r" % (name(where + ".schema"), schema))
        if store == "tsdb" and schema is not None and re.match(r"^v\d+$", str(schema)) and int(str(schema)[1:]) < 13:
            problems.append("%s: the tsdb store needs schema v13 (structured metadata), got %s"
                            % (name(where + ".schema"), schema))
        index_conf = entry.get("index")
        if isinstance(index_conf, dict):
            period = index_conf.get("period", "24h")
            try:
                seconds = duration_seconds(period)
            except LokiConfigError as exc:
                problems.append("%s: %s" % (name(where + ".index.period"), exc))
            else:
                if store in STORES and seconds != 86400:
                    problems.append("%s: the %s store needs a 24h index period, got %s"
                                    % (name(where + ".index.period"), store, period))
                periods.append(seconds)
            if not index_conf.get("prefix"):
                problems.append("%s: required" % name(where + ".index.prefix"))
        elif index_conf is not None:
            problems.append("%s: must be a mapping with prefix and period" % name(where + ".index"))
    return periods


def _object_stores(config):
    """Object stores that have a configuration (common.storage.<x> or storage_config.<x>)."""
    found = set()
    for node in (dotted_get(config, "common.storage"), config.get("storage_config")):
        if isinstance(node, dict):
            found.update(key for key in node if key in OBJECT_STORES)
    if dotted_get(config, "common.storage.filesystem") is not None or dotted_get(config, "common.path_prefix"):
        found.add("filesystem")
    return found


def _retention_problems(config, name, problems, periods):
    compactor = config.get("compactor") or {}
    enabled = compactor.get("retention_enabled") is True
    period = dotted_get(config, "limits_config.retention_period")
    if enabled and not compactor.get("delete_request_store"):
        problems.append("%s: required when compactor.retention_enabled is true (Loki 3 refuses to start "
                        "without it)" % name("compactor.delete_request_store"))
    store = compactor.get("delete_request_store")
    if store and store not in _object_stores(config):
        problems.append("%s: %r has no storage configured" % (name("compactor.delete_request_store"), store))
    if period is None:
        return
    try:
        seconds = duration_seconds(period)
    except LokiConfigError as exc:
        problems.append("%s: %s" % (name("limits_config.retention_period"), exc))
        return
    index_period = max(periods) if periods else 86400
    if seconds and seconds < index_period:
        problems.append("%s: %s is shorter than the index period (%dh); Loki deletes whole index periods, so "
                        "retention must be at least %dh (or 0s to keep everything)"
                        % (name("limits_config.retention_period"), period, index_period // 3600,
                           index_period // 3600))
    if seconds and not enabled:
        problems.append("%s: set, but compactor.retention_enabled is not true: nothing would be deleted"
                        % name("limits_config.retention_period"))


def _storage_problems(config, name, problems):
    for base in ("common.storage.s3", "storage_config.aws"):
        s3 = dotted_get(config, base)
        if not isinstance(s3, dict):
            continue
        if not (s3.get("bucketnames") or s3.get("s3")):
            problems.append("%s: required (the bucket) for S3 storage" % name(base + ".bucketnames"))
        if not s3.get("region") and not s3.get("endpoint") and not s3.get("s3"):
            problems.append("%s: required for S3 storage (or an endpoint)" % name(base + ".region"))
        if bool(s3.get("access_key_id")) != bool(s3.get("secret_access_key")):
            problems.append("%s: access_key_id and secret_access_key go together (or leave both empty for the "
                            "instance role)" % name(base + ".secret_access_key"))
        sse = s3.get("sse")
        if sse is not None:
            if not isinstance(sse, dict):
                problems.append("%s: must be a mapping" % name(base + ".sse"))
                continue
            if sse.get("type") not in SSE_TYPES:
                problems.append("%s: must be one of %s, got %r" % (name(base + ".sse.type"), ", ".join(SSE_TYPES),
                                                                   sse.get("type")))
            if sse.get("type") == "SSE-KMS" and not sse.get("kms_key_id"):
                problems.append("%s: required with SSE-KMS" % name(base + ".sse.kms_key_id"))


def _limit_problems(config, name, problems):
    limits = config.get("limits_config") or {}
    for key in ("ingestion_rate_mb", "ingestion_burst_size_mb"):
        value = limits.get(key)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0):
            problems.append("%s: must be a positive number, got %r" % (name("limits_config." + key), value))
    rate, burst = limits.get("ingestion_rate_mb"), limits.get("ingestion_burst_size_mb")
    if isinstance(rate, (int, float)) and isinstance(burst, (int, float)) and burst < rate:
        problems.append("%s: the burst (%s) must be at least the rate (%s)"
                        % (name("limits_config.ingestion_burst_size_mb"), burst, rate))
    for key in ("max_query_length", "max_query_lookback", "reject_old_samples_max_age"):
        value = limits.get(key)
        if value is not None:
            try:
                duration_seconds(value)
            except LokiConfigError as exc:
                problems.append("%s: %s" % (name("limits_config." + key), exc))
