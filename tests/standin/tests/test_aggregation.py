"""Aggregation through the stand-in, including the mongomock gaps it closes."""

import datetime

import pytest
from bson import Decimal128, ObjectId
from pymongo.errors import OperationFailure


@pytest.fixture
def db(standin):
    with standin.client() as client:
        database = client.agg
        database.authors.insert_many([
            {"_id": 1, "name": "Ann", "country": "NO"},
            {"_id": 2, "name": "Bob", "country": "SE"},
            {"_id": 3, "name": "Cid", "country": "NO"},
        ])
        database.books.insert_many([
            {"_id": 10, "title": "A1", "author_id": 1, "year": 2001, "tags": ["x", "y"]},
            {"_id": 11, "title": "A2", "author_id": 1, "year": 2011},
            {"_id": 12, "title": "B1", "author_id": 2, "year": 2005, "tags": []},
            {"_id": 13, "title": "Orphan", "author_id": 99, "year": 1999},
        ])
        yield database


def test_lookup_local_foreign_field(db):
    docs = list(db.authors.aggregate([
        {"$lookup": {"from": "books", "localField": "_id", "foreignField": "author_id",
                     "as": "books"}},
        {"$project": {"name": 1, "n": {"$size": "$books"}}},
        {"$sort": {"_id": 1}},
    ]))
    assert [(d["name"], d["n"]) for d in docs] == [("Ann", 2), ("Bob", 1), ("Cid", 0)]


def test_lookup_let_pipeline_with_expr(db):
    docs = list(db.authors.aggregate([
        {"$lookup": {
            "from": "books",
            "let": {"aid": "$_id", "since": 2004},
            "pipeline": [
                {"$match": {"$expr": {"$and": [{"$eq": ["$author_id", "$$aid"]},
                                               {"$gte": ["$year", "$$since"]}]}}},
                {"$project": {"_id": 0, "title": 1}},
            ],
            "as": "recent"}},
        {"$sort": {"_id": 1}},
    ]))
    assert [d["recent"] for d in docs] == [[{"title": "A2"}], [{"title": "B1"}], []]


def test_lookup_concise_form_and_nested_variables(db):
    docs = list(db.authors.aggregate([
        {"$match": {"_id": 1}},
        {"$lookup": {
            "from": "books", "localField": "_id", "foreignField": "author_id",
            "let": {"country": "$country"},
            "pipeline": [
                {"$lookup": {"from": "authors", "let": {"a": "$author_id"},
                             "pipeline": [{"$match": {"$expr": {"$and": [
                                 {"$eq": ["$_id", "$$a"]},
                                 {"$eq": ["$country", "$$country"]}]}}}],
                             "as": "same"}},
                {"$project": {"_id": 0, "title": 1, "same": {"$size": "$same"}}},
            ],
            "as": "books"}},
    ]))
    assert sorted(docs[0]["books"], key=lambda b: b["title"]) == [
        {"title": "A1", "same": 1}, {"title": "A2", "same": 1}]


def test_django_style_left_join_with_type_missing(db):
    # The shape django-mongodb-backend emits for LEFT OUTER joins.
    docs = list(db.books.aggregate([
        {"$lookup": {"from": "authors", "let": {"p0": "$author_id"},
                     "pipeline": [{"$match": {"$expr": {"$and": [{"$eq": ["$$p0", "$_id"]}]}}}],
                     "as": "a"}},
        {"$set": {"a": {"$cond": {"if": {"$or": [{"$eq": [{"$type": "$a"}, "missing"]},
                                                 {"$eq": [{"$size": "$a"}, 0]}]},
                                  "then": [{}], "else": "$a"}}}},
        {"$unwind": "$a"},
        {"$project": {"title": 1, "author": "$a.name"}},
        {"$sort": {"_id": 1}},
    ]))
    assert [(d["title"], d.get("author")) for d in docs] == [
        ("A1", "Ann"), ("A2", "Ann"), ("B1", "Bob"), ("Orphan", None)]


def test_type_operator(db):
    db.types.insert_one({"_id": 1, "s": "x", "i": 1, "l": 2 ** 40, "d": 1.5, "b": True,
                         "n": None, "o": {}, "a": [], "oid": ObjectId(),
                         "dt": datetime.datetime(2024, 1, 1), "dec": Decimal128("1.1")})
    doc = next(db.types.aggregate([{"$project": {
        k: {"$type": "$" + k} for k in ("s", "i", "l", "d", "b", "n", "o", "a", "oid", "dt",
                                        "dec", "nope")}}]))
    assert doc == {"_id": 1, "s": "string", "i": "int", "l": "long", "d": "double",
                   "b": "bool", "n": "null", "o": "object", "a": "array", "oid": "objectId",
                   "dt": "date", "dec": "decimal", "nope": "missing"}


def test_add_fields_merges_into_embedded_document(db):
    db.emb.insert_one({"_id": 1, "sub": {"keep": 1, "x": 2}, "v": 5})
    doc = next(db.emb.aggregate([{"$addFields": {"sub": {"x": "$v", "y": {"$add": [1, 1]}}}}]))
    assert doc["sub"] == {"keep": 1, "x": 5, "y": 2}


def test_group_facet_count_and_empty_group(db):
    docs = list(db.books.aggregate([
        {"$facet": {
            "total": [{"$count": "n"}],
            "byAuthor": [{"$group": {"_id": "$author_id", "c": {"$sum": 1}}},
                         {"$sort": {"_id": 1}}],
        }}]))
    assert docs[0]["total"] == [{"n": 4}]
    assert docs[0]["byAuthor"] == [{"_id": 1, "c": 2}, {"_id": 2, "c": 1}, {"_id": 99, "c": 1}]
    # $group with _id null over no documents yields nothing (mongomock yielded one group)
    assert list(db.books.aggregate([{"$match": {"year": 0}},
                                    {"$group": {"_id": None, "n": {"$sum": 1}}}])) == []
    grouped = list(db.books.aggregate([{"$group": {"_id": None, "n": {"$sum": 1}}}]))
    assert grouped == [{"_id": None, "n": 4}] and list(grouped[0]) == ["_id", "n"]


def test_more_operators_and_stages(db):
    db.ops.insert_one({"_id": 1, "a": [1, 2, 3], "b": [2, 3, 4], "s": "a-b-a", "f": 2.567,
                       "obj": {"k.dot": 7}})
    doc = next(db.ops.aggregate([{"$project": {
        "inter": {"$setIntersection": ["$a", "$b"]},
        "diff": {"$setDifference": ["$a", "$b"]},
        "subset": {"$setIsSubset": [[2], "$a"]},
        "any": {"$anyElementTrue": [[0, False, 1]]},
        "all": {"$allElementsTrue": [[1, True]]},
        "rep": {"$replaceAll": {"input": "$s", "find": "a", "replacement": "z"}},
        "rep1": {"$replaceOne": {"input": "$s", "find": "a", "replacement": "z"}},
        "round": {"$round": ["$f", 1]},
        "field": {"$getField": {"field": "k.dot", "input": "$obj"}},
        "len": {"$strLenCP": "$s"},
        "now": {"$lt": ["$$NOW", datetime.datetime(2999, 1, 1)]},
    }}]))
    assert doc == {"_id": 1, "inter": [2, 3], "diff": [1], "subset": True, "any": True,
                   "all": True, "rep": "z-b-z", "rep1": "z-b-a", "round": 2.6, "field": 7,
                   "len": 5, "now": True}
    assert next(db.ops.aggregate([{"$unset": ["a", "obj"]}])).keys() == {"_id", "b", "s", "f"}
    assert next(db.ops.aggregate([{"$replaceWith": "$obj"}])) == {"k.dot": 7}
    union = list(db.authors.aggregate([{"$project": {"name": 1}},
                                       {"$unionWith": {"coll": "books",
                                                       "pipeline": [{"$project": {"title": 1}}]}}]))
    assert len(union) == 7


def test_aggregate_let_option_and_out(db):
    docs = list(db.books.aggregate([{"$match": {"$expr": {"$gt": ["$year", "$$y"]}}},
                                    {"$project": {"_id": 1}}], let={"y": 2004}))
    assert sorted(d["_id"] for d in docs) == [11, 12]
    list(db.books.aggregate([{"$match": {"author_id": 1}}, {"$out": "ann_books"}]))
    assert db.ann_books.count_documents({}) == 2


def test_count_documents_uses_aggregate(db):
    assert db.books.count_documents({"year": {"$gt": 2000}}) == 3
    assert db.books.count_documents({}, skip=1, limit=2) == 2


def test_aggregate_errors(db):
    with pytest.raises(OperationFailure) as err:
        list(db.books.aggregate([{"$merge": {"into": "x"}}]))
    assert err.value.code == 238
