"""Which of the known formats a file is, from its header (CSV) or first object (JSON
Lines), whatever its name; and `read_any`, which detects and reads.

    detect_format("upload.bin")  # → "usage_csv"
    with read_any(path, month="2025-11") as lines:
        ...

Extra and reordered columns do not matter. A header close to a known one but short of
columns gets the list of missing columns; anything else gets what was expected.
"""

import csv
import datetime as dt
import json
import os
from collections.abc import Sequence

from . import jsonl, pricelist_csv, recon_csv, usage_csv
from .building import missing_columns_message
from .errors import ImportValidationError
from .formats import FORMATS, Format
from .source import Source, SourceFile, is_seekable
from .stream import RowStream

CSV_FORMATS: tuple[Format, ...] = (recon_csv.FORMAT, usage_csv.FORMAT, pricelist_csv.FORMAT)

FORMAT_NAMES = (*(fmt.name for fmt in CSV_FORMATS), "recon_jsonl", "usage_jsonl")


def detect_format(source: Source, *, file_name: str | None = None) -> str:
    """One of FORMAT_NAMES, or `ImportValidationError` saying what was expected.

    `source`: a path or a binary file object (it is read from its current position; seek
    back before reading it again). gzip and single-file zip are looked into.
    """
    opened = SourceFile(source, file_name)
    try:
        line_number = 0
        for line in opened.lines():
            line_number += 1
            if line.strip():
                break
        else:
            raise ImportValidationError(opened.file_name, None, None, "the file is empty")
        start = line.lstrip()[:1]
        if start == "{":
            return _detect_json(opened.file_name, line, line_number)
        if start == "[":
            raise ImportValidationError(
                opened.file_name,
                line_number,
                None,
                "this is a JSON array; expected JSON Lines, one object per line (as the "
                "Graph billing export writes them) or a CSV file",
            )
        header = next(csv.reader([line]))
        return _detect_csv(opened.file_name, header, line_number).name
    except csv.Error as exc:
        raise ImportValidationError(
            opened.file_name, 1, None, f"the header is not valid CSV: {exc}"
        ) from None
    finally:
        opened.close()


def _detect_json(file_name: str, line: str, line_number: int) -> str:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise ImportValidationError(
            file_name,
            line_number,
            None,
            f"expected a JSON object, but the line is not valid JSON ({exc})",
        ) from None
    if not isinstance(obj, dict):
        raise ImportValidationError(file_name, line_number, None, "expected a JSON object")
    kind = jsonl.data_set_of(obj)
    if kind is None:
        raise ImportValidationError(
            file_name,
            line_number,
            None,
            "unknown format: the first object has the keys of neither billing data set; "
            f"expected the keys of one of them ({jsonl.expected_keys()})",
        )
    return jsonl.FORMAT_NAMES[kind]


def _detect_csv(file_name: str, header: Sequence[str], line_number: int) -> Format:
    candidates = []
    for fmt in CSV_FORMATS:
        found, missing = fmt.matches_header(header)
        candidates.append((not missing, fmt.signature_score(header), found, fmt, missing))
    candidates.sort(key=lambda c: c[:3], reverse=True)
    complete, score, found, fmt, missing = candidates[0]
    if complete:
        return fmt
    if score >= 2 and found * 2 >= len(fmt.columns):  # that file, short of some columns
        raise ImportValidationError(
            file_name, line_number, missing[0], missing_columns_message(fmt, missing, header)
        )
    shown = ", ".join(cell.strip() for cell in header[:8]) + (", …" if len(header) > 8 else "")
    expected = "; or ".join(
        f"a {f.title} file ({len(f.columns)} columns, with {', '.join(f.signature)})"
        for f in CSV_FORMATS
    )
    raise ImportValidationError(
        file_name,
        line_number,
        None,
        f"unknown format: the header matches none of the known files; expected the header "
        f"of {expected}; found {len(header)} columns: {shown}",
    )


def read_any(
    source: Source,
    *,
    file_name: str | None = None,
    month: dt.date | str | tuple[int, int] | None = None,
) -> RowStream:
    """Detect the format, then read the file with its reader. `month` applies to the
    reconciliation and usage data sets (the price list has none). A stream must be
    seekable (it is read twice)."""
    if not isinstance(source, str | os.PathLike):
        if not is_seekable(source):
            raise TypeError(
                "read_any reads a stream twice: pass a path or a seekable stream, or call "
                "the format's own reader"
            )
        position = source.tell()
        name = detect_format(source, file_name=file_name)
        source.seek(position)
    else:
        name = detect_format(source, file_name=file_name)
    if name.endswith("_jsonl"):
        data_set = name.removesuffix("_jsonl")
        return jsonl.read(source, file_name=file_name, data_set=data_set, month=month)
    fmt = FORMATS[name]
    return fmt.read(source, file_name=file_name, month=month if fmt.month_attr else None)
