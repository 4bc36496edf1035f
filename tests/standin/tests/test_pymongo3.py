"""pymongo 3.11.4 (the version djongo pins) against the stand-in, in its own venv."""

import json
import subprocess

from conftest import TESTS_DIR, require_python

HOW = """  python3 -m venv /tmp/venv-pymongo3
  /tmp/venv-pymongo3/bin/pip install pymongo==3.11.4
  export STANDIN_PYMONGO3_PYTHON=/tmp/venv-pymongo3/bin/python"""


def test_pymongo_3_11_crud_and_auth(auth_standin):
    python = require_python("STANDIN_PYMONGO3_PYTHON", HOW)
    proc = subprocess.run([python, str(TESTS_DIR / "pymongo3_client.py"), str(auth_standin.port),
                           *auth_standin.admin], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-5000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["pymongo"] == "3.11.4"
    assert out["hello"] is True
    assert out["unauthenticated_code"] == 13
    assert out["auth_SCRAM-SHA-1"] is True and out["auth_SCRAM-SHA-256"] is True
    assert out["wrong_password_code"] == 18
    assert out["count"] == 150 and out["estimated"] == 150
    assert out["page"] == [141, 137, 133]
    assert out["all_batches"] == 150
    assert out["projection"] == {"grp": 3}
    assert out["upserted"] is True and out["update_many"] == 38
    assert out["find_one_and_update"] is True
    assert out["distinct"] == [0, 1, 2, 3, 9]
    assert out["lookup"] == [{"n": 0, "a": "g0"}, {"n": 1, "a": "g1"}, {"n": 2, "a": "g2"},
                             {"n": 3, "a": "g3"}]
    assert out["duplicate_code"] == 11000
    assert out["collections"] == ["authors", "items"]
    assert out["deleted"] == 37
    assert out["other_db_code"] == 13
