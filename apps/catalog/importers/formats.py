"""File formats described as data: each `Format` lists its documented columns and the
`Field`s they fill, and is registered by name in `FORMATS`.

Nothing here knows a column of a Microsoft file; the format modules (`recon_csv`,
`usage_csv`, `pricelist_csv`, `jsonl`) describe their columns with `Field` and `Format`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .source import Source
    from .stream import RowStream


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
        from .csv_reading import read_csv  # the readers know formats, not the other way
        from .source import SourceFile
        from .stream import RowStream

        opened = SourceFile(source, file_name)
        return RowStream(opened, read_csv(opened, self, year_month(month)))

    def signature_score(self, names: Iterable[str]) -> int:
        """How many of the columns only this data set has are among `names` (a header,
        or the keys of a JSON object), under any of their names."""
        positions = self.key_positions
        present = {positions.get(clean_name(name).lower()) for name in names}
        return sum(1 for column in self.signature if positions[column.lower()] in present)

    def matches_header(self, names: Iterable[str]) -> tuple[int, list[str]]:
        """(how many of this format's columns the header has, the required ones missing)."""
        present = {clean_name(name).lower() for name in names}
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


def clean_name(name: str) -> str:
    """A column name as written, without blanks and a UTF-8 byte-order mark."""
    return name.strip().lstrip("\ufeff").strip()
