#!/usr/bin/python
# MIT License (see the project's LICENSE file)
"""Ansible module: read, and optionally set, mongod's featureCompatibilityVersion."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mongodb_fcv
short_description: Read the server version and featureCompatibilityVersion of mongod, optionally set the latter
description:
  - Connects to one mongod directly, authenticated as O(login_user), and reads the server
    version (C(buildInfo)) and the featureCompatibilityVersion (C(getParameter)).
  - With O(feature_compatibility_version) it runs C(setFeatureCompatibilityVersion) with
    C(confirm: true) when the current value differs (MongoDB's upgrade procedure, last step).
    In check mode it only reports that it would.
  - community.mongodb has no module for this (its mongodb_shell needs mongosh), hence this one.
  - Fails with a message when mongod cannot be reached or the credentials do not authenticate.
options:
  login_host:
    description: Address of mongod.
    type: str
    default: 127.0.0.1
  login_port:
    description: Port of mongod.
    type: int
    default: 27017
  login_user:
    description: User with the C(getParameter) and C(setFeatureCompatibilityVersion) actions (root, clusterAdmin).
    type: str
    required: true
  login_password:
    description: Password of O(login_user).
    type: str
    required: true
  login_database:
    description: Authentication database of O(login_user).
    type: str
    default: admin
  feature_compatibility_version:
    description: The featureCompatibilityVersion to set, such as C(8.0); omit to read only.
    type: str
  timeout:
    description: Seconds to wait for the server.
    type: int
    default: 10
requirements:
  - pymongo >= 4.0 on the managed host
"""

RETURN = r"""
version:
  description: Server version from C(buildInfo).
  type: str
  returned: success
feature_compatibility_version:
  description: The featureCompatibilityVersion after the module ran (what it would be, in check mode).
  type: str
  returned: success
previous_feature_compatibility_version:
  description: The featureCompatibilityVersion before the module ran.
  type: str
  returned: success
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError
except ImportError:
    PYMONGO_ERROR = traceback.format_exc()
else:
    PYMONGO_ERROR = None


def read_fcv(client):
    reply = client.admin.command({"getParameter": 1, "featureCompatibilityVersion": 1})
    return reply["featureCompatibilityVersion"]["version"]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            login_host=dict(type="str", default="127.0.0.1"),
            login_port=dict(type="int", default=27017),
            login_user=dict(type="str", required=True),
            login_password=dict(type="str", required=True, no_log=True),
            login_database=dict(type="str", default="admin"),
            feature_compatibility_version=dict(type="str"),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    if PYMONGO_ERROR:
        module.fail_json(msg=missing_required_lib("pymongo"), exception=PYMONGO_ERROR)
    params = module.params
    millis = params["timeout"] * 1000
    client = MongoClient(
        host=params["login_host"],
        port=params["login_port"],
        username=params["login_user"],
        password=params["login_password"],
        authSource=params["login_database"],
        directConnection=True,
        serverSelectionTimeoutMS=millis,
        connectTimeoutMS=millis,
        socketTimeoutMS=millis,
        appname="ansible-mongodb_fcv",
    )
    wanted = params["feature_compatibility_version"]
    step = "reading the server version and featureCompatibilityVersion"
    try:
        version = client.admin.command("buildInfo").get("version", "")
        previous = read_fcv(client)
        current = previous
        if wanted and wanted != previous:
            if not module.check_mode:
                step = f"setting featureCompatibilityVersion to {wanted}"
                client.admin.command({"setFeatureCompatibilityVersion": wanted, "confirm": True})
                current = read_fcv(client)
            else:
                current = wanted
    except PyMongoError as exc:
        module.fail_json(
            msg=f"mongod on {params['login_host']}:{params['login_port']}: {step} as "
            f"{params['login_user']} failed: {exc}"
        )
    finally:
        client.close()
    module.exit_json(
        changed=current != previous,
        version=version,
        feature_compatibility_version=current,
        previous_feature_compatibility_version=previous,
    )


if __name__ == "__main__":
    main()
