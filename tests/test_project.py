"""Controller-side checks of the project's own conventions.

- meta/argument_specs.yml is the one description of each role variable: defaults/main.yml (or a
  commented "# name:" line for a required variable without default) and the specs name the same
  variables, a default the specs give is the value of defaults/main.yml, and the README's
  variable tables are what tools/role_docs.py generates from the specs (`make docs`).
- No test double leaks into what production uses: role defaults, the shared group_vars and the
  staging and production inventories never mention the MongoDB stand-in or its repository.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# The virtualenv's ansible, beside the interpreter running the tests (as tests/test_bad_input.py
# finds ansible-playbook).
ANSIBLE = str(Path(sys.executable).parent / "ansible")
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


# Mitogen accelerates the Molecule scenarios only (.config/molecule/config.yml); what users run,
# and the demo test that covers that path, is Ansible's own SSH connection.
PLAIN_SSH_FILES = sorted(
    [ROOT / "ansible.cfg", ROOT / "tests" / "harness" / "demo.sh"]
    + [p for p in (ROOT / "inventory").rglob("*") if p.is_file()]
)


@pytest.mark.parametrize("path", PLAIN_SSH_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_production_and_demo_runs_use_the_plain_ssh_path(path):
    text = path.read_text()
    assert "mitogen" not in text.lower(), f"mitogen in {path.relative_to(ROOT)}"
    assert not re.search(r"^\s*(ansible_)?strategy\w*\s*[=:]", text, re.MULTILINE | re.IGNORECASE), (
        f"a strategy is set in {path.relative_to(ROOT)}")


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


def wiring(inventory: Path | str, host: str, variable: str) -> str:
    """A variable of the playbooks' wiring (group_vars/ next to site.yml) as one host sees it."""
    result = subprocess.run(
        [ANSIBLE, "-i", str(inventory), "--playbook-dir", str(ROOT),
         host, "-m", "ansible.builtin.debug", "-a", f"var={variable}", "--one-line"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split(f'"{variable}": "', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("environment", ["local", "staging", "production"])
def test_the_reference_project_is_checked_by_its_own_views(environment):
    """The shipped inventories name this repository's app/: its readiness view is the deploy gate."""
    inventory = ROOT / "inventory" / environment
    web_host = subprocess.run(
        [ANSIBLE, "-i", str(inventory), "web", "--list-hosts"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()[-1]
    assert wiring(inventory, web_host, "django_app_health_path") == "/healthz"


@pytest.mark.parametrize(
    ("source_dir", "gate", "rotation"),
    [
        (None, "/healthz", "/healthz/live"),
        ("{{ playbook_dir }}/app", "/healthz", "/healthz/live"),
        (f"{ROOT}/app/", "/healthz", "/healthz/live"),
        (f"{ROOT}/tests/projects/mongodb-project", "/admin/login/", "/admin/login/"),
    ],
)
def test_health_paths_follow_the_project(tmp_path, source_dir, gate, rotation):
    """A project of one's own is asked for its admin login form unless the inventory names a view."""
    inventory = {"all": {"children": {"web": {"hosts": {"w1": None}}, "lb": {"hosts": {"l1": None}}}}}
    if source_dir is not None:
        inventory["all"]["vars"] = {"app_source_dir": source_dir}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    assert wiring(path, "w1", "django_app_health_path") == gate
    assert wiring(path, "l1", "haproxy_health_check_path") == rotation


def wired_settings() -> dict[str, set[str]]:
    """Each variable the playbooks' group_vars/ set, with the app_* names its value is made from
    (followed through the other wired variables it names)."""
    refs = {}
    for path in sorted((ROOT / "group_vars").glob("*.yml")):
        for key, value in yaml.safe_load(path.read_text()).items():
            refs[key] = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(value)))
    sources = {key: {name for name in names if name.startswith("app_")} for key, names in refs.items()}
    for _ in range(len(refs)):
        for key, names in refs.items():
            for name in names & set(refs) - {key}:
                sources[key] |= sources[name]
    return sources


def validation_messages() -> dict[str, str]:
    """validate.yml's failure messages by rule name, without their {{ }} expressions (values).

    A task that checks several rules holds them in its __app_problem template, in order, each as
    "{#- rule name[: notes] -#}{%- if/elif <the rule's test> -%}<its message>".
    """
    messages = {}
    for play in yaml.safe_load((ROOT / "validate.yml").read_text()):
        for task in play.get("tasks", []):
            chain = (task.get("vars") or {}).get("__app_problem")
            if chain:
                rules = re.findall(r"\{#-\s*(.*?)(?::\s.*?)?\s*-#\}\s*\{%-\s*(?:el)?if\b.*?-%\}"
                                   r"(.*?)(?=\{#-|\{%-\s*endif)", chain, flags=re.S)
                assert rules, f"{task['name']}: no rule found in __app_problem"
            else:
                message = (task.get("ansible.builtin.assert") or task.get("ansible.builtin.fail") or {}).get(
                    "fail_msg", (task.get("ansible.builtin.fail") or {}).get("msg"))
                rules = [(task["name"], message)] if message else []
            for name, message in rules:
                assert name not in messages, f"validate.yml: two rules named {name!r}"
                messages[name] = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", message, flags=re.S)
    return messages


def _first(name: str, text: str) -> int | None:
    match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text)
    return match.start() if match else None


def test_validation_messages_name_the_app_settings_first():
    """Issue 21, defect 5: a message that names a role variable wired from an app_* setting names
    that setting (or the app_* variable it comes through) before it: the user set app_*."""
    wrong = []
    for task, message in validation_messages().items():
        for variable, sources in wired_settings().items():
            position = _first(variable, message)
            if position is None or not sources or variable.startswith("app_"):
                continue
            named = [p for p in (_first(source, message) for source in sources) if p is not None]
            if not named or min(named) > position:
                wrong.append(f"{task!r}: {variable} before {sorted(sources)}")
    assert not wrong, "\n".join(wrong)


def test_account_check_comes_before_the_account_is_made():
    """Issue 21, defect 1: the host's accounts are read before the role creates the group and user."""
    tasks = yaml.safe_load((ROOT / "roles" / "django_app" / "tasks" / "system.yml").read_text())
    names = [task["name"] for task in tasks]
    assert "app_name" in names[0] and "account" in names[0], names[:3]
    assert names.index("Create the application group") > 0


def _run_account_check(tmp_path: Path, name: str, root: str) -> subprocess.CompletedProcess:
    """The first task of django_app's tasks/system.yml (read-only: getent), on this machine."""
    first = yaml.safe_load((ROOT / "roles" / "django_app" / "tasks" / "system.yml").read_text())[0]
    # Only ever the read-only check: nothing else of the role runs on this machine.
    assert "app_name" in first["name"] and "account" in first["name"], first["name"]
    playbook = tmp_path / "account.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Run the account check", "hosts": "localhost", "gather_facts": False,
        "vars": {"django_app_name": name, "django_app_root": root}, "tasks": [first],
    }]))
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", "--check",
         "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
        cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )


@pytest.mark.parametrize(
    ("name", "root", "refused"),
    [
        # games: an account of Debian's base system (UID 5), not in validate.yml's list.
        ("games", "/srv/games", True),
        # The account an earlier run made: a system account whose home is the application's root.
        ("games", "/usr/games", False),
        ("nosuchaccount", "/srv/nosuchaccount", False),
    ],
)
def test_app_name_of_an_account_of_the_host_is_refused(tmp_path, name, root, refused):
    """Issue 21, defect 1: a name the host already has with a UID below 1000 (not the role's own)."""
    import pwd

    if name == "games":
        assert pwd.getpwnam("games").pw_uid < 1000, "this machine has no system account games"
    result = _run_account_check(tmp_path, name, root)
    output = result.stdout + result.stderr
    if refused:
        assert result.returncode != 0, output[-3000:]
        assert f'app_name "{name}" (django_app_name) is an account of' in output, output[-3000:]
    else:
        assert result.returncode == 0, output[-3000:]
