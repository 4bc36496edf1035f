#!/usr/bin/env python3
"""MongoDB access checks the verify playbook runs from a web host (needs pymongo).

Prints one JSON object. Sub-commands:
  access HOST PORT DB USER     unauthenticated listDatabases; as USER (password in the
                               environment variable MONGODB_PASSWORD): insert + read in DB,
                               and a read on admin
  write HOST PORT DB USER KEY  store a document {_id: KEY} in DB.verify
  read HOST PORT DB USER KEY   read it back
"""

from __future__ import annotations

import json
import os
import sys

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError


def client(host, port, user=None, db=None):
    options = dict(host=host, port=int(port), directConnection=True, serverSelectionTimeoutMS=5000)
    if user:
        options.update(username=user, password=os.environ["MONGODB_PASSWORD"], authSource=db)
    return MongoClient(**options)


def outcome(action):
    try:
        return {"ok": True, "value": action()}
    except OperationFailure as exc:
        return {"ok": False, "code": exc.code, "error": str(exc)[:300]}
    except PyMongoError as exc:
        return {"ok": False, "code": None, "error": f"{type(exc).__name__}: {exc}"[:300]}


def main():
    command, host, port, db, user, *rest = sys.argv[1:]
    if command == "access":
        anonymous = client(host, port)
        app = client(host, port, user, db)
        result = {
            "anonymous_list_databases": outcome(lambda: anonymous.admin.command("listDatabases")["ok"]),
            "app_insert": outcome(lambda: str(app[db].verify.insert_one({"probe": "access"}).inserted_id)),
            "app_read": outcome(lambda: app[db].verify.count_documents({"probe": "access"})),
            "app_read_admin": outcome(lambda: app.admin.system.users.count_documents({})),
        }
    elif command == "write":
        app = client(host, port, user, db)
        result = outcome(
            lambda: app[db].verify.replace_one({"_id": rest[0]}, {"_id": rest[0]}, upsert=True).acknowledged
        )
    elif command == "read":
        app = client(host, port, user, db)
        result = outcome(lambda: app[db].verify.find_one({"_id": rest[0]}) is not None)
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
