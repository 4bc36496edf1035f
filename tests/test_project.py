"""Controller-side checks of the project's own conventions.

- meta/argument_specs.yml is the one description of each role variable: defaults/main.yml (or a
  commented "# name:" line for a required variable without default) and the specs name the same
  variables, a default the specs give is the value of defaults/main.yml, and the README's
  variable tables are what tools/role_docs.py generates from the specs (`make docs`).
- No test double leaks into what production uses: role defaults, the shared group_vars and the
  staging and production inventories never mention the MongoDB stand-in or its repository.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ROLES = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/defaults/main.yml"))


def documented_defaults(role: str) -> list[str]:
    """Variables of defaults/main.yml in file order, required ones included."""
    names = []
    for line in (ROOT / "roles" / role / "defaults" / "main.yml").read_text().splitlines():
        match = re.match(r"^(?:# )?([a-z][a-z0-9_]*):(?:\s|$)", line)
        if match and match.group(1).startswith(role + "_"):
            names.append(match.group(1))
    return names


def test_every_role_is_checked():
    assert ROLES == ["django_app", "haproxy", "mongodb", "nginx", "uwsgi"]


def argument_specs(role: str) -> dict:
    return yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_name_the_same_variables(role):
    defaults = set(documented_defaults(role))
    for entry_point, spec in argument_specs(role).items():
        options = set(spec["options"])
        assert not options - defaults, f"{entry_point}: in the specs, not in roles/{role}/defaults/main.yml"
        if entry_point == "main":
            assert not defaults - options, f"in roles/{role}/defaults/main.yml, not in the main specs"


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_defaults_are_the_defaults_values(role):
    values = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    wrong = {
        name: (option["default"], values.get(name))
        for name, option in argument_specs(role)["main"]["options"].items()
        if "default" in option and option["default"] != values.get(name)
    }
    assert not wrong, f"roles/{role}: argument spec default != defaults/main.yml value: {wrong}"


def test_role_readmes_are_generated_from_the_argument_specs():
    """The variable tables are fresh: editing a spec without `make docs` fails here."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "role_docs.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("role", ROLES)
def test_readme_has_the_conventional_sections(role):
    readme = (ROOT / "roles" / role / "README.md").read_text()
    for section in ("## Requirements", "## Role Variables", "## Dependencies", "## Example Playbook", "## License"):
        assert section in readme, section


PRODUCTION_FILES = sorted(
    [*ROOT.glob("roles/*/defaults/*.yml"), *ROOT.glob("roles/*/vars/*.yml"), *ROOT.glob("group_vars/*.yml")]
    + [p for env in ("staging", "production") for p in (ROOT / "inventory" / env).rglob("*") if p.is_file()]
)


@pytest.mark.parametrize("path", PRODUCTION_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_test_double_in_production_values(path):
    text = path.read_text()
    for marker in ("standin", "stand-in", "mongodb-repo", "file://", "MONGOD_STANDIN"):
        assert marker not in text.lower(), f"{marker!r} in {path.relative_to(ROOT)}"


def numeric_options() -> set[str]:
    names = set()
    for role in ROLES:
        for name, option in argument_specs(role)["main"]["options"].items():
            if option.get("type") in ("int", "float"):
                names.add(name)
    return names


# The scenario that runs each role with every numeric setting given as `-e name=value`.
STRING_SCENARIO = {"django_app": "djongo", "mongodb": "djongo", "nginx": "djongo", "uwsgi": "djongo",
                   "haproxy": "cluster"}


def test_every_numeric_setting_is_exercised_as_a_string():
    """Issue 10, defect 9: a scenario passes every numeric setting of each role as `-e name=value`."""
    assert sorted(STRING_SCENARIO) == ROLES
    missing = []
    for scenario_name in sorted(set(STRING_SCENARIO.values())):
        scenario = yaml.safe_load((ROOT / "molecule" / scenario_name / "molecule.yml").read_text())
        extra = scenario["provisioner"]["options"]["extra-vars"]
        given = dict(pair.split("=", 1) for pair in extra.split())
        roles = [role for role, name in STRING_SCENARIO.items() if name == scenario_name]
        wanted = {name for name in numeric_options() if name.split("_")[0] in {r.split("_")[0] for r in roles}}
        missing += [f"{scenario_name}: {name}" for name in sorted(wanted - set(given))]
    assert not missing, f"numeric settings not given as key=value: {missing}"
