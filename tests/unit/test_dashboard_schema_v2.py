"""Schema v2 dashboards are refused before any request (issue 14 bad input: a v2 dashboard sent
with api: legacy). The v2 shapes are the ones of Grafana's schema v2 reference
(https://grafana.com/docs/grafana/v12.4/observability-as-code/schema-v2/): a resource with
apiVersion dashboard.grafana.app/v2beta1 and its spec with elements and layout."""

from __future__ import annotations

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    DashboardError,
    is_schema_v2,
    prepare_dashboard,
)

V2_SPEC = {"title": "My dashboard", "cursorSync": "Off", "editable": False, "annotations": [],
           "elements": {"panel-1": {"kind": "Panel", "spec": {"id": 1, "title": "Example Panel"}}},
           "layout": {"kind": "GridLayout", "spec": {"items": []}}, "variables": []}
V2_RESOURCE = {"apiVersion": "dashboard.grafana.app/v2beta1", "kind": "Dashboard",
               "metadata": {"name": "my-dashboard"}, "spec": V2_SPEC}
CLASSIC = {"uid": "c", "title": "Classic", "panels": [{"id": 1, "type": "timeseries", "title": "P"}]}


@pytest.mark.parametrize("dashboard", [V2_SPEC, V2_RESOURCE])
def test_v2_is_refused_naming_the_schema(dashboard):
    assert is_schema_v2(dashboard)
    with pytest.raises(DashboardError) as caught:
        prepare_dashboard(dashboard, source="v2.json")
    message = caught.value.message
    assert message.startswith("Failed to prepare dashboard: ") and "v2.json: this is a schema v2 dashboard (elements, layout)" in message
    assert "the legacy API cannot carry v2" in message


def test_classic_is_not_taken_for_v2():
    assert not is_schema_v2(CLASSIC)
    assert not is_schema_v2(dict(CLASSIC, elements=[]))  # only the v2 object shapes count
    assert prepare_dashboard(CLASSIC)["title"] == "Classic"
