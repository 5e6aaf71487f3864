"""grafana.ini for replicas: [database], [unified_alerting] ha_*, [remote_cache], masking.

The oracles are literal lines from Grafana's own text, not the code under test:
- conf/defaults.ini ([database] ``host = 127.0.0.1:3306``, ``name = grafana``, ``user = root``;
  "If the password contains # or ; you have to wrap it with triple quotes. Ex \"\"\"#password;\"\"\"";
  [remote_cache] ``addr=127.0.0.1:6379,pool_size=100,db=0,ssl=false`` and ``127.0.0.1:11211``);
- the alerting HA guide (grafana.com/docs/grafana/latest/alerting/set-up/configure-high-availability/):
  ``ha_peers=10.0.0.5:9094,10.0.0.6:9094,10.0.0.7:9094``, ``ha_listen_address`` defaulting to
  ``0.0.0.0:9094``, port 9094 for TCP and UDP.
"""

from __future__ import annotations

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils import grafana_provisioning as gp


def _section(name, values):
    return gp.render_ini({name: values})


# --------------------------------------------------------------------------- [database]

def test_mysql_database_renders_the_defaults_ini_lines():
    text = _section("database", gp.database_ini({"type": "mysql", "host": "127.0.0.1", "user": "root"}))
    assert text == "[database]\ntype = mysql\nhost = 127.0.0.1:3306\nname = grafana\nuser = root\n"


def test_postgres_database_host_port_and_keys_in_grafana_names():
    ini = gp.database_ini({"type": "postgres", "host": "db.example.com", "port": 6432, "name": "g", "user": "u",
                           "password": "pw", "ssl_mode": "verify-full", "ca_cert_path": "/etc/ssl/ca.pem",
                           "max_open_conn": 20, "conn_max_lifetime": 3600})
    assert ini == {"type": "postgres", "host": "db.example.com:6432", "name": "g", "user": "u", "password": "pw",
                   "ssl_mode": "verify-full", "ca_cert_path": "/etc/ssl/ca.pem", "max_open_conn": 20,
                   "conn_max_lifetime": 3600}
    assert gp.database_ini({"type": "postgres", "host": "db"})["host"] == "db:5432"
    assert gp.database_ini({"type": "postgres", "host": "2001:db8::5"})["host"] == "[2001:db8::5]:5432"
    assert gp.database_ini({"type": "mysql", "host": "/run/mysqld/mysqld.sock"})["host"] == "/run/mysqld/mysqld.sock"


def test_sqlite3_default_writes_no_database_section():
    assert gp.database_ini({"type": "sqlite3"}) == {}
    assert gp.database_ini({}) == {}
    assert gp.database_ini({"type": "sqlite3", "wal": True}) == {"type": "sqlite3", "wal": True}


def test_password_with_hash_or_semicolon_is_triple_quoted_as_defaults_ini_says():
    assert _section("database", {"password": "#password;"}) == '[database]\npassword = """#password;"""\n'
    assert _section("database", {"password": "a#b"}) == '[database]\npassword = """a#b"""\n'
    assert gp.parse_ini('[database]\npassword = """#password;"""\n')["database"]["password"] == "#password;"
    # go-ini also strips one pair of surrounding quotes and continues a line ending in a backslash
    for value in ("'quoted'", '"q"', "`tick`", "ends\\"):
        assert _section("database", {"password": value}) == '[database]\npassword = """%s"""\n' % value


@pytest.mark.parametrize("database, expected", [
    ({"type": "oracle"}, "grafana_database.type: must be one of sqlite3, postgres, mysql"),
    ({"type": "postgres"}, "grafana_database.host: required for type postgres"),
    ({"type": "postgres", "host": "db:5432"}, "grafana_database.host: the host only, without a port"),
    ({"type": "postgres", "host": "db", "port": 70000}, "grafana_database.port: must be a port number"),
    ({"type": "postgres", "host": "db", "ssl_mode": "true"}, "grafana_database.ssl_mode: must be one of disable"),
    ({"type": "mysql", "host": "db", "ssl_mode": "require"}, "grafana_database.ssl_mode: must be one of true"),
    ({"type": "postgres", "host": "db", "sslmode": "require"}, "grafana_database: unknown setting(s) sslmode"),
    ({"type": "postgres", "host": "db", "max_open_conn": "many"}, "grafana_database.max_open_conn: must be a whole"),
    ({"type": "postgres", "host": "db", "password": 'x"""y'}, "grafana_database.password: must be one line"),
    ("postgres://u:p@db/g", "grafana_database: must be a mapping"),
])
def test_database_problems(database, expected):
    problems = gp.database_problems(database)
    assert any(p.startswith(expected) for p in problems), problems


def test_database_problems_never_show_the_password():
    secret = 'SECRET-pw"""'
    problems = gp.database_problems({"type": "postgres", "host": "db", "password": secret, "ssl_mode": "bogus"})
    assert len(problems) == 2 and secret not in " ".join(problems) and "SECRET" not in " ".join(problems)
    assert gp.database_problems({"type": "postgres", "host": "db", "password": "ok#;pw"}) == []


# --------------------------------------------------------------------------- [unified_alerting]

def _member(name, address, **extra):
    return dict({"name": name, "address": address, "listen_address": "0.0.0.0:3000"}, **extra)


DOCS_PEERS = "10.0.0.5:9094,10.0.0.6:9094,10.0.0.7:9094"
THREE = [_member("g1", "10.0.0.5"), _member("g2", "10.0.0.6"), _member("g3", "10.0.0.7")]


@pytest.mark.parametrize("me, address", [("g1", "10.0.0.5"), ("g2", "10.0.0.6"), ("g3", "10.0.0.7")])
def test_three_replicas_get_the_ha_peers_line_of_grafanas_guide(me, address):
    assert gp.alerting_ha(me, THREE) == {"ha_listen_address": "0.0.0.0:9094",
                                         "ha_advertise_address": address + ":9094",
                                         "ha_peers": DOCS_PEERS}


def test_one_grafana_has_no_alerting_ha_and_hand_listed_peers_turn_it_on():
    assert gp.alerting_ha("g1", THREE[:1]) == {}
    assert gp.alerting_ha("g1", [], peers=["10.0.0.6:9094"]) == {
        "ha_listen_address": "0.0.0.0:9094", "ha_peers": "10.0.0.6:9094"}


def test_named_listen_addresses_and_port_are_used():
    members = [_member("g1", "g1.example", cluster_listen_address="10.1.0.1:9300"),
               _member("g2", "g2.example", listen_address="10.1.0.2:3000")]
    assert gp.alerting_ha("g1", members, port=9300) == {
        "ha_listen_address": "10.1.0.1:9300", "ha_peers": "10.1.0.1:9300,10.1.0.2:9300"}


def test_ha_members_read_the_other_hosts_variables():
    groups = {"grafana": ["g1", "g2"]}
    hostvars = {"g1": {"ansible_host": "10.0.0.5"},
                "g2": {"ansible_host": "10.0.0.6", "grafana_alerting_ha_advertise_address": "gw:9094"}}
    members = gp.ha_members(groups, hostvars, "grafana", "g1", {"listen_address": "0.0.0.0:3000"})
    assert [m["address"] for m in members] == ["10.0.0.5", "10.0.0.6"]
    assert gp.alerting_ha("g1", members)["ha_peers"] == "10.0.0.5:9094,gw:9094"


def test_ha_problems():
    two = [{"name": "g1"}, {"name": "g2"}]
    pg = {"type": "postgres", "host": "db", "password": "SECRET"}
    sqlite = gp.ha_problems("grafana", two, "g1", {"type": "sqlite3"}, {})
    assert len(sqlite) == 1 and sqlite[0].startswith("grafana_database.type: sqlite3 (the default) cannot be shared "
                                                     "by the 2 replicas of grafana_ha_group 'grafana' (g1, g2)")
    assert gp.ha_problems("grafana", two, "g1", pg, {"g2": dict(pg, password="other")}) == []
    differ = gp.ha_problems("grafana", two, "g1", pg, {"g2": dict(pg, host="db2")})
    assert differ[0].startswith("grafana_database: the replicas of grafana_ha_group 'grafana' must share one database")
    assert "SECRET" not in " ".join(differ)
    assert gp.ha_problems("nope", [], "g1", pg, {})[0].startswith("grafana_ha_group: there is no inventory group 'nope'")
    assert gp.ha_problems("grafana", two, "g9", pg, {})[0].startswith("grafana_ha_group: this host (g9) is not in")
    assert gp.ha_problems("", [], "g1", {"type": "sqlite3"}, {}) == []
    assert gp.ha_problems("grafana", two[:1], "g1", {"type": "sqlite3"}, {}) == []


# --------------------------------------------------------------------------- [remote_cache]

def test_remote_cache_sections_from_defaults_ini_examples():
    redis = gp.remote_cache_ini({"type": "redis", "connstr": "addr=127.0.0.1:6379,pool_size=100,db=0,ssl=false"})
    assert _section("remote_cache", redis) == \
        "[remote_cache]\ntype = redis\nconnstr = addr=127.0.0.1:6379,pool_size=100,db=0,ssl=false\n"
    assert gp.remote_cache_ini({"type": "memcached", "connstr": "127.0.0.1:11211"}) == {
        "type": "memcached", "connstr": "127.0.0.1:11211"}
    assert gp.remote_cache_ini({}) == {}
    assert gp.remote_cache_problems({"type": "redis", "connstr": "addr=127.0.0.1:6379,pool_size=100,db=0,ssl=false"}) == []
    assert gp.remote_cache_problems({"type": "memcached", "connstr": "127.0.0.1:11211"}) == []


@pytest.mark.parametrize("cache, expected", [
    ({"type": "etcd"}, "grafana_remote_cache.type: must be one of database, redis, memcached"),
    ({"type": "redis", "connstr": "127.0.0.1:6379"}, "grafana_remote_cache.connstr: required for redis, with addr="),
    ({"type": "memcached"}, "grafana_remote_cache.connstr: required for memcached"),
    ({"type": "redis", "conn": "addr=x:1"}, "grafana_remote_cache: unknown setting(s) conn"),
])
def test_remote_cache_problems(cache, expected):
    problems = gp.remote_cache_problems(cache)
    assert any(p.startswith(expected) for p in problems), problems


# --------------------------------------------------------------------------- masking

def test_mask_ini_hides_every_secret_and_keeps_the_rest():
    text = gp.render_ini({
        "security": {"admin_user": "admin", "admin_password": "SECRET-admin"},
        "database": {"type": "postgres", "host": "db:5432", "user": "grafana", "password": "SECRET#db;"},
        "remote_cache": {"type": "redis", "connstr": "addr=r:6379,password=SECRET-redis,db=0"},
        "auth.generic_oauth": {"client_id": "c", "client_secret": "SECRET-oauth"},
    })
    masked = gp.mask_ini(text)
    assert "SECRET" not in masked
    assert gp.parse_ini(masked) == {
        "security": {"admin_user": "admin", "admin_password": "<redacted>"},
        "database": {"type": "postgres", "host": "db:5432", "user": "grafana", "password": "<redacted>"},
        "remote_cache": {"type": "redis", "connstr": "addr=r:6379,password=<redacted>,db=0"},
        "auth.generic_oauth": {"client_id": "c", "client_secret": "<redacted>"},
    }
    assert gp.mask_ini(gp.render_ini({"database": {"url": "postgres://u:SECRET@db:5432/g"}})) == \
        "[database]\nurl = postgres://u:<redacted>@db:5432/g\n"
