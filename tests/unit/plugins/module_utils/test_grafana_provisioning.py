"""The grafana role's structural validator and grafana.ini renderer (pure functions)."""

from __future__ import annotations

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.grafana_provisioning import (
    ProvisioningError,
    dashboard_problems,
    datasource_problems,
    ini_problems,
    normalize_datasources,
    parse_dashboard,
    parse_ini,
    render_ini,
    role_attribute_path,
    user_problems,
)

GOOD_DATASOURCES = [
    {"name": "Prometheus", "type": "prometheus", "url": "http://127.0.0.1:9090", "isDefault": True},
    {"name": "AMP", "type": "prometheus", "uid": "amp", "url": "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1",
     "jsonData": {"sigV4Auth": True, "sigV4Region": "eu-west-1"}},
    {"name": "Loki", "type": "loki", "url": "http://127.0.0.1:3100"},
    {"name": "Tempo", "type": "tempo", "url": "http://127.0.0.1:3200"},
    {"name": "CloudWatch", "type": "cloudwatch", "jsonData": {"authType": "default", "defaultRegion": "eu-west-1"}},
]


def test_render_ini_round_trips_and_orders_sections():
    data = {"instance_name": "mon", "server": {"http_addr": "127.0.0.1", "http_port": 3000},
            "auth.anonymous": {"enabled": False}, "security": {"admin_password": " spaced ", "x": None},
            "smtp": {"hosts": ["a:25", "b:25"], "flag": True}}
    text = render_ini(data)
    assert text.splitlines()[0] == "instance_name = mon"
    assert text.index("[server]") < text.index("[auth.anonymous]") < text.index("[security]")
    parsed = parse_ini(text)
    assert parsed["server"] == {"http_addr": "127.0.0.1", "http_port": "3000"}
    assert parsed["auth.anonymous"]["enabled"] == "false"
    assert parsed["security"]["admin_password"] == " spaced "  # kept by the triple-quote form
    assert parsed["security"]["x"] == ""
    assert parsed["smtp"] == {"hosts": "a:25,b:25", "flag": "true"}


@pytest.mark.parametrize("data, fragment", [
    ({"server": {"a": {"nested": 1}}}, "sections do not nest"),
    ({"server": {"bad key": 1}}, "invalid section or key name"),
    ({"server": {"a": "two\nlines"}}, "single lines"),
    (["not", "a", "dict"], "must be a dict"),
])
def test_render_ini_refuses_what_grafana_would_misread(data, fragment):
    with pytest.raises(ProvisioningError, match=fragment):
        render_ini(data)


def test_ini_problems_admin_password():
    names = {"security.admin_password": "grafana_admin_password"}
    assert ini_problems({"security": {"admin_password": ""}}, names) == [
        "grafana_admin_password: required (the admin password); Grafana's default 'admin' is refused"]
    assert ini_problems({"security": {"admin_password": "admin"}}, names) == [
        "grafana_admin_password: must not be Grafana's default 'admin'"]
    assert ini_problems({"security": {"admin_password": "long-and-random"}}, names) == []


def test_ini_problems_never_contain_secret_values():
    ini = {"security": {"admin_password": "admin"},
           "auth.generic_oauth": {"enabled": True, "client_id": "c", "client_secret": "TOPSECRET"}}
    text = " ".join(ini_problems(ini))
    assert "TOPSECRET" not in text
    assert "auth_url" in text and "token_url" in text


def test_ini_problems_oauth_root_url_and_anonymous_role():
    ini = {"security": {"admin_password": "x1"}, "auth.generic_oauth": {"enabled": "true"},
           "auth.anonymous": {"enabled": True, "org_role": "Owner"},
           "server": {"root_url": "grafana.example.com", "serve_from_sub_path": True}}
    problems = ini_problems(ini, {"server.root_url": "grafana_root_url"})
    assert any(p.startswith("grafana_ini.auth.generic_oauth.client_id: required") for p in problems)
    assert any(p.startswith("grafana_ini.auth.generic_oauth.client_secret: required") for p in problems)
    assert any(p.startswith("grafana_ini.auth.anonymous.org_role: must be one of") for p in problems)
    assert any(p.startswith("grafana_root_url: must start with") for p in problems)
    assert any("sub path" in p for p in problems)


def test_good_datasources_have_no_problems_and_get_stable_uids():
    assert datasource_problems(GOOD_DATASOURCES) == []
    uids = [ds["uid"] for ds in normalize_datasources(GOOD_DATASOURCES)]
    assert uids == ["prometheus", "amp", "loki", "tempo", "cloudwatch"]
    assert normalize_datasources(GOOD_DATASOURCES) == normalize_datasources(GOOD_DATASOURCES)
    assert "uid" not in GOOD_DATASOURCES[0]  # input untouched


@pytest.mark.parametrize("datasources, expected", [
    ([{"name": "Prometheus", "type": "prometheus"}],
     "grafana_datasources[0] (name 'Prometheus'): url is required for type prometheus"),
    ([{"type": "loki", "url": "http://x:3100"}], "grafana_datasources[0]: name is required"),
    ([{"name": "L", "url": "http://x:3100"}], "grafana_datasources[0] (name 'L'): type is required"),
    ([{"name": "A", "type": "loki", "url": "http://x", "uid": "same"},
      {"name": "B", "type": "loki", "url": "http://y", "uid": "same"}],
     "grafana_datasources[1] (name 'B'): uid 'same' is also the uid of grafana_datasources[0] (name 'A')"),
    ([{"name": "Loki main", "type": "loki", "url": "http://x"}, {"name": "loki-main", "type": "loki", "url": "http://y"}],
     "uid 'loki-main' is also the uid"),
    ([{"name": "A", "type": "loki", "url": "x:3100"}], "url must be absolute"),
    ([{"name": "A", "type": "loki", "url": "http://x", "uid": "has space"}], "must be at most 40 characters"),
    ([{"name": "AMP", "type": "prometheus", "url": "https://x", "jsonData": {"sigV4Auth": True}}],
     "jsonData.sigV4Region is required with sigV4Auth"),
    ([{"name": "CW", "type": "cloudwatch"}], "jsonData.defaultRegion is required for CloudWatch"),
    ([{"name": "A", "type": "loki", "url": "http://x", "isDefault": True},
      {"name": "B", "type": "loki", "url": "http://y", "isDefault": True}], "only one datasource may be isDefault"),
    ("prometheus", "grafana_datasources: must be a list"),
])
def test_bad_datasources(datasources, expected):
    problems = datasource_problems(datasources)
    assert any(expected in p for p in problems), problems


def test_cloudwatch_needs_no_url():
    assert datasource_problems([{"name": "CW", "type": "cloudwatch", "jsonData": {"defaultRegion": "eu-west-1"}}]) == []


def test_parse_dashboard_names_file_and_position():
    with pytest.raises(ProvisioningError) as exc:
        parse_dashboard('{\n  "title": "x",\n  "panels": [,]\n}', "dashboards/Infra/node.json")
    assert str(exc.value).startswith("dashboards/Infra/node.json: invalid JSON at line 3 column 14")
    with pytest.raises(ProvisioningError, match="a dashboard is a JSON object, got list"):
        parse_dashboard("[]", "x.json")


def test_dashboard_problems_find_unknown_uids_and_names_and_duplicates():
    board = {"uid": "d1", "panels": [
        {"datasource": {"type": "prometheus", "uid": "prometheus"}, "targets": [
            {"datasource": {"uid": "gone"}, "expr": "up"}]},
        {"datasource": "Old Name"},
        {"datasource": {"uid": "${DS_PROMETHEUS}"}},
        {"datasource": {"uid": "-- Mixed --"}},
        {"datasource": "$ds"},
        {"panels": [{"datasource": {"uid": "nested-missing"}}]},
    ]}
    problems = dashboard_problems([("a.json", board), ("b.json", {"uid": "d1"})], GOOD_DATASOURCES)
    assert problems[0].startswith("a.json: references datasource uid(s) gone, nested-missing")
    assert problems[1] == "a.json: references datasource(s) by name Old Name that are not provisioned"
    assert problems[2] == "b.json: dashboard uid 'd1' is also the uid of a.json"
    assert len(problems) == 3


def test_dashboard_referring_to_known_datasources_by_uid_or_name_is_fine():
    board = {"uid": "d", "panels": [{"datasource": {"uid": "loki"}}, {"datasource": "CloudWatch"},
                                    {"datasource": {"type": "prometheus", "uid": "amp"}}]}
    assert dashboard_problems([("d.json", board)], GOOD_DATASOURCES) == []


def test_users_and_role_mapping():
    users = [{"email": "a@x.com", "role": "Admin"}, {"email": "e@x.com", "role": "Editor"},
             {"email": "v@x.com", "role": "Viewer"}, {"login": "local", "role": "Editor"}]
    assert user_problems(users) == []
    path = role_attribute_path(users)
    assert path == "contains(['a@x.com'], email) && 'Admin' || contains(['e@x.com'], email) && 'Editor' || 'Viewer'"
    assert role_attribute_path([]) == "'Viewer'"
    problems = user_problems([{"role": "Owner"}, {"login": "x", "password": "admin"}, {"login": "x"}])
    assert problems == [
        "grafana_users[0]: login or email is required",
        "grafana_users[0]: role must be one of Viewer, Editor, Admin, got 'Owner'",
        "grafana_users[1]: password must not be empty or 'admin'",
        "grafana_users[2]: x is listed twice",
    ]


def test_dashboard_problems_walk_variables_and_annotations_and_skip_every_variable_form():
    """The provisioning check walks dashboards with the transforms' walker: variables and
    annotations are checked, and $ds, ${ds}, ${ds:raw} and [[ds]] are variables, not names."""
    board = {"uid": "d",
             "annotations": {"list": [
                 {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "name": "Annotations & Alerts"},
                 {"name": "Deploys", "datasource": "Old Loki", "expr": "{app=\"x\"}"}]},
             "templating": {"list": [
                 {"name": "ds", "type": "datasource", "query": "prometheus"},
                 {"name": "job", "type": "query", "datasource": {"type": "prometheus", "uid": "gone-uid"},
                  "query": "label_values(up, job)"}]},
             "panels": [{"datasource": "[[ds]]", "targets": [{"refId": "A", "expr": "up"}]},
                        {"datasource": "${ds:raw}"}, {"datasource": {"type": "datasource", "uid": "grafana"}}]}
    assert dashboard_problems([("d.json", board)], GOOD_DATASOURCES) == [
        "d.json: references datasource uid(s) gone-uid that no provisioned datasource has (known: amp, cloudwatch, "
        "loki, prometheus, tempo); map them with grafana_dashboard_datasource_uids or add the datasources",
        "d.json: references datasource(s) by name Old Loki that are not provisioned",
    ]
