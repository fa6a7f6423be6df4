"""Billing lines into the database as they are read.

On PostgreSQL one COPY stays open and a thread of psycopg's feeds it
(`QueuedLibpqWriter`), so the server stores lines on the other core while this one
parses. Elsewhere (SQLite) one executemany per batch.
"""

import contextlib
import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from psycopg.copy import QueuedLibpqWriter

from apps.catalog.importers.records import ReconLine, UsageLine
from apps.catalog.importing.codec import recon_to_json
from apps.catalog.models import BillingLine

LINE_COLUMNS = (
    "report_id",
    "file_id",
    "line_number",
    "kind",
    "organization_id",
    "subscription_id",
    "offer_id",
    "charge_type",
    "date",
    "charge_start",
    "charge_end",
    "quantity",
    "unit_price",
    "effective_unit_price",
    "amount",
    "reference_id",
    "detail",
    "category",
    "data",
)


class LineWriter:
    """Writes billing lines as they are read. On PostgreSQL one COPY stays open and a
    separate thread feeds it (QueuedLibpqWriter), so the database stores lines on the other
    core while this one parses; it is paused around the rare ORM queries (a new
    organization or subscription). Elsewhere, one executemany per batch."""

    def __init__(self, report_id: int, file_id: int, kind: str):
        self.prefix = f"{report_id}\t{file_id}\t"
        self.report_id = report_id
        self.file_id = file_id
        self.kind = kind
        self.postgresql = connection.vendor == "postgresql"
        table = BillingLine._meta.db_table
        columns = ", ".join(LINE_COLUMNS)
        self.copy_sql = f"COPY {table} ({columns}) FROM STDIN"
        marks = ", ".join(["%s"] * len(LINE_COLUMNS))
        # Table and column names come from the model and LINE_COLUMNS, never from input.
        self.insert_sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
        self._cursor = None
        self._copy = None
        self._date_text: dict = {None: NULL}
        self._category_text: dict[str, str] = {}

    def _ids(self, line_number: int, organization_id, subscription_id) -> tuple:
        """The first columns of a row (LINE_COLUMNS): where the line is, and whose."""
        return (self.report_id, self.file_id, line_number, self.kind, organization_id,
                subscription_id)  # fmt: skip

    def invoice_row(self, line: ReconLine, organization_id, subscription_id, offer_id):
        data = recon_to_json(line)
        row = (
            *self._ids(line.source_line, organization_id, subscription_id),
            offer_id,
            line.charge_type,
            line.order_date,
            line.charge_start_date,
            line.charge_end_date,
            line.billable_quantity,
            line.unit_price,
            line.effective_unit_price,
            line.subtotal,
            line.reference_id,
            "",
            "",
            json.dumps(data),
        )
        return _copy_line(row) if self.postgresql else row

    def usage_row(self, line: UsageLine, organization_id, subscription_id):
        if self.postgresql:
            return self._usage_copy_line(line, organization_id, subscription_id)
        return (
            *self._ids(line.source_line, organization_id, subscription_id),
            None,
            line.charge_type,
            line.usage_date,
            line.charge_start_date,
            line.charge_end_date,
            line.quantity,
            line.unit_price,
            line.effective_unit_price,
            line.billing_pre_tax_total.quantize(STORED_AMOUNT, ROUND_HALF_UP),
            "",
            line.entitlement_id,
            line.meter_category[:100],
            None,
        )

    def _usage_copy_line(self, line: UsageLine, organization_id, subscription_id) -> str:
        """The hot path of a million-line import: one f-string. Numbers print with str()
        (`!s`, cheaper than format()); dates and the meter category, few per file, come
        from small caches. The charge type is one of a closed set of words and the
        Azure subscription a GUID: neither needs escaping."""
        dates, categories = self._date_text, self._category_text
        try:
            day = dates[line.usage_date]
            start = dates[line.charge_start_date]
            end = dates[line.charge_end_date]
        except KeyError:
            day, start, end = map(
                self._date, (line.usage_date, line.charge_start_date, line.charge_end_date)
            )
        category = categories.get(line.meter_category)
        if category is None:
            category = categories[line.meter_category] = _text(line.meter_category[:100])
        price, effective = line.unit_price, line.effective_unit_price
        return (
            f"{self.prefix}{line.source_line!s}\tusage\t{organization_id!s}\t"
            f"{subscription_id!s}\t\\N\t{line.charge_type}\t{day}\t{start}\t{end}"
            f"\t{line.quantity!s}\t{NULL if price is None else price!s}"
            f"\t{NULL if effective is None else effective!s}\t{line.billing_pre_tax_total!s}"
            f"\t\t{line.entitlement_id}\t{category}\t\\N\n"
        )

    def _date(self, day: dt.date | None) -> str:
        text = self._date_text.get(day)
        if text is None:
            text = self._date_text[day] = NULL if day is None else day.isoformat()
        return text

    def write(self, rows: list) -> None:
        if not self.postgresql:
            with connection.cursor() as cursor:
                cursor.executemany(self.insert_sql, [_plain(row) for row in rows])
            return
        if self._copy is None:
            self._cursor = connection.cursor()
            raw = self._cursor.cursor
            self._copy_context = raw.copy(self.copy_sql, writer=QueuedLibpqWriter(raw))
            self._copy = self._copy_context.__enter__()
        self._copy.write("".join(rows).encode())

    def pause(self) -> None:
        """Finish the open COPY so the connection can run other queries."""
        if self._copy is not None:
            self._copy = None
            self._copy_context.__exit__(None, None, None)
            self._cursor.close()

    def close(self, failed: bool = False) -> None:
        if self._copy is not None:
            self._copy = None
            if failed:
                problem = RuntimeError("import failed")
                with contextlib.suppress(Exception):
                    self._copy_context.__exit__(RuntimeError, problem, None)
            else:
                self._copy_context.__exit__(None, None, None)
            self._cursor.close()


NULL = "\\N"  # COPY's null
STORED_AMOUNT = Decimal(1).scaleb(-BillingLine._meta.get_field("amount").decimal_places)
"""A usage line's amount (unrounded in the file) is stored to this: PostgreSQL's numeric
rounds half away from zero, and lines written to SQLite are rounded the same way."""


def _text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if value.__class__ is str:
        return value.translate(_COPY_ESCAPES)
    return str(value)  # numbers, Decimals and dates print as PostgreSQL reads them


def _copy_line(row: tuple) -> str:
    return "\t".join(map(_copy_value, row)) + "\n"


def _plain(row: tuple) -> tuple:
    """Values sqlite3 binds without deprecated adapters (dates as ISO text)."""
    return tuple(value.isoformat() if isinstance(value, dt.date) else value for value in row)
