#!/usr/bin/env python3
"""What the mongodb scenario's verify reads from mongod on its host (needs pymongo).

Reads a JSON object from stdin (so that no password is on a command line):
  {"port": 27017, "admin": ["user", "password"], "app": ["user", "password", "database"]}
and prints one JSON object. Sub-commands:
  state                 as the admin user: buildInfo version and featureCompatibilityVersion
  set-fcv VERSION       as the admin user: setFeatureCompatibilityVersion VERSION, confirm: true
  write KEY             as the application user: store {_id: KEY} in <database>.verify
  read KEY              as the application user: whether {_id: KEY} is there
"""

from __future__ import annotations

import json
import sys

from pymongo import MongoClient


def client(port, user, password, database):
    return MongoClient(host="127.0.0.1", port=int(port), username=user, password=password,
                       authSource=database, directConnection=True, serverSelectionTimeoutMS=10000)


def main():
    command, *rest = sys.argv[1:]
    given = json.load(sys.stdin)
    port = given["port"]
    if command in ("state", "set-fcv"):
        admin = client(port, *given["admin"], "admin")
        if command == "set-fcv":
            admin.admin.command({"setFeatureCompatibilityVersion": rest[0], "confirm": True})
        fcv = admin.admin.command({"getParameter": 1, "featureCompatibilityVersion": 1})
        result = {"version": admin.admin.command("buildInfo")["version"],
                  "fcv": fcv["featureCompatibilityVersion"]["version"]}
    elif command in ("write", "read"):
        user, password, database = given["app"]
        collection = client(port, user, password, database)[database].verify
        if command == "write":
            collection.replace_one({"_id": rest[0]}, {"_id": rest[0]}, upsert=True)
        result = {"found": collection.find_one({"_id": rest[0]}) is not None}
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
