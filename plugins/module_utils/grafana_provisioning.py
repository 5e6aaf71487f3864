# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana configuration as data: grafana.ini rendering and the structural validator.

Pure functions with no Ansible imports, used by the grafana role (through the filters of
``plugins/filter/grafana.py``) and unit-tested directly. Grafana has no command that checks
``grafana.ini`` or provisioning files, so these checks are the only ones before Grafana starts.

Problem messages start with the user's variable name (``grafana_datasources[1]``...), so that a
failed preflight says which setting to fix; they never contain secret values.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.monitoring.stack.plugins.module_utils import ha
from ansible_collections.monitoring.stack.plugins.module_utils.common import split_address
from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    BUILTIN_DATASOURCES,
    UID_PATTERN,
    DatasourceResolver,
    iter_datasource_refs,
)

# Datasource types that do not take a URL (they talk to an AWS API or to Grafana itself).
URL_OPTIONAL_TYPES = frozenset([
    "cloudwatch", "grafana-testdata-datasource", "testdata", "grafana", "grafana-x-ray-datasource",
    "grafana-athena-datasource",
])
ORG_ROLES = ("Viewer", "Editor", "Admin")
# References that are not datasource uids: built-in pseudo datasources and variables.
_BUILTIN_REFS = frozenset(BUILTIN_DATASOURCES + ("default",))
_INI_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")


class ProvisioningError(ValueError):
    """Grafana provisioning data that cannot be used; the message says what to fix."""


# --------------------------------------------------------------------------- grafana.ini

def _ini_value(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(_ini_value(item) for item in value)
    text = str(value)
    if "\n" in text:
        raise ProvisioningError("grafana.ini values are single lines, got a value with a line break")
    # Grafana's ini parser strips surrounding whitespace and treats ; and # as the start of a
    # comment (its defaults.ini: "If the password contains # or ; you have to wrap it with triple
    # quotes"): quote with triple quotes (go-ini's literal form) when that would change the value.
    if '"""' in text:
        raise ProvisioningError('grafana.ini values cannot contain three double quotes (""")')
    # go-ini (parser.go readValue) also drops one pair of surrounding quotes, reads a ` quoted
    # value literally and continues a line ending in a backslash.
    if text != text.strip() or "#" in text or ";" in text or text[:1] in ('"', "'", "`") or text.endswith("\\"):
        return '"""%s"""' % text
    return text


def render_ini(data):
    """Render ``{section: {key: value}}`` as grafana.ini text (a generic renderer).

    Keys whose value is not a dict go first, in the default section. Sections and keys keep
    their order (the caller decides it); dotted section names (``auth.generic_oauth``) are
    written as they are. Booleans become true/false, lists comma-separated, None empty.
    """
    if not isinstance(data, dict):
        raise ProvisioningError("grafana.ini data must be a dict of sections, got %s" % type(data).__name__)
    lines = []
    plain = [(k, v) for k, v in data.items() if not isinstance(v, dict)]
    sections = [(k, v) for k, v in data.items() if isinstance(v, dict)]
    for key, value in plain:
        lines.append("%s = %s" % (_ini_key(key), _ini_value(value)))
    for name, values in sections:
        if lines:
            lines.append("")
        lines.append("[%s]" % _ini_key(name))
        for key, value in values.items():
            if isinstance(value, dict):
                raise ProvisioningError("grafana.ini [%s] %s: sections do not nest, got a dict" % (name, key))
            lines.append("%s = %s" % (_ini_key(key), _ini_value(value)))
    return "\n".join(lines) + "\n"


def _ini_key(key):
    key = str(key)
    if not _INI_KEY.match(key):
        raise ProvisioningError("grafana.ini: invalid section or key name %r" % key)
    return key


def parse_ini(text):
    """Parse grafana.ini text back into ``{section: {key: value}}`` (values as strings).

    Used by the tests and the verify step to check what the renderer wrote; follows go-ini for
    what the renderer produces (``key = value``, ``[section]``, ``;``/``#`` comments).
    """
    data = {}
    section = data
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = data.setdefault(line[1:-1].strip(), {})
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ProvisioningError("grafana.ini line %d: expected key = value or [section], got %r" % (number, line))
        value = value.strip()
        if value.startswith('"""') and value.endswith('"""') and len(value) >= 6:
            value = value[3:-3]
        section[key.strip()] = value
    return data


def ini_problems(ini, names=None):
    """Structural problems of the grafana.ini data the role is about to render.

    ``names`` maps ``section.key`` to the user's variable, so messages name what to change.
    """
    names = names or {}
    problems = []

    def name(path):
        return names.get(path, "grafana_ini.%s" % path)

    security = ini.get("security") or {}
    password = security.get("admin_password")
    if password in (None, ""):
        problems.append("%s: required (the admin password); Grafana's default 'admin' is refused"
                        % name("security.admin_password"))
    elif str(password) == "admin":
        problems.append("%s: must not be Grafana's default 'admin'" % name("security.admin_password"))
    oauth = ini.get("auth.generic_oauth") or {}
    if _truthy(oauth.get("enabled")):
        for key in ("client_id", "auth_url", "token_url"):
            if not oauth.get(key):
                problems.append("%s: required when generic OAuth is enabled" % name("auth.generic_oauth." + key))
        if not oauth.get("client_secret") and not _truthy(oauth.get("use_pkce")):
            problems.append("%s: required when generic OAuth is enabled without use_pkce"
                            % name("auth.generic_oauth.client_secret"))
    anonymous = ini.get("auth.anonymous") or {}
    if _truthy(anonymous.get("enabled")) and anonymous.get("org_role", "Viewer") not in ORG_ROLES:
        problems.append("%s: must be one of %s" % (name("auth.anonymous.org_role"), ", ".join(ORG_ROLES)))
    server = ini.get("server") or {}
    root_url = str(server.get("root_url") or "")
    if root_url and not re.match(r"^(https?://|%\(protocol\)s://)", root_url):
        problems.append("%s: must start with http://, https:// or %%(protocol)s://, got %r"
                        % (name("server.root_url"), root_url))
    if _truthy(server.get("serve_from_sub_path")) and not re.match(r"^[^/]+://[^/]+/.+", root_url):
        problems.append("%s: serving from a sub path needs a root URL with that path (e.g. "
                        "https://example.com/grafana/)" % name("server.root_url"))
    return problems


def _truthy(value):
    return value is True or str(value).lower() in ("true", "1", "yes", "on")


# --------------------------------------------------------------------------- database, HA, cache

# [database] of grafana.ini (conf/defaults.ini; pkg/services/sqlstore/database_config.go reads
# them). ``host`` and ``port`` are the role's: Grafana takes one ``host = host:port`` key.
DATABASE_TYPES = ("sqlite3", "postgres", "mysql")
DATABASE_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}
DATABASE_KEYS = (
    "type", "host", "port", "name", "user", "password", "ssl_mode", "ssl_sni", "ca_cert_path",
    "client_key_path", "client_cert_path", "server_cert_name", "max_open_conn", "max_idle_conn",
    "conn_max_lifetime", "isolation_level", "log_queries", "path", "cache_mode", "wal",
    "migration_locking", "locking_attempt_timeout_sec",
)
_DATABASE_INT_KEYS = ("max_open_conn", "max_idle_conn", "conn_max_lifetime", "locking_attempt_timeout_sec")
# ssl_mode: Grafana's docs list disable, require, verify-full for postgres (it hands the value to
# the driver as sslmode=, which also takes verify-ca) and true, false, skip-verify for mysql.
DATABASE_SSL_MODES = {"postgres": ("disable", "require", "verify-ca", "verify-full"),
                      "mysql": ("true", "false", "skip-verify")}
REMOTE_CACHE_TYPES = ("database", "redis", "memcached")
REMOTE_CACHE_KEYS = ("type", "connstr", "prefix", "encryption")
DEFAULT_ALERTING_HA_PORT = 9094
REDACTED = "<redacted>"


def _join_host_port(host, port):
    host = str(host)
    if host.startswith("/"):
        return host if port in (None, "") else "%s:%s" % (host, port)
    try:
        if ipaddress.ip_address(host.strip("[]")).version == 6:
            host = "[%s]" % host.strip("[]")
    except ValueError:
        pass
    return "%s:%s" % (host, port)


def database_ini(database):
    """The [database] section for ``grafana_database`` (``{}`` for the sqlite3 default with no
    other setting: grafana.ini stays as it was before the variable existed).

    postgres and mysql get ``host = <host>:<port>`` (the port defaults to 5432 or 3306), ``name``
    and ``user`` default to ``grafana``; a mysql Unix socket (``host`` starting with ``/``) is
    written without a port. Other settings are written as given, in the order of DATABASE_KEYS.
    """
    if not hasattr(database, "get"):
        return {}  # refused by database_problems in preflight
    database = dict(database)
    kind = database.get("type") or "sqlite3"
    rest = dict((k, v) for k, v in database.items() if k != "type" and v not in (None, ""))
    if kind == "sqlite3" and not rest:
        return {}
    out = {"type": kind}
    if kind in DATABASE_DEFAULT_PORTS:
        host = rest.pop("host", "")
        port = rest.pop("port", None)
        if kind == "mysql" and str(host).startswith("/"):
            out["host"] = str(host)
        else:
            out["host"] = _join_host_port(host, port if port not in (None, "") else DATABASE_DEFAULT_PORTS[kind])
        out["name"] = rest.pop("name", "grafana")
        out["user"] = rest.pop("user", "grafana")
    for key in DATABASE_KEYS:
        if key in rest:
            out[key] = rest[key]
    return out


def database_problems(database, var="grafana_database"):
    """Problems of ``grafana_database``; messages name the setting and never hold its value."""
    if database is None:
        return []
    if not hasattr(database, "get"):
        return ["%s: must be a mapping of [database] settings (type, host, port, name, user, password...), got %s"
                % (var, type(database).__name__)]
    problems = []
    kind = database.get("type") or "sqlite3"
    if kind not in DATABASE_TYPES:
        return ["%s.type: must be one of %s, got %r" % (var, ", ".join(DATABASE_TYPES), kind)]
    unknown = sorted(str(k) for k in database if k not in DATABASE_KEYS)
    if unknown:
        problems.append("%s: unknown setting(s) %s (known: %s; any other [database] key goes in grafana_ini.database)"
                        % (var, ", ".join(unknown), ", ".join(DATABASE_KEYS)))
    if kind in DATABASE_DEFAULT_PORTS:
        host = str(database.get("host") or "")
        if not host:
            problems.append("%s.host: required for type %s (the database server's name or address)" % (var, kind))
        elif re.match(r"^[^:\[\]/]+:[0-9]*$", host) or re.match(r"^\[.*\]:[0-9]*$", host):
            problems.append("%s.host: the host only, without a port (set %s.port), got %r" % (var, var, host))
        port = database.get("port")
        if port not in (None, "") and not (str(port).isdigit() and 1 <= int(str(port)) <= 65535):
            problems.append("%s.port: must be a port number (1-65535), got %r" % (var, port))
        for key in ("name", "user"):
            if key in database and not database.get(key):
                problems.append("%s.%s: must not be empty" % (var, key))
        mode = database.get("ssl_mode")
        if mode not in (None, "") and str(mode).lower() not in DATABASE_SSL_MODES[kind]:
            problems.append("%s.ssl_mode: must be one of %s for %s, got %r"
                            % (var, ", ".join(DATABASE_SSL_MODES[kind]), kind, mode))
    for key in _DATABASE_INT_KEYS:
        value = database.get(key)
        if value not in (None, "") and not str(value).isdigit():
            problems.append("%s.%s: must be a whole number >= 0, got %r" % (var, key, value))
    password = database.get("password")
    if password is not None and not isinstance(password, str):
        problems.append("%s.password: must be a string (quote it in YAML)" % var)
    elif password and ("\n" in password or '"""' in password):
        problems.append('%s.password: must be one line without three double quotes (""") in a row' % var)
    return problems


def remote_cache_ini(cache):
    """The [remote_cache] section for ``grafana_remote_cache`` (``{}`` when unset: Grafana's
    default, the database cache)."""
    if not hasattr(cache, "get"):
        return {}  # refused by remote_cache_problems in preflight
    return dict((key, cache[key]) for key in REMOTE_CACHE_KEYS if cache.get(key) not in (None, ""))


def remote_cache_problems(cache, var="grafana_remote_cache"):
    """Problems of ``grafana_remote_cache``; the connection string is never printed (it may hold
    a password)."""
    if not cache:
        return []
    if not hasattr(cache, "get"):
        return ["%s: must be a mapping (type, connstr, prefix, encryption), got %s" % (var, type(cache).__name__)]
    problems = []
    unknown = sorted(str(k) for k in cache if k not in REMOTE_CACHE_KEYS)
    if unknown:
        problems.append("%s: unknown setting(s) %s (known: %s)" % (var, ", ".join(unknown), ", ".join(REMOTE_CACHE_KEYS)))
    kind = cache.get("type") or "database"
    if kind not in REMOTE_CACHE_TYPES:
        return problems + ["%s.type: must be one of %s, got %r" % (var, ", ".join(REMOTE_CACHE_TYPES), kind)]
    connstr = str(cache.get("connstr") or "")
    if kind == "redis" and not re.search(r"(^|,)addr=[^,]+", connstr):
        problems.append("%s.connstr: required for redis, with addr=host:port (e.g. addr=127.0.0.1:6379,db=0,"
                        "password=...)" % var)
    if kind == "memcached" and not re.match(r"^[^,\s]+:[0-9]+$", connstr):
        problems.append("%s.connstr: required for memcached, as host:port (e.g. 127.0.0.1:11211)" % var)
    if "\n" in connstr or '"""' in connstr:
        problems.append('%s.connstr: must be one line without three double quotes (""") in a row' % var)
    return problems


def ha_members(groups, hostvars, group, me, my_settings):
    """The hosts of ``grafana_ha_group`` as ha.mesh_settings() takes them (name, address,
    listen_address, cluster_*); host ``me`` is described by ``my_settings`` (the role's variables,
    defaults included), the others by their host variables (grafana_listen_address,
    grafana_alerting_ha_listen_address, grafana_alerting_ha_advertise_address,
    grafana_alerting_ha_peers)."""
    keys = {"listen_address": "grafana_listen_address",
            "cluster_listen_address": "grafana_alerting_ha_listen_address",
            "cluster_advertise_address": "grafana_alerting_ha_advertise_address",
            "cluster_peers": "grafana_alerting_ha_peers"}
    members = []
    for name in ha.group_members(groups, group):
        if name == me:
            values = dict((key, my_settings.get(key)) for key in keys)
        else:
            host_vars = hostvars[name] if name in hostvars else {}
            values = dict((key, host_vars.get(variable)) for key, variable in keys.items())
        host_vars = hostvars[name] if name in hostvars else {}
        values.update(name=name, address=host_vars.get("ansible_host") or name)
        members.append(values)
    return members


def alerting_ha(me, members, port=DEFAULT_ALERTING_HA_PORT, peers=None):
    """The [unified_alerting] ha_* settings of host ``me``: ``{}`` (no HA) unless the group has two
    or more hosts or the host lists its peers. ha_peers lists every member, this one included, in
    inventory order, as Grafana's HA guide writes it (one ha_peers line for all instances): each
    member's advertise address, else its listen address when that names a host, else its
    inventory address on ``port``."""
    if not any(m["name"] == me for m in members):
        members = [{"name": me, "address": me}]
    mine = [m for m in members if m["name"] == me][0]
    mine = dict(mine, cluster_peers=list(peers or mine.get("cluster_peers") or []))
    members = [mine if m["name"] == me else m for m in members]
    mesh = ha.mesh_settings(me, members, mode="mesh" if mine["cluster_peers"] else "auto", port=port)
    if not mesh["enabled"]:
        return {}
    out = {"ha_listen_address": mesh["listen_address"]}
    if mesh["advertise_address"]:
        out["ha_advertise_address"] = mesh["advertise_address"]
    if mine["cluster_peers"]:
        out["ha_peers"] = ",".join(mesh["peers"])
        return out
    listen_host = split_address(mesh["listen_address"])[0].strip("[]")
    own = mesh["advertise_address"] or (mesh["listen_address"] if listen_host not in ("", "0.0.0.0", "::") else
                                        _join_host_port(mine.get("address") or me, port))
    others = iter(mesh["peers"])
    out["ha_peers"] = ",".join(own if m["name"] == me else next(others) for m in members)
    return out


def ha_problems(group, members, me, database, member_databases):
    """Problems of a set of Grafana replicas (``grafana_ha_group``): the group must exist and hold
    this host; two or more replicas cannot use sqlite3 (each would have its own grafana.db); the
    replicas must name the same database (``member_databases``: {host: grafana_database as its
    host variables set it, None when unset}). Values are never printed."""
    if not group:
        return []
    names = [m["name"] for m in members]
    if not names:
        return ["grafana_ha_group: there is no inventory group %r (or it has no hosts)" % group]
    if me not in names:
        return ["grafana_ha_group: this host (%s) is not in the group %r it names (%s)" % (me, group, ", ".join(names))]
    problems = []
    kind = (database or {}).get("type") or "sqlite3"
    if len(names) >= 2 and kind == "sqlite3":
        problems.append(
            "grafana_database.type: sqlite3 (the default) cannot be shared by the %d replicas of grafana_ha_group %r "
            "(%s): each would write its own grafana.db; set grafana_database to a postgres or mysql database "
            "every replica reaches" % (len(names), group, ", ".join(names)))

    def where(db):
        db = db or {}
        kind = db.get("type") or "sqlite3"
        port = db.get("port") or DATABASE_DEFAULT_PORTS.get(kind)
        return (kind, db.get("host"), str(port), db.get("name") or "grafana")

    mine = where(database)
    for name in names:
        other = member_databases.get(name)
        if name != me and other is not None and hasattr(other, "get") and where(other) != mine:
            problems.append("grafana_database: the replicas of grafana_ha_group %r must share one database, and its "
                            "type, host, port or name differs between %s and %s (set it for the group, not per host)"
                            % (group, me, name))
            break
    return problems


def _mask_value(key, value):
    lowered = key.lower()
    if not value:
        return value
    if re.search(r"password|secret|token|api_key", lowered):
        return REDACTED
    if lowered in ("connstr", "provider_config", "url"):
        value = re.sub(r"(password=)[^,;\s]*", r"\1" + REDACTED, value)
        value = re.sub(r"(://[^:/@\s]*:)[^@/\s]*@", r"\1" + REDACTED + "@", value)
    return value


def mask_ini(text):
    """grafana.ini text with every secret value replaced by <redacted> (keys naming a password,
    secret or token; the password of a connstr, provider_config or url), for --diff."""
    data = parse_ini(text or "")
    masked = {}
    for section, values in data.items():
        if isinstance(values, dict):
            masked[section] = dict((k, _mask_value(k, v)) for k, v in values.items())
        else:
            masked[section] = _mask_value(section, values)
    return render_ini(masked) if masked else ""


# --------------------------------------------------------------------------- datasources

def slug_uid(name):
    """A stable datasource uid from its name: lowercase slug, at most 40 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(name).strip().lower()).strip("-")
    return slug[:40].strip("-") or "datasource"


def normalize_datasources(datasources):
    """Datasources as written to provisioning: every entry gets a stable uid (from its name when
    unset) and ``access: proxy`` unless set. The input is left untouched."""
    out = []
    for entry in datasources or []:
        if not isinstance(entry, dict):
            out.append(entry)
            continue
        item = dict(entry)
        if not item.get("uid") and item.get("name"):
            item["uid"] = slug_uid(item["name"])
        item.setdefault("access", "proxy")
        out.append(item)
    return out


# Trace links of a Tempo datasource (Grafana's "Provision the Tempo data source"; docs/tempo.md):
# the jsonData block, the datasource type it must point to, and what the link is called.
TEMPO_LINKS = (("tracesToLogsV2", ("loki",), "trace to logs"),
               ("tracesToMetrics", ("prometheus",), "trace to metrics"))
# Span attribute -> label: the log agents label every stream with service (log_agent_model.py).
TEMPO_DEFAULT_TAGS = ({"key": "service.name", "value": "service"},)


def tempo_datasource(settings):
    """The Tempo datasource the grafana role provisions from ``settings`` (url; optional name, uid,
    logs_datasource_uid, metrics_datasource_uid, tags, span_start_shift, span_end_shift,
    metrics_queries)."""
    tags = [dict(tag) for tag in (settings.get("tags") or TEMPO_DEFAULT_TAGS)]
    start, end = settings.get("span_start_shift") or "-5m", settings.get("span_end_shift") or "5m"
    metrics = {"datasourceUid": settings.get("metrics_datasource_uid") or "prometheus",
               "spanStartTimeShift": start, "spanEndTimeShift": end, "tags": [dict(t) for t in tags]}
    if settings.get("metrics_queries"):
        metrics["queries"] = [dict(q) for q in settings["metrics_queries"]]
    return {
        "name": settings.get("name") or "Tempo",
        "type": "tempo",
        "uid": settings.get("uid") or "tempo",
        "url": settings.get("url"),
        "access": "proxy",
        "jsonData": {
            "tracesToLogsV2": {"datasourceUid": settings.get("logs_datasource_uid") or "loki",
                               "spanStartTimeShift": start, "spanEndTimeShift": end, "tags": tags,
                               "filterByTraceID": True, "filterBySpanID": False},
            "tracesToMetrics": metrics,
            "nodeGraph": {"enabled": True},
        },
    }


def _tempo_link_problems(where, json_data, types_by_uid):
    problems = []
    if "tracesToLogs" in json_data:
        problems.append("%s: jsonData.tracesToLogs is the old trace to logs block: use tracesToLogsV2 "
                        "(datasourceUid, tags, spanStartTimeShift...)" % where)
    for block, wanted, what in TEMPO_LINKS:
        link = json_data.get(block)
        if link is None:
            continue
        if not isinstance(link, dict):
            problems.append("%s: jsonData.%s must be a dict" % (where, block))
            continue
        uid = link.get("datasourceUid")
        if uid not in types_by_uid:
            problems.append("%s: jsonData.%s.datasourceUid %r is not the uid of a provisioned datasource "
                            "(provisioned: %s)" % (where, block, uid, ", ".join(sorted(types_by_uid)) or "none"))
        elif types_by_uid[uid] not in wanted:
            problems.append("%s: jsonData.%s.datasourceUid %r is a %s datasource; %s needs %s"
                            % (where, block, uid, types_by_uid[uid], what, " or ".join(wanted)))
        tags = link.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, dict) and t.get("key") for t in tags):
            problems.append("%s: jsonData.%s.tags must be a list of {key, value}" % (where, block))
    return problems


def datasource_problems(datasources, var="grafana_datasources"):
    """Problems of a provisioning datasource list: name/type/url, unique uids and names,
    one default, SigV4 settings."""
    problems = []
    if not isinstance(datasources, list):
        return ["%s: must be a list of datasources, got %s" % (var, type(datasources).__name__)]
    uids = {}
    names = {}
    defaults = []
    # Every provisioned uid and its type, for the links of a Tempo datasource.
    types_by_uid = {}
    for entry in datasources:
        if isinstance(entry, dict) and (entry.get("uid") or entry.get("name")):
            types_by_uid.setdefault(entry.get("uid") or slug_uid(entry["name"]), entry.get("type"))
    for index, entry in enumerate(datasources):
        where = "%s[%d]" % (var, index)
        if not isinstance(entry, dict):
            problems.append("%s: must be a dict, got %s" % (where, type(entry).__name__))
            continue
        if entry.get("name"):
            where = "%s (name %r)" % (where, entry["name"])
        for key in ("name", "type"):
            if not entry.get(key):
                problems.append("%s: %s is required" % (where, key))
        ds_type = entry.get("type")
        if ds_type and ds_type not in URL_OPTIONAL_TYPES and not entry.get("url"):
            problems.append("%s: url is required for type %s" % (where, ds_type))
        url = entry.get("url")
        if url and not re.match(r"^[a-z][a-z0-9+.-]*://", str(url)):
            problems.append("%s: url must be absolute (http://host:port), got %r" % (where, url))
        uid = entry.get("uid") or (slug_uid(entry["name"]) if entry.get("name") else None)
        if uid is not None:
            if not UID_PATTERN.match(str(uid)):
                problems.append("%s: uid %r must be at most 40 characters of a-z, A-Z, 0-9, - and _" % (where, uid))
            if uid in uids:
                problems.append("%s: uid %r is also the uid of %s" % (where, uid, uids[uid]))
            else:
                uids[uid] = where
        if entry.get("name"):
            if entry["name"] in names:
                problems.append("%s: name is also used by %s" % (where, names[entry["name"]]))
            else:
                names[entry["name"]] = where
        if entry.get("isDefault"):
            defaults.append(where)
        json_data = entry.get("jsonData") or {}
        if not isinstance(json_data, dict):
            problems.append("%s: jsonData must be a dict" % where)
            json_data = {}
        if json_data.get("sigV4Auth") and not json_data.get("sigV4Region"):
            problems.append("%s: jsonData.sigV4Region is required with sigV4Auth (the AMP workspace's region)" % where)
        if ds_type == "cloudwatch" and not json_data.get("defaultRegion"):
            problems.append("%s: jsonData.defaultRegion is required for CloudWatch" % where)
        if ds_type == "tempo":
            problems.extend(_tempo_link_problems(where, json_data, types_by_uid))
        secure = entry.get("secureJsonData")
        if secure is not None and not isinstance(secure, dict):
            problems.append("%s: secureJsonData must be a dict" % where)
    if len(defaults) > 1:
        problems.append("%s: only one datasource may be isDefault, got %s" % (var, ", ".join(defaults)))
    return problems


# --------------------------------------------------------------------------- dashboards

def parse_dashboard(text, source):
    """Parse dashboard JSON; on error raise ProvisioningError naming the file, line and column."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            raise ProvisioningError("%s: invalid JSON: %s" % (source, exc))
        raise ProvisioningError("%s: invalid JSON at line %s column %s: %s"
                                % (source, line, getattr(exc, "colno", "?"), getattr(exc, "msg", exc)))
    if not isinstance(value, dict):
        raise ProvisioningError("%s: a dashboard is a JSON object, got %s" % (source, type(value).__name__))
    return value


def datasource_refs(dashboard):
    """Every datasource reference of a dashboard: ``(kind, ref)`` with kind ``uid`` or ``name``.

    Walked with ``dashboard_transforms.iter_datasource_refs`` (panels, collapsed rows, targets,
    variables, annotations). Variables (``$ds``, ``${DS_X}``, ``[[ds]]``) and Grafana's built-in
    pseudo datasources are skipped.
    """
    refs = []
    for _where, ref, _target in iter_datasource_refs(dashboard):
        kind, value = ("uid", ref.get("uid")) if isinstance(ref, dict) else ("name", ref)
        if isinstance(value, str) and value and value not in _BUILTIN_REFS \
                and DatasourceResolver.variable_name(value) is None and not value.startswith("$"):
            refs.append((kind, value))
    return refs


def dashboard_problems(dashboards, datasources):
    """Problems of prepared dashboards ``[(source, dashboard dict)]`` against the provisioned
    datasources: unknown datasource uids or names, duplicate dashboard uids."""
    problems = []
    known_uids = set()
    known_names = set()
    for entry in normalize_datasources(datasources):
        if isinstance(entry, dict):
            if entry.get("uid"):
                known_uids.add(entry["uid"])
            if entry.get("name"):
                known_names.add(entry["name"])
    seen = {}
    for source, dashboard in dashboards:
        uid = dashboard.get("uid")
        if uid:
            if uid in seen:
                problems.append("%s: dashboard uid %r is also the uid of %s" % (source, uid, seen[uid]))
            else:
                seen[uid] = source
        refs = datasource_refs(dashboard)
        missing_uids = sorted(set(ref for kind, ref in refs if kind == "uid") - known_uids)
        missing_names = sorted(set(ref for kind, ref in refs if kind == "name") - known_names - known_uids)
        if missing_uids:
            problems.append("%s: references datasource uid(s) %s that no provisioned datasource has (known: %s); "
                            "map them with grafana_dashboard_datasource_uids or add the datasources"
                            % (source, ", ".join(missing_uids), ", ".join(sorted(known_uids)) or "none"))
        if missing_names:
            problems.append("%s: references datasource(s) by name %s that are not provisioned"
                            % (source, ", ".join(missing_names)))
    return problems


# --------------------------------------------------------------------------- users and roles

def user_problems(users, var="grafana_users"):
    """Problems of the user list: a login or email each, a known org role, unique logins."""
    problems = []
    seen = set()
    for index, user in enumerate(users or []):
        where = "%s[%d]" % (var, index)
        if not isinstance(user, dict):
            problems.append("%s: must be a dict" % where)
            continue
        key = user.get("login") or user.get("email")
        if not key:
            problems.append("%s: login or email is required" % where)
        elif key in seen:
            problems.append("%s: %s is listed twice" % (where, key))
        seen.add(key)
        if user.get("role", "Viewer") not in ORG_ROLES:
            problems.append("%s: role must be one of %s, got %r" % (where, ", ".join(ORG_ROLES), user.get("role")))
        if user.get("password") is not None and str(user.get("password")) in ("", "admin"):
            problems.append("%s: password must not be empty or 'admin'" % where)
    return problems


def role_attribute_path(users, default_role="Viewer"):
    """A JMESPath for ``[auth.generic_oauth] role_attribute_path`` mapping the users' emails to
    their roles (highest role first), so that OAuth logins get the role listed in ``users``."""
    by_role = dict((role, []) for role in ORG_ROLES)
    for user in users or []:
        if isinstance(user, dict) and user.get("email"):
            by_role.setdefault(user.get("role", "Viewer"), []).append(str(user["email"]))
    parts = []
    for role in ("Admin", "Editor", "Viewer"):
        emails = sorted(set(by_role.get(role) or []))
        if emails and role != default_role:
            listed = ", ".join("'%s'" % email.replace("'", "") for email in emails)
            parts.append("contains([%s], email) && '%s'" % (listed, role))
    parts.append("'%s'" % default_role)
    return " || ".join(parts)
