"""The JSON Lines loop: one object per line, keys named like the CSV columns, as
records (the Graph billing exports of the reconciliation and usage data sets)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from .building import make_builder
from .errors import ImportValidationError
from .formats import Format
from .source import TRUNCATED, SourceFile


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


_JSON = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def _json_text(value: Any) -> str:
    """A JSON value as the text a CSV cell would hold: numbers keep every digit (they
    were read as Decimal), arrays and objects stay JSON, null is blank."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


_JSON_KINDS = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}


def read_jsonl(
    source: SourceFile,
    choose: Callable[[dict, int], Format],
    month: tuple[int, int] | None,
    *,
    json_parsers: Callable[[Format, str], Callable[[str], Any] | None] | None = None,
) -> Iterator[Any]:
    """Records from a JSON Lines file: one object per line, keys named like the CSV
    columns (PascalCase, or the v1 API's camelCase). `choose(first_object, line)` picks
    the format; `json_parsers(fmt, key)` may replace a field's parser for a key spelling
    (the v1 API's fractions where the CSV has percentages)."""
    name = source.file_name
    lines = source.lines()
    fmt: Format | None = None
    plans: dict[tuple, tuple[list, Callable]] = {}
    line = 0
    try:
        for text in lines:
            line += 1
            try:
                obj = _JSON.decode(text)
            except ValueError as exc:
                if not text.strip():
                    continue
                raise _json_error(name, line, exc, lines) from None
            if obj.__class__ is not dict:
                kind = _JSON_KINDS.get(type(obj), "a number")
                raise ImportValidationError(name, line, None, f"expected a JSON object, got {kind}")
            if fmt is None:
                fmt = choose(obj, line)
            keys = tuple(obj)
            plan = plans.get(keys)
            if plan is None:
                if len(plans) > 256:
                    plans.clear()
                plan = plans[keys] = _json_plan(fmt, keys, name, line, month, json_parsers)
            key_list, build = plan
            row = [v if v.__class__ is str else _json_text(v) for v in map(obj.get, key_list)]
            source.records += 1
            yield build(row, line)
    finally:
        source.close()


def _json_error(name: str, line: int, exc: ValueError, lines: Iterator[str]):
    detail = getattr(exc, "msg", str(exc))
    position = getattr(exc, "pos", None)
    message = "expected a JSON object, but the line is not valid JSON"
    where = f" at character {position + 1}" if position is not None else ""
    message += f" ({detail}{where})"
    if all(not rest.strip() for rest in lines):
        message += f"; the last line is cut short: {TRUNCATED}"
    return ImportValidationError(name, line, None, message)


def _json_plan(fmt, keys, file_name, line, month, json_parsers):
    positions = fmt.key_positions
    chosen: list[str | None] = [None] * len(fmt.fields)
    for key in keys:
        pos = positions.get(key.lower())
        if pos is None:
            continue
        if chosen[pos] is not None:
            raise ImportValidationError(
                file_name,
                line,
                key,
                f"the keys {chosen[pos]} and {key} are two names for "
                f"{fmt.fields[pos].column}; expected only one of them",
            )
        chosen[pos] = key
    parsers = [f.parse for f in fmt.fields]
    if json_parsers is not None:
        for pos, key in enumerate(chosen):
            if key is not None:
                replacement = json_parsers(fmt, key)
                if replacement is not None:
                    parsers[pos] = replacement
    names = [key or f.column for key, f in zip(chosen, fmt.fields, strict=True)]
    missing = [pos for pos, key in enumerate(chosen) if key is None]
    build = make_builder(
        fmt,
        range(len(fmt.fields)),
        names,
        file_name,
        month,
        parsers=parsers,
        missing=missing,
    )
    return chosen, build
