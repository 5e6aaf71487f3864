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

import hashlib
import json
import re

from ansible_collections.monitoring.stack.plugins.module_utils.common import (
    MonitoringError,
    failure_message,
    plain_copy,
)
from ansible_collections.monitoring.stack.plugins.module_utils.promql import PromQLError, inject_label

# Grafana uids (dashboards, folders, datasources): at most 40 of these characters.
UID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
IMPORT_KEYS = ("__inputs", "__requires", "__elements")
# Keys the server sets or that only describe one installation; never compared.
SERVER_KEYS = ("id", "version", "iteration", "schemaVersion")
PROMETHEUS_TYPES = ("prometheus", "grafana-amazonprometheus-datasource")
MIXED = "-- Mixed --"
# Grafana's pseudo datasources: not a server datasource, never queried with PromQL.
BUILTIN_DATASOURCES = (MIXED, "-- Grafana --", "-- Dashboard --", "grafana")
# Top-level key where grafana_dashboards records {"source": fingerprint of what produced the
# dashboard, "content": content_hash of what it saved, "notes": [...]}. Its "__" prefix keeps it
# out of every compare (normalize_for_compare); prepare_dashboard drops a copy found in a source.
SYNC_MARKER = "__monitoringStackSync"
# Part of that fingerprint: bump it whenever prepare_dashboard's output for the same input and
# options changes, so that dashboards saved before are transformed and compared again.
TRANSFORM_VERSION = "1"
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
# A datasource reference that is a dashboard variable: $ds, ${ds}, ${ds:raw}, [[ds]].
_VARIABLE_REF = re.compile(r"^(?:\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\])$")


class DashboardError(MonitoringError, ValueError):
    """The dashboard cannot be prepared; the message says what to fix.

    ``str()`` is the cause (and hint), which the modules put after "Failed to prepare dashboard: ";
    ``message`` is that whole sentence (common.failure_message).
    """

    def __init__(self, cause, hint=None, action="prepare dashboard"):
        MonitoringError.__init__(self, action, cause, hint)
        self.args = ("%s. Hint: %s" % (cause.rstrip("."), hint) if hint else cause,)

    @property
    def message(self):
        return failure_message(self.action, self.cause, self.hint)


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
                    "datasource input %s (type %s) is ambiguous: %s match" % (name, plugin, _describe(same_type)),
                    "map it with datasource_uids: {%s: <uid>}" % name)
        if choice is None:
            raise DashboardError(
                "datasource input %s (type %s) cannot be resolved: the server has %s"
                % (name, plugin or "unknown", _describe(servers)),
                "create the datasource first, or map it with datasource_uids: {%s: <uid>}" % name)
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
                elif isinstance(item, dict) and "uid" not in item and item.get("name") in mapping:  # v2 DataQuery
                    item = dict(item, name=mapping[item["name"]])
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


def section_list(dashboard, key):
    """``dashboard[key]["list"]`` (templating, annotations) when it is a list, else []."""
    section = dashboard.get(key)
    items = section.get("list") if isinstance(section, dict) else None
    return items if isinstance(items, list) else []


def _title(panel):
    return panel.get("title") or "(untitled panel)"


def iter_datasource_refs(dashboard):
    """Every datasource reference of a dashboard with what it serves: ``(where, ref, target)``.

    In order: each panel (collapsed rows and the old ``rows`` layout included) as
    ``({"panel": title}, its reference, None)``, followed by its targets as ``({"panel": title,
    "ref_id": refId}, reference, target)``; then the query and ad hoc variables as
    ``({"variable": name}, reference, variable)``; then the annotations as ``({"annotation":
    name}, reference, annotation)``. A target's reference is its own, else its panel's (a target
    of a Mixed panel without one uses the default datasource). ``None`` stands for the default
    datasource. The doctor, the provisioning checks and the transforms all walk dashboards with it.

    A schema v2 dashboard (resource or spec) is walked the same way through its own shapes: the
    queries of its Panel elements, its QueryVariable / AdhocVariable variables and its annotations,
    each reference given as ``{"type": <DataQuery group>, "uid": <datasource.name>}`` (v2_ref) and
    each holder the object with the query text (the DataQuery ``spec``; a variable's own ``spec``).
    v2 panels have no panel-level reference (none is yielded for them).
    """
    if is_schema_v2(dashboard):
        yield from _iter_v2_refs(v2_spec(dashboard))
        return
    for panel in all_panels(dashboard):
        panel_ref = panel.get("datasource")
        yield {"panel": _title(panel)}, panel_ref, None
        for target in panel.get("targets") or []:
            if not isinstance(target, dict):
                continue
            ref = target.get("datasource")
            if _is_empty_ref(ref):
                ref = None if _is_mixed(panel_ref) else panel_ref
            yield {"panel": _title(panel), "ref_id": target.get("refId")}, ref, target
    for var in section_list(dashboard, "templating"):
        if isinstance(var, dict) and var.get("type") in ("query", "adhoc"):
            yield {"variable": var.get("name")}, var.get("datasource"), var
    for annotation in section_list(dashboard, "annotations"):
        if isinstance(annotation, dict):
            yield {"annotation": annotation.get("name")}, annotation.get("datasource"), annotation


def v2_spec(dashboard):
    """The spec of a schema v2 resource ({apiVersion, kind, metadata, spec}), or the spec itself."""
    if str(dashboard.get("apiVersion") or "").startswith("dashboard.grafana.app/v2") and isinstance(dashboard.get("spec"), dict):
        return dashboard["spec"]
    return dashboard


def _v2_items(spec, key):
    items = spec.get(key)
    return [item for item in items if isinstance(item, dict) and isinstance(item.get("spec"), dict)] \
        if isinstance(items, list) else []


def v2_ref(query, fallback=None):
    """A v2 DataQuery's datasource as a classic ``{type, uid}`` reference (None when it names
    neither). v2beta1/v2: ``group`` is the plugin type, ``datasource.name`` the uid; v2alpha1 put the
    type in ``kind`` and the reference (``{type, uid}``) beside the query (``fallback``)."""
    query = query if isinstance(query, dict) else {}
    ds_type = query.get("group") or (query.get("kind") if query.get("kind") not in (None, "", "DataQuery") else None)
    source = query.get("datasource") if isinstance(query.get("datasource"), dict) else {}
    uid = source.get("name") or source.get("uid")
    if isinstance(fallback, dict):
        ds_type = ds_type or fallback.get("type")
        uid = uid or fallback.get("uid")
    if not ds_type and not uid:
        return None
    return {"type": ds_type or None, "uid": uid or None}


def _iter_v2_refs(spec):
    elements = spec.get("elements") if isinstance(spec.get("elements"), dict) else {}
    for element in elements.values():
        if not isinstance(element, dict) or element.get("kind") != "Panel" or not isinstance(element.get("spec"), dict):
            continue
        panel = element["spec"]
        data = panel.get("data") if isinstance(panel.get("data"), dict) else {}
        group = data.get("spec") if isinstance(data.get("spec"), dict) else {}
        for query in _v2_items(group, "queries"):
            inner = query["spec"].get("query") if isinstance(query["spec"].get("query"), dict) else {}
            holder = inner.get("spec") if isinstance(inner.get("spec"), dict) else None
            where = {"panel": _title(panel), "ref_id": query["spec"].get("refId")}
            yield where, v2_ref(inner, query["spec"].get("datasource")), holder
    for var in _v2_items(spec, "variables"):
        kind = {"QueryVariable": "query", "AdhocVariable": "adhoc"}.get(var.get("kind"))
        if kind:
            yield ({"variable": var["spec"].get("name"), "type": kind},
                   v2_ref(var["spec"].get("query"), var["spec"].get("datasource")), var["spec"])
    for annotation in _v2_items(spec, "annotations"):
        query = annotation["spec"].get("query") if isinstance(annotation["spec"].get("query"), dict) else {}
        holder = query.get("spec") if isinstance(query.get("spec"), dict) else None
        yield {"annotation": annotation["spec"].get("name")}, v2_ref(query, annotation["spec"].get("datasource")), holder


def _is_empty_ref(ref):
    return ref in (None, "") or (isinstance(ref, dict) and not ref.get("type") and not ref.get("uid"))


def _is_mixed(ref):
    return ref == MIXED or (isinstance(ref, dict) and ref.get("uid") == MIXED)


def describe_where(where):
    """``{"panel": "p", "ref_id": "A"}`` -> "panel 'p' target A" (and variable / annotation)."""
    if "variable" in where:
        return "variable %r" % where["variable"]
    if "annotation" in where:
        return "annotation %r" % where["annotation"]
    if "ref_id" in where:
        return "panel %r target %s" % (where["panel"], where["ref_id"] or "?")
    return "panel %r" % where["panel"]


class DatasourceResolver(object):
    """The datasource type behind a ``datasource`` reference, from what is known: the type a
    reference carries, the dashboard's datasource variables, ``__inputs`` types and the
    server's datasources (by uid or name). Unknown is None: a name or the default datasource
    without the server's datasources, a name the server does not have."""

    def __init__(self, dashboard, datasources=None, input_types=None):
        servers = _datasource_list(datasources)
        self.has_servers = bool(servers)
        self.by_key = {}
        for ds in servers:
            for key in (ds.get("uid"), ds.get("name")):
                if key:
                    self.by_key.setdefault(key, ds)
        defaults = [ds for ds in servers if ds.get("isDefault")]
        if not defaults and servers and len(set(ds.get("type") for ds in servers)) == 1:
            defaults = servers[:1]  # whichever Grafana takes as default has that type
        self.default = defaults[0] if defaults else None
        self.input_types = input_types or {}
        self.variables = {}
        for var in section_list(dashboard, "templating"):
            if isinstance(var, dict) and var.get("type") == "datasource" and var.get("name"):
                self.variables[var["name"]] = var.get("query") if isinstance(var.get("query"), str) else None
        if is_schema_v2(dashboard):  # DatasourceVariable: the plugin type is spec.pluginId
            for var in _v2_items(v2_spec(dashboard), "variables"):
                if var.get("kind") == "DatasourceVariable" and var["spec"].get("name"):
                    plugin = var["spec"].get("pluginId")
                    self.variables[var["spec"]["name"]] = plugin if isinstance(plugin, str) else None

    def type_of(self, ref):
        """The plugin type of ``ref``; None for unknown; ``MIXED`` for a Mixed panel."""
        if _is_empty_ref(ref) or ref == "default":
            return self.default.get("type") if self.default else None
        if isinstance(ref, dict):
            if ref.get("type") and ref["type"] != "datasource":
                return ref["type"]
            ref = ref.get("uid")
        if not isinstance(ref, str):
            return None
        if ref in BUILTIN_DATASOURCES:
            return ref
        name = self.variable_name(ref)
        if name is not None:
            if name in self.variables:
                return self.variables[name]
            return self.input_types.get(name)
        return (self.by_key.get(ref) or {}).get("type")

    @staticmethod
    def variable_name(ref):
        match = _VARIABLE_REF.match(ref) if isinstance(ref, str) else None
        return next(group for group in match.groups() if group) if match else None

    def reference(self, ref):
        """``ref`` as a ``{type, uid}`` reference (for a new variable), or None when unknown."""
        ds_type = self.type_of(ref)
        if ds_type is None or ds_type in BUILTIN_DATASOURCES:
            return None
        if _is_empty_ref(ref) or ref == "default":
            return {"type": ds_type, "uid": self.default.get("uid")} if self.default else None
        uid = ref.get("uid") if isinstance(ref, dict) else ref
        if not isinstance(uid, str) or not uid:
            return None
        name = self.variable_name(uid)
        if name is not None:
            return {"type": ds_type, "uid": "${%s}" % name}
        server = self.by_key.get(uid)
        return {"type": ds_type, "uid": server.get("uid") if server else uid}


def _is_prometheus(ds_type):
    return ds_type in PROMETHEUS_TYPES


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


def environment_variable_v2(label="environment", datasource=None):
    """The same ``$<label>`` variable as a schema v2 QueryVariable (the enum spellings of the v2
    variables reference: hide dontHide, refresh onTimeRangeChanged, sort alphabeticalAsc)."""
    classic = environment_variable(label)
    query = {"kind": "DataQuery", "group": (datasource or {}).get("type") or "prometheus", "version": "v0",
             "spec": dict(classic["query"])}
    if datasource and datasource.get("uid"):
        query["datasource"] = {"name": datasource["uid"]}
    query = dict((key, query[key]) for key in ("kind", "group", "version", "datasource", "spec") if key in query)
    return {"kind": "QueryVariable", "spec": {
        "name": label, "label": label, "description": "",
        "current": {"text": classic["current"]["text"], "value": classic["current"]["value"]},
        "hide": "dontHide", "refresh": "onTimeRangeChanged", "skipUrlSync": False, "query": query,
        "regex": "", "sort": "alphabeticalAsc", "definition": classic["definition"], "options": [],
        "multi": True, "includeAll": True, "allValue": classic["allValue"], "allowCustomValue": True}}


_LABEL_VALUES_OF_LABEL = re.compile(r"^label_values\(\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\)$")
_LABEL_VALUES = re.compile(r"^label_values\((?P<body>.*),\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\)$", re.S)
_QUERY_RESULT = re.compile(r"^query_result\((?P<body>.*)\)$", re.S)


def _inject_variable_query(query, label, value):
    """Add the matcher to a Prometheus variable query: (new query, notes).

    ``label_values(job)`` becomes ``label_values({job!="",<label>=~"<value>"}, job)``: the
    ``job!=""`` keeps a selector Prometheus accepts when "All" (``.*``) is selected, and
    selects the same series (those that have the label).
    """
    text = query.strip()
    matcher = '%s=~"%s"' % (label, value)
    match = _LABEL_VALUES_OF_LABEL.match(text)
    if match:
        if match.group("label") == label:
            return query, ["it lists the values of %s itself: left without %s" % (label, matcher)]
        return 'label_values({%s!="",%s}, %s)' % (match.group("label"), matcher, match.group("label")), []
    match = _LABEL_VALUES.match(text)
    if match:
        if match.group("label") == label:
            return query, ["it lists the values of %s itself: left without %s" % (label, matcher)]
        body, notes = inject_label(match.group("body").strip(), label, value)
        return "label_values(%s, %s)" % (body, match.group("label")), notes
    match = _QUERY_RESULT.match(text)
    if match:
        body, notes = inject_label(match.group("body").strip(), label, value)
        return "query_result(%s)" % body, notes
    if re.match(r"^(label_values|label_names|metrics|series)\s*\(", text):
        return query, ["%s has no series selector to filter: left without %s" % (text, matcher)]
    return inject_label(query, label, value)


def prepare_dashboard(dashboard, *, datasource_uids=None, datasources=None, add_environment=False,
                      environment_label="environment", drop_tags=(), uid=None, report=None, source=None):
    """Return a copy of ``dashboard`` ready for ``POST /api/dashboards/db``.

    - ``__inputs`` placeholders (``${DS_PROMETHEUS}``...) are resolved to datasource UIDs from
      ``datasource_uids`` (keyed by input name) or the server's ``datasources`` list
      (``[{uid, name, type, isDefault}]``), and the export-only keys ``__inputs``,
      ``__requires``, ``__elements`` are removed;
    - literal datasource UIDs that are keys of ``datasource_uids`` are remapped;
    - with ``add_environment``, ``<label>=~"$<label>"`` is added to every PromQL selector of every
      query whose datasource is known to be Prometheus: panel targets (collapsed rows included),
      query variables and annotations. A reference by name, by variable or to the default
      datasource is typed from the dashboard and ``datasources``; a query whose type stays
      unknown, and every non-Prometheus query (Loki, CloudWatch...), is left as written. A
      ``$<label>`` variable on the dashboard's Prometheus datasource is added (unless one exists);
    - ``drop_tags`` are removed; ``uid`` (or the existing one, or one derived from the title) is
      set; ``id`` is removed (it only means something on one server).

    ``report``, when a list, receives a note for everything left alone that the caller may want
    filtered (unknown datasource types, metric names that are variables, library panels,
    ``__elements``). ``source`` names the dashboard in messages. Raises DashboardError.
    """
    prefix = "%s: " % source if source else ""
    if not isinstance(dashboard, dict):
        raise DashboardError("%sthe dashboard is a %s, not an object" % (prefix, type(dashboard).__name__),
                             'a dashboard is one JSON object ({"title": ..., "panels": [...]})')
    notes = report if report is not None else []
    if is_schema_v2(dashboard):  # the spec is what is stored; the resource's name is the uid
        metadata = dashboard.get("metadata") if isinstance(dashboard.get("metadata"), dict) else {}
        uid = uid or (metadata.get("name") if v2_spec(dashboard) is not dashboard else None)
        dashboard = v2_spec(dashboard)
    result = plain_copy(dashboard)
    if isinstance(result.get("dashboard"), dict) and "panels" not in result and "title" not in result:
        raise DashboardError("%sthis looks like an API response ({dashboard: ..., meta: ...})" % prefix,
                             "pass its 'dashboard' member instead")
    title = result.get("title")
    if isinstance(title, str):
        result["title"] = title.strip()
    result.pop(SYNC_MARKER, None)
    wanted_uid = uid or result.get("uid")
    if not wanted_uid and not result.get("title"):
        raise DashboardError("%sthe dashboard has neither a uid nor a title" % prefix,
                             "set 'uid' or give it a title")
    if not result.get("title"):
        raise DashboardError("%sthe dashboard %s has no title; Grafana refuses to save a dashboard without one"
                             % (prefix, wanted_uid))
    wanted_uid = (wanted_uid or stable_uid(result["title"])).strip()
    if not UID_PATTERN.match(wanted_uid):
        raise DashboardError("%sinvalid dashboard uid %r" % (prefix, wanted_uid),
                             "use at most 40 characters of a-z, A-Z, 0-9, - and _")
    result["uid"] = wanted_uid
    result.pop("id", None)

    mapping = dict(datasource_uids or {})
    inputs = result.get("__inputs") or []
    try:
        resolved = resolve_inputs(inputs, mapping, datasources)
    except DashboardError as exc:
        if not prefix:
            raise
        raise DashboardError(prefix + exc.cause, exc.hint)
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
        try:
            _add_environment(result, environment_label, DatasourceResolver(result, datasources, input_types), notes)
        except DashboardError as exc:
            if not prefix:
                raise
            raise DashboardError(prefix + exc.cause, exc.hint)
    return result


def _unknown_type(ref, types):
    """Why the type of ``ref`` is unknown, for the notes."""
    if _is_empty_ref(ref) or ref == "default":
        if not types.has_servers:
            return "the type of the default datasource is unknown without the server's datasources"
        return "none of the server's datasources is the default datasource (isDefault), so its type is unknown"
    uid = ref.get("uid") if isinstance(ref, dict) else ref
    if types.variable_name(uid) is not None:
        return "the datasource %s is neither a datasource variable nor an __inputs entry" % uid
    if not types.has_servers:
        return "the type of datasource %r is unknown without the server's datasources" % (uid,)
    return "datasource %r is not one of the server's datasources" % (uid,)


def _query_fields(kind, holder):
    """The PromQL-bearing (container, key) pairs of a target, variable or annotation."""
    if kind == "variable":
        query = holder.get("query")
        if isinstance(query, dict) and isinstance(query.get("spec"), dict):  # v2: a DataQuery
            inner = query["spec"]
            return [(inner, "query")] if isinstance(inner.get("query"), str) and inner["query"].strip() else []
        if isinstance(query, dict):
            return [(query, "query")] if isinstance(query.get("query"), str) and query["query"].strip() else []
        return [(holder, "query")] if isinstance(query, str) and query.strip() else []
    fields = [(holder, "expr")] if isinstance(holder.get("expr"), str) and holder["expr"].strip() else []
    inner = holder.get("target")
    if kind == "annotation" and isinstance(inner, dict) and isinstance(inner.get("expr"), str) and inner["expr"].strip():
        fields.append((inner, "expr"))
    return fields


def _add_environment(dashboard, label, types, notes):
    value = "$" + label
    matcher = '%s=~"%s"' % (label, value)
    v2 = is_schema_v2(dashboard)
    library_targets = set(id(target) for panel in all_panels(dashboard) if panel.get("libraryPanel")
                          for target in panel.get("targets") or [])
    library = [panel for panel in all_panels(dashboard) if panel.get("libraryPanel")]
    if v2:  # LibraryPanel elements carry a reference only: their queries live in the library panel
        elements = dashboard.get("elements") if isinstance(dashboard.get("elements"), dict) else {}
        library = [element["spec"] for element in elements.values() if isinstance(element, dict)
                   and element.get("kind") == "LibraryPanel" and isinstance(element.get("spec"), dict)]
    for panel in library:
        lib = panel.get("libraryPanel") if isinstance(panel.get("libraryPanel"), dict) else {}
        notes.append("library panel %r (uid %s) left unchanged: add the %s filter in the library panel itself"
                     % (lib.get("name") or panel.get("title"), lib.get("uid"), label))
    prometheus_refs = []
    for where, ref, holder in list(iter_datasource_refs(dashboard)):
        if holder is None or id(holder) in library_targets:
            continue
        kind = "variable" if "variable" in where else "annotation" if "annotation" in where else "target"
        if kind == "variable" and (where.get("type", holder.get("type")) != "query" or holder.get("name") == label):
            continue
        fields = _query_fields(kind, holder)
        if not fields:
            continue
        ds_type = types.type_of(ref)
        if ds_type is None:
            notes.append("%s: %s: left without %s" % (describe_where(where), _unknown_type(ref, types), matcher))
            continue
        if not _is_prometheus(ds_type):
            continue  # Loki, CloudWatch...: their queries are not PromQL
        prometheus_refs.append(ref)
        for container, key in fields:
            old = container[key]
            try:
                if kind == "variable":
                    new, found = _inject_variable_query(old, label, value)
                else:
                    new, found = inject_label(old, label, value)
            except PromQLError as exc:
                raise DashboardError("%s: invalid PromQL %r: %s" % (describe_where(where), old, exc))
            container[key] = new
            notes.extend("%s: %s" % (describe_where(where), note) for note in found)
            if kind == "variable" and isinstance(holder.get("definition"), str) \
                    and holder["definition"].strip() == old.strip():
                holder["definition"] = new

    if v2:
        _add_environment_variable_v2(dashboard, label, types, prometheus_refs, notes)
        return
    variables = section_list(dashboard, "templating")
    if any(isinstance(var, dict) and var.get("name") == label for var in variables):
        return
    if not prometheus_refs:
        notes.append("no Prometheus query: the $%s variable was not added" % label)
        return
    templating = dashboard.setdefault("templating", {})
    if not isinstance(templating, dict) or not isinstance(templating.setdefault("list", []), list):
        raise DashboardError("templating must be an object with a list of variables ({\"list\": [...]}), got %s"
                             % json.dumps(templating)[:80])
    variables = templating["list"]
    datasource = _prometheus_datasource(variables, types, prometheus_refs)
    position = 0
    name = types.variable_name((datasource or {}).get("uid"))
    for index, var in enumerate(variables):
        if isinstance(var, dict) and var.get("name") == name:
            position = index + 1  # after the datasource variable it uses
    variables.insert(position, environment_variable(label, datasource))


def _add_environment_variable_v2(spec, label, types, prometheus_refs, notes):
    variables = spec.get("variables")
    if variables is None:
        variables = spec["variables"] = []
    if not isinstance(variables, list):
        raise DashboardError("variables must be a list of typed variables ([{\"kind\": ..., \"spec\": ...}]), got %s"
                             % json.dumps(variables)[:80])
    if any(_v2_name(var) == label for var in variables):
        return
    if not prometheus_refs:
        notes.append("no Prometheus query: the $%s variable was not added" % label)
        return
    datasource = None
    position = 0
    for index, var in enumerate(variables):
        if isinstance(var, dict) and var.get("kind") == "DatasourceVariable" and isinstance(var.get("spec"), dict) \
                and var["spec"].get("pluginId") in PROMETHEUS_TYPES and var["spec"].get("name"):
            datasource = {"type": var["spec"]["pluginId"], "uid": "${%s}" % var["spec"]["name"]}
            position = index + 1  # after the datasource variable it uses
            break
    if datasource is None:
        datasource = next((ref for ref in (types.reference(ref) for ref in prometheus_refs) if ref), None)
    variables.insert(position, environment_variable_v2(label, datasource))


def _v2_name(var):
    return var["spec"].get("name") if isinstance(var, dict) and isinstance(var.get("spec"), dict) else None


def _prometheus_datasource(variables, types, prometheus_refs):
    """The dashboard's Prometheus datasource for the new variable: its Prometheus datasource
    variable, else the first Prometheus reference of its queries, else the default."""
    for var in variables:
        if isinstance(var, dict) and var.get("type") == "datasource" and var.get("query") in PROMETHEUS_TYPES \
                and var.get("name"):
            return {"type": var["query"], "uid": "${%s}" % var["name"]}
    for ref in prometheus_refs:
        reference = types.reference(ref)
        if reference:
            return reference
    return None


def is_schema_v2(dashboard):
    """A schema v2 dashboard: the v2 resource (apiVersion dashboard.grafana.app/v2...) or its spec
    (``elements`` and ``layout``, which classic JSON never has at the top level)."""
    if not isinstance(dashboard, dict):
        return False
    if str(dashboard.get("apiVersion") or "").startswith("dashboard.grafana.app/v2"):
        return True
    spec = dashboard.get("spec") if isinstance(dashboard.get("spec"), dict) else dashboard
    return isinstance(spec.get("elements"), dict) and isinstance(spec.get("layout"), dict)


def normalize_for_compare(dashboard):
    """A copy without what the server sets or that differs between installations.

    Drops ``id``, ``version``, ``iteration``, ``schemaVersion`` (migrated by Grafana 12 on
    read) and the ``__*`` keys (export-only keys, SYNC_MARKER), and trims the title, so that a
    stored dashboard and the desired one compare equal when nothing the user manages changed.
    Only the top level is copied: the nested values are the input's own (read, do not modify).
    """
    result = dict(dashboard or {})
    if isinstance(result.get("dashboard"), dict) and isinstance(result.get("meta"), dict):
        result = dict(result["dashboard"])
    for key in list(result):
        if key in SERVER_KEYS or key.startswith("__"):
            result.pop(key)
    if isinstance(result.get("title"), str):
        result["title"] = result["title"].strip()
    return result


def content_hash(dashboard):
    """sha256 of the canonical JSON (sorted keys) of ``normalize_for_compare(dashboard)``: equal
    hashes mean the dashboards compare equal."""
    text = json.dumps(normalize_for_compare(dashboard), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dashboard_uid(dashboard, uid=None):
    """The uid prepare_dashboard gives ``dashboard`` (given, its own, or derived from the title),
    or None when it has none it could use (prepare_dashboard then says why)."""
    if not isinstance(dashboard, dict):
        return None
    if is_schema_v2(dashboard) and v2_spec(dashboard) is not dashboard:
        uid = uid or (dashboard.get("metadata") or {}).get("name")
        dashboard = v2_spec(dashboard)
    title = dashboard.get("title")
    wanted = uid or dashboard.get("uid") or ""
    if not isinstance(title, str) or not title.strip() or not isinstance(wanted, str):
        return None
    wanted = (wanted or stable_uid(title.strip())).strip()
    return wanted if UID_PATTERN.match(wanted) else None


def to_json(value):
    """Canonical JSON text (sorted keys, indented) for diffs."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_json(text, source="<string>"):
    """Parse dashboard JSON: a dict. On invalid JSON, or JSON that is not an object (a list, a
    string, a number), raise DashboardError naming the source (and line and column)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "colno", None)
        reason = getattr(exc, "msg", str(exc))
        if line is not None:
            raise DashboardError("invalid JSON in %s at line %s column %s: %s" % (source, line, column, reason))
        raise DashboardError("invalid JSON in %s: %s" % (source, exc))
    if not isinstance(value, dict):
        kind = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
        raise DashboardError("%s: the JSON is %s, not an object" % (source, kind),
                             'a dashboard file holds one dashboard object ({"title": ..., "panels": [...]}); several '
                             'dashboards go in a directory for monitoring.stack.grafana_dashboards')
    return value
