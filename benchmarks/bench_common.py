# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What converge.py and site_rerun.py share: the floor play, running a playbook with the JSON
callback, and the figures of one run (wall time, tasks, tasks run, changed, slowest tasks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLOOR_TASKS = 126


def floor_playbook(hosts):
    """A play of 126 `ansible.builtin.debug` tasks with `verbosity: 3`: nothing remote runs."""
    return "---\n- name: The floor\n  hosts: %s\n  gather_facts: false\n  tasks:\n" % hosts + "".join(
        "    - name: Debug %d\n      ansible.builtin.debug:\n        msg: floor\n        verbosity: 3\n" % n
        for n in range(FLOOR_TASKS))


def docker(*args, check=True, timeout=120):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def testhosts_up():
    """Start (or reuse) the private dockerd of tests/hosts/testhosts.sh; exports DOCKER_HOST."""
    out = subprocess.run([str(REPO / "tests/hosts/testhosts.sh"), "up"], capture_output=True, text=True,
                         check=True, timeout=900)
    os.environ["DOCKER_HOST"] = out.stdout.strip().splitlines()[-1]
    return os.environ["DOCKER_HOST"]


def play(workdir, inventory, name, text=None, playbook=None):
    """Run one playbook (TEXT written to WORKDIR/NAME, or the file PLAYBOOK); (seconds, JSON report)."""
    if playbook is None:
        playbook = Path(workdir) / name
        playbook.write_text(text)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="true")
    start = time.monotonic()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                           str(playbook)], cwd=str(REPO), env=env, capture_output=True, text=True, timeout=1800,
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


def summary(seconds, report, hosts):
    """Figures of one run over HOSTS: a task counts once per host it ran on."""
    rows = [(task, host) for play_ in report["plays"] for task in play_["tasks"] for host in hosts
            if host in task["hosts"]]
    ran = [(task, host) for task, host in rows if not task["hosts"][host].get("skipped")]
    return {"seconds": seconds, "tasks": len(rows), "ran": len(ran),
            "changed": sum(report["stats"].get(host, {}).get("changed", 0) for host in hosts),
            "slowest": sorted(((_task_seconds(task), task["task"]["name"]) for task, _host in ran), reverse=True)[:12],
            "ran_names": ["%s: %s" % (host, task["task"]["name"]) if len(hosts) > 1 else task["task"]["name"]
                          for task, host in ran]}


def print_table(title, floor, rows):
    print(title)
    print("%-34s %10s %7s %6s %8s %9s" % ("run", "wall time", "tasks", "ran", "changed", "x floor"))
    for label, row in [("floor: %d debug tasks, verbosity 3" % FLOOR_TASKS, floor)] + list(rows):
        ratio = row["seconds"] / floor["seconds"]
        print("%-34s %9.1fs %7d %6d %8d %9.2f" % (label, row["seconds"], row["tasks"], row["ran"], row["changed"], ratio))


def print_profile(label, row):
    print("slowest tasks of the %s (seconds):" % label)
    for seconds, name in row["slowest"]:
        print("  %6.2f  %s" % (seconds, name))
    print("every task the %s ran, in order:" % label)
    for name in row["ran_names"]:
        print("  %s" % name)
