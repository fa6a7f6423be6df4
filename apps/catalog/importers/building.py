"""From rows of text cells to records: binding a CSV header to a format's fields, and the
function that turns one row into one record.

A usage file has a million rows of 55 cells, so the row → record function is written
for its format and header when the header has been read (`make_builder`): one call per
row that reads each cell, parses the ones that need it and makes the record, with no
loop. Only when a cell is refused does a slow path go through the cells one by one to
name the one at fault.
"""

from __future__ import annotations

import dataclasses
import operator
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from .cells import date_in_month
from .errors import CellError, ImportValidationError
from .formats import FORMATS, Format, clean_name


def make_builder(
    fmt: Format,
    indexes: Sequence[int],
    names: Sequence[str],
    file_name: str,
    month: tuple[int, int] | None,
    *,
    parsers: Sequence[Callable[[str], Any] | None] | None = None,
    missing: Iterable[int] = (),
) -> Callable[[list, int], Any]:
    """A function (row, line) → record, for rows of text cells laid out as `indexes` say
    (field i is in cell indexes[i]).

    `names[i]` is how the file calls field i (for messages); `parsers` replaces the
    fields' own parsers; `missing`: fields whose JSON key was absent from the object.
    """
    parsers, refusal = _parsers(fmt, indexes, names, file_name, month, parsers, missing)
    return _compiled(fmt.record, indexes, parsers, refusal)


def make_row_loop(
    fmt: Format,
    indexes: Sequence[int],
    names: Sequence[str],
    file_name: str,
    month: tuple[int, int] | None,
    *,
    width: int,
    pad: list[str],
    odd: Callable[[list, int], bool],
    first_cells: Iterable[str],
) -> Callable[..., Iterator[Any]]:
    """The CSV loop written out for a format and header: a generator (reader, source,
    line of the header) → records, one per row.

    A row of `width` cells whose first is not one of `first_cells` (the header's) is
    built at once; any other goes to `odd(row, line)` first, which says to skip it (a
    blank line, the header again) or raises. `pad` is appended to each row (the optional
    columns the header lacks). A column whose parser is cached has few distinct values
    (ids, dates, currencies): it keeps the previous row's text and value in the loop's own
    variables, and parses only when the text changes, which costs less than the cache.
    """
    parsers, refusal = _parsers(fmt, indexes, names, file_name, month, None, ())
    namespace, values = _written(fmt.record, indexes, parsers, refusal)
    namespace.update(odd=odd, first_cells=frozenset(first_cells), pad=pad)
    start, memo = [], []
    for number, parse in enumerate(parsers):
        if parse is not None and hasattr(parse, "cache_info"):
            start.append(f"    t{number} = c{number} = None")
            memo += [
                f"            v = row[{int(indexes[number])}]",
                f"            if v != t{number}:",
                f"                c{number} = p{number}(v)",
                f"                t{number} = v",
            ]
            values[number] = f"c{number}"
    source = "\n".join(
        [
            "def rows(reader, source, previous):",
            *start,
            "    for row in reader:",
            "        line = previous + 1",
            "        previous = reader.line_num",
            f"        if len(row) != {int(width)} or row[0] in first_cells:",
            "            if odd(row, line):",
            "                continue",
            *(["        row += pad"] if pad else []),
            "        source.records += 1",
            "        try:",
            *memo,
            f"            yield {_made(fmt.record, ', '.join(values))}",
            "        except CellError:",
            "            raise refusal(row, line) from None",
            "",
        ]
    )
    exec(compile(source, "<csv row loop>", "exec"), namespace)  # noqa: S102 - see _written
    return namespace["rows"]


def _parsers(fmt, indexes, names, file_name, month, parsers, missing) -> tuple[list, Callable]:
    """The parser of each field (the month check added), and the function that names the
    cell a parser refused."""
    parsers = list(parsers or [f.parse for f in fmt.fields])
    if month is not None and fmt.month_attr:
        pos = [f.attr for f in fmt.fields].index(fmt.month_attr)
        parsers[pos] = date_in_month(parsers[pos], *month)
    if len(set(indexes)) != len(indexes):
        raise ValueError("each field needs a cell of its own")
    conversions = tuple(
        (index, parse) for index, parse in zip(indexes, parsers, strict=True) if parse is not None
    )
    name_of = dict(zip(indexes, names, strict=True))
    missing_cells = frozenset(indexes[pos] for pos in missing)

    def refusal(row: list, line: int) -> ImportValidationError:
        """The first cell of `row` its parser refuses, as the error to raise."""
        for index, parse in conversions:
            try:
                parse(row[index])
            except CellError as exc:
                message = exc.message
                if index in missing_cells:
                    message = f"the key is missing; {message}"
                return ImportValidationError(file_name, line, name_of[index], message)
        raise AssertionError("a parser refused a cell once and accepted it again")

    return parsers, refusal


def _is_named_tuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _made(cls: type, arguments: str) -> str:
    """The expression that makes a record of `cls` from the values (text)."""
    return (
        f"new(cls, (line, {arguments}))" if _is_named_tuple(cls) else f"record(line, {arguments})"
    )


def _written(cls: type, indexes, parsers, refusal) -> tuple[dict[str, Any], list[str]]:
    """What generated code runs with (the names it uses), and each field's value as an
    expression: ``row[5]``, or ``p3(row[7])`` for a field with a parser. The text holds
    only cell numbers and the names p0, p1, ...: no text from a file ever reaches it."""
    namespace: dict[str, Any] = {
        "record": None if _is_named_tuple(cls) else record_factory(cls),
        "new": tuple.__new__,
        "cls": cls,
        "CellError": CellError,
        "refusal": refusal,
    }
    values = []
    for number, (index, parse) in enumerate(zip(indexes, parsers, strict=True)):
        cell = f"row[{int(index)}]"
        if parse is None:
            values.append(cell)
        else:
            namespace[f"p{number}"] = parse
            values.append(f"p{number}({cell})")
    return namespace, values


def _compiled(cls: type, indexes, parsers, refusal) -> Callable[[list, int], Any]:
    """The row → record function written out: ``record(line, p0(row[3]), row[5], ...)``
    (a named tuple: ``new(cls, (line, ...))``, one call)."""
    namespace, values = _written(cls, indexes, parsers, refusal)
    source = (
        "def build(row, line):\n"
        "    try:\n"
        f"        return {_made(cls, ', '.join(values))}\n"
        "    except CellError:\n"
        "        raise refusal(row, line) from None\n"
    )
    exec(compile(source, "<row builder>", "exec"), namespace)  # noqa: S102 - see _written
    return namespace["build"]


_consume = deque(maxlen=0).extend


def record_factory(cls: type) -> Callable[..., Any]:
    """A function (source_line, *other values in field order) → an instance of `cls`.

    A class whose __init__ is cheap (not a frozen dataclass) is its own factory. For the
    frozen, slotted dataclasses of `records.py` it fills the slots directly: the generated
    __init__ sets each field through object.__setattr__, which costs more than all the
    parsing of a line. The result is the same object (same class, same fields, equal to
    one made by __init__). A class with a __post_init__, or one that is not a slotted
    dataclass, is built through its __init__.
    """
    names = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    slots = getattr(cls, "__slots__", ())
    frozen = dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    if not frozen or not names or hasattr(cls, "__post_init__") or set(names) != set(slots):
        return cls
    set_line, *setters = (getattr(cls, name).__set__ for name in names)
    new = object.__new__

    def make(line: int, *values):
        obj = new(cls)
        set_line(obj, line)
        _consume(map(operator.call, setters, repeat(obj), values))
        return obj

    return make


@dataclass
class Binding:
    indexes: list[int]
    names: list[str]
    pad: list[str]  # a "" for each optional column the header lacks, appended to each row


def bind_header(fmt: Format, header: Sequence[str], file_name: str, line: int) -> Binding:
    """Match a CSV header to the format's fields, by name (never by position)."""
    seen: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = clean_name(raw).lower()
        if not name:
            continue
        if name in seen:
            raise ImportValidationError(
                file_name,
                line,
                clean_name(raw),
                f"the column appears twice in the header (fields {seen[name] + 1} and "
                f"{i + 1}); expected each column once",
            )
        seen[name] = i
    indexes: list[int] = []
    names: list[str] = []
    missing: list[str] = []
    pad: list[str] = []
    for f in fmt.fields:
        candidates = dict.fromkeys(n.lower() for n in (f.column, *f.aliases))
        found = [seen[n] for n in candidates if n in seen]
        if len(found) > 1:
            first, second = (clean_name(header[i]) for i in sorted(found)[:2])
            raise ImportValidationError(
                file_name,
                line,
                second,
                f"the columns {first} and {second} are two names for {f.column}; "
                "expected only one of them",
            )
        if found:
            indexes.append(found[0])
            names.append(clean_name(header[found[0]]))
        elif f.required:
            missing.append(f.column)
        else:
            indexes.append(len(header) + len(pad))
            names.append(f.column)
            pad.append("")
    if missing:
        message = missing_columns_message(fmt, missing, header)
        raise ImportValidationError(file_name, line, missing[0], message)
    return Binding(indexes, names, pad)


def missing_columns_message(fmt: Format, missing: list[str], header: Sequence[str]) -> str:
    message = f"the column is missing from the header; a {fmt.title} file must have it"
    if len(missing) > 1:
        more = ", ".join(missing[1:8]) + (", …" if len(missing) > 8 else "")
        message += f" (also missing: {more})"
    for other in FORMATS.values():
        if other is not fmt and other.name.endswith("_csv") and not other.matches_header(header)[1]:
            message += f"; this header is that of a {other.title} file"
            break
    return message
