"""The machinery the format modules share: opening a file (plain, gzip or zip), decoding
it as UTF-8 line by line, binding a header to a format's fields, building records, and the
CSV and JSON Lines loops.

Nothing here knows a column of a Microsoft file; the format modules (`recon_csv`,
`usage_csv`, `pricelist_csv`, `jsonl`) describe their columns with `Field` and `Format` and
call `read_csv` / `read_jsonl`.

Streaming: a file is read in blocks of 1 MiB and handed on line by line; nothing holds
more than one block and one record at a time, whatever the file's size.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import datetime as dt
import gzip
import io
import json
import operator
import os
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from .cells import date_in_month
from .errors import CellError, ImportValidationError

Source = str | os.PathLike | IO[bytes]
"""What a reader takes: a path, or a binary file object (an upload, an HTTP body)."""

T = TypeVar("T")

BLOCK_SIZE = 1 << 20
MAX_LINE_CHARS = 16 << 20
# A compressed file (gzip or zip) may expand to at most MAX_EXPANDED_BYTES, and, once past
# its first EXPANSION_GRACE_BYTES, to at most MAX_EXPANSION_RATIO times the compressed
# bytes read so far: Partner Center's exports compress 5 to 30 times, a "gzip bomb" a
# thousand, so a bomb is refused after a few MiB instead of keeping a worker busy for hours.
MAX_EXPANDED_BYTES = 20 << 30
MAX_EXPANSION_RATIO = 200
EXPANSION_GRACE_BYTES = 16 << 20
_TRUNCATED = "the file looks truncated (an incomplete download or copy?)"


# ----------------------------------------------------------------------------- formats


@dataclass(frozen=True)
class Field:
    """One attribute of a record and the column it is read from.

    `parse` turns the cell's text into the value (None: the text as it is). `required`:
    the column must be in a CSV header (an optional column that is absent reads as blank).
    `aliases`: other names of the same column, in a header or as a JSON key; names are
    matched without regard to case.
    """

    attr: str
    column: str
    parse: Callable[[str], Any] | None = None
    required: bool = True
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Format:
    """A file format: its documented header, and how its columns fill a record."""

    name: str  # "recon_csv"
    title: str  # "new-commerce invoice reconciliation"
    record: type
    columns: tuple[str, ...]  # the documented header, in the documented order
    fields: tuple[Field, ...]  # in the record's attribute order, after source_line
    month_attr: str | None = None  # the date that must fall in the report's month
    signature: tuple[str, ...] = ()  # columns only this data set has (for detection)

    @cached_property
    def key_positions(self) -> dict[str, int]:
        """Lower-cased column name or alias → position in `fields`."""
        positions: dict[str, int] = {}
        for pos, f in enumerate(self.fields):
            for name in (f.column, *f.aliases):
                positions.setdefault(name.lower(), pos)
        return positions

    def read(
        self,
        source: Source,
        *,
        file_name: str | None = None,
        month: dt.date | str | tuple[int, int] | None = None,
    ) -> RowStream:
        """The records of a CSV file of this format, read as they are iterated.

        `source`: a path or a binary file object (plain, gzip or a zip holding one file).
        `file_name`: the name errors give (default: the path's name). `month`: the
        report's month ("2025-11", a date, or (2025, 11)); a line whose `month_attr` date
        is in another month is refused. Problems raise `ImportValidationError`, at the
        latest while iterating.
        """
        opened = SourceFile(source, file_name)
        return RowStream(opened, read_csv(opened, self, year_month(month)))

    def signature_score(self, names: Iterable[str]) -> int:
        """How many of the columns only this data set has are among `names` (a header,
        or the keys of a JSON object), under any of their names."""
        positions = self.key_positions
        present = {positions.get(_clean(name).lower()) for name in names}
        return sum(1 for column in self.signature if positions[column.lower()] in present)

    def matches_header(self, names: Iterable[str]) -> tuple[int, list[str]]:
        """(how many of this format's columns the header has, the required ones missing)."""
        present = {name.strip().lstrip("\ufeff").strip().lower() for name in names}
        found = sum(1 for column in self.columns if column.lower() in present)
        missing = [
            f.column
            for f in self.fields
            if f.required and not any(n.lower() in present for n in (f.column, *f.aliases))
        ]
        return found, missing


FORMATS: dict[str, Format] = {}
"""Every CSV/JSON data-set format, by name; filled by the format modules."""


def register(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


def year_month(month: dt.date | str | tuple[int, int] | None) -> tuple[int, int] | None:
    """The report's month as (year, month), from a date, "2025-11" or (2025, 11)."""
    if month is None:
        return None
    if isinstance(month, dt.date):
        return month.year, month.month
    if isinstance(month, tuple):
        year, number = month
    else:
        try:
            year, number = (int(part) for part in str(month).split("-"))
        except ValueError:
            raise ValueError(f"month must look like 2025-11, got {month!r}") from None
    if not 1 <= number <= 12:
        raise ValueError(f"month must be 1 to 12, got {number}")
    return int(year), int(number)


# ------------------------------------------------------------------------------ source


class _Prefixed(io.RawIOBase):
    """A non-seekable stream with its first bytes (already read to sniff them) put back."""

    def __init__(self, head: bytes, stream: IO[bytes]):
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class SourceFile:
    """An opened input: the file name for messages, the decompressed byte stream, the
    UTF-8 lines, and how far through the input the reading is (for progress)."""

    def __init__(self, source: Source, file_name: str | None = None):
        self._closers: list[Any] = []
        self.records = 0
        self.format_name = ""
        self._decoded = 0
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            self.file_name = file_name or path.name
            try:
                raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise ImportValidationError(
                    self.file_name, None, None, f"cannot open the file: {exc.strerror}"
                ) from None
            self._closers.append(raw)
        else:
            if isinstance(source, io.TextIOBase):
                raise TypeError("pass a binary file object (opened with 'rb'), not a text one")
            raw = source
            self.file_name = (
                file_name or os.path.basename(str(getattr(source, "name", ""))) or ("<stream>")
            )
        self._raw = raw
        self._expanded = 0
        self.total_bytes = _remaining_size(raw)
        self._raw_start = _tell(raw)
        self.compression = ""
        try:
            self._stream = self._open_decompressed(raw)
        except BaseException:
            self.close()
            raise

    # -- opening

    def _open_decompressed(self, raw: IO[bytes]) -> IO[bytes]:
        seekable = is_seekable(raw)
        if seekable:
            head = raw.read(4)
            raw.seek(-len(head), os.SEEK_CUR)
        else:
            head = raw.read(4)
            raw = io.BufferedReader(_Prefixed(head, raw))
            self._raw = raw
        if head[:2] == b"\x1f\x8b":
            self.compression = "gzip"
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
            self._closers.append(stream)
            return stream
        if head == b"PK\x03\x04":
            self.compression = "zip"
            return self._open_zip_member(raw, seekable)
        return raw

    def _open_zip_member(self, raw: IO[bytes], seekable: bool) -> IO[bytes]:
        if not seekable:
            raise ImportValidationError(
                self.file_name, None, None, "a zip archive can only be read from a file"
            )
        try:
            archive = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ImportValidationError(
                self.file_name, None, None, f"the zip archive is damaged ({exc}); {_TRUNCATED}"
            ) from None
        self._closers.append(archive)
        members = [info for info in archive.infolist() if not info.is_dir()]
        names = {info.filename for info in members}
        if "[Content_Types].xml" in names:
            raise ImportValidationError(
                self.file_name,
                None,
                None,
                "this is an Excel workbook, not a CSV or JSON Lines file; "
                "expected the CSV as Partner Center exports it (save the sheet as CSV UTF-8)",
            )
        if len(members) != 1:
            raise ImportValidationError(
                self.file_name,
                None,
                None,
                f"the zip archive holds {len(members)} files; expected exactly one "
                "CSV or JSON Lines file",
            )
        member = members[0]
        self._check_expansion(member.file_size, member.compress_size)
        self.total_bytes = member.file_size
        self._raw_start = None  # progress counts decompressed bytes against file_size
        stream = archive.open(members[0])
        self._closers.append(stream)
        return stream

    def close(self) -> None:
        while self._closers:
            with contextlib.suppress(Exception):  # closing is best effort
                self._closers.pop().close()

    # -- progress

    @property
    def bytes_read(self) -> int:
        """How far into the input (as given: compressed for gzip) the reading is."""
        if self.compression == "gzip" and self._raw_start is not None:
            position = _tell(self._raw)
            if position is not None:
                return position - self._raw_start
        return self._decoded

    # -- text

    def _check_expansion(self, expanded: int, compressed: int | None) -> None:
        """Refuse a compressed input that expands past the limits (see MAX_EXPANDED_BYTES)."""
        too_big = expanded > MAX_EXPANDED_BYTES
        ratio = expanded / max(compressed or 0, 1)
        if too_big or (expanded > EXPANSION_GRACE_BYTES and ratio > MAX_EXPANSION_RATIO):
            limit = (
                f"more than {MAX_EXPANDED_BYTES >> 30} GiB"
                if too_big
                else f"more than {MAX_EXPANSION_RATIO} times its compressed size"
            )
            raise ImportValidationError(
                self.file_name,
                None,
                None,
                f"the compressed file expands to {limit}, which no Partner Center export does "
                "(a damaged or malicious archive?); nothing is read from it",
            )

    def _read_block(self) -> bytes:
        try:
            block = self._stream.read(BLOCK_SIZE)
        except EOFError:
            raise ImportValidationError(
                self.file_name,
                None,
                None,
                f"the compressed data stops before its end marker: {_TRUNCATED}",
            ) from None
        except (gzip.BadGzipFile, zlib.error, zipfile.BadZipFile) as exc:
            raise ImportValidationError(
                self.file_name, None, None, f"the compressed data is damaged ({exc})"
            ) from None
        if self.compression == "gzip" and block:
            self._expanded += len(block)
            self._check_expansion(self._expanded, self.bytes_read)
        return block

    def _check_first_block(self, block: bytes) -> None:
        if not block:
            raise ImportValidationError(self.file_name, None, None, "the file is empty")
        if block.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
            encoding = "UTF-32"
        elif block.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "UTF-16"
        else:
            encoding = ""
        if encoding:
            raise ImportValidationError(
                self.file_name,
                None,
                None,
                f"the file is {encoding} text; expected UTF-8 (save it as CSV UTF-8)",
            )
        if b"\x00" in block:
            raise ImportValidationError(
                self.file_name,
                None,
                None,
                "this is not a text file (it holds NUL bytes); expected a CSV or JSON Lines "
                "file in UTF-8",
            )

    def lines(self) -> Iterator[str]:
        """The text, line by line, each with its line end ("\\n" or "\\r\\n"); a UTF-8
        byte-order mark is dropped. Lines are split at "\\n" only, so the count of lines
        yielded is the physical line number."""
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        newlines = 0  # "\n" in the bytes decoded so far
        carry = ""
        first = True
        while True:
            block = self._read_block()
            if first:
                self._check_first_block(block)
            final = not block
            try:
                text = decoder.decode(block, final)
            except UnicodeDecodeError as exc:
                raise self._not_utf8(exc, newlines) from None
            newlines += block.count(b"\n")
            self._decoded += len(block)
            if first:
                first = False
                if text.startswith("\ufeff"):
                    text = text[1:]
            if carry:
                text = carry + text
            if final:
                if text:
                    yield text
                return
            cut = text.rfind("\n") + 1
            if not cut:
                carry = text
                if len(carry) > MAX_LINE_CHARS:
                    raise ImportValidationError(
                        self.file_name,
                        newlines + 1,
                        None,
                        "the line is longer than 16 MiB; expected a CSV or JSON Lines file",
                    )
                continue
            carry = text[cut:]
            yield from io.StringIO(text[:cut], newline="\n")

    def _not_utf8(self, exc: UnicodeDecodeError, newlines: int) -> ImportValidationError:
        data = exc.object
        line = newlines + data[: exc.start].count(b"\n") + 1
        if exc.start >= len(data) - 4 and exc.reason.startswith("unexpected end"):
            return ImportValidationError(
                self.file_name,
                line,
                None,
                f"the file ends in the middle of a UTF-8 character: {_TRUNCATED}",
            )
        byte = data[exc.start]
        return ImportValidationError(
            self.file_name,
            line,
            None,
            f"expected UTF-8 text, found the byte 0x{byte:02X}, which UTF-8 does not allow "
            "here (is the file in Windows-1252 or Latin-1? Save it as CSV UTF-8)",
        )


def is_seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _tell(stream: IO[bytes]) -> int | None:
    try:
        return stream.tell()
    except (AttributeError, OSError, ValueError):
        return None


def _remaining_size(stream: IO[bytes]) -> int | None:
    position = _tell(stream)
    try:
        size = os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        if not is_seekable(stream) or position is None:
            return getattr(stream, "size", None)
        size = stream.seek(0, os.SEEK_END)
        stream.seek(position)
    return size - (position or 0)


# ------------------------------------------------------------------------ rows → records


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
    (field i is in cell indexes[i]; the function converts the row's cells in place).

    `names[i]` is how the file calls field i (for messages); `parsers` replaces the
    fields' own parsers; `missing`: fields whose JSON key was absent from the object.
    """
    parsers = list(parsers or [f.parse for f in fmt.fields])
    if month is not None and fmt.month_attr:
        pos = [f.attr for f in fmt.fields].index(fmt.month_attr)
        parsers[pos] = date_in_month(parsers[pos], *month)
    if len(set(indexes)) != len(indexes):
        raise ValueError("each field needs a cell of its own")
    get = itemgetter(*indexes)
    # The row is the reader's own fresh list: the cells are converted in place.
    conversions = tuple(
        (index, parse) for index, parse in zip(indexes, parsers, strict=True) if parse is not None
    )
    name_of = dict(zip(indexes, names, strict=True))
    missing_cells = frozenset(indexes[pos] for pos in missing)
    record = record_factory(fmt.record)

    def build(row: list, line: int):
        index = -1
        try:
            for index, parse in conversions:  # index names the failing cell, below
                row[index] = parse(row[index])
        except CellError as exc:
            message = exc.message
            if index in missing_cells:
                message = f"the key is missing; {message}"
            raise ImportValidationError(file_name, line, name_of[index], message) from None
        return record(line, get(row))

    return build


_consume = deque(maxlen=0).extend


def record_factory(cls: type) -> Callable[[int, list], Any]:
    """A function (source_line, other values in field order) → an instance of `cls`.

    For the frozen, slotted dataclasses of `records.py` it fills the slots directly: the
    generated __init__ sets each field through object.__setattr__, which costs more than
    all the parsing of a usage line. The result is the same object (same class, same
    fields, equal to one made by __init__). A class with a __post_init__, or one that is
    not a slotted dataclass, is built through its __init__.
    """
    names = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    slots = getattr(cls, "__slots__", ())
    if not names or hasattr(cls, "__post_init__") or set(names) != set(slots):
        return lambda line, values: cls(line, *values)
    set_line, *setters = (getattr(cls, name).__set__ for name in names)
    new = object.__new__

    def make(line: int, values: list):
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


def _clean(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip()


def bind_header(fmt: Format, header: Sequence[str], file_name: str, line: int) -> Binding:
    """Match a CSV header to the format's fields, by name (never by position)."""
    seen: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = _clean(raw).lower()
        if not name:
            continue
        if name in seen:
            raise ImportValidationError(
                file_name,
                line,
                _clean(raw),
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
            first, second = (_clean(header[i]) for i in sorted(found)[:2])
            raise ImportValidationError(
                file_name,
                line,
                second,
                f"the columns {first} and {second} are two names for {f.column}; "
                "expected only one of them",
            )
        if found:
            indexes.append(found[0])
            names.append(_clean(header[found[0]]))
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


# ---------------------------------------------------------------------------------- CSV


def read_csv(source: SourceFile, fmt: Format, month: tuple[int, int] | None) -> Iterator[Any]:
    """Records from a CSV file of the given format; the caller has opened `source`."""
    name = source.file_name
    source.format_name = fmt.name
    lines = source.lines()
    reader = csv.reader(lines, strict=True)
    try:
        for header in reader:
            if any(cell.strip() for cell in header):
                break
        else:
            raise ImportValidationError(name, None, None, "the file is empty (no header row)")
        header_line = reader.line_num
        binding = bind_header(fmt, header, name, header_line)
        build = make_builder(fmt, binding.indexes, binding.names, name, month)
        width = len(header)
        pad = binding.pad
        first_cell = {header[0], "\ufeff" + header[0]}
        clean_header = [_clean(cell) for cell in header]
        previous = header_line
        for row in reader:
            line = previous + 1
            previous = reader.line_num
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line
                raise _width_error(name, line, width, row, reader)
            if row[0] in first_cell and [_clean(cell) for cell in row] == clean_header:
                continue  # the header again: per-blob files concatenated
            if pad:
                row += pad
            source.records += 1
            yield build(row, line)
    except csv.Error as exc:
        message = f"the CSV is malformed: {exc}"
        if "unexpected end of data" in str(exc):
            message += f"; a quoted value is never closed: {_TRUNCATED}"
        raise ImportValidationError(name, reader.line_num, None, message) from None
    finally:
        source.close()


def _width_error(name: str, line: int, width: int, row: list, reader) -> ImportValidationError:
    message = f"expected {width} fields, as in the header, found {len(row)}"
    if len(row) < width:
        try:
            last = next(reader, None) is None
        except csv.Error:
            last = False
        if last:
            message += f"; the last line is cut short: {_TRUNCATED}"
    else:
        message += " (an unquoted comma inside a value?)"
    return ImportValidationError(name, line, None, message)


# -------------------------------------------------------------------------- JSON Lines


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
        message += f"; the last line is cut short: {_TRUNCATED}"
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


# --------------------------------------------------------------------------- the result


class RowStream(Generic[T]):
    """The records of one file, read as they are iterated, with progress.

    Iterate it once (`for line in stream`); `progress` is the fraction of the input read
    so far (None when the size is unknown), `estimated_rows` the expected number of
    records. Closing it (or leaving a `with` block) closes the file.
    """

    def __init__(self, source: SourceFile, rows: Iterator[T]):
        self.file_name = source.file_name
        self._source = source
        self._rows = rows

    @property
    def format(self) -> str:
        """ "recon_csv", "usage_csv", "pricelist_csv", "recon_jsonl" or "usage_jsonl" (for
        JSON Lines, known once the first object is read)."""
        return self._source.format_name

    def __iter__(self) -> Iterator[T]:
        return self._rows

    def __next__(self) -> T:
        return next(self._rows)

    def __enter__(self) -> RowStream[T]:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._rows.close()
        self._source.close()

    @property
    def rows_read(self) -> int:
        return self._source.records

    @property
    def bytes_read(self) -> int:
        return self._source.bytes_read

    @property
    def total_bytes(self) -> int | None:
        return self._source.total_bytes

    @property
    def progress(self) -> float | None:
        total = self._source.total_bytes
        if not total:
            return None
        return min(1.0, self._source.bytes_read / total)

    @property
    def estimated_rows(self) -> int | None:
        progress = self.progress
        if not progress or not self.rows_read:
            return None
        return round(self.rows_read / progress)


def estimate_rows(source: Source, *, file_name: str | None = None) -> int | None:
    """About how many lines (less the header) a file has, from its first MiB: for a
    progress bar before reading starts. None when the input's size is unknown. It counts
    line ends in the raw blocks (no decoding): a file the import would refuse is refused
    by the import itself, with its own message; only the expansion limits apply here."""
    opened = SourceFile(source, file_name)
    try:
        lines = 0
        ends_open = False
        while True:
            block = opened._read_block()
            if not block:
                return max(lines + ends_open - 1, 0)
            lines += block.count(b"\n")
            ends_open = not block.endswith(b"\n")
            opened._decoded += len(block)
            if opened.bytes_read >= BLOCK_SIZE:
                break
        if not opened.total_bytes or not opened.bytes_read:
            return None
        return max(round(lines * opened.total_bytes / opened.bytes_read) - 1, 0)
    finally:
        opened.close()
