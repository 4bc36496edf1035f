#!/usr/bin/env python3
"""Print the table of where a test run's time went: each Molecule scenario's steps, and the
parts of its verify playbook one by one, from the lines the suite_timing callback wrote
(tests/harness/callback_plugins/suite_timing.py). Durations are reported, never asserted.

    tests/harness/timings.py FILE...
"""
from __future__ import annotations

import sys
from collections import OrderedDict

STEPS = {"create.yml": "create", "prepare.yml": "prepare", "destroy.yml": "destroy"}
# Any other playbook but verify.yml is the scenario's converge playbook: its first run is
# Molecule's converge, its second the idempotence check.
RERUNS = ["converge", "idempotence"]


def rows(paths: list[str]) -> list[tuple[str, str, float]]:
    runs: OrderedDict[tuple[str, str], list[tuple[str, str, float]]] = OrderedDict()
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                scenario, run, playbook, part, seconds = line.rstrip("\n").split("\t")
                runs.setdefault((scenario, run), []).append((playbook, part, float(seconds)))
    out = []
    converges: dict[str, int] = {}
    for (scenario, _run), parts in runs.items():
        playbook = parts[0][0]
        if playbook == "verify.yml":
            out += [(scenario, f"verify: {part}", seconds) for _, part, seconds in parts]
            continue
        if playbook in STEPS:
            label = STEPS[playbook]
        else:
            count = converges.get(scenario, 0)
            converges[scenario] = count + 1
            label = f"{RERUNS[count] if count < len(RERUNS) else 'run'} ({playbook})"
        out.append((scenario, label, sum(seconds for _, _, seconds in parts)))
    return out


def main() -> int:
    table = rows(sys.argv[1:])
    if not table:
        return 0
    width = max([len(label) for _, label, _ in table] + [len("(playbook runs in all)")])
    totals: OrderedDict[str, float] = OrderedDict()
    print(f"{'scenario':<10} {'step or verify part':<{width}} {'seconds':>8}")
    for scenario, label, seconds in table:
        totals[scenario] = totals.get(scenario, 0.0) + seconds
        print(f"{scenario:<10} {label:<{width}} {seconds:>8.0f}")
    for scenario, seconds in totals.items():
        print(f"{scenario:<10} {'(playbook runs in all)':<{width}} {seconds:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
