"""Replica-set emulation: a member started with replication.replSetName.

What a client sees is a set whose members are all up:

* before replSetInitiate: hello says isWritablePrimary/secondary false, isreplicaset
  true, no setName; replSetGetStatus/replSetGetConfig fail with 94 NotYetInitialized;
  writes fail with 10107 NotWritablePrimary ("not primary").
* replSetInitiate / replSetReconfig validate the config, check that the other members
  answer (quorum check), store it in local.system.replset (durable, like mongod) and
  push it to the other members with an internal replSetHeartbeat command,
  authenticated as __system@local with the key file's key (SCRAM) when
  security.keyFile is set.  A heartbeat thread (every 2 s) repeats the push to members
  that missed it (down, restarted, added later) and records their health.
* The primary is not elected: every member derives it from the shared config, the
  electable member (not arbiter, not hidden, priority > 0) with the highest priority,
  ties broken by the lowest member _id.  So every member names the same primary as
  soon as it has the config.  The config's term counts primary changes.
* Data is NOT replicated, with one exception the clients need: the users
  (admin.system.users) and the featureCompatibilityVersion of the primary are pushed
  to every member after each change and by the heartbeats, so that a user created on
  the primary can authenticate on any member (as after real replication).
"""

import datetime
import hashlib
import hmac
import os
import random
import socket
import stat
import threading
import time

import bson
from bson import Int64, ObjectId, Timestamp
from bson.binary import Binary

from . import auth, wire
from .commands import CommandError, allow, as_bool, command
from .log import LOG

HEARTBEAT_SECS = 2.0
PEER_TIMEOUT_SECS = 2.0
INTERNAL_USER = "__system"
INTERNAL_DB = "local"
CONFIG_DB, CONFIG_COLL = "local", "system.replset"

STATE_STARTUP, STATE_PRIMARY, STATE_SECONDARY, STATE_ARBITER = 0, 1, 2, 7
STATE_DOWN, STATE_REMOVED = 8, 10
STATE_STR = {0: "STARTUP", 1: "PRIMARY", 2: "SECONDARY", 7: "ARBITER",
             8: "(not reachable/healthy)", 10: "REMOVED"}

# Commands that change data: refused on a member that is not primary (10107).
WRITE_COMMANDS = {
    "insert", "update", "delete", "findAndModify", "create", "drop", "dropDatabase",
    "renameCollection", "createIndexes", "dropIndexes", "collMod", "createUser", "updateUser",
    "dropUser", "dropAllUsersFromDatabase", "grantRolesToUser", "revokeRolesFromUser",
    "createRole", "setFeatureCompatibilityVersion",
}
# Reads that a member which is not primary runs only when the client opted in with a read
# preference other than primary (else 13435 NotPrimaryNoSecondaryOk) ...
READ_COMMANDS = {"find", "aggregate", "count", "distinct", "listCollections", "listIndexes",
                 "dbStats", "collStats", "listDatabases", "usersInfo", "rolesInfo", "explain"}
# ... and of those, the ones that also need the member to be SECONDARY (13436).
DATA_READ_COMMANDS = {"find", "aggregate", "count", "distinct", "listCollections", "listIndexes",
                      "explain"}
# Commands whose effect is pushed to the other members (users and FCV).
SYSTEM_STATE_COMMANDS = {"createUser", "updateUser", "dropUser", "dropAllUsersFromDatabase",
                         "grantRolesToUser", "revokeRolesFromUser",
                         "setFeatureCompatibilityVersion"}

MEMBER_DEFAULTS = (("arbiterOnly", False), ("buildIndexes", True), ("hidden", False),
                   ("priority", 1.0), ("tags", {}), ("secondaryDelaySecs", Int64(0)),
                   ("votes", 1))
SETTINGS_DEFAULTS = (("chainingAllowed", True), ("heartbeatIntervalMillis", 2000),
                     ("heartbeatTimeoutSecs", 10), ("electionTimeoutMillis", 10000),
                     ("catchUpTimeoutMillis", -1), ("catchUpTakeoverDelayMillis", 30000),
                     ("getLastErrorModes", {}), ("getLastErrorDefaults", {"w": 1, "wtimeout": 0}))
_KEY_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


# ------------------------------------------------------------------ key file
class KeyFileError(Exception):
    """The key file cannot be used: mongod refuses to start."""


def load_key_file(path):
    """The shared key (whitespace removed), checked like mongod checks it."""
    try:
        info = os.stat(path)
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError as exc:
        raise KeyFileError("error getting file %s: %s" % (path, exc.strerror)) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError("permissions on %s are too open" % path)
    key = "".join(text.split())
    if len(key) < 6:
        raise KeyFileError("security key in %s has length < 6" % path)
    if len(key) > 1024:
        raise KeyFileError("security key in %s has length > 1024" % path)
    bad = next((c for c in key if c not in _KEY_CHARS), None)
    if bad is not None:
        raise KeyFileError("invalid char in key file %s: %s" % (path, bad))
    return key


def internal_user_doc(key):
    """__system@local, the identity members use with each other (key-file auth)."""
    return {"_id": "%s.%s" % (INTERNAL_DB, INTERNAL_USER), "user": INTERNAL_USER,
            "db": INTERNAL_DB, "credentials": auth.make_credentials(INTERNAL_USER, key),
            "roles": [{"role": "__system", "db": "admin"}]}


# ---------------------------------------------------------------- peer client
class PeerError(Exception):
    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class PeerClient:
    """A minimal client for member-to-member traffic (OP_MSG, SCRAM-SHA-256)."""

    _salted_cache = {}

    def __init__(self, host, key):
        self.host = host
        self.key = key
        self.sock = None
        self.request_id = 0

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def _connect(self):
        name, port = split_host(self.host)
        try:
            self.sock = socket.create_connection((name, port), timeout=PEER_TIMEOUT_SECS)
        except OSError as exc:
            raise PeerError(_os_error_text(exc)) from None
        self.sock.settimeout(PEER_TIMEOUT_SECS)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.key is not None:
            self._authenticate()

    def command(self, doc, db="admin"):
        if self.sock is None:
            self._connect()
        body = dict(doc)
        body["$db"] = db
        self.request_id += 1
        try:
            self.sock.sendall(wire.build_op_msg(self.request_id, 0, body))
            reply = wire.read_message(self.sock).body
        except (OSError, EOFError, wire.ProtocolError) as exc:
            self.close()
            raise PeerError(_os_error_text(exc) if isinstance(exc, OSError)
                            else "connection closed by peer") from None
        if not reply.get("ok"):
            if reply.get("code") in (13, 18):
                self.close()
            raise PeerError(reply.get("errmsg", "command failed"), reply.get("code"))
        return reply

    def _authenticate(self):
        nonce = _b64(os.urandom(24))
        first_bare = "n=%s,r=%s" % (INTERNAL_USER, nonce)
        reply = self.command({"saslStart": 1, "mechanism": "SCRAM-SHA-256",
                              "payload": Binary(("n,," + first_bare).encode()),
                              "autoAuthorize": 1, "options": {"skipEmptyExchange": True}},
                             db=INTERNAL_DB)
        server_first = bytes(reply["payload"]).decode()
        attrs = dict(part.split("=", 1) for part in server_first.split(","))
        if not attrs.get("r", "").startswith(nonce):
            raise PeerError("SCRAM nonce mismatch")
        salt, iterations = attrs["s"], int(attrs["i"])
        cache_key = (self.key, salt, iterations)
        salted = self._salted_cache.get(cache_key)
        if salted is None:
            salted = hashlib.pbkdf2_hmac("sha256", auth.saslprep(self.key).encode(),
                                         _unb64(salt), iterations)
            self._salted_cache[cache_key] = salted
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=%s" % attrs["r"]
        auth_message = ",".join((first_bare, server_first, without_proof)).encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        reply = self.command({"saslContinue": 1, "conversationId": reply["conversationId"],
                              "payload": Binary(("%s,p=%s" % (without_proof, _b64(proof)))
                                                .encode())}, db=INTERNAL_DB)
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        expected = "v=" + _b64(hmac.new(server_key, auth_message, hashlib.sha256).digest())
        if bytes(reply["payload"]).decode() != expected:
            raise PeerError("SCRAM server signature mismatch")
        while not reply.get("done"):
            reply = self.command({"saslContinue": 1, "conversationId": reply["conversationId"],
                                  "payload": Binary(b"")}, db=INTERNAL_DB)


def _b64(data):
    import base64
    return base64.b64encode(data).decode("ascii")


def _unb64(text):
    import base64
    return base64.b64decode(text)


def _os_error_text(exc):
    if isinstance(exc, socket.timeout):
        return "Couldn't get a connection within the time limit"
    return exc.strerror or str(exc)


def split_host(host):
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    return name, int(port) if port else 27017


# ----------------------------------------------------------------- config
def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def normalise_config(raw, set_name, initiate):
    """Validate a config document the way mongod does (the parts clients meet) and
    fill in the defaults replSetGetConfig shows."""
    if not isinstance(raw, dict):
        raise CommandError(93, "replica set configuration must be an object")
    if raw.get("_id") != set_name:
        if initiate:
            raise CommandError(93, "Attempting to initiate a replica set with name %s, but "
                               "command line reports %s; rejecting" % (raw.get("_id"), set_name))
        raise CommandError(103, "New and old configurations differ in replica set name; old "
                           "was %s, and new is %s" % (set_name, raw.get("_id")))
    members = raw.get("members")
    if not isinstance(members, list) or not members:
        raise CommandError(93, "Replica set configuration must contain at least one member")
    if len(members) > 50:
        raise CommandError(93, "Replica set configuration contains %d members, but must have "
                           "at most 50" % len(members))
    if raw.get("protocolVersion", 1) not in (1,):
        raise CommandError(93, "Only protocolVersion 1 is supported")
    out_members, ids, hosts = [], set(), set()
    for index, member in enumerate(members):
        if not isinstance(member, dict):
            raise CommandError(93, "Expected type of members.%d to be an object" % index)
        if not _is_number(member.get("_id")) or member["_id"] < 0:
            raise CommandError(93, "Expected field \"_id\" of members.%d to be a "
                               "non-negative number" % index)
        host = member.get("host")
        if not isinstance(host, str) or not host:
            raise CommandError(93, "Expected field \"host\" of members.%d to be a string"
                               % index)
        if ":" not in host.rpartition("]")[2]:
            host += ":27017"
        if int(member["_id"]) in ids:
            raise CommandError(93, "Found two member configurations with same _id field, "
                               "members.%d._id == %d" % (index, member["_id"]))
        if host in hosts:
            raise CommandError(93, "Found two member configurations with same host field, "
                               "members.%d.host == %s" % (index, host))
        ids.add(int(member["_id"]))
        hosts.add(host)
        normalised = {"_id": int(member["_id"]), "host": host}
        for key, default in MEMBER_DEFAULTS:
            value = member.get(key, default)
            if key == "priority" and member.get("arbiterOnly") and "priority" not in member:
                value = 0
            normalised[key] = value
        for key, value in member.items():
            if key not in normalised:
                normalised[key] = value
        if normalised["arbiterOnly"] and normalised["priority"]:
            raise CommandError(93, "Arbiters must have priority 0 (members.%d)" % index)
        if normalised["hidden"] and normalised["priority"]:
            raise CommandError(93, "priority must be 0 when hidden=true (members.%d)" % index)
        if not normalised["votes"] and normalised["priority"]:
            raise CommandError(93, "priority must be 0 when non-voting (votes:0) "
                               "(members.%d)" % index)
        out_members.append(normalised)
    voting = sum(1 for m in out_members if m["votes"])
    if voting > 7:
        raise CommandError(93, "Replica set configuration contains %d voting members, but "
                           "must be at most 7" % voting)
    if voting == 0:
        raise CommandError(93, "Replica set configuration must contain at least one voting "
                           "member")
    settings = dict(raw.get("settings") or {})
    for key, default in SETTINGS_DEFAULTS:
        settings.setdefault(key, default)
    config = {"_id": set_name, "version": raw.get("version", 1), "term": raw.get("term", 0),
              "members": out_members, "protocolVersion": Int64(1),
              "writeConcernMajorityJournalDefault":
                  raw.get("writeConcernMajorityJournalDefault", True),
              "settings": settings}
    if not _is_number(config["version"]) or config["version"] < 1:
        raise CommandError(93, "version field value of %s is out of range"
                           % config["version"])
    config["version"] = int(config["version"])
    return config


def primary_of(config):
    """The member every stand-in names primary: highest priority, then lowest _id."""
    electable = [m for m in config["members"]
                 if not m.get("arbiterOnly") and not m.get("hidden") and m.get("priority", 1) > 0
                 and m.get("votes", 1)]
    if not electable:
        return None
    return sorted(electable, key=lambda m: (-float(m.get("priority", 1)), m["_id"]))[0]


def _voting_hosts(config):
    return {m["host"] for m in config["members"] if m.get("votes", 1)}


def _config_order(config):
    return (config.get("term", 0), config.get("version", 0))


def _election_id(term):
    return ObjectId("7fffffff%016x" % max(int(term), 0))


def _opt_time(term):
    now = int(time.time())
    return {"ts": Timestamp(now, 1), "t": Int64(term)}


# ----------------------------------------------------------------- state
class ReplState:
    """This member's view of the set."""

    def __init__(self, server):
        self.server = server
        self.name = server.config.get("replication.replSetName")
        self.key = None                 # the key file's key, when security.keyFile is set
        self.config = None
        self.self_member = None
        self.peers = {}                 # host -> heartbeat record
        self.clients = {}               # host -> PeerClient (heartbeat thread only)
        self._self_cache = {}
        self.thread = None
        self.wake = threading.Event()   # set: run a heartbeat round now (new config)

    # ------------------------------------------------------------ start-up
    def set_key(self, key):
        self.key = key

    def load(self):
        """Read the config mongod keeps in local.system.replset (called under the lock)."""
        doc = self.server.engine[CONFIG_DB][CONFIG_COLL].find_one({})
        if doc is None:
            LOG.info("REPL", 4280508, "Did not find local replica set configuration document at "
                     "startup", ctx="initandlisten",
                     error={"code": 47, "codeName": "NoMatchingDocument",
                            "errmsg": "Did not find replica set configuration document in "
                                      "local.system.replset"})
            return
        if doc.get("_id") != self.name:
            LOG.warning("REPL", 21415, "Local replica set configuration document reports set "
                        "name of %s, but command line reports %s; waiting for reconfig or "
                        "remote heartbeat" % (doc.get("_id"), self.name), ctx="initandlisten")
        self._use(doc, "startup")

    def start(self):
        self.thread = threading.Thread(target=self._heartbeat_loop, name="ReplCoord-heartbeat",
                                       daemon=True)
        self.thread.start()

    # ------------------------------------------------------------- identity
    def is_self(self, host):
        cached = self._self_cache.get(host)
        if cached is not None:
            return cached
        name, port = split_host(host)
        result = False
        if port == self.server.config.port:
            try:
                infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
            except socket.gaierror:
                infos = []
            for family, _, _, _, sockaddr in infos:
                try:
                    with socket.socket(family, socket.SOCK_DGRAM) as probe:
                        probe.bind((sockaddr[0], 0))
                    result = True
                    break
                except OSError:
                    continue
        self._self_cache[host] = result
        return result

    def _use(self, config, why):
        self.config = config
        self.self_member = next((m for m in config["members"] if self.is_self(m["host"])), None)
        self.server.topology_changed()
        self.wake.set()
        LOG.info("REPL", 21392, "New replica set config in use", ctx="ReplCoord",
                 config=config, why=why)
        LOG.info("REPL", 21358, "Replica set state transition", ctx="ReplCoord",
                 newState=STATE_STR[self.state()])

    def _store(self, config, why):
        coll = self.server.engine[CONFIG_DB][CONFIG_COLL]
        coll.delete_many({})
        coll.insert_one(dict(config))
        self._use(config, why)

    def store_durably(self, config, why):
        """_store in one storage transaction (the caller holds the server lock)."""
        self.server.storage.begin()
        try:
            self._store(config, why)
        finally:
            self.server.storage.commit()

    # --------------------------------------------------------------- state
    @property
    def initialized(self):
        return self.config is not None

    def primary(self):
        return primary_of(self.config) if self.config else None

    def state(self, member=None):
        if self.config is None:
            return STATE_STARTUP
        member = member or self.self_member
        if member is None:
            return STATE_REMOVED
        if member.get("arbiterOnly"):
            return STATE_ARBITER
        primary = self.primary()
        if primary is not None and primary["_id"] == member["_id"]:
            return STATE_PRIMARY
        return STATE_SECONDARY

    def is_primary(self):
        return self.state() == STATE_PRIMARY

    def term(self):
        return int(self.config.get("term", 1)) if self.config else -1

    # ---------------------------------------------------------------- hello
    def hello_fields(self, legacy):
        """The replica-set part of hello/isMaster, in mongod's field order."""
        writable = "ismaster" if legacy else "isWritablePrimary"
        state = self.state()
        if state in (STATE_STARTUP, STATE_REMOVED):
            return {writable: False, "secondary": False,
                    "info": "Does not have a valid replica set config", "isreplicaset": True}
        config = self.config
        fields = {}
        visible = [m for m in config["members"] if not m.get("hidden")]
        hosts = [m["host"] for m in visible if not m.get("arbiterOnly") and m.get("priority")]
        passives = [m["host"] for m in visible
                    if not m.get("arbiterOnly") and not m.get("priority")]
        arbiters = [m["host"] for m in visible if m.get("arbiterOnly")]
        fields["hosts"] = hosts
        if passives:
            fields["passives"] = passives
        if arbiters:
            fields["arbiters"] = arbiters
        fields["setName"] = self.name
        fields["setVersion"] = config["version"]
        fields[writable] = state == STATE_PRIMARY
        fields["secondary"] = state == STATE_SECONDARY
        primary = self.primary()
        if primary is not None:
            fields["primary"] = primary["host"]
        me = self.self_member
        if me.get("arbiterOnly"):
            fields["arbiterOnly"] = True
        if not me.get("priority") and not me.get("arbiterOnly"):
            fields["passive"] = True
        if me.get("hidden"):
            fields["hidden"] = True
        if me.get("tags"):
            fields["tags"] = dict(me["tags"])
        fields["me"] = me["host"]
        if state == STATE_PRIMARY:
            fields["electionId"] = _election_id(self.term())
        now = datetime.datetime.utcnow().replace(microsecond=0)
        op_time = _opt_time(self.term())
        fields["lastWrite"] = {"opTime": op_time, "lastWriteDate": now,
                               "majorityOpTime": op_time, "majorityWriteDate": now}
        return fields

    # ------------------------------------------------------ command checks
    def check_command(self, ctx, name):
        """NotWritablePrimary / NotPrimaryNoSecondaryOk, as mongod answers on a member."""
        if ctx.db == "local":
            return
        state = self.state()
        if name in WRITE_COMMANDS or (name == "aggregate" and _has_out(ctx.cmd)):
            if state != STATE_PRIMARY:
                raise CommandError(10107, "not primary")
            return
        if name in READ_COMMANDS and state != STATE_PRIMARY:
            pref = ctx.cmd.get("$readPreference")
            mode = pref.get("mode") if isinstance(pref, dict) else None
            if mode in (None, "primary"):
                raise CommandError(13435, "not primary and secondaryOk=false")
            if name in DATA_READ_COMMANDS and state != STATE_SECONDARY:
                raise CommandError(13436, "node is not in primary or recovering state")

    # ------------------------------------------------------- system state
    def system_state(self):
        users = self.server.engine[auth.USERS_DB][auth.USERS_COLL]
        docs = sorted(users.find({}), key=lambda d: str(d.get("_id")))
        fcv = self.server.parameters["featureCompatibilityVersion"]["version"]
        return {"users": docs, "fcv": fcv}

    @staticmethod
    def state_hash(state):
        data = b"".join(bson.encode(d, codec_options=wire.CODEC) for d in state["users"])
        return hashlib.sha256(data + state["fcv"].encode()).hexdigest()

    def apply_system_state(self, state):
        users = self.server.engine[auth.USERS_DB][auth.USERS_COLL]
        users.delete_many({})
        if state.get("users"):
            users.insert_many([dict(d) for d in state["users"]])
        fcv = state.get("fcv")
        if fcv and fcv != self.server.parameters["featureCompatibilityVersion"]["version"]:
            self.server.set_fcv(fcv)
        LOG.info("REPL", 9900020, "Stand-in: users and featureCompatibilityVersion taken "
                 "from the primary", ctx="ReplCoord", users=len(state.get("users") or []),
                 fcv=fcv)

    # ------------------------------------------------------------ traffic
    def heartbeat_doc(self, config=None, system_state=None):
        with self.server.lock:
            config = config or self.config
            doc = {"replSetHeartbeat": self.name,
                   "configVersion": config["version"] if config else -2,
                   "configTerm": config.get("term", 0) if config else -1,
                   "from": self.self_member["host"] if self.self_member else "",
                   "fromId": self.self_member["_id"] if self.self_member else -1,
                   "state": self.state()}
            if config is not None:
                doc["config"] = config
            if system_state is not None:
                doc["systemState"] = system_state
            elif self.is_primary():
                doc["stateHash"] = self.state_hash(self.system_state())
        return doc

    def send(self, host, doc, client=None):
        """One internal command to a member; returns (reply, error text)."""
        own = client is None
        client = client or PeerClient(host, self.key)
        started = time.monotonic()
        try:
            reply = client.command(doc)
            self._record(host, reply, None, time.monotonic() - started)
            return reply, None
        except PeerError as exc:
            self._record(host, None, str(exc), None)
            return None, str(exc)
        finally:
            if own:
                client.close()

    def record_inbound(self, host, state, version, term):
        """A heartbeat from `host` (called under the lock): it is up."""
        if not host or self.is_self(host):
            return
        now = datetime.datetime.utcnow()
        record = self.peers.setdefault(host, {"since": now, "lastHeartbeat": now})
        if record.get("health") != 1:
            record["since"] = now
            record["lastHeartbeat"] = now
            record.update(pingMs=Int64(0), message="")
        record.update(health=1, state=state, configVersion=version, configTerm=term,
                      lastHeartbeatRecv=now)

    def _record(self, host, reply, error, seconds):
        now = datetime.datetime.utcnow()
        with self.server.lock:
            record = self.peers.setdefault(host, {"since": now})
            record["lastHeartbeat"] = now
            if reply is not None:
                if record.get("health") != 1:
                    record["since"] = now
                record.update(health=1, state=reply.get("state", STATE_STARTUP),
                              pingMs=Int64(int(seconds * 1000)), message="",
                              configVersion=reply.get("v", -2),
                              configTerm=reply.get("configTerm", -1))
            else:
                if record.get("health") != 0:
                    record["since"] = now
                record.update(health=0, state=STATE_DOWN, pingMs=Int64(0), message=error,
                              configVersion=-1, configTerm=-1)

    def push_all(self, hosts, with_state=False):
        """Push this member's config (and users, from the primary) to `hosts`."""
        state = None
        if with_state:
            with self.server.lock:
                state = self.system_state() if self.is_primary() else None
        doc = self.heartbeat_doc(system_state=state)
        for host in hosts:
            self.send(host, doc)

    def other_hosts(self, *configs):
        hosts = []
        for config in configs:
            for member in (config or {}).get("members", []):
                if member["host"] not in hosts and not self.is_self(member["host"]):
                    hosts.append(member["host"])
        return hosts

    def after_command(self, name):
        """Called outside the lock after a successful command (users/FCV changes)."""
        if name in SYSTEM_STATE_COMMANDS and self.is_primary():
            self.push_all(self.other_hosts(self.config), with_state=True)

    def _heartbeat_loop(self):
        stop = self.server.stop_event
        while not stop.is_set():
            self.wake.wait(HEARTBEAT_SECS)
            self.wake.clear()
            if stop.is_set():
                return
            try:
                self._heartbeat_round()
            except Exception as exc:  # noqa: BLE001 - the thread must survive
                LOG.warning("REPL", 9900021, "Stand-in heartbeat round failed",
                            ctx="ReplCoord-heartbeat", error="%s: %s" % (type(exc).__name__, exc))

    def _heartbeat_round(self):
        with self.server.lock:
            if self.config is None or self.server.stopping:
                return
            hosts = self.other_hosts(self.config)
        for host in list(self.clients):
            if host not in hosts:
                self.clients.pop(host).close()
        for host in hosts:
            if self.server.stop_event.is_set():
                return
            client = self.clients.setdefault(host, PeerClient(host, self.key))
            doc = self.heartbeat_doc()
            reply, _ = self.send(host, doc, client)
            if reply is None or "stateHash" not in doc:
                continue
            if reply.get("stateHash") != doc["stateHash"]:
                with self.server.lock:
                    state = self.system_state()
                self.send(host, self.heartbeat_doc(system_state=state), client)


def _has_out(cmd):
    pipeline = cmd.get("pipeline")
    return isinstance(pipeline, list) and any(
        isinstance(stage, dict) and ("$out" in stage or "$merge" in stage) for stage in pipeline)


# ---------------------------------------------------------------- commands
def _repl(ctx, not_enabled_msg="not running with --replSet"):
    repl = ctx.server.repl
    if repl is None:
        raise CommandError(76, not_enabled_msg)
    return repl


def _quorum_probe(repl, hosts, config, initiate):
    """Heartbeat without a config: who answers, and may it join `config`?"""
    probe = {"replSetHeartbeat": repl.name, "configVersion": -2, "configTerm": -1,
             "from": "", "fromId": -1}
    ok, failed = [], []
    for host in hosts:
        reply, error = repl.send(host, probe)
        if reply is not None:
            if reply.get("set") not in (None, repl.name):
                error = "Our set name did not match"
            elif reply.get("replicaSetId") not in (None, config["settings"].get("replicaSetId")):
                error = "replica set IDs do not match, ours: %s; remote node's: %s" % (
                    config["settings"].get("replicaSetId"), reply.get("replicaSetId"))
            elif reply.get("initialized") and initiate:
                error = "member is already initialized"
        if error is None:
            ok.append(host)
        else:
            failed.append("%s failed with %s" % (host, error))
    return ok, failed


@command("replSetInitiate", admin_only=True, authorize=allow("replSetConfigure", cluster=True),
         locked=False)
def cmd_repl_set_initiate(ctx):
    repl = _repl(ctx, "This node was not started with replication enabled.")
    server = ctx.server
    reply = {}
    raw = ctx.arg
    with server.lock:
        if repl.initialized:
            raise CommandError(23, "already initialized")
        if not isinstance(raw, dict):
            me = "%s:%d" % (socket.gethostname(), server.config.port)
            raw = {"_id": repl.name, "members": [{"_id": 0, "host": me}]}
            reply = {"info2": "no configuration specified. Using a default configuration for "
                              "the set", "me": me}
        config = normalise_config(raw, repl.name, initiate=True)
        if not any(repl.is_self(m["host"]) for m in config["members"]):
            raise CommandError(93, "No host described in new configuration with {version: %d, "
                               "term: 0} for replica set %s maps to this node"
                               % (config["version"], repl.name))
    config["term"] = 0
    config["settings"]["replicaSetId"] = ObjectId()
    hosts = repl.other_hosts(config)
    ok, failed = _quorum_probe(repl, hosts, config, initiate=True)
    if failed:
        raise CommandError(74, "replSetInitiate quorum check failed because not all proposed "
                           "set members responded affirmatively: " + ", ".join(failed))
    config["term"] = 1         # the first election
    with server.lock:
        if repl.initialized:
            raise CommandError(23, "already initialized")
        repl.store_durably(config, "replSetInitiate")
    repl.push_all(hosts, with_state=True)
    reply["ok"] = 1.0
    return reply


@command("replSetReconfig", admin_only=True, authorize=allow("replSetConfigure", cluster=True),
         locked=False)
def cmd_repl_set_reconfig(ctx):
    repl = _repl(ctx)
    server = ctx.server
    force = as_bool(ctx.cmd.get("force", False))
    with server.lock:
        if not repl.initialized:
            raise CommandError(94, "Cannot run replSetReconfig: node not yet initialized")
        current = repl.config
        if not force and not repl.is_primary():
            raise CommandError(10107, "replSetReconfig should only be run on a writable "
                               "PRIMARY. Current state %s;" % STATE_STR[repl.state()])
        config = normalise_config(ctx.arg, repl.name, initiate=False)
        rs_id = current["settings"].get("replicaSetId")
        given_id = (ctx.arg.get("settings") or {}).get("replicaSetId")
        if given_id is not None and given_id != rs_id:
            raise CommandError(103, "New and old configurations differ in replica set ID; old "
                               "was %s, and new is %s" % (rs_id, given_id))
        config["settings"]["replicaSetId"] = rs_id
        if force:
            config["version"] = current["version"] + random.randint(10000, 100000)
        elif config["version"] <= current["version"]:
            raise CommandError(103, "New replica set configuration version must be greater "
                               "than old, but %d is not greater than %d for replica set %s"
                               % (config["version"], current["version"], repl.name))
        if not force and len(_voting_hosts(current) ^ _voting_hosts(config)) > 1:
            raise CommandError(103, "Non force replica set reconfig can only add or remove at "
                               "most 1 voting member.")
        if not any(repl.is_self(m["host"]) for m in config["members"]):
            raise CommandError(74, "No host described in new configuration with {version: %d, "
                               "term: %d} for replica set %s maps to this node"
                               % (config["version"], repl.term(), repl.name))
        term = repl.term()
        old_primary, new_primary = primary_of(current), primary_of(config)
        if (old_primary or {}).get("host") != (new_primary or {}).get("host"):
            term += 1
        config["term"] = term
    if not force:
        voters = [m["host"] for m in config["members"] if m.get("votes", 1)]
        needed = len(voters) // 2 + 1
        ok, failed = _quorum_probe(repl, [h for h in voters if not repl.is_self(h)], config,
                                   initiate=False)
        if len(ok) + 1 < needed:
            raise CommandError(74, "Quorum check failed because not enough voting nodes "
                               "responded; required %d but only the following %d voting nodes "
                               "responded: %s; the following nodes did not respond "
                               "affirmatively: %s" % (needed, len(ok) + 1,
                                                      ", ".join([repl.self_member["host"]] + ok),
                                                      ", ".join(failed)))
    with server.lock:
        if repl.config is not current:
            raise CommandError(103, "replica set configuration changed during the reconfig")
        repl.store_durably(config, "replSetReconfig")
    repl.push_all(repl.other_hosts(current, config), with_state=True)
    return {"ok": 1.0}


def _initiated_repl(ctx):
    """The member's replica set state; NotYetInitialized (94) before replSetInitiate."""
    repl = _repl(ctx)
    if not repl.initialized:
        raise CommandError(94, "no replset config has been received")
    return repl


@command("replSetGetConfig", admin_only=True,
         authorize=allow("replSetGetConfig", cluster=True))
def cmd_repl_set_get_config(ctx):
    repl = _initiated_repl(ctx)
    reply = {"config": repl.config}
    if as_bool(ctx.cmd.get("commitmentStatus", False)):
        reply["commitmentStatus"] = True
    reply["ok"] = 1.0
    return reply


@command("replSetGetStatus", admin_only=True,
         authorize=allow("replSetGetStatus", cluster=True))
def cmd_repl_set_get_status(ctx):
    repl = _initiated_repl(ctx)
    if repl.self_member is None:
        raise CommandError(93, "Our replica set config is invalid or we are not a member of "
                           "it", state=STATE_REMOVED, stateStr="REMOVED")
    server = ctx.server
    now = datetime.datetime.utcnow()
    term = repl.term()
    op_time = _opt_time(term)
    op_date = now.replace(microsecond=0)
    primary = repl.primary()
    config = repl.config
    voters = [m for m in config["members"] if m.get("votes", 1)]
    members = []
    for member in config["members"]:
        entry = {"_id": member["_id"], "name": member["host"]}
        if member is repl.self_member:
            state = repl.state()
            entry.update(health=1.0, state=state, stateStr=STATE_STR[state],
                         uptime=int(time.time() - server.start_time), optime=op_time,
                         optimeDate=op_date, lastAppliedWallTime=op_date,
                         lastDurableWallTime=op_date, syncSourceHost="", syncSourceId=-1,
                         infoMessage="", configVersion=config["version"],
                         configTerm=config.get("term", 0), self=True, lastHeartbeatMessage="")
            if state == STATE_PRIMARY:
                entry["electionTime"] = Timestamp(int(server.start_time), 1)
                entry["electionDate"] = datetime.datetime.utcfromtimestamp(
                    int(server.start_time))
        else:
            # No heartbeat yet (the config is seconds old): assumed up, as the set is
            # assumed to be; the next heartbeat (at most 2 s) says otherwise.
            record = repl.peers.get(member["host"]) or {"health": 1, "state": repl.state(member),
                                                         "configVersion": config["version"],
                                                         "configTerm": config.get("term", 0)}
            healthy = record.get("health") == 1
            if not healthy:
                state = STATE_DOWN
            elif record.get("configVersion") == config["version"] \
                    or record.get("state") in (STATE_PRIMARY, STATE_SECONDARY, STATE_ARBITER):
                state = repl.state(member)
            else:
                state = record.get("state", STATE_STARTUP)
            since = record.get("since", now)
            entry.update(health=1.0 if healthy else 0.0, state=state, stateStr=STATE_STR[state],
                         uptime=int((now - since).total_seconds()) if healthy else 0,
                         optime=op_time if healthy else {"ts": Timestamp(0, 0), "t": Int64(-1)},
                         optimeDurable=op_time if healthy else {"ts": Timestamp(0, 0),
                                                                "t": Int64(-1)},
                         optimeDate=op_date if healthy else datetime.datetime(1970, 1, 1),
                         lastHeartbeat=record.get("lastHeartbeat", now),
                         lastHeartbeatRecv=record.get("lastHeartbeatRecv",
                                                      record.get("lastHeartbeat", now)),
                         pingMs=record.get("pingMs", Int64(0)),
                         lastHeartbeatMessage=record.get("message", ""),
                         syncSourceHost=primary["host"] if healthy and primary
                         and state == STATE_SECONDARY else "",
                         syncSourceId=primary["_id"] if healthy and primary
                         and state == STATE_SECONDARY else -1,
                         infoMessage="",
                         configVersion=record.get("configVersion", -1),
                         configTerm=record.get("configTerm", -1))
            if state == STATE_PRIMARY:
                entry["electionTime"] = Timestamp(int(server.start_time), 1)
                entry["electionDate"] = datetime.datetime.utcfromtimestamp(
                    int(server.start_time))
        members.append(entry)
    my_state = repl.state()
    majority = len(voters) // 2 + 1
    return {
        "set": repl.name,
        "date": now,
        "myState": my_state,
        "term": Int64(term),
        "syncSourceHost": primary["host"] if primary and my_state == STATE_SECONDARY else "",
        "syncSourceId": primary["_id"] if primary and my_state == STATE_SECONDARY else -1,
        "heartbeatIntervalMillis": Int64(int(HEARTBEAT_SECS * 1000)),
        "majorityVoteCount": majority,
        "writeMajorityCount": majority,
        "votingMembersCount": len(voters),
        "writableVotingMembersCount": len([m for m in voters if not m.get("arbiterOnly")]),
        "optimes": {"lastCommittedOpTime": op_time, "lastCommittedWallTime": op_date,
                    "readConcernMajorityOpTime": op_time, "appliedOpTime": op_time,
                    "durableOpTime": op_time, "lastAppliedWallTime": op_date,
                    "lastDurableWallTime": op_date},
        "members": members,
        "ok": 1.0,
    }


@command("replSetHeartbeat", admin_only=True, authorize=allow("internal", cluster=True))
def cmd_repl_set_heartbeat(ctx):
    """Internal: a member tells this one its config (and, from the primary, the users)."""
    repl = _repl(ctx)
    if ctx.arg != repl.name:
        raise CommandError(93, "Our replica set name %s did not match that of the sender %s"
                           % (repl.name, ctx.arg))
    config = ctx.cmd.get("config")
    if isinstance(config, dict) and config.get("_id") == repl.name:
        current = repl.config
        theirs_id = (config.get("settings") or {}).get("replicaSetId")
        ours_id = (current or {}).get("settings", {}).get("replicaSetId")
        if current is not None and theirs_id != ours_id:
            raise CommandError(93, "replica set IDs do not match, ours: %s; remote node's: %s"
                               % (ours_id, theirs_id))
        if current is None or _config_order(config) > _config_order(current):
            repl._store(config, "heartbeat from %s" % ctx.cmd.get("from"))
    if ctx.cmd.get("from"):
        repl.record_inbound(ctx.cmd["from"], ctx.cmd.get("state", STATE_STARTUP),
                            ctx.cmd.get("configVersion", -2), ctx.cmd.get("configTerm", -1))
    state = ctx.cmd.get("systemState")
    if isinstance(state, dict) and repl.config is not None and not repl.is_primary():
        primary = repl.primary()
        if primary is not None and primary["host"] == ctx.cmd.get("from") \
                and ctx.cmd.get("configVersion") == repl.config["version"]:
            repl.apply_system_state(state)
    reply = {"set": repl.name, "initialized": repl.initialized, "state": repl.state(),
             "v": repl.config["version"] if repl.config else -2,
             "configTerm": repl.config.get("term", 0) if repl.config else -1,
             "term": Int64(repl.term())}
    if repl.config is not None:
        reply["replicaSetId"] = repl.config["settings"].get("replicaSetId")
    if "stateHash" in ctx.cmd:
        reply["stateHash"] = repl.state_hash(repl.system_state())
    reply["ok"] = 1.0
    return reply


@command("replSetStepDown", "replSetFreeze", "replSetSyncFrom", "replSetMaintenance",
         admin_only=True, authorize=allow("replSetStateChange", cluster=True))
def cmd_repl_set_not_emulated(ctx):
    _repl(ctx)
    raise CommandError(238, "MongoDB stand-in does not implement %s: the primary is fixed by "
                       "the config (highest priority, then lowest _id)" % ctx.name)
