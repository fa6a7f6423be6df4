"""The audit log as a CSV file for finance: every entry of a queryset, written as it is
read, so a million entries never sit in memory at once.

Spreadsheets run a cell that begins like a formula, so such cells are neutralised
(``csv_safe``). The file starts with a UTF-8 byte order mark: Excel reads it as UTF-8 only
then.
"""

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.models import AuditEntry

# (header, field) in file order.
AUDIT_CSV_COLUMNS = (
    ("time", "created_at"),
    ("user", "actor_name"),
    ("context", "context"),
    ("connection", "connection_name"),
    ("operation", "operation"),
    ("object type", "object_type"),
    ("object id", "object_id"),
    ("object", "object_repr"),
    ("status", "status"),
    ("request id", "request_id"),
    ("before", "before"),
    ("after", "after"),
    ("details", "details"),
)
AUDIT_CSV_CHUNK_SIZE = 2000  # rows fetched from the database at a time
AUDIT_CSV_BUFFER_CHARS = 64 * 1024  # text gathered before it is handed to the response

BYTE_ORDER_MARK = "\ufeff"
# A cell beginning with one of these is a formula (or becomes one) in Excel, LibreOffice
# and Google Sheets; OWASP's list for CSV injection.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """``text`` with a leading apostrophe when it begins like a formula, so a
    spreadsheet shows it as text instead of running it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def audit_csv_filename(*, day: dt.date | None = None) -> str:
    """``audit-log-YYYY-MM-DD.csv``, for today in the site's time zone by default."""
    day = day or timezone.localdate()
    return f"audit-log-{day.isoformat()}.csv"


def audit_csv_row(values: dict[str, Any]) -> list[str]:
    """One entry's cells, from its field values: the time in ISO 8601 UTC, ids as text,
    before/after/details as compact JSON (empty when not recorded), every cell safe."""
    return [csv_safe(_cell(field, values[field])) for _, field in AUDIT_CSV_COLUMNS]


def audit_csv_lines(
    *,
    entries: QuerySet[AuditEntry],
    chunk_size: int | None = None,
) -> Iterator[str]:
    """The CSV text of ``entries`` (in their order), in pieces of about
    AUDIT_CSV_BUFFER_CHARS: the header, then one row per entry.

    One query whatever the number of entries: the rows are read with ``iterator()``
    (a server-side cursor on PostgreSQL), ``chunk_size`` (default AUDIT_CSV_CHUNK_SIZE)
    at a time, as plain values.
    """
    chunk_size = chunk_size or AUDIT_CSV_CHUNK_SIZE
    fields = [field for _, field in AUDIT_CSV_COLUMNS]
    rows = entries.values(*fields).iterator(chunk_size=chunk_size)
    yield from _csv_text(
        header=[header for header, _ in AUDIT_CSV_COLUMNS],
        rows=(audit_csv_row(values) for values in rows),
    )


def _csv_text(*, header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BYTE_ORDER_MARK)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= AUDIT_CSV_BUFFER_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# One encoder for every cell: json.dumps with options builds a new one per call.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _cell(field: str, value: Any) -> str:
    if value is None:
        return ""
    if field == "created_at":
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if field in _JSON_FIELDS:
        # An empty details object is "no details", as on the detail page.
        return "" if field == "details" and value == {} else _JSON_ENCODER.encode(value)
    return str(value)


_JSON_FIELDS = frozenset(("before", "after", "details"))
