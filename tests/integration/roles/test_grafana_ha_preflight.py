"""Bad shared-database, cache and replica input of the grafana role fails in preflight.

Through the shared harness (tests/support/role_preflight.py): the role runs in check mode
against this machine; each case must fail naming the variable, change nothing, and never show
the database password or the cache connection string.
"""

from __future__ import annotations

import pytest

from tests.support.role_preflight import case_id

PASSWORD = "preflight-test-password"
DB_PASSWORD = "SENTINEL-preflight-dbpass-41c7"
CONNSTR_PASSWORD = "SENTINEL-preflight-redis-9e02"
SECRETS = [PASSWORD, DB_PASSWORD, CONNSTR_PASSWORD]
PG = {"type": "postgres", "host": "db.example.test", "password": DB_PASSWORD}

CASES = [
    ({"grafana_database": {"type": "oracle", "password": DB_PASSWORD}},
     "grafana_database.type: must be one of sqlite3, postgres, mysql, got 'oracle'"),
    ({"grafana_database": {"type": "postgres", "password": DB_PASSWORD}},
     "grafana_database.host: required for type postgres"),
    ({"grafana_database": dict(PG, ssl_mode="on")},
     "grafana_database.ssl_mode: must be one of disable, require, verify-ca, verify-full for postgres, got 'on'"),
    ({"grafana_database": dict(PG, host="db.example.test:5432")},
     "grafana_database.host: the host only, without a port (set grafana_database.port)"),
    ({"grafana_database": dict(PG, sslmode="require")}, "grafana_database: unknown setting(s) sslmode"),
    ({"grafana_remote_cache": {"type": "redis", "connstr": "127.0.0.1:6379,password=" + CONNSTR_PASSWORD}},
     "grafana_remote_cache.connstr: required for redis, with addr=host:port"),
    ({"grafana_remote_cache": {"type": "etcd"}}, "grafana_remote_cache.type: must be one of database, redis, memcached"),
    ({"grafana_database": PG, "grafana_ha_group": "grafana_nope"},
     "grafana_ha_group: there is no inventory group 'grafana_nope'"),
    ({"grafana_database": PG, "grafana_alerting_ha_listen_address": "9094"},
     "grafana_alerting_ha_listen_address: must be host:port"),
]


@pytest.fixture(scope="module")
def preflight_runs():
    return {}


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CASES)), ids=[case_id("grafana", e) for _v, e in CASES])
def test_bad_input_fails_before_any_change(role_preflight, preflight_runs, index):
    if "run" not in preflight_runs:  # one ansible-playbook run for every case
        preflight_runs["run"] = role_preflight.run_cases(
            "grafana", [dict(extravars, grafana_admin_password=PASSWORD) for extravars, _e in CASES])
    preflight_runs["run"].fails_before_any_change(index, CASES[index][1], secrets=SECRETS)


@pytest.mark.slow
def test_two_replicas_on_sqlite3_are_refused(role_preflight):
    """The inventory's group ``all`` holds localhost and app1: two replicas, the sqlite3 default."""
    role_preflight.fails_before_any_change(
        "grafana", {"grafana_admin_password": PASSWORD, "grafana_ha_group": "all"},
        "grafana_database.type: sqlite3 (the default) cannot be shared by the 2 replicas of grafana_ha_group 'all' "
        "(localhost, app1)", secrets=SECRETS, inventory=True)
