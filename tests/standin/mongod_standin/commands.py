"""Command dispatch, authentication/authorization checks and server-level commands.

Data commands live in crud.py, user management and SASL in users.py.
"""

import datetime
import os
import platform
import socket
import time
import traceback

import mongomock
from bson import Int64
from mongomock import filtering

from . import auth, mm_ext
from .errors import CommandError, shell_repr
from .log import LOG

NO_AUTH_COMMANDS = {"hello", "isMaster", "ismaster", "ping", "buildInfo", "buildinfo",
                    "saslStart", "saslContinue", "endSessions", "connectionStatus", "logout",
                    "whatsmyuri", "authenticate"}

COMMANDS = {}
# "State change" errors: not primary, not secondary, shutting down.
STATE_CHANGE_CODES = {10107, 13435, 13436, 189, 91, 11600, 11602}


class Command:
    def __init__(self, name, handler, authorize=None, admin_only=False, writes=False,
                 locked=True):
        self.name = name
        self.handler = handler
        self.authorize = authorize      # (ctx, privileges) -> bool; None = any authenticated
        self.admin_only = admin_only
        self.writes = writes            # iterates documents it may modify in place
        self.locked = locked            # False: the handler takes server.lock itself (it
        #                                 talks to other members and must not hold it)


def command(*names, authorize=None, admin_only=False, writes=False, locked=True):
    def register(func):
        for name in names:
            COMMANDS[name] = Command(names[0], func, authorize, admin_only, writes, locked)
        return func
    return register


class Ctx:
    """One command being executed."""

    def __init__(self, server, conn, db, cmd, name):
        self.server = server
        self.conn = conn
        self.db = db
        self.cmd = cmd
        self.name = name

    @property
    def arg(self):
        return self.cmd[self.name]

    def database(self, name=None):
        return self.server.engine[name or self.db]

    def collection(self, name, db=None):
        if not isinstance(name, str) or not name:
            raise CommandError(73, "Invalid namespace specified '%s.%s'" % (db or self.db, name))
        return self.server.engine[db or self.db].get_collection(name)

    def coll_store(self, name, db=None):
        return self.server.store[db or self.db][name]

    def ns(self, coll):
        return "%s.%s" % (self.db, coll)

    def privileges(self):
        return self.conn.privileges(self.server)


# -------------------------------------------------------------------- helpers
def redact(cmd):
    out = {}
    for key, value in cmd.items():
        if key in ("pwd", "payload", "saslStart", "speculativeAuthenticate"):
            out[key] = "###" if key != "saslStart" else value
        else:
            out[key] = value
    return out


def not_authorized(ctx):
    shown = dict(redact(ctx.cmd))
    shown.setdefault("$db", ctx.db)
    return CommandError(13, "not authorized on %s to execute command %s"
                        % (ctx.db, shell_repr(shown)))


def translate_exception(exc):
    """mongomock / bson / Python errors -> CommandError."""
    if isinstance(exc, CommandError):
        return exc
    if isinstance(exc, mongomock.DuplicateKeyError):
        details = getattr(exc, "details", None) or {}
        if isinstance(details, dict) and "keyPattern" in details:
            return CommandError(11000, details["errmsg"], keyPattern=details["keyPattern"],
                                keyValue=details["keyValue"])
        return CommandError(11000, "E11000 duplicate key error")
    if isinstance(exc, mongomock.OperationFailure):
        message = getattr(exc, "_message", None) or str(exc)
        code = exc.code
        if "(immutable) field '_id'" in message:
            code = 66
        return CommandError(code if isinstance(code, int) and code else 2, message)
    if isinstance(exc, NotImplementedError):
        return CommandError(238, "MongoDB stand-in (mongomock) does not implement this: %s"
                            % exc)
    if isinstance(exc, (ValueError, TypeError, KeyError)) or \
            type(exc).__name__ in ("InvalidDocument", "InvalidName", "BSONError"):
        return CommandError(2, "%s" % exc)
    return None


def as_bool(value):
    return bool(value) if not isinstance(value, str) else value.lower() in ("1", "true")


# ------------------------------------------------------------------ dispatch
def run(server, conn, db, body, sequences=None, via_op_query=False):
    """Execute one command document; always returns the reply document."""
    if not body:
        return CommandError(59, "no such command: ''").to_doc()
    name = next(iter(body))
    cmd = dict(body)
    for ident, docs in (sequences or {}).items():
        cmd[ident] = docs
    spec = COMMANDS.get(name)
    if spec is None:
        return CommandError(59, "no such command: '%s'" % name).to_doc()
    ctx = Ctx(server, conn, db, cmd, name)
    repl = server.repl
    try:
        check_access(ctx, spec)
        if not spec.locked:
            if server.stopping:
                raise CommandError(91, "The server is in quiesce mode and will shut down")
            reply = spec.handler(ctx)
        else:
            with server.lock:
                if server.stopping:
                    raise CommandError(91, "The server is in quiesce mode and will shut down")
                if repl is not None:
                    repl.check_command(ctx, spec.name)
                server.storage.begin(track_iteration=spec.writes)
                try:
                    with mm_ext.command_context(cmd.get("let") if isinstance(cmd.get("let"),
                                                                             dict) else None):
                        reply = spec.handler(ctx)
                finally:
                    server.storage.commit()
        if "ok" not in reply:
            reply["ok"] = 1.0
        if repl is not None and reply.get("ok") and spec.name in repl_mod.SYSTEM_STATE_COMMANDS:
            repl.after_command(spec.name)     # outside the lock: talks to the other members
        return reply
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error reply
        error = translate_exception(exc)
        if error is None:
            LOG.error("COMMAND", 9900010, "Unexpected error in the stand-in",
                      ctx="conn%d" % conn.id, command=name,
                      error="%s: %s" % (type(exc).__name__, exc),
                      traceback=traceback.format_exc())
            error = CommandError(1, "%s: %s" % (type(exc).__name__, exc))
        elif error.code in STATE_CHANGE_CODES and repl is not None:
            # As mongod 4.4+: drivers compare it with the last hello's and do not mark
            # the member Unknown (and wait for a new hello) when it is not newer.
            error.extra.setdefault("topologyVersion", {"processId": server.process_id,
                                                       "counter": Int64(server.topology_counter)})
        elif error.code == 238:
            LOG.warning("COMMAND", 9900011, "Not implemented by the stand-in",
                        ctx="conn%d" % conn.id, command=name, error=error.errmsg)
        return error.to_doc()


def check_access(ctx, spec):
    server, conn = ctx.server, ctx.conn
    if spec.admin_only and ctx.db != "admin":
        raise CommandError(13, "%s may only be run against the admin database." % spec.name)
    if not server.config.auth_enabled or spec.name in NO_AUTH_COMMANDS:
        return
    if conn.user is None:
        if spec.name in ("createUser", "createRole", "replSetInitiate") and ctx.db == "admin" \
                and conn.is_local and server.localhost_exception_open():
            conn.used_localhost_exception = True
            return
        raise CommandError(13, "Command %s requires authentication" % spec.name)
    privileges = ctx.privileges()
    if spec.authorize is not None and not spec.authorize(ctx, privileges):
        raise not_authorized(ctx)


def allow(action, cluster=False):
    if cluster:
        return lambda ctx, p: p.allows_cluster(action)
    return lambda ctx, p: p.allows(ctx.db, action)


# ------------------------------------------------------------- handshake etc.
def _hello(ctx, legacy):
    server, conn = ctx.server, ctx.conn
    cmd = ctx.cmd
    reply = {}
    if legacy:
        reply["ismaster"] = True
        if cmd.get("helloOk"):
            reply["helloOk"] = True
    else:
        reply["isWritablePrimary"] = True
    reply["topologyVersion"] = {"processId": server.process_id,
                                "counter": Int64(server.topology_counter)}
    if server.repl is not None:
        if legacy:
            del reply["ismaster"]
        else:
            del reply["isWritablePrimary"]
        reply.update(server.repl.hello_fields(legacy))
    reply.update({
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48000000,
        "maxWriteBatchSize": 100000,
        "localTime": datetime.datetime.utcnow(),
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": conn.id,
        "minWireVersion": 0,
        "maxWireVersion": server.max_wire_version,
        "readOnly": False,
    })
    if "client" in cmd and not conn.client_metadata:
        conn.client_metadata = cmd["client"]
        LOG.info("NETWORK", 51800, "client metadata", ctx="conn%d" % conn.id,
                 remote=conn.remote, client="conn%d" % conn.id, doc=cmd["client"])
    mechs_for = cmd.get("saslSupportedMechs")
    if isinstance(mechs_for, str) and "." in mechs_for:
        user_db, _, user_name = mechs_for.partition(".")
        user = server.find_user(user_db, user_name)
        if user is not None:
            reply["saslSupportedMechs"] = [m for m in auth.MECHANISMS
                                           if m in user.get("credentials", {})]
    spec_auth = cmd.get("speculativeAuthenticate")
    if isinstance(spec_auth, dict) and "saslStart" in spec_auth:
        from .users import sasl_start
        try:
            reply["speculativeAuthenticate"] = sasl_start(
                ctx, spec_auth, spec_auth.get("db", ctx.db), speculative=True)
        except CommandError:
            pass
    return reply


@command("hello")
def cmd_hello(ctx):
    return _hello(ctx, legacy=False)


@command("isMaster", "ismaster")
def cmd_is_master(ctx):
    return _hello(ctx, legacy=True)


@command("ping")
def cmd_ping(ctx):
    return {"ok": 1.0}


@command("buildInfo", "buildinfo")
def cmd_build_info(ctx):
    return ctx.server.build_info()


@command("whatsmyuri")
def cmd_whatsmyuri(ctx):
    return {"you": ctx.conn.remote, "ok": 1.0}


@command("endSessions", "killSessions", "refreshSessions")
def cmd_end_sessions(ctx):
    return {"ok": 1.0}


@command("startSession")
def cmd_start_session(ctx):
    import uuid

    from bson.binary import Binary
    return {"id": {"id": Binary(uuid.uuid4().bytes, 4)}, "timeoutMinutes": 30, "ok": 1.0}


@command("getLastError")
def cmd_get_last_error(ctx):
    return {"n": 0, "err": None, "ok": 1.0}


@command("serverStatus", authorize=allow("serverStatus", cluster=True))
def cmd_server_status(ctx):
    server = ctx.server
    uptime = time.time() - server.start_time
    return {
        "host": socket.gethostname() + ":%d" % server.config.port,
        "version": server.version,
        "process": "mongod",
        "pid": Int64(os.getpid()),
        "uptime": float(int(uptime)),
        "uptimeMillis": Int64(int(uptime * 1000)),
        "uptimeEstimate": Int64(int(uptime)),
        "localTime": datetime.datetime.utcnow(),
        "connections": {
            "current": len(server.connections),
            "available": 838860 - len(server.connections),
            "totalCreated": server.total_connections,
            "active": 1,
        },
        "storageEngine": {"name": "wiredTiger", "supportsCommittedReads": True,
                          "persistent": True, "readOnly": False},
        "mem": {"bits": 64, "supported": False},
        "asserts": {"regular": 0, "warning": 0, "msg": 0, "user": server.user_asserts,
                    "rollovers": 0},
        "ok": 1.0,
    }


@command("hostInfo", authorize=allow("hostInfo", cluster=True))
def cmd_host_info(ctx):
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        pages = 0
    return {
        "system": {"currentTime": datetime.datetime.utcnow(), "hostname": socket.gethostname(),
                   "cpuAddrSize": 64, "memSizeMB": Int64(pages // (1024 * 1024)),
                   "numCores": os.cpu_count() or 1, "cpuArch": platform.machine(),
                   "numaEnabled": False},
        "os": {"type": platform.system(), "name": platform.system(),
               "version": platform.release()},
        "extra": {"versionString": platform.version()},
        "ok": 1.0,
    }


@command("getCmdLineOpts", admin_only=True, authorize=allow("getCmdLineOpts", cluster=True))
def cmd_get_cmd_line_opts(ctx):
    config = ctx.server.config
    return {"argv": config.argv, "parsed": config.parsed(), "ok": 1.0}


@command("getLog", admin_only=True, authorize=allow("getLog", cluster=True))
def cmd_get_log(ctx):
    which = ctx.arg
    if which == "*":
        return {"names": ["global", "startupWarnings"], "ok": 1.0}
    if which == "startupWarnings":
        lines = ctx.server.startup_warnings
    elif which == "global":
        lines = []
    else:
        raise CommandError(2, "No log named '%s'" % which)
    return {"totalLinesWritten": len(lines), "log": list(lines), "ok": 1.0}


@command("getParameter", admin_only=True, authorize=allow("getParameter", cluster=True))
def cmd_get_parameter(ctx):
    params = ctx.server.parameters
    arg = ctx.arg
    if arg == "*" or (isinstance(arg, dict) and arg.get("allParameters")):
        reply = dict(params)
    else:
        reply = {k: params[k] for k in ctx.cmd if k in params and k != ctx.name}
        if not reply:
            raise CommandError(72, "no option found to get")
    reply["ok"] = 1.0
    return reply


@command("setParameter", admin_only=True, authorize=allow("setParameter", cluster=True))
def cmd_set_parameter(ctx):
    params = ctx.server.parameters
    reply = {}
    changed = 0
    for key, value in ctx.cmd.items():
        if key in (ctx.name, "$db", "lsid", "comment", "$readPreference", "writeConcern"):
            continue
        if key not in params:
            raise CommandError(72, "attempted to set unrecognized parameter [%s], use help:true "
                               "to see options " % key)
        if key not in ctx.server.settable_parameters:
            raise CommandError(72, "not allowed to change [%s] at runtime" % key)
        reply["was"] = params[key]
        params[key] = value
        changed += 1
    if not changed:
        raise CommandError(72, "no option found to set, use help:true to see options ")
    reply["ok"] = 1.0
    return reply


@command("setFeatureCompatibilityVersion", admin_only=True,
         authorize=allow("setFeatureCompatibilityVersion", cluster=True))
def cmd_set_fcv(ctx):
    server = ctx.server
    target = ctx.arg
    allowed = server.fcv_choices()
    if target not in allowed:
        raise CommandError(2, "Invalid command argument. Expected '%s', found %s in: %s"
                           % ("', '".join(allowed), target, shell_repr(ctx.cmd)))
    if server.version_tuple >= (7, 0) and not ctx.cmd.get("confirm"):
        raise CommandError(7369100, "Once you have upgraded to %s, you will not be able to "
                           "downgrade FCV and binary version without support assistance. "
                           "Please re-run this command with 'confirm: true' to acknowledge "
                           "this and continue with the FCV upgrade." % target)
    server.set_fcv(target)
    return {"ok": 1.0}


@command("shutdown", admin_only=True, authorize=allow("shutdown", cluster=True))
def cmd_shutdown(ctx):
    server = ctx.server
    if not server.config.auth_enabled and not ctx.conn.is_local:
        raise CommandError(13, "shutdown must run from localhost when running db without auth")
    LOG.info("COMMAND", 4695400, "Terminating via shutdown command",
             ctx="conn%d" % ctx.conn.id, force=as_bool(ctx.cmd.get("force", False)),
             timeoutSecs=ctx.cmd.get("timeoutSecs", 15))
    server.request_shutdown("shutdown command")
    ctx.conn.close_after_reply = True
    ctx.conn.suppress_reply = True
    return {"ok": 1.0}


@command("logRotate", admin_only=True, authorize=allow("logRotate", cluster=True))
def cmd_log_rotate(ctx):
    LOG.rotate()
    LOG.info("CONTROL", 23166, "Log rotation initiated", ctx="conn%d" % ctx.conn.id)
    return {"ok": 1.0}


@command("listCommands")
def cmd_list_commands(ctx):
    commands = {}
    for name in sorted(COMMANDS):
        spec = COMMANDS[name]
        commands[name] = {"help": "", "requiresAuth": name not in NO_AUTH_COMMANDS,
                          "adminOnly": spec.admin_only}
    return {"commands": commands, "ok": 1.0}


def filter_docs(docs, query):
    if not query:
        return list(docs)
    return [d for d in docs if filtering.filter_applies(query, d)]


# Import for registration side effects (keep at the end: they use command()).
from . import crud, users  # noqa: E402,F401
from . import replset as repl_mod  # noqa: E402
