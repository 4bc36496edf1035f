"""Index specifications and unique-index enforcement with mongod's error shape.

mongomock checks unique indexes but reports 'E11000 Duplicate Key Error' with
no details; mongod reports the namespace, index name and duplicate key, plus
keyPattern/keyValue.  The checks here replace mongomock's and raise its
DuplicateKeyError (so its own rollback paths still run) carrying the details.
"""

from collections.abc import Mapping

import mongomock
from mongomock import filtering, helpers
from mongomock.collection import Collection as MMCollection

from .errors import CommandError, DuplicateKey

ID_INDEX = {"v": 2, "key": {"_id": 1}, "name": "_id_"}

_KNOWN_OPTIONS = {
    "key", "name", "unique", "sparse", "partialFilterExpression", "expireAfterSeconds",
    "background", "hidden", "collation", "v", "ns", "weights", "default_language",
    "language_override", "textIndexVersion", "2dsphereIndexVersion", "bits", "min", "max",
    "storageEngine", "wildcardProjection", "clustered", "prepareUnique",
}
_INDEX_TYPES = {"text", "2d", "2dsphere", "hashed", "geoHaystack"}


def normalize_spec(spec):
    """Validate an index spec from createIndexes and return the document to store."""
    if not isinstance(spec, Mapping):
        raise CommandError(14, "Index spec must be an object")
    key = spec.get("key")
    name = spec.get("name")
    if not isinstance(key, Mapping) or not key:
        raise CommandError(67, "Error in specification %s :: caused by :: The 'key' field "
                           "must be a non-empty object" % dict(spec))
    if not isinstance(name, str) or not name:
        raise CommandError(9, "Error in specification %s :: caused by :: The 'name' field "
                           "is a required property of an index specification" % dict(spec))
    for field, direction in key.items():
        if isinstance(direction, bool) or not (
                isinstance(direction, (int, float)) and direction != 0
                or direction in _INDEX_TYPES):
            raise CommandError(67, "Error in specification { key: %s, name: \"%s\" } :: caused "
                               "by :: Values in the index key pattern can only be numbers or "
                               "strings, and non-zero: %s" % (dict(key), name, field))
    for option in spec:
        if option not in _KNOWN_OPTIONS:
            raise CommandError(197, "Error in specification { key: %s, name: \"%s\" } :: caused "
                               "by :: The field '%s' is not valid for an index specification."
                               % (dict(key), name, option))
    stored = {"v": 2, "key": dict(key), "name": name}
    for option in ("unique", "sparse"):
        if spec.get(option):
            stored[option] = True
    for option in ("partialFilterExpression", "expireAfterSeconds", "collation", "hidden",
                   "weights", "default_language", "language_override", "wildcardProjection"):
        if option in spec:
            stored[option] = spec[option]
    if stored["key"] == {"_id": 1} and name != "_id_":
        raise CommandError(197, "The index name '_id_' is reserved for the _id index, which "
                           "must have key pattern {_id: 1}, found key: %s" % dict(key))
    return stored


def internal_index(spec):
    """The dict mongomock keeps in CollectionStore.indexes (plus our full spec)."""
    info = {"key": list(spec["key"].items()), "spec": spec}
    for option in ("unique", "sparse", "partialFilterExpression", "expireAfterSeconds"):
        if option in spec:
            info[option] = spec[option]
    return info


def same_index(a, b):
    def strip(spec):
        return {k: v for k, v in spec.items() if k not in ("name", "v", "background")}
    return strip(a) == strip(b)


def _key_value(doc, spec):
    value = {}
    present = False
    for field in spec["key"]:
        try:
            value[field] = helpers.get_value_by_dot(doc, field)
            present = True
        except KeyError:
            value[field] = None
    return value, present


def find_duplicate(collection_store, ns, spec, doc, exclude_key):
    """Return a DuplicateKey error if doc collides with another document under spec."""
    key_value, present = _key_value(doc, spec)
    if spec.get("sparse") and not present:
        return None
    partial = spec.get("partialFilterExpression")
    if partial is not None and not filtering.filter_applies(partial, doc):
        return None
    query = dict(key_value)
    if partial is not None:
        query = {"$and": [partial, query]}
    for key, other in collection_store.raw_items():
        if key == exclude_key:
            continue
        if spec.get("sparse") and not _key_value(other, spec)[1]:
            continue
        if filtering.filter_applies(query, other):
            return DuplicateKey(ns, spec["name"], dict(spec["key"]), key_value)
    return None


def check_existing_data(collection_store, ns, spec):
    """Index build on existing data: the first duplicate pair fails the build."""
    seen = []
    for _key, doc in collection_store.raw_items():
        key_value, present = _key_value(doc, spec)
        if spec.get("sparse") and not present:
            continue
        partial = spec.get("partialFilterExpression")
        if partial is not None and not filtering.filter_applies(partial, doc):
            continue
        if key_value in seen:
            return DuplicateKey(ns, spec["name"], dict(spec["key"]), key_value)
        seen.append(key_value)
    return None


def _raise_mongomock(dup):
    details = dict(dup.extra, errmsg=dup.errmsg, code=11000)
    raise mongomock.DuplicateKeyError(dup.errmsg, 11000, details)


_UNKNOWN_DB = "?"


def _ns(store):
    return "%s.%s" % (getattr(store, "db_name", _UNKNOWN_DB), store.name)


def _ensure_uniques(self, new_data):
    store = self._store
    ns = _ns(store)
    exclude = new_data.get("_id")
    exclude = helpers.hashdict(exclude) if isinstance(exclude, dict) else exclude
    for info in store.indexes.values():
        spec = info.get("spec")
        if spec is None or not spec.get("unique") or not hasattr(store, "raw_items"):
            continue
        dup = find_duplicate(store, ns, spec, new_data, exclude)
        if dup is not None:
            _raise_mongomock(dup)


_original_insert = MMCollection._insert


def _insert(self, data, session=None, ordered=True):
    if isinstance(data, Mapping) and "_id" in data:
        _id = data["_id"]
        key = helpers.hashdict(_id) if isinstance(_id, dict) else _id
        if key in self._store:
            store = self._store
            _raise_mongomock(DuplicateKey(_ns(store), "_id_",
                                          {"_id": 1}, {"_id": _id}))
    return _original_insert(self, data, session=session, ordered=ordered)


MMCollection._ensure_uniques = _ensure_uniques
MMCollection._insert = _insert
