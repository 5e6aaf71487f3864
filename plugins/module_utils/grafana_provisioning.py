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

import json
import re

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
    # Grafana's ini parser strips surrounding whitespace and treats ; and # at the start as a
    # comment: quote with triple quotes (go-ini's literal form) when that would change the value.
    if text != text.strip() or text[:1] in (";", "#") or '"' in text[:1]:
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


def datasource_problems(datasources, var="grafana_datasources"):
    """Problems of a provisioning datasource list: name/type/url, unique uids and names,
    one default, SigV4 settings."""
    problems = []
    if not isinstance(datasources, list):
        return ["%s: must be a list of datasources, got %s" % (var, type(datasources).__name__)]
    uids = {}
    names = {}
    defaults = []
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
