"""Client half of test_pymongo3.py: runs under the python of a pymongo==3.11.4 venv.

Usage: pymongo3_client.py PORT ADMIN_USER ADMIN_PASSWORD
Prints one JSON document of results.
"""

import json
import sys

import pymongo
from pymongo.errors import DuplicateKeyError, OperationFailure

port, admin_user, admin_password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
assert pymongo.version.startswith("3.11"), pymongo.version
out = {"pymongo": pymongo.version}


def client(user=None, password=None, source="admin", mechanism=None):
    kwargs = {"serverSelectionTimeoutMS": 10000}
    if user:
        kwargs.update(username=user, password=password, authSource=source)
        if mechanism:
            kwargs["authMechanism"] = mechanism
    return pymongo.MongoClient("127.0.0.1", port, **kwargs)


anonymous = client()
out["hello"] = anonymous.admin.command("ismaster")["ismaster"]
try:
    anonymous.app.items.find_one()
except OperationFailure as exc:
    out["unauthenticated_code"] = exc.code

admin = client(admin_user, admin_password)
admin.app.command("createUser", "py3", pwd="py3-pw", roles=["readWrite"])

for mechanism in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
    c = client("py3", "py3-pw", "app", mechanism)
    out["auth_" + mechanism] = c.app.command("connectionStatus")["authInfo"][
        "authenticatedUsers"] == [{"user": "py3", "db": "app"}]
    c.close()

bad = client("py3", "nope", "app")
try:
    bad.app.command("ping")
except OperationFailure as exc:
    out["wrong_password_code"] = exc.code

db = client("py3", "py3-pw", "app").app
db.items.insert_many([{"n": i, "grp": i % 4} for i in range(150)])
out["count"] = db.items.count_documents({})
out["estimated"] = db.items.estimated_document_count()
out["page"] = [d["n"] for d in db.items.find({"grp": 1}).sort("n", -1).skip(2).limit(3)]
out["all_batches"] = len(list(db.items.find(batch_size=20)))
out["projection"] = db.items.find_one({"n": 7}, {"_id": 0, "grp": 1})
res = db.items.update_one({"n": 1000}, {"$set": {"grp": 9}}, upsert=True)
out["upserted"] = res.upserted_id is not None
out["update_many"] = db.items.update_many({"grp": 0}, {"$inc": {"bump": 1}}).modified_count
doc = db.items.find_one_and_update({"n": 3}, {"$set": {"seen": True}},
                                   return_document=pymongo.ReturnDocument.AFTER)
out["find_one_and_update"] = doc["seen"]
out["distinct"] = sorted(db.items.distinct("grp"))
db.authors.insert_many([{"_id": g, "name": "g%d" % g} for g in range(4)])
joined = list(db.items.aggregate([
    {"$match": {"n": {"$lt": 4}}},
    {"$lookup": {"from": "authors", "localField": "grp", "foreignField": "_id", "as": "a"}},
    {"$unwind": "$a"}, {"$sort": {"n": 1}}, {"$project": {"_id": 0, "n": 1, "a": "$a.name"}}]))
out["lookup"] = joined
db.items.create_index("n", unique=True)
try:
    db.items.insert_one({"n": 5})
except DuplicateKeyError as exc:
    out["duplicate_code"] = exc.code
out["collections"] = sorted(db.list_collection_names())
out["deleted"] = db.items.delete_many({"grp": 3}).deleted_count
try:
    db.client.admin.command("listDatabases", authorizedDatabases=False)
except OperationFailure as exc:
    out["other_db_code"] = exc.code
print(json.dumps(out))
