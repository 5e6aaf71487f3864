# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor: find, before anything is deployed, why a dashboard panel would show "No data".

Pure functions, no Ansible imports: the ``doctor`` module reads the inputs and calls ``diagnose``;
unit tests call everything directly. The checks are the troubleshooting table of the ECS/ADOT
field guide (seed 000, section 7) turned into code:

- ``metric_dropped``: a query's metric is removed (or renamed) by a scrape job's
  ``metric_relabel_configs``, evaluated as Prometheus does (``relabel``), or by an ADOT ``filter``
  processor;
- ``unknown_job``: a query names a ``job`` (literal matcher, or a value of a custom/constant
  ``$job`` variable) that no scrape config scrapes;
- ``hardcoded_environment``: ``environment="prod"`` matchers, environment names in titles, tags
  and constant variables, where the ``$environment`` variable belongs; and in ADOT configs, what
  the ``otel_config`` validator reports;
- ``unknown_datasource``: datasource uids, names, ``__inputs`` or datasource variables that no
  given datasource satisfies;
- ``invalid_query``: PromQL that does not parse;
- ``environment_filter`` (opt-in): Prometheus selectors without an ``environment`` matcher.

PromQL is parsed by ``promql.parse`` (Grafana variables replaced by placeholders); relabelling is
``relabel.process``, filter-processor matching the ADOT validator's ``otel.name_matches``; datasource types and
``__inputs`` resolution reuse ``dashboard_transforms``.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.monitoring.stack.plugins.module_utils import otel
from ansible_collections.monitoring.stack.plugins.module_utils.common import is_label_name
from ansible_collections.monitoring.stack.plugins.module_utils import promql
from ansible_collections.monitoring.stack.plugins.module_utils import relabel
from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    DashboardError, PROMETHEUS_TYPES, DatasourceResolver, all_panels, iter_datasource_refs, resolve_inputs)
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_provisioning import normalize_datasources

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

CHECKS = ("invalid_query", "metric_dropped", "unknown_job", "hardcoded_environment", "unknown_datasource",
          "environment_filter")
DEFAULT_CHECKS = CHECKS[:-1]
# Series Prometheus writes itself for every target: metric_relabel_configs never drop them.
SYNTHETIC_METRICS = frozenset(("up", "scrape_duration_seconds", "scrape_samples_scraped",
                               "scrape_samples_post_metric_relabeling", "scrape_series_added"))
BUILTIN_DATASOURCES = frozenset(("-- Mixed --", "-- Grafana --", "-- Dashboard --", "grafana", "default"))
_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
_VAR_REF = re.compile(r"^(?:\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::[A-Za-z]+)?\]\])$")
_HAS_VAR = re.compile(r"\$|\[\[")
_ANY_VALUE = frozenset(("", ".*", ".+"))


class DoctorError(ValueError):
    """An input cannot be read (the message names the file)."""


# --------------------------------------------------------------------------------------------
# reading inputs


def _read(path):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise DoctorError("%s: cannot read: %s" % (path, exc))


def _yaml(text, source):
    if not HAS_YAML:
        raise DoctorError("PyYAML is required to read %s" % source)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DoctorError("%s: invalid YAML: %s" % (source, exc))


def dashboard_files(paths):
    """Every ``*.json`` file of ``paths`` (files, or directories searched recursively), sorted."""
    files = []
    for path in paths or []:
        path = str(path)
        if os.path.isdir(path):
            found = []
            for root, _dirs, names in os.walk(path):
                found.extend(os.path.join(root, name) for name in names if name.endswith(".json"))
            files.extend(sorted(found))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise DoctorError("%s: no such file or directory" % path)
    return files


def load_dashboards(paths):
    """[(source, dashboard dict)] from files and directories; raises DoctorError on bad JSON."""
    out = []
    for path in dashboard_files(paths):
        try:
            value = json.loads(_read(path))
        except ValueError as exc:
            raise DoctorError("%s: invalid JSON: %s" % (path, exc))
        if isinstance(value, dict) and isinstance(value.get("dashboard"), dict) and "panels" not in value:
            value = value["dashboard"]
        if not isinstance(value, dict):
            raise DoctorError("%s: a dashboard is a JSON object, got %s" % (path, type(value).__name__))
        out.append((path, value))
    return out


def load_yaml_files(paths):
    """[(source, parsed YAML)] for each file."""
    return [(str(path), _yaml(_read(str(path)), str(path))) for path in paths or []]


def datasources_from_provisioning(data, source="datasources"):
    """The datasource list of a Grafana provisioning file (``datasources:``), or a plain list."""
    if isinstance(data, dict):
        data = data.get("datasources")
    if not isinstance(data, list):
        raise DoctorError("%s: expected a provisioning file with 'datasources:' or a list of datasources" % source)
    return [ds for ds in data if isinstance(ds, dict)]


# --------------------------------------------------------------------------------------------
# what is scraped


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _job_labels(job):
    """(extra job label values, dynamic) from static labels and relabel_configs of a scrape job."""
    names, dynamic = set(), bool(job.get("honor_labels"))
    for static in _as_list(job.get("static_configs")):
        if isinstance(static, dict) and isinstance(static.get("labels"), dict) and static["labels"].get("job"):
            names.add(str(static["labels"]["job"]))
    for rule in _as_list(job.get("relabel_configs")):
        if not isinstance(rule, dict) or rule.get("target_label") != "job":
            continue
        replacement = str(rule.get("replacement", "$1"))
        if "$" in replacement.replace("$$", ""):
            dynamic = True
        else:
            names.add(replacement.replace("$$", "$"))
    return names, dynamic


def _target_labels(job):
    """(labels every series of the job carries with a known value, labels it carries whose value
    is unknown here): ``instance`` of a single static target, static labels all static configs
    agree on; anything service discovery or ``relabel_configs`` may set is unknown."""
    statics = [s for s in _as_list(job.get("static_configs")) if isinstance(s, dict)]
    discovered = any(key.endswith("_sd_configs") and value for key, value in job.items())
    targets = [str(t) for s in statics for t in _as_list(s.get("targets"))]
    known, unknown = {}, {"instance"}
    if len(targets) == 1 and not discovered:
        known["instance"] = targets[0]
        unknown.discard("instance")
    label_sets = [s.get("labels") if isinstance(s.get("labels"), dict) else {} for s in statics]
    for name in set(n for labels in label_sets for n in labels) - {"job"}:
        values = set(str(labels.get(name, "")) for labels in label_sets)
        if len(values) == 1 and not discovered:
            known[name] = values.pop()
        else:
            unknown.add(name)
    if discovered:
        unknown.add("*")  # discovered targets may carry any label
    for rule in _as_list(job.get("relabel_configs")):
        if isinstance(rule, dict):
            action = str(rule.get("action", "replace")).lower()
            if action in ("labelmap", "labeldrop", "labelkeep"):
                unknown.add("*")
            elif rule.get("target_label"):
                known.pop(str(rule["target_label"]), None)
                unknown.add(str(rule["target_label"]))
    known.pop("job", None)
    unknown.discard("job")
    return known, unknown


def _scrape_entry(job, source, where, filters=(), dollar_escaped=False):
    """One scrape job. ``dollar_escaped``: an ADOT config, whose loader turns ``$$`` into ``$``."""
    names, dynamic = _job_labels(job)
    configs = _as_list(job.get("metric_relabel_configs"))
    try:
        rules, error = relabel.compile_rules(configs, dollar_escaped), None
    except relabel.RelabelError as exc:
        rules, error = [], exc
    known, unknown = _target_labels(job)
    return {"job": str(job.get("job_name")), "source": source, "where": where, "rules": rules, "error": error,
            "labels": names, "dynamic": dynamic, "filters": list(filters),
            "target_labels": known, "unknown_labels": unknown}


def prometheus_scrape_entries(config, source):
    """Scrape jobs of a prometheus.yml (a mapping with scrape_configs, or a list of jobs)."""
    jobs = config.get("scrape_configs") if isinstance(config, dict) else config
    if not isinstance(jobs, list):
        raise DoctorError("%s: no scrape_configs list (expected a prometheus.yml or a list of scrape jobs)" % source)
    return [_scrape_entry(job, source, "scrape_configs[%d] (job %s)" % (index, job.get("job_name")))
            for index, job in enumerate(jobs) if isinstance(job, dict) and job.get("job_name")]


def otel_scrape_entries(config, source):
    """Scrape jobs of every prometheus receiver of an ADOT config's metrics pipelines, with the
    filter processors of the pipeline that carries them."""
    if not isinstance(config, dict):
        raise DoctorError("%s: an ADOT collector config must be a mapping" % source)
    receivers = config.get("receivers") if isinstance(config.get("receivers"), dict) else {}
    processors = config.get("processors") if isinstance(config.get("processors"), dict) else {}
    service = config.get("service") if isinstance(config.get("service"), dict) else {}
    pipelines = service.get("pipelines") if isinstance(service.get("pipelines"), dict) else {}
    entries = []
    for pipeline_id, pipeline in sorted(pipelines.items()):
        if otel.component_type(pipeline_id) != "metrics" or not isinstance(pipeline, dict):
            continue
        filters = [(name, processors[name]) for name in _as_list(pipeline.get("processors"))
                   if otel.component_type(name) == "filter" and isinstance(processors.get(name), dict)]
        for receiver_id in _as_list(pipeline.get("receivers")):
            receiver = receivers.get(receiver_id)
            if otel.component_type(receiver_id) != "prometheus" or not isinstance(receiver, dict):
                continue
            cfg = receiver.get("config") if isinstance(receiver.get("config"), dict) else {}
            for index, job in enumerate(_as_list(cfg.get("scrape_configs"))):
                if isinstance(job, dict) and job.get("job_name"):
                    where = "receivers.%s scrape_configs[%d] (job %s, pipeline %s)" % (
                        receiver_id, index, job["job_name"], pipeline_id)
                    entries.append(_scrape_entry(job, source, where, filters, dollar_escaped=True))
    return entries


def _filter_drop(filters, metric):
    """What drops ``metric`` among the filter processors (the old include/exclude form), or None."""
    for name, proc in filters:
        metrics = proc.get("metrics") if isinstance(proc.get("metrics"), dict) else {}
        include = metrics.get("include") if isinstance(metrics.get("include"), dict) else None
        exclude = metrics.get("exclude") if isinstance(metrics.get("exclude"), dict) else None
        if include is not None and not otel.name_matches(include.get("match_type", "strict"),
                                                         _as_list(include.get("metric_names")), metric):
            return "processors.%s metrics.include %s" % (name, _as_list(include.get("metric_names")))
        if exclude is not None and otel.name_matches(exclude.get("match_type", "strict"),
                                                     _as_list(exclude.get("metric_names")), metric):
            return "processors.%s metrics.exclude %s" % (name, _as_list(exclude.get("metric_names")))
    return None


def unevaluated(entry):
    """Why the relabel rules of ``entry`` cannot be evaluated here, or None."""
    if isinstance(entry["error"], relabel.Unsupported):
        return "%s %s: metric_relabel_configs%s" % (entry["source"], entry["where"], entry["error"])
    return None


def drop_reason(entry, metric, labels=None, job=None):
    """None when the scrape job keeps ``metric``; else (what drops it, the rule's action).

    The series relabelled is ``{__name__: metric, job: job}``, the target labels the scrape
    config fixes, and ``labels`` (the query's literal ``=`` matchers); a rule that decides on a
    label the target carries with a value unknown here (``instance`` of several targets, labels
    from service discovery or ``relabel_configs``) claims nothing. Any other label is taken as
    missing, as on a series without it (a missing label reads as ""), and the reason says so.
    """
    if metric in SYNTHETIC_METRICS or unevaluated(entry):
        return None
    if entry["error"] is not None:
        return ("metric_relabel_configs%s" % entry["error"], "invalid")
    series = dict(entry["target_labels"])
    series.update(labels or {})
    series.update({"__name__": metric, "job": job or entry["job"]})
    unknown = set(entry["unknown_labels"]) - set(labels or {})
    for index, rule in enumerate(entry["rules"]):
        missing = [name for name in rule.source_labels if not series.get(name)]
        reads = set(rule.source_labels) | ({rule.target_label} if rule.action in ("keepequal", "dropequal") else set())
        if reads & unknown or ("*" in unknown and missing):
            # a label value this config does not fix: assume the series passes this filter (a
            # later rule may still drop it for certain); a label written from it becomes unknown
            if rule.action in ("keep", "drop", "keepequal", "dropequal"):
                continue
            target = "*" if "$" in rule.target_label else rule.target_label
            if target in ("*", "__name__"):
                return None
            unknown.add(target)
            series.pop(target, None)
            continue
        after = rule.apply(series)
        assumed = " for a series without %s" % ", ".join(missing) if missing else ""
        if after is None:
            return ("metric_relabel_configs[%d] (action %s, source_labels %s, regex %r)%s"
                    % (index, rule.action, rule.source_labels, rule.regex_text, assumed), rule.action)
        if after.get("__name__") != metric:
            renamed = ("renames it to %s" % after["__name__"] if after.get("__name__")
                       else "removes __name__ (Prometheus fails the whole scrape)")
            return ("metric_relabel_configs[%d] (action %s), which %s%s" % (index, rule.action, renamed, assumed),
                    "rename")
        series = after
    reason = _filter_drop(entry["filters"], metric)
    if reason:
        return (reason, "filter")
    return None


# --------------------------------------------------------------------------------------------
# reading dashboards


def _variables(dashboard):
    return [v for v in (dashboard.get("templating") or {}).get("list") or [] if isinstance(v, dict) and v.get("name")]


def variable_values(variable):
    """The literal values of a custom/constant variable, or None when they come from a query."""
    kind = variable.get("type")
    if kind == "constant":
        return [str(variable.get("query", ""))]
    if kind != "custom":
        return None
    options = [o.get("value") for o in variable.get("options") or [] if isinstance(o, dict)]
    values = [str(v) for v in options if v not in (None, "$__all")]
    if not values and isinstance(variable.get("query"), str):
        for item in re.split(r"(?<!\\),", variable["query"]):
            item = item.strip()
            if " : " in item:
                item = item.split(" : ", 1)[1]
            if item:
                values.append(item)
    return values


def variable_promql(query):
    """The PromQL inside a Prometheus variable query, or None (label_values(label), metrics(...))."""
    if isinstance(query, dict):
        query = query.get("query")
    if not isinstance(query, str) or not query.strip():
        return None
    text = query.strip()
    found = _label_values_query({"query": text})
    if found and found[0]:
        return found[0].strip()
    match = re.match(r"^query_result\((?P<body>.*)\)$", text, re.S)
    if match:
        return match.group("body").strip()
    if re.match(r"^(label_values|label_names|metrics|series)\s*\(", text):
        return None
    return text


def prometheus_queries(dashboard, datasources=None):
    """Every PromQL query of a dashboard: panel targets of Prometheus datasources (collapsed rows
    included) and Prometheus query variables. [{panel, ref_id, expr, variable}]."""
    inputs = [i for i in dashboard.get("__inputs") or [] if isinstance(i, dict)]
    input_types = dict((i["name"], i.get("pluginId")) for i in inputs if i.get("name") and i.get("pluginId"))
    types = DatasourceResolver(dashboard, datasources, input_types)
    queries = []
    for where, ref, holder in iter_datasource_refs(dashboard):
        if holder is None or "annotation" in where:
            continue
        ds_type = types.type_of(ref)
        if ds_type is not None and ds_type not in PROMETHEUS_TYPES:
            continue
        if "variable" in where:
            expr = variable_promql(holder.get("query")) if holder.get("type") == "query" else None
            if expr:
                queries.append({"panel": None, "ref_id": None, "expr": expr, "variable": where["variable"]})
        elif isinstance(holder.get("expr"), str) and holder["expr"].strip():
            queries.append({"panel": where["panel"], "ref_id": holder.get("refId", ""),
                            "expr": holder["expr"], "variable": None})
    return queries


def selectors(expr):
    """Vector selectors of a PromQL query: [{"name": metric or None, "groups": [[(label, op, value)]]}].

    Raises promql.PromQLError for invalid PromQL. A selector with ``or`` matchers has one group
    per alternative; names made of Grafana variables are None.
    """
    ast = promql.parse(expr)
    found = []

    def matcher_list(items):
        return [(m.name, _OPS.get(str(m.op).rsplit(".", maxsplit=1)[-1], str(m.op)), m.value) for m in items]

    def visit(node):
        if isinstance(node, promql.promql_parser.VectorSelector):
            groups = [matcher_list(node.matchers.matchers)]
            if node.matchers.or_matchers:
                groups = [matcher_list(g) for g in node.matchers.or_matchers]
            name = node.name
            if not name:
                names = [v for g in groups for (label, op, v) in g if label == "__name__" and op == "="]
                name = names[0] if len(set(names)) == 1 else None
            if name and name.startswith(promql.PLACEHOLDER_PREFIX):
                name = None
            found.append({"name": name, "groups": groups})
        return True

    promql.promql_parser.walk(ast, visit)
    return found


def _var_name(value):
    match = _VAR_REF.match(value or "")
    return next((g for g in match.groups() if g), None) if match else None


# --------------------------------------------------------------------------------------------
# the checks


def _finding(check, source, dashboard, query, problem, fix):
    return {"check": check, "file": source, "dashboard": dashboard.get("title") or dashboard.get("uid") or "",
            "uid": dashboard.get("uid") or "", "panel": (query or {}).get("panel"),
            "variable": (query or {}).get("variable"), "ref_id": (query or {}).get("ref_id"),
            "query": (query or {}).get("expr"), "problem": problem, "fix": fix}


def suggested_prefix(metric):
    """The prefix to add to a keep regex: hikaricp_connections_active -> hikaricp_; short first
    words take the next one too: sqs_consumer_messages_total -> sqs_consumer_."""
    words = [w for w in metric.split("_") if w]
    if len(words) < 2:
        return metric
    count = 2 if len(words[0]) <= 3 and len(words) > 2 else 1
    return "_".join(words[:count]) + "_"


class _Scrape(object):
    def __init__(self, entries):
        self.entries = entries
        self.dynamic = any(e["dynamic"] for e in entries)
        self.jobs = set()
        for entry in entries:
            self.jobs.add(entry["job"])
            self.jobs.update(entry["labels"])

    def entries_for(self, job):
        return [e for e in self.entries if e["job"] == job or job in e["labels"]]

    def matching(self, regex):
        """The scraped jobs a PromQL ``=~`` matcher (anchored RE2) matches; None when it cannot
        be evaluated."""
        try:
            pattern = relabel.go_regex(regex)
        except relabel.RelabelError:
            return None
        return sorted(j for j in self.jobs if pattern.match(j))


def _literal_labels(group):
    """The labels a series must carry for a matcher group: its literal ``=`` matchers (not the
    name and the job, which the caller sets)."""
    return dict((label, value) for label, op, value in group
                if op == "=" and value and label not in ("__name__", "job") and not _HAS_VAR.search(value))


def _label_values_query(variable):
    """(selector text or None, label) of a ``label_values([selector,] label)`` variable, or None."""
    query = variable.get("query")
    if isinstance(query, dict):
        query = query.get("query")
    match = re.match(r"^\s*label_values\(\s*(?:(?P<body>.*),\s*)?(?P<label>[^\s,()]+)\s*\)\s*$",
                     query if isinstance(query, str) else "", re.S)
    if not match or not is_label_name(match.group("label"), utf8=True):
        return None
    return match.group("body"), match.group("label")


def query_variable_jobs(variable, scrape):
    """The scraped jobs a ``label_values(..., job)`` query variable can take (None: not such a
    variable): every job, or with a selector, the jobs that keep the selector's metric."""
    found = _label_values_query(variable)
    if found is None or found[1] != "job":
        return None
    body, _label = found
    jobs = sorted(scrape.jobs)
    if not body:
        return jobs
    try:
        chosen = selectors(body)
    except promql.PromQLError:
        return jobs
    if not chosen:
        return jobs
    metric, groups = chosen[0]["name"], chosen[0]["groups"]
    out = []
    for job in jobs:
        for group in groups:
            pinned = [v for label, op, v in group if label == "job" and op == "=" and not _HAS_VAR.search(v)]
            if pinned and job not in pinned:
                continue
            entries = scrape.entries_for(job)
            if not metric or not entries or not all(drop_reason(e, metric, _literal_labels(group), job)
                                                    for e in entries):
                out.append(job)
                break
    return out


def _job_candidates(group, variables, scrape):
    """(explicit job names or None for "any scraped job", [(literal, why unknown)], the query
    variable the names come from or None)."""
    explicit, unknown, query_variable = None, [], None
    for label, op, value in group:
        if label != "job" or op not in ("=", "=~"):
            continue
        var = _var_name(value)
        if var:
            variable = variables.get(var)
            values = variable_values(variable) if variable else None
            if values is None:
                if variable is not None and scrape is not None and variable.get("type") == "query":
                    jobs = query_variable_jobs(variable, scrape)
                    if jobs:
                        explicit, query_variable = jobs, var
                    # else no job keeps the variable's metric: any job
                continue
            names = []
            for item in values:
                if op == "=~" and scrape is not None and re.search(r"[\\^$.|?*+()\[\]{}]", item):
                    names.extend(scrape.matching(item) or [])
                else:
                    names.append(item)
                    if scrape is not None and not scrape.dynamic and item not in scrape.jobs:
                        unknown.append((item, "a value of the $%s variable" % var))
            explicit = names
        elif _HAS_VAR.search(value):
            continue
        elif op == "=":
            explicit = [value]
            if scrape is not None and not scrape.dynamic and value not in scrape.jobs:
                unknown.append((value, "job=%s" % json.dumps(value)))
        elif scrape is not None:
            matched = scrape.matching(value)
            if matched is not None:
                explicit = matched
                if not matched and not scrape.dynamic:
                    unknown.append((value, "job=~%s matches no scraped job" % json.dumps(value)))
    return explicit, unknown, query_variable


def _check_query(source, dashboard, query, variables, scrape, env_label, env_words, checks, seen=None):
    """Findings of one query; ``seen`` (per dashboard) reports a $job variable value only once."""
    findings = []
    seen = set() if seen is None else seen
    try:
        found = selectors(query["expr"])
    except promql.PromQLError as exc:
        if "invalid_query" in checks:
            findings.append(_finding("invalid_query", source, dashboard, query, "the query is not valid PromQL: %s" % exc,
                                     "fix the expression (Grafana variables such as $__rate_interval are fine)"))
        return findings
    reported = set()
    for selector in found:
        for group in selector["groups"]:
            env = [(op, value) for label, op, value in group if label == env_label]
            if "hardcoded_environment" in checks:
                for op, value in env:
                    if not _HAS_VAR.search(value) and value not in _ANY_VALUE:
                        key = ("env", value)
                        if key not in reported:
                            reported.add(key)
                            findings.append(_finding(
                                "hardcoded_environment", source, dashboard, query,
                                "hard-coded environment matcher %s%s%s: the panel shows only that environment "
                                "whatever $%s is set to" % (env_label, op, json.dumps(value), env_label),
                                'use %s=~"$%s" (and a $%s variable: label_values(up, %s))'
                                % (env_label, env_label, env_label, env_label)))
            if "environment_filter" in checks and not env and query.get("variable") != env_label:
                key = ("envfilter", selector["name"])
                if key not in reported:
                    reported.add(key)
                    findings.append(_finding(
                        "environment_filter", source, dashboard, query,
                        "selector %s has no %s matcher: it mixes every environment" % (selector["name"] or "{...}", env_label),
                        'add %s=~"$%s" to it (the grafana role can add it: grafana_dashboard_add_environment)'
                        % (env_label, env_label)))
            explicit, unknown, query_variable = _job_candidates(group, variables, scrape)
            if "unknown_job" in checks:
                for value, why in unknown:
                    key = ("job", value)
                    if key not in reported and (value, why) not in seen:
                        reported.add(key)
                        if why.startswith("a value of"):
                            seen.add((value, why))
                        findings.append(_finding(
                            "unknown_job", source, dashboard, query,
                            "job %r (%s) is not scraped by any given scrape config (scraped: %s): the query returns "
                            "nothing" % (value, why, ", ".join(sorted(scrape.jobs)) or "none"),
                            "use the job_name of the scrape config (for ADOT: <project>-<service>-metrics), "
                            "or add a scrape job named %r" % value))
            metric = selector["name"]
            if "metric_dropped" not in checks or scrape is None or not metric or metric in SYNTHETIC_METRICS:
                continue
            labels = _literal_labels(group)
            if explicit is None:
                targets = [(job, scrape.entries_for(job)) for job in sorted(scrape.jobs)]
                targets = [(job, entries) for job, entries in targets if entries]
                dropped = [(job, entries, [drop_reason(e, metric, labels, job) for e in entries])
                           for job, entries in targets]
                if not targets or not all(all(reasons) for _j, _e, reasons in dropped):
                    continue
                bad = dropped
            else:
                bad = []
                for job in explicit:
                    entries = scrape.entries_for(job)
                    reasons = [drop_reason(e, metric, labels, job) for e in entries]
                    if entries and all(reasons):
                        bad.append((job, entries, reasons))
            for job, entries, reasons in bad:
                key = ("drop", metric, job)
                if key in reported:
                    continue
                reported.add(key)
                where = "; ".join("%s %s: %s" % (e["source"], e["where"], r[0]) for e, r in zip(entries, reasons))
                prefix = suggested_prefix(metric)
                actions = set(r[1] for r in reasons)
                if "invalid" in actions:
                    fix = "fix the %s: Prometheus and the ADOT collector refuse the whole config" % (
                        "regex" if any("does not compile" in r[0] for r in reasons) else "rule")
                elif "rename" in actions:
                    fix = "query the new name, or make that rule leave %s alone" % metric
                elif actions & {"drop", "dropequal", "filter"}:
                    fix = "narrow that drop rule / filter so it no longer matches %s" % metric
                else:
                    fix = ("add '%s.*' to the keep regex of job %s (ADOT configs built by otel_config: "
                           "custom_metric_prefixes: [%s]; prometheus role: prometheus_metric_filters)" % (prefix, job, prefix))
                if query_variable:
                    fix += ("; or, when job %s does not expose %s, let $%s offer only the jobs this dashboard is for "
                            "(label_values(<a metric only they keep>, job))" % (job, metric, query_variable))
                via = " (a value $%s can take)" % query_variable if query_variable else ""
                findings.append(_finding(
                    "metric_dropped", source, dashboard, query,
                    "metric %s is dropped before it is stored for job %s%s by %s: the panel shows \"No data\""
                    % (metric, job, via, where), fix))
    return findings


def _words(text):
    return set(t for t in re.split(r"[^a-z0-9]+", str(text or "").lower()) if t)


def _environment_findings(source, dashboard, env_label, env_words):
    findings = []
    title_words = sorted(_words(dashboard.get("title")) & env_words)
    if title_words:
        findings.append(_finding(
            "hardcoded_environment", source, dashboard, None,
            "the dashboard title %r names the environment %s: one dashboard serves every environment"
            % (dashboard.get("title"), ", ".join(title_words)),
            "drop the environment from the title and pick it with the $%s variable" % env_label))
    tags = [t for t in dashboard.get("tags") or [] if isinstance(t, str) and _words(t) & env_words]
    if tags:
        findings.append(_finding(
            "hardcoded_environment", source, dashboard, None,
            "tags %s name an environment" % ", ".join(tags),
            "remove them (grafana_dashboard module: drop_tags); the environment is the $%s variable" % env_label))
    for panel in all_panels(dashboard):
        words = sorted(_words(panel.get("title")) & env_words)
        if words:
            findings.append(_finding(
                "hardcoded_environment", source, dashboard, {"panel": panel.get("title")},
                "the panel title %r names the environment %s" % (panel.get("title"), ", ".join(words)),
                "use $%s in the title (or none) so it follows the selected environment" % env_label))
    for var in _variables(dashboard):
        values = variable_values(var)
        if var.get("type") == "textbox":
            values = [str(var.get("query", ""))]
        if values is None:
            continue
        named = [v for v in values if _words(v) & env_words]
        if var["name"] == env_label and (var.get("type") in ("constant", "textbox") or len(values) <= 1):
            findings.append(_finding(
                "hardcoded_environment", source, dashboard, {"variable": var["name"]},
                "the $%s variable is a %s with the fixed value %s" % (env_label, var.get("type"), ", ".join(values) or "''"),
                "make it a query variable: label_values(up, %s), multi-value, All = .*" % env_label))
        elif named and var.get("type") in ("constant", "textbox"):
            findings.append(_finding(
                "hardcoded_environment", source, dashboard, {"variable": var["name"]},
                "the %s variable $%s holds the environment name %s" % (var.get("type"), var["name"], ", ".join(named)),
                "derive it from $%s instead of a fixed value" % env_label))
    return findings


def _otel_environment_findings(source, config):
    """Hard-coded environments of an ADOT config, found by the otel_config module's validator."""
    problems = otel.hardcoded_environment_problems(config) if isinstance(config, dict) else []
    return [_finding("hardcoded_environment", source, {}, None, problem,
                     "take the value from the environment (${env:ENVIRONMENT}); otel_config builds it so")
            for problem in problems]


def _datasource_findings(source, dashboard, datasources):
    findings = []
    uids = set(ds.get("uid") for ds in datasources if ds.get("uid"))
    names = set(ds.get("name") for ds in datasources if ds.get("name"))
    types = set(ds.get("type") for ds in datasources if ds.get("type"))
    described = ", ".join("%s (%s, uid %s)" % (ds.get("name"), ds.get("type"), ds.get("uid")) for ds in datasources) or "none"
    variables = dict((v["name"], v) for v in _variables(dashboard))
    inputs = [i for i in dashboard.get("__inputs") or [] if isinstance(i, dict)]
    input_names = set(i.get("name") for i in inputs)
    try:
        resolve_inputs(inputs, None, datasources)
    except DashboardError as exc:
        findings.append(_finding("unknown_datasource", source, dashboard, None, str(exc),
                                 "provision a datasource of that type, or map the input (grafana_dashboard_datasource_uids)"))
    for var in variables.values():
        if var.get("type") == "datasource" and var.get("query") and var.get("query") not in types:
            findings.append(_finding(
                "unknown_datasource", source, dashboard, {"variable": var["name"]},
                "the datasource variable $%s lists datasources of type %s, and there are none (have: %s)"
                % (var["name"], var.get("query"), described),
                "provision a %s datasource (grafana_datasources)" % var.get("query")))

    seen = set()

    def check(ref, where):
        if isinstance(ref, dict):
            value, kind = ref.get("uid"), "uid"
        else:
            value, kind = ref, "name"
        if not isinstance(value, str) or not value or value in BUILTIN_DATASOURCES:
            return
        var = _var_name(value)
        if var:
            if var not in variables and var not in input_names and (var, where.get("panel")) not in seen:
                seen.add((var, where.get("panel")))
                findings.append(_finding(
                    "unknown_datasource", source, dashboard, where,
                    "the datasource is ${%s}, which is neither a dashboard variable nor an __inputs entry" % var,
                    "add a datasource variable named %s, or use a provisioned uid" % var))
            return
        known = (uids | names) if kind == "name" else uids
        if value not in known and (value, where.get("panel")) not in seen:
            seen.add((value, where.get("panel")))
            findings.append(_finding(
                "unknown_datasource", source, dashboard, where,
                "datasource %s %r does not exist (have: %s): every panel using it shows \"No data\"" % (kind, value, described),
                "use a datasource variable (${datasource}) or the provisioned uid; the grafana_dashboard module "
                "remaps uids with datasource_uids: {%s: <uid>}" % value))

    for where, ref, holder in iter_datasource_refs(dashboard):
        if "annotation" not in where and ("variable" not in where or holder.get("type") == "query"):
            check(ref, where)
    return findings


def diagnose(dashboards, *, prometheus_configs=(), otel_configs=(), datasources=None, environments=(),
             environment_label="environment", checks=DEFAULT_CHECKS):
    """Run the checks. ``dashboards``: [(source, dict)]; ``prometheus_configs``/``otel_configs``:
    [(source, dict)]; ``datasources``: a list of datasources (None: not checked; one without a
    uid gets the uid the grafana role derives from its name).

    Returns {"findings": [...], "skipped": [check: reason], "summary": {...}}.
    """
    checks = set(checks)
    unknown = checks - set(CHECKS)
    if unknown:
        raise DoctorError("unknown check(s) %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(CHECKS)))
    entries = []
    for source, config in prometheus_configs or []:
        entries.extend(prometheus_scrape_entries(config, source))
    for source, config in otel_configs or []:
        entries.extend(otel_scrape_entries(config, source))
    have_scrape = bool(prometheus_configs or otel_configs)
    scrape = _Scrape(entries) if have_scrape else None
    skipped = []
    if not have_scrape:
        for name in ("metric_dropped", "unknown_job"):
            if name in checks:
                skipped.append("%s: no Prometheus or ADOT scrape config given" % name)
        checks -= {"metric_dropped", "unknown_job"}
    if datasources is None and "unknown_datasource" in checks:
        skipped.append("unknown_datasource: no datasources given")
        checks.discard("unknown_datasource")
    if datasources is not None:  # a datasource without a uid gets the one the grafana role gives it
        datasources = [ds for ds in normalize_datasources(datasources) if isinstance(ds, dict)]
    if scrape is not None and "metric_dropped" in checks:
        skipped.extend("metric_dropped: %s" % note for note in filter(None, (unevaluated(e) for e in entries)))
    env_words = set(otel.ENVIRONMENT_WORDS) | set(str(e).lower() for e in environments or [] if e)
    findings = []
    if "hardcoded_environment" in checks:
        for source, config in otel_configs or []:
            findings.extend(_otel_environment_findings(source, config))
    query_count = 0
    for source, dashboard in dashboards:
        variables = dict((v["name"], v) for v in _variables(dashboard))
        try:
            queries = prometheus_queries(dashboard, datasources)
        except (AttributeError, TypeError) as exc:  # malformed panels
            findings.append(_finding("invalid_query", source, dashboard, None, "cannot read the panels: %s" % exc,
                                     "export the dashboard again from Grafana"))
            continue
        query_count += len(queries)
        seen = set()
        for query in queries:
            findings.extend(_check_query(source, dashboard, query, variables, scrape, environment_label,
                                         env_words, checks, seen))
        if "hardcoded_environment" in checks:
            findings.extend(_environment_findings(source, dashboard, environment_label, env_words))
        if "unknown_datasource" in checks:
            findings.extend(_datasource_findings(source, dashboard, list(datasources)))
    by_check = {}
    for item in findings:
        by_check[item["check"]] = by_check.get(item["check"], 0) + 1
    summary = {"dashboards": len(dashboards), "queries": query_count, "findings": len(findings),
               "by_check": by_check, "scraped_jobs": sorted(scrape.jobs) if scrape else []}
    return {"findings": findings, "skipped": skipped, "summary": summary}


def format_report(result):
    """A report a person can act on: one block per finding, then what was not checked."""
    summary = result["summary"]
    lines = ["monitoring.stack doctor: %d finding(s) in %d dashboard(s), %d PromQL quer%s checked"
             % (summary["findings"], summary["dashboards"], summary["queries"], "y" if summary["queries"] == 1 else "ies")]
    for number, item in enumerate(result["findings"], 1):
        if not item["dashboard"] and not item["uid"]:
            lines.append("%d. [%s] %s (ADOT collector config)" % (number, item["check"], item["file"]))
            lines.append("   problem: %s" % item["problem"])
            lines.append("   fix:     %s" % item["fix"])
            continue
        where = ["%s (dashboard %r" % (item["file"], item["dashboard"])]
        if item["panel"]:
            where.append(", panel %r" % item["panel"])
        if item["ref_id"]:
            where.append(", refId %s" % item["ref_id"])
        if item["variable"]:
            where.append(", variable $%s" % item["variable"])
        where.append(")")
        lines.append("%d. [%s] %s" % (number, item["check"], "".join(where)))
        if item["query"]:
            lines.append("   query:   %s" % " ".join(item["query"].split()))
        lines.append("   problem: %s" % item["problem"])
        lines.append("   fix:     %s" % item["fix"])
    for note in result["skipped"]:
        lines.append("not checked: %s" % note)
    return "\n".join(lines)
