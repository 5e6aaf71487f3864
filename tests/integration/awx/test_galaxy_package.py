"""The collection as a Galaxy user gets it: the tarball of `ansible-galaxy collection build`.

A user who installed monitoring.stack has no checkout: the docs must not send them to files the
tarball lacks, ansible-builder must find the collection's Python and system requirements where
it looks for them in an installed collection, the shipped playbooks must find the shipped
dashboards, and `ansible-doc` must list each module's Python requirements.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.support.playbook import REPO

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent

# Paths of the source repository that docs may name as evidence ("tested by tests/..."), never
# as something to use: README.md says they exist only in a checkout.
CHECKOUT_ONLY = ("tests/", "benchmarks/", "extensions/", "scripts/", "requirements-dev.txt", "Makefile", ".ci/")
# Paths of the user's own repository in examples: a copy of a shipped inventory, the
# aws_managed README's "put this in inventories/<env>/group_vars/all/", the dashboards
# directory of docs/grafana.md and docs/doctor.md (and its sample output).
USER_CREATED = ("inventories/mycompany-prod", "inventories/qa", "inventories/stage/group_vars/all/",
                "inventories/prod/group_vars/all/", "docs/grafana", "dashboards/api.json")
SHIPPED_TOP = ("awx", "dashboards", "docs", "inventories", "meta", "playbooks", "plugins", "roles", "rules",
               "site.yml", "requirements.txt", "bindep.txt", "changelogs")

# Third-party Python packages, by the name a module imports and the name a user installs.
THIRD_PARTY = {"boto3": "boto3", "botocore": "botocore", "yaml": "PyYAML", "promql_parser": "promql-parser"}


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("galaxy-build")
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out)],
                          cwd=str(REPO), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [path] = out.glob("monitoring-stack-*.tar.gz")
    return path


@pytest.fixture(scope="module")
def shipped(tarball):
    with tarfile.open(tarball) as archive:
        return {member.name for member in archive.getmembers()}


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory):
    """The tarball installed as ansible-galaxy installs it (collections path, no checkout)."""
    root = tmp_path_factory.mktemp("galaxy-install")
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(root),
                           "--no-deps"], cwd=str(root), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def _docs():
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted(REPO.glob("roles/*/README.md"))]


def _named_paths(text):
    """Repository paths a markdown text names (in backticks, links or code blocks)."""
    pattern = re.compile(r"(?<![\w./-])((?:%s)(?:/[\w.*<>{}-]+)*/?)" % "|".join(
        re.escape(p) for p in SHIPPED_TOP + tuple(c.rstrip("/") for c in CHECKOUT_ONLY)))
    for match in pattern.finditer(text):
        path = match.group(1).rstrip(".")
        if "/" in path or path.endswith((".yml", ".txt")) or path in ("Makefile",):
            yield path


def test_docs_name_only_shipped_files(shipped):
    missing = []
    for doc in _docs():
        if str(doc.relative_to(REPO)) not in shipped:
            missing.append("%s itself is not shipped" % doc.relative_to(REPO))
        for path in _named_paths(doc.read_text()):
            if path.startswith(CHECKOUT_ONLY) or path.startswith(USER_CREATED) or re.search(r"[<>*{}]", path):
                continue
            if path.rstrip("/") not in {name.rstrip("/") for name in shipped}:
                missing.append("%s: %s" % (doc.relative_to(REPO), path))
    assert missing == []
    readme = (REPO / "README.md").read_text()
    assert "only in a checkout" in readme


def test_collection_requirements_where_ansible_builder_looks(installed, tmp_path):
    """ansible-builder's introspection reads an installed collection's meta/execution-environment.yml
    and resolves its `python`/`system` files from the collection root: run it on the install."""
    import ansible_builder

    introspect = Path(ansible_builder.__file__).parent / "_target_scripts" / "introspect.py"
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run([sys.executable, str(introspect), "introspect", str(installed),
                           "--write-pip", str(out / "pip.txt"), "--write-bindep", str(out / "bindep.txt")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pip = (out / "pip.txt").read_text()
    # PyYAML is left out on purpose: ansible-builder drops it (ansible-core brings it).
    for package in ("boto3", "botocore", "promql-parser"):
        assert re.search(r"^%s\b.*# from collection monitoring\.stack" % re.escape(package), pip, re.M | re.I), pip
    bindep = (out / "bindep.txt").read_text()
    assert "curl" in bindep and "# from collection monitoring.stack" in bindep, bindep


def test_shipped_doctor_playbook_finds_the_shipped_dashboards(installed, tmp_path):
    """`ansible-playbook monitoring.stack.doctor` from a directory that is not a checkout."""
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    site_packages = next(p for p in map(Path, sys.path) if (p / "ansible_collections" / "amazon").is_dir())
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH="%s:%s" % (installed, site_packages),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, "monitoring.stack.doctor"],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout[proc.stdout.index("{"):])
    [task] = [t for play in report["plays"] for t in play["tasks"] if t["task"]["name"] == "Show the report"]
    count = len(list((REPO / "dashboards").rglob("*.json")))
    assert task["hosts"]["localhost"]["msg"][0].startswith(
        "monitoring.stack doctor: 0 finding(s) in %d dashboard(s)" % count), task


def _imports(path, seen=None):
    """Top-level module names imported by a plugin file and the collection's module_utils it uses."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
        package = "ansible_collections.monitoring.stack.plugins.module_utils"
        if isinstance(node, ast.ImportFrom) and node.module == package:  # from ...module_utils import x
            modules = [package + "." + a.name for a in node.names]
        for module in modules:
            if module.startswith(package + "."):
                util = REPO / "plugins" / "module_utils" / (module[len(package) + 1:].replace(".", "/") + ".py")
                if util.is_file():
                    names |= _imports(util, seen)
            elif module.startswith("ansible_collections.amazon.aws."):
                names |= {"boto3", "botocore"}  # amazon.aws's module_utils import both
            else:
                names.add(module.split(".")[0])
    return names


# What each module needs on the host that runs it (beyond Python), read from what its code does:
# AWS modules need boto3/botocore (amazon.aws's boto3 fragment lists them); PyYAML where a
# module parses or writes YAML (rule files, Alertmanager definitions, ADOT configs, doctor
# inputs); promql-parser where PromQL is parsed (the $environment injection, the doctor).
NEEDS = {
    "amg_service_account": {"boto3", "botocore"},
    "amp_alertmanager_definition": {"boto3", "botocore", "yaml"},
    "amp_rule_groups_namespace": {"boto3", "botocore", "yaml"},
    "amp_workspace": {"boto3", "botocore"},
    "doctor": {"promql_parser", "yaml"},
    "ecs_collector_sidecar": {"boto3", "botocore"},
    "ecs_rollout": {"boto3", "botocore"},
    "grafana_dashboard": {"promql_parser"},
    "grafana_dashboards": {"promql_parser"},
    "host_state": set(),
    "grafana_datasource": set(),
    "grafana_folder": set(),
    "grafana_service_account": set(),
    "inventory_check": set(),
    "otel_config": {"boto3", "botocore", "yaml"},
}


def test_needs_covers_every_module():
    assert sorted(NEEDS) == sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py"))


@pytest.mark.parametrize("module", sorted(NEEDS))
def test_ansible_doc_lists_python_requirements(module):
    # The table cannot name a package the module's code never imports (directly or through
    # the collection's module_utils).
    assert NEEDS[module] <= _imports(REPO / "plugins" / "modules" / (module + ".py")), module
    proc = subprocess.run([str(BIN / "ansible-doc"), "--json", "-t", "module", "monitoring.stack." + module],
                          cwd=str(REPO), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["monitoring.stack." + module]["doc"]
    listed = " ".join(doc.get("requirements") or []).lower()
    for name in sorted(NEEDS[module]):
        assert THIRD_PARTY[name].lower() in listed, (module, name, doc.get("requirements"))


def test_every_galaxy_dependency_is_used():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    shipped_text = "\n".join(p.read_text(errors="replace") for top in ("plugins", "roles", "playbooks")
                             for p in (REPO / top).rglob("*") if p.is_file() and p.suffix in (".py", ".yml", ".j2"))
    for dependency in galaxy["dependencies"]:
        assert dependency + "." in shipped_text, "%s is a dependency but nothing uses it" % dependency
