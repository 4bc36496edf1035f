"""Process life cycle: configuration, lock file, storage, listeners, connections, shutdown."""

import datetime
import errno
import fcntl
import ipaddress
import os
import platform
import select
import selectors
import signal
import socket
import sys
import threading
import time
import uuid

import mongomock
from bson import Int64, ObjectId

from . import auth, commands, replset, wire
from . import config as config_mod
from .errors import CommandError
from .log import LOG
from .storage import ServerStore, Storage
from .version import SERVER_VERSION, STANDIN_RELEASE

EXIT_CLEAN = 0
EXIT_FAILURE = 1
EXIT_NET_IN_USE = 48
EXIT_NEED_UPGRADE = 62
EXIT_DBPATH = 100
READY_DELAY_ENV = "MONGOD_STANDIN_READY_DELAY"
WIRE_VERSIONS = {(6, 0): 17, (7, 0): 21, (8, 0): 25}


def server_version():
    return os.environ.get("MONGOD_STANDIN_VERSION", SERVER_VERSION)


def version_tuple(version):
    return tuple(int(p) for p in version.split(".")[:3])


class Connection:
    _ids = 0
    _ids_lock = threading.Lock()

    def __init__(self, sock, addr):
        with Connection._ids_lock:
            Connection._ids += 1
            self.id = Connection._ids
        self.sock = sock
        host, port = addr[0], addr[1]
        self.remote = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        try:
            self.is_local = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            self.is_local = False
        self.user = None
        self.conversations = {}
        self.client_metadata = None
        self.used_localhost_exception = False
        self.close_after_reply = False
        self.suppress_reply = False
        self._privileges = (None, None)

    def privileges(self, server):
        doc = server.find_user(*self.user) if self.user else None
        roles = doc.get("roles", []) if doc else []
        cached_roles, cached = self._privileges
        if cached is None or cached_roles != roles:
            cached = auth.Privileges(roles)
            self._privileges = (roles, cached)
        return cached


class Server:
    def __init__(self, config):
        self.config = config
        self.version = server_version()
        self.version_tuple = version_tuple(self.version)
        self.max_wire_version = WIRE_VERSIONS.get(self.version_tuple[:2], 21)
        self.process_id = ObjectId()
        self.start_time = time.time()
        self.lock = threading.RLock()
        self.stopping = False
        self.stop_event = threading.Event()
        self.stop_reason = None
        self.connections = {}
        self.conn_lock = threading.Lock()
        self.total_connections = 0
        self.cursors = {}
        self.user_asserts = 0
        self.startup_warnings = []
        self.listeners = []
        self.topology_counter = 0       # hello's topologyVersion.counter
        self.internal_user = None       # __system@local when security.keyFile is set
        self.repl = replset.ReplState(self) if config.repl_set_name else None
        mongomock.SERVER_VERSION = self.version
        self.store = ServerStore()
        self.engine = mongomock.MongoClient(_store=self.store)
        self.storage = Storage(config.dbpath, self.store)
        fcv = "%d.%d" % self.version_tuple[:2]
        self.parameters = {
            "featureCompatibilityVersion": {"version": fcv},
            "authenticationMechanisms": list(auth.MECHANISMS),
            "enableLocalhostAuthBypass": True,
            "logLevel": 0,
            "quiet": bool(config.get("systemLog.quiet", False)),
            "scramIterationCount": auth.DEFAULT_ITERATIONS["SCRAM-SHA-1"],
            "scramSHA256IterationCount": auth.DEFAULT_ITERATIONS["SCRAM-SHA-256"],
            "cursorTimeoutMillis": Int64(600000),
            "maxIncomingConnections": config.get("net.maxIncomingConnections", 838860),
            "notablescan": False,
            "ttlMonitorEnabled": True,
        }
        self.settable_parameters = {"logLevel", "quiet", "notablescan", "ttlMonitorEnabled",
                                    "cursorTimeoutMillis", "scramIterationCount",
                                    "scramSHA256IterationCount"}
        for path, value in config.flat.items():
            name = path[len("setParameter."):] if path.startswith("setParameter.") else None
            if name == "enableLocalhostAuthBypass":
                self.parameters[name] = str(value).lower() in ("1", "true")

    # --------------------------------------------------------- state helpers
    def find_user(self, db, user):
        if self.internal_user is not None and (db, user) == (replset.INTERNAL_DB,
                                                            replset.INTERNAL_USER):
            return self.internal_user
        users = self.store[auth.USERS_DB].existing(auth.USERS_COLL)
        if users is None:
            return None
        return users.raw_get("%s.%s" % (db, user))

    def localhost_exception_open(self):
        if not self.parameters.get("enableLocalhostAuthBypass", True):
            return False
        users = self.store[auth.USERS_DB].existing(auth.USERS_COLL)
        return users is None or len(users) == 0

    def build_info(self):
        parts = [int(p) for p in self.version.split(".")]
        return {
            "version": self.version,
            "gitVersion": "0" * 40,
            "modules": [],
            "allocator": "system",
            "javascriptEngine": "none",
            "sysInfo": "deprecated",
            "versionArray": (parts + [0, 0, 0, 0])[:4],
            "openssl": {"running": "disabled", "compiled": "disabled"},
            "buildEnvironment": {"distmod": "standin", "distarch": platform.machine(),
                                 "target_arch": platform.machine(), "target_os": "linux",
                                 "standin": "MongoDB stand-in %s: a test double, not MongoDB"
                                            % STANDIN_RELEASE},
            "bits": 64,
            "debug": False,
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "storageEngines": ["devnull", "wiredTiger"],
            "ok": 1.0,
        }

    def fcv_choices(self):
        major, minor = self.version_tuple[:2]
        previous = {(8, 0): "7.0", (7, 0): "6.0", (6, 0): "5.0"}.get((major, minor), "")
        return ["%d.%d" % (major, minor)] + ([previous] if previous else [])

    def set_fcv(self, version):
        self.parameters["featureCompatibilityVersion"] = {"version": version}
        coll = self.engine["admin"]["system.version"]
        coll.update_one({"_id": "featureCompatibilityVersion"}, {"$set": {"version": version}},
                        upsert=True)

    def topology_changed(self):
        """The replica-set view changed: awaitable hellos answer at once."""
        self.topology_counter += 1

    def request_shutdown(self, reason):
        self.stop_reason = reason
        self.stop_event.set()

    # -------------------------------------------------------------- start-up
    def initialise_catalog(self):
        """What a fresh mongod creates: FCV document, users index, startup_log entry."""
        with self.lock:
            self.storage.begin()
            try:
                version = self.engine["admin"]["system.version"]
                doc = version.find_one({"_id": "featureCompatibilityVersion"})
                if doc is None:
                    version.insert_one({"_id": "featureCompatibilityVersion",
                                        "version": "%d.%d" % self.version_tuple[:2]})
                elif doc.get("version") not in self.fcv_choices():
                    raise StartupError(
                        EXIT_NEED_UPGRADE, "Wrong mongod version",
                        error="UPGRADE PROBLEM: Found an invalid featureCompatibilityVersion "
                        "document (ERROR: Location4926900: Invalid featureCompatibilityVersion "
                        "document in admin.system.version: { _id: \"featureCompatibilityVersion"
                        "\", version: \"%s\" }. :: caused by :: Invalid feature compatibility "
                        "version value '%s', expected one of: %s). If the current "
                        "featureCompatibilityVersion is below %s, see the documentation on "
                        "upgrading." % (doc.get("version"), doc.get("version"),
                                        ", ".join(self.fcv_choices()), self.fcv_choices()[-1]))
                else:
                    self.parameters["featureCompatibilityVersion"] = {"version": doc["version"]}
                users = self.store[auth.USERS_DB][auth.USERS_COLL]
                if "user_1_db_1" not in users.indexes:
                    from .indexes import internal_index
                    users.create_index("user_1_db_1", internal_index(
                        {"v": 2, "key": {"user": 1, "db": 1}, "name": "user_1_db_1",
                         "unique": True}))
                hostname = socket.gethostname()
                self.engine["local"]["startup_log"].insert_one({
                    "_id": "%s-%d" % (hostname, int(self.start_time * 1000)),
                    "hostname": hostname,
                    "startTime": datetime.datetime.utcfromtimestamp(int(self.start_time)),
                    "startTimeLocal": time.ctime(self.start_time),
                    "cmdLine": self.config.parsed(),
                    "pid": Int64(os.getpid()),
                    "buildinfo": {k: v for k, v in self.build_info().items() if k != "ok"},
                })
            finally:
                self.storage.commit()

    def bind(self):
        addresses = []
        port = self.config.port
        ipv6 = bool(self.config.get("net.ipv6")) or self.config.get("net.bindIpAll")
        for host in self.config.bind_addresses():
            family = socket.AF_UNSPEC if ipv6 else socket.AF_INET
            if ":" in host:
                family = socket.AF_INET6
            try:
                infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise StartupError(EXIT_FAILURE, "Failed to set up listener",
                                   error={"code": 9001, "codeName": "SocketException",
                                          "errmsg": "getaddrinfo(\"%s\") failed: %s"
                                          % (host, exc.strerror)}) from None
            for info in infos:
                if info[4][:2] not in [a[4][:2] for a in addresses]:
                    addresses.append(info)
        for family, socktype, proto, _, sockaddr in addresses:
            sock = socket.socket(family, socktype, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(sockaddr)
            except OSError as exc:
                sock.close()
                for other in self.listeners:
                    other.close()
                code = EXIT_NET_IN_USE if exc.errno == errno.EADDRINUSE else EXIT_FAILURE
                raise StartupError(code, "Failed to set up listener",
                                   error={"code": 9001, "codeName": "SocketException",
                                          "errmsg": "%s" % exc.strerror}) from None
            sock.listen(128)
            sock.setblocking(False)
            self.listeners.append(sock)
            LOG.info("NETWORK", 23015, "Listening on", ctx="listener",
                     address=sockaddr[0])
        LOG.info("NETWORK", 23016, "Waiting for connections", ctx="listener",
                 port=port, ssl="off")

    # ------------------------------------------------------------ main loop
    def serve(self):
        selector = selectors.DefaultSelector()
        for sock in self.listeners:
            selector.register(sock, selectors.EVENT_READ)
        while not self.stop_event.is_set():
            for key, _ in selector.select(timeout=0.2):
                try:
                    client, addr = key.fileobj.accept()
                except OSError:
                    continue
                self._start_connection(client, addr)
        selector.close()

    def _start_connection(self, client, addr):
        client.setblocking(True)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(client, addr)
        with self.conn_lock:
            self.connections[conn.id] = conn
            self.total_connections += 1
            count = len(self.connections)
        LOG.info("NETWORK", 22943, "Connection accepted", ctx="listener", remote=conn.remote,
                 uuid={"uuid": {"$uuid": str(uuid.uuid4())}}, connectionId=conn.id,
                 connectionCount=count)
        thread = threading.Thread(target=self._handle, args=(conn,), name="conn%d" % conn.id,
                                  daemon=True)
        thread.start()

    def _send(self, conn, data):
        conn.sock.sendall(data)

    def _handle(self, conn):
        next_request_id = [conn.id << 20]

        def request_id():
            next_request_id[0] += 1
            return next_request_id[0]

        try:
            while not self.stopping:
                try:
                    msg = wire.read_message(conn.sock)
                except (EOFError, ConnectionError, OSError):
                    break
                if msg.op_code == wire.OP_QUERY:
                    reply = self._op_query(conn, msg)
                    self._send(conn, wire.build_op_reply(request_id(), msg.request_id, reply))
                    continue
                db = msg.body.get("$db")
                if not isinstance(db, str):
                    reply = CommandError(40571, "OP_MSG requests require a $db argument").to_doc()
                else:
                    reply = commands.run(self, conn, db, msg.body, msg.sequences)
                if conn.suppress_reply:
                    break
                if msg.more_to_come:
                    continue
                name = next(iter(msg.body), "")
                if name in ("hello", "isMaster", "ismaster") and reply.get("ok") \
                        and "topologyVersion" in msg.body and "maxAwaitTimeMS" in msg.body:
                    if not self._stream_hello(conn, msg, reply, request_id):
                        break
                    continue
                self._send(conn, wire.build_op_msg(request_id(), msg.request_id, reply))
                if conn.close_after_reply:
                    break
        except wire.ProtocolError as exc:
            LOG.warning("NETWORK", 22988, "Error receiving request from client. Ending "
                        "connection from remote", ctx="conn%d" % conn.id,
                        error={"code": 9, "codeName": "FailedToParse", "errmsg": str(exc)},
                        remote=conn.remote, connectionId=conn.id)
        except (ConnectionError, OSError):
            pass
        finally:
            self._close(conn)

    def _op_query(self, conn, msg):
        if not msg.collection.endswith(".$cmd"):
            return CommandError(5739101, "OP_QUERY is no longer supported. The client driver "
                                "may require an upgrade. For more details see "
                                "https://dochub.mongodb.org/core/legacy-opcode-removal").to_doc()
        name = next(iter(msg.body), "")
        if name not in ("hello", "isMaster", "ismaster"):
            return CommandError(352, "Unsupported OP_QUERY command: %s. The client driver may "
                                "require an upgrade. For more details see "
                                "https://dochub.mongodb.org/core/legacy-opcode-removal"
                                % name).to_doc()
        return commands.run(self, conn, msg.collection[:-len(".$cmd")], msg.body)

    def _stream_hello(self, conn, msg, reply, request_id):
        """Awaitable hello (streaming SDAM): answer after maxAwaitTimeMS, repeat if exhaust.

        Returns False when the connection must be closed.
        """
        topology = msg.body.get("topologyVersion") or {}
        wait = max(0, int(msg.body.get("maxAwaitTimeMS") or 0)) / 1000.0
        must_wait = topology.get("processId") == self.process_id \
            and topology.get("counter") == self.topology_counter
        response_to = msg.request_id
        streaming = False
        while True:
            if must_wait:
                event = self._wait_for(conn, wait, self.topology_counter)
                if self.stop_event.is_set() or event == "closed":
                    return False
                if event == "data" and streaming:
                    return True     # the client talks again: back to the request loop
                reply = commands.run(self, conn, msg.body["$db"], msg.body)
            rid = request_id()
            self._send(conn, wire.build_op_msg(rid, response_to, reply,
                                               more_to_come=msg.exhaust_allowed))
            if not msg.exhaust_allowed:
                return True
            response_to = rid
            must_wait = True
            streaming = True

    def _wait_for(self, conn, seconds, counter):
        """Sleep up to `seconds`; return 'closed'/'data' early if the peer acts, None at
        once when the topology changes."""
        deadline = time.monotonic() + seconds
        while not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.topology_counter != counter:
                return None
            readable, _, _ = select.select([conn.sock], [], [], min(remaining, 0.2))
            if readable:
                try:
                    peek = conn.sock.recv(1, socket.MSG_PEEK)
                except OSError:
                    return "closed"
                return "closed" if not peek else "data"
        return None

    def _close(self, conn):
        try:
            conn.sock.close()
        except OSError:
            pass
        with self.conn_lock:
            if self.connections.pop(conn.id, None) is None:
                return
            count = len(self.connections)
        LOG.info("NETWORK", 22944, "Connection ended", ctx="conn%d" % conn.id,
                 remote=conn.remote, uuid={"uuid": {"$uuid": str(uuid.uuid4())}},
                 connectionId=conn.id, connectionCount=count)

    def shutdown(self):
        LOG.info("CONTROL", 4784901, "Shutting down the MirrorMaestro")
        LOG.info("NETWORK", 20562, "Shutdown: going to close listening sockets")
        for sock in self.listeners:
            try:
                sock.close()
            except OSError:
                pass
        self.stopping = True
        with self.conn_lock:
            conns = list(self.connections.values())
        for conn in conns:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # Wait for a command in flight (its write is durable before it replies).
        with self.lock:
            LOG.info("STORAGE", 9900003, "Stand-in storage: compacting journal into snapshots")
            self.storage.close()


class StartupError(Exception):
    def __init__(self, exit_code, msg, **attr):
        super().__init__(msg)
        self.exit_code = exit_code
        self.msg = msg
        self.attr = attr


def _lock_dbpath(dbpath):
    if not os.path.isdir(dbpath):
        raise StartupError(EXIT_DBPATH, "DBException in initAndListen, terminating",
                           error="NonExistentPath: Data directory %s not found. Create the "
                           "missing directory or specify another path using (1) the --dbpath "
                           "command line option, or (2) by adding the 'storage.dbPath' option "
                           "in the configuration file." % dbpath)
    path = os.path.join(dbpath, "mongod.lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StartupError(EXIT_DBPATH, "DBException in initAndListen, terminating",
                           error="IllegalOperation: Attempted to create a lock file on a "
                           "read-only directory: %s (%s)" % (dbpath, exc.strerror)) from None
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StartupError(EXIT_DBPATH, "DBException in initAndListen, terminating",
                           error="DBPathInUse: Unable to lock the lock file: %s (Resource "
                           "temporarily unavailable). Another mongod instance is already "
                           "running on the %s directory" % (path, dbpath)) from None
    unclean = os.fstat(fd).st_size > 0
    os.ftruncate(fd, 0)
    os.write(fd, ("%d\n" % os.getpid()).encode())
    os.fsync(fd)
    return fd, unclean


def _ready_delay():
    raw = os.environ.get(READY_DELAY_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise StartupError(config_mod.EXIT_BAD_OPTIONS, "Invalid %s" % READY_DELAY_ENV,
                           value=raw) from None
    return max(0.0, value)


def _install_signals(server):
    def on_stop(signum, _frame):
        LOG.info("CONTROL", 23377, "Received signal", ctx="SignalHandler", signal=signum,
                 error=signal.Signals(signum).name)
        LOG.info("CONTROL", 23381, "will terminate after current cmd ends",
                 ctx="SignalHandler")
        server.request_shutdown("signal %d" % signum)

    def on_rotate(_signum, _frame):
        LOG.rotate()
        LOG.info("CONTROL", 23166, "Log rotation initiated", ctx="SignalHandler")

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGUSR1, on_rotate)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def print_version(version):
    parts = [int(p) for p in version.split(".")]
    sys.stdout.write("db version v%s\nBuild Info: {\n    \"version\": \"%s\",\n"
                     "    \"gitVersion\": \"%s\",\n    \"modules\": [],\n"
                     "    \"allocator\": \"system\",\n    \"environment\": {\n"
                     "        \"distmod\": \"standin\",\n        \"distarch\": \"%s\",\n"
                     "        \"target_arch\": \"%s\"\n    }\n}\n"
                     "MongoDB stand-in %s (a test double of mongod for offline tests, "
                     "not MongoDB); versionArray %s\n"
                     % (version, version, "0" * 40, platform.machine(), platform.machine(),
                        STANDIN_RELEASE, parts))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    version = server_version()
    try:
        args, config = config_mod.load(argv, version_tuple(version)[:2])
    except config_mod.ConfigError as exc:
        config_mod.fail(exc)
    if args.help:
        sys.stdout.write(config_mod.usage())
        return EXIT_CLEAN
    if args.version:
        print_version(version)
        return EXIT_CLEAN
    if config.get("processManagement.fork") and \
            os.environ.get("MONGODB_CONFIG_OVERRIDE_NOFORK") != "1":
        config_mod.fail(config_mod.ConfigError(
            "BadValue: the MongoDB stand-in does not fork (processManagement.fork / --fork); "
            "run it in the foreground, e.g. under systemd with fork: false"))
    if config.get("systemLog.destination") == "file":
        try:
            LOG.open_file(config.get("systemLog.path"), bool(config.get("systemLog.logAppend")),
                          config.get("systemLog.logRotate", "rename"))
        except OSError as exc:
            sys.stderr.write("Failed global initialization: FileNotOpen: Failed to open %s: "
                             "%s\n" % (config.get("systemLog.path"), exc.strerror))
            return EXIT_FAILURE
    try:
        return _run(config, version)
    finally:
        LOG.close()


def _run(config, version):
    server = None
    lock_fd = None
    try:
        LOG.info("CONTROL", 20698, "***** SERVER RESTARTED *****")
        server = Server(config)
        _install_signals(server)
        key_file = config.get("security.keyFile")
        if key_file:
            try:
                key = replset.load_key_file(key_file)
            except replset.KeyFileError as exc:
                LOG.error("ACCESS", 20254, "Read security file failed", ctx="initandlisten",
                          error={"code": 30, "codeName": "InvalidPath", "errmsg": str(exc)})
                raise StartupError(EXIT_FAILURE, "Unable to acquire security key[s]",
                                   error=str(exc)) from None
            server.internal_user = replset.internal_user_doc(key)
            if server.repl is not None:
                server.repl.set_key(key)
        LOG.info("CONTROL", 4615611, "MongoDB starting", ctx="initandlisten",
                 pid=os.getpid(), port=config.port, dbPath=config.dbpath,
                 architecture="64-bit", host=socket.gethostname())
        LOG.info("CONTROL", 23403, "Build Info", ctx="initandlisten",
                 buildInfo={"version": version, "standin": STANDIN_RELEASE,
                            "python": platform.python_version()})
        LOG.info("CONTROL", 51765, "Operating System", ctx="initandlisten",
                 os={"name": platform.system(), "version": platform.release()})
        LOG.info("CONTROL", 21951, "Options set by command line", ctx="initandlisten",
                 options=config.parsed())
        for path in config.ignored_options():
            LOG.info("CONTROL", 9900001, "Option ignored by the stand-in",
                     ctx="initandlisten", option=path, value=config.flat[path])
        tz_dir = config.get("processManagement.timeZoneInfo")
        if tz_dir and not os.path.isdir(tz_dir):
            raise StartupError(EXIT_FAILURE, "Failed global initialization",
                               error="FailedToParse: Unable to open directory of timezone "
                               "files %s" % tz_dir)
        lock_fd, unclean = _lock_dbpath(config.dbpath)
        if unclean:
            LOG.warning("STORAGE", 22271, "Detected unclean shutdown - Lock file is not empty",
                        ctx="initandlisten", lockFile=os.path.join(config.dbpath, "mongod.lock"))
        pid_path = config.get("processManagement.pidFilePath")
        if pid_path:
            try:
                with open(pid_path, "w") as handle:
                    handle.write("%d\n" % os.getpid())
            except OSError as exc:
                raise StartupError(EXIT_FAILURE, "Failed to write pid file",
                                   path=pid_path, error=exc.strerror) from None
        stats = server.storage.load()
        LOG.info("STORAGE", 9900002, "Stand-in storage opened (snapshots + journal)",
                 ctx="initandlisten", dbPath=config.dbpath, **stats)
        server.initialise_catalog()
        if server.repl is not None:
            with server.lock:
                server.repl.load()
        if not config.auth_enabled:
            text = ("Access control is not enabled for the database. Read and write access to "
                    "data and configuration is unrestricted")
            server.startup_warnings.append(text)
            LOG.warning("CONTROL", 22120, text, ctx="initandlisten", tags=["startupWarnings"])
        delay = _ready_delay()
        if delay > 0:
            LOG.info("STORAGE", 9900004, "Preallocating journal files: not accepting "
                     "connections until done (MONGOD_STANDIN_READY_DELAY)",
                     ctx="initandlisten", delaySecs=delay)
            if server.stop_event.wait(delay):
                server.shutdown()
                return _exit(lock_fd, EXIT_CLEAN)
            LOG.info("STORAGE", 9900005, "Journal preallocation finished", ctx="initandlisten")
        server.bind()
        if server.repl is not None:
            server.repl.start()
        server.serve()
        server.shutdown()
        return _exit(lock_fd, EXIT_CLEAN)
    except StartupError as exc:
        LOG.error("CONTROL", 20557, exc.msg, ctx="initandlisten", **exc.attr)
        if exc.exit_code != EXIT_CLEAN:
            sys.stderr.write("%s: %s\n" % (exc.msg, exc.attr.get("error", exc.attr)))
        return _exit(lock_fd, exc.exit_code)


def _exit(lock_fd, code):
    if lock_fd is not None:
        try:
            os.ftruncate(lock_fd, 0)
            os.fsync(lock_fd)
            os.close(lock_fd)
        except OSError:
            pass
    LOG.info("CONTROL", 20565, "Now exiting")
    LOG.info("CONTROL", 23138, "Shutting down", exitCode=code)
    return code
