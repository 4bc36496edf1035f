"""Gaps in mongomock 4.3 that this project's clients hit, closed here.

Each addition is covered by tests/test_aggregation.py:

* $lookup with `let` + `pipeline` (and the 5.0+ concise form that combines
  localField/foreignField with a pipeline); variables are visible to $expr in
  the sub-pipeline, including nested lookups.
* `let` on aggregate/find/update/delete commands, and $$NOW.
* expression operators: $type (incl. "missing"), $getField, $setIntersection,
  $setDifference, $setIsSubset, $anyElementTrue, $allElementsTrue, $replaceAll,
  $replaceOne, $round, $toBool, $toDouble, $toObjectId, $strLenCP/$strLenBytes,
  $substrCP, $indexOfCP on missing inputs.
* $addFields/$set: an object literal merges into an existing embedded document
  (mongomock replaced the embedded document; django-mongodb-backend's
  select_related relies on the merge).
* stages: $unset, $replaceWith, $unionWith, $documents-free `$match` on empty
  input, and $group with `_id: null` on an empty input (returns nothing, as
  mongod does, not one empty group).
"""

import contextlib
import copy
import datetime
import decimal
import threading
import uuid

from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from mongomock import OperationFailure, aggregate, filtering, helpers
from sentinels import NOTHING

_state = threading.local()


def _vars():
    return getattr(_state, "vars", None) or {}


@contextlib.contextmanager
def variables(new_vars):
    """Make let-variables ($$name) visible to every expression evaluated inside."""
    previous = getattr(_state, "vars", None)
    merged = dict(previous or {})
    merged.update(new_vars)
    _state.vars = merged
    try:
        yield
    finally:
        _state.vars = previous


def command_context(let=None):
    base = {"NOW": datetime.datetime.utcnow().replace(microsecond=(
        datetime.datetime.utcnow().microsecond // 1000) * 1000)}
    if let:
        base.update({k: aggregate._Parser({}, base).parse(v) for k, v in let.items()})
    return variables(base)


# ------------------------------------------------------------------ parser
_Parser = aggregate._Parser
_original_init = _Parser.__init__
_original_parse = _Parser.parse


def _init(self, doc_dict, user_vars=None, ignore_missing_keys=False):
    context = _vars()
    if context:
        merged = dict(context)
        merged.update(user_vars or {})
        user_vars = merged
    _original_init(self, doc_dict, user_vars, ignore_missing_keys)


def bson_type_name(value):
    if value is NOTHING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Int64):
        return "long"
    if isinstance(value, int):
        return "int" if -2 ** 31 <= value < 2 ** 31 else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, ObjectId):
        return "objectId"
    if isinstance(value, datetime.datetime):
        return "date"
    if isinstance(value, (Binary, bytes, uuid.UUID)):
        return "binData"
    if isinstance(value, (Regex, helpers.RE_TYPE)):
        return "regex"
    if isinstance(value, (Decimal128, decimal.Decimal)):
        return "decimal"
    if isinstance(value, Timestamp):
        return "timestamp"
    if isinstance(value, Code):
        return "javascript"
    if isinstance(value, MinKey):
        return "minKey"
    if isinstance(value, MaxKey):
        return "maxKey"
    if type(value).__name__ == "DatetimeMS":
        return "date"
    return "object"


def _single_arg(values):
    if isinstance(values, list):
        if len(values) != 1:
            raise OperationFailure("Expression takes exactly 1 arguments. %d were passed in."
                                   % len(values))
        return values[0]
    return values


def _maybe(parser, expression):
    try:
        return parser.parse(expression)
    except KeyError:
        return NOTHING


def _as_array(value, operator):
    if not isinstance(value, (list, tuple)):
        raise OperationFailure("All operands of %s must be arrays. One argument is of type: %s"
                               % (operator, bson_type_name(value)))
    return list(value)


def _op_type(parser, values):
    return bson_type_name(_maybe(parser, _single_arg(values)))


def _op_get_field(parser, values):
    if isinstance(values, dict) and "field" in values:
        field = parser.parse(values["field"])
        source = _maybe(parser, values.get("input", "$$CURRENT"))
    else:
        field = parser.parse(values)
        source = _maybe(parser, "$$CURRENT")
    if not isinstance(field, str):
        raise OperationFailure("$getField requires 'field' to evaluate to type String")
    if source is NOTHING or source is None:
        return None
    if not isinstance(source, dict):
        raise OperationFailure("$getField requires 'input' to evaluate to type Object")
    if field not in source:
        raise KeyError(field)
    return source[field]


def _op_set_intersection(parser, values):
    arrays = [_maybe(parser, v) for v in values]
    if any(a is None or a is NOTHING for a in arrays):
        return None
    arrays = [_as_array(a, "$setIntersection") for a in arrays]
    if not arrays:
        return []
    result = []
    for item in arrays[0]:
        if all(item in other for other in arrays[1:]) and item not in result:
            result.append(item)
    return result


def _op_set_difference(parser, values):
    first, second = (_maybe(parser, v) for v in values)
    if first in (None, NOTHING) or second in (None, NOTHING):
        return None
    first = _as_array(first, "$setDifference")
    second = _as_array(second, "$setDifference")
    result = []
    for item in first:
        if item not in second and item not in result:
            result.append(item)
    return result


def _op_set_is_subset(parser, values):
    first, second = (_maybe(parser, v) for v in values)
    first = _as_array(first, "$setIsSubset")
    second = _as_array(second, "$setIsSubset")
    return all(item in second for item in first)


def _op_any_element_true(parser, values):
    array = _as_array(parser.parse(_single_arg(values)), "$anyElementTrue")
    return any(helpers.mongodb_to_bool(v) for v in array)


def _op_all_elements_true(parser, values):
    array = _as_array(parser.parse(_single_arg(values)), "$allElementsTrue")
    return all(helpers.mongodb_to_bool(v) for v in array)


def _replace(parser, values, count):
    text = _maybe(parser, values.get("input"))
    find = _maybe(parser, values.get("find"))
    replacement = _maybe(parser, values.get("replacement"))
    if any(v in (None, NOTHING) for v in (text, find, replacement)):
        return None
    for name, val in (("input", text), ("find", find), ("replacement", replacement)):
        if not isinstance(val, str):
            raise OperationFailure("$replace requires that '%s' be a string" % name)
    return text.replace(find, replacement, count)


def _op_round(parser, values):
    if not isinstance(values, list):
        values = [values]
    number = _maybe(parser, values[0])
    places = parser.parse(values[1]) if len(values) > 1 else 0
    if number in (None, NOTHING):
        return None
    if isinstance(number, Decimal128):
        quant = decimal.Decimal(1).scaleb(-places)
        return Decimal128(number.to_decimal().quantize(quant, rounding=decimal.ROUND_HALF_EVEN))
    result = round(number, places)
    return int(result) if isinstance(number, int) else float(result)


def _op_to_bool(parser, values):
    value = _maybe(parser, _single_arg(values))
    if value in (None, NOTHING):
        return None
    return helpers.mongodb_to_bool(value)


def _op_to_double(parser, values):
    value = _maybe(parser, _single_arg(values))
    if value in (None, NOTHING):
        return None
    if isinstance(value, Decimal128):
        return float(value.to_decimal())
    if isinstance(value, datetime.datetime):
        epoch = datetime.datetime(1970, 1, 1)
        return (value.replace(tzinfo=None) - epoch).total_seconds() * 1000.0
    try:
        return float(value)
    except (TypeError, ValueError):
        raise OperationFailure("Failed to parse number '%s' in $convert with no onError value"
                               % value) from None


def _op_to_object_id(parser, values):
    value = _maybe(parser, _single_arg(values))
    if value in (None, NOTHING):
        return None
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(value)
    except Exception:  # noqa: BLE001 - mongod's message below
        raise OperationFailure("Failed to parse objectId '%s' in $convert with no onError value"
                               % value) from None


def _string_or_null(parser, expression):
    value = _maybe(parser, expression)
    return None if value is NOTHING else value


def _op_str_len_cp(parser, values):
    value = _string_or_null(parser, _single_arg(values))
    if not isinstance(value, str):
        raise OperationFailure("$strLenCP requires a string argument, found: %s"
                               % bson_type_name(value))
    return len(value)


def _op_str_len_bytes(parser, values):
    value = _string_or_null(parser, _single_arg(values))
    if not isinstance(value, str):
        raise OperationFailure("$strLenBytes requires a string argument, found: %s"
                               % bson_type_name(value))
    return len(value.encode("utf-8"))


def _op_substr_cp(parser, values):
    text, start, length = values
    text = _string_or_null(parser, text)
    start = parser.parse(start)
    length = parser.parse(length)
    if text is None:
        return ""
    return str(text)[start:start + length]


def _op_index_of_cp(parser, values):
    text = _string_or_null(parser, values[0])
    needle = parser.parse(values[1])
    if text is None:
        return None
    start = parser.parse(values[2]) if len(values) > 2 else 0
    end = parser.parse(values[3]) if len(values) > 3 else len(text)
    return text.find(needle, start, end)


EXTRA_OPERATORS = {
    "$type": _op_type,
    "$getField": _op_get_field,
    "$setIntersection": _op_set_intersection,
    "$setDifference": _op_set_difference,
    "$setIsSubset": _op_set_is_subset,
    "$anyElementTrue": _op_any_element_true,
    "$allElementsTrue": _op_all_elements_true,
    "$replaceAll": lambda p, v: _replace(p, v, -1),
    "$replaceOne": lambda p, v: _replace(p, v, 1),
    "$round": _op_round,
    "$toBool": _op_to_bool,
    "$toDouble": _op_to_double,
    "$toObjectId": _op_to_object_id,
    "$strLenCP": _op_str_len_cp,
    "$strLenBytes": _op_str_len_bytes,
    "$substrCP": _op_substr_cp,
    "$indexOfCP": _op_index_of_cp,
}


def _parse(self, expression):
    if isinstance(expression, dict) and len(expression) == 1:
        (operator, values), = expression.items()
        handler = EXTRA_OPERATORS.get(operator)
        if handler is not None:
            return handler(self, values)
    return _original_parse(self, expression)


# ------------------------------------------------------------------ stages
_original_lookup = aggregate._handle_lookup_stage
_original_group = aggregate._handle_group_stage


def _lookup_values(doc, path):
    try:
        value = helpers.get_value_by_dot(doc, path, can_generate_array=True)
    except KeyError:
        return [None]
    if isinstance(value, list):
        flat = []
        for item in value:
            flat.extend(item if isinstance(item, list) else [item])
        return flat + ([value] if not value else [])
    return [value]


def _handle_lookup(in_collection, database, options):
    if "pipeline" not in options and "let" not in options:
        return _original_lookup(in_collection, database, options)
    unknown = set(options) - {"from", "let", "pipeline", "as", "localField", "foreignField"}
    if unknown:
        raise OperationFailure("unknown argument to $lookup: %s" % sorted(unknown)[0])
    if "as" not in options:
        raise OperationFailure("must specify 'as' field for a $lookup")
    if ("localField" in options) != ("foreignField" in options):
        raise OperationFailure("$lookup requires both or neither of 'localField' and "
                               "'foreignField' to be specified")
    pipeline = options.get("pipeline", [])
    let = options.get("let", {})
    if not isinstance(pipeline, list):
        raise OperationFailure("$lookup argument 'pipeline' must be an array")
    if not isinstance(let, dict):
        raise OperationFailure("$lookup argument 'let' must be an object")
    foreign = list(database.get_collection(options["from"]).find()) if "from" in options else []
    local_field = options.get("localField")
    foreign_field = options.get("foreignField")
    for doc in in_collection:
        parser = _Parser(doc, ignore_missing_keys=True)
        bound = {}
        for name, expression in let.items():
            try:
                bound[name] = parser.parse(expression)
            except KeyError:
                bound[name] = None
        candidates = foreign
        if local_field is not None:
            wanted = _lookup_values(doc, local_field)
            candidates = [f for f in foreign
                          if any(v in wanted for v in _lookup_values(f, foreign_field))]
        with variables(bound):
            result = aggregate.process_pipeline(copy.deepcopy(candidates), database,
                                                pipeline, None)
        doc[options["as"]] = list(result)
    return in_collection


def _handle_group(in_collection, database, options):
    if not in_collection:
        return []
    out = []
    for doc in _original_group(in_collection, database, options):
        ordered = {"_id": doc["_id"]}          # mongod emits _id first
        ordered.update((k, v) for k, v in doc.items() if k != "_id")
        out.append(ordered)
    return out


def _handle_unset(in_collection, unused_database, options):
    fields = [options] if isinstance(options, str) else options
    if not isinstance(fields, list) or not fields or \
            not all(isinstance(f, str) and f for f in fields):
        raise OperationFailure("$unset specification must be a string or an array "
                               "containing only string values")
    out = []
    for doc in in_collection:
        doc = copy.deepcopy(doc)
        for field in fields:
            parts = field.split(".")
            node = doc
            for part in parts[:-1]:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(parts[-1], None)
        out.append(doc)
    return out


def _is_nested_spec(value):
    return isinstance(value, dict) and bool(value) and \
        not any(str(k).startswith("$") for k in value)


def _add_fields_into(target, spec, parser):
    """$addFields semantics: object literals merge into existing embedded documents."""
    for field, value in spec.items():
        parts = field.split(".")
        node = target
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
            node[part] = child = dict(child)
            node = child
        last = parts[-1]
        if _is_nested_spec(value):
            existing = node.get(last)
            if isinstance(existing, list):
                merged = []
                for item in existing:
                    item = dict(item) if isinstance(item, dict) else {}
                    _add_fields_into(item, value, parser)
                    merged.append(item)
                node[last] = merged
            else:
                merged = dict(existing) if isinstance(existing, dict) else {}
                _add_fields_into(merged, value, parser)
                node[last] = merged
            continue
        try:
            node[last] = parser.parse(value)
        except KeyError:        # missing value or $$REMOVE: the field is not present
            node.pop(last, None)


def _handle_add_fields(in_collection, unused_database, options):
    if not isinstance(options, dict) or not options:
        raise OperationFailure("Invalid $addFields :: caused by :: specification must have at "
                               "least one field")
    out = []
    for doc in in_collection:
        new_doc = dict(doc)
        _add_fields_into(new_doc, options, _Parser(doc, ignore_missing_keys=True))
        out.append(new_doc)
    return out


def _handle_replace_with(in_collection, database, options):
    return aggregate._handle_replace_root_stage(in_collection, database, {"newRoot": options})


def _handle_union_with(in_collection, database, options):
    if isinstance(options, str):
        options = {"coll": options}
    other = list(database.get_collection(options["coll"]).find())
    other = aggregate.process_pipeline(other, database, options.get("pipeline", []), None)
    return list(in_collection) + list(other)


def install():
    _Parser.__init__ = _init
    _Parser.parse = _parse
    handlers = aggregate._PIPELINE_HANDLERS
    handlers["$lookup"] = _handle_lookup
    handlers["$group"] = _handle_group
    handlers["$unset"] = _handle_unset
    handlers["$addFields"] = _handle_add_fields
    handlers["$set"] = _handle_add_fields
    handlers["$replaceWith"] = _handle_replace_with
    handlers["$unionWith"] = _handle_union_with
    # Operators mongomock lists but answers with NotImplementedError are now handled
    # by EXTRA_OPERATORS before mongomock's dispatch; nothing else to register.
    filtering.register_parse_expression(aggregate._parse_expression)


install()
