"""A throwaway PostgreSQL 15 cluster of Debian's postgresql package (initdb + postgres from
/usr/lib/postgresql/15/bin), for the tests that need a real shared database: Grafana's
[database] settings (tests/integration/test_grafana_database.py) and the pg_dump backup
(tests/integration/playbooks/test_backup_local.py).

It listens only on the loopback address it is given, password (scram-sha-256) authentication on
TCP, trust on its own Unix socket for the superuser; it runs as the ``postgres`` user when the
tests run as root (PostgreSQL refuses root). ``start()`` waits at most 30 s, ``stop()`` always
stops the server and removes its directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.prometheus_process import free_port, stop_process

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def pg_env():
    """The environment without the caller's PG* settings, which would redirect psql/pg_dump."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def skip_without_postgres():
    missing = [str(p) for p in (PG_BIN / "initdb", PG_BIN / "postgres", PG_BIN / "pg_isready") if not p.exists()]
    if missing or not shutil.which("psql"):
        pytest.skip("PostgreSQL 15 binaries absent (%s): install Debian's postgresql package "
                    "(scripts/setup-system.sh does)" % ", ".join(missing or ["psql"]))


class Postgres:
    """One cluster on ``address``; ``admin_sql`` runs SQL as the superuser over the socket."""

    def __init__(self, address):
        self.address = address
        self.dir = Path(tempfile.mkdtemp(prefix="ms-pg-"))  # pytest's tmp_path is 0700 root: postgres cannot enter it
        self.port = free_port(address)
        self.proc = None
        self.log = self.dir / "postgres.log"
        self._as = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        os.chmod(self.dir, 0o700)

    def _run(self, *args, timeout=120):
        return subprocess.run(list(args), cwd=str(self.dir), env=pg_env(), capture_output=True, text=True,
                              timeout=timeout, check=False, **self._as)

    def start(self):
        init = self._run(str(PG_BIN / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres",
                         "--auth-local=trust", "--auth-host=scram-sha-256")
        assert init.returncode == 0, init.stderr
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(self.dir / "data"), "-p", str(self.port),
                 "-c", "listen_addresses=" + self.address, "-c", "unix_socket_directories=" + str(self.dir),
                 "-c", "fsync=off"],
                cwd=str(self.dir), env=pg_env(), stdout=log, stderr=subprocess.STDOUT, **self._as)
        deadline = time.monotonic() + 30
        for _attempt in range(150):
            ready = self._run(str(PG_BIN / "pg_isready"), "-h", self.address, "-p", str(self.port), timeout=10)
            if ready.returncode == 0 or self.proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert ready.returncode == 0, "PostgreSQL did not start: %s" % self.log.read_text()[-2000:]
        return self

    def admin_sql(self, sql, database="postgres"):
        """SQL as the superuser over the Unix socket (trust), never over TCP."""
        out = self._run("psql", "-h", str(self.dir), "-p", str(self.port), "-U", "postgres", "-d", database,
                        "-v", "ON_ERROR_STOP=1", "-Atc", sql, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def restore(self, dump, database):
        """pg_restore of a custom-format dump into ``database`` (created here), as the superuser."""
        self.admin_sql("CREATE DATABASE %s" % database)
        staged = self.dir / Path(dump).name  # the postgres user cannot read pytest's tmp_path
        shutil.copyfile(dump, staged)
        if self._as:
            os.chown(staged, self._as["user"], self._as["group"])
        out = self._run(str(PG_BIN / "pg_restore"), "-h", str(self.dir), "-p", str(self.port), "-U", "postgres",
                        "--no-owner", "-d", database, str(staged), timeout=60)
        assert out.returncode == 0, out.stderr
        return out

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)
