"""Authentication (SCRAM-SHA-1 / SCRAM-SHA-256) and role-based authorization.

Credentials are stored like mongod stores them, in admin.system.users:

    {_id: "app.appuser", userId: UUID, user: "appuser", db: "app",
     credentials: {"SCRAM-SHA-1": {iterationCount, salt, storedKey, serverKey},
                   "SCRAM-SHA-256": {iterationCount, salt, storedKey, serverKey}},
     roles: [{role: "readWrite", db: "app"}]}

SCRAM-SHA-1 salts the MD5 hex digest of "user:mongo:password" (MongoDB's
historical prehash); SCRAM-SHA-256 salts the SASLprep'ed password.
"""

import base64
import hashlib
import hmac
import os
import uuid

from bson.binary import Binary

from .errors import CommandError

try:
    from pymongo.saslprep import saslprep
except ImportError:  # pragma: no cover - pymongo is vendored with the stand-in
    def saslprep(data, prohibit_unassigned_code_points=True):
        return data

MECHANISMS = ("SCRAM-SHA-1", "SCRAM-SHA-256")
_HASH = {"SCRAM-SHA-1": hashlib.sha1, "SCRAM-SHA-256": hashlib.sha256}
_HASH_NAME = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}
DEFAULT_ITERATIONS = {"SCRAM-SHA-1": 10000, "SCRAM-SHA-256": 15000}
_SALT_LEN = {"SCRAM-SHA-1": 16, "SCRAM-SHA-256": 28}

USERS_DB = "admin"
USERS_COLL = "system.users"

# ----------------------------------------------------------------- roles
READ = {"find", "listCollections", "listIndexes", "dbStats", "collStats", "killCursors"}
WRITE = {"insert", "update", "remove", "createCollection", "createIndex", "dropIndex",
         "dropCollection", "renameCollectionSameDB"}
DB_ADMIN = {"listCollections", "listIndexes", "dbStats", "collStats", "createCollection",
            "createIndex", "dropIndex", "dropCollection", "dropDatabase",
            "renameCollectionSameDB", "collMod", "validate", "enableProfiler"}
USER_ADMIN = {"createUser", "dropUser", "changePassword", "changeCustomData", "grantRole",
              "revokeRole", "viewUser", "createRole", "dropRole", "viewRole"}
CLUSTER_MONITOR = {"serverStatus", "getCmdLineOpts", "getParameter", "listDatabases",
                   "hostInfo", "getLog", "connPoolStats", "top", "listSessions",
                   "replSetGetStatus", "replSetGetConfig"}
HOST_MANAGER = {"shutdown", "setParameter", "logRotate", "killop"}
CLUSTER_MANAGER = {"setFeatureCompatibilityVersion", "replSetConfigure", "replSetStateChange"}

# role -> (only valid on admin, {scope: actions}); scope "db" = the role's db,
# "*" = every database, "cluster" = the cluster resource.
BUILTIN_ROLES = {
    "read": (False, {"db": READ}),
    "readWrite": (False, {"db": READ | WRITE}),
    "dbAdmin": (False, {"db": DB_ADMIN}),
    "userAdmin": (False, {"db": USER_ADMIN}),
    "dbOwner": (False, {"db": READ | WRITE | DB_ADMIN | USER_ADMIN}),
    "readAnyDatabase": (True, {"*": READ, "cluster": {"listDatabases"}}),
    "readWriteAnyDatabase": (True, {"*": READ | WRITE, "cluster": {"listDatabases"}}),
    "userAdminAnyDatabase": (True, {"*": USER_ADMIN,
                                    "cluster": {"listDatabases", "viewUser"}}),
    "dbAdminAnyDatabase": (True, {"*": DB_ADMIN, "cluster": {"listDatabases"}}),
    "clusterMonitor": (True, {"cluster": CLUSTER_MONITOR}),
    "hostManager": (True, {"cluster": HOST_MANAGER}),
    "clusterManager": (True, {"cluster": CLUSTER_MANAGER | {"listDatabases"}}),
    "clusterAdmin": (True, {"cluster": CLUSTER_MONITOR | HOST_MANAGER | CLUSTER_MANAGER,
                            "*": {"dropDatabase"}}),
    "backup": (True, {"*": READ, "cluster": {"listDatabases", "serverStatus"}}),
    "restore": (True, {"*": WRITE | {"createUser", "grantRole"},
                       "cluster": {"listDatabases"}}),
    "root": (True, {"*": READ | WRITE | DB_ADMIN | USER_ADMIN,
                    "cluster": CLUSTER_MONITOR | HOST_MANAGER | CLUSTER_MANAGER | {"viewUser"}}),
    "__system": (True, {"*": READ | WRITE | DB_ADMIN | USER_ADMIN,
                        "cluster": CLUSTER_MONITOR | HOST_MANAGER | CLUSTER_MANAGER
                        | {"viewUser", "internal"}}),
}


def validate_role(role, db):
    """Normalise a role given as "name" or {role, db}; RoleNotFound if unknown."""
    if isinstance(role, str):
        name, role_db = role, db
    elif isinstance(role, dict) and isinstance(role.get("role"), str) \
            and isinstance(role.get("db"), str):
        name, role_db = role["role"], role["db"]
    else:
        raise CommandError(2, "role names must be either strings or objects")
    spec = BUILTIN_ROLES.get(name)
    if spec is None or (spec[0] and role_db != "admin"):
        raise CommandError(31, "Could not find role: %s@%s" % (name, role_db))
    return {"role": name, "db": role_db}


class Privileges:
    def __init__(self, roles):
        self.db = {}
        self.cluster = set()
        for role in roles:
            spec = BUILTIN_ROLES.get(role.get("role"))
            if spec is None:
                continue
            for scope, actions in spec[1].items():
                if scope == "cluster":
                    self.cluster |= actions
                elif scope == "*":
                    self.db.setdefault("*", set()).update(actions)
                else:
                    self.db.setdefault(role["db"], set()).update(actions)

    def allows(self, db, action):
        return action in self.db.get(db, ()) or action in self.db.get("*", ())

    def allows_cluster(self, action):
        return action in self.cluster

    def any_on(self, db):
        return bool(self.db.get(db)) or bool(self.db.get("*"))

    def databases(self):
        return {name for name, acts in self.db.items() if name != "*" and acts}


# ------------------------------------------------------------- credentials
def _hmac(mech, key, msg):
    return hmac.new(key, msg, _HASH[mech]).digest()


def _prepared_password(mech, user, password):
    if mech == "SCRAM-SHA-1":
        return hashlib.md5(("%s:mongo:%s" % (user, password)).encode("utf-8")).hexdigest() \
            .encode("utf-8")
    return saslprep(password).encode("utf-8")


def make_credentials(user, password, mechanisms=MECHANISMS, iterations=None):
    creds = {}
    for mech in mechanisms:
        count = (iterations or DEFAULT_ITERATIONS)[mech]
        salt = os.urandom(_SALT_LEN[mech])
        salted = hashlib.pbkdf2_hmac(_HASH_NAME[mech], _prepared_password(mech, user, password),
                                     salt, count)
        client_key = _hmac(mech, salted, b"Client Key")
        creds[mech] = {
            "iterationCount": count,
            "salt": base64.b64encode(salt).decode("ascii"),
            "storedKey": base64.b64encode(_HASH[mech](client_key).digest()).decode("ascii"),
            "serverKey": base64.b64encode(_hmac(mech, salted, b"Server Key")).decode("ascii"),
        }
    return creds


def new_user_doc(user, db, password, roles, mechanisms, custom_data=None):
    doc = {"_id": "%s.%s" % (db, user), "userId": Binary(uuid.uuid4().bytes, 4),
           "user": user, "db": db,
           "credentials": make_credentials(user, password, mechanisms),
           "roles": roles}
    if custom_data is not None:
        doc["customData"] = custom_data
    return doc


# -------------------------------------------------------------------- SCRAM
def _parse_attrs(text):
    attrs = {}
    for part in text.split(","):
        if len(part) < 2 or part[1] != "=":
            raise ValueError("bad SCRAM attribute %r" % part)
        attrs[part[0]] = part[2:]
    return attrs


def _decode_username(name):
    return name.replace("=2C", ",").replace("=3D", "=")


class AuthFailed(Exception):
    """Authentication failed; the log gets the reason, the client only code 18."""


class ScramConversation:
    """Server side of one SCRAM conversation (RFC 5802 / 7677)."""

    def __init__(self, mechanism, db, find_user):
        if mechanism not in MECHANISMS:
            raise CommandError(334, "Received authentication for mechanism %s which is not "
                               "enabled" % mechanism)
        self.mechanism = mechanism
        self.db = db
        self.find_user = find_user
        self.step = 0
        self.user = None
        self.done = False

    def start(self, payload):
        text = bytes(payload).decode("utf-8")
        if not text.startswith("n,"):
            raise AuthFailed("SCRAM channel binding is not supported")
        gs2_end = text.index(",", 2) + 1
        self.gs2_header = text[:gs2_end]
        self.client_first_bare = text[gs2_end:]
        attrs = _parse_attrs(self.client_first_bare)
        self.user = _decode_username(attrs["n"])
        doc = self.find_user(self.db, self.user)
        if doc is None:
            raise AuthFailed("UserNotFound: Could not find user \"%s\" for db \"%s\""
                             % (self.user, self.db))
        creds = doc.get("credentials", {}).get(self.mechanism)
        if creds is None:
            raise CommandError(334, "Unable to use %s based authentication for user without any "
                               "%s credentials registered" % (self.mechanism, self.mechanism))
        self.creds = creds
        self.nonce = attrs["r"] + base64.b64encode(os.urandom(24)).decode("ascii")
        self.server_first = "r=%s,s=%s,i=%d" % (self.nonce, creds["salt"],
                                               creds["iterationCount"])
        self.step = 1
        return self.server_first.encode("utf-8")

    def next(self, payload):
        """Returns (payload, done)."""
        if self.step == 1:
            text = bytes(payload).decode("utf-8")
            without_proof, _, proof = text.rpartition(",p=")
            attrs = _parse_attrs(without_proof)
            if attrs.get("r") != self.nonce:
                raise AuthFailed("SCRAM nonce mismatch")
            expected_cb = base64.b64encode(self.gs2_header.encode("utf-8")).decode("ascii")
            if attrs.get("c") != expected_cb:
                raise AuthFailed("SCRAM channel binding mismatch")
            auth_message = ",".join((self.client_first_bare, self.server_first,
                                     without_proof)).encode("utf-8")
            stored_key = base64.b64decode(self.creds["storedKey"])
            server_key = base64.b64decode(self.creds["serverKey"])
            signature = _hmac(self.mechanism, stored_key, auth_message)
            try:
                client_proof = base64.b64decode(proof)
            except ValueError:
                raise AuthFailed("SCRAM proof is not base64") from None
            if len(client_proof) != len(signature):
                raise AuthFailed("SCRAM proof has the wrong length")
            client_key = bytes(a ^ b for a, b in zip(client_proof, signature))
            if not hmac.compare_digest(_HASH[self.mechanism](client_key).digest(), stored_key):
                raise AuthFailed("SCRAM authentication failed, storedKey mismatch")
            self.step = 2
            server_signature = _hmac(self.mechanism, server_key, auth_message)
            return ("v=" + base64.b64encode(server_signature).decode("ascii")).encode("utf-8")
        if self.step == 2:
            self.step = 3
            return b""
        raise AuthFailed("SCRAM conversation already finished")
