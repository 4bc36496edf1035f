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


def run_module(module, args, tmp_path, check=False, library=None):
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ans"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_NOCOLOR="1")
    if library:
        env["ANSIBLE_LIBRARY"] = str(library)
    proc = subprocess.run(
        [ansible_binary(), "localhost", "-i", "localhost,", "-c", "local", "-m", module,
         "-a", json.dumps(args), "-e", "ansible_python_interpreter=%s" % sys.executable]
        + (["--check"] if check else []),
        capture_output=True, text=True, env=env, timeout=180)
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        raise AssertionError("no JSON from ansible:\n%s\n%s" % (proc.stdout, proc.stderr)) from None
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


ROLE_LIBRARY = Path(__file__).resolve().parents[3] / "roles" / "mongodb" / "library"


def run_role_module(module, args, tmp_path, check=False):
    """A module of the mongodb role (roles/mongodb/library), run by Ansible itself."""
    return run_module(module, args, tmp_path, check=check, library=ROLE_LIBRARY)


def test_role_module_mongodb_fcv_upgrade_path(standin_factory, tmp_path):
    """The mongodb role's series upgrade, on the stand-in: 7.0 data, 8.0 binary, FCV 7.0 -> 8.0."""
    old = standin_factory(config={"security": {"authorization": "enabled"}}, version="7.0.1")
    with old.client() as client:
        client.admin.command("createUser", "root1", pwd="root-pw-secret-1",
                             roles=[{"role": "root", "db": "admin"}])
    login = {"login_port": old.port, "login_user": "root1", "login_password": "root-pw-secret-1"}
    result = run_role_module("mongodb_fcv", login, tmp_path)
    assert result.get("changed") is False and not result.get("failed"), result
    assert result["version"] == "7.0.1" and result["feature_compatibility_version"] == "7.0"

    wrong = dict(login, login_password="not-the-password")
    result = run_role_module("mongodb_fcv", wrong, tmp_path)
    assert result.get("failed") is True and "Authentication failed" in result["msg"], result
    assert "not-the-password" not in json.dumps(result)

    old.stop()
    new = standin_factory(config={"security": {"authorization": "enabled"},
                                  "storage": {"dbPath": str(old.dbpath)}}, version="8.0.0")
    login["login_port"] = new.port
    result = run_role_module("mongodb_fcv", dict(login, feature_compatibility_version="8.0"),
                             tmp_path, check=True)
    assert result.get("changed") is True and result["feature_compatibility_version"] == "8.0"
    assert result["previous_feature_compatibility_version"] == "7.0", result
    result = run_role_module("mongodb_fcv", login, tmp_path)
    assert result["feature_compatibility_version"] == "7.0", "check mode changed the FCV"

    result = run_role_module("mongodb_fcv", dict(login, feature_compatibility_version="8.0"), tmp_path)
    assert result.get("changed") is True and result["version"] == "8.0.0", result
    assert result["feature_compatibility_version"] == "8.0"
    result = run_role_module("mongodb_fcv", dict(login, feature_compatibility_version="8.0"), tmp_path)
    assert result.get("changed") is False, result

    # Like mongod, a 7.0 binary refuses data at FCV 8.0: why the role refuses downgrades.
    new.stop()
    again = standin_factory(config={"security": {"authorization": "enabled"},
                                    "storage": {"dbPath": str(old.dbpath)}},
                            version="7.0.1", start=False)
    again.start(wait=False)
    assert again.proc.wait(timeout=60) == 62
