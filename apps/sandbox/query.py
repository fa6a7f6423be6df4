"""Autotask's query language: parse a search body and turn its filter into a predicate."""

import json
from dataclasses import dataclass

from apps.sandbox.schema import Entity
from apps.sandbox.values import ApiError, coerce, error, parse_datetime

MAX_OR_CONDITIONS = 500
MAX_RECORDS = 500
COMPARISONS = {"eq", "noteq", "gt", "gte", "lt", "lte"}
TEXT_MATCHES = {"beginsWith", "endsWith", "contains"}
OPERATORS = COMPARISONS | TEXT_MATCHES | {"exist", "notExist", "in", "notIn", "and", "or"}


@dataclass
class Search:
    predicate: object  # callable(record) -> bool
    include_fields: list[str] | None
    max_records: int
    raw: dict


def _keys_lower(data: dict) -> dict:
    return {str(key).lower(): value for key, value in data.items()}


def parse_search_text(text: str) -> dict:
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise error("Invalid search JSON: the search parameter could not be parsed.") from None
    if not isinstance(data, dict):
        raise error("Invalid search JSON: expected an object with a filter.")
    return data


def parse_search(entity: Entity, data: dict, udf_names: set[str]) -> Search:
    body = _keys_lower(data)
    conditions = body.get("filter")
    if not isinstance(conditions, list) or not conditions:
        raise error("Invalid query: a filter is required.")
    counter = {"or": 0, "udf": 0}
    predicates = [_compile(entity, condition, udf_names, counter) for condition in conditions]
    if counter["udf"] > 1:
        raise error("Invalid query: you can only query by one user-defined field at a time.")
    if counter["or"] > MAX_OR_CONDITIONS:
        raise error("Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions.")

    include = body.get("includefields")
    include_fields = None
    if include:
        if not isinstance(include, list):
            raise error("Invalid query: IncludeFields must be a list of field names.")
        include_fields = []
        for name in include:
            found = entity.find(name)
            if found is None:
                raise error(f"Unable to find {name} in the {entity.singular} Entity.")
            include_fields.append(found.name)

    max_records = body.get("maxrecords", MAX_RECORDS)
    if max_records is None:
        max_records = MAX_RECORDS
    if isinstance(max_records, bool) or not isinstance(max_records, int):
        raise error("Invalid query: MaxRecords must be a whole number from 1 to 500.")
    if not 1 <= max_records <= MAX_RECORDS:
        raise error("Invalid query: MaxRecords must be a whole number from 1 to 500.")

    def predicate(record: dict) -> bool:
        return all(check(record) for check in predicates)

    return Search(predicate, include_fields, max_records, data)


def _compile(entity: Entity, condition, udf_names: set[str], counter: dict):
    if not isinstance(condition, dict):
        raise error("Invalid query: each filter condition must be an object.")
    item = _keys_lower(condition)
    op = item.get("op")
    if op not in OPERATORS:
        raise error(f"Invalid query: unknown operator '{op}'.")
    if op in ("and", "or"):
        items = item.get("items")
        if not isinstance(items, list) or not items:
            raise error(f"Invalid query: the '{op}' group needs items.")
        if op == "or":
            counter["or"] += len(items)
        parts = [_compile(entity, inner, udf_names, counter) for inner in items]
        if op == "and":
            return lambda record: all(part(record) for part in parts)
        return lambda record: any(part(record) for part in parts)

    name = item.get("field")
    if not isinstance(name, str) or not name:
        raise error(f"Invalid query: the '{op}' condition needs a field.")
    if item.get("udf") in (True, "true", "True"):
        return _compile_udf(entity, op, name, item, udf_names, counter)
    field = entity.find(name)
    if field is None:
        raise error(f"Unable to find {name} in the {entity.singular} Entity.")
    getter = _getter(field)
    return _compile_op(
        op, item, getter, lambda value: _typed(field, value), field.data_type, counter
    )


def _compile_udf(entity, op, name, item, udf_names, counter):
    counter["udf"] += 1
    match = next((udf for udf in udf_names if udf.lower() == name.lower()), None)
    if match is None:
        raise error(f"Unable to find {name} in the {entity.singular} Entity.")

    def getter(record):
        for pair in record.get("userDefinedFields") or ():
            if pair.get("name") == match:
                return pair.get("value")
        return None

    return _compile_op(op, item, getter, lambda value: str(value), "string", counter)


def _getter(field):
    name = field.name
    if field.data_type == "datetime":
        return lambda record: parse_datetime(record.get(name))
    if field.data_type == "string":
        return lambda record: (
            record.get(name).lower() if isinstance(record.get(name), str) else record.get(name)
        )
    return lambda record: record.get(name)


def _typed(field, value):
    converted = coerce(field, value)
    if field.data_type == "datetime":
        return parse_datetime(converted)
    if field.data_type == "string":
        return converted.lower()
    return converted


def _compile_op(op, item, getter, convert, data_type, counter):
    if op == "exist":
        return lambda record: getter(record) not in (None, "")
    if op == "notExist":
        return lambda record: getter(record) in (None, "")
    if "value" not in item:
        raise error(f"Invalid query: the '{op}' condition needs a value.")
    raw = item["value"]
    if op in ("in", "notIn"):
        if not isinstance(raw, list):
            raise error(f"Invalid query: the '{op}' condition needs a list of values.")
        counter["or"] += len(raw)
        values = {convert(value) for value in raw if value is not None}
        if op == "in":
            return lambda record: getter(record) in values
        return lambda record: (current := getter(record)) is not None and current not in values
    if raw is None:
        raise error(f"Invalid query: the '{op}' condition needs a value, not null.")
    if op in TEXT_MATCHES:
        text = str(raw).lower()

        def as_text(record):
            current = getter(record)
            return None if current is None else str(current).lower()

        if op == "beginsWith":
            return lambda record: (
                (current := as_text(record)) is not None and current.startswith(text)
            )
        if op == "endsWith":
            return lambda record: (
                (current := as_text(record)) is not None and current.endswith(text)
            )
        return lambda record: (current := as_text(record)) is not None and text in current
    value = convert(raw)
    compare = {
        "eq": lambda current: current == value,
        "noteq": lambda current: current != value,
        "gt": lambda current: current > value,
        "gte": lambda current: current >= value,
        "lt": lambda current: current < value,
        "lte": lambda current: current <= value,
    }[op]

    def check(record):
        current = getter(record)
        if current is None:  # SQL semantics: a comparison with null is never true
            return False
        try:
            return compare(current)
        except TypeError:
            return False

    return check


def validate_cursor_paging(text: str) -> dict:
    try:
        paging = json.loads(text)
        page_size = int(paging["pageSize"])
        previous = [int(value) for value in paging.get("previousIds") or []]
        after = int(paging["nextIds"][0])
    except (TypeError, ValueError, KeyError, IndexError):
        raise ApiError(500, "Invalid paging parameter.") from None
    if not 1 <= page_size <= MAX_RECORDS:
        raise ApiError(500, "Invalid paging parameter.")
    return {
        "pageSize": page_size,
        "previousIds": previous,
        "after": after,
        "queryId": paging.get("queryId"),
    }
