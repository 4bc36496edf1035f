"""community.mongodb's mongodb_user and mongodb_info modules, run by Ansible itself."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HOW = ("Ansible with the community.mongodb collection must be in the test venv "
       "(pip install ansible), or STANDIN_ANSIBLE must point at the ansible binary.")


def ansible_binary():
    candidate = os.environ.get("STANDIN_ANSIBLE") or str(Path(sys.executable).parent / "ansible")
    if not os.access(candidate, os.X_OK):
        candidate = shutil.which("ansible")
    if not candidate:
        pytest.fail(HOW, pytrace=False)
    return candidate


def run_module(module, args, tmp_path):
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ans"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [ansible_binary(), "localhost", "-i", "localhost,", "-c", "local", "-m", module,
         "-a", json.dumps(args), "-e", "ansible_python_interpreter=%s" % sys.executable],
        capture_output=True, text=True, env=env, timeout=180)
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        raise AssertionError("no JSON from ansible:\n%s\n%s" % (proc.stdout, proc.stderr))
    return data["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_mongodb_user_localhost_exception_then_authenticated(standin_factory, tmp_path):
    standin = standin_factory(config={"security": {"authorization": "enabled"}})
    marker = tmp_path / "admin_created"
    first_admin = {"login_port": standin.port, "database": "admin", "name": "root1",
                   "password": "root-pw-1", "roles": ["root"],
                   "create_for_localhost_exception": str(marker)}
    result = run_module("community.mongodb.mongodb_user", first_admin, tmp_path)
    assert result.get("changed") is True and not result.get("failed"), result
    assert marker.exists()
    result = run_module("community.mongodb.mongodb_user", first_admin, tmp_path)
    assert result.get("changed") is False and result.get("skipped") is True, result

    login = {"login_port": standin.port, "login_user": "root1", "login_password": "root-pw-1",
             "login_database": "admin"}
    app_user = dict(login, database="app", name="appuser", password="app-pw",
                    roles=["readWrite"], update_password="on_create")
    result = run_module("community.mongodb.mongodb_user", app_user, tmp_path)
    assert result.get("changed") is True and not result.get("failed"), result
    result = run_module("community.mongodb.mongodb_user", app_user, tmp_path)
    assert result.get("changed") is False, result               # idempotent
    result = run_module("community.mongodb.mongodb_user",
                        dict(app_user, roles=["readWrite", {"db": "app", "role": "dbAdmin"}]),
                        tmp_path)
    assert result.get("changed") is True, result
    with standin.client("root1", "root-pw-1") as client:
        roles = client.app.command("usersInfo", "appuser")["users"][0]["roles"]
        assert sorted(r["role"] for r in roles) == ["dbAdmin", "readWrite"]
    with standin.client("appuser", "app-pw", "app") as client:
        client.app.things.insert_one({"via": "ansible-made user"})

    info = run_module("community.mongodb.mongodb_info", login, tmp_path)
    assert not info.get("failed"), info
    assert info["general"]["version"] == "8.0.0"
    assert "appuser" in info["users"]["app"]
    assert "app" in info["databases"]
    assert info["parameters"]["featureCompatibilityVersion"] == {"version": "8.0"}
    assert "readWrite" in info["roles"]["app"]

    gone = dict(login, database="app", name="appuser", state="absent")
    result = run_module("community.mongodb.mongodb_user", gone, tmp_path)
    assert result.get("changed") is True, result
    result = run_module("community.mongodb.mongodb_user", gone, tmp_path)
    assert result.get("changed") is False, result


def test_mongodb_user_without_credentials_fails_once_a_user_exists(auth_standin, tmp_path):
    result = run_module("community.mongodb.mongodb_user", {
        "login_port": auth_standin.port, "database": "admin", "name": "intruder",
        "password": "x", "roles": ["root"]}, tmp_path)
    assert result.get("failed") is True
    assert "requires authentication" in result["msg"] or "not authorized" in result["msg"]
