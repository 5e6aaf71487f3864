"""Schema v2 dashboards through the same transforms as classic JSON (issue 14 deliverable 2).

The v2 shapes are those of Grafana's schema v2 reference
(https://grafana.com/docs/grafana/v12.4/as-code/observability-as-code/schema-v2/): a resource with
apiVersion dashboard.grafana.app/v2beta1 (or v2) whose spec has ``elements`` (Panel /
LibraryPanel), ``layout``, typed ``variables`` and ``annotations``; every query is a DataQuery
(``group`` = datasource type, ``datasource.name`` = datasource uid, ``spec`` = the query, PromQL
in ``spec.expr``, a query variable's in ``spec.query``).

The fixtures in tests/unit/fixtures/dashboards_v2/ are literal JSON from Grafana's repository and
from published exports (README.md there says which file comes from where and what was cut). The
expected PromQL is written out here, and checked against the classic transform of the same query
written as classic JSON (one transform, both shapes).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    DashboardError,
    is_schema_v2,
    iter_datasource_refs,
    normalize_for_compare,
    prepare_dashboard,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dashboards_v2"
CLASSIC = {"uid": "c", "title": "Classic", "panels": [{"id": 1, "type": "timeseries", "title": "P"}]}
ENV = 'environment=~"$environment"'


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def queries(spec):
    """(element name, refId, DataQuery) of every panel query, in element order."""
    for name, element in spec["elements"].items():
        for query in element["spec"].get("data", {}).get("spec", {}).get("queries", []):
            yield name, query["spec"]["refId"], query["spec"]["query"]


def test_v2_resource_and_bare_spec_are_recognised():
    assert is_schema_v2(load("grafana-upstream-v36-ds-name-to-ref.v2beta1.json"))
    assert is_schema_v2(load("grafana13-export-vm01.v2.json"))  # an export: the spec alone
    assert not is_schema_v2(CLASSIC)
    assert not is_schema_v2(dict(CLASSIC, elements=[]))  # only the v2 object shapes count


def test_environment_is_added_to_every_prometheus_query_of_a_grafana13_export():
    source = load("grafana13-export-vm01.v2.json")
    original = copy.deepcopy(source)
    notes = []
    result = prepare_dashboard(source, add_environment=True, uid="vm01", report=notes)
    assert source == original  # the input is left untouched
    assert result["uid"] == "vm01" and result["title"] == "Мониторинг моей локальной VM01"
    exprs = dict(((name, ref), query["spec"]["expr"]) for name, ref, query in queries(result))
    assert exprs == {
        ("panel-1", "A"): '100 - (avg by (instance) (rate(node_cpu_seconds_total{mode="idle",%s}[1m])) * 100)' % ENV,
        ("panel-2", "A"): "node_load1{%s}" % ENV,
        ("panel-2", "B"): "node_load5{%s}" % ENV,
        ("panel-2", "C"): "node_load15{%s}" % ENV,
    }
    # the same queries as classic JSON come out the same: one transform for both shapes
    panels = [{"title": name + ref, "datasource": {"type": "prometheus", "uid": "PBFA97CFB590B2093"},
               "targets": [{"refId": ref, "expr": query["spec"]["expr"]}]} for name, ref, query in queries(original)]
    classic = {"title": "c", "panels": panels}
    classic_exprs = [p["targets"][0]["expr"] for p in prepare_dashboard(classic, add_environment=True)["panels"]]
    assert classic_exprs == [exprs[key] for key in sorted(exprs, key=lambda k: (list(original["elements"]).index(k[0]), k[1]))]
    # the $environment query variable, typed like the dashboard's own queries
    assert result["variables"] == [{
        "kind": "QueryVariable",
        "spec": {
            "name": "environment", "label": "environment", "description": "",
            "current": {"text": ["All"], "value": ["$__all"]},
            "hide": "dontHide", "refresh": "onTimeRangeChanged", "skipUrlSync": False,
            "query": {"kind": "DataQuery", "group": "prometheus", "version": "v0",
                      "datasource": {"name": "PBFA97CFB590B2093"},
                      "spec": {"qryType": 1, "query": "label_values(up, environment)",
                               "refId": "PrometheusVariableQueryEditor-VariableQuery"}},
            "regex": "", "sort": "alphabeticalAsc", "definition": "label_values(up, environment)",
            "options": [], "multi": True, "includeAll": True, "allValue": ".*", "allowCustomValue": True,
        },
    }]
    # everything else is as exported: layout, the built-in annotation, the alert list panel
    assert result["layout"] == original["layout"]
    assert result["annotations"] == original["annotations"]
    assert result["elements"]["panel-5"] == original["elements"]["panel-5"]
    assert notes == []


def test_query_variable_and_datasource_variable_typing():
    source = load("lint-v2-variables.v2.json")
    result = prepare_dashboard(source, add_environment=True, uid="lint")
    variables = result["variables"]
    assert [v["spec"]["name"] for v in variables] == ["datasource", "environment", "cluster"]  # after its datasource variable
    cluster = variables[2]["spec"]
    assert cluster["query"]["spec"]["query"] == 'label_values(up{%s}, cluster)' % ENV
    assert variables[1]["spec"]["query"]["datasource"] == {"name": "${datasource}"}
    assert variables[1]["spec"]["query"]["group"] == "prometheus"


def test_non_prometheus_queries_left_alone_and_uids_remapped_in_grafana_upstream_fixture():
    source = load("grafana-upstream-v36-ds-name-to-ref.v2beta1.json")
    notes = []
    result = prepare_dashboard(source, add_environment=True, uid="v36-ds",
                               datasource_uids={"existing-target-uid": "es-new", "default-ds-uid": "prom-new"},
                               report=notes)
    # the resource's spec is what is prepared (metadata.name is a k8s name; uid given here)
    assert "apiVersion" not in result and "metadata" not in result and result["uid"] == "v36-ds"
    assert [(name, q["group"], q["datasource"]) for name, _ref, q in queries(result)] == [
        ("panel-1", "prometheus", {"name": "prom-new"}), ("panel-10", "elasticsearch", {"name": "es-new"})]
    assert [q["spec"] for _n, _r, q in queries(result)] == [{}, {}]  # nothing to filter, nothing invented
    assert result["annotations"][0] == source["spec"]["annotations"][0]  # built-in Grafana annotation
    assert result["annotations"][2]["spec"]["query"]["datasource"] == {"name": "es-new"}
    assert result["variables"][0]["spec"]["query"]["datasource"] == {"name": "es-new"}
    assert result["variables"][1] == source["spec"]["variables"][1]  # ConstantVariable
    # its Prometheus queries have no PromQL: as for classic JSON, no $environment variable is added
    assert [v["spec"]["name"] for v in result["variables"]] == ["query_var_named", "non_query_var"]
    assert notes == ["no Prometheus query: the $environment variable was not added"]


def test_v2_refs_are_walked_like_classic_ones():
    spec = load("grafana13-export-vm01.v2.json")
    refs = [(where, ref) for where, ref, _holder in iter_datasource_refs(spec)]
    assert ({"panel": "CPULA 1/5/15", "ref_id": "B"}, {"type": "prometheus", "uid": "PBFA97CFB590B2093"}) in refs
    assert ({"annotation": "Annotations & Alerts"}, {"type": "grafana", "uid": "-- Grafana --"}) in refs


def test_library_panels_are_reported_and_left_alone():
    """A LibraryPanel element as the LibraryPanelKind reference describes it ({id, title,
    libraryPanel: {uid, name}}); built here from that reference, not taken from a file."""
    source = load("grafana13-export-vm01.v2.json")
    source["elements"]["panel-9"] = {"kind": "LibraryPanel", "spec": {"id": 9, "title": "Errors",
                                                                      "libraryPanel": {"uid": "lib-1", "name": "Errors"}}}
    notes = []
    result = prepare_dashboard(source, add_environment=True, uid="vm01", report=notes)
    assert result["elements"]["panel-9"] == source["elements"]["panel-9"]
    assert notes == ["library panel 'Errors' (uid lib-1) left unchanged: add the environment filter in the library panel itself"]


def test_prepare_is_idempotent_on_v2():
    once = prepare_dashboard(load("grafana13-export-vm01.v2.json"), add_environment=True, uid="vm01")
    twice = prepare_dashboard(once, add_environment=True)
    assert normalize_for_compare(twice) == normalize_for_compare(once)


def test_v2_drop_tags_and_uid_from_metadata_name():
    source = load("lint-v2-variables.v2.json")
    source["metadata"] = {"name": "lint-board"}
    source["spec"]["tags"] = ["prod", "k8s"]
    result = prepare_dashboard(source, drop_tags=["prod"])
    assert result["uid"] == "lint-board" and result["tags"] == ["k8s"]


def test_v2_with_an_invalid_name_is_refused():
    with pytest.raises(DashboardError) as caught:
        prepare_dashboard(load("grafana-upstream-v36-ds-name-to-ref.v2beta1.json"))
    assert "invalid dashboard uid 'v36.ds_name_to_ref.v42'" in str(caught.value)


def test_classic_is_unchanged_by_the_v2_support():
    assert prepare_dashboard(CLASSIC)["title"] == "Classic"
