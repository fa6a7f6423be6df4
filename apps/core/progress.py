"""Live progress of long work, readable by the web server while a worker is busy.

A worker reports progress from inside a database transaction (imports are all or
nothing), so progress cannot go through the database. It goes through Redis when the
cache is Redis (every host sees it), otherwise through a small file under SYNCADMIN_VAR_DIR
(one host: `make run`).
"""

import json
import os
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache

TTL_SECONDS = 24 * 3600


def _use_cache() -> bool:
    return not isinstance(caches["default"], DatabaseCache)


def _path(key: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in key)
    return Path(settings.VAR_DIR) / "progress" / f"{safe}.json"


def progress_set(key: str, value: dict) -> None:
    if _use_cache():
        caches["default"].set(f"progress:{key}", value, TTL_SECONDS)
        return
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(value))
    temporary.replace(path)  # atomic: a reader never sees half a file


def progress_get(key: str) -> dict | None:
    if _use_cache():
        return caches["default"].get(f"progress:{key}")
    try:
        return json.loads(_path(key).read_text())
    except (FileNotFoundError, ValueError):
        return None


def progress_clear(key: str) -> None:
    if _use_cache():
        caches["default"].delete(f"progress:{key}")
        return
    _path(key).unlink(missing_ok=True)
