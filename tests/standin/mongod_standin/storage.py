"""Durable storage under storage.dbPath.

The data lives in mongomock's in-memory store; this module makes it durable:

* dbPath/standin/data/<db>/<collection>.bson -- snapshot per collection: a header
  document (namespace, UUID, options, index specs) followed by the documents.
* dbPath/standin/journal.bson -- append-only journal.  Every command that changed
  data appends ONE BSON record {seq, ops: [...]} and fsyncs it before the reply
  is sent, so an acknowledged write survives SIGTERM, SIGKILL or a crash.  A torn
  record at the tail (crash during the write) is discarded at start-up.
* Compaction (at start-up, at clean shutdown, and when the journal grows past
  COMPACT_BYTES) rewrites only the snapshots of collections changed since the
  last compaction (write to a temp file, fsync, rename, fsync the directory)
  and then empties the journal the same way.  Replaying a journal over newer
  snapshots is harmless: every record sets a final state.

Which documents a command touched is tracked at the store level: the stores
below record every key set or deleted, and every document the update path
iterated over (mongomock updates matching documents in place).
"""

import collections
import os
import struct
import urllib.parse
import uuid

import bson
from bson.binary import Binary
from mongomock import helpers as mm_helpers
from mongomock import store as mm_store
from mongomock.collection import Collection as MMCollection

from .wire import CODEC

COMPACT_BYTES = 64 * 1024 * 1024
FORMAT = "mongod-standin-storage-1"


def doc_key(_id):
    return mm_helpers.hashdict(_id) if isinstance(_id, dict) else _id


class Tracker:
    """Collects what the current command changed, namespace by namespace."""

    def __init__(self):
        self.active = False
        self.iteration = False   # record documents iterated by in-place updates
        self.reset()

    def reset(self):
        self.docs = collections.OrderedDict()   # (db, coll) -> set of keys
        self.meta = set()                       # namespaces whose metadata changed
        self.dropped = set()                    # namespaces dropped (docs cleared)

    def touch_doc(self, ns, key):
        if self.active:
            self.docs.setdefault(ns, set()).add(key)

    def touch_meta(self, ns):
        if self.active:
            self.meta.add(ns)
            self.docs.setdefault(ns, set())

    def touch_drop(self, ns):
        if self.active:
            self.dropped.add(ns)
            self.meta.add(ns)
            self.docs.setdefault(ns, set())

    @property
    def empty(self):
        return not (self.docs or self.meta or self.dropped)


TRACKER = Tracker()


class CollectionStore(mm_store.CollectionStore):
    """mongomock's collection store plus change tracking, UUID and create options."""

    def __init__(self, db_name, name):
        super().__init__(name)
        self.db_name = db_name
        self.uuid = None
        self.options = {}

    @property
    def ns(self):
        return (self.db_name, self.name)

    def _mark_created(self):
        if not self._is_force_created:
            self._is_force_created = True
            if self.uuid is None:
                self.uuid = Binary(uuid.uuid4().bytes, 4)
            TRACKER.touch_meta(self.ns)

    def create(self):
        self._mark_created()

    def __setitem__(self, key, val):
        super().__setitem__(key, val)
        self._mark_created()
        TRACKER.touch_doc(self.ns, key)

    def __delitem__(self, key):
        super().__delitem__(key)
        TRACKER.touch_doc(self.ns, key)

    def drop(self):
        super().drop()
        self.uuid = None
        self.options = {}
        TRACKER.touch_drop(self.ns)

    def create_index(self, index_name, index_dict):
        super().create_index(index_name, index_dict)
        self._mark_created()
        TRACKER.touch_meta(self.ns)

    def drop_index(self, index_name):
        super().drop_index(index_name)
        TRACKER.touch_meta(self.ns)

    def raw_get(self, key):
        return self._documents.get(key)

    def raw_items(self):
        return list(self._documents.items())

    def meta_doc(self):
        return {
            "uuid": self.uuid,
            "options": self.options,
            "indexes": [dict(info["spec"]) for info in self.indexes.values()],
        }

    def load_meta(self, meta):
        from .indexes import internal_index  # local import: indexes imports storage
        self._is_force_created = True
        self.uuid = meta.get("uuid") or Binary(uuid.uuid4().bytes, 4)
        self.options = meta.get("options") or {}
        self.indexes = {}
        self._ttl_indexes = {}
        for spec in meta.get("indexes", []):
            mm_store.CollectionStore.create_index(self, spec["name"], internal_index(spec))


class DatabaseStore(mm_store.DatabaseStore):
    def __init__(self, name):
        super().__init__()
        self.name = name

    def __getitem__(self, col_name):
        try:
            return self._collections[col_name]
        except KeyError:
            col = self._collections[col_name] = CollectionStore(self.name, col_name)
            return col

    def existing(self, col_name):
        col = self._collections.get(col_name)
        return col if col is not None and col.is_created else None


class ServerStore(mm_store.ServerStore):
    def __getitem__(self, db_name):
        try:
            return self._databases[db_name]
        except KeyError:
            db = self._databases[db_name] = DatabaseStore(db_name)
            return db

    def databases(self):
        return dict(self._databases)


_original_iter_documents = MMCollection._iter_documents


def _tracking_iter_documents(self, filter):
    """Documents the update path may modify in place are recorded as touched."""
    store = self._store
    if not (TRACKER.active and TRACKER.iteration) or not isinstance(store, CollectionStore):
        return _original_iter_documents(self, filter)

    def gen():
        for doc in _original_iter_documents(self, filter):
            TRACKER.touch_doc(store.ns, doc_key(doc.get("_id")))
            yield doc
    return gen()


_original_update = MMCollection._update


def _tracking_update(self, *args, **kwargs):
    """mongomock's update modifies matching documents in place: whoever calls it
    (update, findAndModify, updateUser, setFeatureCompatibilityVersion, ...), the
    documents it iterates over are recorded as touched."""
    previous = TRACKER.iteration
    TRACKER.iteration = True
    try:
        return _original_update(self, *args, **kwargs)
    finally:
        TRACKER.iteration = previous


MMCollection._iter_documents = _tracking_iter_documents
MMCollection._update = _tracking_update


def _quote(name):
    return urllib.parse.quote(name, safe="") or "%00"


def _unquote(name):
    return "" if name == "%00" else urllib.parse.unquote(name)


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path, chunks):
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(os.path.dirname(path))


def _iter_bson(data):
    """Yield (document, end offset) for each complete BSON document; stop at a torn tail."""
    pos = 0
    while pos + 4 <= len(data):
        (size,) = struct.unpack_from("<i", data, pos)
        if size < 5 or pos + size > len(data):
            return
        try:
            doc = bson.decode(data[pos:pos + size], CODEC)
        except Exception:  # noqa: BLE001 - a torn or corrupt record ends the journal
            return
        pos += size
        yield doc, pos


class Storage:
    def __init__(self, dbpath, server_store):
        self.root = os.path.join(dbpath, "standin")
        self.data_dir = os.path.join(self.root, "data")
        self.journal_path = os.path.join(self.root, "journal.bson")
        self.store = server_store
        self.seq = 0
        self.journal_fd = None
        self.journal_size = 0
        self.unsnapshotted = set()

    # ----------------------------------------------------------------- start-up
    def load(self):
        """Read snapshots, replay the journal, then compact.  Returns stats for the log."""
        os.makedirs(self.data_dir, exist_ok=True)
        marker = os.path.join(self.root, "FORMAT")
        if not os.path.exists(marker):
            _atomic_write(marker, [FORMAT.encode() + b"\n"])
        collections_loaded = 0
        for db_dir in sorted(os.listdir(self.data_dir)):
            db_path = os.path.join(self.data_dir, db_dir)
            if not os.path.isdir(db_path):
                continue
            for fname in sorted(os.listdir(db_path)):
                if not fname.endswith(".bson"):
                    continue
                with open(os.path.join(db_path, fname), "rb") as handle:
                    data = handle.read()
                items = _iter_bson(data)
                header = next(items, None)
                if header is None:
                    continue
                db_name, coll_name = header[0]["ns"]
                col = self.store[db_name][coll_name]
                col.load_meta(header[0]["meta"])
                for doc, _ in items:
                    mm_store.CollectionStore.__setitem__(col, doc_key(doc["_id"]), doc)
                collections_loaded += 1
        replayed = 0
        valid_end = 0
        if os.path.exists(self.journal_path):
            with open(self.journal_path, "rb") as handle:
                data = handle.read()
            for record, end in _iter_bson(data):
                self._apply(record)
                self.seq = max(self.seq, record.get("seq", 0))
                valid_end = end
                replayed += 1
            torn = len(data) - valid_end
        else:
            torn = 0
        self.compact(full=True)
        return {"collections": collections_loaded, "journalRecords": replayed,
                "discardedBytes": torn}

    def _apply(self, record):
        for op in record["ops"]:
            col = self.store[op["db"]][op["c"]]
            kind = op["op"]
            if kind == "drop":
                mm_store.CollectionStore.drop(col)
                col.uuid = None
                col.options = {}
            elif kind == "meta":
                if op["meta"] is None:
                    mm_store.CollectionStore.drop(col)
                else:
                    col.load_meta(op["meta"])
            elif kind == "put":
                mm_store.CollectionStore.__setitem__(col, doc_key(op["doc"]["_id"]), op["doc"])
            elif kind == "del":
                key = doc_key(op["id"])
                if key in col._documents:
                    mm_store.CollectionStore.__delitem__(col, key)
            self.unsnapshotted.add((op["db"], op["c"]))

    # ------------------------------------------------------------ per command
    def begin(self, track_iteration=False):
        TRACKER.reset()
        TRACKER.active = True
        TRACKER.iteration = track_iteration

    def commit(self):
        """Make what the current command changed durable.  Called before replying."""
        TRACKER.active = False
        TRACKER.iteration = False
        if TRACKER.empty:
            return
        ops = []
        for ns, keys in TRACKER.docs.items():
            db_name, coll_name = ns
            col = self.store[db_name][coll_name]
            if ns in TRACKER.dropped:
                ops.append({"op": "drop", "db": db_name, "c": coll_name})
            if ns in TRACKER.meta:
                ops.append({"op": "meta", "db": db_name, "c": coll_name,
                            "meta": col.meta_doc() if col.is_created else None})
            for key in keys:
                doc = col.raw_get(key)
                if doc is None:
                    ops.append({"op": "del", "db": db_name, "c": coll_name, "id": key})
                else:
                    ops.append({"op": "put", "db": db_name, "c": coll_name, "doc": doc})
            self.unsnapshotted.add(ns)
        TRACKER.reset()
        if not ops:
            return
        self.seq += 1
        record = bson.encode({"seq": self.seq, "ops": ops}, codec_options=CODEC)
        if self.journal_fd is None:
            self.journal_fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                      0o600)
        view = memoryview(record)
        while view:
            written = os.write(self.journal_fd, view)
            view = view[written:]
        os.fsync(self.journal_fd)
        self.journal_size += len(record)
        if self.journal_size > COMPACT_BYTES:
            self.compact()

    def abort(self):
        """A command failed half-way: what it did change is still made durable."""
        self.commit()

    # ------------------------------------------------------------- compaction
    def compact(self, full=False):
        existing = {}
        for db_name, db in self.store.databases().items():
            for coll_name, col in list(db._collections.items()):
                if col.is_created:
                    existing[(db_name, coll_name)] = col
        targets = existing.keys() if full else [ns for ns in self.unsnapshotted if ns in existing]
        for ns in list(targets):
            col = existing[ns]
            db_dir = os.path.join(self.data_dir, _quote(ns[0]))
            os.makedirs(db_dir, exist_ok=True)
            header = {"ns": [ns[0], ns[1]], "meta": col.meta_doc()}
            chunks = [bson.encode(header, codec_options=CODEC)]
            chunks.extend(bson.encode(doc, codec_options=CODEC) for _, doc in col.raw_items())
            _atomic_write(os.path.join(db_dir, _quote(ns[1]) + ".bson"), chunks)
        # Remove snapshots of collections that no longer exist.
        for db_dir in os.listdir(self.data_dir):
            db_path = os.path.join(self.data_dir, db_dir)
            if not os.path.isdir(db_path):
                continue
            for fname in os.listdir(db_path):
                if fname.endswith(".tmp"):
                    os.unlink(os.path.join(db_path, fname))
                    continue
                ns = (_unquote(db_dir), _unquote(fname[:-len(".bson")]))
                if fname.endswith(".bson") and ns not in existing:
                    os.unlink(os.path.join(db_path, fname))
            if not os.listdir(db_path):
                os.rmdir(db_path)
        _fsync_dir(self.data_dir)
        if self.journal_fd is not None:
            os.close(self.journal_fd)
            self.journal_fd = None
        _atomic_write(self.journal_path, [])
        self.journal_size = 0
        self.unsnapshotted = set()

    def close(self):
        TRACKER.active = False
        self.compact()
        if self.journal_fd is not None:
            os.close(self.journal_fd)
            self.journal_fd = None
