"""playbooks/backup.yml against real processes on this machine (localhost, no systemd):
Prometheus 2.42 with the admin API, Alertmanager with a silence made by amtool, a Grafana SQLite
database (sqlite3's .backup), stored in S3 on a moto server with SSE-KMS, and on the controller;
a shared PostgreSQL 15 database of Grafana dumped with pg_dump (a real server on 127.0.0.182).

The oracles: the real Prometheus (the archive holds a block whose meta.json promtool reads),
amtool (the exported silence), sqlite3 (the copied rows), S3 HeadObject (the encryption),
pg_restore into a fresh database and psql (the dumped rows).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
import time
import urllib.request

import boto3
import pytest

from tests.support.playbook import REPO
from tests.support.postgres import Postgres, skip_without_postgres
from tests.support.prometheus_process import PrometheusProcess, free_port, stop_process

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (shutil.which("prometheus") and shutil.which("amtool")
                                      and shutil.which("prometheus-alertmanager") and shutil.which("sqlite3")),
                                 reason="needs prometheus, prometheus-alertmanager, amtool and sqlite3")]

PLAYBOOK = str(REPO / "playbooks" / "backup.yml")
# Samples in the head: the snapshot writes the head as a block.
SELF_SCRAPE = ("global: {scrape_interval: 1s}\n"
               "scrape_configs: [{job_name: self, static_configs: [{targets: ['127.0.0.1:PORT']}]}]\n")


@pytest.fixture
def prometheus(tmp_path):
    with PrometheusProcess(shutil.which("prometheus"), tmp_path, SELF_SCRAPE,
                           ["--web.enable-admin-api"]) as prom:
        prom.wait_for("up", timeout=15)
        yield prom


@pytest.fixture
def alertmanager(tmp_path):
    port = free_port()
    (tmp_path / "am.yml").write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")
    (tmp_path / "am-data").mkdir()
    url = "http://127.0.0.1:%d" % port
    with open(tmp_path / "am.log", "w") as log:
        proc = subprocess.Popen([shutil.which("prometheus-alertmanager"), "--config.file=%s" % (tmp_path / "am.yml"),
                                 "--storage.path=%s" % (tmp_path / "am-data"), "--web.listen-address=127.0.0.1:%d" % port,
                                 "--cluster.listen-address=", "--data.maintenance-interval=1s"],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1).read()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "am.log").read_text()
                time.sleep(0.2)
        silence_id = subprocess.run(["amtool", "--alertmanager.url=" + url, "silence", "add", "alertname=BackupTest",
                                     "--comment=kept across restores", "--author=pytest", "--duration=2h"],
                                    capture_output=True, text=True, check=True, timeout=30).stdout.strip()
        # wait (bounded) for the maintenance run that writes the silences file
        deadline = time.monotonic() + 15
        while silence_id.encode() not in ((tmp_path / "am-data" / "silences").read_bytes()
                                          if (tmp_path / "am-data" / "silences").exists() else b""):
            assert time.monotonic() < deadline, "the silences file was not written"
            time.sleep(0.3)
        yield {"address": "127.0.0.1:%d" % port, "data_dir": str(tmp_path / "am-data"), "silence_id": silence_id}
    finally:
        stop_process(proc)


@pytest.fixture
def grafana_db(tmp_path):
    data = tmp_path / "grafana"
    (tmp_path / "grafana-etc" / "provisioning" / "datasources").mkdir(parents=True)
    (tmp_path / "grafana-etc" / "provisioning" / "datasources" / "ds.yml").write_text("apiVersion: 1\n")
    data.mkdir()
    with sqlite3.connect(data / "grafana.db") as db:
        db.execute("create table dashboard (uid text, title text)")
        db.execute("insert into dashboard values ('abc', 'Kept dashboard')")
    return data


def _vars(prometheus, alertmanager, grafana_db, tmp_path, **extra):
    values = {"backup_hosts": "localhost", "prometheus_listen_address": "127.0.0.1:%d" % prometheus.port,
              "prometheus_data_dir": str(tmp_path / "prometheus-data"),
              "alertmanager_listen_address": alertmanager["address"], "alertmanager_data_dir": alertmanager["data_dir"],
              "grafana_data_dir": str(grafana_db), "grafana_config_dir": str(tmp_path / "grafana-etc"),
              "backup_host_tmp": str(tmp_path), "backup_controller_tmp": str(tmp_path)}
    values.update(extra)
    return values


def _members(path):
    with tarfile.open(path) as archive:
        return [name[2:] if name.startswith("./") else name for name in archive.getnames() if name != "."]


def test_backup_to_s3_with_sse_kms_keeps_the_newest_one(aws, playbook, prometheus, alertmanager, grafana_db,
                                                        tmp_path):
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="ms-backups", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    key_id = boto3.client("kms", region_name="eu-west-1").create_key()["KeyMetadata"]["KeyId"]
    # an older archive of each component (and an object that is not an archive: kept)
    older = ["monitoring-backups/localhost/%s/%s-20250101T000000Z-00000000.tar" % (c, c)
             for c in ("prometheus", "alertmanager", "grafana")]
    for key in older + ["monitoring-backups/localhost/prometheus/prometheus-notes.txt"]:
        s3.put_object(Bucket="ms-backups", Key=key, Body=b"old")
    values = _vars(prometheus, alertmanager, grafana_db, tmp_path, backup_s3_bucket="ms-backups",
                   backup_kms_key_id=key_id, backup_require_kms=True, backup_keep=1)
    run = playbook(PLAYBOOK, extravars=values)
    assert run.rc == 0, (run, [json.dumps(r)[:3000] for n, r in run.results() if r.get("failed")])
    assert run.result("Upload the archive to S3")["changed"] is True
    assert s3.get_object(Bucket="ms-backups", Key="monitoring-backups/localhost/prometheus/prometheus-notes.txt")
    s3.delete_object(Bucket="ms-backups", Key="monitoring-backups/localhost/prometheus/prometheus-notes.txt")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="ms-backups")["Contents"])
    by_component = {c: [k for k in keys if k.startswith("monitoring-backups/localhost/%s/%s-" % (c, c))]
                    for c in ("prometheus", "alertmanager", "grafana")}
    assert {c: len(v) for c, v in by_component.items()} == {"prometheus": 1, "alertmanager": 1, "grafana": 1}, keys
    assert len(keys) == 3 and not set(keys) & set(older), keys
    for key in keys:
        head = s3.head_object(Bucket="ms-backups", Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"].endswith(key_id), head["SSEKMSKeyId"]
    # the snapshots were deleted from the server after the copy, the staging files too
    assert list((tmp_path / "prometheus-data" / "snapshots").iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("ms-backup-")]

    # the newest archives hold what the real tools read back
    fetched = {}
    for component, names in by_component.items():
        fetched[component] = tmp_path / ("%s.tar" % component)
        s3.download_file("ms-backups", names[-1], str(fetched[component]))
    snapshot = [n for n in _members(fetched["prometheus"]) if n.endswith("/meta.json")]
    assert snapshot, _members(fetched["prometheus"])
    extracted = tmp_path / "restored"
    with tarfile.open(fetched["prometheus"]) as archive:
        archive.extractall(extracted, filter="data")
    listed = subprocess.run(["promtool", "tsdb", "list", str(extracted / snapshot[0].split("/")[0])],
                            capture_output=True, text=True, check=True, timeout=60).stdout
    assert snapshot[0].split("/")[1] in listed  # the block's ULID, as promtool lists it
    # nflog exists once a notification was sent (none here)
    assert sorted(_members(fetched["alertmanager"])) in (
        ["nflog", "silences", "silences.json"], ["silences", "silences.json"])
    with tarfile.open(fetched["alertmanager"]) as archive:
        exported = json.load(archive.extractfile("./silences.json"))
        assert alertmanager["silence_id"].encode() in archive.extractfile("./silences").read()
    assert [(s["id"], s["comment"], s["matchers"][0]["value"]) for s in exported] == [
        (alertmanager["silence_id"], "kept across restores", "BackupTest")]
    assert "provisioning/datasources/ds.yml" in _members(fetched["grafana"])
    with tarfile.open(fetched["grafana"]) as archive:
        archive.extract("./grafana.db", tmp_path / "grafana-copy", filter="data")
    with sqlite3.connect(tmp_path / "grafana-copy" / "grafana.db") as db:
        assert db.execute("select uid, title from dashboard").fetchall() == [("abc", "Kept dashboard")]


def test_backup_to_the_controller_directory(playbook, prometheus, alertmanager, grafana_db, tmp_path):
    dest = tmp_path / "backups"
    (dest / "localhost" / "prometheus").mkdir(parents=True)
    (dest / "localhost" / "prometheus" / "prometheus-20250101T000000Z-00000000.tar").write_bytes(b"old")
    values = _vars(prometheus, alertmanager, grafana_db, tmp_path, backup_dest=str(dest), backup_dest_on="controller",
                   backup_components=["prometheus"], backup_keep=1)
    run = playbook(PLAYBOOK, extravars=values)
    assert run.rc == 0, run
    # keep 1: this run's archive is the one left, the older one is deleted
    name = run.result("Take a TSDB snapshot")["json"]["data"]["name"]
    assert sorted(p.name for p in (dest / "localhost" / "prometheus").iterdir()) == ["prometheus-%s.tar" % name]
    assert [n for n in _members(dest / "localhost" / "prometheus" / ("prometheus-%s.tar" % name))
            if n.endswith("/meta.json")]
    assert not (dest / "localhost" / "alertmanager").exists()


@pytest.mark.parametrize("extra, message", [
    ({"backup_s3_bucket": "ms-backups", "backup_require_kms": True},
     "backup_require_kms is on but backup_kms_key_id is empty"),
    ({"backup_dest": "/tmp/x", "backup_require_kms": True},
     "backup_require_kms is on but backup_s3_bucket is not set"),
    ({}, "set backup_dest (an absolute directory) or backup_s3_bucket"),
])
def test_bad_settings_fail_before_any_change(playbook, prometheus, alertmanager, grafana_db, tmp_path, extra, message):
    run = playbook(PLAYBOOK, extravars=_vars(prometheus, alertmanager, grafana_db, tmp_path, **extra))
    assert run.rc != 0
    failures = run.failures()
    assert len(failures) == 1 and message in failures[0][1], failures
    assert run.changed() == 0
    assert not (tmp_path / "prometheus-data" / "snapshots").exists()


def test_a_prometheus_without_the_admin_api_fails_before_any_change(playbook, alertmanager, grafana_db, tmp_path):
    with PrometheusProcess(shutil.which("prometheus"), tmp_path, "global: {}\n") as prom:
        run = playbook(PLAYBOOK, extravars=_vars(prom, alertmanager, grafana_db, tmp_path,
                                                 backup_dest=str(tmp_path / "backups")))
    assert run.rc != 0
    assert "Set prometheus_backup_enabled: true" in run.failures()[0][1], run.failures()
    assert run.changed() == 0 and not (tmp_path / "backups").exists()


PG_ADDRESS = "127.0.0.182"
# a : and a backslash, which the password file must escape
PG_PASSWORD = r"pg:backup\s3cr3t-7c1"


@pytest.fixture
def grafana_postgres():
    """A real PostgreSQL 15 with Grafana's database (one dashboard row), owned by its own role."""
    skip_without_postgres()
    server = Postgres(PG_ADDRESS)
    try:
        server.start()
        server.admin_sql("CREATE ROLE grafana_bk LOGIN PASSWORD '%s'" % PG_PASSWORD)
        server.admin_sql("CREATE DATABASE grafana_bk OWNER grafana_bk")
        server.admin_sql("CREATE TABLE dashboard (uid text, title text); ALTER TABLE dashboard OWNER TO grafana_bk;"
                         "INSERT INTO dashboard VALUES ('pg1', 'Kept in PostgreSQL')", database="grafana_bk")
        yield server
    finally:
        server.stop()


def _postgres_database(server, password=PG_PASSWORD):
    return {"type": "postgres", "host": PG_ADDRESS, "port": server.port, "name": "grafana_bk",
            "user": "grafana_bk", "password": password}


def test_grafana_postgres_database_is_dumped_with_pg_dump(
        playbook, prometheus, alertmanager, grafana_db, grafana_postgres, tmp_path):
    dest = tmp_path / "backups"
    values = _vars(prometheus, alertmanager, grafana_db, tmp_path, backup_dest=str(dest), backup_dest_on="controller",
                   backup_components=["grafana"], grafana_database=_postgres_database(grafana_postgres))
    run = playbook(PLAYBOOK, extravars=values, diff=True, extra_args=["-vvv"])
    assert run.rc == 0, run
    assert run.result("Dump the shared postgres database")["changed"] is True
    # the password went through a password file under no_log: not in the output, not even at -vvv --diff
    assert PG_PASSWORD not in run.stdout + run.stderr
    archives = list((dest / "localhost" / "grafana").iterdir())
    assert len(archives) == 1, archives
    members = _members(archives[0])
    assert "grafana.pgdump" in members and "grafana.db" not in members, members
    assert "provisioning/datasources/ds.yml" in members, members
    assert not [m for m in members if "dbpass" in m], members  # the password file is not archived
    assert not list(tmp_path.glob("ms-backup-*")), list(tmp_path.glob("ms-backup-*"))  # nor left on the host
    with tarfile.open(archives[0]) as archive:
        archive.extract("./grafana.pgdump", tmp_path / "dump", filter="data")
    # the oracle: PostgreSQL's own pg_restore reads the dump back into a fresh database
    grafana_postgres.restore(tmp_path / "dump" / "grafana.pgdump", "grafana_restored")
    assert grafana_postgres.admin_sql("SELECT uid, title FROM dashboard", database="grafana_restored").strip() \
        == "pg1|Kept in PostgreSQL"


def test_a_wrong_postgres_password_fails_the_backup_without_showing_it(
        playbook, prometheus, alertmanager, grafana_db, grafana_postgres, tmp_path):
    wrong = "wrong-pg-password-93f"
    dest = tmp_path / "backups"
    values = _vars(prometheus, alertmanager, grafana_db, tmp_path, backup_dest=str(dest), backup_dest_on="controller",
                   backup_components=["grafana"], grafana_database=_postgres_database(grafana_postgres, wrong))
    run = playbook(PLAYBOOK, extravars=values, extra_args=["-vvv"])
    assert run.rc != 0
    assert [name for name, _msg in run.failures()] == ["Dump the shared postgres database"], run.failures()
    assert wrong not in run.stdout + run.stderr
    # nothing stored, and the host's staging files are removed
    assert (sorted(dest.rglob("*.tar")) if dest.exists() else []) == []
    assert not list(tmp_path.glob("ms-backup-grafana-*"))
