"""Controller-side checks of the project's own conventions.

- Every role documents every variable: defaults/main.yml (or a commented "# name:" line for a
  required variable without default), meta/argument_specs.yml and README.md list the same
  variables, and the README lists them in the order of defaults/main.yml.
- No test double leaks into what production uses: role defaults, the shared group_vars and the
  staging and production inventories never mention the MongoDB stand-in or its repository.
"""

from __future__ import annotations

import re
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
    assert ROLES == ["django_app", "mongodb", "nginx", "uwsgi"]


@pytest.mark.parametrize("role", ROLES)
def test_defaults_match_argument_specs(role):
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    for entry_point in ("main", "validate"):
        options = specs["argument_specs"][entry_point]["options"]
        assert sorted(options) == sorted(documented_defaults(role)), entry_point


@pytest.mark.parametrize("role", ROLES)
def test_readme_lists_variables_in_order(role):
    readme = (ROOT / "roles" / role / "README.md").read_text()
    readme = readme[readme.index("## Role Variables") : readme.index("## Dependencies")]
    positions = []
    for name in documented_defaults(role):
        found = readme.find(f"`{name}`")
        assert found >= 0, f"{name} is not in roles/{role}/README.md"
        positions.append(found)
    assert positions == sorted(positions), "README order differs from defaults/main.yml"


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
        specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        for name, option in specs["argument_specs"]["main"]["options"].items():
            if option.get("type") in ("int", "float"):
                names.add(name)
    return names


def test_every_numeric_setting_is_exercised_as_a_string():
    """Issue 10, defect 9: the djongo scenario passes every numeric setting as `-e name=value`."""
    scenario = yaml.safe_load((ROOT / "molecule" / "djongo" / "molecule.yml").read_text())
    given = dict(pair.split("=", 1) for pair in scenario["provisioner"]["options"]["extra-vars"].split())
    missing = sorted(numeric_options() - set(given))
    assert not missing, f"numeric settings not given as key=value in molecule/djongo: {missing}"
