"""Reads for the audit log."""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from apps.audit.models import AuditEntry


@dataclass(frozen=True)
class AuditChange:
    """One top-level key whose value differs between an entry's before and after."""

    key: str
    before: Any
    after: Any


_MISSING = object()


def audit_entry_list() -> QuerySet[AuditEntry]:
    """Every entry, newest first, with what a list or detail page shows loaded."""
    return AuditEntry.objects.select_related("actor")


def audit_entry_operations() -> list[str]:
    """The operations that have entries, alphabetically (the operation filter's choices)."""
    return list(
        AuditEntry.objects.order_by("operation").values_list("operation", flat=True).distinct()
    )


def audit_entry_changes(*, entry: AuditEntry) -> list[AuditChange]:
    """The top-level keys that differ between ``before`` and ``after``, when both are
    objects; a key present on one side only counts, with None on the other."""
    if not isinstance(entry.before, dict) or not isinstance(entry.after, dict):
        return []
    changes = []
    for key in sorted(entry.before.keys() | entry.after.keys()):
        old = entry.before.get(key, _MISSING)
        new = entry.after.get(key, _MISSING)
        if old != new:
            changes.append(
                AuditChange(
                    key=key,
                    before=None if old is _MISSING else old,
                    after=None if new is _MISSING else new,
                )
            )
    return changes
