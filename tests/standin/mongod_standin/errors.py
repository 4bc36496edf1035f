"""MongoDB error codes and the exception the command layer raises.

Only codes the stand-in actually produces are listed; names and numbers are
those of MongoDB's error_codes.yml.
"""

import datetime
import re

CODE_NAMES = {
    1: "InternalError",
    2: "BadValue",
    8: "UnknownError",
    9: "FailedToParse",
    11: "UserNotFound",
    13: "Unauthorized",
    14: "TypeMismatch",
    18: "AuthenticationFailed",
    23: "AlreadyInitialized",
    26: "NamespaceNotFound",
    27: "IndexNotFound",
    30: "InvalidPath",
    31: "RoleNotFound",
    40: "ConflictingUpdateOperators",
    43: "CursorNotFound",
    48: "NamespaceExists",
    52: "DollarPrefixedFieldName",
    59: "CommandNotFound",
    66: "ImmutableField",
    67: "CannotCreateIndex",
    72: "InvalidOptions",
    73: "InvalidNamespace",
    74: "NodeNotFound",
    76: "NoReplicationEnabled",
    85: "IndexOptionsConflict",
    86: "IndexKeySpecsConflict",
    91: "ShutdownInProgress",
    93: "InvalidReplicaSetConfig",
    94: "NotYetInitialized",
    96: "OperationFailed",
    103: "NewReplicaSetConfigurationIncompatible",
    115: "CommandNotSupported",
    166: "CommandNotSupportedOnView",
    238: "NotImplemented",
    352: "UnsupportedOpQueryCommand",
    10107: "NotWritablePrimary",
    10334: "BSONObjectTooLarge",
    11000: "DuplicateKey",
    13435: "NotPrimaryNoSecondaryOk",
    13436: "NotPrimaryOrSecondary",
    51003: "Location51003",
}


def code_name(code):
    return CODE_NAMES.get(code, "Location%d" % code)


class CommandError(Exception):
    """A command failed; rendered as {ok: 0, errmsg, code, codeName, ...}."""

    def __init__(self, code, errmsg, **extra):
        super().__init__(errmsg)
        self.code = code
        self.errmsg = errmsg
        self.extra = extra

    def to_doc(self):
        doc = {"ok": 0.0, "errmsg": self.errmsg, "code": self.code,
               "codeName": code_name(self.code)}
        doc.update(self.extra)
        return doc


class DuplicateKey(CommandError):
    """E11000 with the fields real mongod attaches (keyPattern, keyValue)."""

    def __init__(self, ns, index_name, key_pattern, key_value):
        msg = "E11000 duplicate key error collection: %s index: %s dup key: %s" % (
            ns, index_name, shell_repr(key_value))
        super().__init__(11000, msg, keyPattern=key_pattern, keyValue=key_value)
        self.ns = ns
        self.index_name = index_name

    def write_error(self, index):
        return {"index": index, "code": 11000, "errmsg": self.errmsg,
                "keyPattern": self.extra["keyPattern"], "keyValue": self.extra["keyValue"]}


_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def shell_repr(value):
    """Render a value the way mongod prints documents in error messages."""
    # Imported lazily: errors.py must stay importable without bson for tooling.
    from bson import Binary, Decimal128, Int64, ObjectId, Regex
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dict):
        if not value:
            return "{}"
        parts = []
        for k, v in value.items():
            key = k if _IDENT.match(k) else '"%s"' % k
            parts.append("%s: %s" % (key, shell_repr(v)))
        return "{ " + ", ".join(parts) + " }"
    if isinstance(value, (list, tuple)):
        return "[ " + ", ".join(shell_repr(v) for v in value) + " ]" if value else "[]"
    if isinstance(value, ObjectId):
        return "ObjectId('%s')" % value
    if isinstance(value, str):
        return '"%s"' % value.replace('"', '\\"')
    if isinstance(value, Int64):
        return "%d" % value
    if isinstance(value, int):
        return "%d" % value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal128):
        return 'Decimal128("%s")' % value
    if isinstance(value, datetime.datetime):
        return "new Date(%d)" % int(
            (value.replace(tzinfo=None) - datetime.datetime(1970, 1, 1)).total_seconds() * 1000)
    if isinstance(value, Binary):
        return "BinData(%d, %s)" % (value.subtype, value.hex().upper())
    if isinstance(value, Regex):
        return "/%s/%s" % (value.pattern, value.flags)
    return str(value)
