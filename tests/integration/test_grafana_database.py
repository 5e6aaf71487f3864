"""The [database] settings the grafana role renders connect to a real PostgreSQL 15.

Grafana itself has no binary here, so what this shows is the half Grafana would do: the role
renders grafana.ini for two replicas of an inventory group (its preflight first, then its own
vars and filters, written with ansible.builtin.copy as configure.yml does), the rendered file is
parsed with configparser, and its [database] type/host/name/user/password/ssl_mode open a
connection with psql exactly as Grafana builds its connection string
(pkg/services/sqlstore/database_config.go: ``host`` is one ``host:port`` key split by
pkg/util SplitHostPortDefault(host, "127.0.0.1", "5432"); go-ini drops the triple quotes around a
value with ``#`` or ``;``). The server is Debian's postgresql 15 package: initdb + postgres from
/usr/lib/postgresql/15/bin, as the ``postgres`` user when the tests run as root (PostgreSQL
refuses root), listening only on 127.0.0.181, password (scram-sha-256) authentication on TCP.

A wrong password in the inventory must fail to connect, so the test can fail.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.playbook import run_playbook
from tests.support.postgres import Postgres, pg_env, skip_without_postgres

pytestmark = pytest.mark.slow

ADDRESS = "127.0.0.181"
DB_USER = "grafana_ha"
DB_NAME = "grafana_ha"
# '#' and ';' start a comment in grafana.ini unless the value is triple-quoted.
DB_PASSWORD = "s3cr#t;pw-18"
REPO = Path(__file__).resolve().parents[2]
VARS_FILES = [str(REPO / "roles" / "grafana" / kind / "main.yml") for kind in ("defaults", "vars")]


@pytest.fixture(scope="module")
def postgres():
    skip_without_postgres()
    server = Postgres(ADDRESS)
    try:
        server.start()
        server.admin_sql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (DB_USER, DB_PASSWORD.replace("'", "''")))
        server.admin_sql("CREATE DATABASE %s OWNER %s" % (DB_NAME, DB_USER))
        yield server
    finally:
        server.stop()


def _render(tmp_path, groups):
    """grafana.ini of every host of ``groups`` ({group: grafana_database}), two replicas each."""
    hosts, children = {}, {}
    for index, (group, database) in enumerate(groups.items()):
        members = {"%s-%d" % (group, n): {"ansible_host": "127.0.0.%d" % (190 + 2 * index + n)} for n in (1, 2)}
        children[group] = {"hosts": members, "vars": {"grafana_database": database, "grafana_ha_group": group}}
        hosts.update(members)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "grafana_admin_password": "not-the-default"},
        "children": children}}))
    play = {"name": "render", "hosts": ":".join(groups), "gather_facts": False, "tasks": [
        {"name": "Preflight of the role", "ansible.builtin.include_role": {
            "name": "monitoring.stack.grafana", "tasks_from": "preflight", "public": True}},
        {"name": "Write grafana.ini as configure.yml does", "ansible.builtin.copy": {
            "content": "{{ _grafana_ini_data | monitoring.stack.to_grafana_ini }}",
            "dest": str(tmp_path) + "/{{ inventory_hostname }}.ini", "mode": "0600"}, "no_log": True},
    ]}
    result = run_playbook([play], inventory=inventory)
    assert result.rc == 0, result
    return {host: (tmp_path / ("%s.ini" % host)).read_text() for host in hosts}


def _go_ini_value(value):
    """A value as go-ini (gopkg.in/ini.v1 parser.go readValue, default options, as Grafana loads
    grafana.ini) reads it: a \"\"\" or ` quoted value is taken literally up to its closing quote;
    otherwise the value ends at the first # or ; (an inline comment), is trimmed, and loses one
    pair of surrounding ' or " quotes. A trailing backslash would continue the line: refused."""
    value = value.strip()
    for quote in ('"""', "`"):
        if value.startswith(quote):
            end = value.find(quote, len(quote))
            assert end > -1, "unterminated %s value" % quote
            return value[len(quote):end]
    assert not value.endswith("\\"), "a trailing backslash continues the line in go-ini"
    cut = min([i for i in (value.find("#"), value.find(";")) if i > -1] or [len(value)])
    value = value[:cut].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value


def _split_host_port(host, default_host="127.0.0.1", default_port="5432"):
    """pkg/util SplitHostPortDefault: no port -> the default port; [v6]:port brackets removed."""
    if not host:
        return default_host, default_port
    start = host.rfind("]") if host.startswith("[") else 0
    if ":" not in host[start:]:
        host = "%s:%s" % (host, default_port)
    name, _sep, port = host.rpartition(":")
    return (name.strip("[]") or default_host), (port or default_port)


def _database_settings(text):
    parser = configparser.RawConfigParser(interpolation=None, inline_comment_prefixes=None, strict=True)
    parser.read_string(text)
    return {key: _go_ini_value(value) for key, value in parser.items("database")}


def _psql(settings, query="select current_user, current_database()"):
    host, port = _split_host_port(settings["host"])
    conninfo = "host=%s port=%s dbname=%s user=%s sslmode=%s connect_timeout=10" % (
        host, port, settings["name"], settings["user"], settings.get("ssl_mode") or "disable")
    env = dict(pg_env(), PGPASSWORD=settings.get("password", ""))
    return subprocess.run(["psql", conninfo, "-Atc", query], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_rendered_database_settings_connect_and_a_wrong_password_does_not(postgres, tmp_path):
    good = {"type": "postgres", "host": ADDRESS, "port": postgres.port, "name": DB_NAME, "user": DB_USER,
            "password": DB_PASSWORD, "ssl_mode": "disable", "max_open_conn": 10}
    rendered = _render(tmp_path, {"grafana": good, "grafana_wrong": dict(good, password="wrong-" + DB_PASSWORD)})

    for host in ("grafana-1", "grafana-2"):
        settings = _database_settings(rendered[host])
        assert settings["type"] == "postgres"
        assert settings["host"] == "%s:%d" % (ADDRESS, postgres.port)  # Grafana's one host:port key
        assert settings["password"] == DB_PASSWORD
        out = _psql(settings)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "%s|%s" % (DB_USER, DB_NAME)

    # The replicas' alerting gossip: one ha_peers line naming both, on 9094.
    peers = {host: configparser.RawConfigParser(interpolation=None) for host in ("grafana-1", "grafana-2")}
    for host, parser in peers.items():
        parser.read_string(rendered[host])
        assert parser.get("unified_alerting", "ha_peers") == "127.0.0.191:9094,127.0.0.192:9094"
        assert parser.get("unified_alerting", "ha_listen_address") == "0.0.0.0:9094"
    assert peers["grafana-1"].get("unified_alerting", "ha_advertise_address") == "127.0.0.191:9094"

    wrong = _psql(_database_settings(rendered["grafana_wrong-1"]))
    assert wrong.returncode != 0 and wrong.stdout == ""
    assert 'password authentication failed for user "%s"' % DB_USER in wrong.stderr
