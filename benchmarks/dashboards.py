#!/usr/bin/env python
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sync N generated dashboards into Grafana, first run and unchanged re-run, three ways:

  community   community.grafana.grafana_dashboard in a loop (one task per dashboard)
  ours-loop   monitoring.stack.grafana_dashboard in a loop (same work, same loop)
  ours-bulk   monitoring.stack.grafana_dashboards on the directory (one task)

All against the same loopback Grafana stand-in (tests/support/grafana_standin.py; not Grafana),
reset between the ways. Prints HTTP requests and TCP connections (counted by the stand-in),
wall time of the ansible-playbook run, the task's own time (start to end of the task in the
ansible.posix.json report, without the playbook start-up) and the changed count, with ratios
against community.grafana (/base) and against our module in the same loop (/loop).

  benchmarks/dashboards.py [--count 200] [--mode legacy|both|apis|amg]

--mode picks the stand-in's Grafana generation (legacy: 11.6, /api only; both: 12.2; apis: 13.0,
where our modules use /apis and community.grafana the legacy routes, still served by 13).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "collections"))

from tests.support.grafana_standin import ADMIN_TOKEN, MODES, GrafanaStandIn  # noqa: E402
from tests.support.playbook import run_playbook  # noqa: E402


def generate(directory, count):
    """Dashboards shaped like the seed's (stat + timeseries panels, a collapsed row, variables)."""
    files = []
    for index in range(count):
        uid = "bench-%04d" % index
        dash = {
            "uid": uid, "title": "Service %04d" % index, "tags": ["bench"], "schemaVersion": 39, "editable": True,
            "time": {"from": "now-6h", "to": "now"}, "refresh": "30s",
            "templating": {"list": [{"name": "job", "type": "constant", "query": "svc-%04d-metrics" % index}]},
            "panels": [
                {"id": 1, "type": "stat", "title": "UP", "gridPos": {"h": 4, "w": 6, "x": 0, "y": 0},
                 "datasource": {"type": "prometheus", "uid": "amp"},
                 "targets": [{"refId": "A", "expr": 'sum(up{job="$job"})'}]},
                {"id": 2, "type": "timeseries", "title": "RPS", "gridPos": {"h": 8, "w": 12, "x": 6, "y": 0},
                 "datasource": {"type": "prometheus", "uid": "amp"},
                 "targets": [{"refId": "A",
                              "expr": 'sum(rate(http_server_requests_seconds_count{job="$job"}[$__rate_interval]))'}]},
                {"id": 3, "type": "row", "title": "JVM", "collapsed": True, "gridPos": {"h": 1, "w": 24, "x": 0, "y": 8},
                 "panels": [{"id": 4, "type": "timeseries", "title": "Heap",
                             "datasource": {"type": "prometheus", "uid": "amp"},
                             "targets": [{"refId": "A", "expr": 'jvm_memory_used_bytes{job="$job",area="heap"}'}]}]},
            ],
        }
        path = Path(directory) / ("%s.json" % uid)
        path.write_text(json.dumps(dash, indent=2))
        files.append(str(path))
    return files


def plays(way, url, files, directory):
    conn = {"url": url, "token": ADMIN_TOKEN}
    if way == "community":
        task = {"name": "t", "community.grafana.grafana_dashboard": {
            "grafana_url": url, "grafana_api_key": ADMIN_TOKEN, "path": "{{ item }}", "state": "present",
            "overwrite": True}, "loop": files}
    elif way == "ours-loop":
        task = {"name": "t", "monitoring.stack.grafana_dashboard": dict(conn, path="{{ item }}"), "loop": files}
    else:
        task = {"name": "t", "monitoring.stack.grafana_dashboards": dict(conn, path=directory)}
    return [{"name": way, "hosts": "localhost", "gather_facts": False, "tasks": [task]}]


def changed_count(result):
    if "results" in result:
        return sum(1 for item in result["results"] if item.get("changed"))
    counts = result.get("counts") or {}
    return counts.get("created", 0) + counts.get("updated", 0) + counts.get("deleted", 0)


def _when(text):
    return datetime.datetime.fromisoformat(text.rstrip("Z"))


def task_seconds(run):
    """Start to end of the task "t" in the json callback's report."""
    for play in run.report.get("plays", []):
        for task in play.get("tasks", []):
            if task["task"]["name"] == "t":
                duration = task["task"]["duration"]
                return (_when(duration["end"]) - _when(duration["start"])).total_seconds()
    return float("nan")


def count_connections(server):
    """Count the TCP connections the stand-in accepts (wraps its server's get_request)."""
    server.connections = 0
    accept = server.server.get_request

    def counting():
        connection = accept()
        server.connections += 1
        return connection

    server.server.get_request = counting


def measure(server, way, files, directory):
    server.reset()
    rows = []
    for label in ("first run", "re-run"):
        before, connections = server.requests, server.connections
        start = time.monotonic()
        run = run_playbook(plays(way, server.url, files, directory), timeout=3600)
        seconds = time.monotonic() - start
        if run.rc != 0:
            raise SystemExit("%s %s failed: %s" % (way, label, run))
        rows.append({"way": way, "run": label, "requests": server.requests - before,
                     "connections": server.connections - connections, "seconds": seconds,
                     "task": task_seconds(run), "changed": changed_count(run.result("t")),
                     "stored": len(server.orgs[1].dashboards)})
    return rows


def ratio(value, ref):
    return value / float(ref) if ref else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--mode", choices=sorted(MODES), default="legacy")
    args = parser.parse_args()
    server = GrafanaStandIn(mode=args.mode).start()
    count_connections(server)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        with tempfile.TemporaryDirectory(prefix="ms-bench-dashboards-") as directory:
            files = generate(directory, args.count)
            rows = []
            for way in ("community", "ours-loop", "ours-bulk"):
                rows.extend(measure(server, way, files, directory))
    finally:
        server.stop()
    base = dict((row["run"], row) for row in rows if row["way"] == "community")
    loop = dict((row["run"], row) for row in rows if row["way"] == "ours-loop")
    print("%d dashboards, Grafana stand-in (mode %s, Grafana %s) on loopback (requests and connections counted by the "
          "stand-in); started %s, load average %s" % (args.count, args.mode, server.version, started, " ".join("%.1f" % v for v in os.getloadavg())))
    header = "%-10s %-9s %8s %6s %8s %8s %8s %7s %7s %8s %7s %7s %7s %6s" % (
        "way", "run", "requests", "conns", "req/base", "req/loop", "seconds", "s/base", "s/loop", "task s",
        "t/base", "t/loop", "changed", "stored")
    print(header)
    print("-" * len(header))
    for row in rows:
        ref, own = base[row["run"]], loop[row["run"]]
        print("%-10s %-9s %8d %6d %8.2f %8.2f %8.1f %7.3f %7.3f %8.2f %7.3f %7.3f %7d %6d" % (
            row["way"], row["run"], row["requests"], row["connections"], ratio(row["requests"], ref["requests"]),
            ratio(row["requests"], own["requests"]), row["seconds"], ratio(row["seconds"], ref["seconds"]),
            ratio(row["seconds"], own["seconds"]), row["task"], ratio(row["task"], ref["task"]),
            ratio(row["task"], own["task"]), row["changed"], row["stored"]))


if __name__ == "__main__":
    main()
