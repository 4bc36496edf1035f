# Test harness only: records how long each part of a Molecule scenario takes, for the table that
# `make test` prints at the end (tests/harness/timings.py). Not used by the playbooks themselves.
from __future__ import annotations

import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: suite_timing
    type: aggregate
    short_description: record the duration of each playbook file of a test run
    description:
      - Appends one line per playbook file whose plays ran (tab-separated scenario, run, playbook,
        part, seconds; run tells the runs of one playbook apart) to the file named by SUITE_TIMINGS.
        A part is the file that defines the plays, so the parts a verify.yml imports are timed
        one by one. Runs started by a task of a timed run (a verify playbook running site.yml)
        are left out (their time is the part's).
      - Does nothing when SUITE_TIMINGS is unset.
    requirements:
      - enabled in configuration (ANSIBLE_CALLBACKS_ENABLED)
"""

_NESTED = "SUITE_TIMING_NESTED"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "suite_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._file = os.environ.get("SUITE_TIMINGS", "")
        self._active = bool(self._file) and not os.environ.get(_NESTED)
        if self._active:
            # Inherited by every process this run starts: a nested ansible-playbook stays silent.
            os.environ[_NESTED] = "1"
        self._playbook = ""
        self._parts: dict[str, float] = {}
        self._current = ""
        self._since = 0.0

    def _close(self):
        if self._current:
            self._parts[self._current] = self._parts.get(self._current, 0.0) + time.monotonic() - self._since
        self._current = ""

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(playbook._file_name)
        self._since = time.monotonic()

    def v2_playbook_on_play_start(self, play):
        if not self._active:
            return
        self._close()
        path = play.get_path().rsplit(":", 1)[0]
        self._current = os.path.relpath(path, os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd()))
        self._since = time.monotonic()

    def v2_playbook_on_stats(self, stats):
        if not self._active:
            return
        self._close()
        scenario = os.environ.get("MOLECULE_SCENARIO_NAME", "-")
        with open(self._file, "a", encoding="utf-8") as out:
            for part, seconds in self._parts.items():
                out.write(f"{scenario}\t{os.getpid()}\t{self._playbook}\t{part}\t{seconds:.1f}\n")
