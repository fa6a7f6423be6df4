"""What a reader returns: the records of one file as they are read, with progress."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from .source import BLOCK_SIZE, Source, SourceFile

T = TypeVar("T")


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
