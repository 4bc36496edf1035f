#!/usr/bin/python
# MIT License (see the project's LICENSE file)
"""Ansible module: report whether mongod answers commands, optionally as a given user."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mongodb_ready
short_description: Report whether mongod answers a ping, and whether given credentials authenticate
description:
  - Connects to one mongod directly and runs C(ping). With O(user) and O(password) it also
    authenticates (SCRAM) and runs C(ping) as that user.
  - It never fails because mongod is down or the credentials are wrong; it reports what it saw,
    so that a task can retry with C(until) and decide what to do next.
  - It also reports the member's view of its replica set from C(hello) (no credentials needed):
    the set's name, its primary, and whether this member is the primary or a secondary; and,
    when the credentials authenticate on an initiated member, the hosts of the set's
    configuration (C(replSetGetConfig)).
  - Changes nothing.
options:
  host:
    description: Address of mongod.
    type: str
    default: 127.0.0.1
  port:
    description: Port of mongod.
    type: int
    default: 27017
  user:
    description: User to authenticate as; omit to check readiness only.
    type: str
  password:
    description: Password of O(user).
    type: str
  auth_database:
    description: Authentication database of O(user).
    type: str
    default: admin
  timeout:
    description: Seconds to wait for the server on each attempt.
    type: int
    default: 5
requirements:
  - pymongo >= 4.0 on the managed host
"""

RETURN = r"""
ready:
  description: mongod answered C(ping).
  type: bool
  returned: always
version:
  description: Server version from C(buildInfo), when it answered.
  type: str
  returned: always
authenticated:
  description: The credentials authenticated; null when no O(user) was given or mongod did not answer.
  type: bool
  returned: always
error:
  description: Why mongod did not answer or the credentials did not authenticate; empty otherwise.
  type: str
  returned: always
error_code:
  description: MongoDB's error code for that failure (18 is AuthenticationFailed); null when none.
  type: int
  returned: always
set_name:
  description: Name of the replica set this member belongs to (C(hello) setName); empty for a
    standalone or a member whose set is not initiated yet.
  type: str
  returned: always
primary:
  description: The set's primary as host:port, as the set's configuration names it; empty when
    there is none (no set, or an election under way).
  type: str
  returned: always
writable_primary:
  description: This member is the primary (or a standalone that accepts writes).
  type: bool
  returned: always
secondary:
  description: This member is a secondary of an initiated set.
  type: bool
  returned: always
config_hosts:
  description: The host:port of every member in the set's configuration (C(replSetGetConfig)),
    read as the authenticated user; empty when there is no set or the user did not authenticate.
  type: list
  elements: str
  returned: always
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure, PyMongoError
except ImportError:
    PYMONGO_ERROR = traceback.format_exc()
else:
    PYMONGO_ERROR = None


def _client(params, **credentials):
    millis = params["timeout"] * 1000
    return MongoClient(
        host=params["host"],
        port=params["port"],
        directConnection=True,
        serverSelectionTimeoutMS=millis,
        connectTimeoutMS=millis,
        socketTimeoutMS=millis,
        appname="ansible-mongodb_ready",
        **credentials
    )


def check(params):
    result = dict(changed=False, ready=False, version="", authenticated=None, error="", error_code=None,
                  set_name="", primary="", writable_primary=False, secondary=False, config_hosts=[])
    client = _client(params)
    try:
        client.admin.command("ping")
        result["version"] = client.admin.command("buildInfo").get("version", "")
        hello = client.admin.command("hello")
        result.update(
            set_name=hello.get("setName", ""),
            primary=hello.get("primary", ""),
            writable_primary=bool(hello.get("isWritablePrimary", hello.get("ismaster", False))),
            secondary=bool(hello.get("secondary", False)),
        )
    except OperationFailure as exc:
        result.update(error=str(exc), error_code=exc.code)
        return result
    except PyMongoError as exc:
        result["error"] = str(exc)
        return result
    finally:
        client.close()
    result["ready"] = True
    if not params["user"]:
        return result

    client = _client(
        params,
        username=params["user"],
        password=params["password"],
        authSource=params["auth_database"],
    )
    try:
        client.admin.command("ping")
        result["authenticated"] = True
        if result["set_name"]:
            config = client.admin.command("replSetGetConfig")["config"]
            result["config_hosts"] = [member["host"] for member in config.get("members", [])]
    except OperationFailure as exc:
        if not result["authenticated"]:
            result["authenticated"] = False
        result.update(error=str(exc), error_code=exc.code)
    except PyMongoError as exc:
        # mongod went away between the two connections: not ready after all.
        result.update(ready=False, authenticated=None, error=str(exc))
    finally:
        client.close()
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str", default="127.0.0.1"),
            port=dict(type="int", default=27017),
            user=dict(type="str"),
            password=dict(type="str", no_log=True),
            auth_database=dict(type="str", default="admin"),
            timeout=dict(type="int", default=5),
        ),
        required_together=[("user", "password")],
        supports_check_mode=True,
    )
    if PYMONGO_ERROR:
        module.fail_json(msg=missing_required_lib("pymongo"), exception=PYMONGO_ERROR)
    module.exit_json(**check(module.params))


if __name__ == "__main__":
    main()
