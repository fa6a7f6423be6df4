"""Live progress of long work, readable by the web server while a worker is busy.

A worker reports progress from inside a database transaction (imports are all or
nothing), so progress cannot go through the database: it goes through Django's cache
alias "progress" (settings: Redis when there is one, otherwise files under var/).
"""

from django.core.cache import caches


def _cache():
    return caches["progress"]


def progress_set(key: str, value: dict) -> None:
    _cache().set(f"progress:{key}", value)


def progress_get(key: str) -> dict | None:
    return _cache().get(f"progress:{key}")


def progress_clear(key: str) -> None:
    _cache().delete(f"progress:{key}")
