"""pymongo 4 CRUD against the stand-in."""

import pymongo
import pytest
from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure


@pytest.fixture
def db(standin):
    with standin.client() as client:
        yield client.crud


def test_insert_many_and_find_with_sort_skip_limit_projection(db):
    result = db.items.insert_many([{"n": i, "even": i % 2 == 0, "tag": "t%d" % (i % 3)}
                                   for i in range(300)])
    assert len(result.inserted_ids) == 300
    assert all(isinstance(i, ObjectId) for i in result.inserted_ids)
    docs = list(db.items.find({"even": True}, {"_id": 0, "n": 1})
                .sort("n", pymongo.DESCENDING).skip(5).limit(4))
    assert docs == [{"n": 288}, {"n": 286}, {"n": 284}, {"n": 282}]
    # more than one batch: cursor + getMore
    everything = list(db.items.find({}, batch_size=7))
    assert len(everything) == 300
    assert [d["n"] for d in everything] == list(range(300))
    assert db.items.count_documents({"tag": "t1"}) == 100
    assert db.items.estimated_document_count() == 300
    assert sorted(db.items.distinct("tag")) == ["t0", "t1", "t2"]
    assert db.items.find_one({"n": {"$gte": 298}}, sort=[("n", -1)])["n"] == 299


def test_single_batch_and_kill_cursor(db):
    db.c.insert_many([{"i": i} for i in range(50)])
    reply = db.command("find", "c", batchSize=10, singleBatch=True)
    assert len(reply["cursor"]["firstBatch"]) == 10 and reply["cursor"]["id"] == 0
    reply = db.command("find", "c", batchSize=10)
    cursor_id = reply["cursor"]["id"]
    assert cursor_id != 0
    more = db.command("getMore", cursor_id, collection="c", batchSize=15)
    assert [d["i"] for d in more["cursor"]["nextBatch"]] == list(range(10, 25))
    killed = db.command("killCursors", "c", cursors=[cursor_id])
    assert killed["cursorsKilled"] == [cursor_id]
    with pytest.raises(OperationFailure) as err:
        db.command("getMore", cursor_id, collection="c")
    assert err.value.code == 43


def test_update_one_many_upsert_replace(db):
    db.u.insert_many([{"k": i, "v": 0} for i in range(10)])
    assert db.u.update_one({"k": 3}, {"$set": {"v": 30}}).modified_count == 1
    res = db.u.update_many({"k": {"$lt": 5}}, {"$inc": {"v": 1}})
    assert (res.matched_count, res.modified_count) == (5, 5)
    res = db.u.update_one({"k": 99}, {"$set": {"v": 99}}, upsert=True)
    assert res.upserted_id is not None and res.matched_count == 0
    assert db.u.find_one({"k": 99})["v"] == 99
    res = db.u.update_many({"k": {"$gte": 100}}, {"$set": {"x": 1}}, upsert=True)
    assert res.upserted_id is not None
    db.u.replace_one({"k": 1}, {"k": 1, "replaced": True})
    assert db.u.find_one({"k": 1}, {"_id": 0}) == {"k": 1, "replaced": True}
    # pipeline-style update
    db.u.update_many({"k": {"$in": [2, 4]}}, [{"$set": {"double": {"$multiply": ["$k", 2]}}},
                                             {"$unset": "v"}])
    assert db.u.find_one({"k": 4}, {"_id": 0}) == {"k": 4, "double": 8}
    with pytest.raises(OperationFailure) as err:
        db.u.update_one({"k": 3}, {"$set": {"_id": 1}})
    assert err.value.code == 66
    reply = db.command("update", "u", updates=[{"q": {}, "u": {"a": 1}, "multi": True}])
    assert reply["n"] == 0 and reply["writeErrors"][0]["code"] == 9


def test_delete(db):
    db.d.insert_many([{"i": i} for i in range(10)])
    assert db.d.delete_one({"i": {"$gt": 4}}).deleted_count == 1
    assert db.d.delete_many({"i": {"$lt": 3}}).deleted_count == 3
    assert db.d.count_documents({}) == 6
    assert db.d.delete_many({}).deleted_count == 6
    assert "d" in db.list_collection_names()      # an emptied collection still exists


def test_find_one_and_update_and_friends(db):
    db.f.insert_many([{"name": "a", "n": 1}, {"name": "b", "n": 2}, {"name": "c", "n": 3}])
    before = db.f.find_one_and_update({"n": {"$gte": 2}}, {"$inc": {"n": 10}},
                                      sort=[("n", -1)], projection={"_id": 0})
    assert before == {"name": "c", "n": 3}
    after = db.f.find_one_and_update({"name": "b"}, {"$set": {"x": 1}},
                                     return_document=pymongo.ReturnDocument.AFTER,
                                     projection={"_id": 0, "x": 1})
    assert after == {"x": 1}
    upserted = db.f.find_one_and_update({"name": "z"}, {"$set": {"n": 26}}, upsert=True,
                                        return_document=pymongo.ReturnDocument.AFTER)
    assert upserted["name"] == "z" and upserted["n"] == 26
    assert db.f.find_one_and_update({"name": "nope"}, {"$set": {"n": 0}}) is None
    removed = db.f.find_one_and_delete({"name": "a"})
    assert removed["n"] == 1 and db.f.count_documents({"name": "a"}) == 0
    replaced = db.f.find_one_and_replace({"name": "z"}, {"name": "zz"},
                                         return_document=pymongo.ReturnDocument.AFTER)
    assert replaced["name"] == "zz"
    reply = db.command("findAndModify", "f", query={"name": "new"}, update={"$set": {"n": 5}},
                       upsert=True, new=True)
    assert reply["lastErrorObject"]["upserted"] == reply["value"]["_id"]
    assert reply["lastErrorObject"]["updatedExisting"] is False


def test_indexes_and_unique_violation(db):
    db.people.insert_one({"email": "a@example.com", "name": "A"})
    name = db.people.create_index([("email", 1)], unique=True)
    assert name == "email_1"
    db.people.create_index([("name", 1), ("age", -1)], name="name_age")
    indexes = {ix["name"]: ix for ix in db.people.list_indexes()}
    assert indexes["_id_"]["key"] == {"_id": 1}
    assert indexes["email_1"]["unique"] is True and indexes["email_1"]["key"] == {"email": 1}
    assert indexes["name_age"]["key"] == {"name": 1, "age": -1}
    with pytest.raises(DuplicateKeyError) as err:
        db.people.insert_one({"email": "a@example.com"})
    assert err.value.code == 11000
    assert err.value.details["errmsg"] == (
        'E11000 duplicate key error collection: crud.people index: email_1 dup key: '
        '{ email: "a@example.com" }')
    assert err.value.details["keyPattern"] == {"email": 1}
    assert err.value.details["keyValue"] == {"email": "a@example.com"}
    with pytest.raises(BulkWriteError) as err:
        db.people.insert_many([{"email": "b@example.com"}, {"email": "a@example.com"},
                               {"email": "c@example.com"}])
    assert err.value.details["nInserted"] == 1
    assert err.value.details["writeErrors"][0]["index"] == 1
    with pytest.raises(BulkWriteError) as err:
        db.people.insert_many([{"email": "a@example.com"}, {"email": "d@example.com"}],
                              ordered=False)
    assert err.value.details["nInserted"] == 1
    with pytest.raises(DuplicateKeyError):
        db.people.update_one({"email": "d@example.com"}, {"$set": {"email": "a@example.com"}})
    assert db.people.count_documents({"email": "d@example.com"}) == 1
    oid = db.people.find_one({"email": "d@example.com"})["_id"]
    with pytest.raises(DuplicateKeyError) as err:
        db.people.insert_one({"_id": oid})
    assert "index: _id_ dup key: { _id: ObjectId('%s') }" % oid in err.value.details["errmsg"]
    db.people.drop_index("email_1")
    db.people.insert_one({"email": "a@example.com"})
    with pytest.raises(OperationFailure) as err:
        db.people.create_index("email", unique=True)
    assert err.value.code == 11000
    with pytest.raises(OperationFailure) as err:
        db.people.drop_index("nope_1")
    assert err.value.code == 27
    with pytest.raises(OperationFailure) as err:
        db.people.drop_index("_id_")
    assert err.value.code == 72


def test_collections_create_drop_rename(db, standin):
    db.create_collection("made")
    with pytest.raises(pymongo.errors.CollectionInvalid):
        db.create_collection("made")
    with pytest.raises(OperationFailure) as err:
        db.command("create", "made")
    assert err.value.code == 48
    info = db.command("listCollections", filter={"name": "made"})["cursor"]["firstBatch"]
    assert info[0]["type"] == "collection" and "uuid" in info[0]["info"]
    assert db.list_collection_names(filter={"name": {"$regex": "^ma"}}) == ["made"]
    db.made.insert_one({"x": 1})
    db.made.create_index("x")
    with standin.client() as client:
        client.admin.command("renameCollection", "crud.made", to="crud.renamed")
    assert "made" not in db.list_collection_names()
    assert db.renamed.find_one({}, {"_id": 0}) == {"x": 1}
    assert "x_1" in db.renamed.index_information()
    reply = db.command("drop", "renamed")
    assert reply["nIndexesWas"] == 2
    assert db.command("drop", "does_not_exist")["ok"] == 1.0   # 7.0+: no NamespaceNotFound
    with pytest.raises(OperationFailure) as err:
        db.command("listIndexes", "does_not_exist")
    assert err.value.code == 26
    db.x.insert_one({})
    with standin.client() as client:
        assert "crud" in client.list_database_names()
        client.drop_database("crud")
        assert "crud" not in client.list_database_names()


def test_unsupported_command_is_command_not_found(db):
    with pytest.raises(OperationFailure) as err:
        db.command("frobnicate", 1)
    assert err.value.code == 59
    assert err.value.details["codeName"] == "CommandNotFound"
    assert err.value.details["errmsg"] == "no such command: 'frobnicate'"


def test_unimplemented_feature_is_reported_not_silently_wrong(db):
    db.t.insert_one({"a": [1, 2]})
    with pytest.raises(OperationFailure) as err:
        db.t.update_one({}, {"$set": {"a.$[e]": 0}}, array_filters=[{"e": 1}])
    assert err.value.code == 238
    with pytest.raises(OperationFailure) as err:
        list(db.t.aggregate([{"$bogusStage": {}}]))
    assert err.value.code == 40324
