#!/usr/bin/env python3
"""Generate the variables section of each role README from the role's argument specs.

roles/<role>/meta/argument_specs.yml is the one place where a role variable's type, choices,
default and description are written. This script renders them as Markdown tables between two
marker lines of roles/<role>/README.md; everything outside the markers is hand-written.

    tools/role_docs.py            rewrite the generated sections (make docs)
    tools/role_docs.py --check    change nothing; exit 1 naming each README that is stale

Rows follow the order of the specs. The section headers of defaults/main.yml
("# --- Title ---") group the rows; they carry no facts about the variables.
Ansible's documentation markup in descriptions (C(), O(), V(), I(), B(), U()) becomes Markdown.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN generated from meta/argument_specs.yml by tools/role_docs.py (make docs) -->"
END = "<!-- END generated from meta/argument_specs.yml -->"
SECTION = re.compile(r"^# -+ (?P<title>.+?) -+$")
VARIABLE = re.compile(r"^(?:# )?(?P<name>[a-z][a-z0-9_]*):(?:\s|$)")
MARKUP = re.compile(r"\b(?P<kind>[COVIBU])\((?P<text>[^()]*)\)")


def markdown(text: str) -> str:
    """Description text as one Markdown table cell."""

    def convert(match: re.Match) -> str:
        kind, inner = match.group("kind"), match.group("text")
        if kind == "I":
            return f"*{inner}*"
        if kind == "B":
            return f"**{inner}**"
        if kind == "U":
            return f"<{inner}>"
        return f"`{inner}`"

    return MARKUP.sub(convert, " ".join(text.split())).replace("|", "\\|")


def value(data) -> str:
    """A default or choice as YAML would spell it, in a code span."""
    if isinstance(data, str):
        try:
            plain = data != "" and yaml.safe_load(data) == data and not data.startswith(("{", "["))
        except yaml.YAMLError:
            plain = False
        text = data if plain else json.dumps(data)
    else:
        text = yaml.safe_dump(data, default_flow_style=True, sort_keys=False, width=1 << 16).strip()
        text = text.removesuffix("\n...").strip()
    return "`" + text.replace("|", "\\|") + "`"


def description(option: dict) -> str:
    text = option.get("description", "")
    if isinstance(text, list):
        text = " ".join(text)
    return markdown(text)


def type_of(option: dict) -> str:
    kind = option.get("type", "str")
    if "elements" in option:
        kind += f" of {option['elements']}"
    if option.get("no_log"):
        kind += ", secret"
    return kind


def rows(options: dict, prefix: str = "") -> list[str]:
    lines = []
    for name, option in options.items():
        choices = ", ".join(value(choice) for choice in option.get("choices", []))
        default = value(option["default"]) if "default" in option else ""
        required = "yes" if option.get("required") else ""
        lines.append(
            f"| `{prefix}{name}` | {type_of(option)} | {required} | {default} | {choices} | "
            f"{description(option)} |"
        )
        if "options" in option:
            separator = "[]." if option.get("type") == "list" else "."
            lines += rows(option["options"], prefix + name + separator)
    return lines


def sections(role_dir: Path) -> dict[str, str]:
    """Section title of each variable in defaults/main.yml (required ones are commented out)."""
    found, title = {}, ""
    path = role_dir / "defaults" / "main.yml"
    for line in path.read_text().splitlines() if path.exists() else []:
        header = SECTION.match(line)
        if header:
            title = header.group("title")
            continue
        variable = VARIABLE.match(line)
        if variable and title:
            found.setdefault(variable.group("name"), title)
    return found


TABLE_HEAD = [
    "| Variable | Type | Required | Default | Choices | Description |",
    "|---|---|---|---|---|---|",
]


def entry_point_tables(options: dict, titles: dict[str, str]) -> list[str]:
    """One table per run of options that share a section of defaults/main.yml."""
    lines, current = [], None
    for name, option in options.items():
        title = titles.get(name, "")
        if current is None or title != current:
            if current is not None:
                lines.append("")
            if title:
                lines += [f"#### {title}", ""]
            lines += TABLE_HEAD
            current = title
        lines += rows({name: option})
    return lines


def render(role_dir: Path) -> str:
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    titles = sections(role_dir)
    lines = [
        BEGIN,
        "<!-- Do not edit by hand: edit meta/argument_specs.yml, then run `make docs`. -->",
        "",
        "Generated from `meta/argument_specs.yml`, where each variable is typed, checked and "
        "described; `defaults/main.yml` holds the values.",
    ]
    rendered: list[tuple[str, dict]] = []
    for entry_point, spec in specs.items():
        same = next((name for name, other in rendered if other == spec), None)
        if same:
            lines += ["", f"Entry point `{entry_point}` takes the same options as `{same}`."]
            continue
        rendered.append((entry_point, spec))
        lines += ["", f"### Entry point `{entry_point}`", ""]
        if spec.get("short_description"):
            lines += [markdown(spec["short_description"]), ""]
        lines += entry_point_tables(spec.get("options") or {}, titles)
    lines += ["", END]
    return "\n".join(lines)


def regenerate(readme: Path, generated: str) -> str:
    text = readme.read_text()
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 or end < begin:
        raise SystemExit(f"{readme.relative_to(ROOT)}: the marker lines are missing:\n{BEGIN}\n{END}")
    return text[:begin] + generated + text[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale READMEs (exit 1)")
    parser.add_argument("roles", nargs="*", help="role names (default: every role with argument specs)")
    args = parser.parse_args(argv)

    role_dirs = [ROOT / "roles" / name for name in args.roles] or sorted(
        path.parent.parent for path in ROOT.glob("roles/*/meta/argument_specs.yml")
    )
    missing = [str(d.relative_to(ROOT)) for d in role_dirs if not (d / "meta" / "argument_specs.yml").is_file()]
    if missing:
        parser.error(f"no meta/argument_specs.yml in {', '.join(missing)}")
    stale = []
    for role_dir in role_dirs:
        readme = role_dir / "README.md"
        current = readme.read_text()
        wanted = regenerate(readme, render(role_dir))
        if wanted == current:
            continue
        stale.append(readme.relative_to(ROOT))
        if not args.check:
            readme.write_text(wanted)
            print(f"regenerated {readme.relative_to(ROOT)}")
    if args.check and stale:
        for path in stale:
            print(f"{path}: stale, regenerate it with `make docs` (tools/role_docs.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
