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
import subprocess
import sys
import tempfile
import os
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402  pylint: disable=wrong-import-position
    REPO, docker, floor_playbook, play, print_profile, print_table, summary, testhosts_up)

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
FLOOR = floor_playbook("monitoring")
PING = "---\n- name: One remote call\n  hosts: monitoring\n  gather_facts: false\n  tasks:\n" \
       "    - name: Ping\n      ansible.builtin.ping:\n"


def start_host():
    testhosts_up()
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


def give_debian_templates():
    """The local archives hold this machine's Debian alertmanager, which Debian patches to read
    default.tmpl and email.tmpl from /usr/share/prometheus/alertmanager (upstream embeds them);
    without them it exits and systemd restarts it over and over, as the Molecule line mirror
    explains. Copied before the timed plays, as the package would have put them there."""
    source = Path("/usr/share/prometheus/alertmanager")
    docker("exec", NAME, "mkdir", "-p", str(source))
    for name in ("default.tmpl", "email.tmpl"):
        docker("cp", str(source / name), "%s:%s" % (NAME, source / name))


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
            if args.method == "local":
                give_debian_templates()
            inventory = write_inventory(workdir, args.address, args.method, archives)
            floor = summary(*play(workdir, inventory, "floor.yml", FLOOR), [NAME])
            ping = summary(*play(workdir, inventory, "ping.yml", PING), [NAME])
            fresh = summary(*play(workdir, inventory, "converge.yml", PLAYBOOK), [NAME])
            rerun = summary(*play(workdir, inventory, "converge.yml", PLAYBOOK), [NAME])
    finally:
        if not args.keep:
            docker("rm", "-f", NAME, check=False)
    print_table("monitoring host: node_exporter + alertmanager + prometheus, method %s, pipelining on" % args.method,
                floor, (("one remote call (ping play)", ping), ("fresh converge", fresh), ("idempotent re-run", rerun)))
    print("%-34s %10.2f" % ("ratio re-run / fresh", rerun["seconds"] / fresh["seconds"]))
    print_profile("re-run", rerun)
    if rerun["changed"] != 0:
        raise SystemExit("the re-run changed %d tasks: not idempotent" % rerun["changed"])


if __name__ == "__main__":
    main()
