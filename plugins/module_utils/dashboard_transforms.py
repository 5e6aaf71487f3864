# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure transforms of Grafana dashboard JSON: import leftovers, datasource UIDs, $environment.

Used by the ``grafana_dashboard`` and ``grafana_dashboards`` modules, the grafana role's file
provisioning and the doctor. No Ansible imports; every function returns new data and leaves
its input untouched.

``POST /api/dashboards/db`` stores a dashboard verbatim: it neither resolves ``${DS_...}``
placeholders of an "exported for sharing" dashboard nor drops ``__inputs``/``__requires``/
``__elements`` (only the import endpoint does). ``prepare_dashboard`` does that work here, the
way the import endpoint does it (every ``${NAME}`` of a known input in every string is
replaced; unknown ``${...}`` such as dashboard variables stay).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re

from ansible_collections.monitoring.stack.plugins.module_utils.promql import PromQLError, add_label_matcher

UID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
IMPORT_KEYS = ("__inputs", "__requires", "__elements")
# Keys the server sets or that only describe one installation; never compared.
SERVER_KEYS = ("id", "version", "iteration", "schemaVersion")
PROMETHEUS_TYPES = ("prometheus", "grafana-amazonprometheus-datasource")
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


class DashboardError(ValueError):
    """The dashboard cannot be prepared; the message says what to fix."""


def iter_panels(panels):
    """Every panel, depth first, including panels of collapsed rows (``panels`` of a row)."""
    for panel in panels or []:
        if not isinstance(panel, dict):
            continue
        yield panel
        yield from iter_panels(panel.get("panels"))


def all_panels(dashboard):
    """Panels of ``panels`` (with collapsed rows) and of the old ``rows[].panels`` layout."""
    yield from iter_panels(dashboard.get("panels"))
    for row in dashboard.get("rows") or []:
        if isinstance(row, dict):
            yield from iter_panels(row.get("panels"))


def _datasource_list(datasources):
    return [ds for ds in (datasources or []) if isinstance(ds, dict)]


def _describe(datasources):
    items = ["%s (type %s, uid %s)" % (ds.get("name"), ds.get("type"), ds.get("uid")) for ds in datasources]
    return ", ".join(items) if items else "no datasources"


def resolve_inputs(inputs, datasource_uids=None, datasources=None):
    """Map each ``__inputs`` entry name to its value: {name: {"value": ..., "type": plugin id}}.

    Datasource inputs are resolved from ``datasource_uids`` (by input name) first, then from the
    server's ``datasources`` by plugin type: a datasource named like the input's label wins,
    then the default one, then the only one of that type. Constant inputs use their value.
    Raises DashboardError naming the input, its type and what exists.
    """
    explicit = datasource_uids or {}
    servers = _datasource_list(datasources)
    resolved = {}
    for item in inputs or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        name = item["name"]
        kind = item.get("type", "datasource")
        plugin = item.get("pluginId") or ""
        if kind == "constant":
            resolved[name] = {"value": explicit.get(name, item.get("value", "")), "type": None}
            continue
        if kind != "datasource":
            if name in explicit:
                resolved[name] = {"value": explicit[name], "type": None}
            continue
        if plugin == "__expr__":
            resolved[name] = {"value": "__expr__", "type": "__expr__"}
            continue
        if name in explicit:
            resolved[name] = {"value": explicit[name], "type": plugin or None}
            continue
        same_type = [ds for ds in servers if ds.get("type") == plugin]
        choice = None
        if len(same_type) == 1:
            choice = same_type[0]
        elif same_type:
            named = [ds for ds in same_type if ds.get("name") in (item.get("label"), item.get("pluginName"), name)]
            default = [ds for ds in same_type if ds.get("isDefault")]
            choice = (named or default or [None])[0]
            if choice is None:
                raise DashboardError(
                    "datasource input %s (type %s) is ambiguous: %s match; map it with "
                    "datasource_uids: {%s: <uid>}" % (name, plugin, _describe(same_type), name))
        if choice is None:
            raise DashboardError(
                "datasource input %s (type %s) cannot be resolved: the server has %s. Create the "
                "datasource first, or map it with datasource_uids: {%s: <uid>}"
                % (name, plugin or "unknown", _describe(servers), name))
        resolved[name] = {"value": choice.get("uid"), "type": plugin or choice.get("type")}
    return resolved


def _substitute_inputs(dashboard, resolved):
    def replace_string(text):
        if "${" not in text:
            return text
        return _PLACEHOLDER.sub(lambda m: str(resolved[m.group(1)]["value"]) if m.group(1) in resolved else m.group(0), text)

    def visit(value):
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key == "datasource" and isinstance(item, str):
                    match = _PLACEHOLDER.match(item)
                    if match and match.group(0) == item and match.group(1) in resolved:
                        entry = resolved[match.group(1)]
                        out[key] = {"type": entry["type"], "uid": entry["value"]} if entry["type"] else entry["value"]
                        continue
                out[key] = visit(item)
            return out
        if isinstance(value, list):
            return [visit(item) for item in value]
        if isinstance(value, str):
            return replace_string(value)
        return value

    return visit(dashboard)


def _remap_literal_uids(value, mapping):
    if not mapping:
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "datasource":
                if isinstance(item, dict) and item.get("uid") in mapping:
                    item = dict(item, uid=mapping[item["uid"]])
                elif isinstance(item, str) and item in mapping:
                    item = mapping[item]
            out[key] = _remap_literal_uids(item, mapping)
        return out
    if isinstance(value, list):
        return [_remap_literal_uids(item, mapping) for item in value]
    return value


def stable_uid(title):
    """A uid derived from the title: slug (valid uid characters, at most 40) plus a short hash."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.strip().lower()).strip("-")
    digest = hashlib.sha1(title.strip().encode("utf-8")).hexdigest()[:8]
    return ("%s-%s" % (slug[:31], digest)).strip("-") if slug else digest


class _Datasources(object):
    """Decides the datasource type behind a panel's or target's ``datasource`` reference."""

    def __init__(self, dashboard, datasources, input_types):
        self.by_key = {}
        for ds in _datasource_list(datasources):
            for key in (ds.get("uid"), ds.get("name")):
                if key:
                    self.by_key[key] = ds.get("type")
        self.default = next((ds.get("type") for ds in _datasource_list(datasources) if ds.get("isDefault")), None)
        self.input_types = input_types
        self.variables = {}
        for var in (dashboard.get("templating") or {}).get("list") or []:
            if isinstance(var, dict) and var.get("type") == "datasource" and var.get("name"):
                self.variables[var["name"]] = var.get("query") if isinstance(var.get("query"), str) else None

    def type_of(self, ref, fallback=None):
        """The plugin type of ``ref``; None for "unknown"; "-- Mixed --" for mixed."""
        if ref is None or ref == "":
            return fallback if fallback is not None else self.default
        if isinstance(ref, dict):
            if ref.get("type"):
                return ref["type"]
            ref = ref.get("uid")
            if ref is None:
                return fallback if fallback is not None else self.default
        if not isinstance(ref, str):
            return None
        if ref in ("-- Mixed --", "-- Grafana --", "-- Dashboard --"):
            return ref
        match = re.match(r"^\$\{?([A-Za-z0-9_]+)(?::[a-z]+)?\}?$", ref)
        if match:
            name = match.group(1)
            if name in self.variables:
                return self.variables[name]
            if name in self.input_types:
                return self.input_types[name]
        return self.by_key.get(ref)


def _is_prometheus(ds_type):
    # Unknown types (a datasource name the server list does not have, the default datasource
    # without a server list) are treated as Prometheus: the query is then parsed, and a Loki or
    # other query fails loudly instead of being skipped silently.
    return ds_type is None or ds_type in PROMETHEUS_TYPES


def environment_variable(label="environment", datasource=None):
    """The ``$<label>`` query variable: label_values(up, <label>), multi-value, All allowed."""
    query = "label_values(up, %s)" % label
    variable = {
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "definition": query,
        "hide": 0,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "label": label,
        "name": label,
        "options": [],
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }
    if datasource:
        variable["datasource"] = datasource
    return variable


def _inject_variable_query(query, label, value):
    """Add the matcher to a Prometheus variable query (label_values/query_result or PromQL)."""
    text = query.strip()
    match = re.match(r"^label_values\((?P<body>.*),\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\)$", text, re.S)
    if match:
        return "label_values(%s, %s)" % (add_label_matcher(match.group("body").strip(), label, value),
                                         match.group("label"))
    match = re.match(r"^query_result\((?P<body>.*)\)$", text, re.S)
    if match:
        return "query_result(%s)" % add_label_matcher(match.group("body").strip(), label, value)
    if re.match(r"^(label_values|label_names|metrics|series)\s*\(", text):
        return query  # label_values(label), label_names(), metrics(re): no series selector to filter
    return add_label_matcher(query, label, value)


def prepare_dashboard(dashboard, *, datasource_uids=None, datasources=None, add_environment=False,
                      environment_label="environment", drop_tags=(), uid=None, report=None):
    """Return a copy of ``dashboard`` ready for ``POST /api/dashboards/db``.

    - ``__inputs`` placeholders (``${DS_PROMETHEUS}``...) are resolved to datasource UIDs from
      ``datasource_uids`` (keyed by input name) or the server's ``datasources`` list, and the
      export-only keys ``__inputs``, ``__requires``, ``__elements`` are removed;
    - literal datasource UIDs that are keys of ``datasource_uids`` are remapped;
    - with ``add_environment``, a ``$<environment_label>`` variable is added (unless one exists)
      and ``<label>=~"$<label>"`` is added to every PromQL selector of every Prometheus panel
      target (collapsed rows included) and Prometheus query variable;
    - ``drop_tags`` are removed; ``uid`` (or the existing one, or one derived from the title) is
      set; ``id`` is removed (it only means something on one server).

    ``report``, when a list, receives notes about what was left alone (library panels,
    ``__elements``). Raises DashboardError with a message naming what to fix.
    """
    if not isinstance(dashboard, dict):
        raise DashboardError("a dashboard must be a JSON object, got %s" % type(dashboard).__name__)
    notes = report if report is not None else []
    result = copy.deepcopy(dashboard)
    if isinstance(result.get("dashboard"), dict) and "panels" not in result and "title" not in result:
        raise DashboardError("this looks like an API response ({dashboard: ..., meta: ...}); pass its "
                             "'dashboard' member instead")
    title = result.get("title")
    if isinstance(title, str):
        result["title"] = title.strip()
    wanted_uid = uid or result.get("uid")
    if not wanted_uid and not result.get("title"):
        raise DashboardError("the dashboard has neither a uid nor a title; set 'uid' or give it a title")
    if not result.get("title"):
        raise DashboardError("the dashboard %s has no title; Grafana refuses to save a dashboard without one"
                             % wanted_uid)
    wanted_uid = (wanted_uid or stable_uid(result["title"])).strip()
    if not UID_PATTERN.match(wanted_uid):
        raise DashboardError("invalid dashboard uid %r: use at most 40 characters of a-z, A-Z, 0-9, - and _"
                             % wanted_uid)
    result["uid"] = wanted_uid
    result.pop("id", None)

    mapping = dict(datasource_uids or {})
    inputs = result.get("__inputs") or []
    resolved = resolve_inputs(inputs, mapping, datasources)
    input_names = set(item.get("name") for item in inputs if isinstance(item, dict))
    if resolved:
        result = _substitute_inputs(result, resolved)
    literal = dict((key, value) for key, value in mapping.items() if key not in input_names)
    result = _remap_literal_uids(result, literal)
    if result.get("__elements"):
        notes.append("__elements (library panel models of an export) were dropped: create the library "
                     "panels in Grafana separately")
    for key in IMPORT_KEYS:
        result.pop(key, None)

    if drop_tags:
        result["tags"] = [tag for tag in result.get("tags") or [] if tag not in set(drop_tags)]

    input_types = dict((name, entry["type"]) for name, entry in resolved.items() if entry["type"])
    if add_environment:
        _add_environment(result, environment_label, _Datasources(result, datasources, input_types), notes)
    return result


def _first_prometheus_ref(dashboard, types):
    for panel in all_panels(dashboard):
        for ref in [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets") or [] if isinstance(t, dict)]:
            if isinstance(ref, dict) and ref.get("uid") and types.type_of(ref) in PROMETHEUS_TYPES:
                return {"type": types.type_of(ref), "uid": ref["uid"]}
    return None


def _add_environment(dashboard, label, types, notes):
    value = "$" + label
    templating = dashboard.setdefault("templating", {})
    variables = templating.setdefault("list", [])
    for var in variables:
        if not isinstance(var, dict) or var.get("type") != "query" or var.get("name") == label:
            continue
        if not _is_prometheus(types.type_of(var.get("datasource"))):
            continue
        query = var.get("query")
        try:
            if isinstance(query, str) and query.strip():
                var["query"] = _inject_variable_query(query, label, value)
                if isinstance(var.get("definition"), str) and var["definition"].strip() == query.strip():
                    var["definition"] = var["query"]
            elif isinstance(query, dict) and isinstance(query.get("query"), str) and query["query"].strip():
                old = query["query"]
                query["query"] = _inject_variable_query(old, label, value)
                if isinstance(var.get("definition"), str) and var["definition"].strip() == old.strip():
                    var["definition"] = query["query"]
        except PromQLError as exc:
            raise DashboardError("template variable %r: invalid PromQL query: %s" % (var.get("name"), exc))
    if not any(isinstance(var, dict) and var.get("name") == label for var in variables):
        variables.insert(0, environment_variable(label, _first_prometheus_ref(dashboard, types)))

    for panel in all_panels(dashboard):
        if panel.get("libraryPanel"):
            lib = panel["libraryPanel"]
            notes.append("library panel %r (uid %s) left unchanged: add the %s filter in the library panel itself"
                         % (lib.get("name") or panel.get("title"), lib.get("uid"), label))
            continue
        panel_type = types.type_of(panel.get("datasource"))
        for target in panel.get("targets") or []:
            if not isinstance(target, dict) or not isinstance(target.get("expr"), str) or not target["expr"].strip():
                continue
            ref = target.get("datasource")
            if ref in (None, "") or (isinstance(ref, dict) and not ref.get("type") and not ref.get("uid")):
                ds_type = panel_type
            else:
                ds_type = types.type_of(ref)
            if ds_type == "-- Mixed --" or not _is_prometheus(ds_type):
                continue
            try:
                target["expr"] = add_label_matcher(target["expr"], label, value)
            except PromQLError as exc:
                raise DashboardError("panel %r target %s: invalid PromQL %r: %s"
                                     % (panel.get("title", ""), target.get("refId", "?"), target["expr"], exc))


def normalize_for_compare(dashboard):
    """A copy without what the server sets or that differs between installations.

    Drops ``id``, ``version``, ``iteration``, ``schemaVersion`` (migrated by Grafana 12 on
    read) and the export-only ``__*`` keys, and trims the title, so that a stored dashboard and
    the desired one compare equal when nothing the user manages changed.
    """
    result = copy.deepcopy(dashboard or {})
    if isinstance(result.get("dashboard"), dict) and isinstance(result.get("meta"), dict):
        result = result["dashboard"]
    for key in list(result):
        if key in SERVER_KEYS or key.startswith("__"):
            result.pop(key)
    if isinstance(result.get("title"), str):
        result["title"] = result["title"].strip()
    return result


def dashboards_equal(desired, actual):
    return normalize_for_compare(desired) == normalize_for_compare(actual)


def to_json(value):
    """Canonical JSON text (sorted keys, indented) for diffs."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_json(text, source="<string>"):
    """Parse dashboard JSON; on error, raise DashboardError naming the source, line and column."""
    try:
        return json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "colno", None)
        reason = getattr(exc, "msg", str(exc))
        if line is not None:
            raise DashboardError("invalid JSON in %s at line %s column %s: %s" % (source, line, column, reason))
        raise DashboardError("invalid JSON in %s: %s" % (source, exc))


# Public name of the datasource-type resolver (the doctor uses it).
DatasourceTypes = _Datasources
