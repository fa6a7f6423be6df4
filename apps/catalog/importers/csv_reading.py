"""The CSV loop: rows of a file of a known format, as records."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from .building import bind_header, make_row_loop
from .errors import ImportValidationError
from .formats import Format, clean_name
from .source import TRUNCATED, SourceFile


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
        width = len(header)
        clean_header = [clean_name(cell) for cell in header]

        def odd(row: list, line: int) -> bool:
            """Whether to skip a row that is not plainly one of data: a blank line, or
            the header again (per-blob files concatenated). Refuses a row of the wrong
            width."""
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    return True
                raise _width_error(name, line, width, row, reader)
            return [clean_name(cell) for cell in row] == clean_header

        rows = make_row_loop(
            fmt,
            binding.indexes,
            binding.names,
            name,
            month,
            width=width,
            pad=binding.pad,
            odd=odd,
            first_cells=(header[0], "\ufeff" + header[0]),
        )
        yield from rows(reader, source, header_line)
    except csv.Error as exc:
        message = f"the CSV is malformed: {exc}"
        if "unexpected end of data" in str(exc):
            message += f"; a quoted value is never closed: {TRUNCATED}"
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
            message += f"; the last line is cut short: {TRUNCATED}"
    else:
        message += " (an unquoted comma inside a value?)"
    return ImportValidationError(name, line, None, message)
