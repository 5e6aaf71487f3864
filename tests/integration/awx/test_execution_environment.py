"""`ansible-builder create` turns awx/execution-environment.yml into a build context that
installs our Python, system and collection dependencies (the image build itself needs a
registry, which these machines cannot reach)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.support.playbook import REPO


def test_builder_create_makes_a_complete_context(tmp_path):
    builder = shutil.which("ansible-builder") or os.path.join(os.path.dirname(sys.executable), "ansible-builder")
    if not os.path.exists(builder):
        pytest.skip("ansible-builder is not installed")
    context = tmp_path / "context"
    proc = subprocess.run(
        [builder, "create", "-f", str(REPO / "awx" / "execution-environment.yml"), "-c", str(context)],
        capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Named after the container runtime ansible-builder finds: Containerfile (podman) or Dockerfile.
    names = [n for n in ("Containerfile", "Dockerfile") if (context / n).is_file()]
    assert names, "no Containerfile/Dockerfile in %s" % sorted(p.name for p in context.iterdir())
    containerfile = (context / names[0]).read_text()
    assert "quay.io/fedora/fedora:41" in containerfile
    assert "ansible-core" in containerfile and "ansible-runner" in containerfile
    build = context / "_build"
    python_reqs = (build / "requirements.txt").read_text()
    for package in ("boto3", "botocore", "promql-parser"):
        assert package in python_reqs
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    assert {c["name"] for c in galaxy["collections"]} >= {"amazon.aws"}
    assert (build / "bindep.txt").is_file()


def test_galaxy_dependencies_match_the_ee_requirements():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    ee = yaml.safe_load((REPO / "meta" / "requirements.yml").read_text())
    assert {c["name"]: c["version"] for c in ee["collections"]} == galaxy["dependencies"]


def _role_default(role, name):
    return yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())[name]


def test_ee_ships_promtool_and_amtool_of_the_roles_versions(tmp_path):
    """The modules validate with promtool/amtool when they are on PATH: the EE must install
    them (release archives of the versions the roles install, checked against the release's
    sha256sums.txt), and curl/tar/gzip for that step must come from bindep."""
    ee = yaml.safe_load((REPO / "awx" / "execution-environment.yml").read_text())
    steps = "\n".join(ee.get("additional_build_steps", {}).get("append_final", []))
    for tool, archive, role in (("promtool", "prometheus", "prometheus"), ("amtool", "alertmanager", "alertmanager")):
        version = _role_default(role, role + "_version")
        assert "%s_VERSION=%s" % (archive.upper(), version) in steps, (tool, version, steps)
        assert "/usr/local/bin/%s" % tool in steps and "%s --version" % tool in steps, tool
    assert steps.count("sha256sum -c") == 2, "both archives are checked against sha256sums.txt"
    bindep = (REPO / "bindep.txt").read_text()
    for package in ("curl", "tar", "gzip"):
        assert any(line.split()[0] == package for line in bindep.splitlines() if line and not line.startswith("#")), package

    builder = shutil.which("ansible-builder") or os.path.join(os.path.dirname(sys.executable), "ansible-builder")
    if not os.path.exists(builder):
        pytest.skip("ansible-builder is not installed")
    context = tmp_path / "context"
    proc = subprocess.run(
        [builder, "create", "-f", str(REPO / "awx" / "execution-environment.yml"), "-c", str(context)],
        capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = next((context / n).read_text() for n in ("Containerfile", "Dockerfile") if (context / n).is_file())
    # The step lands in the final image, after the bindep packages are installed.
    final = containerfile[containerfile.rindex("FROM "):]
    assert final.index("install-from-bindep") < final.index("/usr/local/bin/promtool")
    assert "amtool --version" in final
