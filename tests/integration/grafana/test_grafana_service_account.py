"""grafana_service_account (issue 14, deliverable 3): one ansible-playbook run holds the four steps
(check, apply, check, apply) of the account with its token, then a role change and a regenerate;
one more holds every bad-input case (each a task with ignore_errors) and shows nothing was
written. The token lifetime rule is a pure function, tested without a playbook."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError
from ansible_collections.monitoring.stack.plugins.modules.grafana_service_account import token_lifetime

pytestmark = pytest.mark.slow
STANDIN_MODES = ("legacy", "apis")  # the service-account API is /api on both; one run each shows it

NOW = datetime.datetime(2026, 12, 3, 6, 0, 0, tzinfo=datetime.timezone.utc)


def play(tasks):
    return [{"name": "sa", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def sa_task(task_name, grafana, check=False, **args):
    return {"name": task_name, "check_mode": check, "diff": True, "ignore_errors": True,
            "monitoring.stack.grafana_service_account": dict(grafana.conn(), **args)}


@pytest.mark.parametrize("token, seconds", [
    ({"name": "t"}, 0),
    ({"name": "t", "seconds_to_live": 3600}, 3600),
    ({"name": "t", "expires_at": "2026-12-04T06:00:00Z"}, 86400),
    ({"name": "t", "expires_at": "2026-12-03T07:00:00+00:00"}, 3600),
])
def test_token_lifetime(token, seconds):
    assert token_lifetime(token, now=NOW) == seconds


@pytest.mark.parametrize("token, fragment", [
    ({"name": "t", "seconds_to_live": -1}, "seconds_to_live -1 is in the past"),
    ({"name": "t", "expires_at": "2026-12-02T00:00:00Z"}, "expires_at 2026-12-02T00:00:00Z is not in the future"),
    ({"name": "t", "expires_at": "2026-12-03T06:00:00Z"}, "is not in the future"),
    ({"name": "t", "expires_at": "next tuesday"}, "is not an ISO 8601 time"),
])
def test_token_lifetime_refused(token, fragment):
    with pytest.raises(MonitoringError) as caught:
        token_lifetime(token, now=NOW)
    assert fragment in str(caught.value)


def test_account_and_token_four_steps_role_change_and_regenerate(playbook, grafana):
    if grafana.real:
        pytest.skip("reads the stand-in's stored tokens")
    name = "ansible-" + grafana.suffix
    args = {"name": name, "role": "Editor", "account_token": {"name": "pipeline", "seconds_to_live": 3600}}
    tasks = [sa_task("s%d" % step, grafana, check=check, **args) for step, check in enumerate((True, False, True, False), 1)]
    admin = {**args, "role": "Admin"}
    tasks.append(sa_task("role", grafana, **admin))
    tasks.append(sa_task("regen", grafana, **{**admin, "account_token": {**args["account_token"], "regenerate": True}}))
    run = playbook(play(tasks))
    steps = [run.result("s%d" % step) for step in range(1, 5)]
    assert [s.get("failed", False) for s in steps] == [False] * 4, run
    assert [s["changed"] for s in steps] == [True, True, False, False]
    assert [s["account_token"]["operation"] for s in steps] == ["created", "created", "unchanged", "unchanged"]
    key = steps[1]["account_token"]["key"]
    assert key.startswith("glsa_") and "key" not in steps[0]["account_token"] and "key" not in steps[3]["account_token"]
    assert key not in str(steps[1]["diff"])  # the diff names the token, never its key
    accounts = grafana.standin.orgs[1].service_accounts
    (account,) = [a for a in accounts.values() if a["name"] == name]
    role, regen = run.result("role"), run.result("regen")
    assert role["changed"] and role["operation"] == "updated" and role["account_token"]["operation"] == "unchanged"
    assert account["role"] == "Admin"
    assert regen["changed"] and regen["account_token"]["operation"] == "regenerated" and regen["account_token"]["key"] != key
    assert key not in grafana.standin.tokens and [t["name"] for t in account["tokens"].values()] == ["pipeline"]
    # the new key authenticates against the stand-in (as the account's role)
    assert grafana.standin.tokens[regen["account_token"]["key"]] == {"org": 1, "role": "Admin"}


def test_bad_input_fails_before_any_write(playbook, grafana):
    if grafana.real:
        pytest.skip("reads the stand-in's request log")
    mark = len(grafana.standin.log)
    cases = {
        "role": {"name": "x", "role": "Superuser"},
        "ttl": {"name": "x", "account_token": {"name": "t", "seconds_to_live": -60}},
        "expired": {"name": "x", "account_token": {"name": "t", "expires_at": "2020-01-01T00:00:00Z"}},
        "namespace": {"name": "x", "namespace": "tenant-7"},
    }
    run = playbook(play([sa_task(case, grafana, **args) for case, args in cases.items()]))
    messages = dict((case, run.result(case)["msg"]) for case in cases)
    assert all(run.result(case)["failed"] for case in cases), messages
    assert "value of role must be one of: Viewer, Editor, Admin, got: Superuser" in messages["role"]
    assert "Failed to check token t: seconds_to_live -60 is in the past" in messages["ttl"]
    assert "expires_at 2020-01-01T00:00:00Z is not in the future" in messages["expired"]
    assert "unknown namespace 'tenant-7'" in messages["namespace"]
    assert grafana.standin.log[mark:] == []  # not even a read
    assert grafana.standin.orgs[1].service_accounts == {}
