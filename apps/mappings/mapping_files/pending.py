"""An uploaded mapping file kept between its preview and its confirmation.

Stored under ``MEDIA_ROOT/mapping-files/`` (never served) by a random token, with the
user, connection and kind it was uploaded for and its SHA-256; only that user gets it
back, unaltered, within a day. The confirmation reads it again and applies it only if the
plan is the one the preview showed (``MappingFilePlan.digest``)."""

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

KEEP_SECONDS = 24 * 60 * 60
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class PendingFile:
    token: str
    kind: str
    connection_id: int
    name: str
    data: bytes


def folder() -> Path:
    return Path(settings.MEDIA_ROOT) / "mapping-files"


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def pending_file_save(*, data: bytes, name: str, kind: str, connection, user) -> str:
    """Keep ``data`` for ``user``; returns the token that names it."""
    pending_files_expire()
    folder().mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    meta = {
        "kind": kind,
        "connection": connection.pk,
        "user": user.pk,
        "name": Path(name or "").name[-MAX_NAME_CHARS:] or "mapping file",
        "sha256": hashlib.sha256(data).hexdigest(),
        "saved_at": time.time(),
    }
    _write_private(folder() / f"{token}.csv", data)
    _write_private(folder() / f"{token}.json", json.dumps(meta).encode())
    return token


def pending_file_load(*, token: str, user) -> PendingFile | None:
    """The file kept under ``token`` for ``user``; None if there is none (any more)."""
    if not TOKEN.fullmatch(token or ""):
        return None
    try:
        meta = json.loads((folder() / f"{token}.json").read_text())
        data = (folder() / f"{token}.csv").read_bytes()
    except (OSError, ValueError):
        return None
    if (
        meta.get("user") != user.pk
        or time.time() - meta.get("saved_at", 0) > KEEP_SECONDS
        or hashlib.sha256(data).hexdigest() != meta.get("sha256")
    ):
        return None
    return PendingFile(token=token, kind=meta["kind"], connection_id=meta["connection"],
                       name=meta["name"], data=data)  # fmt: skip


def pending_file_discard(token: str) -> None:
    if TOKEN.fullmatch(token or ""):
        for suffix in (".csv", ".json"):
            (folder() / f"{token}{suffix}").unlink(missing_ok=True)


def pending_files_expire() -> None:
    """Remove files kept longer than a day (confirmed or cancelled ones are removed at
    once)."""
    if not folder().is_dir():
        return
    limit = time.time() - KEEP_SECONDS
    for path in folder().iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except OSError:
            continue
