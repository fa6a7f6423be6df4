"""An input file opened for reading: plain, gzip or a zip holding one file, decoded as
UTF-8 line by line, with how far through it the reading is (for progress).

Streaming: a file is read in blocks of 1 MiB and handed on line by line; nothing holds
more than one block at a time, whatever the file's size. Compressed input that expands
past sane limits (a "gzip bomb") and text that is not UTF-8 are refused with a message.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import os
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import IO, Any

from .errors import ImportValidationError

Source = str | os.PathLike | IO[bytes]
"""What a reader takes: a path, or a binary file object (an upload, an HTTP body)."""

BLOCK_SIZE = 1 << 20
MAX_LINE_CHARS = 16 << 20
# A compressed file (gzip or zip) may expand to at most MAX_EXPANDED_BYTES, and, once past
# its first EXPANSION_GRACE_BYTES, to at most MAX_EXPANSION_RATIO times the compressed
# bytes read so far: Partner Center's exports compress 5 to 30 times, a "gzip bomb" a
# thousand, so a bomb is refused after a few MiB instead of keeping a worker busy for hours.
MAX_EXPANDED_BYTES = 20 << 30
MAX_EXPANSION_RATIO = 200
EXPANSION_GRACE_BYTES = 16 << 20
TRUNCATED = "the file looks truncated (an incomplete download or copy?)"


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
                self.file_name, None, None, f"the zip archive is damaged ({exc}); {TRUNCATED}"
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
                f"the compressed data stops before its end marker: {TRUNCATED}",
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
        yielded is the physical line number. (The lines of a block are handed on by C
        code, `chain` over a StringIO: a Python loop per line would cost more.)"""
        return chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[Iterable[str]]:
        """The text in blocks of whole lines."""
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        # "\n" in the bytes decoded so far, for the line an error names. Counting costs
        # as much as a tenth of the import: a plain file on disk is counted again only
        # when there is an error to place (`_lines_before`).
        count = self.compression or self._raw_start is None or not is_seekable(self._raw)
        newlines = 0
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
                raise self._not_utf8(exc, newlines if count else self._lines_before()) from None
            if count:
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
                    yield (text,)
                return
            cut = text.rfind("\n") + 1
            if not cut:
                carry = text
                if len(carry) > MAX_LINE_CHARS:
                    raise ImportValidationError(
                        self.file_name,
                        (newlines if count else self._lines_before(self._decoded)) + 1,
                        None,
                        "the line is longer than 16 MiB; expected a CSV or JSON Lines file",
                    )
                continue
            carry = text[cut:]
            yield io.StringIO(text[:cut], newline="\n")

    def _lines_before(self, end: int | None = None) -> int:
        """How many "\n" a plain, seekable file has in its first `end` bytes (default:
        those decoded before the current block), read again from its start."""
        end = self._decoded if end is None else end
        position = self._raw.tell()
        self._raw.seek(self._raw_start)
        newlines, left = 0, end
        while left > 0:
            chunk = self._raw.read(min(left, BLOCK_SIZE))
            if not chunk:
                break
            newlines += chunk.count(b"\n")
            left -= len(chunk)
        self._raw.seek(position)
        return newlines

    def _not_utf8(self, exc: UnicodeDecodeError, newlines: int) -> ImportValidationError:
        data = exc.object
        line = newlines + data[: exc.start].count(b"\n") + 1
        if exc.start >= len(data) - 4 and exc.reason.startswith("unexpected end"):
            return ImportValidationError(
                self.file_name,
                line,
                None,
                f"the file ends in the middle of a UTF-8 character: {TRUNCATED}",
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
