"""Autotask's timestamps and dates: read as aware UTC, written in UTC with 'Z'."""

import datetime as dt


def parse_datetime(value) -> dt.datetime | None:
    """Autotask's timestamps, with or without 'Z' (naive ones are UTC), as aware UTC."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def format_datetime(value: dt.datetime) -> str:
    """A datetime for Autotask: UTC with 'Z', milliseconds kept (naive values are UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def format_date(value: dt.date) -> str:
    return value.strftime("%Y-%m-%dT00:00:00") + "Z"
