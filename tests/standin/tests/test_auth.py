"""Authentication, authorization, the localhost exception and user-management shapes."""

import base64

import pytest
from bson.binary import Binary
from conftest import ADMIN_PASSWORD, ADMIN_USER
from pymongo.errors import OperationFailure


def _create_app_user(standin, db="app", user="appuser", password="app-Passw0rd", roles=None):
    with standin.client(*standin.admin) as client:
        client[db].command("createUser", user, pwd=password,
                           roles=roles if roles is not None else [{"role": "readWrite", "db": db}])


def test_unauthenticated_commands_refused_with_13(auth_standin):
    with auth_standin.client() as client:
        assert client.admin.command("ping")["ok"] == 1.0
        assert client.admin.command("hello")["isWritablePrimary"] is True
        assert client.admin.command("buildInfo")["version"] == "8.0.0"
        for call in (lambda: client.admin.command("listDatabases"),
                     lambda: client.app.things.find_one(),
                     lambda: client.app.things.insert_one({"x": 1}),
                     lambda: client.app.command("usersInfo")):
            with pytest.raises(OperationFailure) as err:
                call()
            assert err.value.code == 13
        with pytest.raises(OperationFailure) as err:
            client.admin.command("listDatabases")
        assert err.value.details["errmsg"] == "Command listDatabases requires authentication"
        assert err.value.details["codeName"] == "Unauthorized"


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_scram_mechanisms_and_wrong_password(auth_standin, mechanism):
    _create_app_user(auth_standin)
    with auth_standin.client("appuser", "app-Passw0rd", "app",
                             authMechanism=mechanism) as client:
        client.app.things.insert_one({"ok": True})
        status = client.app.command("connectionStatus")
        assert status["authInfo"]["authenticatedUsers"] == [{"user": "appuser", "db": "app"}]
    with auth_standin.client("appuser", "wrong", "app", authMechanism=mechanism) as client:
        with pytest.raises(OperationFailure) as err:
            client.app.command("ping")
        assert err.value.code == 18
        assert err.value.details["codeName"] == "AuthenticationFailed"
    with auth_standin.client("nosuchuser", "x", "app", authMechanism=mechanism) as client:
        with pytest.raises(OperationFailure) as err:
            client.app.command("ping")
        assert err.value.code == 18
    assert '"msg":"Failed to authenticate"' in auth_standin.read_log()
    assert '"msg":"Successfully authenticated"' in auth_standin.read_log()


def test_stored_credentials_match_mongodb_derivation(auth_standin):
    """storedKey/serverKey follow RFC 5802 with MongoDB's SHA-1 MD5 prehash."""
    import hashlib
    import hmac
    _create_app_user(auth_standin, password="pw-123")
    with auth_standin.client(*auth_standin.admin) as client:
        doc = client.admin["system.users"].find_one({"_id": "app.appuser"})
    assert isinstance(doc["userId"], Binary) and doc["userId"].subtype == 4
    assert doc["user"] == "appuser" and doc["db"] == "app"
    for mech, algo, secret in (
            ("SCRAM-SHA-1", "sha1",
             hashlib.md5(b"appuser:mongo:pw-123").hexdigest().encode()),
            ("SCRAM-SHA-256", "sha256", b"pw-123")):
        cred = doc["credentials"][mech]
        salted = hashlib.pbkdf2_hmac(algo, secret, base64.b64decode(cred["salt"]),
                                     cred["iterationCount"])
        client_key = hmac.new(salted, b"Client Key", algo).digest()
        assert base64.b64decode(cred["storedKey"]) == hashlib.new(algo, client_key).digest()
        assert base64.b64decode(cred["serverKey"]) == hmac.new(salted, b"Server Key",
                                                              algo).digest()
    assert doc["credentials"]["SCRAM-SHA-1"]["iterationCount"] == 10000
    assert doc["credentials"]["SCRAM-SHA-256"]["iterationCount"] == 15000


def test_read_write_user_is_confined_to_its_database(auth_standin):
    _create_app_user(auth_standin)
    with auth_standin.client("appuser", "app-Passw0rd", "app") as client:
        app = client.app
        app.create_collection("made")
        app.made.insert_one({"a": 1})
        app.made.create_index("a", unique=True)
        app.made.update_one({"a": 1}, {"$set": {"b": 2}})
        assert app.made.find_one({}, {"_id": 0}) == {"a": 1, "b": 2}
        app.made.delete_many({})
        assert app.list_collection_names() == ["made"]
        assert client.list_database_names() == ["app"]     # authorizedDatabases
        app.made.drop()
        with pytest.raises(OperationFailure) as err:
            client.admin.command("serverStatus")
        assert err.value.code == 13
        assert err.value.details["errmsg"].startswith(
            "not authorized on admin to execute command { serverStatus: 1")
        with pytest.raises(OperationFailure) as err:
            client.other.stuff.insert_one({"x": 1})
        assert err.value.code == 13
        assert "not authorized on other to execute command { insert: \"stuff\"" in \
            err.value.details["errmsg"]
        with pytest.raises(OperationFailure) as err:
            client.app.command("createUser", "x", pwd="y", roles=[])
        assert err.value.code == 13
        with pytest.raises(OperationFailure) as err:
            client.drop_database("app")
        assert err.value.code == 13
        # a user can always look at itself
        me = client.app.command("usersInfo", "appuser")["users"]
        assert me[0]["user"] == "appuser"


def test_read_only_and_any_database_roles(auth_standin):
    _create_app_user(auth_standin, user="reader", roles=["read"])
    _create_app_user(auth_standin, db="admin", user="rwany",
                     roles=["readWriteAnyDatabase", "clusterMonitor"])
    with auth_standin.client(*auth_standin.admin) as client:
        client.app.data.insert_one({"v": 1})
    with auth_standin.client("reader", "app-Passw0rd", "app") as client:
        assert client.app.data.find_one()["v"] == 1
        with pytest.raises(OperationFailure) as err:
            client.app.data.insert_one({"v": 2})
        assert err.value.code == 13
    with auth_standin.client("rwany", "app-Passw0rd", "admin") as client:
        client.app.data.insert_one({"v": 3})
        client.elsewhere.data.insert_one({"v": 4})
        assert client.admin.command("serverStatus")["process"] == "mongod"
        assert {"app", "elsewhere"} <= set(client.list_database_names())
        with pytest.raises(OperationFailure) as err:
            client.admin.command("shutdown")
        assert err.value.code == 13


def test_localhost_exception_first_user_only(standin_factory):
    standin = standin_factory(config={"security": {"authorization": "enabled"}})
    with standin.client() as client:
        with pytest.raises(OperationFailure) as err:   # only on admin
            client.app.command("createUser", "u", pwd="p", roles=[])
        assert err.value.code == 13
        with pytest.raises(OperationFailure) as err:   # only createUser
            client.admin.command("usersInfo")
        assert err.value.code == 13
        client.admin.command("createUser", ADMIN_USER, pwd=ADMIN_PASSWORD,
                             roles=[{"role": "userAdminAnyDatabase", "db": "admin"}])
        with pytest.raises(OperationFailure) as err:   # closed once a user exists
            client.admin.command("createUser", "second", pwd="p", roles=[])
        assert err.value.code == 13
    with standin.client(ADMIN_USER, ADMIN_PASSWORD) as client:
        client.admin.command("createUser", "second", pwd="p", roles=[])
        names = [u["user"] for u in client.admin.command("usersInfo")["users"]]
        assert sorted(names) == sorted([ADMIN_USER, "second"])


def test_localhost_exception_closes_after_restart_too(standin_factory):
    standin = standin_factory(config={"security": {"authorization": "enabled"}})
    with standin.client() as client:
        client.admin.command("createUser", "root1", pwd="pw", roles=["root"])
    standin.restart()
    with standin.client() as client:
        with pytest.raises(OperationFailure) as err:
            client.admin.command("createUser", "root2", pwd="pw", roles=["root"])
        assert err.value.code == 13


def test_user_management_shapes(auth_standin):
    """What community.mongodb's mongodb_user / mongodb_info read and send."""
    with auth_standin.client(*auth_standin.admin) as client:
        app = client.app
        app.command("createUser", "appuser", pwd="pw1", roles=["readWrite"],
                    customData={"team": "web"})
        with pytest.raises(OperationFailure) as err:
            app.command("createUser", "appuser", pwd="pw1", roles=["readWrite"])
        assert err.value.code == 51003
        assert err.value.details["errmsg"] == 'User "appuser@app" already exists'
        info = app.command("usersInfo")["users"]
        assert len(info) == 1
        user = info[0]
        assert user["_id"] == "app.appuser" and user["user"] == "appuser"
        assert user["db"] == "app"
        assert isinstance(user["userId"], Binary) and user["userId"].subtype == 4
        assert user["roles"] == [{"role": "readWrite", "db": "app"}]
        assert user["mechanisms"] == ["SCRAM-SHA-1", "SCRAM-SHA-256"]
        assert user["customData"] == {"team": "web"}
        assert "credentials" not in user
        one = app.command("usersInfo", {"user": "appuser", "db": "app"},
                          showCredentials=True)["users"][0]
        assert set(one["credentials"]) == {"SCRAM-SHA-1", "SCRAM-SHA-256"}
        app.command("updateUser", "appuser", pwd="pw2",
                    roles=["readWrite", {"role": "dbAdmin", "db": "app"}])
        assert app.command("usersInfo", "appuser")["users"][0]["roles"] == [
            {"role": "readWrite", "db": "app"}, {"role": "dbAdmin", "db": "app"}]
        with pytest.raises(OperationFailure) as err:
            app.command("updateUser", "ghost", pwd="x")
        assert err.value.code == 11
        with pytest.raises(OperationFailure) as err:
            app.command("createUser", "bad", pwd="x", roles=["root"])   # root only on admin
        assert err.value.code == 31
        everyone = client.admin.command("usersInfo", {"forAllDBs": True})["users"]
        assert {u["_id"] for u in everyone} == {"admin." + ADMIN_USER, "app.appuser"}
        assert client.app.command("usersInfo", "nobody")["users"] == []
        roles = client.app.command("rolesInfo", 1, showBuiltinRoles=True)["roles"]
        assert {"read", "readWrite", "dbAdmin", "userAdmin", "dbOwner"} <= \
            {r["role"] for r in roles}
        assert "root" not in {r["role"] for r in roles}
        params = client.admin.command("getParameter", "*")
        assert params["featureCompatibilityVersion"] == {"version": "8.0"}
        dbs = client.admin.command("listDatabases")
        assert dbs["totalSize"] > 0 and {"admin", "local"} <= {d["name"] for d in dbs["databases"]}
        opts = client.admin.command("getCmdLineOpts")
        assert opts["parsed"]["security"]["authorization"] == "enabled"
        assert opts["argv"][0] == "mongod"
        app.command("dropUser", "appuser")
        with pytest.raises(OperationFailure) as err:
            app.command("dropUser", "appuser")
        assert err.value.code == 11
    with auth_standin.client("appuser", "pw2", "app") as client:
        with pytest.raises(OperationFailure) as err:
            client.app.command("ping")
        assert err.value.code == 18


def test_password_change_takes_effect(auth_standin):
    _create_app_user(auth_standin, password="old-pw")
    with auth_standin.client(*auth_standin.admin) as client:
        client.app.command("updateUser", "appuser", pwd="new-pw")
    with auth_standin.client("appuser", "old-pw", "app") as client:
        with pytest.raises(OperationFailure):
            client.app.command("ping")
    with auth_standin.client("appuser", "new-pw", "app") as client:
        assert client.app.command("ping")["ok"] == 1.0
