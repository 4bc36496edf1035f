"""Entry point of the packaged MongoDB stand-in (a test double, not MongoDB)."""

import os
import sys

if sys.version_info < (3, 9):
    sys.stderr.write("the MongoDB stand-in needs Python 3.9 or newer\n")
    sys.exit(1)

# `python3 -I` (the launcher's isolated mode) does not put the script's directory on
# sys.path from 3.11 on: add the private library directory explicitly.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mongod_standin.server import main  # noqa: E402

sys.exit(main())
