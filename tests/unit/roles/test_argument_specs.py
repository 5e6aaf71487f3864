"""Every role's meta/argument_specs.yml matches its defaults/main.yml key for key.

prometheus-community lints this after users hit drift between the two; `ansible-doc -t role`
shows only what the spec lists, so a variable missing from it is undocumented.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
INTERNAL_ROLES = {"install"}
ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "tasks").is_dir())


def _load(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_spec_matches_defaults(role):
    spec_file = role / "meta" / "argument_specs.yml"
    assert spec_file.is_file(), "%s has no meta/argument_specs.yml" % role.name
    specs = _load(spec_file)["argument_specs"]
    defaults_file = role / "defaults" / "main.yml"
    defaults = _load(defaults_file) if defaults_file.is_file() else {}

    documented = {}
    for entry in specs.values():
        documented.update(entry.get("options") or {})
    # Public roles document everything in `main`; internal ones across their entry points.
    main_options = specs.get("main", {}).get("options") or {}

    assert sorted(set(defaults) - set(main_options)) == [], "defaults without a spec in main"
    required = {name for entry in specs.values() for name, o in (entry.get("options") or {}).items()
                if o.get("required")}
    assert sorted(set(main_options) - set(defaults) - required) == [], "optional spec options without a default"
    for name, option in documented.items():
        assert option.get("description"), "%s: %s has no description" % (role.name, name)
        if "default" in option and name in defaults:
            assert option["default"] == defaults[name], (
                "%s: the spec's default of %s differs from defaults/main.yml" % (role.name, name))
        if "choices" in option and name in defaults and "{{" not in str(defaults[name]):
            assert defaults[name] in option["choices"], "%s: default of %s not in its choices" % (role.name, name)


@pytest.mark.parametrize("role", [r for r in ROLE_DIRS if r.name not in INTERNAL_ROLES], ids=lambda p: p.name)
def test_public_variables_are_prefixed(role):
    defaults = _load(role / "defaults" / "main.yml")
    bad = [k for k in defaults if not k.startswith(role.name + "_")]
    assert bad == [], "public variables of %s must start with %s_" % (role.name, role.name)


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_every_list_option_names_its_elements(role):
    """Argument validation checks each element only when the spec says what they are; the
    install layer's preflight refuses a string for every option of type list."""
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]
    defaults_file = role / "defaults" / "main.yml"
    defaults = _load(defaults_file) if defaults_file.is_file() else {}
    lists = {name: option for entry in specs.values() for name, option in (entry.get("options") or {}).items()
             if option.get("type") == "list"}
    assert lists or role.name in INTERNAL_ROLES or all(
        not isinstance(v, list) for v in defaults.values()), "%s has list defaults but no list options" % role.name
    assert sorted(n for n, o in lists.items() if not o.get("elements")) == [], "list options without elements"
    raw = {name for entry in specs.values() for name, option in (entry.get("options") or {}).items()
           if option.get("type") == "raw"}  # a handler topic or a list of them
    for name, value in defaults.items():
        if isinstance(value, list) and name not in raw:
            assert name in lists, "%s: default of %s is a list, its spec type is not list" % (role.name, name)
        if name in lists and not (isinstance(value, str) and "{{" in value):
            assert isinstance(value, list), "%s: spec type of %s is list, its default is not" % (role.name, name)
