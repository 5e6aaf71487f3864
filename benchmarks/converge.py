# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wall time of a fresh converge and of an idempotent re-run of a monitoring host, against a floor.

Starts one systemd test host (tests/hosts/testhosts.sh, private dockerd, host networking,
services on 127.0.0.33) and converges it with monitoring.stack.node_exporter,
monitoring.stack.alertmanager and monitoring.stack.prometheus (Debian packages, or with
--method local the `local` archive method from archives tests/hosts/mirror.py builds of the same
binaries), then again; pipelining on. In the same run it measures the floor: a play of 126
`ansible.builtin.debug` tasks with `verbosity: 3` against the same host (nothing remote runs),
and one remote module call (`ansible.builtin.ping`). Prints a table (wall time, tasks run,
tasks changed, ratio to the floor, re-run/fresh) and the re-run's slowest tasks (the JSON
callback's per-task times), then removes the host.

    benchmarks/converge.sh [--method package|local] [--address 127.0.0.33] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "ms-prom-bench"
IMAGE = os.environ.get("MOLECULE_IMAGE", "monitoring-stack/debian-systemd:bookworm")

PLAYBOOK = """---
- name: Converge the monitoring host
  hosts: monitoring
  gather_facts: true
  roles:
    - role: monitoring.stack.node_exporter
    - role: monitoring.stack.alertmanager
    - role: monitoring.stack.prometheus
"""
FLOOR_TASKS = 126
FLOOR = "---\n- name: The floor\n  hosts: monitoring\n  gather_facts: false\n  tasks:\n" + "".join(
    "    - name: Debug %d\n      ansible.builtin.debug:\n        msg: floor\n        verbosity: 3\n" % n
    for n in range(FLOOR_TASKS))
PING = "---\n- name: One remote call\n  hosts: monitoring\n  gather_facts: false\n  tasks:\n" \
       "    - name: Ping\n      ansible.builtin.ping:\n"


def docker(*args, check=True, timeout=120):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def start_host():
    out = subprocess.run([str(REPO / "tests/hosts/testhosts.sh"), "up"], capture_output=True, text=True,
                         check=True, timeout=900)
    os.environ["DOCKER_HOST"] = out.stdout.strip().splitlines()[-1]
    docker("rm", "-f", NAME, check=False)
    docker("run", "-d", "--name", NAME, "--cgroupns", "private", "--cap-add", "SYS_ADMIN",
           "--security-opt", "seccomp=unconfined", "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
           "--network", "host", "--label", "monitoring-stack.testhost=true", IMAGE, "/lib/systemd/systemd")
    deadline, state = time.monotonic() + 60, ""
    while time.monotonic() < deadline and state not in ("running", "degraded"):
        # "offline" until systemd is PID 1 and answers; then --wait blocks until boot ends.
        state = docker("exec", NAME, "timeout", "30", "systemctl", "is-system-running", "--wait",
                       check=False).stdout.strip()
        if state not in ("running", "degraded"):
            time.sleep(1)
    if state not in ("running", "degraded"):
        raise SystemExit("test host did not boot within 60 s: %s" % state)


def local_archives(workdir):
    """Archives in the upstream layout of the machine's own binaries, for the local method."""
    archives = {}
    for product in ("node_exporter", "alertmanager", "prometheus"):
        root = Path(workdir) / "mirror" / product
        out = subprocess.run([sys.executable, str(REPO / "tests/hosts/mirror.py"), "build", "--root", str(root),
                              "--product", product], capture_output=True, text=True, check=True, timeout=300)
        version = out.stdout.split()[-1]
        archives[product] = (version, str(next(root.glob("v%s/*.tar.gz" % version))))
    return archives


def write_inventory(workdir, address, method, archives):
    variables = {
        "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3",
        "monitoring_environment": "loadtest",
        "node_exporter_listen_address": "%s:19100" % address,
        "prometheus_listen_address": "%s:19090" % address, "alertmanager_listen_address": "%s:19093" % address,
        "prometheus_rule_packs": ["service", "node", "prometheus", "http_micrometer"]}
    if method == "local":
        for product, (version, path) in archives.items():
            variables.update({"%s_install_method" % product: "local", "%s_version" % product: version,
                              "%s_local_archive" % product: path})
    inventory = Path(workdir) / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"children": {
        "monitoring": {"hosts": {NAME: {}}}, "alertmanager": {"hosts": {NAME: {}}}}, "vars": variables}}))
    return inventory


def play(workdir, inventory, name, text):
    """Run one playbook; (seconds, report of the JSON callback)."""
    playbook = Path(workdir) / name
    playbook.write_text(text)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="true")
    start = time.monotonic()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                           str(playbook)], cwd=str(REPO), env=env, capture_output=True, text=True, timeout=1200,
                          check=False)
    seconds = time.monotonic() - start
    report = json.loads(proc.stdout[proc.stdout.index("{"):])
    if proc.returncode != 0:
        raise SystemExit("%s failed (rc=%s): %s" % (name, proc.returncode, json.dumps(report.get("stats"))))
    return seconds, report


def _timestamp(text):
    """Seconds of the JSON callback's ISO time (2026-12-02T19:50:01.123456Z); only differences matter."""
    return time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + text[19:26].rstrip("Z"))


def _task_seconds(task):
    duration = task["task"].get("duration") or {}
    if not duration.get("start") or not duration.get("end"):
        return 0.0
    return _timestamp(duration["end"]) - _timestamp(duration["start"])


def summary(seconds, report):
    tasks = [task for play_ in report["plays"] for task in play_["tasks"] if NAME in task["hosts"]]
    ran = [task for task in tasks if not task["hosts"][NAME].get("skipped")]
    return {"seconds": seconds, "tasks": len(tasks), "ran": len(ran), "changed": report["stats"][NAME]["changed"],
            "slowest": sorted(((_task_seconds(task), task["task"]["name"]) for task in ran), reverse=True)[:12],
            "ran_names": [task["task"]["name"] for task in ran]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", default="127.0.0.33", help="loopback address the services listen on")
    parser.add_argument("--method", choices=("package", "local"), default="package",
                        help="install method of the three roles (local: archives of the same binaries)")
    parser.add_argument("--keep", action="store_true", help="keep the test host afterwards")
    args = parser.parse_args()
    start_host()
    try:
        with tempfile.TemporaryDirectory(prefix="ms-bench-") as workdir:
            archives = local_archives(workdir) if args.method == "local" else {}
            inventory = write_inventory(workdir, args.address, args.method, archives)
            floor = summary(*play(workdir, inventory, "floor.yml", FLOOR))
            ping = summary(*play(workdir, inventory, "ping.yml", PING))
            fresh = summary(*play(workdir, inventory, "converge.yml", PLAYBOOK))
            rerun = summary(*play(workdir, inventory, "converge.yml", PLAYBOOK))
    finally:
        if not args.keep:
            docker("rm", "-f", NAME, check=False)
    print("monitoring host: node_exporter + alertmanager + prometheus, method %s, pipelining on" % args.method)
    print("%-34s %10s %7s %6s %8s %9s" % ("run", "wall time", "tasks", "ran", "changed", "x floor"))
    rows = (("floor: %d debug tasks, verbosity 3" % FLOOR_TASKS, floor), ("one remote call (ping play)", ping),
            ("fresh converge", fresh), ("idempotent re-run", rerun))
    for label, row in rows:
        ratio = row["seconds"] / floor["seconds"]
        print("%-34s %9.1fs %7d %6d %8d %9.2f" % (label, row["seconds"], row["tasks"], row["ran"], row["changed"], ratio))
    print("%-34s %10.2f" % ("ratio re-run / fresh", rerun["seconds"] / fresh["seconds"]))
    print("slowest tasks of the re-run (seconds):")
    for seconds, name in rerun["slowest"]:
        print("  %6.2f  %s" % (seconds, name))
    print("every task the re-run ran, in order:")
    for name in rerun["ran_names"]:
        print("  %s" % name)
    if rerun["changed"] != 0:
        raise SystemExit("the re-run changed %d tasks: not idempotent" % rerun["changed"])


if __name__ == "__main__":
    main()
