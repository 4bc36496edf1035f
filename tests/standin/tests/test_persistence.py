"""Durability: restarts, SIGTERM right after a write, SIGKILL, torn journal, lock file."""

import os
import signal
import socket
import time

import pymongo
import pytest


def test_data_survives_clean_restart(standin):
    with standin.client() as client:
        client.app.items.insert_many([{"i": i, "nested": {"k": [i, {"x": i}]}}
                                      for i in range(100)])
        client.app.items.create_index("i", unique=True, name="i_unique")
        client.app.items.update_many({"i": {"$lt": 10}}, {"$set": {"small": True}})
        client.app.items.delete_many({"i": {"$gte": 90}})
        client.app.create_collection("empty")
        client.app.gone.insert_one({})
        client.app.gone.drop()
    assert standin.stop() == 0
    assert "Now exiting" in standin.read_log()
    assert os.path.getsize(standin.dbpath / "mongod.lock") == 0   # clean shutdown
    standin.start()
    with standin.client() as client:
        assert client.app.items.count_documents({}) == 90
        assert client.app.items.count_documents({"small": True}) == 10
        assert client.app.items.find_one({"i": 5}, {"_id": 0})["nested"] == {"k": [5, {"x": 5}]}
        assert sorted(client.app.list_collection_names()) == ["empty", "items"]
        assert client.app.items.index_information()["i_unique"]["unique"] is True
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            client.app.items.insert_one({"i": 1})


def test_acknowledged_write_survives_sigterm_immediately_after(standin):
    client = standin.client()
    coll = client.app.acked
    for i in range(30):
        coll.insert_one({"i": i})
    coll.update_one({"i": 0}, {"$set": {"last": True}})
    standin.proc.send_signal(signal.SIGTERM)      # right after the acknowledgement
    assert standin.proc.wait(30) == 0
    client.close()
    standin.start()
    with standin.client() as client:
        assert client.app.acked.count_documents({}) == 30
        assert client.app.acked.find_one({"i": 0})["last"] is True


def test_acknowledged_write_survives_sigkill(standin):
    """No shutdown at all: the journal alone carries the acknowledged writes."""
    with standin.client() as client:
        client.app.k.insert_many([{"i": i} for i in range(20)])
        client.app.k.update_many({}, {"$inc": {"i": 100}})
        client.app.k.delete_one({"i": 100})
        client.app.k.create_index("i")
    standin.proc.kill()
    standin.proc.wait(10)
    standin.stdout.close()
    standin.start()
    assert "Detected unclean shutdown" in standin.read_log()
    with standin.client() as client:
        assert client.app.k.count_documents({}) == 19
        assert client.app.k.find_one({}, sort=[("i", 1)])["i"] == 101
        assert "i_1" in client.app.k.index_information()


def test_torn_journal_tail_is_discarded(standin):
    with standin.client() as client:
        client.app.t.insert_one({"_id": 1})
    standin.proc.kill()
    standin.proc.wait(10)
    standin.stdout.close()
    journal = standin.dbpath / "standin" / "journal.bson"
    with open(journal, "ab") as handle:        # half a record, as after a crash mid-write
        handle.write(b"\x40\x00\x00\x00\x03ops\x00")
    standin.start()
    with standin.client() as client:
        assert client.app.t.find_one() == {"_id": 1}
        client.app.t.insert_one({"_id": 2})
    standin.restart()
    with standin.client() as client:
        assert client.app.t.count_documents({}) == 2


def test_second_instance_on_same_dbpath_refused(standin, standin_factory):
    other = standin_factory(start=False)
    other.config["storage"]["dbPath"] = str(standin.dbpath)
    other.write_config()
    other.start(wait=False)
    assert other.proc.wait(30) == 100
    assert "DBPathInUse" in other.read_log()
    with standin.client() as client:             # the first one is unharmed
        assert client.admin.command("ping")["ok"] == 1.0


def test_missing_dbpath_refused(standin_factory, tmp_path):
    other = standin_factory(start=False)
    other.config["storage"]["dbPath"] = str(tmp_path / "does-not-exist")
    other.write_config()
    other.start(wait=False)
    assert other.proc.wait(30) == 100
    assert "NonExistentPath" in other.read_log()


def test_many_writes_stay_fast(standin):
    """Hundreds of small acknowledged writes (a Django test run) in reasonable time."""
    with standin.client() as client:
        client.app.bulk.insert_many([{"i": i, "pad": "x" * 200} for i in range(2000)])
        started = time.monotonic()
        for i in range(300):
            client.app.bulk.update_one({"i": i}, {"$set": {"seen": True}})
        elapsed = time.monotonic() - started
    assert elapsed < 30, elapsed


def test_sigint_is_a_clean_shutdown_too(standin):
    standin.proc.send_signal(signal.SIGINT)
    assert standin.proc.wait(30) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", standin.port), timeout=1).close()


def test_feature_compatibility_version_guards_downgrade(standin_factory):
    """Like mongod: a 7.0 binary refuses data files at FCV 8.0 (exit 62) until
    setFeatureCompatibilityVersion 7.0 was run on 8.0."""
    standin = standin_factory()
    with standin.client() as client:
        client.app.x.insert_one({"v": 1})
        assert client.admin.command("getParameter", 1, featureCompatibilityVersion=1)[
            "featureCompatibilityVersion"] == {"version": "8.0"}
    assert standin.stop() == 0
    standin.extra_env["MONGOD_STANDIN_VERSION"] = "7.0.0"
    standin.start(wait=False)
    assert standin.proc.wait(30) == 62
    assert "UPGRADE PROBLEM" in standin.read_log()
    standin.stdout.close()
    standin.extra_env.pop("MONGOD_STANDIN_VERSION")
    standin.start()
    with standin.client() as client:
        with pytest.raises(pymongo.errors.OperationFailure):
            client.admin.command("setFeatureCompatibilityVersion", "7.0")   # no confirm
        client.admin.command("setFeatureCompatibilityVersion", "7.0", confirm=True)
    assert standin.stop() == 0
    standin.extra_env["MONGOD_STANDIN_VERSION"] = "7.0.0"
    standin.start()
    with standin.client() as client:
        assert client.server_info()["version"] == "7.0.0"
        assert client.app.x.find_one()["v"] == 1


def test_user_changes_survive_restart(auth_standin):
    """updateUser / grantRolesToUser modify documents in place: still journaled."""
    with auth_standin.client(*auth_standin.admin) as client:
        client.app.command("createUser", "u1", pwd="first", roles=["read"])
        client.app.command("updateUser", "u1", pwd="second")
        client.app.command("grantRolesToUser", "u1", roles=["readWrite"])
    standin_pid = auth_standin.proc.pid
    auth_standin.proc.kill()                      # no compaction: journal only
    auth_standin.proc.wait(10)
    auth_standin.stdout.close()
    auth_standin.start()
    assert auth_standin.proc.pid != standin_pid
    with auth_standin.client("u1", "second", "app") as client:
        client.app.things.insert_one({"ok": 1})   # readWrite was granted
    with auth_standin.client(*auth_standin.admin) as client:
        roles = client.app.command("usersInfo", "u1")["users"][0]["roles"]
        assert sorted(r["role"] for r in roles) == ["read", "readWrite"]
