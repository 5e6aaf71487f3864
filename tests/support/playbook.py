"""Run ansible-playbook from tests and read every task's result.

Integration tests assert on `changed`, `failed` and content per task, not on "it did not crash":
the playbook runs with the ansible.posix.json callback and this module parses its report.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


class PlaybookResult:
    def __init__(self, rc, report, stderr, stdout):
        self.rc = rc
        self.report = report
        self.stderr = stderr
        self.stdout = stdout

    @property
    def stats(self):
        return self.report.get("stats", {})

    def results(self, host="localhost"):
        """[(task name, result)] in run order for one host."""
        out = []
        for play in self.report.get("plays", []):
            for task in play.get("tasks", []):
                res = task.get("hosts", {}).get(host)
                if res is not None:
                    out.append((task["task"]["name"], res))
        return out

    def result(self, name, host="localhost"):
        """The result of the last task called `name` (KeyError when it did not run)."""
        found = [res for task_name, res in self.results(host) if task_name == name]
        if not found:
            raise KeyError("task %r did not run; ran: %s" % (name, [task_name for task_name, _res in self.results(host)]))
        return found[-1]

    def changed(self, host="localhost"):
        return self.stats.get(host, {}).get("changed", 0)

    def failures(self, host="localhost"):
        return [(name, res.get("msg", "")) for name, res in self.results(host) if res.get("failed")]

    def __repr__(self):
        return "PlaybookResult(rc=%s, stats=%s, failures=%s, stderr=%s)" % (
            self.rc, self.stats, self.failures(), self.stderr[-2000:])


@contextlib.contextmanager
def fresh_testhosts(inventory, docker_host):
    """The hosts of ``inventory``'s testhosts group as fresh systemd containers
    (playbooks/testhosts.yml) for the duration of the block; yields the environment that reaches
    them. A host left over from an interrupted run is removed first: it would not be fresh."""
    env = dict(os.environ, DOCKER_HOST=docker_host)
    play = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
            str(REPO / "playbooks" / "testhosts.yml")]
    absent = play + ["-e", "testhosts_state=absent"]
    subprocess.run(absent, cwd=REPO, env=env, check=False, capture_output=True, timeout=300)
    subprocess.run(play, cwd=REPO, env=env, check=True, capture_output=True, timeout=600)
    try:
        yield env
    finally:
        subprocess.run(absent, cwd=REPO, env=env, check=False, capture_output=True, timeout=300)


def run_steps(playbook, play_of, steps, name):
    """Several steps of one task in one ansible-playbook run.

    ``play_of(args)`` builds a one-task play; each step is ``(args, check_mode, diff)`` and
    becomes a copy of that task named ``<name> (step N)``. Each task is a module process of its
    own, so the steps see each other's effects as separate runs would, without paying for a
    playbook start each. Returns the run and each step's result (None for a step that did not
    run, e.g. after a failure).
    """
    tasks = [dict(play_of(args)[0]["tasks"][0], name="%s (step %d)" % (name, index), check_mode=check, diff=diff)
             for index, (args, check, diff) in enumerate(steps, 1)]
    result = playbook([dict(play_of(steps[0][0])[0], tasks=tasks)])
    found = []
    for index in range(1, len(steps) + 1):
        try:
            found.append(result.result("%s (step %d)" % (name, index)))
        except KeyError:
            found.append(None)
    return result, found


def run_playbook(playbook, *, inventory=None, extravars=None, check=False, diff=False, env=None,
                 extra_args=(), timeout=900):
    """Run a playbook (a path, or a list of plays written to a temp file) from the repo root.

    Without an inventory, runs against localhost with the local connection and this Python.
    """
    with tempfile.TemporaryDirectory(prefix="ms-playbook-") as tmp:
        if not isinstance(playbook, (str, Path)):
            path = Path(tmp) / "playbook.yml"
            path.write_text(yaml.safe_dump(playbook, sort_keys=False))
            playbook = path
        args = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook)]
        if inventory is None:
            args += ["-i", "localhost,", "-c", "local",
                     "-e", "ansible_python_interpreter=%s" % sys.executable]
        else:
            args += ["-i", str(inventory)]
        if extravars:
            vars_file = Path(tmp) / "extravars.json"
            vars_file.write_text(json.dumps(extravars))
            args += ["-e", "@%s" % vars_file]
        if check:
            args.append("--check")
        if diff:
            args.append("--diff")
        args += list(extra_args)
        run_env = dict(os.environ)
        run_env.update({
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "false",
        })
        run_env.update(env or {})
        proc = subprocess.run(args, cwd=str(REPO), env=run_env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    try:
        report = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        report = {}
    return PlaybookResult(proc.returncode, report, proc.stderr, proc.stdout)


def render_role_vars(cases, vars_files):
    """Render role variables on the controller: {case: text} for cases {case: (template, vars)}.

    One playbook run of one debug task per case, with the role's defaults and vars files loaded
    as a play would load them: what the role would write, without a host.
    """
    tasks = [{"name": name, "ansible.builtin.debug": {"msg": template}, "vars": overrides}
             for name, (template, overrides) in cases.items()]
    result = run_playbook([{"name": "render", "hosts": "localhost", "gather_facts": False,
                            "vars_files": vars_files, "tasks": tasks}])
    assert result.rc == 0, result
    return {name: result.result(name)["msg"] for name in cases}
