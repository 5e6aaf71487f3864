# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wall time of a fresh converge and of an idempotent re-run of a monitoring host.

Starts one systemd test host (tests/hosts/testhosts.sh, private dockerd, host networking,
Prometheus and Alertmanager on 127.0.0.33), converges it with monitoring.stack.alertmanager and
monitoring.stack.prometheus from the Debian packages, converges it again, prints a table
(wall time, tasks run, tasks changed, re-run/fresh ratio), and removes the host.

    benchmarks/converge.sh [--address 127.0.0.33] [--keep]
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
    - role: monitoring.stack.alertmanager
    - role: monitoring.stack.prometheus
"""


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


def converge(workdir, address):
    inventory = Path(workdir) / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"children": {
        "monitoring": {"hosts": {NAME: {}}}, "alertmanager": {"hosts": {NAME: {}}}}, "vars": {
        "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3",
        "monitoring_environment": "loadtest",
        "prometheus_listen_address": "%s:19090" % address, "alertmanager_listen_address": "%s:19093" % address,
        "prometheus_rule_packs": ["service", "node", "prometheus", "http_micrometer"]}}}))
    playbook = Path(workdir) / "converge.yml"
    playbook.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_NOCOLOR="1")
    start = time.monotonic()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                           str(playbook)], cwd=str(REPO), env=env, capture_output=True, text=True, timeout=1200,
                          check=False)
    seconds = time.monotonic() - start
    report = json.loads(proc.stdout[proc.stdout.index("{"):])
    if proc.returncode != 0:
        raise SystemExit("converge failed (rc=%s): %s" % (proc.returncode, json.dumps(report.get("stats"))))
    tasks = sum(1 for play in report["plays"] for task in play["tasks"] if NAME in task["hosts"])
    stats = report["stats"][NAME]
    return seconds, tasks, stats["changed"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", default="127.0.0.33", help="loopback address the services listen on")
    parser.add_argument("--keep", action="store_true", help="keep the test host afterwards")
    args = parser.parse_args()
    start_host()
    try:
        with tempfile.TemporaryDirectory(prefix="ms-bench-") as workdir:
            fresh = converge(workdir, args.address)
            rerun = converge(workdir, args.address)
    finally:
        if not args.keep:
            docker("rm", "-f", NAME, check=False)
    print("%-26s %10s %7s %8s" % ("run (monitoring host)", "wall time", "tasks", "changed"))
    for label, (seconds, tasks, changed) in (("fresh converge", fresh), ("idempotent re-run", rerun)):
        print("%-26s %9.1fs %7d %8d" % (label, seconds, tasks, changed))
    print("%-26s %10.2f" % ("ratio re-run / fresh", rerun[0] / fresh[0]))
    if rerun[2] != 0:
        raise SystemExit("the re-run changed %d tasks: not idempotent" % rerun[2])


if __name__ == "__main__":
    main()
