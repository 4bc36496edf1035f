"""Replica sets of stand-ins (replication.replSetName, security.keyFile), on 127.0.0.1 only.

What the clients see must be a set whose members are all up: the same set name, hosts,
version and primary on every member; writes only on the primary; the config durable and
shared between members; key-file authentication between members.  Data is not
replicated (only users and the featureCompatibilityVersion are, see replset.py).
"""

import json
import subprocess
import time

import pymongo
import pytest
from conftest import ADMIN_PASSWORD, ADMIN_USER, require_python
from pymongo.errors import NotPrimaryError, OperationFailure
from test_ansible_mongodb import run_module
from test_django import DJANGO_HOW, DJONGO_HOW, _run_smoke

FAILS = (OperationFailure, NotPrimaryError)

SET = "rs0"
KEY = "c3RhbmQtaW4ta2V5LWZvci10ZXN0cy1vbmx5LW5vdC1hLXNlY3JldA=="


def host(member):
    return "127.0.0.1:%d" % member.port


def make_members(standin_factory, tmp_path, count=3, key=KEY, start=True):
    """`count` stand-ins started with replSetName (and a key file when key is given)."""
    config = {"replication": {"replSetName": SET}}
    if key is not None:
        key_path = tmp_path / ("keyfile-%s" % abs(hash(key)))
        if not key_path.exists():
            key_path.write_text(key + "\n")
            key_path.chmod(0o400)
        config["security"] = {"keyFile": str(key_path)}
    members = [standin_factory(name="rs", config=config, start=False) for _ in range(count)]
    if start:
        for member in members:
            member.start()
    return members


def initiate(member, members, extra=None):
    extra = extra or {}
    config = {"_id": SET, "members": [dict({"_id": i, "host": host(m)}, **extra.get(i, {}))
                                      for i, m in enumerate(members)]}
    with member.client() as client:
        return client.admin.command("replSetInitiate", config)


def initiate_with_admin(members):
    """Initiate the set on the first member, then create the first user there (localhost exception)."""
    initiate(members[0], members)
    with members[0].client() as client:
        client.admin.command("createUser", ADMIN_USER, pwd=ADMIN_PASSWORD,
                             roles=[{"role": "root", "db": "admin"}])


def set_uri(members, user=None, password=None, source="admin"):
    creds = "%s:%s@" % (user, password) if user else ""
    return "mongodb://%s%s/?replicaSet=%s&authSource=%s" % (
        creds, ",".join(host(m) for m in members), SET, source)


def root_client(member):
    return member.client(ADMIN_USER, ADMIN_PASSWORD)


def code(err):
    """The server's error code (pymongo raises NotPrimaryError, without .code, for 10107)."""
    return (err.value.details or {}).get("code")


def wait_for(predicate, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s" % what)


# ----------------------------------------------------------------- tests
def test_member_before_initiation(standin_factory, tmp_path):
    member, = make_members(standin_factory, tmp_path, count=1, key=None)
    with member.client() as client:
        hello = client.admin.command("hello")
        assert hello["isWritablePrimary"] is False and hello["secondary"] is False
        assert hello["isreplicaset"] is True and "setName" not in hello
        assert hello["info"] == "Does not have a valid replica set config"
        legacy = client.admin.command("isMaster")
        assert legacy["ismaster"] is False and legacy["isreplicaset"] is True
        for name in ("replSetGetStatus", "replSetGetConfig"):
            with pytest.raises(FAILS) as err:
                client.admin.command(name)
            assert code(err) == 94 and err.value.details["codeName"] == "NotYetInitialized"
        with pytest.raises(FAILS) as err:
            client.app.things.insert_one({"x": 1})
        assert code(err) == 10107 and err.value.details["errmsg"] == "not primary"
        with pytest.raises(FAILS) as err:
            client.app.things.find_one()
        assert code(err) == 13436                   # not PRIMARY nor SECONDARY
        assert "local" in client.list_database_names()   # secondaryOk command, allowed
        with pytest.raises(FAILS) as err:
            client.admin.command("replSetInitiate", {"_id": "other", "members": [
                {"_id": 0, "host": host(member)}]})
        assert code(err) == 93


def test_initiate_three_members_one_primary_everywhere(standin_factory, tmp_path):
    members = make_members(standin_factory, tmp_path, key=None)
    assert initiate(members[0], members)["ok"] == 1.0
    hosts = [host(m) for m in members]
    for index, member in enumerate(members):
        with member.client() as client:
            hello = client.admin.command("hello")
            assert hello["setName"] == SET and hello["hosts"] == hosts
            assert hello["setVersion"] == 1 and hello["primary"] == hosts[0]
            assert hello["me"] == hosts[index]
            assert hello["isWritablePrimary"] is (index == 0)
            assert hello["secondary"] is (index != 0)
            assert ("electionId" in hello) is (index == 0)
            status = client.admin.command("replSetGetStatus")
            assert status["set"] == SET and status["myState"] == (1 if index == 0 else 2)
            assert [(m["name"], m["stateStr"], m["health"]) for m in status["members"]] == [
                (hosts[0], "PRIMARY", 1), (hosts[1], "SECONDARY", 1),
                (hosts[2], "SECONDARY", 1)]
            assert [m.get("self", False) for m in status["members"]] == [
                i == index for i in range(3)]
            config = client.admin.command("replSetGetConfig")["config"]
            assert config["version"] == 1 and config["term"] == 1
            assert [m["host"] for m in config["members"]] == hosts
            assert config["members"][0]["priority"] == 1 and config["members"][0]["votes"] == 1
    with pytest.raises(FAILS) as err:
        initiate(members[1], members)
    assert code(err) == 23

    # PyMongo 4 with replicaSet=: discovers the set from any seed, writes to the primary.
    with pymongo.MongoClient("mongodb://%s/?replicaSet=%s" % (hosts[2], SET),
                             serverSelectionTimeoutMS=10000) as client:
        client.app.things.insert_one({"via": "set"})
        assert client.app.things.count_documents({}) == 1
        assert client.primary == ("127.0.0.1", members[0].port)
        # The client's monitors find the secondaries in the background, after the write needed
        # only the primary: wait for them, bounded far above any run seen (a busy 2-core machine
        # once had found one of the two when asked at once).
        secondaries = {("127.0.0.1", m.port) for m in members[1:]}
        wait_for(lambda: client.secondaries == secondaries, timeout=60, what=f"the secondaries {sorted(secondaries)}")
        assert client.secondaries == secondaries
        # Reads with a secondary read preference are allowed there (no data: not replicated).
        secondary = client.get_database("app", read_preference=pymongo.ReadPreference.SECONDARY)
        assert secondary.things.count_documents({}) == 0
    # Writes on a secondary are refused as mongod refuses them.
    with members[1].client() as client:
        with pytest.raises(FAILS) as err:
            client.app.things.insert_one({"x": 1})
        assert code(err) == 10107 and err.value.details["codeName"] == "NotWritablePrimary"
        with pytest.raises(FAILS) as err:
            client.admin.command("createUser", "u", pwd="p", roles=[])
        assert code(err) == 10107
        client.local.scratch.insert_one({"local": "writes are allowed"})


def test_priority_decides_the_primary_and_pymongo3_follows(standin_factory, tmp_path):
    members = make_members(standin_factory, tmp_path, key=None)
    initiate(members[0], members, {2: {"priority": 5}, 1: {"priority": 0}})
    for member in members:
        with member.client() as client:
            hello = client.admin.command("hello")
            assert hello["primary"] == host(members[2])
            assert hello["hosts"] == [host(members[0]), host(members[2])]
            assert hello["passives"] == [host(members[1])]
    python = require_python("STANDIN_PYMONGO3_PYTHON", "a venv with pymongo==3.11.4")
    script = ("import json, sys, pymongo\n"
              "c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=10000)\n"
              "c.app.t.insert_one({'py3': True})\n"
              "print(json.dumps({'primary': list(c.primary), 'n': c.app.t.count_documents({}),"
              " 'version': pymongo.version}))\n")
    proc = subprocess.run([python, "-c", script, set_uri(members)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["primary"] == ["127.0.0.1", members[2].port] and out["n"] == 1


def test_reconfig_adds_a_fourth_member_and_restart_keeps_config(standin_factory, tmp_path):
    members = make_members(standin_factory, tmp_path, key=None)
    initiate(members[0], members)
    fourth, fifth = make_members(standin_factory, tmp_path, count=2, key=None)
    with members[0].client() as client:
        config = client.admin.command("replSetGetConfig")["config"]
        too_many = dict(config, version=config["version"] + 1, members=config["members"] + [
            {"_id": 3, "host": host(fourth)}, {"_id": 4, "host": host(fifth)}])
        with pytest.raises(FAILS) as err:
            client.admin.command("replSetReconfig", too_many)
        assert code(err) == 103 and "at most 1 voting member" in str(err.value)
        stale = dict(config, members=config["members"] + [{"_id": 3, "host": host(fourth)}])
        with pytest.raises(FAILS) as err:
            client.admin.command("replSetReconfig", stale)
        assert code(err) == 103
        config["version"] += 1
        config["members"].append({"_id": 3, "host": host(fourth)})
        client.admin.command("replSetReconfig", config)
    with members[1].client() as client:
        with pytest.raises(FAILS) as err:
            client.admin.command("replSetReconfig", dict(config, version=config["version"] + 1))
        assert code(err) == 10107
    for member in members + [fourth]:
        with member.client() as client:
            hello = client.admin.command("hello")
            assert hello["setVersion"] == 2 and hello["primary"] == host(members[0])
            assert hello["hosts"] == [host(m) for m in members + [fourth]]
    with fourth.client() as client:
        status = client.admin.command("replSetGetStatus")
        assert status["myState"] == 2
        assert [m["stateStr"] for m in status["members"]] == ["PRIMARY"] + ["SECONDARY"] * 3

    # A restarted member keeps its config; one that was down catches up by heartbeat.
    assert members[2].stop() == 0
    with members[0].client() as client:
        status = wait_for(lambda: (lambda s: s if s["members"][2]["health"] == 0 else None)(
            client.admin.command("replSetGetStatus")), what="member 2 reported down")
        assert status["members"][2]["stateStr"] == "(not reachable/healthy)"
        config = client.admin.command("replSetGetConfig")["config"]
        config["version"] += 1
        config["members"][3]["tags"] = {"dc": "two"}
        client.admin.command("replSetReconfig", config)        # 3 of 4 voters answer
    members[2].start()
    with members[2].client() as client:
        assert client.admin.command("hello")["setName"] == SET
        wait_for(lambda: client.admin.command("hello")["setVersion"] == 3,
                 what="the new config to reach the restarted member")
    with members[0].client() as client:
        wait_for(lambda: client.admin.command("replSetGetStatus")["members"][2]["health"] == 1,
                 what="member 2 healthy again")
    # force: accepted on a secondary, version bumped by a large random amount.
    with members[1].client() as client:
        config = client.admin.command("replSetGetConfig")["config"]
        client.admin.command({"replSetReconfig": config, "force": True})
        forced = client.admin.command("replSetGetConfig")["config"]["version"]
        assert forced >= config["version"] + 10000
    with members[0].client() as client:
        wait_for(lambda: client.admin.command("hello")["setVersion"] == forced,
                 what="the forced config to propagate")


def test_key_file_between_members_and_users_on_every_member(standin_factory, tmp_path):
    members = make_members(standin_factory, tmp_path)
    # Localhost exception: initiate, then the first user on the primary.
    initiate_with_admin(members)
    with members[0].client() as client:
        with pytest.raises(FAILS) as err:
            client.admin.command("replSetGetStatus")
        assert code(err) == 13
    # The user (and so authentication) works on every member, like after replication.
    for index, member in enumerate(members):
        with root_client(member) as client:
            status = client.admin.command("replSetGetStatus")
            assert status["myState"] == (1 if index == 0 else 2)
            assert [m["health"] for m in status["members"]] == [1, 1, 1]
    with pymongo.MongoClient(set_uri(members, ADMIN_USER, ADMIN_PASSWORD),
                             serverSelectionTimeoutMS=10000) as client:
        client.app.command("createUser", "appuser", pwd="app-pw", roles=["readWrite"])
    with pymongo.MongoClient(set_uri(members, "appuser", "app-pw", "app"),
                             serverSelectionTimeoutMS=10000) as client:
        client.app.items.insert_one({"ok": True})
    with members[2].client("appuser", "app-pw", "app") as client:
        client.app.command("ping")
    # The internal user is the key; a wrong key is refused.
    with members[1].client("__system", KEY, auth_source="local") as client:
        client.admin.command("ping")
    with pytest.raises(FAILS):
        with members[1].client("__system", KEY[:-4] + "AAA=", auth_source="local") as client:
            client.admin.command("ping")
    log = "".join(m.read_log() for m in members)
    assert KEY not in log and ADMIN_PASSWORD not in log


def test_wrong_key_fails_the_quorum_check(standin_factory, tmp_path):
    members = make_members(standin_factory, tmp_path, count=2)
    stranger, = make_members(standin_factory, tmp_path, count=1,
                             key="b3RoZXIta2V5LW9mLWFub3RoZXItc2V0")
    with pytest.raises(FAILS) as err:
        initiate(members[0], members + [stranger])
    assert code(err) == 74 and "quorum check failed" in str(err.value)
    assert host(stranger) + " failed with Authentication failed." in str(err.value)
    with members[0].client() as client:
        assert "setName" not in client.admin.command("hello")


def test_key_file_too_open_refuses_to_start(standin_factory, tmp_path):
    key_path = tmp_path / "open.key"
    key_path.write_text(KEY)
    key_path.chmod(0o644)
    member = standin_factory(config={"replication": {"replSetName": SET},
                                     "security": {"keyFile": str(key_path)}}, start=False)
    member.start(wait=False)
    assert member.proc.wait(timeout=60) == 1
    assert "permissions on %s are too open" % key_path in member.read_log()


def test_standalone_has_no_replica_set(standin):
    with standin.client() as client:
        hello = client.admin.command("hello")
        assert hello["isWritablePrimary"] is True
        for field in ("setName", "isreplicaset", "secondary", "hosts", "primary"):
            assert field not in hello
        for name in ("replSetGetStatus", "replSetGetConfig"):
            with pytest.raises(FAILS) as err:
                client.admin.command(name)
            assert code(err) == 76 and "not running with --replSet" in str(err.value)
        with pytest.raises(FAILS) as err:
            client.admin.command("replSetInitiate", {})
        assert code(err) == 76
        client.app.things.insert_one({"standalone": True})


def test_community_mongodb_modules_on_a_key_file_set(standin_factory, tmp_path):
    """mongodb_replicaset initiates (localhost exception), mongodb_user makes the first user
    directly on the primary (localhost exception: no replica_set, so a direct connection)
    and the next ones through the set, mongodb_status sees it converged, a re-run changes nothing, reconfigure adds a
    member."""
    members = make_members(standin_factory, tmp_path)
    port = members[0].port
    hosts = [host(m) for m in members]
    rs_args = {"login_host": "127.0.0.1", "login_port": port, "replica_set": SET,
               "members": hosts}
    result = run_module("community.mongodb.mongodb_replicaset", rs_args, tmp_path)
    assert result.get("changed") is True and not result.get("failed"), result
    result = run_module("community.mongodb.mongodb_user", {
        "login_host": "127.0.0.1", "login_port": port, "database": "admin",
        "name": ADMIN_USER, "password": ADMIN_PASSWORD, "roles": ["root"],
        "create_for_localhost_exception": str(tmp_path / "admin_made")},
        tmp_path)
    assert result.get("changed") is True and not result.get("failed"), result
    login = {"login_host": "127.0.0.1", "login_user": ADMIN_USER,
             "login_password": ADMIN_PASSWORD, "login_database": "admin"}
    result = run_module("community.mongodb.mongodb_replicaset",
                        dict(rs_args, **login), tmp_path)
    assert result.get("changed") is False and not result.get("failed"), result
    for member in members:
        result = run_module("community.mongodb.mongodb_status", dict(
            login, login_port=member.port, replica_set=SET, poll=3, interval=1), tmp_path)
        assert not result.get("failed"), result
        assert sorted(result["replicaset"].values()) == ["PRIMARY", "SECONDARY", "SECONDARY"]
    app_user = dict(login, login_port=members[1].port, replica_set=SET, database="app",
                    name="appuser", password="app-pw", roles=["readWrite"],
                    update_password="on_create")
    result = run_module("community.mongodb.mongodb_user", app_user, tmp_path)
    assert result.get("changed") is True and not result.get("failed"), result
    result = run_module("community.mongodb.mongodb_user", app_user, tmp_path)
    assert result.get("changed") is False and not result.get("failed"), result
    info = run_module("community.mongodb.mongodb_info", dict(login, login_port=members[2].port),
                      tmp_path)
    assert not info.get("failed") and ADMIN_USER in info["users"]["admin"], info

    fourth, = make_members(standin_factory, tmp_path, count=1)
    result = run_module("community.mongodb.mongodb_replicaset", dict(
        rs_args, reconfigure=True, members=hosts + [host(fourth)], **login), tmp_path)
    assert result.get("changed") is True and not result.get("failed"), result
    with fourth.client(ADMIN_USER, ADMIN_PASSWORD) as client:
        hello = client.admin.command("hello")
        assert hello["setName"] == SET and hello["primary"] == hosts[0]
        assert client.admin.command("replSetGetStatus")["myState"] == 2


def test_django_mongodb_backend_and_djongo_through_the_set(standin_factory, tmp_path):
    members = make_members(standin_factory, tmp_path)
    initiate_with_admin(members)
    with pymongo.MongoClient(set_uri(members, ADMIN_USER, ADMIN_PASSWORD),
                             serverSelectionTimeoutMS=10000) as client:
        for db in ("djangoapp", "djongoapp"):
            client[db].command("createUser", db, pwd="app-Passw0rd",
                               roles=[{"role": "readWrite", "db": db}])
    python = require_python("STANDIN_DJANGO_PYTHON", DJANGO_HOW)
    report = _run_smoke(python, "django_site", "smoke_django.py", {
        "STANDIN_MONGODB_URI": set_uri(members, "djangoapp", "app-Passw0rd", "djangoapp"),
        "STANDIN_DB_NAME": "djangoapp"})
    assert report["migrate"] is True and report["login"] is True
    python = require_python("STANDIN_DJONGO_PYTHON", DJONGO_HOW)
    report = _run_smoke(python, "djongo_site", "smoke_djongo.py", {
        "STANDIN_MONGODB_HOST": "mongodb://%s/?replicaSet=%s" % (
            ",".join(host(m) for m in members), SET),
        "STANDIN_DB_NAME": "djongoapp", "STANDIN_DB_USER": "djongoapp",
        "STANDIN_DB_PASSWORD": "app-Passw0rd"})
    assert report["migrate"] is True and report["login"] is True
    with root_client(members[0]) as client:
        assert client.djongoapp.auth_user.count_documents({"username": "admin"}) == 1
