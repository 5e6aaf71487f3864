"""A filter copies the data it is given, never the play's variables.

Inside a play a filter receives Ansible's lazy template containers, and ``copy.deepcopy`` of
one also deep-copies its templar with every variable of the play in it (ansible-core 2.19):
in a site.yml run that made the Alertmanager render 1.7-2.5 s of copying for a config of a few
kilobytes (a per-worker profile, benchmarks/README.md). The play's variables here hold an object
that counts its deep copies; a filter that copies its input by ``copy.deepcopy`` makes it count.
The data still has to come out whole and separate from the input: the result is compared with
literal expectations and changed afterwards, and the play's variables must not change with it.
"""

from __future__ import annotations

import copy

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.monitoring.stack.plugins.filter import alertmanager, blackbox
from ansible_collections.monitoring.stack.plugins.module_utils.common import plain_copy


class CountsDeepCopies:
    """Stands for the rest of the play's variables."""

    copies = 0

    def __deepcopy__(self, memo):
        CountsDeepCopies.copies += 1
        return self


ALERTMANAGER = {
    "global": {"resolve_timeout": "5m"},
    "route_receiver": "hook", "severity_receivers": {}, "extra_routes": [],
    "group_by": ["alertname"], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h",
    "templates": {}, "templates_dir": "/etc/alertmanager/templates", "inhibit_rules": [],
    "cluster_listen_address": "", "cluster_peers": [], "time_intervals": [],
    "receivers": [{"name": "hook", "webhook": {"url": "{{ hook_url }}"}}],
    "version": "0.28.1",
}


def render(expression, settings):
    """``expression`` rendered as in a play: ``settings`` is a play variable (with a template in it)."""
    CountsDeepCopies.copies = 0
    variables = {"settings": copy.deepcopy(settings), "hook_url": "http://127.0.0.1:5001/hook",
                 "the_rest_of_the_play": CountsDeepCopies()}
    variables["settings"]["receivers"][0]["webhook"]["url"] = trust_as_template("{{ hook_url }}")
    templar = templar_with(variables, alertmanager.FilterModule().filters())
    return templar.template(trust_as_template(expression)), variables


def templar_with(variables, filters):
    """A Templar over ``variables`` that also knows ``filters`` by their short names."""
    templar = Templar(loader=DataLoader(), variables=variables)
    for name, function in filters.items():
        templar.environment.filters[name] = function
    return templar


def test_the_play_variables_stand_in_is_counted_when_deep_copied():
    # The test's own premise: without this, a zero below would prove nothing.
    seen = {}

    def copies_by_deepcopy(data):
        seen["copy"] = copy.deepcopy(data)
        return "ok"

    CountsDeepCopies.copies = 0
    variables = {"settings": {"a": [trust_as_template("{{ b }}")]}, "b": "x", "the_rest_of_the_play": CountsDeepCopies()}
    templar = templar_with(variables, {"probe": copies_by_deepcopy})
    assert templar.template(trust_as_template("{{ settings | probe }}")) == "ok"
    assert CountsDeepCopies.copies >= 1


def test_alertmanager_config_and_secret_files_copy_no_play_variables():
    config, variables = render("{{ settings | alertmanager_config }}", ALERTMANAGER)
    assert CountsDeepCopies.copies == 0
    assert config["receivers"] == [{"name": "hook", "webhook_configs": [
        {"url": "http://127.0.0.1:5001/hook", "send_resolved": True}]}]
    assert config["route"]["receiver"] == "hook"

    rendered = render("{{ settings | alertmanager_config | alertmanager_secret_files('0.28.1', '/etc/am/secrets') }}",
                      ALERTMANAGER)[0]
    assert CountsDeepCopies.copies == 0
    (path,) = rendered["files"]
    assert rendered["files"][path] == "http://127.0.0.1:5001/hook"
    assert rendered["config"]["receivers"][0]["webhook_configs"][0] == {"url_file": path, "send_resolved": True}

    # The result is the filter's own: changing it leaves the play's variable as it was.
    config["receivers"][0]["webhook_configs"][0]["url"] = "changed"
    assert variables["settings"]["receivers"][0]["webhook"]["url"] == "{{ hook_url }}"


def test_blackbox_modules_copy_no_play_variables():
    defaults = {"http_2xx": {"prober": "http", "timeout": "5s", "http": {"valid_status_codes": []}}}
    CountsDeepCopies.copies = 0
    variables = {"defaults": defaults, "mine": {"tcp": {"prober": "tcp"}}, "the_rest_of_the_play": CountsDeepCopies()}
    templar = templar_with(variables, blackbox.FilterModule().filters())
    out = templar.template(trust_as_template("{{ defaults | blackbox_modules(mine) | blackbox_config }}"))
    assert CountsDeepCopies.copies == 0
    assert out == {"modules": {"http_2xx": {"prober": "http", "timeout": "5s", "http": {"valid_status_codes": []}},
                               "tcp": {"prober": "tcp"}}}
    out["modules"]["http_2xx"]["http"]["valid_status_codes"].append(200)
    assert defaults["http_2xx"]["http"]["valid_status_codes"] == []


@pytest.mark.parametrize("data", [
    {"a": [1, {"b": ["c"]}], "d": None},
    [{"x": (1, 2)}, "s", 3.5, True],
])
def test_plain_copy_is_deep_and_equal(data):
    copied = plain_copy(data)
    assert copied == data
    if isinstance(data, dict):
        copied["a"][1]["b"].append("new")
        assert data["a"][1]["b"] == ["c"]
    else:
        copied[0]["x"] = None
        assert data[0]["x"] == (1, 2)
