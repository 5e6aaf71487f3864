from __future__ import annotations

from ansible_collections.monitoring.stack.plugins.module_utils.inventory_checks import (
    declared_environments,
    host_environment_problems,
    shared_environment_problems,
)


def test_every_host_needs_an_environment():
    problems = host_environment_problems({"app-1": "prod", "stray": "", "Bad": "Prod Env"})
    assert len(problems) == 2
    assert problems[0].startswith("host Bad: monitoring_environment 'Prod Env'")
    assert problems[1].startswith("host stray is in no environment group")


def _inventory(root, name, env, quote=""):
    (root / name / "group_vars").mkdir(parents=True)
    (root / name / "hosts.yml").write_text("all: {}\n")
    (root / name / "group_vars" / ("%s.yml" % env)).write_text(
        "---\nmonitoring_environment: %s%s%s  # the label\n" % (quote, env, quote))


def test_declared_environments_reads_literal_values_only(tmp_path):
    _inventory(tmp_path, "prod", "prod", quote='"')
    (tmp_path / "prod" / "group_vars" / "all.yml").write_text("monitoring_environment: \"{{ x }}\"\n")
    assert declared_environments(tmp_path / "prod") == {"prod"}


def test_an_environment_in_two_inventories(tmp_path):
    _inventory(tmp_path, "prod", "prod")
    _inventory(tmp_path, "stage", "stage")
    _inventory(tmp_path, "prod-copy", "prod")
    problems = shared_environment_problems(str(tmp_path / "prod"), str(tmp_path), ["prod"])
    assert len(problems) == 1
    assert "'prod' is used by two inventories" in problems[0] and "prod-copy" in problems[0]
    assert shared_environment_problems(str(tmp_path / "stage"), str(tmp_path), ["stage"]) == []


def test_the_repository_inventories_do_not_share_environments(repo_root):
    root = repo_root / "inventories"
    for inventory in sorted(p for p in root.iterdir() if p.is_dir()):
        envs = declared_environments(inventory)
        assert envs, "%s declares no environment" % inventory.name
        assert shared_environment_problems(str(inventory), str(root), envs) == []
