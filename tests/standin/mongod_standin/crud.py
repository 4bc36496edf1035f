"""Data commands: collections, indexes, CRUD, aggregation and cursors."""

import copy
import os
import time

import bson
from bson import Int64, ObjectId
from mongomock import aggregate as mm_aggregate
from mongomock import filtering

from . import indexes
from .commands import CommandError, command, filter_docs, translate_exception
from .errors import shell_repr
from .wire import CODEC

MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024
DEFAULT_FIRST_BATCH = 101
CURSOR_TIMEOUT_SECS = 600
_GENERIC_FIELDS = {"$db", "lsid", "txnNumber", "autocommit", "startTransaction", "$clusterTime",
                   "$readPreference", "readConcern", "writeConcern", "comment", "maxTimeMS",
                   "apiVersion", "apiStrict", "apiDeprecationErrors", "$audit", "$client"}


# ---------------------------------------------------------------- authorize
def _can(action):
    return lambda ctx, p: p.allows(ctx.db, action)


def _can_any(*actions):
    return lambda ctx, p: any(p.allows(ctx.db, a) for a in actions)


def _aggregate_authz(ctx, privileges):
    if not privileges.allows(ctx.db, "find"):
        return False
    for stage in ctx.cmd.get("pipeline") or []:
        if isinstance(stage, dict) and ("$out" in stage or "$merge" in stage):
            if not (privileges.allows(ctx.db, "insert") and privileges.allows(ctx.db, "remove")):
                return False
    return True


def _update_authz(ctx, privileges):
    if not privileges.allows(ctx.db, "update"):
        return False
    for update in ctx.cmd.get("updates") or []:
        if isinstance(update, dict) and update.get("upsert") and \
                not privileges.allows(ctx.db, "insert"):
            return False
    return True


def _find_and_modify_authz(ctx, privileges):
    if not privileges.allows(ctx.db, "find"):
        return False
    if ctx.cmd.get("remove"):
        return privileges.allows(ctx.db, "remove")
    if ctx.cmd.get("upsert") and not privileges.allows(ctx.db, "insert"):
        return False
    return privileges.allows(ctx.db, "update")


def _list_collections_authz(ctx, privileges):
    return privileges.allows(ctx.db, "listCollections") or (
        ctx.cmd.get("authorizedCollections") and privileges.any_on(ctx.db))


# ------------------------------------------------------------------ cursors
class Cursor:
    def __init__(self, cursor_id, ns, docs, owner):
        self.id = cursor_id
        self.ns = ns
        self.docs = docs
        self.pos = 0
        self.owner = owner
        self.last_used = time.monotonic()


def _batch(cursor, batch_size):
    out = []
    size = 0
    limit = batch_size if batch_size and batch_size > 0 else None
    while cursor.pos < len(cursor.docs):
        if limit is not None and len(out) >= limit:
            break
        doc = cursor.docs[cursor.pos]
        doc_size = len(bson.encode(doc, codec_options=CODEC))
        if out and size + doc_size > MAX_BATCH_BYTES:
            break
        out.append(doc)
        size += doc_size
        cursor.pos += 1
    return out


def reap_cursors(server):
    now = time.monotonic()
    for cid, cursor in list(server.cursors.items()):
        if now - cursor.last_used > CURSOR_TIMEOUT_SECS:
            del server.cursors[cid]


def cursor_reply(ctx, ns, docs, batch_size=DEFAULT_FIRST_BATCH, single_batch=False):
    """Answer with a cursor document, keeping the rest for getMore."""
    server = ctx.server
    reap_cursors(server)
    cursor = Cursor(0, ns, docs, ctx.conn.user)
    if batch_size is None:
        batch_size = DEFAULT_FIRST_BATCH
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 0:
        raise CommandError(2, "BatchSize value must be non-negative, but received: %s"
                           % batch_size)
    first = _batch(cursor, batch_size) if batch_size else []
    cursor_id = 0
    if not single_batch and cursor.pos < len(cursor.docs):
        cursor_id = int.from_bytes(os.urandom(8), "big") & ((1 << 63) - 1) or 1
        cursor.id = cursor_id
        server.cursors[cursor_id] = cursor
    return {"cursor": {"firstBatch": first, "id": Int64(cursor_id), "ns": ns}, "ok": 1.0}


def _owned_cursor(ctx, cursor_id):
    cursor = ctx.server.cursors.get(cursor_id)
    if cursor is None:
        return None
    if ctx.server.config.auth_enabled and cursor.owner != ctx.conn.user:
        raise CommandError(13, "Cursor session id (none) is not the same as the operation "
                           "context's session id (none)")
    return cursor


@command("getMore")
def cmd_get_more(ctx):
    cursor_id = ctx.arg
    collection = ctx.cmd.get("collection")
    if not isinstance(cursor_id, int):
        raise CommandError(14, "Field 'getMore' must be of type long in: %s" % ctx.cmd)
    if not isinstance(collection, str):
        raise CommandError(40414, "BSON field 'getMore.collection' is missing but a required "
                           "field")
    cursor = _owned_cursor(ctx, cursor_id)
    if cursor is None:
        raise CommandError(43, "cursor id %d not found" % cursor_id)
    if cursor.ns != ctx.ns(collection) and not cursor.ns.startswith(ctx.db + ".$cmd"):
        raise CommandError(13, "Requested getMore on namespace '%s', but cursor belongs to a "
                           "different namespace %s" % (ctx.ns(collection), cursor.ns))
    cursor.last_used = time.monotonic()
    batch = _batch(cursor, ctx.cmd.get("batchSize") or 0)
    cursor_id_out = cursor.id
    if cursor.pos >= len(cursor.docs):
        ctx.server.cursors.pop(cursor.id, None)
        cursor_id_out = 0
    return {"cursor": {"nextBatch": batch, "id": Int64(cursor_id_out), "ns": cursor.ns},
            "ok": 1.0}


@command("killCursors")
def cmd_kill_cursors(ctx):
    killed, not_found = [], []
    for cursor_id in ctx.cmd.get("cursors") or []:
        cursor = _owned_cursor(ctx, cursor_id)
        if cursor is None:
            not_found.append(Int64(cursor_id))
        else:
            ctx.server.cursors.pop(cursor_id, None)
            killed.append(Int64(cursor_id))
    return {"cursorsKilled": killed, "cursorsNotFound": not_found, "cursorsAlive": [],
            "cursorsUnknown": [], "ok": 1.0}


# -------------------------------------------------------------- collections
def _check_collection_name(ctx, name):
    if not isinstance(name, str) or not name or "$" in name or "\x00" in name \
            or name.startswith(".") or name.endswith("."):
        raise CommandError(73, "Invalid collection name: %s.%s" % (ctx.db, name))


def _check_db_name(db):
    if not db or any(c in db for c in '/\\. "$\x00') or len(db) >= 64:
        raise CommandError(73, "Invalid database name: '%s'" % db)


def collection_info(store):
    return {
        "name": store.name,
        "type": "collection",
        "options": copy.deepcopy(store.options),
        "info": {"readOnly": False, "uuid": store.uuid},
        "idIndex": dict(indexes.ID_INDEX),
    }


@command("listCollections", authorize=_list_collections_authz)
def cmd_list_collections(ctx):
    db_store = ctx.server.store[ctx.db]
    infos = [collection_info(c) for name, c in sorted(db_store._collections.items())
             if c.is_created]
    if ctx.cmd.get("authorizedCollections") and ctx.server.config.auth_enabled:
        privileges = ctx.privileges()
        if not privileges.allows(ctx.db, "listCollections") and not privileges.any_on(ctx.db):
            infos = []
    query = ctx.cmd.get("filter") or {}
    infos = filter_docs(infos, query)
    if ctx.cmd.get("nameOnly"):
        infos = [{"name": i["name"], "type": i["type"]} for i in infos]
    batch = (ctx.cmd.get("cursor") or {}).get("batchSize", DEFAULT_FIRST_BATCH)
    return cursor_reply(ctx, "%s.$cmd.listCollections" % ctx.db, infos, batch)


_CREATE_UNSUPPORTED = {"viewOn": "views", "pipeline": "views", "timeseries":
                       "time series collections", "clusteredIndex": "clustered collections"}


@command("create", authorize=_can("createCollection"))
def cmd_create(ctx):
    name = ctx.arg
    _check_db_name(ctx.db)
    _check_collection_name(ctx, name)
    for option, what in _CREATE_UNSUPPORTED.items():
        if option in ctx.cmd:
            raise CommandError(238, "MongoDB stand-in does not implement %s" % what)
    store = ctx.coll_store(name)
    if store.is_created:
        raise CommandError(48, "Collection %s already exists." % ctx.ns(name))
    options = {k: v for k, v in ctx.cmd.items()
               if k != ctx.name and k not in _GENERIC_FIELDS}
    if options.get("capped") and not options.get("size"):
        raise CommandError(72, "the 'size' field is required when 'capped' is true")
    store.create()
    store.options = options
    from .storage import TRACKER
    TRACKER.touch_meta(store.ns)
    return {"ok": 1.0}


@command("drop", authorize=_can("dropCollection"))
def cmd_drop(ctx):
    name = ctx.arg
    _check_collection_name(ctx, name)
    store = ctx.server.store[ctx.db].existing(name)
    if store is None:
        if ctx.server.version_tuple >= (7, 0):
            return {"ok": 1.0}
        raise CommandError(26, "ns not found")
    if ctx.db == "admin" and name == "system.version":
        raise CommandError(20, "can't drop system.version")
    n_indexes = 1 + len(store.indexes)
    store.drop()
    _forget_cursors(ctx, ctx.ns(name))
    return {"nIndexesWas": n_indexes, "ns": ctx.ns(name), "ok": 1.0}


def _forget_cursors(ctx, ns):
    for cid, cursor in list(ctx.server.cursors.items()):
        if cursor.ns == ns:
            del ctx.server.cursors[cid]


@command("dropDatabase", authorize=_can("dropDatabase"))
def cmd_drop_database(ctx):
    if ctx.db in ("admin", "local", "config") and ctx.db != "local":
        raise CommandError(20, "Dropping the '%s' database is prohibited." % ctx.db)
    db_store = ctx.server.store[ctx.db]
    for name, store in list(db_store._collections.items()):
        if store.is_created:
            store.drop()
            _forget_cursors(ctx, ctx.ns(name))
    return {"ok": 1.0}


@command("renameCollection", admin_only=True)
def cmd_rename_collection(ctx):
    source, target = ctx.arg, ctx.cmd.get("to")
    if not isinstance(source, str) or "." not in source or not isinstance(target, str) \
            or "." not in target:
        raise CommandError(73, "Invalid namespace specified '%s'" % (target or source))
    src_db, src_coll = source.split(".", 1)
    dst_db, dst_coll = target.split(".", 1)
    if ctx.server.config.auth_enabled:
        p = ctx.privileges()
        if src_db == dst_db:
            ok = p.allows(src_db, "renameCollectionSameDB")
        else:
            ok = all((p.allows(src_db, "find"), p.allows(src_db, "dropCollection"),
                      p.allows(dst_db, "insert"), p.allows(dst_db, "createCollection")))
        if not ok:
            raise CommandError(13, "Unauthorized to rename %s to %s" % (source, target))
    src = ctx.server.store[src_db].existing(src_coll)
    if src is None:
        raise CommandError(26, "Source collection %s does not exist" % source)
    dst = ctx.server.store[dst_db][dst_coll]
    if dst.is_created:
        if not ctx.cmd.get("dropTarget"):
            raise CommandError(48, "target namespace exists")
        dst.drop()
    dst.create()
    dst.options = copy.deepcopy(src.options)
    dst.uuid = src.uuid
    for spec in [info["spec"] for info in src.indexes.values()]:
        dst.create_index(spec["name"], indexes.internal_index(dict(spec)))
    for key, doc in src.raw_items():
        dst[key] = doc
    src.drop()
    _forget_cursors(ctx, source)
    return {"ok": 1.0}


def _data_size(store):
    return sum(len(bson.encode(doc, codec_options=CODEC)) for _, doc in store.raw_items())


@command("dbStats", authorize=_can("dbStats"))
def cmd_db_stats(ctx):
    scale = ctx.cmd.get("scale", 1) or 1
    db_store = ctx.server.store[ctx.db]
    colls = [c for c in db_store._collections.values() if c.is_created]
    objects = sum(len(c) for c in colls)
    data = sum(_data_size(c) for c in colls)
    n_indexes = sum(1 + len(c.indexes) for c in colls)
    storage = 4096 * len(colls) + data
    index_size = 4096 * n_indexes
    return {"db": ctx.db, "collections": len(colls), "views": 0, "objects": objects,
            "avgObjSize": float(data) / objects if objects else 0.0,
            "dataSize": float(data) / scale, "storageSize": float(storage) / scale,
            "indexes": n_indexes, "indexSize": float(index_size) / scale,
            "totalSize": float(storage + index_size) / scale, "scaleFactor": float(scale),
            "ok": 1.0}


@command("collStats", authorize=_can("collStats"))
def cmd_coll_stats(ctx):
    store = ctx.server.store[ctx.db].existing(ctx.arg)
    if store is None:
        raise CommandError(26, "Collection [%s] not found." % ctx.ns(ctx.arg))
    data = _data_size(store)
    count = len(store)
    return {"ns": ctx.ns(ctx.arg), "size": data, "count": count,
            "avgObjSize": data // count if count else 0, "storageSize": 4096 + data,
            "nindexes": 1 + len(store.indexes), "totalIndexSize": 4096 * (1 + len(store.indexes)),
            "indexSizes": {n: 4096 for n in ["_id_"] + list(store.indexes)},
            "capped": bool(store.options.get("capped")), "ok": 1.0}


# ------------------------------------------------------------------ indexes
@command("createIndexes", authorize=_can("createIndex"))
def cmd_create_indexes(ctx):
    name = ctx.arg
    _check_db_name(ctx.db)
    _check_collection_name(ctx, name)
    specs = ctx.cmd.get("indexes")
    if not isinstance(specs, list) or not specs:
        raise CommandError(2, "Must specify at least one index to create")
    store = ctx.coll_store(name)
    created_automatically = not store.is_created
    before = 1 + len(store.indexes)
    normalized = [indexes.normalize_spec(spec) for spec in specs]
    created = 0
    for spec in normalized:
        if spec["name"] == "_id_" or spec["key"] == {"_id": 1}:
            continue
        existing = store.indexes.get(spec["name"])
        if existing is not None:
            if indexes.same_index(existing["spec"], spec):
                continue
            raise CommandError(86, "An existing index has the same name as the requested index. "
                               "When index names are not specified, they are auto generated and "
                               "can cause conflicts. Please refer to our documentation. "
                               "Requested index: %s, existing index: %s"
                               % (shell_repr(spec), shell_repr(existing["spec"])))
        same_key = [info for info in store.indexes.values()
                    if info["spec"]["key"] == spec["key"]]
        if same_key:
            if indexes.same_index(same_key[0]["spec"], spec):
                raise CommandError(85, "Index already exists with a different name: %s"
                                   % same_key[0]["spec"]["name"])
            raise CommandError(86, "An existing index has the same key pattern but different "
                               "options: %s" % shell_repr(same_key[0]["spec"]))
        if spec.get("unique"):
            dup = indexes.check_existing_data(store, ctx.ns(name), spec)
            if dup is not None:
                store.create()
                raise CommandError(11000, "Index build failed: %s: Collection %s ( %s ) :: "
                                   "caused by :: %s" % (ObjectId(), ctx.ns(name),
                                                        store.uuid.as_uuid() if store.uuid
                                                        else "", dup.errmsg),
                                   keyPattern=dup.extra["keyPattern"],
                                   keyValue=dup.extra["keyValue"])
        store.create_index(spec["name"], indexes.internal_index(spec))
        created += 1
    store.create()
    reply = {"numIndexesBefore": before if not created_automatically else 1,
             "numIndexesAfter": 1 + len(store.indexes),
             "createdCollectionAutomatically": created_automatically}
    if not created:
        reply["note"] = "all indexes already exist"
    reply["ok"] = 1.0
    return reply


@command("listIndexes", authorize=_can("listIndexes"))
def cmd_list_indexes(ctx):
    name = ctx.arg
    store = ctx.server.store[ctx.db].existing(name)
    if store is None:
        raise CommandError(26, "ns does not exist: %s" % ctx.ns(name))
    specs = [dict(indexes.ID_INDEX)] + [dict(info["spec"]) for info in store.indexes.values()]
    batch = (ctx.cmd.get("cursor") or {}).get("batchSize", DEFAULT_FIRST_BATCH)
    return cursor_reply(ctx, ctx.ns(name), specs, batch)


@command("dropIndexes", "deleteIndexes", authorize=_can("dropIndex"))
def cmd_drop_indexes(ctx):
    name = ctx.arg
    store = ctx.server.store[ctx.db].existing(name)
    if store is None:
        raise CommandError(26, "ns not found %s" % ctx.ns(name))
    target = ctx.cmd.get("index")
    was = 1 + len(store.indexes)
    if target == "*":
        for index_name in list(store.indexes):
            store.drop_index(index_name)
        return {"nIndexesWas": was, "msg": "non-_id indexes dropped for collection", "ok": 1.0}
    names = target if isinstance(target, list) else [target]
    resolved = []
    for item in names:
        if isinstance(item, dict):
            matches = [n for n, info in store.indexes.items() if info["spec"]["key"] == item]
            if item == {"_id": 1}:
                raise CommandError(72, "cannot drop _id index")
            if not matches:
                raise CommandError(27, "can't find index with key: %s"
                                   % shell_repr(item))
            resolved.append(matches[0])
        elif isinstance(item, str):
            if item == "_id_":
                raise CommandError(72, "cannot drop _id index")
            if item not in store.indexes:
                raise CommandError(27, "index not found with name [%s]" % item)
            resolved.append(item)
        else:
            raise CommandError(14, "dropIndexes 'index' field must be a string, object or "
                               "array of strings")
    for index_name in resolved:
        store.drop_index(index_name)
    return {"nIndexesWas": was, "ok": 1.0}


# --------------------------------------------------------------------- CRUD
def _with_id_first(doc):
    if not isinstance(doc, dict):
        raise CommandError(14, "documents must be objects")
    if "_id" in doc:
        if next(iter(doc)) == "_id":
            return dict(doc)
        out = {"_id": doc["_id"]}
        out.update((k, v) for k, v in doc.items() if k != "_id")
        return out
    out = {"_id": ObjectId()}
    out.update(doc)
    return out


def _write_error(index, exc):
    error = translate_exception(exc)
    if error is None:
        error = CommandError(1, "%s: %s" % (type(exc).__name__, exc))
    entry = {"index": index, "code": error.code, "errmsg": error.errmsg}
    for key in ("keyPattern", "keyValue"):
        if key in error.extra:
            entry[key] = error.extra[key]
    return entry


def _batch_arg(ctx, field):
    items = ctx.cmd.get(field)
    if not isinstance(items, list):
        raise CommandError(40414, "BSON field '%s.%s' is missing but a required field"
                           % (ctx.name, field))
    if not items or len(items) > 100000:
        raise CommandError(16, "Write batch sizes must be between 1 and 100000. Got %d "
                           "operations." % len(items))
    return items


@command("insert", authorize=_can("insert"))
def cmd_insert(ctx):
    name = ctx.arg
    _check_db_name(ctx.db)
    _check_collection_name(ctx, name)
    if name.startswith("system.") and name not in ("system.js",):
        raise CommandError(73, "cannot write to '%s'" % ctx.ns(name))
    docs = _batch_arg(ctx, "documents")
    ordered = ctx.cmd.get("ordered", True)
    coll = ctx.collection(name)
    n = 0
    errors = []
    for index, doc in enumerate(docs):
        try:
            coll._insert(_with_id_first(doc))
            n += 1
        except Exception as exc:  # noqa: BLE001 - reported as a write error
            errors.append(_write_error(index, exc))
            if ordered:
                break
    reply = {"n": n}
    if errors:
        reply["writeErrors"] = errors
    reply["ok"] = 1.0
    return reply


def _check_update(update, multi):
    if isinstance(update, list):
        return
    if not isinstance(update, dict):
        raise CommandError(9, "Update argument must be either an object or an array")
    keys = list(update)
    operators = [k for k in keys if k.startswith("$")]
    if operators and len(operators) != len(keys):
        plain = [k for k in keys if not k.startswith("$")][0]
        raise CommandError(9, "Unknown modifier: %s. Expected a valid update modifier or "
                           "pipeline-style update specified as an array" % plain)
    if not operators and multi:
        raise CommandError(9, "multi update is not supported for replacement-style update")


@command("update", authorize=_update_authz, writes=True)
def cmd_update(ctx):
    from . import mm_ext
    name = ctx.arg
    _check_db_name(ctx.db)
    _check_collection_name(ctx, name)
    updates = _batch_arg(ctx, "updates")
    ordered = ctx.cmd.get("ordered", True)
    coll = ctx.collection(name)
    n = modified = 0
    upserted = []
    errors = []
    for index, spec in enumerate(updates):
        try:
            query = spec.get("q", {})
            update = spec.get("u")
            multi = bool(spec.get("multi", False))
            upsert = bool(spec.get("upsert", False))
            _check_update(update, multi)
            if spec.get("arrayFilters"):
                raise CommandError(238, "MongoDB stand-in does not implement arrayFilters")
            with mm_ext.variables(spec.get("c") or {}):
                result = coll._update(query, update, upsert=upsert, multi=multi)
            n += result["n"]
            modified += result["nModified"]
            if result.get("upserted") is not None:
                upserted.append({"index": index, "_id": result["upserted"]})
        except Exception as exc:  # noqa: BLE001 - reported as a write error
            errors.append(_write_error(index, exc))
            if ordered:
                break
    reply = {"n": n, "nModified": modified}
    if upserted:
        reply["upserted"] = upserted
    if errors:
        reply["writeErrors"] = errors
    reply["ok"] = 1.0
    return reply


@command("delete", authorize=_can("remove"))
def cmd_delete(ctx):
    name = ctx.arg
    _check_collection_name(ctx, name)
    deletes = _batch_arg(ctx, "deletes")
    ordered = ctx.cmd.get("ordered", True)
    coll = ctx.collection(name)
    n = 0
    errors = []
    for index, spec in enumerate(deletes):
        try:
            limit = spec.get("limit")
            if limit not in (0, 1):
                raise CommandError(9, "The limit field in delete objects must be 0 or 1. "
                                   "Got %s" % limit)
            result = coll._delete(spec.get("q", {}), multi=(limit == 0))
            n += result["n"]
        except Exception as exc:  # noqa: BLE001 - reported as a write error
            errors.append(_write_error(index, exc))
            if ordered:
                break
    reply = {"n": n}
    if errors:
        reply["writeErrors"] = errors
    reply["ok"] = 1.0
    return reply


def _sort_list(sort):
    if not sort:
        return None
    if not isinstance(sort, dict):
        raise CommandError(14, "Expected field sort to be of type object")
    out = []
    for key, direction in sort.items():
        if isinstance(direction, dict):
            raise CommandError(238, "MongoDB stand-in does not implement $meta sort")
        if direction not in (1, -1):
            raise CommandError(15974, "Illegal key in $sort specification: %s: %s"
                               % (key, direction))
        out.append((key, int(direction)))
    return out


def _find_docs(coll, query, projection=None, sort=None, skip=0, limit=0):
    if query is None:
        query = {}
    if not isinstance(query, dict):
        raise CommandError(14, "Expected field filter to be of type object")
    cursor = coll.find(query, projection=projection or None, sort=_sort_list(sort),
                       skip=skip or 0, limit=abs(limit or 0))
    return list(cursor)


@command("find", authorize=_can("find"))
def cmd_find(ctx):
    name = ctx.arg
    _check_collection_name(ctx, name)
    cmd = ctx.cmd
    limit = cmd.get("limit", 0) or 0
    skip = cmd.get("skip", 0) or 0
    if limit < 0:
        raise CommandError(51024, "BSON field 'limit' value must be >= 0, actual value '%d'"
                           % limit)
    if skip < 0:
        raise CommandError(51024, "BSON field 'skip' value must be >= 0, actual value '%d'"
                           % skip)
    docs = _find_docs(ctx.collection(name), cmd.get("filter"), cmd.get("projection"),
                      cmd.get("sort"), skip, limit)
    batch_size = cmd.get("batchSize", DEFAULT_FIRST_BATCH)
    return cursor_reply(ctx, ctx.ns(name), docs, batch_size,
                        single_batch=bool(cmd.get("singleBatch")))


@command("count", authorize=_can("find"))
def cmd_count(ctx):
    name = ctx.arg
    _check_collection_name(ctx, name)
    limit = ctx.cmd.get("limit", 0) or 0
    docs = _find_docs(ctx.collection(name), ctx.cmd.get("query"), {"_id": 1}, None,
                      ctx.cmd.get("skip", 0), abs(limit))
    return {"n": len(docs), "ok": 1.0}


@command("distinct", authorize=_can("find"))
def cmd_distinct(ctx):
    name = ctx.arg
    _check_collection_name(ctx, name)
    key = ctx.cmd.get("key")
    if not isinstance(key, str):
        raise CommandError(14, "BSON field 'distinct.key' is the wrong type, expected type "
                           "'string'")
    values = ctx.collection(name).distinct(key, ctx.cmd.get("query") or {})
    try:
        values = sorted(values, key=filtering.BsonComparable)
    except TypeError:
        pass
    return {"values": values, "ok": 1.0}


def _project_one(doc, projection):
    if doc is None or not projection:
        return doc
    from mongomock import MongoClient
    scratch = MongoClient()["scratch"]["doc"]
    scratch.insert_one(copy.deepcopy(doc))
    return scratch.find_one({}, projection)


@command("findAndModify", "findandmodify", authorize=_find_and_modify_authz, writes=True)
def cmd_find_and_modify(ctx):
    name = ctx.arg
    _check_db_name(ctx.db)
    _check_collection_name(ctx, name)
    cmd = ctx.cmd
    query = cmd.get("query") or {}
    update = cmd.get("update")
    remove = bool(cmd.get("remove", False))
    new = bool(cmd.get("new", False))
    upsert = bool(cmd.get("upsert", False))
    fields = cmd.get("fields")
    if remove and update is not None:
        raise CommandError(9, "Cannot specify both an update and remove=true")
    if not remove and update is None:
        raise CommandError(9, "Either an update or remove=true must be specified")
    if remove and (new or upsert):
        raise CommandError(9, "Cannot specify both new=true and remove=true; 'remove' always "
                           "returns the deleted document" if new else
                           "Cannot specify both upsert=true and remove=true ")
    if update is not None:
        _check_update(update, False)
    if cmd.get("arrayFilters"):
        raise CommandError(238, "MongoDB stand-in does not implement arrayFilters")
    coll = ctx.collection(name)
    matches = _find_docs(coll, query, None, cmd.get("sort"), 0, 1)
    old = matches[0] if matches else None
    last_error = {"n": 0}
    value = None
    if remove:
        if old is not None:
            coll._delete({"_id": old["_id"]}, multi=False)
            last_error = {"n": 1}
            value = old
    elif old is not None:
        coll._update({"_id": old["_id"]}, update, upsert=False, multi=False)
        last_error = {"n": 1, "updatedExisting": True}
        value = coll.find_one({"_id": old["_id"]}) if new else old
    elif upsert:
        result = coll._update(query, update, upsert=True, multi=False)
        last_error = {"n": 1, "updatedExisting": False, "upserted": result["upserted"]}
        value = coll.find_one({"_id": result["upserted"]}) if new else None
    else:
        last_error = {"n": 0, "updatedExisting": False}
    return {"lastErrorObject": last_error, "value": _project_one(value, fields), "ok": 1.0}


def _check_pipeline(pipeline):
    if not isinstance(pipeline, list):
        raise CommandError(14, "'pipeline' option must be specified as an array")
    for position, stage in enumerate(pipeline):
        if not isinstance(stage, dict) or len(stage) != 1:
            raise CommandError(40323, "A pipeline stage specification object must contain "
                               "exactly one field.")
        stage_name = next(iter(stage))
        if stage_name not in mm_aggregate._PIPELINE_HANDLERS:
            raise CommandError(40324, "Unrecognized pipeline stage name: '%s'" % stage_name)
        if mm_aggregate._PIPELINE_HANDLERS[stage_name] is None:
            raise CommandError(238, "MongoDB stand-in does not implement the %s stage"
                               % stage_name)
        if stage_name == "$out" and position != len(pipeline) - 1:
            raise CommandError(40601, "$out can only be the final stage in the pipeline")


@command("aggregate", authorize=_aggregate_authz)
def cmd_aggregate(ctx):
    target = ctx.arg
    pipeline = ctx.cmd.get("pipeline")
    _check_pipeline(pipeline)
    if ctx.cmd.get("explain"):
        raise CommandError(238, "MongoDB stand-in does not implement explain")
    cursor_opts = ctx.cmd.get("cursor")
    if not isinstance(cursor_opts, dict):
        raise CommandError(9, "The 'cursor' option is required, except for aggregate with the "
                           "explain argument")
    if target == 1:
        raise CommandError(238, "MongoDB stand-in does not implement collection-less aggregate")
    _check_collection_name(ctx, target)
    docs = list(ctx.collection(target).aggregate(pipeline))
    if pipeline and "$out" in pipeline[-1]:
        docs = []
    return cursor_reply(ctx, ctx.ns(target), docs,
                        cursor_opts.get("batchSize", DEFAULT_FIRST_BATCH))


@command("explain", authorize=_can("find"))
def cmd_explain(ctx):
    raise CommandError(238, "MongoDB stand-in does not implement explain")

