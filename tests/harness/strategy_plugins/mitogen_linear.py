"""Ansible's linear strategy run through Mitogen (the `mitogen` package of requirements.txt).

The Molecule scenarios use it (.config/molecule/config.yml): one Python interpreter per host
for the whole run, reached over the same SSH connection, instead of a new interpreter that
unpacks and compiles each module for every task. Mitogen ships its strategies inside its
package; this file only makes them findable from a fixed path in the repository, whatever the
virtualenv's Python version. Playbooks run without it (plain SSH, pipelining) as before: the
demo test and the bad-input suite do.

Mitogen's CPU affinity is turned off. On a 2-core machine it keeps core 0 for its connection
multiplexer and pins every worker and every process they start to core 1: the containers that
Molecule's create step starts, and the other scenarios run side by side, then all share one
core while the other stays idle (seen: 46% idle, CPU pressure 92%).

Mitogen's scan of a module's imports is kept on disk, in .cache/mitogen-module-scan/ of the
repository. Before each module's first run in an ansible-playbook process, Mitogen compiles the
module and every module_utils file it imports, to find what to send with it: profiled in a no-op
site.yml run, that was 12% of the controller's CPU, redone by every run. A kept scan is used
while the module and every file it found have the same modification time and size; a file that a
change would newly shadow in the search path is not noticed (remove the directory, or run
`make clean`).
"""

import hashlib
import json
import os
import tempfile

import ansible.plugins.strategy.linear
import ansible_mitogen.affinity
import ansible_mitogen.module_finder
import ansible_mitogen.strategy

# The base policy assigns nothing: processes keep the affinity they were started with.
ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()

SCAN_CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".cache",
                          "mitogen-module-scan")
_scan = ansible_mitogen.module_finder.scan


def _stamp(path):
    status = os.stat(path)
    return [status.st_mtime_ns, status.st_size]


def _kept_scan(module_name, module_path, search_path):
    """Mitogen's scan, read from SCAN_CACHE while what it read is unchanged."""
    key = hashlib.sha256(json.dumps([module_name, module_path, list(search_path)]).encode()).hexdigest()
    path = os.path.join(SCAN_CACHE, key + ".json")
    try:
        with open(path, encoding="utf-8") as kept:
            entry = json.load(kept)
        if all(_stamp(name) == stamp for name, stamp in entry["stamps"]):
            return [tuple(item) for item in entry["resolved"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    resolved = _scan(module_name, module_path, search_path)
    stamps = [[name, _stamp(name)] for name in [module_path] + [origin for _, origin, _ in resolved]]
    os.makedirs(SCAN_CACHE, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=SCAN_CACHE)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump({"resolved": resolved, "stamps": stamps}, out)
    os.replace(scratch, path)
    return resolved


ansible_mitogen.module_finder.scan = _kept_scan


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, ansible.plugins.strategy.linear.StrategyModule):
    """Linear, with Mitogen's connection and module execution."""
