"""The CSV loop: rows of a file of a known format, as records."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from .building import bind_header, make_builder
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
        build = make_builder(fmt, binding.indexes, binding.names, name, month)
        width = len(header)
        pad = binding.pad
        first_cell = {header[0], "\ufeff" + header[0]}
        clean_header = [clean_name(cell) for cell in header]
        previous = header_line
        for row in reader:
            line = previous + 1
            previous = reader.line_num
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line
                raise _width_error(name, line, width, row, reader)
            if row[0] in first_cell and [clean_name(cell) for cell in row] == clean_header:
                continue  # the header again: per-blob files concatenated
            if pad:
                row += pad
            source.records += 1
            yield build(row, line)
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
