"""An audit entry's before and after as a difference, one row per key, ready to show.

Pure: JSON values in, rows out. No models, no database, so the detail page's template
only loops over rows and picks classes by ``row.change``.
"""

import json
from dataclasses import dataclass
from typing import Any

# What happened to one key between before and after.
ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"
UNCHANGED = "unchanged"

# The row key when before or after is a single value rather than an object.
WHOLE_VALUE_KEY = "value"

_MISSING = object()


@dataclass(frozen=True)
class AuditDiffRow:
    """One key of before ∪ after. ``before``/``after`` are the values as text, or None
    when the key is absent on that side."""

    key: str
    before: str | None
    after: str | None
    change: str

    @property
    def is_changed(self) -> bool:
        return self.change != UNCHANGED

    @property
    def before_marked(self) -> bool:
        """The old value is gone (changed or removed): shown as taken away."""
        return self.change in (CHANGED, REMOVED)

    @property
    def after_marked(self) -> bool:
        """The new value is new (changed or added): shown as put in."""
        return self.change in (CHANGED, ADDED)


@dataclass(frozen=True)
class AuditDiff:
    """The rows of a difference and which sides it has: a created object has only
    "after", a deleted one only "before", an update both, an entry without data none."""

    rows: tuple[AuditDiffRow, ...]
    has_before: bool
    has_after: bool

    @property
    def kind(self) -> str:
        """What the entry describes: "updated" (both sides), "created" (after only),
        "deleted" (before only) or "empty" (neither recorded)."""
        if self.has_before and self.has_after:
            return "updated"
        if self.has_after:
            return "created"
        if self.has_before:
            return "deleted"
        return "empty"

    @property
    def changed_rows(self) -> tuple[AuditDiffRow, ...]:
        return tuple(row for row in self.rows if row.is_changed)

    @property
    def unchanged_rows(self) -> tuple[AuditDiffRow, ...]:
        return tuple(row for row in self.rows if not row.is_changed)


def audit_diff(*, before: Any, after: Any) -> AuditDiff:
    """The difference between an entry's ``before`` and ``after`` (JSON values, None for
    a side that was not recorded).

    Every key of before ∪ after is one row, in key order, telling whether it was added,
    removed, changed or unchanged. Only top-level keys are compared: nested objects and
    lists are one value each, shown as compact JSON. A side that is not an object (a list
    or a scalar) is compared as one row named "value".
    """
    old = _as_mapping(before)
    new = _as_mapping(after)
    rows = tuple(
        _row(key, old.get(key, _MISSING), new.get(key, _MISSING))
        for key in sorted(old.keys() | new.keys())
    )
    return AuditDiff(rows=rows, has_before=before is not None, has_after=after is not None)


def value_text(value: Any) -> str:
    """A value as one line of text: a string as itself, anything else as compact JSON
    (``null``, ``true``, ``12.5``, ``{"a": [1, 2]}``), keys sorted."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def _as_mapping(side: Any) -> dict[str, Any]:
    if side is None:
        return {}
    if isinstance(side, dict):
        return {str(key): value for key, value in side.items()}
    return {WHOLE_VALUE_KEY: side}


def _canonical(value: Any) -> str:
    """Equal JSON means unchanged: 1, 1.0, true and "1" all differ, key order does not."""
    return json.dumps(value, sort_keys=True)


def _row(key: str, old: Any, new: Any) -> AuditDiffRow:
    if old is _MISSING:
        change = ADDED
    elif new is _MISSING:
        change = REMOVED
    elif _canonical(old) == _canonical(new):
        change = UNCHANGED
    else:
        change = CHANGED
    return AuditDiffRow(
        key=key,
        before=None if old is _MISSING else value_text(old),
        after=None if new is _MISSING else value_text(new),
        change=change,
    )
