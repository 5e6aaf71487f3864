# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wall time of the whole site.yml re-run on the demo's three hosts, against a floor.

The demo of `make demo` (scripts/demo.sh, inventories/local): a monitoring host and two
application hosts in two environments, systemd test hosts of tests/hosts/testhosts.sh. This
copies inventories/local into a scratch directory with its own container names (ms-fp-site-*)
and loopback addresses (127.0.0.192-194 by default), so that it never touches a running demo
(ms-demo-*, 127.0.0.71-73), starts those hosts, runs site.yml once (the fresh deploy) and again
(nothing to change), and measures in the same run the floor: a play of 126
`ansible.builtin.debug` tasks with `verbosity: 3` on the monitoring host. Prints wall time,
tasks, tasks run, changed and the ratio to the floor, and the re-run's profile; removes the hosts.

    .venv/bin/python benchmarks/site_rerun.py [--addresses 127.0.0.192,127.0.0.193,127.0.0.194] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402  pylint: disable=wrong-import-position
    REPO, floor_playbook, play, print_profile, print_table, summary, testhosts_up)

# The demo's hosts, in the order of --addresses.
DEMO_HOSTS = ("ms-demo-monitoring", "ms-demo-app-prod", "ms-demo-app-dev")


def bench_inventory(workdir, addresses):
    """inventories/local with other host names and addresses; (inventory dir, host names).

    The group_vars find the dashboards at inventory_dir/../../dashboards: a link keeps that true.
    """
    inventory = Path(workdir) / "inventories" / "local"
    shutil.copytree(REPO / "inventories" / "local", inventory)
    (Path(workdir) / "dashboards").symlink_to(REPO / "dashboards")
    text = (inventory / "hosts.yml").read_text()
    hosts = yaml.safe_load(text)["all"]["children"]
    names = []
    for demo, address in zip(DEMO_HOSTS, addresses):
        name = demo.replace("ms-demo-", "ms-fp-site-")
        names.append(name)
        for group in hosts.values():
            if group and demo in (group.get("hosts") or {}):
                group["hosts"][name] = dict(group["hosts"].pop(demo), monitoring_listen_ip=address)
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": hosts}}, sort_keys=False))
    return inventory, names


def testhosts(inventory, state):
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                    str(REPO / "playbooks" / "testhosts.yml"), "-e", "testhosts_state=%s" % state],
                   cwd=str(REPO), env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
                   capture_output=True, text=True, check=state == "present", timeout=900)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addresses", default="127.0.0.192,127.0.0.193,127.0.0.194",
                        help="loopback addresses of the monitoring host and the two application hosts")
    parser.add_argument("--keep", action="store_true", help="keep the test hosts afterwards")
    args = parser.parse_args()
    addresses = args.addresses.split(",")
    if len(addresses) != len(DEMO_HOSTS):
        parser.error("--addresses takes %d addresses" % len(DEMO_HOSTS))
    testhosts_up()
    with tempfile.TemporaryDirectory(prefix="ms-site-bench-") as workdir:
        inventory, names = bench_inventory(workdir, addresses)
        testhosts(inventory, "absent")
        try:
            testhosts(inventory, "present")
            floor = summary(*play(workdir, inventory, "floor.yml", floor_playbook(names[0])), [names[0]])
            fresh = summary(*play(workdir, inventory, "site.yml", playbook=REPO / "site.yml"), names)
            rerun = summary(*play(workdir, inventory, "site.yml", playbook=REPO / "site.yml"), names)
        finally:
            if not args.keep:
                testhosts(inventory, "absent")
    print_table("site.yml on the demo's 3 hosts (%s), pipelining on" % ", ".join(names), floor,
                (("fresh deploy", fresh), ("re-run, nothing to change", rerun)))
    print("%-34s %10.2f" % ("ratio re-run / fresh", rerun["seconds"] / fresh["seconds"]))
    print_profile("re-run", rerun)
    if rerun["changed"] != 0:
        raise SystemExit("the re-run changed %d tasks: not idempotent" % rerun["changed"])


if __name__ == "__main__":
    main()
