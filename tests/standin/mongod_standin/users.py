"""SASL authentication commands, user management and privilege-aware listings."""

import copy

import bson

from . import auth
from .commands import CommandError, command, filter_docs, not_authorized
from .log import LOG
from .wire import CODEC


# ------------------------------------------------------------------- SASL
def _log_failure(ctx, mechanism, user, db, reason, speculative):
    LOG.info("ACCESS", 5286307, "Failed to authenticate", ctx="conn%d" % ctx.conn.id,
             client=ctx.conn.remote, isSpeculative=speculative, isClusterMember=False,
             mechanism=mechanism, user=user or "", db=db,
             error="AuthenticationFailed: %s" % reason, result=18)
    ctx.server.user_asserts += 1


def sasl_start(ctx, cmd, db, speculative=False):
    conn = ctx.conn
    mechanism = cmd.get("mechanism")
    payload = cmd.get("payload", b"")
    conversation = auth.ScramConversation(mechanism, db, ctx.server.find_user)
    try:
        server_first = conversation.start(payload)
    except (auth.AuthFailed, ValueError, KeyError, UnicodeDecodeError) as exc:
        _log_failure(ctx, mechanism, conversation.user, db, exc, speculative)
        raise CommandError(18, "Authentication failed.") from None
    conn.conversations = {1: conversation}
    conversation.skip_empty = bool((cmd.get("options") or {}).get("skipEmptyExchange"))
    conversation.speculative = speculative
    return {"conversationId": 1, "done": False, "payload": server_first}


@command("saslStart")
def cmd_sasl_start(ctx):
    reply = sasl_start(ctx, ctx.cmd, ctx.db)
    reply["ok"] = 1.0
    return reply


@command("saslContinue")
def cmd_sasl_continue(ctx):
    conn = ctx.conn
    conversation = conn.conversations.get(ctx.arg)
    if conversation is None:
        raise CommandError(17, "No SASL session state found")
    try:
        payload = conversation.next(ctx.cmd.get("payload", b""))
    except (auth.AuthFailed, ValueError, KeyError, UnicodeDecodeError) as exc:
        conn.conversations.pop(ctx.arg, None)
        _log_failure(ctx, conversation.mechanism, conversation.user, conversation.db, exc,
                     conversation.speculative)
        raise CommandError(18, "Authentication failed.") from None
    done = conversation.step == 3 or (conversation.step == 2 and conversation.skip_empty)
    if done:
        conn.conversations.pop(ctx.arg, None)
        conn.user = (conversation.db, conversation.user)
        LOG.info("ACCESS", 5286306, "Successfully authenticated", ctx="conn%d" % conn.id,
                 client=conn.remote, isSpeculative=conversation.speculative,
                 isClusterMember=False, mechanism=conversation.mechanism,
                 user=conversation.user, db=conversation.db, result=0)
    return {"conversationId": ctx.arg, "done": done, "payload": payload, "ok": 1.0}


@command("authenticate")
def cmd_authenticate(ctx):
    mechanism = ctx.cmd.get("mechanism", "MONGODB-CR")
    raise CommandError(334, "Received authentication for mechanism %s which is not enabled"
                       % mechanism)


@command("logout")
def cmd_logout(ctx):
    ctx.conn.user = None
    return {"ok": 1.0}


@command("connectionStatus")
def cmd_connection_status(ctx):
    conn = ctx.conn
    users, roles = [], []
    if conn.user is not None:
        users.append({"user": conn.user[1], "db": conn.user[0]})
        doc = ctx.server.find_user(*conn.user)
        roles = copy.deepcopy(doc.get("roles", [])) if doc else []
    info = {"authenticatedUsers": users, "authenticatedUserRoles": roles}
    if ctx.cmd.get("showPrivileges"):
        info["authenticatedUserPrivileges"] = _privilege_docs(roles)
    return {"authInfo": info, "ok": 1.0}


def _privilege_docs(roles):
    privileges = auth.Privileges(roles)
    out = []
    for db, actions in sorted(privileges.db.items()):
        resource = {"db": "" if db == "*" else db, "collection": ""}
        out.append({"resource": resource, "actions": sorted(actions)})
    if privileges.cluster:
        out.append({"resource": {"cluster": True}, "actions": sorted(privileges.cluster)})
    return out


# ------------------------------------------------------------------ users
def _users(ctx):
    return ctx.collection(auth.USERS_COLL, db=auth.USERS_DB)


def _roles_arg(ctx, roles):
    if not isinstance(roles, list):
        raise CommandError(14, "\"roles\" field must be an array")
    return [auth.validate_role(role, ctx.db) for role in roles]


def _check_grant(ctx, roles):
    """Granting a role needs the grantRole privilege on the role's database."""
    if not ctx.server.config.auth_enabled or ctx.conn.user is None:
        return
    privileges = ctx.privileges()
    for role in roles:
        if not privileges.allows(role["db"], "grantRole"):
            raise not_authorized(ctx)


def _mechanisms_arg(ctx, default):
    mechanisms = ctx.cmd.get("mechanisms", default)
    if not isinstance(mechanisms, list) or not mechanisms:
        raise CommandError(2, "mechanisms field must not be empty")
    for mech in mechanisms:
        if mech not in auth.MECHANISMS:
            raise CommandError(2, "Unknown auth mechanism '%s'" % mech)
    return mechanisms


def _user_authz(action):
    return lambda ctx, p: p.allows(ctx.db, action)


def _password(ctx):
    pwd = ctx.cmd.get("pwd")
    if not isinstance(pwd, str):
        raise CommandError(14, "\"pwd\" must be a string")
    if not pwd:
        raise CommandError(2, "Password cannot be empty")
    if ctx.cmd.get("digestPassword") is False:
        raise CommandError(2, "Use of SCRAM-SHA-256 requires undigested passwords")
    return pwd


@command("createUser", authorize=_user_authz("createUser"))
def cmd_create_user(ctx):
    name = ctx.arg
    if not isinstance(name, str) or not name:
        raise CommandError(2, "User name must be a non-empty string")
    if ctx.db == "local":
        raise CommandError(2, "Cannot create users in the local database")
    if "roles" not in ctx.cmd:
        raise CommandError(40414, "BSON field 'createUser.roles' is missing but a required "
                           "field")
    if ctx.db == "$external":
        raise CommandError(238, "MongoDB stand-in does not implement $external users")
    pwd = _password(ctx)
    roles = _roles_arg(ctx, ctx.cmd["roles"])
    _check_grant(ctx, roles)
    mechanisms = _mechanisms_arg(ctx, list(auth.MECHANISMS))
    if ctx.server.find_user(ctx.db, name) is not None:
        raise CommandError(51003, "User \"%s@%s\" already exists" % (name, ctx.db))
    doc = auth.new_user_doc(name, ctx.db, pwd, roles, mechanisms, ctx.cmd.get("customData"))
    _users(ctx).insert_one(doc)
    LOG.info("ACCESS", 9900020, "User created", ctx="conn%d" % ctx.conn.id,
             user=name, db=ctx.db, viaLocalhostException=bool(ctx.conn.user is None))
    return {"ok": 1.0}


def _existing_user(ctx, name):
    doc = ctx.server.find_user(ctx.db, name) if isinstance(name, str) else None
    if doc is None:
        raise CommandError(11, "Could not find user \"%s\" for db \"%s\"" % (name, ctx.db))
    return doc


@command("updateUser", authorize=lambda ctx, p: (
    p.allows(ctx.db, "changePassword") or "pwd" not in ctx.cmd) and (
    p.allows(ctx.db, "grantRole") or "roles" not in ctx.cmd) and (
    p.allows(ctx.db, "changeCustomData") or "customData" not in ctx.cmd))
def cmd_update_user(ctx):
    name = ctx.arg
    doc = _existing_user(ctx, name)
    changes = {}
    if "roles" in ctx.cmd:
        changes["roles"] = _roles_arg(ctx, ctx.cmd["roles"])
        _check_grant(ctx, changes["roles"])
    if "customData" in ctx.cmd:
        changes["customData"] = ctx.cmd["customData"]
    mechanisms = list(doc.get("credentials", {})) or list(auth.MECHANISMS)
    if "mechanisms" in ctx.cmd:
        mechanisms = _mechanisms_arg(ctx, mechanisms)
        if "pwd" not in ctx.cmd:
            unknown = [m for m in mechanisms if m not in doc.get("credentials", {})]
            if unknown:
                raise CommandError(2, "mechanisms field must be a subset of previously set "
                                   "mechanisms")
            changes["credentials"] = {m: doc["credentials"][m] for m in mechanisms}
    if "pwd" in ctx.cmd:
        changes["credentials"] = auth.make_credentials(name, _password(ctx), mechanisms)
    if not changes:
        raise CommandError(2, "Must specify at least one field to update in updateUser")
    _users(ctx).update_one({"_id": doc["_id"]}, {"$set": changes})
    return {"ok": 1.0}


@command("dropUser", authorize=_user_authz("dropUser"))
def cmd_drop_user(ctx):
    doc = _existing_user(ctx, ctx.arg)
    _users(ctx).delete_one({"_id": doc["_id"]})
    return {"ok": 1.0}


@command("dropAllUsersFromDatabase", authorize=_user_authz("dropUser"))
def cmd_drop_all_users(ctx):
    result = _users(ctx).delete_many({"db": ctx.db})
    return {"n": result.deleted_count, "ok": 1.0}


def _change_roles(ctx, grant):
    doc = _existing_user(ctx, ctx.arg)
    roles = _roles_arg(ctx, ctx.cmd.get("roles"))
    _check_grant(ctx, roles)
    current = list(doc.get("roles", []))
    for role in roles:
        if grant and role not in current:
            current.append(role)
        if not grant and role in current:
            current.remove(role)
    _users(ctx).update_one({"_id": doc["_id"]}, {"$set": {"roles": current}})
    return {"ok": 1.0}


@command("grantRolesToUser", authorize=_user_authz("grantRole"))
def cmd_grant_roles(ctx):
    return _change_roles(ctx, True)


@command("revokeRolesFromUser", authorize=_user_authz("revokeRole"))
def cmd_revoke_roles(ctx):
    return _change_roles(ctx, False)


def _user_selector(ctx, arg):
    """usersInfo argument -> (list of (db, user)) or None for every user of a db / all dbs."""
    if arg == 1 or arg == 1.0:
        return ("db", ctx.db)
    if isinstance(arg, dict) and arg.get("forAllDBs"):
        return ("all", None)
    items = arg if isinstance(arg, list) else [arg]
    wanted = []
    for item in items:
        if isinstance(item, str):
            wanted.append((ctx.db, item))
        elif isinstance(item, dict) and "user" in item and "db" in item:
            wanted.append((item["db"], item["user"]))
        else:
            raise CommandError(2, "User name/dbname must be provided as {user: \"...\", "
                               "db: \"...\"} or as a string")
    return ("users", wanted)


def _users_info_authz(ctx, privileges):
    kind, which = _user_selector(ctx, ctx.arg)
    if kind == "all":
        return privileges.allows_cluster("viewUser")
    if kind == "db":
        return privileges.allows(ctx.db, "viewUser")
    for db, user in which:
        if (db, user) != ctx.conn.user and not privileges.allows(db, "viewUser"):
            return False
    return True


@command("usersInfo", authorize=_users_info_authz)
def cmd_users_info(ctx):
    kind, which = _user_selector(ctx, ctx.arg)
    users = _users(ctx)
    if kind == "all":
        docs = list(users.find({}))
    elif kind == "db":
        docs = list(users.find({"db": ctx.db}))
    else:
        docs = []
        for db, user in which:
            found = ctx.server.find_user(db, user)
            if found is not None:
                docs.append(found)
    docs.sort(key=lambda d: (d["db"], d["user"]))
    out = []
    for doc in docs:
        entry = {"_id": doc["_id"], "userId": doc["userId"], "user": doc["user"],
                 "db": doc["db"]}
        if "customData" in doc and ctx.cmd.get("showCustomData", True):
            entry["customData"] = doc["customData"]
        entry["roles"] = copy.deepcopy(doc.get("roles", []))
        if ctx.cmd.get("showCredentials"):
            entry["credentials"] = copy.deepcopy(doc.get("credentials", {}))
        if ctx.cmd.get("showPrivileges"):
            entry["inheritedRoles"] = copy.deepcopy(doc.get("roles", []))
            entry["inheritedPrivileges"] = _privilege_docs(doc.get("roles", []))
            entry["inheritedAuthenticationRestrictions"] = []
        if ctx.cmd.get("showAuthenticationRestrictions"):
            entry["authenticationRestrictions"] = []
        entry["mechanisms"] = [m for m in auth.MECHANISMS if m in doc.get("credentials", {})]
        out.append(entry)
    out = filter_docs(out, ctx.cmd.get("filter"))
    return {"users": out, "ok": 1.0}


def _role_doc(ctx, name, db):
    doc = {"role": name, "db": db, "isBuiltin": True, "roles": [], "inheritedRoles": []}
    if ctx.cmd.get("showPrivileges"):
        privileges = _privilege_docs([{"role": name, "db": db}])
        doc["privileges"] = privileges
        doc["inheritedPrivileges"] = privileges
    return doc


def _roles_info_authz(ctx, privileges):
    if privileges.allows(ctx.db, "viewRole"):
        return True
    own = []
    if ctx.conn.user is not None:
        user = ctx.server.find_user(*ctx.conn.user)
        own = user.get("roles", []) if user else []
    arg = ctx.arg
    items = arg if isinstance(arg, list) else [arg]
    for item in items:
        role = {"role": item, "db": ctx.db} if isinstance(item, str) else item
        if role not in own:
            return False
    return True


@command("rolesInfo", authorize=_roles_info_authz)
def cmd_roles_info(ctx):
    arg = ctx.arg
    roles = []
    if arg == 1 or arg == 1.0:
        if ctx.cmd.get("showBuiltinRoles"):
            for name, (admin_only, _) in sorted(auth.BUILTIN_ROLES.items()):
                if name == "__system" or (admin_only and ctx.db != "admin"):
                    continue
                roles.append(_role_doc(ctx, name, ctx.db))
    else:
        items = arg if isinstance(arg, list) else [arg]
        for item in items:
            if isinstance(item, str):
                name, db = item, ctx.db
            elif isinstance(item, dict):
                name, db = item.get("role"), item.get("db")
            else:
                raise CommandError(2, "Role names must be either strings or objects")
            spec = auth.BUILTIN_ROLES.get(name)
            if spec is not None and not (spec[0] and db != "admin"):
                roles.append(_role_doc(ctx, name, db))
    return {"roles": roles, "ok": 1.0}


@command("createRole", "updateRole", "dropRole", "grantRolesToRole", "revokeRolesFromRole",
         "grantPrivilegesToRole", "revokePrivilegesFromRole")
def cmd_roles_unsupported(ctx):
    raise CommandError(238, "MongoDB stand-in does not implement user-defined roles (%s)"
                       % ctx.name)


# ----------------------------------------------------------- listDatabases
def _db_size(server, db_store):
    total = 0
    for col in db_store._collections.values():
        if col.is_created:
            total += 8192 + sum(len(bson.encode(doc, codec_options=CODEC))
                                for _, doc in col.raw_items())
    return total


@command("listDatabases", admin_only=True)
def cmd_list_databases(ctx):
    server = ctx.server
    names = sorted(name for name, db in server.store.databases().items() if db.is_created)
    if server.config.auth_enabled:
        privileges = ctx.privileges()
        authorized_only = ctx.cmd.get("authorizedDatabases")
        if not privileges.allows_cluster("listDatabases"):
            if authorized_only is False:
                raise not_authorized(ctx)
            if "*" not in privileges.db:
                allowed = privileges.databases()
                names = [n for n in names if n in allowed]
    entries = []
    for name in names:
        entries.append({"name": name, "sizeOnDisk": float(_db_size(server,
                                                                    server.store[name])),
                        "empty": False})
    entries = filter_docs(entries, ctx.cmd.get("filter"))
    if ctx.cmd.get("nameOnly"):
        return {"databases": [{"name": e["name"]} for e in entries], "ok": 1.0}
    total = sum(e["sizeOnDisk"] for e in entries)
    return {"databases": entries, "totalSize": total,
            "totalSizeMb": int(total // (1024 * 1024)), "ok": 1.0}
